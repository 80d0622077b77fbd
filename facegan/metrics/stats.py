"""Reference statistics: the mean and covariance of a real set's FID Inception features, saved once and shared.

The file is an .npz in pytorch-fid's format (`mu`, `sigma`, as `python -m pytorch_fid --save-stats` writes and
reads), with a third entry, `facegan`: a JSON text of how the statistics were made (the source, the images, the
side they were read at, their fitting and the network), since FIDs agree only between sets prepared alike.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegan import __version__, files
from facegan.errors import FaceganError
from facegan.metrics.fid import gaussian
from facegan.metrics.fid_inception import FEATURES, INPUT_SIZE, WEIGHTS_SHA1

# how facegan prepares images for the FID Inception network, recorded in every statistics file
PREPARATION = {
    "fitted": "centre square crop, antialiased resize to the side (scikit-image), as facegan train reads images",
    "network_input": f"bilinear resize to {INPUT_SIZE}x{INPUT_SIZE} (align_corners=False, half_pixel_centers=False), "
                     "values x / 128 - 1: the FID Inception graph of 2015-12-05 (TTUR's, as clean-fid and "
                     "StyleGAN2-ADA compute it)",
    "network_sha1": WEIGHTS_SHA1,
}


@dataclass(frozen=True)
class Stats:
    mu: np.ndarray  # (2048,)
    sigma: np.ndarray  # (2048, 2048)
    settings: dict  # how they were made; {} for a file made elsewhere (pytorch-fid's)


def write_stats(path: Path, features: np.ndarray, settings: dict) -> dict:
    """Save the Gaussian of features (N, 2048) with `settings` (the source, images, side and channels) and
    facegan's preparation; returns what was recorded."""
    mu, sigma = gaussian(features)
    record = {**settings, **PREPARATION, "images": len(features), "facegan": __version__}
    files.write_npz(Path(path), mu=mu, sigma=sigma, facegan=np.array(json.dumps(record)))
    return record


def is_stats_file(source: str) -> bool:
    """Whether `source` is an .npz holding `mu` and `sigma` (a statistics file, not images)."""
    path = Path(source).expanduser()
    if path.suffix.lower() != ".npz" or not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {"mu", "sigma"} <= set(archive.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):  # not an archive: read (and refused) as images
        return False


def read_stats(source: str) -> Stats:
    """The statistics of a file `is_stats_file` accepts, checked: a mean of 2048 and its covariance, finite."""
    path = Path(source).expanduser()
    try:
        with np.load(path, allow_pickle=False) as archive:
            mu, sigma = np.asarray(archive["mu"]), np.asarray(archive["sigma"])
            settings = json.loads(str(archive["facegan"])) if "facegan" in archive.files else {}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise FaceganError(f"{source} cannot be read as FID statistics: {error}") from None
    if mu.shape != (FEATURES,) or sigma.shape != (FEATURES, FEATURES):
        raise FaceganError(f"{source} is not FID statistics: it needs mu ({FEATURES},) and sigma ({FEATURES}, "
                           f"{FEATURES}); it has mu {mu.shape} and sigma {sigma.shape}")
    if mu.dtype.kind != "f" or sigma.dtype.kind != "f" or not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise FaceganError(f"{source} is not FID statistics: its mu and sigma must be finite floats")
    return Stats(mu, sigma, settings if isinstance(settings, dict) else {})
