"""`facegan compare`: the figures of several runs side by side."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from facegan.commands import err, out, user_errors
from facegan.errors import FaceganError


class Format(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


def compare(
    runs: Annotated[Optional[list[Path]], typer.Argument(
        help="Run directories. \\[default: every run under ./runs]")] = None,
    format: Annotated[Format, typer.Option(help="Output format.")] = Format.table,
    sort: Annotated[Optional[str], typer.Option(
        help="Order the runs by this metric (a row of the table), e.g. blur or g_loss.", metavar="METRIC")] = None,
    transpose: Annotated[bool, typer.Option("--transpose", help="One row per run instead of one column.")] = False,
    plot: Annotated[Optional[str], typer.Option(
        metavar="METRIC", help="Draw this metric of epochs.csv (swd, g_loss, diversity, ...) of the runs over "
        "epochs into a PNG, instead of the table.")] = None,
    out_file: Annotated[Optional[Path], typer.Option(
        "--out", help="The --plot's PNG. \\[default: compare_METRIC.png in the current folder]", show_default=False)]
        = None,
):
    """Compare runs in the metrics table of the original experiments (reads files only).

    A figure never computed shows as a dash. Run `facegan blur RUN --training-data` first to fill the
    blur rows.

    Examples:
      facegan compare
      facegan compare runs/001-aegan-v1 runs/002-aegan-v4 --format markdown
      facegan compare --sort blur --transpose --format csv > table.csv
      facegan compare runs/001-dcgan runs/002-dcgan --plot swd --out swd.png
    """
    from facegan import files, rundir
    from facegan.analysis import compare as comparison

    with user_errors():
        run_paths = [rundir.require_run_dir(r) for r in runs] if runs else rundir.run_dirs()
        if not run_paths:
            raise FaceganError("no run to compare: give run directories or train one under ./runs")
        if plot is not None:
            from facegan.curves import plot_runs

            out.print(plot_runs(run_paths, plot, out_file or Path(f"compare_{plot}.png")))
            return
        if out_file is not None:
            raise FaceganError("--out names the --plot's PNG; the table goes to stdout")
        keys, columns = comparison.table(run_paths, sort)
        differ = comparison.not_comparable(run_paths, keys)
    if format is Format.json:
        print(json.dumps({"runs": columns, "not_comparable": differ}, indent=2))
        return
    for settings in sorted({", ".join(names) for names in differ.values()}):
        err.print(f"[yellow]not comparable:[/yellow] SWD figures computed with different {settings}", highlight=False)
    rows = comparison.cells(keys, columns, transpose, differ)
    if format is Format.markdown:
        print(comparison.markdown(rows))
    elif format is Format.csv:
        print(files.csv_text(rows), end="")
    else:
        table = Table(box=box.SIMPLE_HEAD)  # cells are Text: "[not comparable]" is no Rich markup
        for header in rows[0]:
            table.add_column(Text(header), overflow="fold")
        for row in rows[1:]:
            table.add_row(*map(Text, row))
        out.print(table)
