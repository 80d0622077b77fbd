"""`facegan export`: a run's generator as a SavedModel or a .keras file, served without facegan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from facegan.commands import EPOCH, RUN_HELP, choices, import_tensorflow, out, user_errors

Format = choices("Format", ("saved_model", "keras"))


def export(
    run: Annotated[Optional[Path], typer.Argument(help=RUN_HELP)] = None,
    format: Annotated[Format, typer.Option(help="saved_model (TensorFlow serving) or keras (a .keras file).")] =
        Format.saved_model,
    best: Annotated[bool, typer.Option(
        "--best", help="Export the checkpoint of the run's best evaluation (checkpoints/best).")] = False,
    epoch: EPOCH = None,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out", help="Where to write it. \\[default: RUN/export/saved_model or RUN/export/generator.keras]")] = None,
):
    """Export a run's generator: a SavedModel that serves latents -> uint8 images without facegan, or a
    .keras file that sample and arithmetic take in place of the run.

    Examples:
      facegan export runs/002-dcgan
      facegan export runs/002-dcgan --best --format keras --out dcgan.keras
    """
    from facegan import rundir

    with user_errors():
        run = rundir.resolve_run(run)
        import_tensorflow()
        from facegan.export import export_generator

        path = export_generator(run, format.value, best, out_dir, epoch)
    out.print(str(path))
