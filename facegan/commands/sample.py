"""`facegan sample`: images from a run's generator, ranked where asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from facegan.commands import EPOCH, GENERATOR_HELP, N_ALIAS, import_tensorflow, out, say, user_errors


def sample(
    run: Annotated[Optional[Path], typer.Argument(help=GENERATOR_HELP)] = None,
    n: Annotated[Optional[int], typer.Option(
        "-n", "--num", help="Images to generate: seeds --seed to --seed + n - 1. \\[default: 64, a grid of 8x8]",
        show_default=False)] = None,
    n_alias: N_ALIAS = None,
    seed: Annotated[Optional[int], typer.Option(
        help="The first image's seed; image i is drawn from seed --seed + i alone. \\[default: 0]",
        show_default=False)] = None,
    seeds: Annotated[Optional[str], typer.Option(
        help="The images' seeds, such as 3,7,40-49: each image is drawn from its own seed, the same image "
             "whatever else is drawn (instead of -n and --seed).", show_default=False)] = None,
    source: Annotated[Optional[Path], typer.Option(
        "--from", help="The latents (and classes) of a samples.npz or projected.npz instead of seeds, in its order.",
        show_default=False)] = None,
    grid: Annotated[bool, typer.Option("--grid/--no-grid", help="Also write all images as one grid.png.")] = True,
    rank: Annotated[bool, typer.Option(
        "--rank", help="Order by the discriminator's (critic's) score, best first.")] = False,
    keep_top: Annotated[Optional[int], typer.Option(help="Keep the K best of n (implies --rank).")] = None,
    interpolate: Annotated[Optional[int], typer.Option(
        help="Also walk the latent space in STEPS between pairs of samples.")] = None,
    label: Annotated[Optional[int], typer.Option(
        help="Class of every sample (conditional models). \\[default: the classes in turn]")] = None,
    mean: Annotated[str, typer.Option(
        help="Mean of the latent prior: a number for every dimension, or uniform:LOW,HIGH, each dimension's mean "
             "drawn from U(LOW, HIGH) by the first seed (the VAE notebook's last experiment: --mean uniform:-1,1 "
             "--std 0.2236, a variance of 0.05).")] = "0",
    std: Annotated[float, typer.Option(
        help="Standard deviation of the latent prior around --mean. The GANs were trained on N(0, 1) noise and "
             "the VAE has it as its prior: below 1 gives more typical, less varied faces. The AE-GANs' decoders "
             "learned their encoder's codes only, whatever their spread.")] = 1.0,
    trunc: Annotated[float, typer.Option(
        help="The truncation trick: each latent pulled toward the prior's mean, mean + TRUNC (z - mean), keeping "
             "each seed's face (StyleGAN's psi; 0.7 is common). facegan's generators have no mapping network, so "
             "this scales --std.")] = 1.0,
    best: Annotated[bool, typer.Option(
        "--best", help="Use the checkpoint of the run's best evaluation (checkpoints/best).")] = False,
    epoch: EPOCH = None,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out", help="Output folder. \\[default: RUN/samples/sample-NNN]")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the details as JSON.")] = False,
):
    """Generate images from a run's generator; samples.npz keeps every latent so that each image can be made again.

    Examples:
      facegan sample
      facegan sample runs/002-dcgan -n 64 --rank --keep-top 16
      facegan sample runs/001-fastgan --seeds 42,40-49 --trunc 0.7
      facegan sample runs/004-vae --interpolate 8 --std 0.5
      facegan sample runs/004-vae --mean uniform:-1,1 --std 0.2236
      facegan sample runs/001-fastgan --from projected.npz --trunc 0.7
    """
    n = n if n_alias is None else n_alias
    from facegan import rundir
    from facegan.errors import FaceganError

    with user_errors():
        import_tensorflow()  # first: the seeds are parsed by facegan.analysis.sample, which imports it
        if source is not None and (n, seed, seeds, mean, std) != (None, None, None, "0", 1.0):
            raise FaceganError("--from takes the latents of a file: give it without -n, --seed, --seeds, --mean "
                               "and --std")
        chosen = image_seeds(n, seed, seeds) if source is None else ()
        run = rundir.resolve_generator_source(run)
        from facegan.analysis.sample import SampleOptions, parse_mean, write_samples

        options = SampleOptions(seeds=chosen, source=source, grid=grid, keep_top=keep_top, rank=rank,
                                interpolate=interpolate, label=label, mean=parse_mean(mean), std=std, trunc=trunc,
                                best=best, epoch=epoch)
        record = write_samples(run, options, out_dir)
    if as_json:
        print(json.dumps(record, indent=2))
    else:
        say(f"{record.get('kept', record['n'])} images of {record['model']} -> {record['folder']}")
        out.print(record["folder"])


def image_seeds(n: int | None, seed: int | None, seeds: str | None) -> tuple[int, ...]:
    """The images' seeds: --seeds as given, else --seed to --seed + n - 1."""
    from facegan.analysis.sample import parse_seeds
    from facegan.errors import FaceganError

    if seeds is not None:
        if n is not None or seed is not None:
            raise FaceganError("--seeds names every image's seed: give it without -n and --seed")
        return parse_seeds(seeds)
    n, seed = 64 if n is None else n, seed or 0
    if not 0 <= seed < 2 ** 32:
        raise FaceganError(f"--seed must be from 0 to 2^32 - 1, got {seed}")
    return tuple(range(seed, seed + n))
