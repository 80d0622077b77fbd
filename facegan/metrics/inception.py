"""FID and KID on InceptionV3 pool features, the figures GAN papers report.

FID (Heusel et al. 2017): the Frechet distance between Gaussians fitted to the two feature sets,
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)).
KID (Binkowski et al. 2018): the unbiased estimate of the squared MMD with the kernel
k(a, b) = (a.b / d + 1)^3, averaged over random subsets of both sets; its standard deviation over the
subsets says how far to trust it. Unlike FID it has no bias from the number of images.

The features are the 2,048 averaged pool features of `keras.applications.InceptionV3` with ImageNet
weights, for images resized to 299x299 (bilinear) and scaled to [-1, 1]; grayscale images are repeated
over three channels. These are Keras's weights, not the TF1 graph (pt_inception-2015-12-05) behind the
papers' FIDs, so the figures are comparable with each other, not with published ones.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np

from facegan.errors import FaceganError

WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_URL = f"https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/{WEIGHTS_FILE}"
INPUT_SIZE = 299
FEATURES = 2048
BATCH = 50
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


def fid(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to features a (N, D) and b (M, D)."""
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return frechet_distance(mu_a, cov_a, mu_b, cov_b)


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


def inception_network(weights: Path | None = None):
    """InceptionV3 up to its averaged pool features, with ImageNet weights: from `weights` (a local .h5 file),
    else from Keras's cache (~/.keras/models, or $KERAS_HOME/models), which Keras fills from the internet the
    first time. Neither: one line saying where to put the file."""
    import keras

    if weights is not None and not Path(weights).is_file():
        raise FaceganError(f"--inception-weights {weights}: no such file")
    try:
        with contextlib.redirect_stdout(sys.stderr):  # Keras reports a download on stdout, which holds results
            return keras.applications.InceptionV3(include_top=False, pooling="avg",
                                                  weights=str(weights or "imagenet"),
                                                  input_shape=(INPUT_SIZE, INPUT_SIZE, 3))
    except Exception as error:  # keras' download raises a bare Exception; a damaged file raises others
        if weights is not None:
            raise FaceganError(f"--inception-weights {weights}: not InceptionV3's weights ({error})") from None
        raise FaceganError(f"KID and FID need InceptionV3's ImageNet weights, which could not be fetched: put "
                           f"{WEIGHTS_FILE} (from {WEIGHTS_URL}) in ~/.keras/models/ or name it with "
                           f"--inception-weights PATH") from None


def inception_features(network, images: np.ndarray) -> np.ndarray:
    """(N, 2048) float32 pool features of images (N, H, W, C) uint8."""
    import tensorflow as tf

    @tf.function
    def features(batch):
        x = tf.cast(batch, tf.float32)
        x = tf.image.resize(tf.tile(x, [1, 1, 1, 3 // x.shape[-1]]), (INPUT_SIZE, INPUT_SIZE), "bilinear")
        return network(x / 127.5 - 1.0, training=False)

    return np.concatenate([features(images[i:i + BATCH]).numpy() for i in range(0, len(images), BATCH)]
                          or [np.zeros((0, FEATURES), np.float32)])
