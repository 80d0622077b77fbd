"""The training loop shared by every model of the registry.

    data -> the config resolved once -> run directory (config.json before step 0) -> precision
    -> networks, steps, train state (checkpointed), logs
    -> epochs of compiled steps, each followed by: logs, the fixed batch's diversity, an evaluation
       (SWD; checkpoints/best), health checks, a sample grid, a checkpoint
    -> final networks and summary.json

Crash safety: files are replaced whole, CSV logs are cut back to the restored checkpoint, and a
checkpoint holds everything a step changes (facegan.checkpoints), so a run killed at any moment
resumes with no step counted twice. SIGINT and SIGTERM stop the loop after the current step and save
a checkpoint there.

The health guard: updates with a non-finite loss or gradient are not applied; after `bad_steps` of
them in a row the run rolls back to its newest checkpoint with lower learning rates; collapse checks
(facegan.health) warn, stop or roll back. Every event is a row of health.csv.

Nothing here talks to a terminal: progress goes to a `Reporter`, which the command layer renders.
"""

from __future__ import annotations

import math
import platform
import shutil
import signal
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

import facegan
from facegan import files, imaging, registry, rundir
from facegan.checkpoints import TrainState, copy_weights, init_networks, latest, save_model
from facegan.config import TrainConfig, read_record
from facegan.curves import draw_curves
from facegan.data import Faces, load_held_out_faces, load_training_faces, skipped_text, survey
from facegan.data.pipeline import make_dataset
from facegan.distribute import describe, is_chief, make_strategy
from facegan.ema import WeightAverage
from facegan.errors import FaceganError, TrainingStopped
from facegan.health import symptoms
from facegan.inference import cycle_labels, draw_latents, generated_images
from facegan.metrics.diversity import diversity
from facegan.metrics.evalset import eval_set
from facegan.runlock import RunLock
from facegan.runlog import RunLog
from facegan.steps import FAMILIES

PREVIEW_IMAGES = 32  # images per sample grid: generated, or real inputs for the diversity reference
PREVIEW_INPUTS = 16  # real images per grid for autoencoders (shown above their reconstructions)
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
EXIT_STOPPED = 3  # the health guard stopped the run
EXIT_WRITE_FAILED = 74  # a file of the run could not be written (a full disk): sysexits' EX_IOERR


class Reporter:
    """Receives the loop's progress; every method may be overridden, none must be."""

    def notice(self, text: str) -> None: ...

    def warning(self, text: str) -> None:
        self.notice(f"warning: {text}")

    def epoch_start(self, epoch: int, epochs: int, steps: int, batch_size: int) -> None: ...

    def progress(self, done: int, total: int) -> None:
        """Images decoded so far (the first run on a data source decodes it into the cache)."""

    def step(self, done: int, latest: Callable[[], dict]) -> None:
        """`latest()` turns the newest step's metrics into floats (a device sync: call it sparingly)."""

    def epoch_end(self, epoch: int, epochs: int, row: dict | None) -> None:
        """row is the epochs.csv row, or None when the epoch was abandoned (rollback, interruption)."""


# --- precision -------------------------------------------------------------------

def cpu_supports_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(requested: str) -> str:
    """auto: bfloat16 on GPUs of compute capability >= 8.0 and CPUs with AMX/AVX512-BF16,
    float16 (with loss scaling) on older GPUs, float32 otherwise."""
    if requested != "auto":
        return requested
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
        return "bfloat16" if tuple(capability) >= (8, 0) else "float16"
    return "bfloat16" if cpu_supports_bf16() else "float32"


# --- data ------------------------------------------------------------------------

def class_labels(cfg: TrainConfig, faces: Faces) -> np.ndarray:
    """(N,) int32 labels: the class of each image for conditional models, zeros otherwise."""
    if not cfg.num_classes:
        return np.zeros(len(faces.images), np.int32)
    labels = faces.class_labels(cfg.label)
    if labels is None:
        raise FaceganError(f"{cfg.model} is conditional and needs class labels: give a CelebA folder "
                           "with --label ATTR, or a .npz with a 'labels' array")
    return labels.astype(np.int32)


def batch_size_for(cfg: TrainConfig, trained: int, reporter: Reporter) -> int:
    """The configured batch size, or all `trained` images where there are fewer."""
    if trained >= cfg.batch_size:
        return cfg.batch_size
    reporter.notice(f"the data has {trained} images, fewer than --batch-size {cfg.batch_size}: batches of {trained}")
    return trained


