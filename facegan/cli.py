"""The facegan command line: thin commands that parse options, call the library and print with Rich.

TensorFlow is imported inside the commands that train or generate, never at module level,
so `facegan --help` and `facegan models` start fast. Progress and errors go to stderr;
stdout carries only results.
"""

from __future__ import annotations

import json
import os
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from facegan import registry
from facegan.errors import FaceganError, TrainingStopped

app = typer.Typer(help="Train face GANs and find out what they learned.", no_args_is_help=True,
                  rich_markup_mode="rich", pretty_exceptions_enable=False)
err = Console(stderr=True)
out = Console(soft_wrap=True)  # never hard-wrap results: scripts read them

ModelName = Enum("ModelName", [(name, name) for name in registry.names()], type=str)


def import_tensorflow() -> None:
    """Import TensorFlow without its start-up chatter on stderr (C++ lines logged before logging is
    configured, which no setting silences). A user who sets TF_CPP_MIN_LOG_LEVEL sees everything."""
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        import tensorflow  # noqa: F401
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe logs here, once
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


@app.command()
def models():
    """List every registered model with its image size, latent size and parameter counts.

    Example: facegan models
    """
    networks = ("generator", "discriminator", "encoder")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True, caption="parameters: total (trainable, where fewer)")
    table.add_column("model", min_width=20, max_width=20, overflow="fold")
    table.add_column("image", no_wrap=True)
    table.add_column("latent", no_wrap=True, justify="right")
    for net in networks:
        table.add_column(net, no_wrap=True, justify="right")
    for name in registry.names():
        spec = registry.get(name)
        size, channels = spec.defaults["image_size"], spec.defaults["channels"]
        counts = [format_count(*spec.params[net]) if net in spec.params else "-" for net in networks]
        table.add_row(f"[bold]{name}[/bold]\n[dim]{spec.description}[/dim]", f"{size}x{size}x{channels}",
                      str(spec.defaults["latent_dim"]), *counts, end_section=True)
    out.print(table)


def format_count(total: int, trainable: int) -> str:
    return f"{total:,}" if total == trainable else f"{total:,}\n({trainable:,})"


