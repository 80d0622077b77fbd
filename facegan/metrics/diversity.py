"""The variety of a batch of images, which the health guard watches for mode collapse."""

from __future__ import annotations

import numpy as np


def diversity(images: np.ndarray) -> float:
    """Mean pairwise root-mean-square difference between the images of a batch (0: all identical, exactly:
    the differences are taken pixel by pixel, not expanded into squares and products, whose rounding left
    identical images about 1e-9 apart)."""
    flat = np.asarray(images, np.float64).reshape(len(images), -1)
    distances = [np.sqrt(np.mean((flat[i + 1:] - flat[i]) ** 2, axis=1)) for i in range(len(flat) - 1)]
    return float(np.mean(np.concatenate(distances))) if len(flat) > 1 else 0.0