# --- parameters as the seed notebooks counted them ---------------------------------

def count_params(model: keras.Model) -> dict:
    trainable = int(sum(np.prod(v.shape) for v in model.trainable_weights))
    total = int(sum(np.prod(v.shape) for v in model.weights))
    return {"total": total, "trainable": trainable, "non_trainable": total - trainable}


def complexity(nets: dict) -> dict:
    """The combined model's counts: the generator side trainable, the discriminator frozen inside it."""
    counts = {name: count_params(model) for name, model in nets.items()}
    generator_side = [counts[name] for name in ("encoder", "generator") if name in counts]
    frozen = counts["discriminator"]["total"] if "discriminator" in counts else 0
    return {"trainable": sum(c["trainable"] for c in generator_side),
            "non_trainable": sum(c["non_trainable"] for c in generator_side) + frozen,
            "networks": counts}


# --- the run ---------------------------------------------------------------------

def train(cfg: TrainConfig | None = None, out: Path | None = None, resume: Path | None = None,
          epochs: int | None = None, reporter: Reporter | None = None, strategy: str = "auto",
          devices: int = 1) -> Path:
    """Train a new run (cfg, written to `out` or the next runs/NNN-MODEL) or continue `resume`.

    On resume the configuration comes from the run's config.json; only `epochs` may change (and the
    strategy and devices, which are not part of it). Returns the run directory; raises TrainingStopped
    when a signal or the health guard ended it early.
    """
    reporter = reporter or Reporter()
    distribution = make_strategy(strategy, devices)  # first: --devices must split the CPU before TF starts
    chief = is_chief(distribution)
    if isinstance(distribution, tf.distribute.MultiWorkerMirroredStrategy) and out is None and resume is None:
        raise FaceganError("multi-worker training needs --out: every worker must name the same run directory")
    with ExitStack() as held:  # the run's lock, held until training ends
        if resume is not None:
            run = rundir.require_run_dir(resume)
            if chief:  # before the run is read: a second writer stops here
                held.enter_context(RunLock(run))
            record = read_record(run)
            cfg = TrainConfig.read(run)
            cfg = cfg.replace(epochs=epochs or cfg.epochs)

        # data first: a bad source stops here, before anything is written
        faces = load_training_faces(cfg, reporter.progress)
        if faces.skipped:
            reporter.notice(f"{sum(faces.skipped.values())} file(s) of {cfg.data} were left out "
                            f"({skipped_text(faces.skipped)})")
        if resume is not None and record["data"]["sha256"] != faces.digest:
            reporter.warning(f"{cfg.data} has changed since this run started (its sha256 differs)")

        # the config resolved once: what the data and the machine say (a resumed run keeps its own)
        labels = class_labels(cfg, faces)
        if resume is None:
            cfg = cfg.replace(precision=resolve_precision(cfg.precision),
                              num_classes=max(2, int(labels.max()) + 1) if cfg.num_classes else 0)
        trained = cfg.trained_images(len(faces.images))  # mirror images are made per batch
        batch_size = batch_size_for(cfg, trained, reporter)
        replicas = distribution.num_replicas_in_sync
        if cfg.xla and cfg.sync_bn and replicas > 1:  # see compile_step
            raise FaceganError(f"--xla over {replicas} replicas compiles each network, and --sync-bn's all-reduce "
                               "cannot run inside a compiled network: leave out one of them")
        if batch_size % replicas:
            raise FaceganError(f"the batch of {batch_size} does not split over {replicas} replicas: "
                               f"give a --batch-size that {replicas} divides")
        initial = init_networks(cfg) if resume is None and cfg.init else None  # checked before anything is written

        # run directory and config.json, before step 0 (by the chief; other workers write nothing there)
        if resume is None and not chief:
            run = Path(out)
        elif resume is None:
            run = rundir.prepare_out_dir(out) if out else rundir.new_run_dir(cfg.model)
            held.enter_context(RunLock(run))
            if rundir.is_run_dir(run):  # another process took this --out and wrote it a moment ago
                raise FaceganError(f"{run} is already a run; use --resume {run} to continue it, "
                                   "or choose another --out")
            files.write_json(run / rundir.CONFIG, {
                "config": cfg.to_dict(),
                "data": {"source": cfg.data, "split": faces.split, "sha256": faces.digest, "images": len(faces.images),
                         "skipped": sum(faces.skipped.values()), "skipped_why": faces.skipped,
                         "trained_images": trained, "batch_size": batch_size},
                "distribution": describe(distribution),
                "versions": {"facegan": facegan.__version__, "tensorflow": tf.__version__,
                             "keras": keras.__version__, "python": platform.python_version()},
            })
        reporter.notice(f"{cfg.model} on {cfg.data}: {trained} images, batch {batch_size}"
                        f"{f' over {replicas} replicas' if replicas > 1 else ''}, precision {cfg.precision}"
                        f"{', XLA' if cfg.xla else ''}{f', EMA {cfg.ema}' if cfg.ema else ''} -> {run}")

        trainer = Trainer(cfg, run, faces, labels, batch_size, reporter, distribution, chief, initial)
        try:
            trainer.start(resumed=resume is not None)
            with StopSignals() as signals:
                trainer.fit(signals)
            trainer.finish()
        except OSError as error:  # every write leaves the old file or none (files, checkpoints): nothing to undo
            newest = latest(run)
            raise TrainingStopped(
                f"training stopped: {error}. Once there is space, continue with: facegan train --resume {run} "
                f"(from {f'its newest checkpoint, {Path(newest).name}' if newest else 'step 0'})",
                EXIT_WRITE_FAILED) from None
        return run


