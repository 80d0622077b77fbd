"""FID against reference statistics (facegan.metrics.stats): saving a real set's, and measuring a run or an image
source against a saved file, its own or pytorch-fid's. Images are (N, H, W, C) uint8."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from facegan import files, imaging, registry, rundir
from facegan.checkpoints import checkpoint_name, load_networks
from facegan.config import TrainConfig
from facegan.data import load_faces, load_held_out_faces, load_training_faces, open_source
from facegan.errors import FaceganError, FaceganWarning
from facegan.imaging import read_image
from facegan.inference import new_samples, reconstruct
from facegan.metrics.fid import frechet_distance, gaussian
from facegan.metrics.fid_inception import INPUT_SIZE, weights_path
from facegan.metrics.inception import features
from facegan.metrics.stats import is_stats_file, read_stats, write_stats


def chosen(images: np.ndarray, count: int, seed: int) -> np.ndarray:
    """`count` of the images, picked by the seed, in their order."""
    return images[np.sort(np.random.default_rng(seed).permutation(len(images))[:count])]


def native_size(source: str) -> int:
    """The shorter side of a source's first image."""
    opened, _ = open_source(source)
    if not opened.names:
        raise FaceganError(f"data source {source!r} has no usable image")
    first = opened.array[0] if opened.array is not None else read_image(opened.paths[0])
    return int(min(first.shape[:2]))


def save_source_stats(source: str, path: Path, n: int, seed: int = 0, image_size: int | None = None,
                      channels: int = 3, weights: Path | None = None, progress: Callable | None = None) -> dict:
    """The statistics of min(n, all) images of `source` (picked by the seed), read at `image_size` (default: its
    first image's shorter side, at most 299) with `channels`, written to `path`; returns their record."""
    if n < 1:
        raise FaceganError("-n must be positive")
    weights_path(weights)  # found, or one line on how to install them, before any work
    if rundir.is_run_dir(Path(source).expanduser()) or is_stats_file(source):
        raise FaceganError(f"--save-stats takes real images (a folder, an .npz/.npy, a CelebA folder); {source} "
                           "is a run or statistics already")
    size = image_size or min(native_size(source), INPUT_SIZE)
    images = load_faces(source, size, channels).images
    picked = chosen(images, min(n, len(images)), seed)
    found = features(picked, weights, progress)
    try:
        return write_stats(path, found, {"source": source, "resolution": size, "channels": channels, "seed": seed})
    except OSError as error:  # an unwritable folder, a full disk: nothing half-written stays (files.write_bytes)
        raise FaceganError(f"cannot write {path}: {error.strerror or error}") from None


def source_features(source: str, n: int, seed: int, size: int, channels: int, weights: Path | None,
                    progress: Callable | None) -> np.ndarray:
    """The Inception features of min(n, all) of an image source's images (picked by the seed), read at `size`."""
    images = load_faces(source, size, channels).images
    return features(chosen(images, min(n, len(images)), seed), weights, progress)


def fid_of_sources(a: str, b: str, n: int, seed: int, image_size: int | None, channels: int,
                   weights: Path | None, progress: Callable | None) -> dict:
    """FID of B against A where either (or both) is a statistics file; an image source is read at `image_size`,
    else at the side the statistics were made at (the file's record), else at its own."""
    stats = {source: read_stats(source) for source in (a, b) if is_stats_file(source)}  # each file read once
    images = next((source for source in (a, b) if source not in stats), None)
    size = image_size or next((s.settings["resolution"] for s in stats.values() if "resolution" in s.settings), None)
    if images is not None and size is None:
        size = min(native_size(images), INPUT_SIZE)
    gaussians, counts = [], []
    for source in (b, a):  # B's Gaussian first, as `fid(B's features, A's)` of two image sources
        if source in stats:
            gaussians += [stats[source].mu, stats[source].sigma]
            counts.append(stats[source].settings.get("images"))
        else:
            found = source_features(source, n, seed, size, channels, weights, progress)
            gaussians += gaussian(found)
            counts.append(len(found))
    return {"fid": frechet_distance(*gaussians),
            "settings": {"a": a, "b": b, "images_a": counts[1], "images_b": counts[0], "resolution": size,
                         "channels": channels, "seed": seed, "reference": next(iter(stats.values())).settings}}


def fid_of_run(run: Path, stats_path: str, n: int, seed: int = 0, best: bool = False, epoch: int | None = None,
               raw: bool = False, weights: Path | None = None, progress: Callable | None = None) -> dict:
    """FID of a run's networks against saved statistics: n new samples (seeds seed to seed + n - 1), or for the
    autoencoders reconstructions of min(n, all) of its held-out (else training) faces. Also goes to RUN/eval.json."""
    stats = read_stats(stats_path)
    cfg = TrainConfig.read(run)
    nets = load_networks(run, best, epoch, raw)
    made = stats.settings.get("resolution")
    if made is not None and made != cfg.image_size:
        warnings.warn(f"the statistics were made from images read at {made} px and this run's are {cfg.image_size} "
                      "px: both are resized to 299 for the network, but a FID between them mixes in the "
                      "difference in sharpness", FaceganWarning)
    reconstructs = registry.get(cfg.model).reconstructs
    if reconstructs:
        training = load_training_faces(cfg)
        faces = (load_held_out_faces(cfg, training) or training).images
        generated = reconstruct(nets, imaging.to_float(chosen(faces, min(n, len(faces)), seed)))
    else:
        generated = new_samples(nets["generator"], cfg, range(seed, seed + n))[2]
    found = features(imaging.to_uint8(generated), weights, progress)
    result = {"fid": frechet_distance(*gaussian(found), stats.mu, stats.sigma),
              "settings": {"images": len(found), "seed": seed, "model": cfg.model, "statistics": stats_path,
                           "reference": stats.settings,
                           "generated": "reconstructions" if reconstructs else "samples"},
              "checkpoint": checkpoint_name(best, epoch) + (" (raw)" if raw else "")}
    files.write_json(run / rundir.EVAL, result)
    return result
