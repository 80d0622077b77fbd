"""The run directory: layout, numbering and crash-safe file writes.

Layout (the contract every later command reads):
    config.json  metrics.csv  epochs.csv  summary.json  evolution.gif
    samples/epoch_NNNN.png  checkpoints/  generator.keras  discriminator.keras  encoder.keras
Whole files are written to a temporary name and renamed, so a crash never leaves a
half-written file. The CSV logs grow by whole appended blocks; on resume they are cut
back to the last checkpointed step, so no step is ever counted twice.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from facegan.errors import FaceganError

RUNS_ROOT = Path("runs")


def write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj) -> None:
    write_bytes(path, (json.dumps(obj, indent=2, default=_json_default) + "\n").encode())


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value)}")


def write_npy(path: Path, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array)
    write_bytes(path, buffer.getvalue())


def write_npz(path: Path, **arrays) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes(path, buffer.getvalue())


def format_value(value) -> str:
    """CSV cell: integers as they are, floats to 7 significant digits, NaN and None as an empty cell,
    text quoted where it must be."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value if not set(value) & set(',"\n') else '"' + value.replace('"', '""') + '"'
    if isinstance(value, (int, np.integer)):
        return str(value)
    value = float(value)
    return "" if math.isnan(value) else f"{value:.7g}"


def append_rows(path: Path, header: list[str], rows: list[list]) -> None:
    """Append rows to a CSV file in one write (with the header when the file is new)."""
    path = Path(path)
    lines = [] if path.exists() else [",".join(header)]
    lines += [",".join(format_value(v) for v in row) for row in rows]
    with open(path, "a") as f:
        f.write("\n".join(lines) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def truncate_rows(path: Path, column: str, last: int) -> None:
    """Keep the header and the complete rows whose `column` is at most `last` (resume after a crash)."""
    path = Path(path)
    if not path.exists():
        return
    lines = path.read_text().split("\n")
    header, body = lines[0], lines[1:]
    index = header.split(",").index(column)
    width = len(header.split(","))
    kept = [line for line in body
            if line.count(",") == width - 1 and line.split(",")[index].isdigit()
            and int(line.split(",")[index]) <= last]
    write_bytes(path, ("\n".join([header, *kept]) + "\n").encode())


def new_run_dir(model: str, root: Path = RUNS_ROOT) -> Path:
    """The next numbered directory root/NNN-model; numbers only grow, so runs never overwrite each other."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"(\d+)-", p.name))]
    number = max(numbers, default=0) + 1
    while True:
        path = root / f"{number:03d}-{model}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # another run took this number a moment ago
            number += 1


def prepare_out_dir(out: Path) -> Path:
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FaceganError(f"{out} exists and is not empty; use --resume {out} to continue it, "
                           "or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    return out


def require_run_dir(path: Path) -> Path:
    path = Path(path)
    if not (path / "config.json").is_file():
        raise FaceganError(f"{path} is not a facegan run directory (no config.json)")
    return path


def run_dirs(root: Path = RUNS_ROOT) -> list[Path]:
    """The run directories under root, oldest (lowest number) first."""
    root = Path(root)
    found = [p for p in root.iterdir() if re.match(r"\d+-", p.name) and (p / "config.json").is_file()] \
        if root.is_dir() else []
    return sorted(found, key=lambda p: int(p.name.split("-")[0]))


def resolve_run(path: Path | None) -> Path:
    """RUN as given, or the newest run under ./runs."""
    if path is not None:
        return require_run_dir(path)
    runs = run_dirs()
    if not runs:
        raise FaceganError(f"no run directory under ./{RUNS_ROOT}; give RUN or train one with `facegan train`")
    return runs[-1]


def read_config(run: Path) -> dict:
    return json.loads((Path(run) / "config.json").read_text())