class RichReporter:
    """Training progress on stderr: a Rich bar per epoch on a terminal, one plain line per epoch otherwise."""

    def __init__(self):
        self.live = err.is_terminal
        self.progress = None
        self.last_refresh = 0.0

    def notice(self, text: str) -> None:
        err.print(text, highlight=False, soft_wrap=True)

    def warning(self, text: str) -> None:
        err.print(f"[yellow]warning:[/yellow] {text}", highlight=False, soft_wrap=True)

    def epoch_start(self, epoch, epochs, steps, batch_size) -> None:
        self.batch_size, self.start = batch_size, time.perf_counter()
        if self.live:
            self.progress = Progress(
                TextColumn(f"epoch {epoch}/{epochs}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[speed]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                TextColumn("{task.fields[losses]}"), console=err, transient=False)
            self.progress.start()
            self.task = self.progress.add_task("train", total=steps, speed="", losses="")

    def step(self, done, latest) -> None:
        now = time.perf_counter()
        if not self.live or (now - self.last_refresh < 0.5 and done < self.progress.tasks[0].total):
            return
        self.last_refresh = now
        speed = f"{done * self.batch_size / (now - self.start):.0f} img/s"
        self.progress.update(self.task, completed=done, speed=speed, losses=format_losses(latest()))

    def epoch_end(self, epoch, epochs, row) -> None:
        if self.live:
            self.progress.stop()
        elif row is not None:
            err.print(f"epoch {epoch}/{epochs}  {row['images_per_s']:.0f} img/s  {row['wall_s']:.1f}s  "
                      f"{format_losses(row)}", highlight=False, soft_wrap=True)


def format_losses(metrics: dict) -> str:
    return "  ".join(f"{k} {v:.3g}" for k, v in metrics.items()
                     if k not in ("epoch", "images_per_s", "wall_s") and not k.startswith("swd_") and v == v)


@app.command()
def train(
    model: Annotated[Optional[ModelName], typer.Argument(help="Model to train (see `facegan models`).")] = None,
    data: Annotated[Optional[str], typer.Option(help="'lfw' (embedded faces), an image folder, a CelebA folder, or a .npz/.npy array.")] = None,
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
    beta_a: Annotated[Optional[float], typer.Option(help="AE-GAN v4: the constant a of beta_t = min(|a/slope|, 1).")] = None,
    beta_window: Annotated[Optional[int], typer.Option(help="AE-GAN v4: steps over which the ae slope is taken.")] = None,
    pretrain_ae_epochs: Annotated[Optional[int], typer.Option(help="AE-GAN: epochs of autoencoder-only training first.")] = None,
    kl_weight: Annotated[Optional[float], typer.Option(help="VAE weight of the KL term.")] = None,
    gp_weight: Annotated[Optional[float], typer.Option(help="WGAN-GP gradient penalty weight.")] = None,
    critic_steps: Annotated[Optional[int], typer.Option(help="WGAN-GP critic steps per generator step.")] = None,
    alternate: Annotated[Optional[str], typer.Option(help="gan-alt: 'batch' or 'threshold'.")] = None,
    d_threshold: Annotated[Optional[float], typer.Option(help="gan-alt threshold mode: train D until d_loss is below this.")] = None,
    g_threshold: Annotated[Optional[float], typer.Option(help="gan-alt threshold mode: train G until g_loss is below this.")] = None,
    label: Annotated[Optional[str], typer.Option(help="CelebA attribute used as class label (conditional models).")] = None,
    flip: Annotated[Optional[bool], typer.Option("--flip/--no-flip", help="Add mirror images (default: on for lfw).")] = None,
    precision: Annotated[Optional[str], typer.Option(help="auto, float32, bfloat16 or float16.")] = None,
    xla: Annotated[Optional[bool], typer.Option("--xla/--no-xla", help="Compile with XLA: the whole step on one device, each network on several.")] = None,
    sync_bn: Annotated[Optional[bool], typer.Option("--sync-bn/--no-sync-bn", help="Batch-norm statistics over every replica's batch.")] = None,
    strategy: Annotated[str, typer.Option(help="tf.distribute strategy: auto, single, mirrored or multiworker.")] = "auto",
    devices: Annotated[int, typer.Option(help="Split the CPU into N logical devices (a mirrored run on one machine).")] = 1,
    seed: Annotated[Optional[int], typer.Option(help="Random seed (same seed, same machine: same run).")] = None,
    sample_every: Annotated[Optional[int], typer.Option(help="Epochs between sample grids (default: 10 grids per run).")] = None,
    keep_checkpoints: Annotated[Optional[int], typer.Option(help="Newest checkpoints kept.")] = None,
    eval_every: Annotated[Optional[int], typer.Option(help="Epochs between SWD evaluations (default: 10 per run; 0: none).")] = None,
    eval_images: Annotated[Optional[int], typer.Option(help="Images per evaluation (and per real set of its noise floor).")] = None,
    ema: Annotated[Optional[float], typer.Option(help="Moving average of the generator weights with this decay, e.g. 0.999 (0: off).")] = None,
    bad_steps: Annotated[Optional[int], typer.Option(help="Non-finite steps in a row before rolling back to the newest checkpoint.")] = None,
    rollback_lr: Annotated[Optional[float], typer.Option(help="Learning rates are multiplied by this at each rollback.")] = None,
    max_rollbacks: Annotated[Optional[int], typer.Option(help="Rollbacks before the run stops.")] = None,
    on_collapse: Annotated[Optional[str], typer.Option(help="When a collapse check fires: warn, stop or rollback.")] = None,
    collapse_patience: Annotated[Optional[int], typer.Option(help="Epochs a collapse sign must last to count.")] = None,
    min_diversity: Annotated[Optional[float], typer.Option(help="Mode collapse below this sample diversity (relative to the data's).")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Run directory (default runs/NNN-MODEL).")] = None,
    resume: Annotated[Optional[Path], typer.Option(help="Continue this run directory from its newest checkpoint.")] = None,
):
    """Train MODEL and write every artifact to a run directory.

    Examples:
      facegan train dcgan --epochs 5
      facegan train aegan-v5 --data ../shared/data/celeba-2k --image-size 64 --epochs 100
      facegan train --resume runs/001-dcgan --epochs 10
    """
    options = {k: v for k, v in locals().items()
               if k not in ("model", "out_dir", "resume", "strategy", "devices") and v is not None}
    try:
        from facegan.config import TrainConfig

        if resume is not None:
            extra = sorted(set(options) - {"epochs"})
            if model is not None or extra:
                raise FaceganError("--resume continues with the run's saved configuration; only --epochs, --strategy "
                               "and --devices may be "
                                   f"given (got: {', '.join([m for m in [model and model.value] if m] + extra)})")
            config = None
        elif model is None:
            raise FaceganError("give a MODEL to train (see `facegan models`) or --resume RUN_DIR")
        else:
            config = TrainConfig.resolve(model.value, **options)
        import_tensorflow()
        from facegan.train import train as run_training

        run = run_training(config, out=out_dir, resume=resume, epochs=epochs, reporter=RichReporter(),
                           strategy=strategy, devices=devices)
    except TrainingStopped as stopped:
        err.print(f"[red]{stopped}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(stopped.exit_code)
    except FaceganError as error:
        raise fail(str(error))
    out.print(str(run))




@app.command("eval")
def evaluate(
    run: Annotated[Optional[Path], typer.Argument(help="Run directory (default: the newest under ./runs).")] = None,
    n: Annotated[int, typer.Option("-n", "--n", help="Images per set: generated, real reference, real noise floor.")] = 2048,
    data: Annotated[Optional[str], typer.Option(help="Real images to measure against (default: the run's training data).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the real sets, latents, patches and projections.")] = 0,
    best: Annotated[bool, typer.Option("--best", help="Evaluate the checkpoint of the run's best evaluation during training.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
):
    """Sample quality by measure: the sliced Wasserstein distance (SWD) between generated and real images.

    As in the progressive-GAN paper: per level of a Laplacian pyramid (the model's resolution down
    to 16x16), 128 7x7 patches per image, 512 random projections, x1e3; lower is better. The same
    figure between two disjoint real sets is the noise floor, what a perfect model scores. Also the
    blur factor of samples and data, and the copy rate of `facegan nearest` when it has run.
    Autoencoders (AE-GAN, VAE) are measured on reconstructions of real images. The figures go to
    RUN/eval.json, where `facegan compare` finds them.

    Examples:
      facegan eval
      facegan eval runs/003-dcgan --n 512 --seed 1
      facegan eval runs/003-dcgan --best --json
    """
    from facegan import rundir

    try:
        run = rundir.resolve_run(run)
        config = rundir.read_config(run)["config"]
        if n < 1:
            raise FaceganError("-n must be positive")
        import_tensorflow()
        from facegan.analysis import sample as sampling
        from facegan.analysis.evaluate import evaluate as measure
        from facegan.data import load_faces

        nets = sampling.load_networks(run, best)
        faces = load_faces(data or config["data"], config["image_size"], config["channels"])
        if len(faces.images) < 2 * n:
            err.print(f"{len(faces.images)} real images: two sets of {len(faces.images) // 2} instead of {n}",
                      highlight=False)
        with err.status(f"measuring {config['model']} against {data or config['data']}"):
            result = measure(nets, config, faces.images, n, seed, run)
    except FaceganError as error:
        raise fail(str(error))
    result["settings"]["data"] = data or config["data"]
    result["checkpoint"] = "best" if best else "final"
    rundir.write_json(run / "eval.json", result)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    settings = result["settings"]
    table = Table(box=box.SIMPLE_HEAD, caption=f"{settings['images']} images per set, {settings['projections']} "
                  f"projections, seed {seed}; {settings['generated']} of {run}", caption_justify="left")
    for header in ("figure", settings["generated"], "real vs real"):
        table.add_column(header, justify="left" if header == "figure" else "right")
    for level in settings["levels"]:
        table.add_row(f"SWD x1e3, {level}x{level}", f"{result[f'swd_{level}']:.2f}", f"{result[f'swd_real_{level}']:.2f}")
    table.add_row("SWD x1e3, mean", f"{result['swd']:.2f}", f"{result['swd_real']:.2f}", style="bold")
    table.add_row("blur factor", f"{result['blur']:.1f}", f"{result['blur_real']:.1f}")
    table.add_row("copy rate", "-" if result["copy_rate"] is None else f"{result['copy_rate']:.1%}", "")
    out.print(table)


@app.command()
def blur(
    paths: Annotated[list[Path], typer.Argument(help="Run directories, image folders or image files.")],
    per_image: Annotated[bool, typer.Option("--per-image", help="Print CSV: image, blur factor.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the details as JSON.")] = False,
    data: Annotated[bool, typer.Option("--data", help="For a run: also the training data's blur at the run's resolution.")] = False,
    generate: Annotated[Optional[int], typer.Option(help="For a run: score N fresh samples of its generator instead of its grid.")] = None,
):
    """Blur factor (variance of the Laplacian, as OpenCV computes it) of images; lower is blurrier.

    Prints the mean alone on stdout, for scripts. For a run directory it scores the tiles of the
    newest sample grid (for autoencoders, the reconstructions) and stores the figure in blur.json.

    Examples:
      facegan blur runs/003-aegan-v4
      facegan blur runs/003-aegan-v4 --data --json
      facegan blur runs/003-aegan-v4 --generate 256
      facegan blur ../shared/data/celeba-2k/images --per-image > blur.csv
    """
    from facegan import rundir
    from facegan.analysis import images as sources
    from facegan.analysis.blur import blur_factor

    try:
        scores, runs, loose = [], [], []
        for path in paths:
            if (path / "config.json").is_file():
                runs.append(path)
            else:
                loose.append(path)
        if generate is not None and generate < 1:
            raise FaceganError("--generate needs a positive number of samples")
        for run in runs:
            source, tiles = fresh_samples(run, generate) if generate else sources.generated_tiles(run)
            run_scores = [(f"{source}#{i}", blur_factor(tile)) for i, tile in enumerate(tiles)]
            record = {"blur": _mean(run_scores), "images": len(run_scores), "source": str(source)}
            if data:
                record["dataset_raw"] = data_blur(run)
                err.print(f"{run}: dataset raw {record['dataset_raw']:.2f}", highlight=False)
            rundir.write_json(run / "blur.json", record)
            scores += run_scores
        if loose:
            from facegan.imaging import read_png

            scores += [(str(f), blur_factor(read_png(f))) for f in sources.image_files(loose)]
    except (FaceganError, ValueError, OSError) as error:
        raise fail(str(error))
    if as_json:
        print(json.dumps({"blur": _mean(scores), "images": len(scores),
                          **({"runs": {str(r): json.loads((r / "blur.json").read_text()) for r in runs}} if runs else {}),
                          "per_image": dict(scores)}, indent=2))
    elif per_image:
        print("image,blur")
        for name, score in scores:
            print(f"{name},{score:.6f}")
    else:
        print(f"{_mean(scores):.6f}")


def fresh_samples(run: Path, n: int) -> tuple[str, np.ndarray]:
    """n new uint8 samples of a run's generator (latent seed 0), for blur --generate."""
    from facegan import imaging, rundir

    import_tensorflow()
    from facegan.analysis import sample as sampling

    config = rundir.read_config(run)["config"]
    _, _, images = sampling.new_samples(sampling.load_networks(run)["generator"], config, n, seed=0)
    return f"{n} new samples", imaging.to_uint8(images)


def _mean(scores: list) -> float:
    return sum(score for _, score in scores) / len(scores)


def data_blur(run: Path) -> float:
    """Mean blur factor of a run's training images at its resolution ("dataset raw")."""
    from facegan import rundir
    from facegan.analysis.blur import blur_factor
    from facegan.data import load_faces

    config = rundir.read_config(run)["config"]
    faces = load_faces(config["data"], config["image_size"], config["channels"])
    return sum(blur_factor(image) for image in faces.images) / len(faces.images)


class Format(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


@app.command()
def compare(
    runs: Annotated[Optional[list[Path]], typer.Argument(help="Run directories (default: every run under ./runs).")] = None,
    format: Annotated[Format, typer.Option(help="Output format.")] = Format.table,
    sort: Annotated[Optional[str], typer.Option(help="Order the runs by this figure, e.g. blur or g_loss.")] = None,
    transpose: Annotated[bool, typer.Option("--transpose", help="One row per run instead of one column.")] = False,
):
    """Compare runs in the metrics table of the original experiments (reads files only).

    A figure never computed shows as a dash. Run `facegan blur RUN --data` first to fill the
    blur rows.

    Examples:
      facegan compare
      facegan compare runs/001-aegan-v1 runs/002-aegan-v4 --format markdown
      facegan compare --sort blur --transpose --format csv > table.csv
    """
    from facegan import rundir
    from facegan.analysis import compare as comparison

    try:
        run_paths = [rundir.require_run_dir(r) for r in runs] if runs else rundir.run_dirs()
        if not run_paths:
            raise FaceganError("no run to compare: give run directories or train one under ./runs")
        keys, columns = comparison.table(run_paths, sort)
        differ = comparison.not_comparable(run_paths, keys)
    except FaceganError as error:
        raise fail(str(error))
    if format is Format.json:
        print(json.dumps({"runs": columns, "not_comparable": differ}, indent=2))
        return
    for settings in sorted({", ".join(names) for names in differ.values()}):
        err.print(f"[yellow]not comparable:[/yellow] SWD figures computed with different {settings}", highlight=False)
    rows = comparison.grid(keys, columns, transpose, differ)
    if format is Format.markdown:
        print(comparison.markdown(rows))
    elif format is Format.csv:
        print(comparison.to_csv(rows), end="")
    else:
        table = Table(box=box.SIMPLE_HEAD)  # cells are Text: "[not comparable]" is no Rich markup
        for header in rows[0]:
            table.add_column(Text(header), overflow="fold")
        for row in rows[1:]:
            table.add_row(*map(Text, row))
        out.print(table)


@app.command()
def sample(
    run: Annotated[Optional[Path], typer.Argument(help="Run directory (default: the newest under ./runs).")] = None,
    n: Annotated[int, typer.Option("-n", "--n", help="Images to generate.")] = 64,
    seed: Annotated[int, typer.Option(help="Seed of the latent vectors.")] = 0,
    grid: Annotated[bool, typer.Option("--grid/--no-grid", help="Also write all images as one grid.png.")] = True,
    rank: Annotated[bool, typer.Option("--rank", help="Order by the discriminator's (critic's) score, best first.")] = False,
    keep_top: Annotated[Optional[int], typer.Option(help="Keep the K best of n (implies --rank).")] = None,
    interpolate: Annotated[Optional[int], typer.Option(help="Also walk the latent space in STEPS between pairs of samples.")] = None,
    label: Annotated[Optional[int], typer.Option(help="Class of every sample (conditional models; default: cycle the classes).")] = None,
    mean: Annotated[float, typer.Option(help="Mean of the latent prior (VAE experiments).")] = 0.0,
    std: Annotated[float, typer.Option(help="Standard deviation of the latent prior.")] = 1.0,
    best: Annotated[bool, typer.Option("--best", help="Use the checkpoint of the run's best evaluation (checkpoints/best).")] = False,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Output folder (default RUN/samples/sample-NNN).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the details as JSON.")] = False,
):
    """Generate images from a run's generator; samples.npz keeps every latent so that each image can be made again.

    Examples:
      facegan sample
      facegan sample runs/002-dcgan -n 64 --rank --keep-top 16
      facegan sample runs/004-vae --interpolate 8 --std 0.5
    """
    from facegan import imaging, rundir

    try:
        run = rundir.resolve_run(run)
        config = rundir.read_config(run)["config"]
        if n < 1 or (keep_top is not None and not 1 <= keep_top <= n):
            raise FaceganError(f"-n must be positive and --keep-top between 1 and n ({n})")
        if interpolate is not None and (interpolate < 2 or n < 2):
            raise FaceganError("--interpolate needs at least 2 steps and 2 samples")
        classes = config["num_classes"]
        if label is not None and not classes:
            raise FaceganError(f"{config['model']} is not conditional: --label does not apply")
        if label is not None and not 0 <= label < classes:
            raise FaceganError(f"--label must be a class of this conditional model (0..{classes - 1})")
        import_tensorflow()
        from facegan.analysis import sample as sampling

        nets = sampling.load_networks(run, best)
        rank = rank or keep_top is not None
        if rank and "discriminator" not in nets:
            raise FaceganError(f"{config['model']} has no discriminator to rank by")
    except FaceganError as error:
        raise fail(str(error))
    z, labels, images = sampling.new_samples(nets["generator"], config, n, seed, mean, std, label)
    record = {"run": str(run), "model": config["model"], "n": n, "seed": seed, "checkpoint": "best" if best else "final"}
    saved = {"z": z, "labels": labels}
    if rank:
        score = sampling.scores(nets["discriminator"], images, labels, classes)
        order = np.argsort(-score, kind="stable")[:keep_top or n]
        z, labels, images, score = z[order], labels[order], images[order], score[order]
        saved.update(z=z, labels=labels, scores=score, drawn_index=order)
        record.update(kept=len(order), best_score=float(score[0]), worst_kept_score=float(score[-1]))
    folder = out_dir or next_numbered(run / "samples", "sample")
    pictures = imaging.to_uint8(images)
    for i, picture in enumerate(pictures):
        imaging.write_png(folder / f"{i:04d}.png", picture)
    if grid:
        imaging.write_png(folder / "grid.png", imaging.grid(pictures, 8))
    if interpolate is not None:
        lines = sampling.interpolate(z, interpolate)  # (pairs, steps, latent)
        pair_labels = np.repeat(labels[0:len(z) - 1:2], interpolate)
        frames = imaging.to_uint8(sampling.generate(nets["generator"], lines.reshape(-1, z.shape[1]), pair_labels,
                                                    classes)).reshape(len(lines), interpolate, *pictures.shape[1:])
        imaging.write_png(folder / "interpolation.png", imaging.grid(frames.reshape(-1, *pictures.shape[1:]), interpolate))
        imaging.write_gif(folder / "interpolation.gif", [imaging.grid(frames[:, t], 8) for t in range(interpolate)],
                          seconds_per_frame=0.2)
    rundir.write_npz(folder / "samples.npz", images=pictures, mean=mean, std=std, seed=seed, **saved)
    record["folder"] = str(folder)
    if as_json:
        print(json.dumps(record, indent=2))
    else:
        err.print(f"{len(pictures)} images of {config['model']} -> {folder}", highlight=False)
        out.print(str(folder))


def next_numbered(parent: Path, prefix: str) -> Path:
    """parent/prefix-NNN with the next free number."""
    taken = [int(p.name.rsplit("-", 1)[1]) for p in parent.glob(f"{prefix}-*") if p.name.rsplit("-", 1)[1].isdigit()]
    return parent / f"{prefix}-{max(taken, default=0) + 1:03d}"


@app.command()
def nearest(
    run: Annotated[Optional[Path], typer.Argument(help="Run directory (default: the newest under ./runs).")] = None,
    l1: Annotated[bool, typer.Option("--l1/--l2", help="Mean absolute (L1, default) or mean squared (L2) pixel difference.")] = True,
    n: Annotated[int, typer.Option("-n", "--n", help="New samples to check (ignored with --samples).")] = 15,
    data: Annotated[Optional[str], typer.Option(help="Training data (default: the run's own).")] = None,
    samples: Annotated[Optional[Path], typer.Option(help="A samples.npz (from `facegan sample`) to check instead of new samples.")] = None,
    calibration: Annotated[int, typer.Option(help="Held-out real images (at most 10% of the data) measured against the rest.")] = 100,
    fail_above: Annotated[Optional[float], typer.Option(help="Exit with code 1 when the copy rate is above RATE.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the new samples and of the held-out split.")] = 0,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Output folder (default RUN/nearest).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
):
    """The memorization check: the exact nearest training image of each generated image.

    Compares with every training image, at the model's resolution and value range. A random 10%
    of the real images (at most --calibration) measured against the other 90% calibrates what
    "near" means; the copy rate is the share of samples nearer to a training image than the 1st
    percentile of those real-to-real distances.

    Examples:
      facegan nearest
      facegan nearest runs/002-dcgan --l2 -n 32
      facegan nearest runs/002-dcgan --samples runs/002-dcgan/samples/sample-001/samples.npz --fail-above 0.05
    """
    from facegan import imaging, rundir
    from facegan.analysis import nearest as search
    from facegan.data import load_faces

    metric = "l1" if l1 else "l2"
    try:
        run = rundir.resolve_run(run)
        config = rundir.read_config(run)["config"]
        faces = load_faces(data or config["data"], config["image_size"], config["channels"])
        if len(faces.images) < 2 or n < 1 or calibration < 1:
            raise FaceganError("nearest needs at least 2 training images, -n >= 1 and --calibration >= 1")
        if samples is not None:
            generated = load_sample_images(samples, faces.images.shape[1:])
        else:
            import_tensorflow()
            from facegan.analysis import sample as sampling

            _, _, images = sampling.new_samples(sampling.load_networks(run)["generator"], config, n, seed)
            generated = imaging.to_uint8(images)
    except FaceganError as error:
        raise fail(str(error))
    index, distance = search.nearest(generated, faces.images, metric)
    held, rest = search.split_held_out(len(faces.images), 0.1, seed)
    held = held[:calibration]
    _, held_distance = search.nearest(faces.images[held], faces.images[rest], metric)
    summary = {**search.memorization(distance, held_distance),
               "settings": {"metric": metric, "n": len(generated), "train_images": len(faces.images),
                            "held_out_images": len(held), "held_out_seed": seed,
                            "samples": str(samples) if samples else f"new, seed {seed}"}}
    folder = out_dir or run / "nearest"
    imaging.write_png(folder / "nearest.png", imaging.grid(np.concatenate([generated, faces.images[index]]),
                                                           len(generated)))
    rundir.write_bytes(folder / "nearest.csv", ("sample,train,distance\n" + "".join(
        f"{i},{faces.names[j]},{d:.6g}\n" for i, (j, d) in enumerate(zip(index, distance)))).encode())
    rundir.write_json(folder / "nearest.json", summary)
    if out_dir is None:
        rundir.write_json(run / "nearest.json", summary)  # where `facegan compare` finds it
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        out.print(f"{len(generated)} samples vs {len(faces.images)} training images ({metric}): "
                  f"copy rate {summary['copy_rate']:.1%} (nearer than {summary['copy_threshold']:.4g}, the 1st "
                  f"percentile of {len(held)} held-out real images); median distance {summary['sample_distance']['median']:.4g} "
                  f"vs real {summary['held_out_distance']['median']:.4g} -> {folder}", highlight=False)
    if fail_above is not None and summary["copy_rate"] > fail_above:
        err.print(f"copy rate {summary['copy_rate']:.1%} is above {fail_above:.1%}", highlight=False)
        raise typer.Exit(1)


def load_sample_images(path: Path, shape: tuple) -> np.ndarray:
    """The uint8 images of a samples.npz, checked against the training images' (H, W, C)."""
    try:
        images = np.load(path)["images"]
    except (OSError, KeyError, ValueError) as error:
        raise FaceganError(f"cannot read images from {path}: {error}") from None
    if images.dtype != np.uint8 or images.shape[1:] != tuple(shape):
        raise FaceganError(f"{path}: images of shape {images.shape[1:]} ({images.dtype}); this run's are {tuple(shape)} uint8")
    return images


@app.command()
def arithmetic(
    run: Annotated[Optional[Path], typer.Argument(help="Run directory (default: the newest under ./runs).")] = None,
    plus: Annotated[Optional[list[str]], typer.Option(help="A term to add: samples.npz:3,7 | attribute query 'Smiling,~Male' | folder, file or glob.")] = None,
    minus: Annotated[Optional[list[str]], typer.Option(help="A term to subtract (same forms as --plus).")] = None,
    n_per_term: Annotated[int, typer.Option(help="Faces averaged per term (at most).")] = 8,
    projection_steps: Annotated[int, typer.Option(help="Optimization steps when a model has no encoder.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed for choosing faces and starting projections.")] = 0,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Output folder (default RUN/arithmetic).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the details as JSON.")] = False,
):
    """Latent arithmetic: decode the signed sum of each term's average latent.

    Rows of arithmetic.png: each term's members, then its average latent decoded in the last
    column (the --plus terms first, then the --minus terms); the last row holds the result.

    Examples:
      facegan arithmetic runs/003-aegan-v5 --plus "Smiling,~Male" --minus "~Smiling,~Male" --plus "~Smiling,Male"
      facegan arithmetic runs/002-dcgan --plus samples.npz:3,7,12 --minus samples.npz:1,4 --plus samples.npz:9
    """
    from facegan import imaging, rundir
    from facegan.analysis import terms as term_specs
    from facegan.data import load_faces

    try:
        run = rundir.resolve_run(run)
        config = rundir.read_config(run)["config"]
        if config["num_classes"]:
            raise FaceganError(f"{config['model']} is conditional; arithmetic works on unconditional models")
        if not plus and not minus:
            raise FaceganError("give at least one --plus or --minus term")
        if n_per_term < 1 or projection_steps < 1:
            raise FaceganError("--n-per-term and --projection-steps must be positive")
        data = lambda: load_faces(config["data"], config["image_size"], config["channels"])  # noqa: E731
        signed = [(sign, term_specs.resolve(spec, n_per_term, config["image_size"], config["channels"], data, seed))
                  for sign, specs in ((1, plus or []), (-1, minus or [])) for spec in specs]
        import_tensorflow()
        from facegan.analysis import arithmetic as latent
        from facegan.analysis import sample as sampling

        nets = sampling.load_networks(run)
    except FaceganError as error:
        raise fail(str(error))
    generator, report, latents = nets["generator"], [], []
    for sign, term in signed:
        x = term.images.astype(np.float32) / 127.5 - 1.0
        if term.latents is not None:
            z, source = term.latents, "saved"
        elif "encoder" in nets:
            z, source = latent.encode(nets["encoder"], x), "encoder"
        else:
            z, source = latent.project(generator, x, config["latent_dim"], projection_steps, seed), "projection"
        latents.append(z)
        report.append({"term": term.spec, "sign": sign, "members": len(z), "latent_from": source,
                       "reconstruction_mse": latent.reconstruction_mse(generator, z, x)})
    means = np.stack([z.mean(0) for z in latents])
    result = sum(sign * mean for (sign, _), mean in zip(signed, means))
    decoded = imaging.to_uint8(np.asarray(generator(np.concatenate([means, result[None]]), training=False)))
    columns = max(len(z) for z in latents) + 1
    blank = np.full_like(decoded[0], 255)
    tiles = []
    for (_, term), mean_image in zip(signed, decoded):
        members = list(term.images) + [blank] * (columns - 1 - len(term.images))
        tiles += members + [mean_image]
    tiles += [blank] * (columns - 1) + [decoded[-1]]
    folder = out_dir or run / "arithmetic"
    imaging.write_png(folder / "arithmetic.png", imaging.grid(np.stack(tiles), columns))
    rundir.write_npz(folder / "arithmetic.npz", signs=np.array([s for s, _ in signed]),
                     terms=np.array([t.spec for _, t in signed]), means=means, result=result,
                     result_image=decoded[-1], **{f"term_{i}_latents": z for i, z in enumerate(latents)})
    details = {"terms": report, "folder": str(folder)}
    if as_json:
        print(json.dumps(details, indent=2))
    else:
        for item in report:
            out.print(f"{'+' if item['sign'] > 0 else '-'} {item['term']}: {item['members']} faces, latents from "
                      f"{item['latent_from']}, reconstruction MSE {item['reconstruction_mse']:.4g}", highlight=False)
        out.print(f"-> {folder / 'arithmetic.png'}", highlight=False)
