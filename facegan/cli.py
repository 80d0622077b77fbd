"""The facegan command line: the Typer app and its commands, registered in the order `--help` lists them.

Each command lives in facegan.commands: it parses its options, makes one library call and prints.
"""

from __future__ import annotations

from typing import Annotated

import typer

import facegan
from facegan.commands import (
    arithmetic,
    blur,
    compare,
    evaluate,
    export,
    models,
    nearest,
    sample,
    show_warnings_as_lines,
    train,
)

app = typer.Typer(help="Train face GANs and find out what they learned.", no_args_is_help=True,
                  rich_markup_mode="rich", pretty_exceptions_enable=False)


def show_version(value: bool) -> None:
    if value:
        print(f"facegan {facegan.__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option(
        "--version", callback=show_version, is_eager=True, help="Print facegan's version and exit.")] = False):
    """Train face GANs and find out what they learned."""
    show_warnings_as_lines()

app.command()(models.models)
app.command()(train.train)
app.command("eval")(evaluate.evaluate)
app.command()(blur.blur)
app.command()(compare.compare)
app.command()(sample.sample)
app.command()(nearest.nearest)
app.command()(arithmetic.arithmetic)
app.command()(export.export)
