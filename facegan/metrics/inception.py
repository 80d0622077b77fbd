"""FID, KID and precision and recall of image sets, on the FID Inception network (facegan.metrics.fid_inception).

The features of a real set are cached beside the decoded images (FACEGAN_CACHE), keyed by the SHA-256 of the
set's pixels and the network's: the same real set at the next evaluation, or as the noise floor of another
run on the same data, costs one hash instead of a pass through the network.
"""

from __future__ import annotations

import hashlib
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from facegan import files
from facegan.data.cache import cache_dir
from facegan.errors import FaceganWarning
from facegan.metrics.fid import KID_SUBSET_SIZE, NEIGHBOURS, fid, kid, precision_recall
from facegan.metrics.fid_inception import FEATURES, WEIGHTS_SHA1, fid_inception, inception_features, weights_path


@lru_cache(maxsize=2)
def network(weights: Path):
    """The FID Inception network of the archive `weights`, built once per process."""
    return fid_inception(weights)


def features(images: np.ndarray, weights: Path | None = None, progress: Callable | None = None,
             cache: bool = False) -> np.ndarray:
    """(N, 2048) features of images (N, H, W, C) uint8; with `cache`, read from or kept in the cache."""
    path = None
    if cache:
        digest = hashlib.sha256(f"{WEIGHTS_SHA1} {images.shape} {images.dtype}".encode())
        digest.update(np.ascontiguousarray(images).data)
        path = cache_dir() / "features" / f"{digest.hexdigest()[:24]}.npy"
        if path.is_file():
            try:  # a damaged entry, or one of another dtype or shape, is computed again and replaced
                cached = np.load(path)
                if cached.dtype == np.float32 and cached.shape == (len(images), FEATURES):
                    return cached
            except (OSError, ValueError):
                pass
    found = inception_features(network(weights_path(weights)), images, progress)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            files.write_npy(path, found)
        except OSError as error:  # the figures do not need the cache: a full or read-only disk only costs time
            warnings.warn(f"the features of the real images were not cached ({error})", FaceganWarning)
    return found


def inception_figures(reference: np.ndarray, others: dict[str, np.ndarray], seed: int,
                      weights: Path | None = None, progress: Callable | None = None) -> dict:
    """{fid_NAME, kid_NAME, kid_NAME_std, precision_NAME, recall_NAME} of each set of `others` (name -> images,
    "" for the generated set, "real" for the noise floor, which is real and cached) against the real
    `reference` set (cached)."""
    reference_features = features(reference, weights, progress, cache=True)
    figures = {}
    for name, images in others.items():
        found = features(images, weights, progress, cache=name == "real")
        suffix = f"_{name}" if name else ""
        smaller = min(len(found), len(reference_features))
        # subsets of at most half of each set: subsets of a whole set would all be the set, their spread 0
        subset = min(KID_SUBSET_SIZE, max(2, smaller // 2))
        figures[f"kid{suffix}"], figures[f"kid{suffix}_std"] = kid(found, reference_features, seed, subset_size=subset)
        figures[f"fid{suffix}"] = fid(found, reference_features)
        figures[f"precision{suffix}"], figures[f"recall{suffix}"] = \
            precision_recall(reference_features, found) if smaller > NEIGHBOURS else (None, None)
    return figures
