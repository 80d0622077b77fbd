"""Nearest training images of generated ones: the memorization check. NumPy only.

Distances are taken at the model's resolution and value range [-1, 1]: L1 is the mean absolute
pixel difference, L2 the mean squared one. The search is exhaustive and vectorized in chunks:
L1 in uint8 (max - min) with exact integer sums, L2 through one float64 matrix product (exact: the sums of
squared 8-bit differences are integers far below 2**53).
"""

from __future__ import annotations

import numpy as np

CHUNK_BYTES = 2**25  # training pixels compared at once (32 MiB of uint8 differences)


def _flat(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1)


def nearest(queries: np.ndarray, train: np.ndarray, metric: str = "l1") -> tuple[np.ndarray, np.ndarray]:
    """For each uint8 query image, (index of its nearest training image, distance in [-1, 1] units)."""
    q, t = _flat(queries), _flat(train)
    pixels = q.shape[1]
    if metric == "l2":
        qf, tf_ = q.astype(np.float64), t.astype(np.float64)
        squared = (qf * qf).sum(1)[:, None] + (tf_ * tf_).sum(1)[None, :] - 2.0 * (qf @ tf_.T)
        index = squared.argmin(1)
        return index, squared[np.arange(len(q)), index] / pixels / 127.5**2
    best, index = np.full(len(q), np.inf), np.zeros(len(q), np.int64)
    rows = max(1, CHUNK_BYTES // pixels)
    for start in range(0, len(t), rows):
        chunk = t[start:start + rows]
        for i, query in enumerate(q):
            sums = l1_sums(query, chunk)
            j = int(sums.argmin())
            if sums[j] < best[i]:
                best[i], index[i] = sums[j], start + j
    return index, best / pixels / 127.5


def l1_sums(query: np.ndarray, train: np.ndarray) -> np.ndarray:
    """(N,) exact sums |train - query| of uint8 rows: |a - b| = max - min in uint8, then uint16 partial
    sums over groups of 256 pixels (at most 255 * 256 < 2**16), then int64."""
    diff = np.maximum(train, query)
    diff -= np.minimum(train, query)
    full = diff.shape[1] // 256 * 256
    sums = diff[:, :full].reshape(len(diff), -1, 256).sum(2, dtype=np.uint16).sum(1, dtype=np.int64)
    return sums + diff[:, full:].sum(1, dtype=np.int64)


def split_held_out(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(held-out indices, remaining indices): a random `fraction` of n images, at least one each."""
    order = np.random.default_rng(seed).permutation(n)
    count = min(max(1, int(round(n * fraction))), n - 1)
    return np.sort(order[:count]), np.sort(order[count:])


def memorization(sample_distances: np.ndarray, held_out_distances: np.ndarray) -> dict:
    """Copy rate: share of samples nearer to a training image than the 1st percentile of real-to-train distances."""
    threshold = float(np.percentile(held_out_distances, 1))
    summary = lambda d: {"min": float(d.min()), "median": float(np.median(d)), "mean": float(d.mean())}  # noqa: E731
    return {"copy_rate": float(np.mean(sample_distances < threshold)), "copy_threshold": threshold,
            "sample_distance": summary(sample_distances), "held_out_distance": summary(held_out_distances)}
