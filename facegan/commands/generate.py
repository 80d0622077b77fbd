"""`facegan sample` and `facegan arithmetic`: new images from a run's generator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from facegan.commands import GENERATOR_HELP, RUN_HELP, import_tensorflow, out, say, user_errors


def sample(
    run: Annotated[Optional[Path], typer.Argument(help=GENERATOR_HELP)] = None,
    n: Annotated[int, typer.Option("-n", "--n", help="Images to generate.")] = 64,
    seed: Annotated[int, typer.Option(help="Seed of the latent vectors.")] = 0,
    grid: Annotated[bool, typer.Option("--grid/--no-grid", help="Also write all images as one grid.png.")] = True,
    rank: Annotated[bool, typer.Option(
        "--rank", help="Order by the discriminator's (critic's) score, best first.")] = False,
    keep_top: Annotated[Optional[int], typer.Option(help="Keep the K best of n (implies --rank).")] = None,
    interpolate: Annotated[Optional[int], typer.Option(
        help="Also walk the latent space in STEPS between pairs of samples.")] = None,
    label: Annotated[Optional[int], typer.Option(
        help="Class of every sample (conditional models; default: cycle the classes).")] = None,
    mean: Annotated[float, typer.Option(help="Mean of the latent prior (VAE experiments).")] = 0.0,
    std: Annotated[float, typer.Option(help="Standard deviation of the latent prior.")] = 1.0,
    best: Annotated[bool, typer.Option(
        "--best", help="Use the checkpoint of the run's best evaluation (checkpoints/best).")] = False,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out", help="Output folder (default RUN/samples/sample-NNN).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the details as JSON.")] = False,
):
    """Generate images from a run's generator; samples.npz keeps every latent so that each image can be made again.

    Examples:
      facegan sample
      facegan sample runs/002-dcgan -n 64 --rank --keep-top 16
      facegan sample runs/004-vae --interpolate 8 --std 0.5
    """
    from facegan import rundir

    with user_errors():
        run = rundir.resolve_generator_source(run)
        import_tensorflow()
        from facegan.analysis.sample import SampleOptions, write_samples

        options = SampleOptions(n=n, seed=seed, grid=grid, keep_top=keep_top, rank=rank, interpolate=interpolate,
                                label=label, mean=mean, std=std, best=best)
        record = write_samples(run, options, out_dir)
    if as_json:
        print(json.dumps(record, indent=2))
    else:
        say(f"{record.get('kept', n)} images of {record['model']} -> {record['folder']}")
        out.print(record["folder"])


def arithmetic(
    run: Annotated[Optional[Path], typer.Argument(help=GENERATOR_HELP)] = None,
    plus: Annotated[Optional[list[str]], typer.Option(
        help="A term to add: samples.npz:3,7 | attribute query 'Smiling,~Male' | folder, file or glob.")] = None,
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
    from facegan import rundir

    with user_errors():
        run = rundir.resolve_generator_source(run)
        import_tensorflow()
        from facegan.analysis.arithmetic import decode_signed_sum

        details = decode_signed_sum(run, plus or [], minus or [], n_per_term, projection_steps, seed, out_dir)
    if as_json:
        print(json.dumps(details, indent=2))
        return
    for term in details["terms"]:
        out.print(f"{'+' if term['sign'] > 0 else '-'} {term['term']}: {term['members']} faces, latents from "
                  f"{term['latent_from']}, reconstruction MSE {term['reconstruction_mse']:.4g}", highlight=False)
    out.print(f"-> {Path(details['folder']) / 'arithmetic.png'}", highlight=False)


def export(
    run: Annotated[Optional[Path], typer.Argument(help=RUN_HELP)] = None,
    format: Annotated[str, typer.Option(help="saved_model (TensorFlow serving) or keras (a .keras file).")] =
        "saved_model",
    best: Annotated[bool, typer.Option(
        "--best", help="Export the checkpoint of the run's best evaluation (checkpoints/best).")] = False,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out", help="Where to write it (default RUN/export/saved_model or RUN/export/generator.keras).")] = None,
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

        path = export_generator(run, format, best, out_dir)
    out.print(str(path))
