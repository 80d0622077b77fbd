"""Images: [-1, 1] floats <-> uint8, grids, PNG and GIF files through imageio."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from facegan import rundir


def to_uint8(images: np.ndarray) -> np.ndarray:
    """(..., H, W, C) floats in [-1, 1] -> uint8 in [0, 255]."""
    return np.clip(np.rint((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def reconstruction_rows(x: np.ndarray, x_rec: np.ndarray, columns: int = 8) -> np.ndarray:
    """Rows of `columns` inputs, each followed by the row of their reconstructions."""
    rows = []
    for start in range(0, len(x), columns):
        rows += [x[start:start + columns], x_rec[start:start + columns]]
    return np.concatenate(rows)


def grid(images: np.ndarray, columns: int | None = None, pad: int = 2) -> np.ndarray:
    """(N, H, W, C) uint8 -> one (rows*(H+pad)+pad, columns*(W+pad)+pad, C) image, white padding."""
    n, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    canvas = np.full((rows * (height + pad) + pad, columns * (width + pad) + pad, channels), 255, np.uint8)
    for i, image in enumerate(images):
        top, left = pad + (i // columns) * (height + pad), pad + (i % columns) * (width + pad)
        canvas[top:top + height, left:left + width] = image
    return canvas


def write_png(path: Path, image: np.ndarray) -> None:
    import imageio.v3 as iio

    image = image[..., 0] if image.shape[-1] == 1 else image
    rundir.write_bytes(path, iio.imwrite("<bytes>", image, extension=".png"))


def write_gif(path: Path, frames: list[np.ndarray], seconds_per_frame: float = 0.5) -> None:
    import imageio.v3 as iio

    frames = [f[..., 0] if f.shape[-1] == 1 else f for f in frames]
    data = iio.imwrite("<bytes>", np.stack(frames), extension=".gif",
                       duration=int(seconds_per_frame * 1000), loop=0)
    rundir.write_bytes(path, data)


def read_png(path: Path) -> np.ndarray:
    """An image file as (H, W, C) uint8."""
    import imageio.v3 as iio

    image = iio.imread(path)
    return image[..., None] if image.ndim == 2 else image


def tiles(canvas: np.ndarray, size: int, pad: int = 2) -> np.ndarray:
    """The inverse of `grid`: (N, size, size, C) tiles of a grid image, row by row, blank tiles left out."""
    rows = (canvas.shape[0] - pad) // (size + pad)
    columns = (canvas.shape[1] - pad) // (size + pad)
    found = [canvas[pad + r * (size + pad):pad + r * (size + pad) + size,
                    pad + c * (size + pad):pad + c * (size + pad) + size]
             for r in range(rows) for c in range(columns)]
    return np.stack([t for t in found if not np.all(t == 255)])