def plan(cfg: TrainConfig | None = None, resume: Path | None = None, epochs: int | None = None,
         strategy: str = "auto", devices: int = 1) -> dict:
    """What `train` would do, without doing it (`facegan train --dry-run`): the resolved configuration, what
    the data holds (not decoding it), the batches and the devices. Writes nothing."""
    distribution = make_strategy(strategy, devices)
    if resume is not None:
        cfg = TrainConfig.read(rundir.require_run_dir(resume))
        cfg = cfg.replace(epochs=epochs or cfg.epochs)
    else:
        cfg = cfg.replace(precision=resolve_precision(cfg.precision))
    data = survey(cfg.data, cfg.image_size, cfg.channels, cfg.split, cfg.max_images, cfg.seed)
    trained = cfg.trained_images(data["images"])
    batch_size = batch_size_for(cfg, trained, Reporter())
    return {"config": cfg.to_dict(), "data": {**data, "trained_images": trained},
            "batch_size": batch_size, "batches_per_epoch": trained // batch_size if batch_size else 0,
            "distribution": describe(distribution)}


def compile_step(strategy: tf.distribute.Strategy, family, name: str, average: WeightAverage | None = None,
                 xla: bool = False):
    """step(x, y, number): the family's step `name` on every replica (x, y distributed by the strategy,
    `number` the step's number, on which its random draws depend), compiled with the weight average's
    update. Its metrics are global figures, the same on every replica.

    With `xla`, XLA compiles the whole step on one replica. Over several it compiles each network's
    forward and backward pass, and the optimizer updates and all-reduces stay in the graph: a step
    compiled whole may not call `merge_call`, which Keras's optimizers do to update their iteration
    counter (keras-team/keras#19005, #20763). Nor may a compiled network: synchronized batch norm,
    which all-reduces inside the network, is refused with XLA over several replicas."""
    whole = xla and strategy.num_replicas_in_sync == 1
    if xla and not whole:
        family.compile_networks_with_xla()
    step = getattr(family, name)

    def on_replica(x, y, number):
        family.number_step(number)
        return step(x, y)

    def numbered(x, y, number):
        metrics = strategy.run(on_replica, args=(x, y, number))
        metrics = {k: strategy.experimental_local_results(v)[0] for k, v in metrics.items()}
        if average is not None:
            average.update()
        return metrics

    return tf.function(numbered, jit_compile=whole)


