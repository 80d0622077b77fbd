"""Data sources before decoding: what a folder, an array file or the embedded faces hold.

A `Source` lists its items (image files, or rows of an array) by name, with the key its cache entry
depends on; `subset` cuts it to a seeded selection. CelebA folders are read by facegan.data.celeba.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from facegan.errors import FaceganError
from facegan.imaging import find_images

SPLITS = {"train": 0, "valid": 1, "test": 2, "all": None}  # CelebA's official partition


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


def fingerprint(paths: list[Path]) -> list:
    return [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths]


def subset(source: Source, max_images: int | None, seed: int, left_out: bool = False) -> Source:
    """At most max_images items, chosen by the seed (kept in their order); with `left_out`, the items that choice
    leaves out (none where it takes them all)."""
    if max_images is None or max_images >= len(source.names):
        return source.select(np.zeros(0, int), ["left_out"]) if left_out else source
    if max_images < 1:
        raise FaceganError(f"--max-images must be positive, got {max_images}")
    chosen = np.sort(np.random.default_rng([seed, 7]).choice(len(source.names), max_images, replace=False))
    if left_out:
        return source.select(np.setdiff1d(np.arange(len(source.names)), chosen), ["left_out", max_images, seed])
    return source.select(chosen, ["max_images", max_images, seed])


def lfw_source() -> Source:
    """scikit-image's embedded faces: the first 100 items of its LFW subset (items 0-99 are faces)."""
    import skimage
    from skimage.data import lfw_subset

    return Source(["lfw", skimage.__version__], [f"lfw:{i}" for i in range(100)], array=lfw_subset()[:100])


def folder_source(folder: Path) -> Source:
    """Every image file under `folder`, named by its path inside it."""
    found = find_images(folder)
    return Source(["folder", *fingerprint(found)], [str(p.relative_to(folder)) for p in found], paths=found)


def array_source(path: Path) -> Source:
    """The rows of a .npy or .npz (with the .npz's "labels" where it has them), named by their index."""
    array, labels = _array_file(path)
    opened = Source(["array", *fingerprint([path])], [str(i) for i in range(len(array))], array=array)
    if labels is not None:
        opened.labels_for = lambda names: (None, labels[[int(n) for n in names]])
    return opened


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
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:  # object (pickled) arrays,
        # truncated or foreign files (a cut .npz is a broken zip archive)
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

