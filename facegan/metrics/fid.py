"""FID, KID, and precision and recall, of two sets of Inception pool features: the figures GAN papers report.

FID (Heusel et al. 2017): the Frechet distance between Gaussians fitted to the two feature sets,
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)).
KID (Binkowski et al. 2018): the unbiased estimate of the squared MMD with the kernel
k(a, b) = (a.b / d + 1)^3, averaged over random subsets of both sets; its standard deviation over the
subsets says how far to trust it. Unlike FID it has no bias from the number of images.

Precision and recall (Kynkaenniemi et al. 2019): each set's manifold is the union of balls around its
features reaching to each one's k-th nearest neighbour in the set; precision is the share of generated
features inside the real manifold (are the faces realistic?), recall the share of real features inside the
generated one (is the variety there?). The features come from facegan.metrics.fid_inception.
"""

from __future__ import annotations

import numpy as np

from facegan.errors import FaceganError

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
NEIGHBOURS = 3  # k of precision and recall
BLOCK = 1024  # rows of a block of pairwise distances


def fid(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to features a (N, D) and b (M, D)."""
    return frechet_distance(*gaussian(a), *gaussian(b))


def gaussian(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean (D,) and covariance (D, D) of features (N, D), computed as pytorch-fid computes them."""
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu_a, cov_a, mu_b, cov_b) -> float:
    """|mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2)), in float64. tr((S_a S_b)^(1/2)) is the
    sum of the square roots of the eigenvalues of S_a^(1/2) S_b S_a^(1/2), which is symmetric positive
    semi-definite: no complex parts to discard, as scipy's sqrtm of S_a S_b leaves."""
    cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    difference = np.asarray(mu_a, np.float64) - np.asarray(mu_b, np.float64)
    return float(difference @ difference + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def kid(a: np.ndarray, b: np.ndarray, seed: int = 0, subsets: int = KID_SUBSETS,
        subset_size: int = KID_SUBSET_SIZE) -> tuple[float, float]:
    """(mean, standard deviation) over `subsets` random subsets of min(subset_size, N, M) features of each set
    of the unbiased squared MMD with the cubic polynomial kernel."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise FaceganError(f"KID needs at least 2 images per set, got {min(len(a), len(b))}")
    rng = np.random.default_rng(seed)
    dimension = a.shape[1]
    estimates = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        k_xx, k_yy, k_xy = ((p @ q.T / dimension + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        estimates.append(within - 2 * k_xy.mean())
    return float(np.mean(estimates)), float(np.std(estimates))


def precision_recall(real: np.ndarray, generated: np.ndarray, k: int = NEIGHBOURS) -> tuple[float, float]:
    """(precision, recall) of generated features (M, D) against real ones (N, D), with k nearest neighbours."""
    if min(len(real), len(generated)) <= k:
        raise FaceganError(f"precision and recall need more than {k} images per set")
    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    return _coverage(real, _kth_distances(real, k), generated), _coverage(generated, _kth_distances(generated, k), real)


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None], 0.0)


def _kth_distances(features: np.ndarray, k: int) -> np.ndarray:
    """The squared distance of each feature to its k-th nearest other feature of the set."""
    kth = []
    for start in range(0, len(features), BLOCK):
        block = _squared_distances(features[start:start + BLOCK], features)
        kth.append(np.partition(block, k, axis=1)[:, k])  # column 0 of the order is the feature itself
    return np.concatenate(kth)


def _coverage(manifold: np.ndarray, radii: np.ndarray, probes: np.ndarray) -> float:
    """The share of `probes` inside at least one ball of the manifold (squared radii `radii`)."""
    inside = [(_squared_distances(probes[start:start + BLOCK], manifold) <= radii[None]).any(1)
              for start in range(0, len(probes), BLOCK)]
    return float(np.concatenate(inside).mean())
