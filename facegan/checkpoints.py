"""The one owner of what a checkpoint holds, and of loading a run's networks for the other commands.

A checkpoint holds everything a step changes and everything a restart needs: the networks, their
optimizers, the loss family's own variables (gan-alt's turn, AE-GAN v4's ring buffer), the weight
average (its networks under `ema_NAME` and its update count), and the counters (step, epochs
completed, rollbacks, the best evaluation and its epoch). Random numbers need no state: every draw
comes from (seed, step, call site). `checkpoints/` keeps the newest few, `checkpoints/best/` the one
of the best evaluation, and `checkpoints/epochs/epoch-E` the end of every Nth epoch with --keep-every N.
"""

from __future__ import annotations

import math
import re
import shutil
import warnings
from pathlib import Path

import keras
import tensorflow as tf

from facegan import registry, rundir
from facegan.config import TrainConfig
from facegan.ema import EMA_NETWORKS, Ema
from facegan.errors import FaceganError, FaceganWarning
from facegan.nets import layers  # noqa: F401  (registers facegan's layers, which .keras files name "facegan>...")


def ema_key(name: str) -> str:
    """The checkpoint key of the EMA's copy of network `name`."""
    return f"ema_{name}"


class TrainState:
    """The checkpointed state of a run, and its checkpoints in `directory` (checkpoints/ of the run, or a
    scratch folder on the workers of a cluster that are not the chief). Create it under the strategy's
    scope: its counters are variables placed by the strategy."""

    def __init__(self, nets: dict, family, ema: Ema | None, directory: Path, keep: int,
                 keep_every: int = 0):
        self.nets, self.family, self.ema = nets, family, ema
        counter = dict(dtype=tf.int64, trainable=False)
        self.steps_done = tf.Variable(0, **counter)
        self.epochs_done = tf.Variable(0, **counter)
        self.rollbacks = tf.Variable(0, **counter)
        # the best evaluation's figure (--eval-metric's; its key from when SWD alone judged)
        self.best_figure = tf.Variable(math.inf, dtype=tf.float64, trainable=False)
        self.best_epoch = tf.Variable(0, **counter)
        averaged = {ema_key(name): net for name, net in ema.nets.items()} if ema else {}
        self.checkpoint = tf.train.Checkpoint(  # the keys are a run's format: every run's checkpoints use them
            step=self.steps_done, epoch=self.epochs_done, rollbacks=self.rollbacks, best_swd=self.best_figure,
            best_epoch=self.best_epoch, **nets, **family.state(),
            **{f"{name}_optimizer": optimizer for name, optimizer in family.optimizers.items()},
            **averaged, **({"ema_updates": ema.updates} if ema else {}))
        self.keep = keep
        self.repaired = [warning for folder in (Path(directory), Path(directory) / "best", Path(directory) / EPOCHS)
                         if (warning := repair_list(folder)) is not None]  # warnings of rebuilt lists
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(directory), max_to_keep=keep)
        self.best = tf.train.CheckpointManager(self.checkpoint, str(Path(directory) / "best"), max_to_keep=1)
        self.keep_every = keep_every
        self.kept = tf.train.CheckpointManager(self.checkpoint, str(Path(directory) / EPOCHS), max_to_keep=None,
                                               checkpoint_name=EPOCH) if keep_every else None

    def save(self) -> None:
        self._save(self.manager)

    def keep_epoch(self, epoch: int) -> None:
        """With --keep-every N, at the end of every Nth (1-based) epoch: its checkpoint, kept for good."""
        if self.kept is not None and epoch % self.keep_every == 0:
            self._save(self.kept, epoch, EPOCH)

    def save_best(self, figure: float, epoch: int) -> None:
        self.best_figure.assign(figure)
        self.best_epoch.assign(epoch)
        self._save(self.best)

    def _save(self, manager: tf.train.CheckpointManager, number: int | None = None, name: str = "ckpt") -> None:
        """A checkpoint named `name`-`number` (default: the current step). One that cannot be written whole (a
        full disk) leaves none of its files behind and raises OSError; the checkpoints before it stay listed and
        whole."""
        number = int(self.steps_done.numpy()) if number is None else number
        try:
            manager.save(checkpoint_number=number)
        except (OSError, tf.errors.OpError) as error:
            prefix = Path(manager.directory) / f"{name}-{number}"
            if str(prefix) not in manager.checkpoints:
                for file in prefix.parent.glob(f"{prefix.name}[._]*"):  # ckpt-N.index, .data-*, ckpt-N_temp/
                    shutil.rmtree(file) if file.is_dir() else file.unlink()
            raise OSError(f"cannot write checkpoint {prefix}: {first_line(error)}") from error

    def restore(self, path: str) -> None:
        self.checkpoint.restore(path).assert_existing_objects_matched()

    def restore_newest(self, directory: Path, set_aside: bool) -> tuple[str, list[str]]:
        """Restore the newest checkpoint in `directory` that restores: (its path, warnings about the newer
        ones that did not). With `set_aside` (the writer of the run) those are renamed, never deleted, and
        forgotten by the checkpoint list. Raises FaceganError, changing nothing, when none restores."""
        path, damaged = restore_newest(self.checkpoint, directory, partial=False)
        if set_aside and damaged:
            for bad, _ in damaged:
                for file in Path(bad).parent.glob(f"{Path(bad).name}.*"):
                    file.rename(file.with_name(f"{DAMAGED}{file.name}"))
            kept = [p for p in self.manager.checkpoints if p not in dict(damaged)]
            tf.compat.v1.train.update_checkpoint_state(str(directory), path, all_model_checkpoint_paths=kept)
            self.manager = tf.train.CheckpointManager(self.checkpoint, str(directory), max_to_keep=self.keep)
        return path, [damaged_text(bad, reason, path, set_aside) for bad, reason in damaged]

    def roll_back(self, path: str) -> None:
        """Restore `path` but keep the best evaluation so far (the best stays the best) and count the rollback."""
        best, best_epoch, rollbacks = self.best_figure.numpy(), self.best_epoch.numpy(), self.rollbacks.numpy()
        self.restore(path)
        self.best_figure.assign(best)
        self.best_epoch.assign(best_epoch)
        self.rollbacks.assign(rollbacks + 1)

    @property
    def latest(self) -> str | None:
        return self.manager.latest_checkpoint

    def before(self, epoch: int) -> str:
        """The newest kept checkpoint taken at or before the end of `epoch` (else the oldest kept)."""
        epochs = {path: int(tf.train.load_variable(path, "epoch/.ATTRIBUTES/VARIABLE_VALUE"))
                  for path in self.manager.checkpoints}
        earlier = [path for path in self.manager.checkpoints if epochs[path] <= epoch]
        return earlier[-1] if earlier else self.manager.checkpoints[0]

    def weights_finite(self) -> bool:
        nets = [*self.nets.values(), *(self.ema.nets.values() if self.ema else [])]
        return all(bool(tf.reduce_all(tf.math.is_finite(w))) for net in nets for w in net.weights)

    def generating_nets(self) -> dict:
        """The networks samples come from: the EMA's where it is on."""
        return self.ema.nets if self.ema else self.nets

    def final_nets(self) -> dict:
        """The networks saved at the end: the EMA's generator side where --ema is on."""
        return {**self.nets, **(self.ema.nets if self.ema else {})}


