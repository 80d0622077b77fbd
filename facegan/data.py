"""Face data: sources -> uint8 arrays (N, H, W, C) + labels -> a tf.data pipeline.

Sources: "lfw" (scikit-image's embedded faces), a folder of images, a CelebA folder
(with `list_attr_celeba.txt`, and its train/valid/test partition where the folder has one), or a
.npz/.npy array; any of them cut to a seeded subset (`max_images`). The first load decodes the
images over every core into a plain .npy file in the cache, keyed by source, selection, size and
channels; every load then memory-maps that file, and training reads its batches from it with pread, so
the data set is never the process's own memory. TensorFlow is imported only by `make_dataset`, so
analysis commands can read data without it.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from facegan import files
from facegan.errors import FaceganError
from facegan.imaging import find_images, read_image

CELEBA_ATTRIBUTES = ("list_attr_celeba.txt", "list_attr_celeba.csv")  # the original layout, and Kaggle's
CACHE_VERSION = 3  # bump when the decoding changes, so old cache files are not reused
MIN_SIDE = 16  # images whose shorter side is below this (or below the model's size, if smaller) are skipped


@dataclass
class Faces:
    images: np.ndarray  # (N, H, W, C) uint8, memory-mapped from the cache (read-only)
    names: list[str]  # file name (or index) of each image in its source
    attributes: dict[str, np.ndarray] | None  # CelebA attribute -> (N,) bool
    labels: np.ndarray | None  # (N,) int class labels, from a .npz "labels" array
    source: str
    skipped: dict[str, int]  # files left out, by reason ("undecodable", "smaller than 16 px")
    digest: str  # sha256 of the image array
    split: str = "all"  # the part of CelebA's partition: train, valid, test, or all

    def class_labels(self, attribute: str | None) -> np.ndarray | None:
        """(N,) int labels for a conditional model: the attribute (0/1) or the array's own labels."""
        if attribute and self.attributes is not None:
            if attribute not in self.attributes:
                raise FaceganError(f"unknown attribute {attribute!r}; this data has: {', '.join(self.attributes)}")
            return self.attributes[attribute].astype(np.int32)
        return self.labels


def cache_dir() -> Path:
    return Path(os.environ.get("FACEGAN_CACHE", Path.home() / ".cache" / "facegan"))


# --- turning any decoded image into the model's size and channels ----------------

def fit_image(image: np.ndarray, size: int, channels: int) -> np.ndarray:
    """(H, W[, C]) image, uint8 or uint16 (by their range) or float in [0, 1], with 1 to 4 channels (gray,
    gray+alpha, RGB, RGBA) -> (size, size, channels) uint8: center crop, antialiased resize, channel count."""
    from skimage.transform import resize

    if np.issubdtype(image.dtype, np.integer):
        image = image.astype(np.float32) / np.iinfo(image.dtype).max
    image = image.astype(np.float32)
    if image.ndim == 2:
        image = image[..., None]
    image = image[..., :1] if image.shape[-1] == 2 else image[..., :3]  # alpha dropped
    if channels == 1 and image.shape[-1] == 3:
        image = image @ np.array([0.299, 0.587, 0.114], np.float32)[:, None]
    elif channels == 3 and image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    image = image[top:top + side, left:left + side]
    if side != size:
        image = resize(image, (size, size), anti_aliasing=True, preserve_range=True)
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


# --- sources ---------------------------------------------------------------------

def _lfw() -> np.ndarray:
    from skimage.data import lfw_subset

    return lfw_subset()[:100]  # items 0-99 are faces


