"""Decoding a source into the cache, and reading its rows back.

The first load of a source decodes its images over every core into a plain .npy file in the cache
(FACEGAN_CACHE, default ~/.cache/facegan), keyed by source, selection, size and channels; every load
then memory-maps that file, and training reads its batches from it at their offsets, so the data set is never
the process's own memory. An entry appears whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable

import numpy as np

from facegan import files, system
from facegan.data.sources import Source
from facegan.errors import FaceganError
from facegan.imaging import fit_image, read_image

CACHE_VERSION = 3  # bump when the decoding changes, so old cache files are not reused
MIN_SIDE = 16  # images whose shorter side is below this (or below the model's size, if smaller) are skipped
DECODE_CHUNK = 256  # images per task of a decoding worker
SKIPPED = ("undecodable", "smaller than {} px")  # why a file is left out: status 1, 2 of _decode_files


def cache_dir() -> Path:
    return Path(os.environ.get("FACEGAN_CACHE", Path.home() / ".cache" / "facegan"))


def _exit_with(parent: int) -> None:
    """In a decoding worker: exit once `parent` is gone. A worker whose parent was killed (SIGKILL) would
    otherwise wait for work forever."""
    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _decode_files(paths: list[Path], size: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, size, size, channels) uint8, status (n,) int8): a worker's share. Status 0: decoded;
    1: not a readable image; 2: smaller than MIN_SIDE (or `size`). A file left out stays zeros."""
    images = np.zeros((len(paths), size, size, channels), np.uint8)
    status = np.zeros(len(paths), np.int8)
    for i, path in enumerate(paths):
        try:
            image = read_image(path)
        except FaceganError:
            status[i] = 1
            continue
        if min(image.shape[:2]) < min(MIN_SIDE, size):  # never blown up from a few pixels
            status[i] = 2
            continue
        images[i] = fit_image(image, size, channels)
    return images, status


def read_image_rows(images: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """images[rows] as a new array. From a memory-mapped .npy (as np.load maps it) the rows are read at their
    offsets (system.read_at):
    they pass through the page cache and never become the process's resident memory, as the pages of the map
    would, so a data set larger than the machine's memory is still read (from disk). A run of consecutive
    rows is one read."""
    if not (isinstance(images, np.memmap) and isinstance(images.base, mmap.mmap) and images.flags.c_contiguous):
        return images[rows]
    row_bytes = int(np.prod(images.shape[1:])) * images.itemsize
    with open(images.filename, "rb") as f:
        if len(rows) and rows[-1] - rows[0] + 1 == len(rows) and np.all(np.diff(rows) == 1):
            data = system.read_at(f.fileno(), len(rows) * row_bytes, images.offset + int(rows[0]) * row_bytes)
        else:
            data = b"".join(system.read_at(f.fileno(), row_bytes, images.offset + int(r) * row_bytes) for r in rows)
    return np.frombuffer(data, images.dtype).reshape(len(rows), *images.shape[1:]).copy()


def _fit_rows(array: np.ndarray, size: int, channels: int) -> np.ndarray:
    """Rows of an array source (uint8, uint16 or float in [0, 1]) at the model's size and channels (a plain
    copy when they already are)."""
    shape = array.shape[1:]
    if array.dtype == np.uint8 and shape[:2] == (size, size) and (shape[2:] or (1,)) == (channels,):
        return np.asarray(array).reshape(len(array), size, size, channels)
    return np.stack([fit_image(image, size, channels) for image in array])


def _unit_range(array: np.ndarray, size: int) -> Callable[[np.ndarray], np.ndarray]:
    """The map of an array source's rows to [0, 1], at its first decode for the model's `size`: images smaller
    than MIN_SIDE (or `size`) are refused, as they are skipped from folders; for floats one pass over the
    array (in blocks) refuses NaN, infinities and values outside [0, 1] and [-1, 1]. Integers map by their
    range."""
    if min(array.shape[1:3]) < min(MIN_SIDE, size):
        raise FaceganError(f"images of {array.shape[1]}x{array.shape[2]} px are smaller than "
                           f"{min(MIN_SIDE, size)} px: facegan does not blow them up")
    if array.dtype.kind != "f":
        return lambda rows: rows
    low, high = np.inf, -np.inf
    for start in range(0, len(array), DECODE_CHUNK):
        rows = np.asarray(array[start:start + DECODE_CHUNK], np.float64)
        if not np.isfinite(rows).all():
            raise FaceganError(f"the images hold NaN or infinite values (in rows {start} to {start + len(rows) - 1})")
        low, high = min(low, rows.min()), max(high, rows.max())
    if low < -1.0 or high > 1.0:
        raise FaceganError(f"float images must lie in [0, 1] or [-1, 1]; these range from {low:.4g} to {high:.4g}")
    return (lambda rows: (rows + 1.0) / 2.0) if low < 0 else (lambda rows: rows)


def _chunks(count: int):
    return [(start, min(start + DECODE_CHUNK, count)) for start in range(0, count, DECODE_CHUNK)]


class RowFile:
    """A .npy file of uint8 images (rows, H, W, C), written and read in blocks of rows with plain file I/O: the
    pages sit in the page cache, not in the process's resident memory as a memory map's would."""

    def __init__(self, path: Path, shape: tuple):
        np.lib.format.open_memmap(path, "w+", np.uint8, shape)  # writes the header and sizes the file
        self.shape, self.row_bytes = shape, int(np.prod(shape[1:]))
        self.offset = path.stat().st_size - shape[0] * self.row_bytes
        self.file = open(path, "r+b")

    def write(self, start: int, rows: np.ndarray) -> None:
        self.file.seek(self.offset + start * self.row_bytes)
        self.file.write(np.ascontiguousarray(rows, np.uint8).data)

    def read(self, start: int, stop: int) -> np.ndarray:
        self.file.seek(self.offset + start * self.row_bytes)
        return np.frombuffer(self.file.read((stop - start) * self.row_bytes), np.uint8).reshape(-1, *self.shape[1:])

    def blocks(self, size: int = 4096):
        for start in range(0, self.shape[0], size):
            yield self.read(start, min(start + size, self.shape[0]))

    def close(self) -> None:
        self.file.close()


def _decode_into(target: RowFile, source: Source, progress: Callable | None, workers: int | None) -> np.ndarray:
    """Decode every item of `source` into the rows of `target`; returns each row's status (0: decoded, else
    why it was left out: see `_decode_files`). Files are decoded by `workers` processes (default: one per
    core; spawned, since a forked TensorFlow process can hang), arrays by threads."""
    count, size, channels = target.shape[0], target.shape[1], target.shape[3]
    status = np.zeros(count, np.int8)
    to_unit = _unit_range(source.array, size) if source.array is not None else None
    workers = max(1, min(workers or os.cpu_count() or 1, len(_chunks(count))))
    if source.paths is not None and workers > 1:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_exit_with, initargs=(os.getpid(),))
        tasks = {pool.submit(_decode_files, source.paths[a:b], size, channels): (a, b) for a, b in _chunks(count)}
    else:
        pool = ThreadPoolExecutor(workers)
        work = (lambda a, b: _decode_files(source.paths[a:b], size, channels)) if source.paths is not None else \
            (lambda a, b: (_fit_rows(to_unit(read_image_rows(source.array, np.arange(a, b))), size, channels),
                           np.zeros(b - a, np.int8)))
        tasks = {pool.submit(work, a, b): (a, b) for a, b in _chunks(count)}
    done = 0
    if progress is not None and count:
        progress(0, count)
    with pool:
        for task in as_completed(tasks):
            a, b = tasks.pop(task)  # a finished task, and its rows, are not kept
            rows, status[a:b] = task.result()
            target.write(a, rows)
            done += b - a
            if progress is not None:
                progress(done, count)
    return status


