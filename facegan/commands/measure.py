"""`facegan eval`, `blur`, `nearest` and `compare`: figures of runs and images."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from facegan.commands import RUN_HELP, err, import_tensorflow, out, say, user_errors
from facegan.errors import FaceganError


def evaluate(
    run: Annotated[Optional[Path], typer.Argument(help=RUN_HELP)] = None,
    n: Annotated[int, typer.Option(
        "-n", "--n", help="Images per set: generated, real reference, real noise floor.")] = 2048,
    data: Annotated[Optional[str], typer.Option(
        help="Real images to measure against (default: the run's training data).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the real sets, latents, patches and projections.")] = 0,
    best: Annotated[bool, typer.Option(
        "--best", help="Evaluate the checkpoint of the run's best evaluation during training.")] = False,
    metric: Annotated[str, typer.Option(
        help="Figures besides SWD, comma-separated: swd, kid, fid. KID and FID use InceptionV3's ImageNet "
             "weights, which Keras fetches once into ~/.keras/models/.")] = "swd",
    inception_weights: Annotated[Optional[Path], typer.Option(
        help="A local copy of InceptionV3's weights (inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5) "
             "for KID and FID.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
):
    """Sample quality by measure: the sliced Wasserstein distance (SWD) between generated and real images.

    As in the progressive-GAN paper: per level of a Laplacian pyramid (the model's resolution down
    to 16x16), 128 7x7 patches per image, 512 random projections, x1e3; lower is better. The same
    figure between two disjoint real sets is the noise floor, what a perfect model scores. Also the
    blur factor of samples and data, and the copy rate of `facegan nearest` when it has run.
    Autoencoders (AE-GAN, VAE) are measured on reconstructions of real images. The figures go to
    RUN/eval.json, where `facegan compare` finds them.

    --metric kid,fid adds the figures GAN papers report, on InceptionV3 pool features: KID (unbiased,
    x1e3, with its standard deviation over 100 subsets) and FID. They come from Keras's InceptionV3, not
    the TF1 graph of the papers, so compare them with each other, not with published figures.

    Examples:
      facegan eval
      facegan eval runs/003-dcgan --n 512 --seed 1
      facegan eval runs/003-dcgan --best --json
      facegan eval runs/003-dcgan --metric swd,kid,fid --inception-weights ~/models/inception_v3_notop.h5
    """
    from facegan import rundir

    with user_errors():
        run = rundir.resolve_run(run)
        import_tensorflow()
        from facegan.analysis.evaluate import evaluate_run

        with err.status(f"measuring {run}"):
            result = evaluate_run(run, n, data, seed, best, tuple(name.strip() for name in metric.split(",")),
                                  inception_weights)
    settings = result["settings"]
    if settings["images"] < n:
        say(f"the data is too small for two real sets of {n}: two sets of {settings['images']}")
    if as_json:
        print(json.dumps(result, indent=2))
        return
    table = Table(box=box.SIMPLE_HEAD, caption=f"{settings['images']} images per set, {settings['projections']} "
                  f"projections, seed {seed}; {settings['generated']} of {run}", caption_justify="left")
    for header in ("figure", settings["generated"], "real vs real"):
        table.add_column(header, justify="left" if header == "figure" else "right")
    for level in settings["levels"]:
        table.add_row(f"SWD x1e3, {level}x{level}", f"{result[f'swd_{level}']:.2f}",
                      f"{result[f'swd_real_{level}']:.2f}")
    table.add_row("SWD x1e3, mean", f"{result['swd']:.2f}", f"{result['swd_real']:.2f}", style="bold")
    if "kid" in result:
        table.add_row("KID x1e3", f"{1e3 * result['kid']:.2f} ± {1e3 * result['kid_std']:.2f}",
                      f"{1e3 * result['kid_real']:.2f} ± {1e3 * result['kid_real_std']:.2f}")
        table.add_row("FID", f"{result['fid']:.2f}", f"{result['fid_real']:.2f}")
    table.add_row("blur factor", f"{result['blur']:.1f}", f"{result['blur_real']:.1f}")
    table.add_row("copy rate", "-" if result["copy_rate"] is None else f"{result['copy_rate']:.1%}", "")
    out.print(table)


def blur(
    paths: Annotated[list[Path], typer.Argument(help="Run directories, image folders or image files.")],
    per_image: Annotated[bool, typer.Option("--per-image", help="Print CSV: image, blur factor.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the details as JSON.")] = False,
    data: Annotated[bool, typer.Option(
        "--data", help="For a run: also the training data's blur at the run's resolution.")] = False,
    generate: Annotated[Optional[int], typer.Option(
        help="For a run: score N fresh samples of its generator instead of its grid.")] = None,
):
    """Blur factor (variance of the Laplacian, as OpenCV computes it) of images; lower is blurrier.

    Prints the mean alone on stdout, for scripts. For a run directory it scores the tiles of the
    newest sample grid (for autoencoders, the reconstructions) and stores the figure in blur.json.

    Examples:
      facegan blur runs/003-aegan-v4
      facegan blur runs/003-aegan-v4 --data --json
      facegan blur runs/003-aegan-v4 --generate 256
      facegan blur ~/data/celeba/img_align_celeba --per-image > blur.csv
    """
    from facegan.analysis.blur import measure_paths

    with user_errors(ValueError, OSError):
        if generate:
            import_tensorflow()
        result = measure_paths(paths, data, generate)
    for run, record in result.get("runs", {}).items():
        if "dataset_raw" in record:
            say(f"{run}: dataset raw {record['dataset_raw']:.2f}")
    if as_json:
        print(json.dumps(result, indent=2))
    elif per_image:
        print("image,blur")
        for name, score in result["per_image"].items():
            print(f"{name},{score:.6f}")
    else:
        print(f"{result['blur']:.6f}")


def nearest(
    run: Annotated[Optional[Path], typer.Argument(help=RUN_HELP)] = None,
    l1: Annotated[bool, typer.Option(
        "--l1/--l2", help="Mean absolute (L1, default) or mean squared (L2) pixel difference.")] = True,
    n: Annotated[int, typer.Option("-n", "--n", help="New samples to check (ignored with --samples).")] = 15,
    data: Annotated[Optional[str], typer.Option(help="Training data (default: the run's own).")] = None,
    samples: Annotated[Optional[Path], typer.Option(
        help="A samples.npz (from `facegan sample`) to check instead of new samples.")] = None,
    calibration: Annotated[int, typer.Option(
        help="Held-out real images (at most 10% of the data) measured against the rest.")] = 100,
    fail_above: Annotated[Optional[float], typer.Option(
        help="Exit with code 1 when the copy rate is above RATE.")] = None,
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
    from facegan import rundir
    from facegan.analysis.nearest import check_run

    metric = "l1" if l1 else "l2"
    with user_errors():
        run = rundir.resolve_run(run)
        if samples is None:
            import_tensorflow()
        summary = check_run(run, metric, n, data, samples, calibration, seed, out_dir)
    if as_json:
        print(json.dumps({k: v for k, v in summary.items() if k != "folder"}, indent=2))
    else:
        settings = summary["settings"]
        out.print(f"{settings['n']} samples vs {settings['train_images']} training images ({metric}): copy rate "
                  f"{summary['copy_rate']:.1%} (nearer than {summary['copy_threshold']:.4g}, the 1st percentile of "
                  f"{settings['held_out_images']} held-out real images); median distance "
                  f"{summary['sample_distance']['median']:.4g} vs real {summary['held_out_distance']['median']:.4g} "
                  f"-> {summary['folder']}", highlight=False)
    if fail_above is not None and summary["copy_rate"] > fail_above:
        say(f"copy rate {summary['copy_rate']:.1%} is above {fail_above:.1%}")
        raise typer.Exit(1)


class Format(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


def compare(
    runs: Annotated[Optional[list[Path]], typer.Argument(
        help="Run directories (default: every run under ./runs).")] = None,
    format: Annotated[Format, typer.Option(help="Output format.")] = Format.table,
    sort: Annotated[Optional[str], typer.Option(help="Order the runs by this figure, e.g. blur or g_loss.")] = None,
    transpose: Annotated[bool, typer.Option("--transpose", help="One row per run instead of one column.")] = False,
    plot: Annotated[Optional[str], typer.Option(
        help="Draw this figure of epochs.csv (swd, g_loss, diversity, ...) of the runs over epochs into "
             "compare_FIGURE.png, instead of the table.")] = None,
):
    """Compare runs in the metrics table of the original experiments (reads files only).

    A figure never computed shows as a dash. Run `facegan blur RUN --data` first to fill the
    blur rows.

    Examples:
      facegan compare
      facegan compare runs/001-aegan-v1 runs/002-aegan-v4 --format markdown
      facegan compare --sort blur --transpose --format csv > table.csv
      facegan compare runs/001-dcgan runs/002-dcgan --plot swd
    """
    from facegan import files, rundir
    from facegan.analysis import compare as comparison

    with user_errors():
        run_paths = [rundir.require_run_dir(r) for r in runs] if runs else rundir.run_dirs()
        if not run_paths:
            raise FaceganError("no run to compare: give run directories or train one under ./runs")
        if plot is not None:
            from facegan.curves import plot_runs

            out.print(plot_runs(run_paths, plot, Path(f"compare_{plot}.png")))
            return
        keys, columns = comparison.table(run_paths, sort)
        differ = comparison.not_comparable(run_paths, keys)
    if format is Format.json:
        print(json.dumps({"runs": columns, "not_comparable": differ}, indent=2))
        return
    for settings in sorted({", ".join(names) for names in differ.values()}):
        err.print(f"[yellow]not comparable:[/yellow] SWD figures computed with different {settings}", highlight=False)
    rows = comparison.cells(keys, columns, transpose, differ)
    if format is Format.markdown:
        print(comparison.markdown(rows))
    elif format is Format.csv:
        print(files.csv_text(rows), end="")
    else:
        table = Table(box=box.SIMPLE_HEAD)  # cells are Text: "[not comparable]" is no Rich markup
        for header in rows[0]:
            table.add_column(Text(header), overflow="fold")
        for row in rows[1:]:
            table.add_row(*map(Text, row))
        out.print(table)
