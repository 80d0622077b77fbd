"""A run's logs: metrics.csv (one row per step), epochs.csv (one per epoch), evals.csv (one per
evaluation), health.csv (the health guard's events), summary.json, the sample grids, and their view as
TensorBoard events (facegan.events).

The CSV files grow by whole blocks of rows, each appended in one synced write; after a crash or a
rollback they are cut back to the restored checkpoint (`truncate`), so no step is ever counted twice.
Cells are written as files.csv_text writes them; reading (facegan.runfiles.read_table) gives every figure back
as a float (an empty cell, or one that is not a number, as NaN).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from facegan import files, imaging, rundir
from facegan.events import Events
from facegan.runfiles import read_table

HEALTH_COLUMNS = ["epoch", "step", "event", "detail", "action"]
RENAMED_COLUMNS = {"beta": "gan_weight"}  # figures logged under an earlier name (an AE-GAN's "beta")


def read_rows(path: Path) -> list[dict]:
    return read_table(path)[1]


def check_logs(run: Path) -> None:
    """Before a run is continued: each CSV log reads (facegan.runfiles.read_table), or the run stops here."""
    for name in (rundir.METRICS, rundir.EPOCHS, rundir.EVALS, rundir.HEALTH):
        read_table(Path(run) / name)


def truncate_rows(path: Path, column: str, last: int) -> None:
    """Keep the header (its columns under their names of today) and the complete rows whose `column` is at most
    `last`."""
    if not path.exists():
        return
    header, rows = read_table(path)
    kept = [[row[name] for name in header] for row in rows if int(row[column]) <= last]
    files.write_text(path, files.csv_text([[RENAMED_COLUMNS.get(name, name) for name in header]] + kept))


def number(text: str) -> float:
    """A cell as a float; an empty cell, or one that is not a number (a log damaged or edited by hand), as NaN,
    which no chart draws and the health guard never counts (the TensorBoard events skip such cells too)."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def as_logged(value: float) -> float:
    """A step figure as metrics.csv holds it (7 significant digits): an epoch's figures are taken from these,
    so that an epoch resumed from its logged steps gives the figures of one trained in one go."""
    return number(files.cell(value))


class RunLog:
    """The logs of one run. `write` is False on the workers of a cluster other than the chief: they keep
    the history (their health guard reads it) and write nothing."""

    def __init__(self, run: Path, step_columns: list[str], epoch_columns: list[str], write: bool = True,
                 hparams: dict | None = None):
        self.run, self.write = Path(run), write
        self.step_columns, self.epoch_columns = step_columns, epoch_columns
        self.history: list[dict[str, float]] = []  # the epochs.csv rows as floats, oldest first
        self.events = Events(run, hparams or {})
        self.last_step = 0  # the last step logged

    @property
    def metrics_csv(self) -> Path:
        return self.run / rundir.METRICS

    @property
    def epochs_csv(self) -> Path:
        return self.run / rundir.EPOCHS

    @property
    def evals_csv(self) -> Path:
        return self.run / rundir.EVALS

    def truncate(self, step: int, epoch: int) -> None:
        """Drop the rows written after the restored checkpoint (at `step`, `epoch` epochs completed)."""
        if self.write:
            truncate_rows(self.metrics_csv, "step", step)
            truncate_rows(self.epochs_csv, "epoch", epoch)
            truncate_rows(self.evals_csv, "step", step)
            self.rewrite_events(step)
        self.last_step = step
        self.history = [{k: number(v) for k, v in row.items()} for row in read_rows(self.epochs_csv)
                        if row["epoch"].isdigit() and int(row["epoch"]) <= epoch]

    def rewrite_events(self, step: int) -> None:
        """The TensorBoard events again, from the logs and grids on disk up to `step`."""
        self.events.clear()
        self.events.write_hparams()
        last_step = {}  # epoch -> its last logged step
        for row in read_rows(self.metrics_csv):
            self.events.scalars("step", int(row["step"]), row)
            last_step[int(row["epoch"])] = int(row["step"])
        for row in read_rows(self.epochs_csv):
            if int(row["epoch"]) in last_step:
                self.events.scalars("epoch", last_step[int(row["epoch"])], row)
        for row in read_rows(self.evals_csv):
            self.events.scalars("eval", int(row["step"]), row)
        for row in read_rows(self.run / rundir.HEALTH):
            self.events.health(int(row["step"]), row)
        grids = []
        for path in (self.run / rundir.SAMPLES).glob("*.png"):
            match = re.fullmatch(r"(epoch|step)_(\d+)\.png", path.name)
            at = (last_step.get(int(match[2])) if match[1] == "epoch" else int(match[2])) if match else None
            if at is not None and at <= step:
                grids.append((at, path))
        for at, path in sorted(grids):
            self.events.image(at, path.read_bytes(), *imaging.read_image(path).shape)
        self.events.flush()

    def logged_steps(self, epoch: int) -> dict[str, list[float]]:
        """The step metrics of `epoch` that an interrupted run already wrote."""
        rows = [row for row in read_rows(self.metrics_csv) if int(row["epoch"]) == epoch]
        return {k: [number(row.get(k, "")) for row in rows] for k in self.step_columns}

    def append_steps(self, epoch: int, first_step: int, values: dict[str, list[float]]) -> None:
        """Append the figures of consecutive steps from `first_step` on."""
        count = len(values[self.step_columns[0]])
        if self.write and count:
            rows = [[epoch, first_step + i, *(values[k][i] for k in self.step_columns)] for i in range(count)]
            files.append_csv(self.metrics_csv, ["epoch", "step", *self.step_columns], rows)
            for row in rows:
                self.events.scalars("step", row[1], dict(zip(self.step_columns, row[2:])))
            self.events.flush()
        self.last_step = first_step + count - 1 if count else self.last_step

    def append_epoch(self, row: dict) -> None:
        self.history.append({k: float(v) for k, v in row.items()})
        if self.write:
            files.append_csv(self.epochs_csv, self.epoch_columns, [[row[c] for c in self.epoch_columns]])
            self.events.scalars("epoch", self.last_step, row)
            self.events.flush()

    def evaluation(self, epoch: int, step: int, images: int, figures: dict) -> None:
        """One evaluation's figures: at the end of an epoch, or inside it (--eval-every as an image count)."""
        if self.write:
            header = ["epoch", "step", "images", *figures]
            row = [epoch, step, images, *figures.values()]
            files.append_csv(self.evals_csv, header, [row])
            self.events.scalars("eval", step, dict(zip(header, row)))
            self.events.flush()

    def health(self, epoch: int, step: int, event: str, detail: str, action: str) -> None:
        if self.write:
            files.append_csv(self.run / rundir.HEALTH, HEALTH_COLUMNS, [[epoch, step, event, detail, action]])
            self.events.health(step, dict(zip(HEALTH_COLUMNS, [epoch, step, event, detail, action])))
            self.events.flush()

    def grid(self, path: Path, step: int, image: np.ndarray) -> None:
        """A sample grid: its PNG file, and the same image in the events at `step`."""
        if self.write:
            png = imaging.png_bytes(image)
            files.write_bytes(path, png)
            self.events.image(step, png, *image.shape)
            self.events.flush()

    def summary(self, summary: dict) -> None:
        if self.write:
            files.write_json(self.run / rundir.SUMMARY, summary)
