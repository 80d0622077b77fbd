"""The variety of a batch of images, which the health guard watches for mode collapse."""

from __future__ import annotations

import numpy as np


def diversity(images: np.ndarray) -> float:
    """Mean pairwise root-mean-square difference between the images of a batch (0: all identical)."""
    flat = np.asarray(images, np.float64).reshape(len(images), -1)
    squares = np.sum(flat ** 2, axis=1)
    distances = np.maximum(squares[:, None] + squares[None, :] - 2.0 * flat @ flat.T, 0.0)
    upper = np.triu_indices(len(flat), k=1)
    return float(np.mean(np.sqrt(distances[upper] / flat.shape[1])))
