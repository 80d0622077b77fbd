"""`facegan nearest`: the training image nearest to each sample, and the copy rate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from facegan.commands import (
    EPOCH,
    INCEPTION_WEIGHTS,
    N_ALIAS,
    RUN_HELP,
    choices,
    import_tensorflow,
    out,
    plain,
    say,
    user_errors,
)

Space = choices("Space", ("pixels", "inception"))


def nearest(
    run: Annotated[Optional[Path], typer.Argument(help=RUN_HELP)] = None,
    l1: Annotated[bool, typer.Option(
        "--l1/--l2", help="Mean absolute (L1, default) or mean squared (L2) pixel difference.")] = True,
    space: Annotated[Space, typer.Option(
        help="Compare pixels, or FID Inception features (Euclidean), which a shift of a few pixels does not fool; "
             "both calibrated alike.")] = "pixels",
    n: Annotated[int, typer.Option("-n", "--num", help="New samples to check (ignored with --samples); 15 fill one "
                                   "row of nearest.png, a few hundred give a copy rate to a percent or so.")] = 15,
    n_alias: N_ALIAS = None,
    data: Annotated[Optional[str], typer.Option(help="Training data. \\[default: the run's own]")] = None,
    samples: Annotated[Optional[Path], typer.Option(
        help="A samples.npz (from `facegan sample`) to check instead of new samples.")] = None,
    calibration: Annotated[int, typer.Option(
        help="Real images the run never saw (or 10% of its data) measured against its training images.")] = 100,
    fail_above: Annotated[Optional[float], typer.Option(
        help="Exit with code 1 when the copy rate is above RATE.")] = None,
    seed: Annotated[int, typer.Option(
        help="Seed of the held-out split, and the first new sample's: sample i is `facegan sample --seeds SEED+i`'s "
             "image.")] = 0,
    epoch: EPOCH = None,
    inception_weights: INCEPTION_WEIGHTS = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Output folder. \\[default: RUN/nearest]")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
):
    """The memorization check: the exact nearest training image of each generated image.

    Compares with every training image as the run saw it, at the model's resolution, mirror images
    included for a run trained with --flip: pixel by pixel, or with --space inception in the FID
    Inception's feature space. Real faces the run never saw (CelebA's valid split for a run on
    --split train, the images a --max-images subset left out; otherwise a random 10% of the
    training images, against the other 90%), at most --calibration of them, calibrate what "near"
    means: the copy rate is the share of samples nearer to a training image than the 1st
    percentile of those real-to-training distances.

    Examples:
      facegan nearest
      facegan nearest runs/002-dcgan --l2 -n 32
      facegan nearest runs/001-fastgan --space inception -n 256
      facegan nearest runs/002-dcgan --samples samples.npz --fail-above 0.05
    """
    n = n if n_alias is None else n_alias
    from facegan import rundir
    from facegan.analysis.nearest import check_run
    from facegan.errors import FaceganError

    metric = ("l1" if l1 else "l2") if plain(space) == "pixels" else "inception"
    with user_errors():
        if metric == "inception" and not l1:
            raise FaceganError("--l2 is a pixel distance; --space inception measures the Euclidean distance of "
                               "features")
        run = rundir.resolve_run(run)
        if samples is None or metric == "inception":
            import_tensorflow()
        summary = check_run(run, metric, n, data, samples, calibration, seed, out_dir, epoch, inception_weights)
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
