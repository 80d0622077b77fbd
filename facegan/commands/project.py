"""`facegan project`: the latent that makes a run's generator draw each photo, and the memorization test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from facegan.commands import EPOCH, INCEPTION_WEIGHTS, CountProgress, err, import_tensorflow, out, say, user_errors


def project(
    run: Annotated[Path, typer.Argument(help="Run directory, or a generator .keras file.", show_default=False)],
    photos: Annotated[Optional[list[str]], typer.Argument(
        help="Image files, folders or a data source (a .npz, a CelebA folder, lfw), fitted to the model's size as "
             "train fits its data.", show_default=False)] = None,
    n: Annotated[Optional[int], typer.Option(
        "-n", "--num", help="Project at most N of the photos. \\[default: all]", show_default=False)] = None,
    steps: Annotated[int, typer.Option(help="Optimization steps per photo (and a fifth more to pick its start).")]
        = 100,
    starts: Annotated[int, typer.Option(
        help="Random starts per photo (seeds --seed to --seed + STARTS - 1), besides the encoder's code where the "
             "model has an encoder; the best after a short pixel-only screening is refined.")] = 8,
    seed: Annotated[int, typer.Option(help="The first start's seed (and the memorization test's choice of faces).")]
        = 0,
    perceptual: Annotated[float, typer.Option(
        help="Weight of the perceptual distance (FID Inception features) beside the pixel L1 distance; 0 for "
             "pixels alone.")] = 3.0,
    gif: Annotated[bool, typer.Option("--gif", help="Also write projection.gif, the optimization as it went.")]
        = False,
    memorization: Annotated[Optional[int], typer.Option(
        help="Instead of photos: project N training faces and N faces the run never saw, and say whether the "
             "model reproduces its training faces better (the memorization test).", show_default=False)] = None,
    best: Annotated[bool, typer.Option(
        "--best", help="Use the checkpoint of the run's best evaluation (checkpoints/best).")] = False,
    epoch: EPOCH = None,
    inception_weights: INCEPTION_WEIGHTS = None,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out", help="Output folder. \\[default: RUN/samples/project-NNN, or memorization-NNN]")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the details as JSON.")] = False,
):
    """Find the latent that makes the generator draw each photo (projection).

    Adam moves a latent per photo to minimize the pixel L1 distance plus a perceptual distance on the FID
    Inception's features, from several starts. Writes projected.npz (latents, projections, distances), which
    sample --from, arithmetic and walk --from read, and projected.png: each photo beside its projection.

    With --memorization N: the projections of N training faces against N faces the run never saw (CelebA's
    valid split for a run trained on --split train, or the images a --max-images subset left out). A model that
    memorized its faces reproduces them far better; the verdict compares the two, calibrated on random
    relabelings of the same faces.

    Examples:
      facegan project runs/001-fastgan me.jpg friend.jpg --gif
      facegan project runs/003-aegan-v5 photos/ -n 16 --steps 200
      facegan project runs/001-fastgan --memorization 16
    """
    from facegan.errors import FaceganError

    with user_errors():
        if (memorization is None) == (not photos):
            raise FaceganError("give the photos to project, or --memorization N (one of them)")
        if steps < 1 or starts < 0 or perceptual < 0 or (n is not None and n < 1):
            raise FaceganError("--steps and -n must be positive, --starts and --perceptual at least 0")
        from facegan import rundir

        run = rundir.resolve_generator_source(run)
        import_tensorflow()
        from facegan.analysis.project import memorization_test, project_photos
        from facegan.analysis.projector import ProjectOptions

        options = ProjectOptions(steps=steps, starts=starts, seed=seed, perceptual=perceptual,
                                 snapshots=24 if gif else 0)
        progress = CountProgress("projecting", err, ("steps", "steps"))
        if memorization is not None:
            record = memorization_test(run, memorization, options, gif, out_dir, best, epoch, inception_weights,
                                       progress)
        else:
            record = project_photos(run, photos, options, n, gif, out_dir, best, epoch, inception_weights, progress)
    if as_json:
        print(json.dumps(record, indent=2))
    elif memorization is not None:
        test, settings = record["l1"], record["settings"]
        say(f"{record['faces_each']} training and {record['faces_each']} unseen faces ({settings['unseen_from']}): "
            f"median L1 {record['trained']['l1']['median']:.4g} vs {record['unseen']['l1']['median']:.4g}, "
            f"Inception {record['trained']['inception']['median']:.4g} vs "
            f"{record['unseen']['inception']['median']:.4g}")
        verdict = "memorized" if record["memorized"] else "no sign of memorization"
        out.print(f"{verdict}: training faces projected nearer in {test['nearer_share']:.0%} of pairs (threshold "
                  f"{test['threshold']:.0%}, p = {test['p_value']:.2g}) -> {record['folder']}", highlight=False)
    else:
        say(f"{record['photos']} photos projected by {record['model']}: median L1 {record['l1']['median']:.4g}, "
            f"Inception distance {record['inception']['median']:.4g}")
        out.print(record["folder"])
