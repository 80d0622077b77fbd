"""`facegan blur`: the blur factor of runs, image folders or image files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from facegan.commands import import_tensorflow, say, user_errors


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
