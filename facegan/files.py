"""Crash-safe writes: every file is written whole to a temporary name in its folder, synced, and renamed
over the old one, so that a crash leaves either the old file or the new one, never half of one. CSV logs
grow instead by whole blocks of rows, each appended in one synced write. A write that fails (a full disk)
leaves no temporary file and no part of a row behind, and raises its OSError."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from facegan import system


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _umask()


def write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        system.set_mode(fd, 0o666 & ~UMASK)  # as open() would make it (mkstemp makes 0600: unreadable to the group)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError):  # named by the file it was for, not the temporary one
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode())


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value)}")


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def write_npy(path: Path, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array)
    write_bytes(path, buffer.getvalue())


def write_npz(path: Path, **arrays) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes(path, buffer.getvalue())


def cell(value) -> str:
    """A CSV cell: integers as they are, floats to 7 significant digits, NaN and None empty, text as it is."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return str(value)
    value = float(value)
    return "" if math.isnan(value) else f"{value:.7g}"


def csv_text(rows: list[list]) -> str:
    """CSV lines, each value as `cell` writes it, quoted by the csv module where it must be."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([[cell(v) for v in row] for row in rows])
    return buffer.getvalue()


def append_csv(path: Path, header: list[str], rows: list[list]) -> None:
    """Append rows to a CSV file in one synced write (with the header when the file is new). A write that
    fails (a full disk) is cut back off: the file keeps only whole rows."""
    text = csv_text(([] if path.exists() else [header]) + rows)
    with open(path, "a") as f:
        size = f.tell()
        try:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        except OSError as error:
            f.truncate(size)
            raise OSError(error.errno, error.strerror, str(path)) from error
