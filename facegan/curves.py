"""Pictures of a run's logs, drawn with matplotlib (Agg, imported here only): RUN/curves.png, the losses and
accuracies over steps (smoothed, the raw values faint behind), AE-GAN v4's GAN weight and the slope of its AE loss over
steps, the diversity per epoch and the SWD per evaluation, as the seed notebooks plotted them after every run; and
one figure of several runs over epochs (`facegan compare --plot`). No TensorFlow."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from facegan import files, rundir
from facegan.errors import FaceganError
from facegan.runfiles import read_or_warn
from facegan.runlog import number, read_rows

MAX_POINTS = 4000  # steps drawn per curve: a long run is thinned to this many


def _columns(rows: list[dict], names: list[str]) -> dict[str, np.ndarray]:
    return {name: np.array([number(row.get(name, "")) for row in rows]) for name in names}


def smoothed(values: np.ndarray, span: int) -> np.ndarray:
    """Exponential moving average over about `span` values (NaN kept out of it)."""
    alpha, out, level = 2.0 / (span + 1.0), np.empty_like(values), math.nan
    for i, value in enumerate(values):
        if value == value:
            level = value if level != level else level + alpha * (value - level)
        out[i] = level
    return out


def _figure(panels: int):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(panels, 1, figsize=(8, 2.6 * panels), squeeze=False)
    return pyplot, figure, axes[:, 0]


def _png(pyplot, figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=80)
    pyplot.close(figure)
    return buffer.getvalue()


def draw_curves(run: Path) -> Path:
    """RUN/curves.png from the run's CSV files."""
    run = Path(run)
    steps = read_rows(run / rundir.METRICS)
    epochs = read_rows(run / rundir.EPOCHS)
    evaluations = read_rows(run / rundir.EVALS)
    names = [k for k in (steps[0] if steps else {}) if k not in ("epoch", "step")]
    losses = [k for k in names if k.endswith("_loss") or k == "gp"]
    accuracies = [k for k in names if "_acc" in k]
    panels = [p for p, present in (("losses", losses), ("accuracies", accuracies), ("schedule", "ae_slope" in names),
                                   ("diversity", epochs), ("swd", evaluations)) if present]
    if not panels:
        raise FaceganError(f"{run} has no logged step yet")
    pyplot, figure, axes = _figure(len(panels))
    stride = max(1, len(steps) // MAX_POINTS)
    x = np.array([int(row["step"]) for row in steps])[::stride]
    for axis, panel in zip(axes, panels):
        if panel in ("losses", "accuracies"):
            values = _columns(steps, losses if panel == "losses" else accuracies)
            for i, (name, series) in enumerate(values.items()):
                color = f"C{i}"
                axis.plot(x, series[::stride], color=color, alpha=0.2, linewidth=0.6)
                axis.plot(x, smoothed(series, max(5, len(series) // 50))[::stride], color=color, label=name)
            axis.set_xlabel("step")
            axis.set_ylabel("loss" if panel == "losses" else "accuracy")
            axis.legend(fontsize="small", ncol=3)
        elif panel == "schedule":
            _schedule(axis, x, _columns(steps, ["gan_weight", "ae_slope"]), stride)
        elif panel == "diversity":
            axis.plot([int(r["epoch"]) for r in epochs], _columns(epochs, ["diversity"])["diversity"], marker=".")
            axis.set_xlabel("epoch")
            axis.set_ylabel("diversity (relative to the data)")
        else:
            axis.plot([int(r["step"]) for r in evaluations], _columns(evaluations, ["swd"])["swd"], marker=".")
            axis.set_xlabel("step")
            axis.set_ylabel("SWD (lower is better)")
        axis.grid(alpha=0.3)
    axes[0].set_title(run.name)
    path = run / rundir.CURVES
    files.write_bytes(path, _png(pyplot, figure))
    return path


def _schedule(axis, x, values: dict, stride: int) -> None:
    """AE-GAN v4's GAN weight (left axis) and the slope of the AE loss it comes from (right axis), over steps."""
    axis.plot(x, values["gan_weight"][::stride], color="C0", label="gan_weight")
    axis.set_ylabel("gan_weight", color="C0")
    slope = axis.twinx()
    slope.plot(x, values["ae_slope"][::stride], color="C1", linewidth=0.8, label="ae_slope")
    slope.axhline(0.0, color="C1", alpha=0.3, linewidth=0.6)
    slope.set_ylabel("slope of ae_loss per step", color="C1")
    axis.set_xlabel("step")


def plot_runs(runs: list[Path], figure_name: str, out: Path) -> Path:
    """One figure of epochs.csv (g_loss, swd, diversity, ...) of several runs over epochs, in one PNG."""
    if not figure_name.replace("_", "").isalnum():
        raise FaceganError(f"{figure_name!r} is not a metric (a column of epochs.csv, such as swd or g_loss)")
    pyplot, figure, (axis,) = _figure(1)
    drawn = 0
    for run in runs:
        # one damaged run among several: the others are drawn
        rows = read_or_warn(Path(run) / rundir.EPOCHS, read_rows, f"{Path(run).name} is left out of the plot")
        if rows is None:
            continue
        rows = [row for row in rows if figure_name in row]
        values = _columns(rows, [figure_name])[figure_name]
        if np.isfinite(values).any():
            finite = np.isfinite(values)
            axis.plot(np.array([int(r["epoch"]) for r in rows])[finite], values[finite], marker=".",
                      label=Path(run).name)
            drawn += 1
    if not drawn:
        pyplot.close(figure)
        raise FaceganError(f"no run has the metric {figure_name!r} in its epochs.csv")
    axis.set_xlabel("epoch")
    axis.set_ylabel(figure_name)
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")
    files.write_bytes(out, _png(pyplot, figure))
    return out
