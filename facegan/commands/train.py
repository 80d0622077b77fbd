"""`facegan train`: options -> TrainConfig -> facegan.train.train, drawn with Rich on stderr."""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from facegan import registry
from facegan.commands import err, import_tensorflow, out, say, user_errors, warn
from facegan.errors import FaceganError

ModelName = Enum("ModelName", [(name, name) for name in registry.names()], type=str)
HEALTH = "Evaluation and the health guard"
DEVICES = "Devices and precision"


class RichReporter:
    """Training progress on stderr: a Rich bar per epoch on a terminal, one plain line per epoch otherwise."""

    def __init__(self):
        self.live = err.is_terminal
        self.bar = None
        self.last_refresh = 0.0
        self.decoding = None  # (start time, images at the last line) while a data source is decoded

    def progress(self, done: int, total: int) -> None:
        """Decoding, once it has taken a second: a bar on a terminal, otherwise a line every 10% and at the end."""
        now = time.perf_counter()
        if done == 0:
            self.decoding = (now, 0)
            return
        start, last = self.decoding
        if now - start < 1.0 and last == 0 and self.bar is None:  # quick decoding shows nothing
            return
        speed = f"{done / (now - start):.0f} img/s"
        if self.live:
            if self.bar is None:
                self.bar = Progress(TextColumn("decoding"), BarColumn(), MofNCompleteColumn(),
                                    TextColumn("{task.fields[speed]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                    console=err, transient=False)
                self.bar.start()
                self.task = self.bar.add_task("decode", total=total, speed="")
            self.bar.update(self.task, completed=done, speed=speed)
            if done == total:
                self.bar.stop()
                self.bar = None
        elif done == total or last == 0 or done - last >= total / 10:
            say(f"decoding {done}/{total} images  {speed}")
            self.decoding = (start, done)

    def notice(self, text: str) -> None:
        say(text)

    def warning(self, text: str) -> None:
        warn(text)

    def epoch_start(self, epoch, epochs, steps, batch_size) -> None:
        self.batch_size, self.start = batch_size, time.perf_counter()
        if self.live:
            self.bar = Progress(
                TextColumn(f"epoch {epoch}/{epochs}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[speed]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                TextColumn("{task.fields[losses]}"), console=err, transient=False)
            self.bar.start()
            self.task = self.bar.add_task("train", total=steps, speed="", losses="")

    def step(self, done, latest) -> None:
        now = time.perf_counter()
        if not self.live or (now - self.last_refresh < 0.5 and done < self.bar.tasks[0].total):
            return
        self.last_refresh = now
        speed = f"{done * self.batch_size / (now - self.start):.0f} img/s"
        self.bar.update(self.task, completed=done, speed=speed, losses=format_losses(latest()))

    def epoch_end(self, epoch, epochs, row) -> None:
        if self.live:
            self.bar.stop()
        elif row is not None:
            say(f"epoch {epoch}/{epochs}  {row['images_per_s']:.0f} img/s  {row['wall_s']:.1f}s  {format_losses(row)}")


def format_losses(metrics: dict) -> str:
    return "  ".join(f"{k} {v:.3g}" for k, v in metrics.items()
                     if k not in ("epoch", "images_per_s", "wall_s") and not k.startswith("swd_") and v == v)


def train(
    model: Annotated[Optional[ModelName], typer.Argument(help="Model to train (see `facegan models`).")] = None,
    data: Annotated[Optional[str], typer.Option(
        help="'lfw' (embedded faces), an image folder, a CelebA folder, or a .npz/.npy array.")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Epochs to train (with --resume: the new total).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Batch size.")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Adam learning rate.")] = None,
    beta1: Annotated[Optional[float], typer.Option(help="Adam beta_1.")] = None,
    beta2: Annotated[Optional[float], typer.Option(help="Adam beta_2.")] = None,
    weight_decay: Annotated[Optional[float], typer.Option(help="Adam (decoupled) weight decay.")] = None,
    latent_dim: Annotated[Optional[int], typer.Option(help="Size of the latent vector.")] = None,
    image_size: Annotated[Optional[int], typer.Option(help="Image side in pixels.")] = None,
    channels: Annotated[Optional[int], typer.Option(help="1 (grayscale) or 3 (RGB).")] = None,
    dropout: Annotated[Optional[float], typer.Option(help="Discriminator dropout rate.")] = None,
    label_noise: Annotated[Optional[float], typer.Option(help="Noisy labels: real 1+n*U(0,1), fake -n*U(0,1).")] = None,
    alpha: Annotated[Optional[float], typer.Option(help="AE-GAN weight of the autoencoder loss (v0, v1).")] = None,
    beta: Annotated[Optional[float], typer.Option(help="AE-GAN weight of the GAN loss (v0, v1).")] = None,
    beta_a: Annotated[Optional[float], typer.Option(
        help="AE-GAN v4: the constant a of beta_t = min(|a/slope|, 1).")] = None,
    beta_window: Annotated[Optional[int], typer.Option(
        help="AE-GAN v4: steps over which the ae slope is taken.")] = None,
    pretrain_ae_epochs: Annotated[Optional[int], typer.Option(
        help="AE-GAN: epochs of autoencoder-only training first.")] = None,
    kl_weight: Annotated[Optional[float], typer.Option(help="VAE weight of the KL term.")] = None,
    gp_weight: Annotated[Optional[float], typer.Option(help="WGAN-GP gradient penalty weight.")] = None,
    critic_steps: Annotated[Optional[int], typer.Option(help="WGAN-GP critic steps per generator step.")] = None,
    alternate: Annotated[Optional[str], typer.Option(help="gan-alt: 'batch' or 'threshold'.")] = None,
    d_threshold: Annotated[Optional[float], typer.Option(
        help="gan-alt threshold mode: train D until d_loss is below this.")] = None,
    g_threshold: Annotated[Optional[float], typer.Option(
        help="gan-alt threshold mode: train G until g_loss is below this.")] = None,
    label: Annotated[Optional[str], typer.Option(
        help="CelebA attribute used as class label (conditional models).")] = None,
    split: Annotated[Optional[str], typer.Option(
        help="CelebA partition to train on: train (default), valid, test or all (sources without one: all).")] = None,
    max_images: Annotated[Optional[int], typer.Option(
        help="Train on at most N images of the data, chosen by --seed.")] = None,
    flip: Annotated[Optional[bool], typer.Option(
        "--flip/--no-flip", help="Add mirror images (default: on for lfw).")] = None,
    precision: Annotated[Optional[str], typer.Option(
        help="auto, float32, bfloat16 or float16.", rich_help_panel=DEVICES)] = None,
    xla: Annotated[Optional[bool], typer.Option(
        "--xla/--no-xla", help="Compile with XLA: the whole step on one device, each network on several.",
        rich_help_panel=DEVICES)] = None,
    sync_bn: Annotated[Optional[bool], typer.Option(
        "--sync-bn/--no-sync-bn", help="Batch-norm statistics over every replica's batch.",
        rich_help_panel=DEVICES)] = None,
    strategy: Annotated[str, typer.Option(
        help="tf.distribute strategy: auto, single, mirrored or multiworker.", rich_help_panel=DEVICES)] = "auto",
    devices: Annotated[int, typer.Option(
        help="Split the CPU into N logical devices (a mirrored run on one machine).", rich_help_panel=DEVICES)] = 1,
    seed: Annotated[Optional[int], typer.Option(help="Random seed (same seed, same machine: same run).")] = None,
    sample_every: Annotated[Optional[str], typer.Option(
        help="Epochs between sample grids (default: 10 grids per run), or images: 50k, 2M.")] = None,
    checkpoint_minutes: Annotated[Optional[float], typer.Option(
        help="Minutes between checkpoints inside an epoch (default 10; 0: only at epoch ends).")] = None,
    keep_checkpoints: Annotated[Optional[int], typer.Option(help="Newest checkpoints kept.")] = None,
    eval_every: Annotated[Optional[str], typer.Option(
        help="Epochs between SWD evaluations (default: 10 per run; 0: none), or images: 50k, 2M.",
        rich_help_panel=HEALTH)] = None,
    eval_images: Annotated[Optional[int], typer.Option(
        help="Images per evaluation (and per real set of its noise floor).", rich_help_panel=HEALTH)] = None,
    ema: Annotated[Optional[float], typer.Option(
        help="Moving average of the generator weights with this decay, e.g. 0.999 (0: off).",
        rich_help_panel=HEALTH)] = None,
    bad_steps: Annotated[Optional[int], typer.Option(
        help="Non-finite steps in a row before rolling back to the newest checkpoint.", rich_help_panel=HEALTH)] = None,
    rollback_lr: Annotated[Optional[float], typer.Option(
        help="Learning rates are multiplied by this at each rollback.", rich_help_panel=HEALTH)] = None,
    max_rollbacks: Annotated[Optional[int], typer.Option(
        help="Rollbacks before the run stops.", rich_help_panel=HEALTH)] = None,
    on_collapse: Annotated[Optional[str], typer.Option(
        help="When a collapse check fires: warn, stop or rollback.", rich_help_panel=HEALTH)] = None,
    collapse_patience: Annotated[Optional[int], typer.Option(
        help="Epochs a collapse sign must last to count.", rich_help_panel=HEALTH)] = None,
    min_diversity: Annotated[Optional[float], typer.Option(
        help="Mode collapse below this sample diversity (relative to the data's).", rich_help_panel=HEALTH)] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Run directory (default runs/NNN-MODEL).")] = None,
    resume: Annotated[Optional[Path], typer.Option(
        help="Continue this run directory from its newest checkpoint.")] = None,
):
    """Train MODEL and write every artifact to a run directory.

    Examples:
      facegan train dcgan --epochs 5
      facegan train aegan-v5 --data ~/data/celeba --image-size 64 --epochs 100
      facegan train --resume runs/001-dcgan --epochs 10
    """
    options = {k: v for k, v in locals().items()
               if k not in ("model", "out_dir", "resume", "strategy", "devices") and v is not None}
    with user_errors():
        from facegan.config import TrainConfig, parse_cadence

        if sample_every is not None:
            options["sample_every"], options["sample_every_images"] = parse_cadence("--sample-every", sample_every)
        if eval_every is not None:
            epochs_between, options["eval_every_images"] = parse_cadence("--eval-every", eval_every)
            options["eval_every"] = None if options["eval_every_images"] else epochs_between
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
        from facegan.train import train as run_training

        run = run_training(config, out=out_dir, resume=resume, epochs=epochs, reporter=RichReporter(),
                           strategy=strategy, devices=devices)
    out.print(str(run))