def read_celeba_attributes(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """CelebA's attribute file -> (file names, attribute names, (N, 40) bool). The official .txt: a count, the
    names, then a row per image; Kaggle's .csv: a header `image_id,5_o_Clock_Shadow,...`, then a row per image.
    Values are 1 or -1 in both."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    try:
        if path.suffix == ".csv":
            attributes = lines[0].split(",")[1:]
            rows = [line.split(",") for line in lines[1:]]
            count = len(rows)
        else:
            count = int(lines[0])
            attributes = lines[1].split()
            rows = [line.split() for line in lines[2:2 + count]]
        names = [row[0] for row in rows]
        values = np.array([[int(v) for v in row[1:]] for row in rows]) > 0
    except (IndexError, ValueError) as error:
        raise FaceganError(f"{path} is not a CelebA attribute file: {error}") from None
    if values.shape != (len(names), len(attributes)):
        raise FaceganError(f"{path}: rows do not have one value per attribute")
    return names, attributes, values


CELEBA_IMAGE_DIRS = (".", "images", "img_align_celeba", "img_align_celeba/img_align_celeba")  # the last: Kaggle's


def _celeba_image_dir(root: Path, first_file: str) -> Path:
    for folder in (root / name for name in CELEBA_IMAGE_DIRS):
        if (folder / first_file).exists():
            return folder
    raise FaceganError(f"{root}: cannot find the images its attribute file lists (looked in "
                       f"{', '.join(name + '/' for name in CELEBA_IMAGE_DIRS)})")


def celeba_attribute_file(root: Path) -> Path | None:
    """The CelebA attribute file of a folder, in either layout; None where it has none."""
    return next((root / name for name in CELEBA_ATTRIBUTES if (root / name).is_file()), None)


def _array_file(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(images, labels or None) of a .npy or .npz, their shape and type checked (see `check_images`)."""
    try:
        loaded = np.load(path, allow_pickle=False, mmap_mode="r")  # a .npy is mapped, not read
        if isinstance(loaded, np.ndarray):
            images, labels = loaded, None
        else:
            keys = list(loaded.keys())
            if not keys:
                raise FaceganError(f"{path} holds no arrays")
            images = loaded["images"] if "images" in keys else loaded[keys[0]]
            labels = loaded["labels"] if "labels" in keys else None
    except (OSError, ValueError, EOFError) as error:  # object (pickled) arrays, truncated or foreign files
        raise FaceganError(f"cannot read {path}: {error}") from None
    check_images(images, str(path))
    if labels is not None and (labels.ndim != 1 or labels.dtype.kind not in "iub"):
        raise FaceganError(f"{path}: labels must be one integer per image, got {labels.dtype} {labels.shape}")
    if labels is not None and len(labels) != len(images):
        raise FaceganError(f"{path}: {len(labels)} labels for {len(images)} images")
    return images, None if labels is None else labels.astype(np.int32)


def check_images(images: np.ndarray, where: str) -> None:
    """An array of images must be (N, H, W) or (N, H, W, C) with C from 1 to 4 and N > 0, and of a type whose
    range is known: uint8 (0-255), uint16 (0-65535), or float. Other integer types (int16, int32, ...) have
    no stated range and are refused; sizes and float values are checked when decoded (`_unit_range`)."""
    if images.ndim not in (3, 4) or len(images) == 0 or (images.ndim == 4 and not 1 <= images.shape[3] <= 4):
        raise FaceganError(f"{where}: expected images of shape (N,H,W) or (N,H,W,C) with C 1 to 4, "
                           f"got {images.shape}")
    if images.dtype not in (np.uint8, np.uint16) and images.dtype.kind != "f":
        raise FaceganError(f"{where}: images of type {images.dtype} have no known range; give uint8 (0-255), "
                           "uint16 (0-65535) or floats in [0, 1] or [-1, 1]")


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


# --- a source: what it holds, before decoding -------------------------------------

@dataclass
class Source:
    """A data source before decoding: its items (image files, or rows of an array) and their names."""

    key: list  # what the cache entry depends on
    names: list[str]
    paths: list[Path] | None = None  # image files, or
    array: np.ndarray | None = None  # (N, H, W[, C]) images, possibly memory-mapped
    labels_for: Callable = lambda names: (None, None)  # kept names -> (attributes, labels)

    def select(self, chosen: np.ndarray, spec: list) -> "Source":
        """The items at the sorted indices `chosen`; `spec` says how they were chosen (for the cache key)."""
        return Source([*self.key, spec], [self.names[i] for i in chosen],
                      [self.paths[i] for i in chosen] if self.paths is not None else None,
                      self.array[chosen] if self.array is not None else None, self.labels_for)


def _fingerprint(paths: list[Path]) -> list:
    return [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths]


def subset(source: Source, max_images: int | None, seed: int) -> Source:
    """At most max_images items, chosen by the seed (kept in their order)."""
    if max_images is None or max_images >= len(source.names):
        return source
    if max_images < 1:
        raise FaceganError(f"--max-images must be positive, got {max_images}")
    chosen = np.sort(np.random.default_rng([seed, 7]).choice(len(source.names), max_images, replace=False))
    return source.select(chosen, ["max_images", max_images, seed])


# --- decoding in parallel into the cache -------------------------------------------

DECODE_CHUNK = 256  # images per task of a decoding worker


def _exit_with(parent: int) -> None:
    """In a decoding worker: exit once `parent` is gone. A worker whose parent was killed (SIGKILL) would
    otherwise wait for work forever."""
    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


SKIPPED = ("undecodable", "smaller than {} px")  # why a file is left out: status 1, 2 of _decode_files


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


def read_rows(images: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """images[rows] as a new array. From a memory-mapped .npy (as np.load maps it) the rows are read with pread:
    they pass through the page cache and never become the process's resident memory, as the pages of the map
    would, so a data set larger than the machine's memory is still read (from disk). A run of consecutive
    rows is one read."""
    if not (isinstance(images, np.memmap) and isinstance(images.base, mmap.mmap) and images.flags.c_contiguous):
        return images[rows]
    row_bytes = int(np.prod(images.shape[1:])) * images.itemsize
    with open(images.filename, "rb") as f:
        if len(rows) and rows[-1] - rows[0] + 1 == len(rows) and np.all(np.diff(rows) == 1):
            data = os.pread(f.fileno(), len(rows) * row_bytes, images.offset + int(rows[0]) * row_bytes)
        else:
            data = b"".join(os.pread(f.fileno(), row_bytes, images.offset + int(r) * row_bytes) for r in rows)
    return np.frombuffer(data, images.dtype).reshape(len(rows), *images.shape[1:]).copy()


def _fit_rows(array: np.ndarray, size: int, channels: int) -> np.ndarray:
    """Rows of an array source (uint8, uint16 or float in [0, 1]) at the model's size and channels (a plain
    copy when they already are)."""
    shape = array.shape[1:]
    if array.dtype == np.uint8 and shape[:2] == (size, size) and (shape[2:] or (1,)) == (channels,):
        return np.asarray(array).reshape(len(array), size, size, channels)
    return np.stack([fit_image(image, size, channels) for image in array])


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
            (lambda a, b: (_fit_rows(to_unit(read_rows(source.array, np.arange(a, b))), size, channels),
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


def _cache_paths(key_parts: list) -> tuple[Path, Path]:
    key = hashlib.sha256(json.dumps([CACHE_VERSION, *key_parts], default=str).encode()).hexdigest()[:24]
    return cache_dir() / f"{key}.npy", cache_dir() / f"{key}.json"


def _remove_abandoned(images_path: Path) -> None:
    """Delete the partial files of this cache entry that a killed process left (named by its pid, which no
    longer runs); a process still decoding the same entry keeps its own."""
    for partial in images_path.parent.glob(f".{images_path.stem}.*.partial*.npy"):
        try:
            os.kill(int(partial.name.split(".")[2]), 0)
        except ProcessLookupError:
            partial.unlink(missing_ok=True)
        except (ValueError, PermissionError):  # not ours to judge
            pass


def _decode_to_cache(source: Source, size: int, channels: int, images_path: Path, meta_path: Path,
                     progress: Callable | None, workers: int | None) -> dict:
    """Decode into a temporary .npy next to the cache entry, leave out what did not decode, then rename: the
    entry appears whole or not at all. The meta file (names, skipped, sha256 of the images) is written last."""
    images_path.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(images_path)
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


# --- opening a source, with its split --------------------------------------------

SPLITS = {"train": 0, "valid": 1, "test": 2, "all": None}  # CelebA's official partition
CELEBA_PARTITIONS = ("list_eval_partition.txt", "list_eval_partition.csv")  # the original, and Kaggle's


def read_partition(root: Path) -> dict[str, int] | None:
    """{file name: 0 (train), 1 (valid) or 2 (test)} from CelebA's partition file, in either layout; None
    without one."""
    for name in CELEBA_PARTITIONS:
        path = root / name
        if path.is_file():
            rows = [line.replace(",", " ").split() for line in path.read_text().splitlines() if line.strip()]
            try:
                if rows and not rows[0][1].isdigit():  # the CSV's header: image_id,partition
                    rows = rows[1:]
                return {name: int(value) for name, value, *_ in rows}
            except (IndexError, ValueError) as error:
                raise FaceganError(f"{path} is not a CelebA partition file: {error}") from None
    return None


def open_source(source: str, split: str = "all") -> tuple[Source, str]:
    """(the source's items, the split they are: `split`, or "all" where the source has no partition)."""
    if split not in SPLITS:
        raise FaceganError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    path = Path(source).expanduser()
    opened, partition = _open(source, path), None
    if celeba_attribute_file(path) is not None:
        partition = read_partition(path)
    if split == "all" or (partition is None and split == "train"):
        return opened, "all"
    if partition is None:
        raise FaceganError(f"--split {split}: {source!r} has no partition file ({' or '.join(CELEBA_PARTITIONS)})")
    chosen = np.array([i for i, name in enumerate(opened.names) if partition.get(name) == SPLITS[split]], int)
    if not len(chosen):
        raise FaceganError(f"--split {split}: the partition file of {source!r} puts no listed image in it")
    return opened.select(chosen, ["split", split]), split


def _open(source: str, path: Path) -> Source:
    if source == "lfw":
        import skimage

        return Source(["lfw", skimage.__version__], [f"lfw:{i}" for i in range(100)], array=_lfw())
    if path.is_file() and path.suffix.lower() in (".npz", ".npy"):
        array, labels = _array_file(path)
        opened = Source(["array", *_fingerprint([path])], [str(i) for i in range(len(array))], array=array)
        if labels is not None:
            opened.labels_for = lambda names: (None, labels[[int(n) for n in names]])
        return opened
    if (attribute_file := celeba_attribute_file(path)) is not None:
        listed, attribute_names, values = read_celeba_attributes(attribute_file)
        if not listed:
            raise FaceganError(f"{attribute_file} lists no images")
        folder = _celeba_image_dir(path, listed[0])
        row = {name: i for i, name in enumerate(listed)}

        def attributes(names):
            kept = values[[row[name] for name in names]]
            return {name: kept[:, j] for j, name in enumerate(attribute_names)}, None

        key = ["celeba", *_fingerprint([attribute_file]), str(folder.resolve())]
        return Source(key, listed, paths=[folder / name for name in listed], labels_for=attributes)
    if path.is_dir():
        found = find_images(path)
        return Source(["folder", *_fingerprint(found)], [str(p.relative_to(path)) for p in found], paths=found)
    raise FaceganError(f"data source {source!r} is neither 'lfw', an image folder, a CelebA folder "
                       "nor a .npz/.npy file")


def load_faces(source: str, image_size: int, channels: int, split: str = "all", max_images: int | None = None,
               seed: int = 0, progress: Callable | None = None, workers: int | None = None) -> Faces:
    """Load a data source at the model's size and channel count (see the module docstring): its `split`, at
    most `max_images` of it chosen by the seed. A first load decodes it into the cache with `workers`
    processes (default: one per core), calling progress(done, total) as it goes."""
    opened, split = open_source(source, split)
    opened = subset(opened, max_images, seed)
    images_path, meta_path = _cache_paths([*opened.key, image_size, channels])
    if images_path.exists() and meta_path.exists():
        meta = files.read_json(meta_path)
    else:
        meta = _decode_to_cache(opened, image_size, channels, images_path, meta_path, progress, workers)
    if not meta["names"]:
        raise FaceganError(f"data source {source!r} has no usable image ({skipped_text(meta['skipped'])})")
    attributes, labels = opened.labels_for(meta["names"])
    return Faces(np.load(images_path, mmap_mode="r"), meta["names"], attributes, labels, source, meta["skipped"],
                 meta["digest"], split)


def survey(source: str, image_size: int, channels: int, split: str = "all", max_images: int | None = None,
           seed: int = 0) -> dict:
    """What a source holds for a run, without decoding it: its items, the split, and where the cache already
    holds it decoded at this size, the images kept and the files skipped by reason."""
    opened, split = open_source(source, split)
    opened = subset(opened, max_images, seed)
    images_path, meta_path = _cache_paths([*opened.key, image_size, channels])
    found = {"source": source, "split": split, "items": len(opened.names),
             "resolution": f"{image_size}x{image_size}x{channels}"}
    if images_path.exists() and meta_path.exists():
        meta = files.read_json(meta_path)
        return {**found, "decoded": True, "images": len(meta["names"]), "skipped": meta["skipped"]}
    return {**found, "decoded": False, "images": len(opened.names), "skipped": "counted at the first decode"}


def skipped_text(skipped: dict[str, int]) -> str:
    """"3 undecodable, 2 smaller than 16 px": the files left out, by reason."""
    return ", ".join(f"{n} {why}" for why, n in skipped.items())


def load_training_faces(cfg, progress: Callable | None = None) -> Faces:
    """The faces a run trains on (cfg: its TrainConfig): its data, split and subset."""
    return load_faces(cfg.data, cfg.image_size, cfg.channels, cfg.split, cfg.max_images, cfg.seed, progress)


def load_held_out_faces(cfg, training: Faces) -> Faces | None:
    """Real faces the run never trains on: CelebA's valid split where it trains on the train split; else None."""
    if training.split != "train":
        return None
    return load_faces(cfg.data, cfg.image_size, cfg.channels, "valid")


# --- the tf.data pipeline --------------------------------------------------------

def make_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, epoch: int,
                 skip_batches: int = 0, flip: bool = False):
    """One epoch of (x, y) batches: x (B, H, W, C) float32 in [-1, 1], y (B,) int32.

    With `flip` the epoch holds every image twice, as it is and mirrored (index N + i is image i mirrored).
    The order is a permutation drawn from (seed, epoch), so a resumed run sees the same batches as an
    uninterrupted one; `skip_batches` starts after the batches an interrupted epoch already trained on.
    Batches are dropped at the remainder and prefetched. The images stay where they are (the cache file):
    each batch's rows are read on the host (`read_rows`), so the data set is never copied whole.
    """
    import tensorflow as tf

    count = len(images)
    order = np.random.default_rng([seed, epoch]).permutation(2 * count if flip else count)[skip_batches * batch_size:]

    def gather(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = indices % count
        x = read_rows(images, rows)
        mirrored = indices >= count
        x[mirrored] = x[mirrored, :, ::-1]
        return x, labels[rows].astype(np.int32)

    def batch(indices):
        x, y = tf.numpy_function(gather, [indices], [tf.uint8, tf.int32], stateful=False)
        x.set_shape([batch_size, *images.shape[1:]])
        y.set_shape([batch_size])
        return tf.cast(x, tf.float32) / 127.5 - 1.0, y  # imaging.to_float, in the graph

    # No autotuning: its thread sleeps for periods that double from 10 ms up to a minute, and deleting
    # the iterator at the end of an epoch waited for the thread to wake up (20.5 s epochs of 16.8 s of
    # steps). A gather needs no tuning: two batches in flight keep the step fed.
    options = tf.data.Options()
    options.autotune.enabled = False
    dataset = tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=True)
    return dataset.map(batch, num_parallel_calls=2).prefetch(2).with_options(options)