DAMAGED = "damaged-"  # prefix of the files of a checkpoint that could not be restored
EPOCHS, EPOCH = "epochs", "epoch"  # checkpoints/epochs/epoch-E: the epochs --keep-every keeps


def restore_newest(checkpoint: tf.train.Checkpoint, directory: Path, partial: bool) -> tuple[str, list]:
    """Restore the newest checkpoint listed in `directory` that restores: (its path, [(path, reason)] of the
    newer ones that did not: truncated, corrupted, missing files). `partial`: the checkpoint may hold more
    than `checkpoint` asks for. Raises FaceganError when none restores."""
    paths, _ = listed(Path(directory))
    damaged = []
    for path in reversed(paths):
        try:
            status = checkpoint.restore(path)
            status.expect_partial() if partial else status.assert_existing_objects_matched()
            return path, damaged
        except (tf.errors.OpError, ValueError, IndexError, AssertionError) as error:
            damaged.append((path, first_line(error)[:200]))
    if not paths:
        raise FaceganError(f"{directory} holds no checkpoint")
    raise FaceganError(f"no checkpoint in {directory} can be restored: " +
                       "; ".join(f"{Path(path).name}: {reason}" for path, reason in damaged))


def first_line(error: Exception) -> str:
    """The first line of an error's message, without TensorFlow's op names ({{function_node ...}}, [Op:X])."""
    text = (getattr(error, "message", None) or str(error) or type(error).__name__).splitlines()[0]
    return re.sub(r"\{\{.*?\}\}\s*|\s*\[Op:\w+\]", "", text)


def damaged_text(bad: str, reason: str, used: str, set_aside: bool) -> str:
    """The warning about a checkpoint that did not restore; the writer of the run sets it aside, a reader not."""
    aside = f"; set aside as {DAMAGED}{Path(bad).name}.*" if set_aside else ""
    return f"checkpoint {Path(bad).name} cannot be restored ({reason}){aside}; using {Path(used).name}"


