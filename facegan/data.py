"""Face data: sources -> uint8 arrays (N, H, W, C) + labels -> a tf.data pipeline.

Sources: "lfw" (scikit-image's embedded faces), a folder of images, a CelebA folder
(with `list_attr_celeba.txt`), or a .npz/.npy array. Decoded, resized arrays are cached
as plain .npy files keyed by source, size and channels. TensorFlow is imported only by
`make_dataset`, so analysis commands can read data without it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegan import files
from facegan.errors import FaceganError
from facegan.imaging import find_images

CELEBA_ATTRIBUTES = "list_attr_celeba.txt"
CACHE_VERSION = 1  # bump when the decoding changes, so old cache files are not reused


@dataclass
class Faces:
    images: np.ndarray  # (N, H, W, C) uint8
    names: list[str]  # file name (or index) of each image in its source
    attributes: dict[str, np.ndarray] | None  # CelebA attribute -> (N,) bool
    labels: np.ndarray | None  # (N,) int class labels, from a .npz "labels" array
    source: str
    skipped: int  # files that could not be decoded
    digest: str  # sha256 of the image array

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

def to_unit_float(image: np.ndarray) -> np.ndarray:
    """Any image array -> float32 in [0, 1]; uint8/uint16 by their range, floats as [0,1] or [-1,1]."""
    if np.issubdtype(image.dtype, np.integer):
        return image.astype(np.float32) / np.iinfo(image.dtype).max
    image = image.astype(np.float32)
    return (image + 1.0) / 2.0 if image.min() < 0 else image


def fit_image(image: np.ndarray, size: int, channels: int) -> np.ndarray:
    """(H, W[, C]) image -> (size, size, channels) uint8: center crop, antialiased resize, channel count."""
    from skimage.transform import resize

    image = to_unit_float(image)
    if image.ndim == 2:
        image = image[..., None]
    image = image[..., :3]  # alpha dropped
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

def _lfw() -> list[tuple[str, np.ndarray]]:
    from skimage.data import lfw_subset

    return [(f"lfw:{i}", face) for i, face in enumerate(lfw_subset()[:100])]  # items 0-99 are faces


def _decode(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    image = iio.imread(path, index=0) if path.suffix.lower() == ".gif" else iio.imread(path)
    if image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        raise ValueError(f"not a single image: shape {image.shape}")
    return image


def read_celeba_attributes(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """The official attribute file -> (file names, attribute names, (N, 40) bool)."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    try:
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


def _celeba_image_dir(root: Path, first_file: str) -> Path:
    for folder in (root, root / "images", root / "img_align_celeba"):
        if (folder / first_file).exists():
            return folder
    raise FaceganError(f"{root}: cannot find the images listed in {CELEBA_ATTRIBUTES} "
                       "(looked in the folder, images/ and img_align_celeba/)")


