"""`facegan walk`: a video of a walk through a generator's latent space."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from facegan.commands import EPOCH, GENERATOR_HELP, choices, import_tensorflow, out, plain, say, user_errors
from facegan.imaging import VIDEO_FORMATS, VIDEO_INSTALL

VideoFormat = choices("VideoFormat", VIDEO_FORMATS)


def walk(
    run: Annotated[Optional[Path], typer.Argument(help=GENERATOR_HELP)] = None,
    seeds: Annotated[Optional[str], typer.Option(
        help="The keyframes' seeds, such as 1,5,9 or 0-15 (sample's faces of those seeds), cell after cell "
             "of the --cells.", show_default=False)] = None,
    source: Annotated[Optional[Path], typer.Option(
        "--from", help="Keyframes from the latents of a samples.npz (facegan sample's) or a projected.npz "
        "(facegan project's), in its order.",
        show_default=False)] = None,
    cells: Annotated[str, typer.Option(
        help="Walks side by side, COLUMNSxROWS; the keyframes are shared out in order, the same number to each.")]
        = "1x1",
    grid: Annotated[Optional[str], typer.Option(hidden=True)] = None,  # --cells's earlier name
    steps: Annotated[int, typer.Option(help="Frames from one keyframe to the next.")] = 24,
    fps: Annotated[float, typer.Option(help="Frames per second of the video.")] = 12.0,
    trunc: Annotated[float, typer.Option(
        help="Truncation: every latent pulled toward the prior's mean by this factor (as sample --trunc).")] = 1.0,
    label: Annotated[Optional[int], typer.Option(
        help="Class of every walk (conditional models). \\[default: the cells' classes in turn]",
        show_default=False)] = None,
    video_format: Annotated[VideoFormat, typer.Option(
        "--format", help=f"mp4 needs FFmpeg: {VIDEO_INSTALL}.")] = "gif",
    frames: Annotated[bool, typer.Option("--frames", help="Also write every frame as a PNG file.")] = False,
    best: Annotated[bool, typer.Option(
        "--best", help="Use the checkpoint of the run's best evaluation (checkpoints/best).")] = False,
    epoch: EPOCH = None,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out", help="Output folder. \\[default: RUN/samples/walk-NNN]", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the details as JSON.")] = False,
):
    """Walk the latent space: a looping video from keyframe to keyframe along great circles (spherical
    interpolation, the path between Gaussian latents that keeps them typical), several walks side by side.

    The keyframes are the latents of seeds, the same faces `facegan sample --seeds` draws, or those of a
    samples.npz. Writes walk.gif (or walk.mp4), walk.npz with every frame's latent, and with --frames the
    frames as PNG files.

    Examples:
      facegan walk runs/001-fastgan --seeds 1,5,9
      facegan walk runs/001-fastgan --seeds 0-23 --cells 4x2 --steps 30 --format mp4
      facegan walk runs/001-fastgan --from samples.npz --frames
    """
    from facegan import rundir

    with user_errors():
        import_tensorflow()  # first: the options are parsed by facegan.analysis, which imports it
        cells = cells if grid is None else grid
        options = walk_options(seeds, source, cells, steps, fps, trunc, label, video_format, frames, best, epoch)
        run = rundir.resolve_generator_source(run)
        from facegan.analysis.walk import write_walk

        record = write_walk(run, options, out_dir)
    if as_json:
        print(json.dumps(record, indent=2))
    else:
        say(f"{record['frames']} frames ({record['seconds']:.1f} s) of {record['model']}, grid {record['grid']}, "
            f"keyframes {record['keyframes']} -> {record['video']}")
        out.print(record["video"])


def walk_options(seeds, source, cells, steps, fps, trunc, label, video_format, frames, best, epoch):
    from facegan.analysis.sample import parse_seeds
    from facegan.analysis.walk import WalkOptions
    from facegan.errors import FaceganError

    if (seeds is None) == (source is None):
        raise FaceganError("give the keyframes by --seeds or --from (one of them)")
    try:
        columns, rows = (int(side) for side in cells.lower().split("x"))
    except ValueError:
        raise FaceganError(f"--cells takes COLUMNSxROWS, such as 4x2; got {cells!r}") from None
    return WalkOptions(seeds=parse_seeds(seeds) if seeds is not None else (), source=source, grid=(columns, rows),
                       steps=steps, trunc=trunc, label=label, fps=fps, format=plain(video_format), frames=frames,
                       best=best, epoch=epoch)
