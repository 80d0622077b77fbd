"""Packed data sets (`facegan dataset`): a source decoded once into a portable pair of files, OUT.npy (the uint8
images, (N, H, W, C)) and OUT.json (what they are: size, split, names, labels, attributes, sha256).

A packed .npy is read as it is, memory-mapped: no decoding and no cache, so a cluster's workers can all be handed
the same file. It is used whole, at the size it was packed at.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from facegan import files
from facegan.data.cache import remove_abandoned
from facegan.errors import FaceganError

FORMAT = "facegan dataset 1"  # the sidecar's "format": what marks a .npy as packed, and how it is laid out


def sidecar(path: Path) -> Path:
    return Path(path).with_suffix(".json")


def read_sidecar(path: Path) -> dict | None:
    """The sidecar of a packed .npy; None where `path` is not one."""
    path = Path(path).expanduser()
    if path.suffix.lower() != ".npy" or not sidecar(path).is_file():
        return None
    try:
        record = files.read_json(sidecar(path))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("format") == FORMAT else None


def pack(faces, out: Path, progress: Callable | None = None) -> dict:
    """Write `faces` (as load_faces returns them, memory-mapped from the cache) to OUT.json and OUT.npy, the images
    to a temporary name first, renamed into place last: a pack stopped half-way leaves no OUT.npy that looks whole.
    Returns the sidecar's record."""
    out = Path(out).expanduser()
    if out.suffix.lower() != ".npy":
        raise ValueError(f"{out}: a packed data set is a .npy file (with its .json beside it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"format": FORMAT, "source": faces.source, "split": faces.split, "images": len(faces.names),
              "resolution": list(faces.images.shape[1:]), "sha256": faces.digest, "skipped": faces.skipped,
              "names": faces.names,
              "labels": faces.labels.tolist() if faces.labels is not None else None,
              "attributes": ({name: np.flatnonzero(values).tolist() for name, values in faces.attributes.items()}
                             if faces.attributes is not None else None)}
    remove_abandoned(out)
    partial = out.with_name(f".{out.stem}.{os.getpid()}.partial.npy")  # as the cache names its own
    try:
        with open(faces.images.filename, "rb") as source, open(partial, "wb") as target:
            total, done = os.fstat(source.fileno()).st_size, 0
            while chunk := source.read(1 << 24):
                target.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done * len(faces.names) // total, len(faces.names))
            target.flush()
            os.fsync(target.fileno())
        files.write_json(sidecar(out), record)  # first: an OUT.npy is never there without its sidecar
        os.replace(partial, out)
    finally:
        Path(partial).unlink(missing_ok=True)
    return record


def labels_of(record: dict) -> np.ndarray | None:
    return np.asarray(record["labels"], np.int64) if record["labels"] is not None else None


def attributes_of(record: dict) -> dict[str, np.ndarray] | None:
    """The sidecar's attributes (stored as the rows where each holds) as (N,) bool arrays."""
    if record["attributes"] is None:
        return None
    count = record["images"]
    unpacked = {}
    for name, rows in record["attributes"].items():
        values = np.zeros(count, bool)
        values[np.asarray(rows, int)] = True
        unpacked[name] = values
    return unpacked



def opened(path, image_size: int, channels: int, split: str, max_images: int | None) -> dict | None:
    """The sidecar of `path` where it is a packed file, after `check_use`; None where it is not one."""
    record = read_sidecar(path)
    if record is not None:
        check_use(path, record, image_size, channels, split, max_images)
    return record


def check_use(path, record: dict, image_size: int, channels: int, split: str, max_images: int | None) -> None:
    """Refuse, in one line, a use of a packed file other than whole at its own size and split."""
    size = record["resolution"]
    if [image_size, image_size, channels] != size:
        raise FaceganError(f"{path} holds {size[0]}x{size[1]}x{size[2]} images: train with --image-size {size[0]} "
                           f"--channels {size[2]}, or pack the source again at the size you want")
    if max_images is not None and max_images < record["images"]:
        raise FaceganError(f"{path} is used whole: pack it with --max-images {max_images} instead")
    if split not in ("all", record["split"]) and not (split == "train" and record["split"] == "all"):
        raise FaceganError(f"{path} holds the {record['split']} split, not {split}: give --split {record['split']}, "
                           f"or pack that split")