def _array_file(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise FaceganError(f"cannot read {path}: {error}") from None
    if isinstance(loaded, np.ndarray):
        return loaded, None
    keys = list(loaded.keys())
    if not keys:
        raise FaceganError(f"{path} holds no arrays")
    images = loaded["images"] if "images" in keys else loaded[keys[0]]
    labels = loaded["labels"].astype(np.int32) if "labels" in keys else None
    return images, labels


# --- loading with the cache ------------------------------------------------------

def _fingerprint(paths: list[Path]) -> list:
    return [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths]


def _cached(key_parts: list, decode) -> tuple[np.ndarray, list[str], int]:
    """Return (images, names, skipped) from the .npy cache, or decode() and store them."""
    key = hashlib.sha256(json.dumps([CACHE_VERSION, *key_parts]).encode()).hexdigest()[:24]
    images_path, meta_path = cache_dir() / f"{key}.npy", cache_dir() / f"{key}.json"
    if images_path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        return np.load(images_path), meta["names"], meta["skipped"]
    images, names, skipped = decode()
    if len(images):
        files.write_npy(images_path, images)
        files.write_json(meta_path, {"names": names, "skipped": skipped})
    return images, names, skipped


def _decode_all(items, size: int, channels: int) -> tuple[np.ndarray, list[str], int]:
    """items: (name, path or array) pairs -> stacked images, kept names, number skipped."""
    images, names, skipped = [], [], 0
    for name, item in items:
        try:
            image = _decode(item) if isinstance(item, Path) else item
            images.append(fit_image(image, size, channels))
            names.append(name)
        except Exception:  # any undecodable file is skipped and counted, never fatal
            skipped += 1
    stacked = np.stack(images) if images else np.zeros((0, size, size, channels), np.uint8)
    return stacked, names, skipped


def _open_source(source: str):
    """(cache key, items(), labels_for(kept names) -> (attributes, labels)) for a data source."""
    path = Path(source).expanduser()

    def no_labels(names):
        return None, None

    if source == "lfw":
        import skimage

        return ["lfw", skimage.__version__], _lfw, no_labels
    if path.is_file() and path.suffix.lower() in (".npz", ".npy"):
        array, labels = _array_file(path)
        if array.ndim not in (3, 4) or len(array) == 0:
            raise FaceganError(f"{path}: expected images of shape (N,H,W) or (N,H,W,C), got {array.shape}")
        if labels is not None and len(labels) != len(array):
            raise FaceganError(f"{path}: {len(labels)} labels for {len(array)} images")

        def items():
            return [(str(i), image) for i, image in enumerate(array)]

        def array_labels(names):
            return None, labels[[int(n) for n in names]]

        return ["array", *_fingerprint([path])], items, no_labels if labels is None else array_labels
    if (path / CELEBA_ATTRIBUTES).is_file():
        listed, attribute_names, values = read_celeba_attributes(path / CELEBA_ATTRIBUTES)
        if not listed:
            raise FaceganError(f"{path / CELEBA_ATTRIBUTES} lists no images")
        folder = _celeba_image_dir(path, listed[0])
        row = {name: i for i, name in enumerate(listed)}

        def attributes(names):
            kept = values[[row[name] for name in names]]
            return {name: kept[:, j] for j, name in enumerate(attribute_names)}, None

        key = ["celeba", *_fingerprint([path / CELEBA_ATTRIBUTES]), str(folder.resolve())]
        return key, lambda: [(name, folder / name) for name in listed], attributes
    if path.is_dir():
        found = find_images(path)
        return ["folder", *_fingerprint(found)], lambda: [(str(p.relative_to(path)), p) for p in found], no_labels
    raise FaceganError(f"data source {source!r} is neither 'lfw', an image folder, a CelebA folder "
                       "nor a .npz/.npy file")


def load_faces(source: str, image_size: int, channels: int) -> Faces:
    """Load a data source at the model's size and channel count (see the module docstring)."""
    key, items, labels_for = _open_source(source)
    images, names, skipped = _cached([*key, image_size, channels],
                                     lambda: _decode_all(items(), image_size, channels))
    if len(images) == 0:
        raise FaceganError(f"data source {source!r} has no usable image ({skipped} could not be decoded)")
    attributes, labels = labels_for(names)
    digest = hashlib.sha256(images.tobytes()).hexdigest()
    return Faces(images, names, attributes, labels, source, skipped, digest)


# --- the tf.data pipeline --------------------------------------------------------

def make_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, epoch: int,
                 skip_batches: int = 0):
    """One epoch of (x, y) batches: x (B, H, W, C) float32 in [-1, 1], y (B,) int32.

    The order is a permutation drawn from (seed, epoch), so a resumed run sees the same
    batches as an uninterrupted one; `skip_batches` starts after the batches an interrupted
    epoch already trained on. Batches are dropped at the remainder and prefetched.
    """
    import tensorflow as tf

    order = np.random.default_rng([seed, epoch]).permutation(len(images))[skip_batches * batch_size:]
    images_t, labels_t = tf.constant(images), tf.constant(labels, tf.int32)

    def gather(indices):
        x = tf.cast(tf.gather(images_t, indices), tf.float32) / 127.5 - 1.0  # imaging.to_float, in the graph
        return x, tf.gather(labels_t, indices)

    # No autotuning: its thread sleeps for periods that double from 10 ms up to a minute, and deleting
    # the iterator at the end of an epoch waited for the thread to wake up (20.5 s epochs of 16.8 s of
    # steps). A gather needs no tuning: two batches in flight keep the step fed.
    options = tf.data.Options()
    options.autotune.enabled = False
    dataset = tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=True)
    return dataset.map(gather, num_parallel_calls=2).prefetch(2).with_options(options)
