"""`facegan eval`: sample quality by measure (SWD, and KID and FID where asked) of a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from facegan.commands import RUN_HELP, err, import_tensorflow, out, say, user_errors


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
