"""Sliced Wasserstein distance between image sets, as the progressive-GAN paper measures it
(Karras et al. 2018, "Progressive growing of GANs", section 5 and its sliced_wasserstein.py).

Per image set and per level of a Laplacian pyramid (5x5 binomial filter, from the images'
resolution down to 16x16): 128 random 7x7 patches per image, the descriptor set normalized
per channel (mean and standard deviation over the whole set), 512 random unit projections
(4 repeats of 128), and the mean absolute difference of the sorted projections, times 1e3.
The patch positions and the projections come from the seed, so that every set of the same
size is cut and projected in the same way: the distance of a set to itself is exactly 0 and
the distance is exactly symmetric. NumPy only; images (N, H, W, C) uint8.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from facegan.errors import FaceganError

BINOMIAL = np.array([1, 4, 6, 4, 1], np.float32) / 16  # the 5x5 filter is its outer product
PATCH = 7
PATCHES_PER_IMAGE = 128
DIRECTIONS_PER_REPEAT = 128
REPEATS = 4
MIN_RESOLUTION = 16
SCALE = 1e3


def settings(images: int, resolution: int, seed: int) -> dict:
    """Everything a figure depends on besides the images: figures are comparable only when these match."""
    return {"images": images, "resolution": resolution, "levels": resolutions(resolution),
            "patches_per_image": PATCHES_PER_IMAGE, "patch_size": PATCH,
            "projections": REPEATS * DIRECTIONS_PER_REPEAT, "seed": seed}


def resolutions(size: int) -> list[int]:
    """Pyramid levels from `size` down to MIN_RESOLUTION (only `size` itself when it is smaller)."""
    if size < PATCH:
        raise FaceganError(f"images of {size}x{size} are smaller than the {PATCH}x{PATCH} SWD patches")
    levels = []
    while size >= MIN_RESOLUTION or not levels:
        levels.append(size)
        size = (size + 1) // 2
    return levels


def _blur(images: np.ndarray) -> np.ndarray:
    """The 5x5 binomial filter, applied separably, mirrored at the borders (scipy's mode='mirror')."""
    height, width = images.shape[1:3]
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    rows = sum(w * padded[:, i:i + height] for i, w in enumerate(BINOMIAL))
    return sum(w * rows[:, :, i:i + width] for i, w in enumerate(BINOMIAL))


def pyramid_down(images: np.ndarray) -> np.ndarray:
    return _blur(images)[:, ::2, ::2]


def pyramid_up(images: np.ndarray, shape: tuple) -> np.ndarray:
    """Zeros between the pixels, then the filter times 4; cropped to `shape` (odd sizes)."""
    n, height, width, channels = images.shape
    up = np.zeros((n, 2 * height, 2 * width, channels), np.float32)
    up[:, ::2, ::2] = images
    return 4.0 * _blur(up)[:, :shape[1], :shape[2]]


def laplacian_pyramid(images: np.ndarray, levels: int) -> list[np.ndarray]:
    """[band-pass at full resolution, ..., the low-pass image at the smallest level], float32."""
    pyramid = [np.asarray(images, np.float32)]
    for _ in range(1, levels):
        pyramid.append(pyramid_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - pyramid_up(pyramid[-1], pyramid[-2].shape)
    return pyramid


def descriptors(level: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N*128, 7*7*C) patches of one pyramid level, normalized per channel over the whole set."""
    n, height, width, channels = level.shape
    top = rng.integers(0, height - PATCH + 1, (n, PATCHES_PER_IMAGE))
    left = rng.integers(0, width - PATCH + 1, (n, PATCHES_PER_IMAGE))
    offsets = np.arange(PATCH)
    patches = level[np.arange(n)[:, None, None, None],
                    top[:, :, None, None] + offsets[:, None],
                    left[:, :, None, None] + offsets[None, :]]  # (N, 128, 7, 7, C)
    patches = patches.reshape(-1, PATCH * PATCH, channels)
    patches -= patches.mean(axis=(0, 1))
    patches /= patches.std(axis=(0, 1)) + 1e-8
    return patches.reshape(len(patches), -1)


def _sort_rows(array: np.ndarray) -> None:
    """Sort every row of a (sets, rows, n) array in place, rows spread over the CPU cores
    (NumPy releases the GIL while it sorts)."""
    rows = array.view()
    rows.shape = (-1, array.shape[-1])  # raises rather than sorting a copy
    chunks = np.array_split(np.arange(len(rows)), os.cpu_count() or 1)
    with ThreadPoolExecutor(len(chunks)) as pool:
        list(pool.map(lambda chunk: rows[chunk[0]:chunk[-1] + 1].sort(axis=1), [c for c in chunks if len(c)]))


def sliced_wasserstein(reference: np.ndarray, others: list[np.ndarray], seed: int = 0) -> list[dict]:
    """For each set of `others` (the same size as `reference`): {resolution: SWD x 1e3, ..., "mean": ...}.

    Each level's reference descriptors are projected and sorted once and compared with every
    other set, so a generated set and a real noise-floor set cost one pass together.
    """
    sizes = {len(reference), *(len(o) for o in others)}
    if len(sizes) != 1:
        raise ValueError(f"SWD needs sets of one size, got {sorted(sizes)}")
    levels = resolutions(reference.shape[1])
    pyramids = [laplacian_pyramid(images, len(levels)) for images in [reference, *others]]
    results = [{} for _ in others]
    for index in range(len(levels)):
        # every set gets the same patch positions and the same projections
        sets = [descriptors(pyramid[index], np.random.default_rng([seed, 0, index])) for pyramid in pyramids]
        direction_rng = np.random.default_rng([seed, 1, index])
        distances = np.zeros(len(others))
        for _ in range(REPEATS):
            directions = direction_rng.standard_normal((sets[0].shape[1], DIRECTIONS_PER_REPEAT)).astype(np.float32)
            directions /= np.sqrt(np.sum(np.square(directions), axis=0, keepdims=True))
            projected = np.empty((len(sets), DIRECTIONS_PER_REPEAT, len(sets[0])), np.float32)
            for i, d in enumerate(sets):
                projected[i] = (d @ directions).T
            _sort_rows(projected)
            for k, other in enumerate(projected[1:]):
                distances[k] += np.abs(projected[0] - other).mean(dtype=np.float64) / REPEATS
        size = pyramids[0][index].shape[1]
        for result, distance in zip(results, distances):
            result[size] = float(distance * SCALE)
    for result in results:
        result["mean"] = float(np.mean(list(result.values())))
    return results