def latest(run: Path) -> str | None:
    """The newest checkpoint of a run (the chief's, which every worker of a cluster starts from)."""
    paths, _ = listed(rundir.checkpoint_dir(run))
    return paths[-1] if paths else None


LIST = "checkpoint"  # TensorFlow's list of a folder's checkpoints, newest last


def numbers_on_disk(directory: Path, name: str = "ckpt") -> list[int]:
    """The numbers N of the checkpoints `name`-N whose index file is in `directory`, in order."""
    found = (re.fullmatch(rf"{name}-(\d+)\.index", file.name) for file in Path(directory).glob(f"{name}-*.index"))
    return sorted(int(match[1]) for match in found if match)


def listed(directory: Path) -> tuple[list[str], str | None]:
    """The checkpoints of `directory`, oldest first, from its list; and a warning when that list is missing,
    empty, unparseable or names no checkpoint on disk while ckpt-N files are there: the list is then rebuilt
    from those files, by step. A checkpoint whose files are damaged is still listed (restoring tells)."""
    try:
        state = tf.train.get_checkpoint_state(str(directory))
    except ValueError:  # a list with no newest checkpoint (an empty file)
        state = None
    paths = list(state.all_model_checkpoint_paths) if state else []
    if any(Path(f"{path}.index").exists() for path in paths):
        return paths, None
    numbers = numbers_on_disk(directory)
    if not numbers:
        return paths, None
    how = "names none of them" if paths else ("is missing" if not (Path(directory) / LIST).exists() else "is damaged")
    return ([str(Path(directory) / f"ckpt-{n}") for n in numbers],
            f"the checkpoint list {Path(directory) / LIST} {how}: rebuilt from the {len(numbers)} checkpoints on disk")


def repair_list(directory: Path) -> str | None:
    """Before a writer uses `directory`: remove what a save killed mid-write left (ckpt-N_temp/), and rewrite a
    damaged checkpoint list from the checkpoints on disk (`listed`). Returns the warning of a rebuilt list."""
    for leftover in Path(directory).glob("ckpt-*_temp"):
        shutil.rmtree(leftover, ignore_errors=True)
    paths, warning = listed(directory)
    if warning is not None:
        tf.compat.v1.train.update_checkpoint_state(str(directory), paths[-1], all_model_checkpoint_paths=paths)
    return warning


