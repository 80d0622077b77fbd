"""The fixed image set of the FID network's reference test, rebuilt the same on any machine from what
scikit-image ships and a few synthetic patterns: 64 RGB uint8 images of 16 to 300 px, of faces, photographs,
microscopy, text and patterns. Sizes change by nearest-neighbour index arithmetic, which has no float
rounding to differ between machines. Needs only NumPy and scikit-image (it also runs beside PyTorch, where
benchmarks/fid_reference.py computes the reference)."""

import hashlib

import numpy as np

SIZES = (16, 25, 32, 48, 64, 80, 100, 128, 160, 200, 256, 299, 300)
PICTURES = ("astronaut", "camera", "chelsea", "coffee", "coins", "hubble_deep_field", "immunohistochemistry",
            "moon", "page", "text", "retina", "rocket", "colorwheel", "clock", "grass", "brick", "logo",
            "microaneurysms", "cat", "gravel")


def rgb(image: np.ndarray) -> np.ndarray:
    """Any scikit-image picture as (H, W, 3) uint8: gray repeated, alpha dropped, bools and floats scaled."""
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif image.dtype != np.uint8:
        image = np.clip(np.rint(np.asarray(image, np.float64) * 255), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image[..., :3]


def nearest(image: np.ndarray, height: int, width: int) -> np.ndarray:
    rows = np.arange(height) * image.shape[0] // height
    columns = np.arange(width) * image.shape[1] // width
    return image[rows][:, columns]


def patterns(rng: np.random.Generator) -> list[np.ndarray]:
    y, x = np.mgrid[0:64, 0:64]
    return [((x // 8 + y // 8) % 2 * 255).astype(np.uint8),  # a checkerboard
            (x * 4).astype(np.uint8),  # a horizontal ramp
            rng.integers(0, 256, (64, 64, 3), np.uint8),  # noise
            np.full((64, 64, 3), (200, 30, 90), np.uint8)]  # one colour


def fid_images() -> list[np.ndarray]:
    """The 64 images, in a fixed order; the first 32 and the last 32 are the FID test's two halves."""
    from skimage import data

    rng = np.random.default_rng(2015)
    faces = [rgb(face) for face in data.lfw_subset()[:24]]  # 25x25 gray faces
    pictures = [rgb(getattr(data, name)()) for name in PICTURES]
    sources = faces + pictures + [rgb(p) for p in patterns(rng)] * 5
    images = []
    for i, image in enumerate(sources[:64]):
        height = SIZES[i % len(SIZES)]
        width = SIZES[(i * 5 + 3) % len(SIZES)] if i % 4 == 3 else height  # every fourth image not square
        images.append(nearest(image, height, width))
    return images


def images_digest(images: list[np.ndarray]) -> str:
    """SHA-256 of the images' pixels and shapes: the reference belongs to these images."""
    digest = hashlib.sha256()
    for image in images:
        digest.update(str(image.shape).encode() + np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()