class StopSignals:
    """While active, SIGINT and SIGTERM only set `received`: the loop then saves a checkpoint at the
    current step and stops. A second signal acts as it normally does (Ctrl-C twice kills at once)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self):
        self.received, self.previous = None, {}
        if threading.current_thread() is threading.main_thread():  # Python allows handlers only there
            self.previous = {sig: signal.signal(sig, self.handle) for sig in self.SIGNALS}
        return self

    def handle(self, signum, frame) -> None:
        self.received = signum
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


class Diverged(Exception):
    """`bad_steps` steps in a row were refused for a non-finite loss or gradient: the epoch is abandoned."""


@dataclass
class EpochSteps:
    """The steps of an epoch: the metrics (tensors) of the steps not yet logged, from `first_step` on; the
    figures of its steps already logged (by a checkpoint inside the epoch, or by an interrupted run), as lists
    of floats; the steps this process made, and the seconds they took."""

    pending: list
    first_step: int
    earlier: dict
    made: int = 0
    wall: float = 0.0


class Trainer:
    """One run's networks, steps, state, fixed batches and logs, and the loop over its epochs."""

    def __init__(self, cfg: TrainConfig, run: Path, faces: Faces, labels: np.ndarray, batch_size: int,
                 reporter: Reporter, strategy: tf.distribute.Strategy, chief: bool, initial: dict | None = None):
        self.cfg, self.run, self.reporter = cfg, run, reporter
        self.images, self.labels, self.batch_size = faces.images, labels, batch_size  # (N, H, W, C) uint8, (N,)
        self.steps_per_epoch = cfg.trained_images(len(faces.images)) // batch_size
        self.strategy, self.chief = strategy, chief

        # networks, optimizers, the weight average and the counters, placed by the strategy; another
        # worker of a cluster checkpoints too (the strategy needs every worker to) but to scratch it removes
        keras.mixed_precision.set_global_policy(POLICIES[cfg.precision])
        keras.utils.set_random_seed(cfg.seed)
        self.scratch = None if chief else Path(tempfile.mkdtemp(prefix="facegan-worker-"))
        with strategy.scope():
            nets = registry.get(cfg.model).build_networks(cfg)
            if initial is not None:  # --init: another run's weights, before the weight average copies them
                copy_weights(nets, initial)
            self.family = FAMILIES[registry.get(cfg.model).steps](cfg, nets, loss_scaling=cfg.precision == "float16")
            average = WeightAverage(nets, cfg.ema) if cfg.ema else None
            self.state = TrainState(nets, self.family, average, self.scratch or rundir.checkpoint_dir(run),
                                    cfg.keep_checkpoints)
        self.compiled = {}
        self.streak = 0  # non-finite steps in a row
        self.signs = {}  # the health guard's signs now showing -> the epoch each was first reported

        # the fixed batch of every sample grid, and the data's diversity to measure the samples' against
        self.x_fixed = imaging.to_float(faces.images[:PREVIEW_IMAGES])
        self.z_fixed = draw_latents(PREVIEW_IMAGES, cfg.latent_dim, cfg.seed)
        self.y_fixed = cycle_labels(PREVIEW_IMAGES, cfg.num_classes)
        self.data_diversity = diversity(self.x_fixed)

        # the evaluation set and its noise floor
        self.eval_set, self.floor, levels = None, None, []
        if cfg.eval_interval and len(faces.images) >= 2 and chief:
            held_out = load_held_out_faces(cfg, faces)  # faces never trained on, where the data has them
            real = held_out or faces
            self.eval_set = eval_set(real.images, cfg.eval_images, cfg.latent_dim, cfg.num_classes, cfg.seed,
                                     held_out.split if held_out else None)
            self.floor = self.eval_set.swd(self.eval_set.held_out)[0]
            levels = [key for key in self.floor if key != "mean"]
            reporter.notice(f"evaluation every {cfg.eval_interval} epoch(s) on {len(self.eval_set.reference)} images"
                            f"{f' of the {held_out.split} split' if held_out else ''}; "
                            f"SWD noise floor (real vs real) {self.floor['mean']:.1f}")
        step_columns = list(self.family.metrics)
        epoch_columns = ["epoch", *step_columns, "diversity", *(f"swd_{level}" for level in levels), "swd",
                         "images_per_s", "wall_s"]
        self.log = RunLog(run, step_columns, epoch_columns, write=chief, hparams=cfg.to_dict())

    @property
    def step(self) -> int:
        return int(self.state.step.numpy())

    @property
    def epoch(self) -> int:
        """Epochs completed."""
        return int(self.state.epoch.numpy())

    # --- start ---------------------------------------------------------------------

    def start(self, resumed: bool) -> None:
        """Restore the run's newest checkpoint (the chief's: every worker starts from it) when there is
        one; then make sure this worker has a checkpoint of its own: rollbacks need a state to return to."""
        if latest(self.run) is not None:
            _, damaged = self.state.restore_newest(rundir.checkpoint_dir(self.run), set_aside=self.chief)
            for warning in damaged:
                self.reporter.warning(warning)
            self.set_learning_rates()
            self.reporter.notice(f"resumed at epoch {self.epoch}, step {self.step}")
        elif resumed:
            self.reporter.notice("no checkpoint yet: training starts again from step 0")
        if self.state.latest is None:
            self.state.save()
        self.saved_at = time.monotonic()
        self.log.truncate(self.step, self.epoch)

    def set_learning_rates(self) -> dict:
        """The configured rates, lowered by rollback_lr for every rollback so far; returns them by side."""
        lowered = self.cfg.rollback_lr ** int(self.state.rollbacks.numpy())
        rates = {side: rate * lowered for side, rate in self.family.learning_rates().items()
                 if side in self.family.optimizers}
        for side, optimizer in self.family.optimizers.items():
            optimizer.learning_rate = rates[side]
        return rates

    # --- the loop ------------------------------------------------------------------

    def compiled_step(self, name: str):
        if name not in self.compiled:
            self.compiled[name] = compile_step(self.strategy, self.family, name, self.state.average, self.cfg.xla)
        return self.compiled[name]

    def batches(self, epoch: int, skip: int):
        """The epoch's global batches, each split over the replicas of every worker: replica r takes rows
        r*b to (r+1)*b. Each worker reads the same global batches from its own plain tf.data pipeline:
        the iterators of tf.distribute's distributed datasets stall when they are deleted (until their
        per-device autotuning thread wakes up, up to a minute after every epoch)."""
        share = self.batch_size // self.strategy.num_replicas_in_sync

        def split(batch):
            return self.strategy.experimental_distribute_values_from_function(
                lambda context: batch[context.replica_id_in_sync_group * share:][:share])

        for x, y in make_dataset(self.images, self.labels, self.batch_size, self.cfg.seed, epoch, skip_batches=skip,
                                 flip=self.cfg.flip_images):
            yield split(x), split(y)

    def fit(self, signals: StopSignals) -> None:
        while self.epoch < self.cfg.epochs:
            try:
                steps = self.run_epoch(signals)
            except Diverged as diverged:
                self.reporter.epoch_end(self.epoch + 1, self.cfg.epochs, None)
                self.rollback(str(diverged), "diverged")
                continue
            if not self.state.weights_finite():
                self.log.health(self.epoch + 1, self.step, "nonfinite", "non-finite weights at the end of the epoch",
                                "rollback")
                self.rollback("non-finite weights at the end of an epoch", "diverged")
            else:
                self.end_epoch(steps)
            if signals.received:  # arrived during the epoch's last step or its end: the checkpoint is saved
                self.interrupt(signals.received)

    def run_epoch(self, signals: StopSignals) -> EpochSteps:
        """The steps of the next epoch (after those an interrupted run already made of it); raises Diverged."""
        epoch = self.epoch  # the 0-based index of the epoch to run
        step = self.compiled_step(self.family.step_name(epoch))
        done = self.step - epoch * self.steps_per_epoch
        if not 0 <= done < self.steps_per_epoch:  # the data's size changed: start the epoch over
            done = 0
        earlier = self.log.logged_steps(epoch + 1) if done else {k: [] for k in self.log.step_columns}
        steps = EpochSteps([], self.step + 1, earlier)
        self.reporter.epoch_start(epoch + 1, self.cfg.epochs, self.steps_per_epoch, self.batch_size)
        start = time.perf_counter()
        for x, y in self.batches(epoch, done):
            number = steps.first_step + len(steps.pending)
            steps.pending.append(step(x, y, tf.constant(number, tf.int64)))
            steps.made += 1
            self.reporter.step(done + steps.made, lambda: {k: float(v) for k, v in steps.pending[-1].items()})
            # the step before this one has finished: reading it does not wait for the device
            if len(steps.pending) > 1:
                self.check_finite(steps.pending[-2], epoch + 1, number - 1)
            if self.cfg.sample_every_images and self.crossed(number, self.cfg.sample_every_images):
                self.write_step_grid(number)
            if done + steps.made < self.steps_per_epoch:  # inside the epoch
                if signals.received:
                    self.interrupt(signals.received, steps)
                evaluation_due = self.cfg.eval_every_images and self.crossed(number, self.cfg.eval_every_images)
                if evaluation_due or self.checkpoint_due():
                    self.checkpoint_inside_epoch(steps)
                if evaluation_due and self.eval_set is not None:
                    self.evaluation(self.state.generating_nets(), epoch + 1)
        if steps.pending:
            self.check_finite(steps.pending[-1], epoch + 1, steps.first_step + len(steps.pending) - 1)
        steps.wall = time.perf_counter() - start
        return steps

    def checkpoint_due(self) -> bool:
        """--checkpoint-minutes have passed since the last checkpoint (on any worker of a cluster: they all
        checkpoint together)."""
        minutes = self.cfg.checkpoint_minutes
        return bool(minutes) and self.agreed(float(time.monotonic() - self.saved_at >= 60 * minutes)) > 0

    def crossed(self, step: int, images: int) -> bool:
        """True when `step` takes the images seen past a multiple of `images`."""
        return step * self.batch_size // images > (step - 1) * self.batch_size // images

    def checkpoint_inside_epoch(self, steps: EpochSteps) -> None:
        """--checkpoint-minutes: log the steps made so far and save a checkpoint at this step, with its grid,
        so that a crash loses at most those minutes; `--resume` continues inside the epoch."""
        self.check_finite(steps.pending[-1], self.epoch + 1, steps.first_step + len(steps.pending) - 1)
        steps.earlier = self.log_steps(steps)
        steps.first_step += len(steps.pending)
        steps.pending = []
        if self.state.weights_finite():  # the grid first: a checkpoint found on disk has its grid
            self.write_step_grid(self.step)
            self.save()

    def check_finite(self, metrics: dict, epoch: int, step: int) -> None:
        """Count the refused (non-finite) steps in a row; raise Diverged after `bad_steps` of them."""
        self.streak = self.streak + 1 if float(metrics["skipped"]) > 0 else 0
        if self.streak >= self.cfg.bad_steps:
            detail = f"{self.streak} steps in a row with a non-finite loss or gradient were not applied"
            self.log.health(epoch, step, "nonfinite", detail, "rollback")
            raise Diverged(f"{self.cfg.bad_steps} steps in a row with a non-finite loss or gradient")

    def log_steps(self, steps: EpochSteps) -> dict:
        """Write the steps to metrics.csv and advance the step counter; returns the epoch's step figures
        so far, as lists of floats."""
        values = {k: [float(m[k]) for m in steps.pending] for k in self.log.step_columns}
        self.log.steps(self.epoch + 1, steps.first_step, values)
        self.state.step.assign(steps.first_step - 1 + len(steps.pending))
        return {k: steps.earlier[k] + values[k] for k in self.log.step_columns}

    def save(self) -> None:
        """A checkpoint at the current step, and the time of it (for --checkpoint-minutes)."""
        self.state.save()
        self.saved_at = time.monotonic()

    def interrupt(self, signum: int, steps: EpochSteps | None = None) -> None:
        """SIGINT/SIGTERM: in the middle of an epoch, log the steps made and checkpoint at this step
        (between epochs the epoch's own checkpoint is the newest); write the grid of this state; then stop."""
        name = signal.Signals(signum).name
        saved = f"the newest checkpoint is at step {self.step}"
        finite = self.state.weights_finite()
        if steps is not None:
            self.log_steps(steps)
            self.reporter.epoch_end(self.epoch + 1, self.cfg.epochs, None)
            if finite:
                self.save()
                saved = f"checkpoint saved at step {self.step}"
            else:
                saved = f"weights not finite, so no checkpoint was saved; {saved}"
        if finite:
            self.write_step_grid(self.step)
        self.log.summary(self.summary("interrupted", f"{name} at step {self.step}"))
        raise TrainingStopped(f"interrupted by {name}; {saved}. Continue with: facegan train --resume {self.run}",
                              128 + signum)

    def end_epoch(self, steps: EpochSteps) -> None:
        """Logs, diversity, evaluation, sample grid and health checks of a finished epoch; then its checkpoint."""
        cfg = self.cfg
        values = self.log_steps(steps)
        self.state.epoch.assign_add(1)
        epoch = self.epoch

        nets = self.state.generating_nets()
        generated = self.fixed_batch(nets)
        relative_diversity = diversity(generated) / self.data_diversity if self.data_diversity > 0 else math.nan
        row = {"epoch": epoch, **{k: float(np.mean(values[k])) for k in self.family.metrics},
               "skipped": int(np.nansum(values["skipped"])), "diversity": self.agreed(relative_diversity)}
        row.update({column: math.nan for column in self.log.epoch_columns if column.startswith("swd")})
        grid = self.preview_grid(generated)
        by_images = cfg.eval_every_images and self.crossed(self.step, cfg.eval_every_images)
        if self.eval_set is not None and (epoch % cfg.eval_interval == 0 or epoch == cfg.epochs or by_images):
            result = self.evaluation(nets, epoch, grid)
            row.update({f"swd_{key}" if key != "mean" else "swd": value for key, value in result.items()})
        row.update(images_per_s=steps.made * self.batch_size / steps.wall, wall_s=steps.wall)
        self.log.epoch(row)
        if self.chief and (epoch % cfg.sample_interval == 0 or epoch == cfg.epochs):
            self.log.grid(rundir.epoch_grid(self.run, epoch), self.step, grid)
        if self.chief:
            draw_curves(self.run)

        found = symptoms(self.log.history, cfg.collapse_patience, cfg.min_diversity,
                         self.steps_per_epoch * self.batch_size)
        for symptom in found:  # a sign is reported when it begins, and when it ends; not every epoch between
            if symptom.check not in self.signs:
                self.reporter.warning(f"epoch {epoch}: {symptom.check}: {symptom.detail} "
                                      f"(--on-collapse {cfg.on_collapse})")
                self.log.health(epoch, self.step, symptom.check, symptom.detail, cfg.on_collapse)
        for check in set(self.signs) - {symptom.check for symptom in found}:
            self.reporter.notice(f"epoch {epoch}: {check} has ended (it began at epoch {self.signs[check]})")
            self.log.health(epoch, self.step, check, f"ended (began at epoch {self.signs[check]})", "none")
        self.signs = {symptom.check: self.signs.get(symptom.check, epoch) for symptom in found}
        if found and cfg.on_collapse == "rollback":
            self.reporter.epoch_end(epoch, cfg.epochs, row)
            reason = " and ".join(symptom.check for symptom in found)
            self.rollback(reason, "collapsed", before_epoch=min(symptom.onset for symptom in found) - 1)
            return
        self.save()
        self.reporter.epoch_end(epoch, cfg.epochs, row)
        if found and cfg.on_collapse == "stop":
            self.stop("collapsed", " and ".join(f"{symptom.check} ({symptom.detail})" for symptom in found))

    # --- evaluation and sample grids -------------------------------------------------

    def agreed(self, value: float) -> float:
        """A figure each worker computed for itself, averaged over the workers of a cluster (elsewhere the
        figure itself): generating on each worker may differ in the last bits, and the health guard must
        take the same decision on every worker, or one stops and the others wait for it."""
        if not isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return value
        return float(self.mean_over_workers(tf.constant(value, tf.float32)))

    @cached_property
    def mean_over_workers(self):
        """figure -> its mean over the workers; compiled (run eagerly, the collective warns of its overhead)."""
        return tf.function(lambda figure: self.strategy.reduce(
            tf.distribute.ReduceOp.MEAN, self.strategy.run(lambda: figure), axis=None))

    def evaluation(self, nets: dict, epoch: int, grid: np.ndarray | None = None) -> dict:
        """SWD of the generated images of the fixed evaluation set, {level: figure, ..., "mean": figure}, logged
        in evals.csv; the best so far is kept in checkpoints/best, and its grid in samples/best.png."""
        sets = self.eval_set
        generated = generated_images(nets, self.cfg, sets.held_out_inputs, sets.z, sets.labels)
        result = sets.swd(imaging.to_uint8(generated))[0]
        self.log.evaluation(epoch, self.step, self.step * self.batch_size, result)
        if result["mean"] < float(self.state.best_swd.numpy()):
            self.state.save_best(result["mean"], epoch)
            if grid is None:
                grid = self.preview_grid(self.fixed_batch(nets))
            imaging.write_png(rundir.best_grid(self.run), grid)
        return result

    def write_step_grid(self, step: int) -> None:
        """The sample grid of the current weights, named by its step (inside an epoch: a checkpoint, a signal,
        or an image-count cadence)."""
        if self.chief:
            grid = self.preview_grid(self.fixed_batch(self.state.generating_nets()))
            self.log.grid(rundir.step_grid(self.run, step), step, grid)

    def fixed_batch(self, nets: dict) -> np.ndarray:
        """What the sample grids show of `nets`: the fixed latents generated, or the fixed inputs reconstructed."""
        return generated_images(nets, self.cfg, self.x_fixed, self.z_fixed, self.y_fixed)

    def preview_grid(self, generated: np.ndarray) -> np.ndarray:
        """The sample grid: the generated images, or for autoencoders inputs above their reconstructions."""
        if registry.get(self.cfg.model).reconstructs:
            generated = imaging.reconstruction_rows(self.x_fixed[:PREVIEW_INPUTS], generated[:PREVIEW_INPUTS])
        return imaging.grid(imaging.to_uint8(generated), 8)

    # --- the health guard's reactions ----------------------------------------------

    def rollback(self, reason: str, status: str, before_epoch: int | None = None) -> None:
        """Back to the newest checkpoint (or the newest before `before_epoch` ended), learning rates lowered;
        after max_rollbacks of them, stop."""
        cfg = self.cfg
        count = int(self.state.rollbacks.numpy()) + 1
        if count > cfg.max_rollbacks:
            self.stop(status, f"{reason}; {cfg.max_rollbacks} rollback(s) with lower learning rates did not cure it")
        self.state.roll_back(self.state.latest if before_epoch is None else self.state.before(before_epoch))
        rates = self.set_learning_rates()
        self.log.truncate(self.step, self.epoch)
        self.streak, self.signs = 0, {}
        rate = (f"learning rate {rates['g']:.3g}" if len(set(rates.values())) == 1 else
                f"learning rates {rates['g']:.3g} (generator), {rates['d']:.3g} (discriminator)")
        detail = f"{reason}: back to epoch {self.epoch}, step {self.step}, {rate}"
        self.log.health(self.epoch, self.step, "rollback", detail, "rollback")
        self.reporter.warning(f"rollback {count}/{cfg.max_rollbacks}: {detail}")

    def stop(self, status: str, reason: str) -> None:
        self.log.health(self.epoch, self.step, "stopped", reason, "stop")
        self.log.summary(self.summary(status, reason))
        raise TrainingStopped(f"training stopped ({status}): {reason}. See {self.run / rundir.HEALTH}", EXIT_STOPPED)

    # --- the end ----------------------------------------------------------------------

    def finish(self) -> None:
        """The networks (the averaged generator side when --ema is on), the evolution GIF, summary.json;
        another worker of a cluster removes its scratch checkpoints instead."""
        if not self.chief:
            shutil.rmtree(self.scratch, ignore_errors=True)
            return
        for name, model in self.state.final_nets().items():
            save_model(model, rundir.network_file(self.run, name))
        frames = [imaging.read_image(p) for p in rundir.epoch_grids(self.run)]
        if frames:
            imaging.write_gif(self.run / rundir.EVOLUTION, frames)
        self.log.summary(self.summary("completed", None))

    def summary(self, status: str, reason: str | None) -> dict:
        """The figures `facegan compare` shows: the last epoch's, the evaluations', and how the run ended."""
        rows = self.log.history
        last = rows[-1] if rows else {}

        def figure(row: dict, key: str) -> float | None:
            return row[key] if math.isfinite(row.get(key, math.nan)) else None

        evaluated = [row for row in rows if figure(row, "swd") is not None]
        wall = sum(row["wall_s"] for row in rows)
        images = sum(row["images_per_s"] * row["wall_s"] for row in rows)
        best_swd = float(self.state.best_swd.numpy())
        return {
            "model": self.cfg.model,
            "status": status,
            "reason": reason,
            "epochs": int(last["epoch"]) if rows else 0,
            **{name: figure(last, name) for name in ("d_loss_real", "d_loss_fake", "d_acc_real", "d_acc_fake",
                                                     "g_loss", "ae_loss")},
            "swd": evaluated[-1]["swd"] if evaluated else None,
            "swd_real": self.floor["mean"] if self.floor else None,
            "best_swd": best_swd if math.isfinite(best_swd) else None,
            "best_epoch": int(self.state.best_epoch.numpy()) or None,
            "eval_settings": self.eval_set.settings(self.cfg.model) if self.eval_set else None,
            "skipped_steps": int(sum(row["skipped"] for row in rows)),
            "rollbacks": int(self.state.rollbacks.numpy()),
            "params": complexity(self.state.nets),
            "latent_dim": self.cfg.latent_dim,
            "ema": self.cfg.ema or None,
            "replicas": self.strategy.num_replicas_in_sync,
            "distribution": describe(self.strategy),
            "images_per_s": images / wall if wall else None,
            "wall_s": wall,
            "precision": self.cfg.precision,
        }