def cache_paths(key_parts: list) -> tuple[Path, Path]:
    key = hashlib.sha256(json.dumps([CACHE_VERSION, *key_parts], default=str).encode()).hexdigest()[:24]
    return cache_dir() / f"{key}.npy", cache_dir() / f"{key}.json"


def remove_abandoned(images_path: Path) -> None:
    """Delete the partial files of this .npy (a cache entry, a packed file) that a killed process left (named
    .STEM.PID.partial*.npy by its pid, which no longer runs); a process still writing the same file keeps its own."""
    for partial in images_path.parent.glob(f".{images_path.stem}.*.partial*.npy"):
        try:
            os.kill(int(partial.name.split(".")[2]), 0)
        except ProcessLookupError:
            partial.unlink(missing_ok=True)
        except (ValueError, PermissionError):  # not ours to judge
            pass


def decode_to_cache(source: Source, size: int, channels: int, images_path: Path, meta_path: Path,
                     progress: Callable | None, workers: int | None) -> dict:
    """Decode into a temporary .npy next to the cache entry, leave out what did not decode, then rename: the
    entry appears whole or not at all. The meta file (names, skipped, sha256 of the images) is written last."""
    images_path.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(images_path)
    partial = images_path.with_name(f".{images_path.stem}.{os.getpid()}.partial.npy")
    compact = partial.with_suffix(".kept.npy")
    try:
        target = RowFile(partial, (len(source.names), size, size, channels))
        status = _decode_into(target, source, progress, workers)
        decoded = status == 0
        kept = np.flatnonzero(decoded)
        if len(kept) < len(decoded):  # copy the decoded rows into a file of their own size
            kept_rows = RowFile(compact, (len(kept), size, size, channels))
            written = 0
            for start, rows in zip(range(0, len(decoded), 4096), target.blocks()):
                rows = rows[decoded[start:start + 4096]]
                kept_rows.write(written, rows)
                written += len(rows)
            target.close()
            os.replace(compact, partial)
            target = kept_rows
        digest = hashlib.sha256()
        for rows in target.blocks():
            digest.update(rows.data)
        target.file.flush()
        os.fsync(target.file.fileno())
        target.close()
        reasons = [why.format(min(MIN_SIDE, size)) for why in SKIPPED]
        meta = {"names": [source.names[i] for i in kept], "digest": digest.hexdigest(),
                "skipped": {why: int(n) for why, n in zip(reasons, np.bincount(status, minlength=3)[1:]) if n}}
        if kept.size:  # nothing usable is not cached: the caller says so
            os.replace(partial, images_path)
            files.write_json(meta_path, meta)
        return meta
    except OSError as error:
        raise FaceganError(f"cannot write the decoded images to the cache in {images_path.parent} ({error}); free "
                           "space there, or set FACEGAN_CACHE to a folder with space") from None
    finally:
        partial.unlink(missing_ok=True)
        compact.unlink(missing_ok=True)

