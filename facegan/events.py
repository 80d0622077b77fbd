"""RUN/tensorboard/: the run's logs as TensorBoard event files, a view of the CSV files, which stay the
source of truth.

    step/NAME     every per-step metric of metrics.csv, at its step
    epoch/NAME    every per-epoch figure of epochs.csv (losses, diversity, SWD, images/s, skipped), at the
                  epoch's last step
    eval/NAME     every evaluation of evals.csv (SWD per level and mean), at its step
    samples       each sample grid, as an image, at its step
    health        each health event, as text, at its step
    hparams       the resolved configuration (TensorBoard's HParams plugin), with the final SWD and losses

The events are appended as the CSV rows are (facegan.runlog). When the CSVs are cut back (a resume, a
rollback), the events are rewritten from them: the event files are deleted and the CSVs and grids
replayed, so that TensorBoard never shows two values for one step where the CSVs hold one. Written with
TensorBoard's own event writer and protocol buffers: no TensorFlow.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from facegan import rundir

HPARAM_METRICS = ("eval/swd", "epoch/g_loss", "epoch/d_loss")


class Events:
    """The event files of a run (written only by the process that writes the run)."""

    def __init__(self, run: Path, hparams: dict):
        self.run, self.hparams = Path(run), hparams
        self.writer = None

    @property
    def directory(self) -> Path:
        return self.run / rundir.TENSORBOARD

    def open(self) -> None:
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.writer = EventFileWriter(str(self.directory), flush_secs=30)

    def _add(self, step: int, value, wall_time: float | None = None) -> None:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary

        if self.writer is None:
            self.open()
        summary = value if isinstance(value, Summary) else Summary(value=[value])
        self.writer.add_event(Event(wall_time=wall_time or time.time(), step=int(step), summary=summary))

    def scalars(self, prefix: str, step: int, row: dict) -> None:
        """Every finite number of `row` as PREFIX/NAME at `step` (empty cells and NaN left out, as in the CSVs)."""
        from tensorboard.compat.proto.summary_pb2 import Summary

        for name, value in row.items():
            if name in ("epoch", "step"):
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if np.isfinite(number):
                self._add(step, Summary.Value(tag=f"{prefix}/{name}", simple_value=number))

    def image(self, step: int, png: bytes, height: int, width: int, channels: int) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary

        image = Summary.Image(height=height, width=width, colorspace=channels, encoded_image_string=png)
        self._add(step, Summary.Value(tag="samples", image=image))

    def health(self, step: int, row: dict) -> None:
        """A row of health.csv, as text."""
        from tensorboard.plugins.text.summary_v2 import text_pb

        self._add(step, text_pb("health", f"epoch {row['epoch']}: {row['event']}: {row['detail']} ({row['action']})"))

    def write_hparams(self) -> None:
        from tensorboard.plugins.hparams import summary_v2 as hp

        values = {k: v for k, v in self.hparams.items() if isinstance(v, (bool, int, float, str))}
        self._add(0, hp.hparams_config_pb([hp.HParam(k) for k in values], [hp.Metric(m) for m in HPARAM_METRICS]))
        self._add(0, hp.hparams_pb(values, trial_id=self.run.name))

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def clear(self) -> None:
        """Close the writer and delete every event file."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        shutil.rmtree(self.directory, ignore_errors=True)
