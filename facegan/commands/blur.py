"""`facegan blur`: the blur factor of runs, image folders or image files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from facegan.commands import import_tensorflow, say, user_errors, warn
from facegan.errors import FaceganError


def blur(
    paths: Annotated[list[Path], typer.Argument(help="Run directories, image folders or image files.")],
    per_image: Annotated[bool, typer.Option("--per-image", help="Print CSV: image, blur factor.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the details as JSON.")] = False,
    training_data: Annotated[bool, typer.Option(
        "--training-data", help="For a run: also the blur of its training images at the run's resolution.")]
        = False,
    data_alias: Annotated[bool, typer.Option("--data", hidden=True)] = False,  # the flag's earlier name
    generate: Annotated[Optional[int], typer.Option(
        help="For a run: score N fresh samples of its generator instead of its grid.")] = None,
    epoch: Annotated[Optional[int], typer.Option(
        "--epoch", metavar="E", help="For a run: the grid of epoch E, or with --generate the generator train "
                                     "--keep-every kept at its end.")] = None,
):
    """Blur factor (variance of the Laplacian, as OpenCV computes it) of images; lower is blurrier.

    One path prints its mean alone on stdout; several print one line per path, PATH<TAB>MEAN, in the order
    given, for scripts. A run directory is scored on the tiles of its newest sample grid (for autoencoders,
    the reconstructions), and the figure is stored in its blur.json. A file named twice counts once; files
    that cannot be read are skipped and counted on stderr.

    Examples:
      facegan blur runs/003-aegan-v4
      facegan blur runs/* | sort -k2 -g
      facegan blur runs/003-aegan-v4 --training-data --json
      facegan blur runs/003-aegan-v4 --generate 256
      facegan blur runs/003-aegan-v4 --epoch 40
      facegan blur ~/data/celeba/img_align_celeba --per-image > blur.csv
    """
    from facegan.analysis.blur import measure_paths

    with user_errors(ValueError):
        if per_image and as_json:
            raise FaceganError("--per-image prints CSV and --json JSON: give one of them")
        if generate:
            import_tensorflow()
        result = measure_paths(paths, training_data or data_alias, generate, epoch)
    if result["unreadable"]:
        warn(f"{len(result['unreadable'])} unreadable files skipped (the first: {result['unreadable'][0]})")
    for run, record in result.get("runs", {}).items():
        if "dataset_raw" in record:
            say(f"{run}: dataset raw {record['dataset_raw']:.2f}")
    if as_json:
        print(json.dumps(result, indent=2))
    elif per_image:
        print("image,blur")
        for name, score in result["per_image"].items():
            print(f"{name},{score:.6f}")
    elif len(result["paths"]) == 1:
        print(f"{result['blur']:.6f}")
    else:
        for path, record in result["paths"].items():
            print(f"{path}\t{float('nan') if record['blur'] is None else record['blur']:.6f}")