def save_model(model: keras.Model, path: Path) -> None:
    """A network as a .keras file, written to a temporary name and renamed."""
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    try:
        model.save(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def kept_epochs(run: Path) -> list[int]:
    """The epochs whose checkpoints --keep-every kept, in order."""
    return numbers_on_disk(rundir.checkpoint_dir(run) / EPOCHS, EPOCH)


def epoch_checkpoint(run: Path, epoch: int) -> str:
    """The checkpoint --keep-every kept at the end of `epoch`; a missing one is one line naming those kept."""
    kept = kept_epochs(run)
    if epoch not in kept:
        have = f"the epochs kept are {', '.join(map(str, kept))}" if kept else \
            "it kept none (train with --keep-every N to keep every Nth epoch)"
        raise FaceganError(f"{run} has no checkpoint of epoch {epoch}: {have}")
    return str(rundir.checkpoint_dir(run) / EPOCHS / f"{EPOCH}-{epoch}")


def checkpoint_name(best: bool, epoch: int | None) -> str:
    """Which networks a command used, as its record says it: "final", "best" or "epoch E"."""
    return "best" if best else "final" if epoch is None else f"epoch {epoch}"


def load_networks(run: Path, best: bool = False, epoch: int | None = None, raw: bool = False) -> dict:
    """The run's networks: the final .keras files, or the newest checkpoint of an unfinished run, or
    with `best` the checkpoint of its best evaluation, or with `epoch` the checkpoint --keep-every kept at
    that epoch's end. A run trained with --ema gives its averaged generator (and encoder), as its
    generator.keras holds; with `raw`, the generator as trained (from the checkpoint: the .keras files hold the
    average)."""
    if best and epoch is not None:
        raise FaceganError("--best and --epoch name two checkpoints: give one")
    if raw and not TrainConfig.read(run).ema:
        raise FaceganError(f"--raw reads the generator beside its moving average; {run} was trained without --ema")
    if epoch is not None:
        path = epoch_checkpoint(run, epoch)
        return restore_networks(run, lambda checkpoint: checkpoint.restore(path).expect_partial(), raw)
    if not best and not raw and rundir.network_file(run, "generator").is_file():
        networks = registry.get(TrainConfig.read(run).model).networks
        return {name: load_keras(rundir.network_file(run, name))
                for name in networks if rundir.network_file(run, name).is_file()}
    directory = rundir.checkpoint_dir(run, best)
    paths, repaired = listed(directory)
    newest = paths[-1] if paths else None
    if repaired is not None:  # a reader rewrites nothing: the run may be training
        warnings.warn(repaired, FaceganWarning, stacklevel=2)
    if newest is None and best:
        raise FaceganError(f"{run} has no best checkpoint (it was trained with --eval-every 0, or has not been "
                           "evaluated yet)")
    if newest is None:
        raise FaceganError(f"{run} has no generator: neither generator.keras nor a checkpoint")

    def newest_that_restores(checkpoint):
        path, damaged = restore_newest(checkpoint, directory, partial=True)
        for bad, reason in damaged:  # a reader renames nothing: the run may be training
            warnings.warn(damaged_text(bad, reason, path, set_aside=False), FaceganWarning, stacklevel=3)

    return restore_networks(run, newest_that_restores, raw)


def load_keras(path: Path) -> keras.Model:
    """A network of a .keras file, facegan's layers included (registered with Keras when `layers` is imported)."""
    return keras.saving.load_model(path, compile=False)


def restore_networks(run: Path, restore, raw: bool = False) -> dict:
    """The run's networks, built from its config and filled by `restore`(a tf.train.Checkpoint of them: the
    EMA's where the run has one, unless `raw`)."""
    cfg = TrainConfig.read(run)
    nets = registry.get(cfg.model).build_networks(cfg)
    averaged = cfg.ema and not raw
    keys = {ema_key(name) if averaged and name in EMA_NETWORKS else name: net for name, net in nets.items()}
    try:
        restore(tf.train.Checkpoint(**keys))
    except (tf.errors.OpError, ValueError) as error:
        raise FaceganError(f"{run}: the checkpoint cannot be restored: {first_line(error)}") from None
    return nets


def open_generator_source(path: Path, best: bool = False, epoch: int | None = None) -> tuple[TrainConfig, dict, Path]:
    """(configuration, networks, folder for outputs) of a run directory, or of a bare generator .keras file
    (`facegan export --format keras`, or a run's generator.keras carried elsewhere). A bare file's
    configuration is read off the generator: latent size (and class count) from its inputs, image size and
    channels from its output; it has no discriminator, encoder or data."""
    path = Path(path)
    if path.suffix != ".keras":
        run = rundir.require_run_dir(path)
        return TrainConfig.read(run), load_networks(run, best, epoch), run
    if best or epoch is not None:
        raise FaceganError("--best and --epoch read a run's checkpoints: give a run directory, not a .keras file")
    try:
        generator = load_keras(path)
        latent_dim = int(generator.inputs[0].shape[-1])
        num_classes = int(generator.inputs[1].shape[-1]) if len(generator.inputs) > 1 else 0
        _, height, width, channels = generator.outputs[0].shape
    except (OSError, ValueError, TypeError, IndexError, AttributeError) as error:
        raise FaceganError(f"{path} is not a generator saved by facegan: {error}") from None
    if height != width:
        raise FaceganError(f"{path}: the generator makes {height}x{width} images; facegan's are square")
    cfg = TrainConfig.resolve("cgan" if num_classes else "dcgan", latent_dim=latent_dim, image_size=int(height),
                              channels=int(channels), num_classes=num_classes)
    return cfg, {"generator": generator}, path.parent


ARCHITECTURE = ("latent_dim", "image_size", "channels", "num_classes")  # with the model's builder: the shapes


def init_networks(cfg: TrainConfig) -> dict:
    """The networks of the run `--init` names (its best evaluation's with --init-best), refused in one line
    when they were built for another architecture than `cfg`'s."""
    source = rundir.require_run_dir(Path(cfg.init).expanduser())
    other = TrainConfig.read(source)
    if registry.get(other.model).nets != registry.get(cfg.model).nets:
        raise FaceganError(f"--init {source}: it is a {other.model}, whose networks are not {cfg.model}'s")
    for key in ARCHITECTURE:
        if getattr(other, key) != getattr(cfg, key):
            raise FaceganError(f"--init {source}: its {key} is {getattr(other, key)}, this run's "
                               f"{getattr(cfg, key)}; give --{key.replace('_', '-')} {getattr(other, key)}")
    return load_networks(source, cfg.init_best)


def copy_weights(nets: dict, source: dict) -> None:
    """Every network of `nets` that `source` has takes its weights (the optimizers stay fresh)."""
    for name, net in nets.items():
        if name in source:
            theirs = source[name].get_weights()
            if [w.shape for w in theirs] != [tuple(v.shape) for v in net.weights]:
                raise FaceganError(f"--init: the {name}'s weights have other shapes than this run's")
            net.set_weights(theirs)
