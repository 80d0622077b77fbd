"""`facegan train`: options -> TrainConfig -> facegan.training.train, drawn with Rich on stderr."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from facegan import registry
from facegan.commands import CountProgress, Split, choices, err, import_tensorflow, out, plain, user_errors
from facegan.config import (
    ALTERNATE_MODES,
    D_LOSSES,
    DEVICES_DEFAULT,
    DEVICES_HELP,
    EVAL_METRICS,
    GAN_LOSSES,
    GP_INTERPOLATIONS,
    PRECISIONS,
    STRATEGIES,
    WEIGHT_DECAY_KINDS,
    default_text,
)
from facegan.errors import FaceganError
from facegan.health import ON_COLLAPSE

ModelName = choices("ModelName", registry.names())
Precision, Strategy, OnCollapse = choices("Precision", PRECISIONS), choices("Strategy", STRATEGIES), \
    choices("OnCollapse", ON_COLLAPSE)
GanLoss, Alternate = choices("GanLoss", GAN_LOSSES), choices("Alternate", ALTERNATE_MODES)
DLoss, GpInterpolation = choices("DLoss", D_LOSSES), choices("GpInterpolation", GP_INTERPOLATIONS)
WeightDecayKind = choices("WeightDecayKind", WEIGHT_DECAY_KINDS)
EvalMetric = choices("EvalMetric", EVAL_METRICS)


# The figures of a finished epoch's line on a terminal, by priority: the first group is always shown in full
# (wrapped at figure boundaries where the terminal is too narrow); the others while they fit, then any other figure
# a model's step logs (a new model's own figures show with no change here), in the order of its row.
ESSENTIAL = ("d_loss", "g_loss", "ae_loss", "gp", "swd", "skipped")
OPTIONAL = ("diversity", "augment_p", "r1", "kl_loss", "gan_loss", "gan_weight", "d_acc", "g_acc", "d_loss_real",
            "d_loss_fake", "d_acc_real", "d_acc_fake", "d_trained")
NOT_FIGURES = ("epoch", "images_per_s", "wall_s")


def figure(name: str, value: float) -> str:
    """One figure in a fixed width, so that columns line up from epoch to epoch."""
    if name == "skipped":
        return f"{name} {int(value):>3d}"
    return f"{name} {value:>7.3g}"


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


def epoch_lines(epoch: int, epochs: int, row: dict, left_s: float, width: int) -> list[str]:
    """A finished epoch for a terminal `width` columns wide: `epoch N/M`, images/s, the epoch's time, the time
    left and the ESSENTIAL figures in full (on a second line where one is too narrow); then, on a single line,
    OPTIONAL figures in their order, then the others, while it has room."""
    digits = len(str(epochs))
    head = [f"epoch {epoch:>{digits}d}/{epochs}", f"{row['images_per_s']:>5.0f} img/s", f"{row['wall_s']:>6.1f}s",
            f"left {clock(left_s):>5}"]
    present = {k: v for k, v in row.items() if k not in NOT_FIGURES and v == v}
    essential = [figure(k, present[k]) for k in ESSENTIAL if k in present and (k != "skipped" or present[k])]
    lines, line = [], ""
    for token in head + essential:  # wrapped between figures, never inside one
        if line and len(line) + 2 + len(token) > width:
            lines.append(line)
            line = "  " + token
        else:
            line = f"{line}  {token}" if line else token
    others = [k for k in present if k not in (*ESSENTIAL, *OPTIONAL) and not k.startswith("swd_")]
    for token in (figure(k, present[k]) for k in (*OPTIONAL, *others) if k in present and not lines):  # one line
        if len(line) + 2 + len(token) <= width:
            line = f"{line}  {token}"
    return lines + [line]


class RichReporter:
    """Training progress on stderr: a Rich bar per epoch on a terminal, then the epoch's line fitted to the
    terminal's width (`epoch_lines`); one plain line per epoch with every figure otherwise."""

    def __init__(self, console=None):
        self.console = console or err
        self.live = self.console.is_terminal
        self.bar = None
        self.last_refresh = 0.0
        self.decoding = CountProgress("decoding", self.console)
        self.walls = []  # seconds of each epoch of this process, for the time left

    def say(self, text: str) -> None:
        self.console.print(Text(text), soft_wrap=True)

    def progress(self, done: int, total: int) -> None:
        """Decoding, once it has taken a second."""
        self.decoding(done, total)

    def notice(self, text: str) -> None:
        self.say(text)

    def warning(self, text: str) -> None:
        """One warning: on a terminal wrapped at word boundaries; elsewhere one line."""
        self.console.print(Text.assemble(("warning:", "yellow"), f" {text}"), soft_wrap=not self.live)

    def epoch_start(self, epoch, epochs, steps, batch_size) -> None:
        self.batch_size, self.start = batch_size, time.perf_counter()
        if self.live:
            self.bar = Progress(
                TextColumn(f"epoch {epoch}/{epochs}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[speed]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                TextColumn("{task.fields[losses]}"), console=self.console, transient=True)
            self.bar.start()
            self.task = self.bar.add_task("train", total=steps, speed="", losses="")

    def step(self, done, latest) -> None:
        now = time.perf_counter()
        if not self.live or (now - self.last_refresh < 0.5 and done < self.bar.tasks[0].total):
            return
        self.last_refresh = now
        speed = f"{done * self.batch_size / (now - self.start):.0f} img/s"
        figures = latest()
        losses = "  ".join(figure(k, figures[k]) for k in ESSENTIAL if k in figures and k != "skipped")
        self.bar.update(self.task, completed=done, speed=speed, losses=losses)

    def epoch_end(self, epoch, epochs, row) -> None:
        if self.live:
            self.bar.stop()
        if row is None:
            return
        self.walls.append(row["wall_s"])
        if self.live:
            left = (epochs - epoch) * sum(self.walls) / len(self.walls)
            for line in epoch_lines(epoch, epochs, row, left, self.console.width):
                self.say(line)
        else:
            self.say(f"epoch {epoch}/{epochs}  {row['images_per_s']:.0f} img/s  {row['wall_s']:.1f}s  "
                     f"{format_losses(row)}")


def format_losses(metrics: dict) -> str:
    return "  ".join(f"{k} {v:.3g}" for k, v in metrics.items()
                     if k not in NOT_FIGURES and not k.startswith("swd_") and v == v)


def option(help: str, panel: str, *declarations: str, field: str | None = None):
    """A train option in its --help panel; `field` (a TrainConfig field) adds what its default is, as Typer shows
    the other commands' defaults: [default: ...] (its bracket escaped from Rich's markup)."""
    return typer.Option(*declarations, help=f"{help} \\[{default_text(field)}]" if field else help,
                        rich_help_panel=panel)


MODEL, DATA, OPTIMIZATION, STABILIZERS, HEALTH, DEVICES, OUTPUT = (
    "Model", "Data", "Optimization", "Small data: augmentation and the discriminator's loss",
    "Evaluation and the health guard", "Precision and devices", "Output and resume")


def train(
    model: Annotated[Optional[ModelName], typer.Argument(help="Model to train (see `facegan models`).")] = None,
    latent_dim: Annotated[Optional[int], option("Size of the latent vector.", MODEL, field="latent_dim")] = None,
    image_size: Annotated[Optional[int], option("Image side in pixels.", MODEL, field="image_size")] = None,
    channels: Annotated[Optional[int], option("1 (grayscale) or 3 (RGB).", MODEL, field="channels")] = None,
    dropout: Annotated[Optional[float], option("Discriminator dropout rate.", MODEL, field="dropout")] = None,
    ae_weight: Annotated[Optional[float], option(
        "AE-GAN v0, v1: the weight of the autoencoder loss (the notebooks' alpha).", MODEL, field="ae_weight")] = None,
    gan_weight: Annotated[Optional[float], option(
        "AE-GAN v0, v1: the weight of the GAN loss (the notebooks' beta).", MODEL, field="gan_weight")] = None,
    slope_scale: Annotated[Optional[float], option(
        "AE-GAN v4: the GAN loss's weight is min(|scale / slope|, 1), where slope is the autoencoder loss's "
        "(the notebook's a).", MODEL, field="slope_scale")] = None,
    slope_window: Annotated[Optional[int], option(
        "AE-GAN v4: steps over which the autoencoder loss's slope is taken.", MODEL, field="slope_window")] = None,
    alpha: Annotated[Optional[float], typer.Option(hidden=True)] = None,  # the earlier names of the four above
    beta: Annotated[Optional[float], typer.Option(hidden=True)] = None,
    beta_a: Annotated[Optional[float], typer.Option(hidden=True)] = None,
    beta_window: Annotated[Optional[int], typer.Option(hidden=True)] = None,
    pretrain_ae_epochs: Annotated[Optional[int], option(
        "AE-GAN: epochs of autoencoder-only training first.", MODEL, field="pretrain_ae_epochs")] = None,
    kl_weight: Annotated[Optional[float], option("VAE weight of the KL term.", MODEL, field="kl_weight")] = None,
    gp_weight: Annotated[Optional[float], option("WGAN-GP gradient penalty weight.", MODEL, field="gp_weight")] = None,
    critic_steps: Annotated[Optional[int], option(
        "WGAN-GP critic steps per generator step.", MODEL, field="critic_steps")] = None,
    gp_interpolation: Annotated[Optional[GpInterpolation], option(
        "WGAN-GP: the penalty's points mix real and fake by a weight per image drawn from U(0, 1) (the paper's) or "
        "N(0, 1) (the notebooks').", MODEL, field="gp_interpolation")] = None,
    alternate: Annotated[Optional[Alternate], option("gan-alt: take turns by batch, or by loss threshold.", MODEL,
                                                     field="alternate")] = None,
    d_threshold: Annotated[Optional[float], option(
        "gan-alt threshold mode: train D until d_loss is below this (facegan's number; the notebook gives none).",
        MODEL, field="d_threshold")] = None,
    g_threshold: Annotated[Optional[float], option(
        "gan-alt threshold mode: train G until g_loss is below this.", MODEL, field="g_threshold")] = None,
    data: Annotated[Optional[str], option(
        "'lfw' (embedded faces), an image folder, a CelebA folder, or a .npz/.npy array.", DATA,
        field="data")] = None,
    split: Annotated[Optional[Split], option(
        "CelebA partition to train on (sources without one: all).", DATA,
        field="split")] = None,
    max_images: Annotated[Optional[int], option(
        "Train on at most N images of the data, chosen by --seed. \\[default: all]", DATA)] = None,
    label: Annotated[Optional[str], option(
        "CelebA attribute used as class label (conditional models).", DATA, field="label")] = None,
    flip: Annotated[Optional[bool], option(
        "Add mirror images. \\[default: on for lfw, off otherwise]", DATA, "--flip/--no-flip")] = None,
    epochs: Annotated[Optional[int], option(
        "Epochs to train (with --resume: the new total).", OPTIMIZATION, field="epochs")] = None,
    batch_size: Annotated[Optional[int], option("Batch size.", OPTIMIZATION, field="batch_size")] = None,
    lr: Annotated[Optional[float], option("Adam learning rate.", OPTIMIZATION, field="lr")] = None,
    beta1: Annotated[Optional[float], option("Adam beta_1.", OPTIMIZATION, field="beta1")] = None,
    beta2: Annotated[Optional[float], option("Adam beta_2.", OPTIMIZATION, field="beta2")] = None,
    weight_decay: Annotated[Optional[float], option(
        "Adam weight decay.", OPTIMIZATION, field="weight_decay")] = None,
    weight_decay_kind: Annotated[Optional[WeightDecayKind], option(
        "decoupled: Keras's Adam(weight_decay), w -= lr*decay*w; l2: decay*w added to the gradient, as PyTorch's "
        "Adam(weight_decay).", OPTIMIZATION, field="weight_decay_kind")] = None,
    label_noise: Annotated[Optional[float], option(
        "Noisy labels: real 1+n*U(0,1), fake -n*U(0,1).", OPTIMIZATION, field="label_noise")] = None,
    d_lr: Annotated[Optional[float], option(
        "The discriminator's Adam learning rate, where it differs from --lr (two time scales).", OPTIMIZATION,
        field="d_lr")] = None,
    augment: Annotated[Optional[str], option(
        "Augment the discriminator's real and generated images: translation, cutout, color (DiffAugment) and "
        "ada (each applied with a probability adapted to the discriminator's overfitting), comma-separated; "
        "none: off.", STABILIZERS, field="augment")] = None,
    gan_loss: Annotated[Optional[GanLoss], option(
        "The adversarial loss: bce (cross-entropy of logits, each log term clamped at -100: facegan's), bce-logits "
        "(Keras's, from logits), bce-probs (Keras's, on sigmoid probabilities clipped at 1e-7: a sure "
        "discriminator leaves the generator no gradient), hinge, relativistic (each real against a fake: "
        "softplus(D(fake) - D(real)), R3GAN's) or dual-contrastive (each real against the batch's fakes and each "
        "fake against its reals, lightweight-gan's).", STABILIZERS, field="gan_loss")] = None,
    d_loss: Annotated[Optional[DLoss], option(
        "The discriminator's loss: its real and fake terms added (sum) or averaged (mean).", STABILIZERS,
        field="d_loss")] = None,
    r1_weight: Annotated[Optional[float], option(
        "R1 penalty gamma/2 * |grad D(real)|^2 (GAN family; 0: off).", STABILIZERS, field="r1_weight")] = None,
    r2_weight: Annotated[Optional[float], option(
        "R2 penalty gamma/2 * |grad D(fake)|^2 (GAN family; 0: off). R3GAN pairs --gan-loss relativistic with "
        "R1 and R2 of one gamma.", STABILIZERS, field="r2_weight")] = None,
    penalty_every: Annotated[Optional[int], option(
        "Compute R1 and R2 in every Nth step only, weighted N times (lazy regularization, StyleGAN2's): about N "
        "times cheaper.", STABILIZERS, field="penalty_every")] = None,
    mbstd_group: Annotated[Optional[int], option(
        "fastgan: the discriminator sees the standard deviation of its features over groups of this many images "
        "(StyleGAN's minibatch standard deviation; 0: off).", STABILIZERS, field="mbstd_group")] = None,
    seed: Annotated[Optional[int], option(
        "Random seed (same seed, same machine: same run).", OPTIMIZATION, field="seed")] = None,
    eval_every: Annotated[Optional[str], option(
        "Epochs between SWD evaluations, or images: 50k, 2M. \\[default: 10 per run; 0: none]", HEALTH)] = None,
    eval_images: Annotated[Optional[int], option(
        "Images per evaluation (and per real set of its noise floor).", HEALTH, field="eval_images")] = None,
    eval_metric: Annotated[Optional[EvalMetric], option(
        "What judges the evaluations and picks checkpoints/best. fid and kid add the FID Inception network's FID, "
        "KID, precision and recall to each evaluation: about 0.05 s an image on a 2-core CPU (18 s for 256 images "
        "at 64 px, 50 s for 1,000), and once as long again for the real sets (then cached).", HEALTH,
        field="eval_metric")] = None,
    ema: Annotated[Optional[float], option(
        "Moving average of the generator weights with this decay, e.g. 0.999 (0: off).", HEALTH, field="ema")] = None,
    ema_rampup: Annotated[Optional[float], option(
        "With --ema: the average's half-life grows as this share of the images seen, up to --ema's (StyleGAN2-ADA: "
        "0.05); 0: the decay min(EMA, (1+t)/(10+t)) after t steps.", HEALTH, field="ema_rampup")] = None,
    bad_steps: Annotated[Optional[int], option(
        "Non-finite steps in a row before rolling back to the newest checkpoint.", HEALTH, field="bad_steps")] = None,
    rollback_lr: Annotated[Optional[float], option(
        "Learning rates are multiplied by this at each rollback.", HEALTH, field="rollback_lr")] = None,
    max_rollbacks: Annotated[Optional[int], option(
        "Rollbacks before the run stops.", HEALTH, field="max_rollbacks")] = None,
    on_collapse: Annotated[Optional[OnCollapse], option(
        "What a collapse check does when it fires.", HEALTH, field="on_collapse")] = None,
    collapse_patience: Annotated[Optional[int], option(
        "Epochs a collapse sign must last to count (a low but nonzero diversity: twice as many).", HEALTH,
        field="collapse_patience")] = None,
    min_diversity: Annotated[Optional[float], option(
        "Mode collapse below this sample diversity (relative to the data's); 0 turns the check off.", HEALTH,
        field="min_diversity")] = None,
    precision: Annotated[Optional[Precision], option(
        "auto: bfloat16 or float16 where the hardware has it, else float32.", DEVICES,
        field="precision")] = None,
    xla: Annotated[Optional[bool], option(
        "Compile with XLA: the whole step on one device, each network on several.", DEVICES, "--xla/--no-xla",
        field="xla")] = None,
    sync_bn: Annotated[Optional[bool], option(
        "Batch-norm statistics over every replica's batch.", DEVICES, "--sync-bn/--no-sync-bn",
        field="sync_bn")] = None,
    strategy: Annotated[Strategy, option("tf.distribute strategy.", DEVICES)] = Strategy.auto,
    devices: Annotated[Optional[int], option(f"{DEVICES_HELP} \\[default: {DEVICES_DEFAULT}]", DEVICES)] = None,
    out_dir: Annotated[Optional[Path], option(
        "Run directory; one that holds a run of this configuration is continued (a restarted job's same command). "
        "\\[default: runs/NNN-MODEL]", OUTPUT, "--out")] = None,
    resume: Annotated[Optional[Path], option("Continue this run directory from its newest checkpoint.", OUTPUT)] = None,
    sample_every: Annotated[Optional[str], option(
        "Epochs between sample grids, or images: 50k, 2M. \\[default: 10 grids per run]", OUTPUT)] = None,
    checkpoint_minutes: Annotated[Optional[float], option(
        "Minutes between checkpoints inside an epoch (0: only at epoch ends).", OUTPUT,
        field="checkpoint_minutes")] = None,
    keep_checkpoints: Annotated[Optional[int], option(
        "Newest checkpoints kept.", OUTPUT, field="keep_checkpoints")] = None,
    keep_every: Annotated[Optional[int], option(
        "Also keep the checkpoint of every Nth epoch for good, for the analysis commands' --epoch (0: none).",
        OUTPUT, field="keep_every")] = None,
    init: Annotated[Optional[str], option(
        "Start from this run's network weights (fine-tuning; the optimizers start fresh).", MODEL)] = None,
    init_best: Annotated[Optional[bool], option(
        "With --init: its best evaluation's weights (checkpoints/best).", MODEL, "--init-best")] = None,
    dry_run: Annotated[bool, option(
        "Print the resolved configuration and what the data holds, and write nothing.", OUTPUT,
        "--dry-run")] = False,
):
    """Train MODEL and write every artifact to a run directory.

    Examples:
      facegan train dcgan --epochs 5
      facegan train aegan-v5 --data ~/data/celeba --image-size 64 --epochs 100
      facegan train --resume runs/001-dcgan --epochs 10
    """
    options = {k: plain(v) for k, v in locals().items()
               if k not in ("model", "out_dir", "resume", "strategy", "devices", "dry_run") and v is not None}
    strategy = plain(strategy)
    with user_errors():
        from facegan.config import TrainConfig

        if resume is not None:
            extra = sorted(set(options) - {"epochs"})
            if model is not None or extra:
                given = ", ".join(([model.value] if model is not None else []) + extra)
                raise FaceganError("--resume continues with the run's saved configuration; only --epochs, "
                                   f"--strategy and --devices may be given (got: {given})")
            config = None
        elif model is None:
            raise FaceganError("give a MODEL to train (see `facegan models`) or --resume RUN_DIR")
        else:
            config = TrainConfig.resolve(model.value, **options)
        import_tensorflow()
        from facegan import training

        if dry_run:
            plan = training.plan_run(config, resume, epochs, strategy, devices, RichReporter(), decode=False,
                                     out=out_dir)
            print(json.dumps(plan.dry_run(), indent=2))
            return
        run = training.train(config, out=out_dir, resume=resume, epochs=epochs, reporter=RichReporter(),
                             strategy_name=strategy, devices=devices)
    out.print(str(run))
