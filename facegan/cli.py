"""The facegan command line: the Typer app and its commands, registered in the order `--help` lists them.

Each command lives in facegan.commands: it parses its options, makes one library call and prints.
"""

from __future__ import annotations

import inspect
from typing import Annotated

import typer

import facegan
from facegan.commands import (
    arithmetic,
    blur,
    click_metavars,
    compare,
    dataset,
    evaluate,
    export,
    models,
    nearest,
    project,
    sample,
    show_warnings_as_lines,
    train,
    walk,
)

click_metavars()

app = typer.Typer(help="Train face GANs and find out what they learned.", no_args_is_help=True,
                  rich_markup_mode="rich", pretty_exceptions_enable=False)


def show_version(value: bool) -> None:
    """The version; then, from TensorFlow (a few seconds to import), the GPUs and what --precision auto picks."""
    if value:
        print(f"facegan {facegan.__version__}", flush=True)
        from facegan.commands import import_tensorflow

        import_tensorflow()
        import tensorflow as tf

        from facegan.distribute import accelerators

        found = accelerators()
        print(f"TensorFlow {tf.__version__}; GPUs: {', '.join(found['gpus']) or 'none'}; "
              f"--precision auto: {found['auto_precision']}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option(
        "--version", callback=show_version, is_eager=True,
        help="Print facegan's version, the GPUs TensorFlow sees and the precision auto picks, and exit.")] = False):
    """Train face GANs and find out what they learned."""
    show_warnings_as_lines()

def flowing(doc: str) -> str:
    """A command's docstring for its help screen: each paragraph of prose one line, which Rich wraps to the
    terminal; a paragraph with indented lines (the examples) keeps its lines, flush left (Typer dedents them
    where they open its text, and they read the same everywhere)."""
    paragraphs = []
    for paragraph in inspect.cleandoc(doc).split("\n\n"):
        lines = paragraph.splitlines()
        joiner = "\n" if any(line.startswith(" ") for line in lines) else " "
        paragraphs.append(joiner.join(line.strip() for line in lines))
    return "\n\n".join(paragraphs)


for name, function in [("models", models.models), ("train", train.train), ("dataset", dataset.dataset),
                       ("eval", evaluate.evaluate), ("blur", blur.blur), ("compare", compare.compare),
                       ("sample", sample.sample), ("walk", walk.walk), ("project", project.project),
                       ("nearest", nearest.nearest), ("arithmetic", arithmetic.arithmetic), ("export", export.export)]:
    app.command(name, help=flowing(function.__doc__))(function)
