"""Face data: sources -> uint8 arrays (N, H, W, C) + labels -> a tf.data pipeline.

Sources: "lfw" (scikit-image's embedded faces), a folder of images, a CelebA folder (with its attribute file,
and its train/valid/test partition where the folder has one), or a .npz/.npy array; any of them cut to a
seeded subset (`max_images`). The first load decodes the images into the cache (facegan.data.cache); every
load then maps the cache file. TensorFlow is imported only by facegan.data.pipeline, so analysis commands
read data without it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from facegan import files
from facegan.data import packed
from facegan.data.cache import cache_paths, decode_to_cache
from facegan.data.celeba import CELEBA_PARTITIONS, celeba_attribute_file, celeba_source, read_partition
from facegan.data.sources import SPLITS, Source, array_source, folder_source, lfw_source, subset
from facegan.errors import FaceganError


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
        return _class_labels(self.attributes, self.labels, attribute)


@dataclass
class Survey:
    """What a source holds for a run, without decoding it. Until the first decode, `images` counts its items
    (the files a decode leaves out are not known yet), and the labels are the items'."""

    source: str
    split: str
    items: int
    resolution: str  # "64x64x3"
    decoded: bool  # whether the cache already holds it decoded at this size
    images: int
    skipped: dict[str, int] | str  # by reason, or "counted at the first decode"
    attributes: dict[str, np.ndarray] | None
    labels: np.ndarray | None

    def class_labels(self, attribute: str | None) -> np.ndarray | None:
        return _class_labels(self.attributes, self.labels, attribute)

    def to_dict(self) -> dict:
        """What `facegan train --dry-run` prints of it."""
        return {key: getattr(self, key) for key in ("source", "split", "items", "resolution", "decoded", "images",
                                                    "skipped")}


def _class_labels(attributes: dict | None, labels: np.ndarray | None, attribute: str | None) -> np.ndarray | None:
    if attribute and attributes is not None:
        if attribute not in attributes:
            raise FaceganError(f"unknown attribute {attribute!r}; this data has: {', '.join(attributes)}")
        return attributes[attribute].astype(np.int32)
    return labels


def open_source(source: str, split: str = "all") -> tuple[Source, str]:
    """(the source's items, the split they are: `split`, or "all" where the source has no partition)."""
    if split not in SPLITS:
        raise FaceganError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    path = Path(source).expanduser()
    attribute_file = celeba_attribute_file(path)
    if source == "lfw":
        opened = lfw_source()
    elif path.is_file() and path.suffix.lower() in (".npz", ".npy"):
        opened = array_source(path)
    elif attribute_file is not None:
        opened = celeba_source(path, attribute_file)
    elif path.is_dir():
        opened = folder_source(path)
    else:
        raise FaceganError(f"data source {source!r} is neither 'lfw', an image folder, a CelebA folder "
                           "nor a .npz/.npy file")
    partition = read_partition(path) if attribute_file is not None else None
    if split == "all" or (partition is None and split == "train"):
        return opened, "all"
    if partition is None:
        raise FaceganError(f"--split {split}: {source!r} has no partition file ({' or '.join(CELEBA_PARTITIONS)})")
    chosen = np.array([i for i, name in enumerate(opened.names) if partition.get(name) == SPLITS[split]], int)
    if not len(chosen):
        raise FaceganError(f"--split {split}: the partition file of {source!r} puts no listed image in it")
    return opened.select(chosen, ["split", split]), split


def _selected(source: str, image_size: int, channels: int, split: str, max_images: int | None, seed: int,
              left_out: bool = False):
    """(the items a load takes, their split, the cache entry's images and meta paths): what load_faces and
    survey share."""
    opened, split = open_source(source, split)
    opened = subset(opened, max_images, seed, left_out)
    images_path, meta_path = cache_paths([*opened.key, image_size, channels])
    return opened, split, images_path, meta_path


def load_faces(source: str, image_size: int, channels: int, split: str = "all", max_images: int | None = None,
               seed: int = 0, progress: Callable | None = None, workers: int | None = None,
               left_out: bool = False) -> Faces:
    """Load a data source at the model's size and channel count (see the module docstring): its `split`, at
    most `max_images` of it chosen by the seed (with `left_out`, the images that choice leaves out). A first load
    decodes it into the cache with `workers` processes (default: one per core), calling progress(done, total) as
    it goes."""
    if (record := packed.opened(source, image_size, channels, split, max_images)) is not None:  # no decoding, no cache
        return Faces(np.load(Path(source).expanduser(), mmap_mode="r"), record["names"], packed.attributes_of(record),
                     packed.labels_of(record), source, record["skipped"], record["sha256"], record["split"])
    opened, split, images_path, meta_path = _selected(source, image_size, channels, split, max_images, seed,
                                                      left_out)
    if images_path.exists() and meta_path.exists():
        meta = files.read_json(meta_path)
    else:
        meta = decode_to_cache(opened, image_size, channels, images_path, meta_path, progress, workers)
    if not meta["names"]:
        skipped = f" ({skipped_text(meta['skipped'])})" if meta["skipped"] else ""
        raise FaceganError(f"data source {source!r} has no usable image{skipped}")
    attributes, labels = opened.labels_for(meta["names"])
    return Faces(np.load(images_path, mmap_mode="r"), meta["names"], attributes, labels, source, meta["skipped"],
                 meta["digest"], split)


def survey(source: str, image_size: int, channels: int, split: str = "all", max_images: int | None = None,
           seed: int = 0) -> Survey:
    """What a source holds for a run, without decoding it: its items, the split, their labels, and where the
    cache already holds it decoded at this size, the images kept and the files skipped by reason."""
    if (record := packed.opened(source, image_size, channels, split, max_images)) is not None:
        return Survey(source, record["split"], record["images"], f"{image_size}x{image_size}x{channels}", True,
                      record["images"], record["skipped"], packed.attributes_of(record), packed.labels_of(record))
    opened, split, images_path, meta_path = _selected(source, image_size, channels, split, max_images, seed)
    decoded = images_path.exists() and meta_path.exists()
    meta = files.read_json(meta_path) if decoded else {"names": opened.names, "skipped": "counted at the first decode"}
    attributes, labels = opened.labels_for(meta["names"])
    return Survey(source, split, len(opened.names), f"{image_size}x{image_size}x{channels}", decoded,
                  len(meta["names"]), meta["skipped"], attributes, labels)


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


LEFT_OUT = "left out"  # the split of the faces a --max-images subset left out


def load_unseen_faces(cfg, training: Faces) -> Faces | None:
    """Faces the run never saw, for the copy checks: its held-out faces (`load_held_out_faces`), else the images of
    its data that its --max-images subset left out (decoded into the cache as any subset is); None where it
    trained on every image."""
    held_out = load_held_out_faces(cfg, training)
    if held_out is not None or cfg.max_images is None:
        return held_out
    if cfg.max_images >= len(open_source(cfg.data, training.split)[0].names):
        return None
    faces = load_faces(cfg.data, cfg.image_size, cfg.channels, training.split, cfg.max_images, cfg.seed,
                       left_out=True)
    return dataclasses.replace(faces, split=LEFT_OUT)


def unseen_from(unseen: Faces) -> str:
    """Where `load_unseen_faces`'s faces came from, in words."""
    return "images its --max-images subset left out" if unseen.split == LEFT_OUT else f"{unseen.split} split"
