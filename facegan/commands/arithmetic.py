"""`facegan arithmetic`: latent arithmetic on attributes (smiling = smiling woman - woman + man)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from facegan.commands import EPOCH, GENERATOR_HELP, import_tensorflow, out, user_errors


def arithmetic(
    run: Annotated[Optional[Path], typer.Argument(help=GENERATOR_HELP)] = None,
    plus: Annotated[Optional[list[str]], typer.Option(
        help="A term to add: samples.npz:3,7 | attribute query 'Smiling,~Male' | folder, file or glob.")] = None,
    minus: Annotated[Optional[list[str]], typer.Option(help="A term to subtract (same forms as --plus).")] = None,
    n_per_term: Annotated[int, typer.Option(help="Faces averaged per term (at most).")] = 8,
    projection_steps: Annotated[int, typer.Option(help="Optimization steps when a model has no encoder.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed for choosing faces and starting projections.")] = 0,
    epoch: EPOCH = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Output folder. \\[default: RUN/arithmetic]")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the details as JSON.")] = False,
):
    """Latent arithmetic: decode the signed sum of each term's average latent.

    Rows of arithmetic.png: each term's members, then its average latent decoded in the last
    column (the --plus terms first, then the --minus terms); the last row holds the result.

    Examples:
      facegan arithmetic runs/003-aegan-v5 --plus "Smiling,~Male" \\
        --minus "~Smiling,~Male" --plus "~Smiling,Male"
      facegan arithmetic runs/002-dcgan --plus samples.npz:3,7,12 \\
        --minus samples.npz:1,4 --plus samples.npz:9
    """
    from facegan import rundir

    with user_errors():
        run = rundir.resolve_generator_source(run)
        import_tensorflow()
        from facegan.analysis.arithmetic import decode_signed_sum

        details = decode_signed_sum(run, plus or [], minus or [], n_per_term, projection_steps, seed, out_dir, epoch)
    if as_json:
        print(json.dumps(details, indent=2))
        return
    for term in details["terms"]:
        out.print(f"{'+' if term['sign'] > 0 else '-'} {term['term']}: {term['members']} faces, latents from "
                  f"{term['latent_from']}, reconstruction MSE {term['reconstruction_mse']:.4g}", highlight=False)
    out.print(f"-> {Path(details['folder']) / 'arithmetic.png'}", highlight=False)
