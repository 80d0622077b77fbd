"""Where analysis commands find images: run directories, folders, files. No TensorFlow."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from facegan import imaging, registry, rundir
from facegan.config import TrainConfig
from facegan.errors import FaceganError


def epoch_grid(run: Path, epoch: int | None = None) -> Path:
    """The sample grid of `epoch`, or the newest; a missing one is one line naming the epochs that have one."""
    grids = rundir.epoch_grids(run)
    if not grids:
        raise FaceganError(f"{run} has no sample grid yet (samples/epoch_*.png)")
    if epoch is None:
        return grids[-1]
    if not rundir.epoch_grid(run, epoch).is_file():
        epochs = ", ".join(str(int(grid.stem.split("_")[1])) for grid in grids)
        raise FaceganError(f"{run} has no sample grid of epoch {epoch}: the epochs with one are {epochs}")
    return rundir.epoch_grid(run, epoch)


def generated_tiles(run: Path, epoch: int | None = None) -> tuple[Path, np.ndarray]:
    """The generated images of a run's newest sample grid, or of `epoch`'s (for autoencoders: the reconstruction
    rows)."""
    cfg = TrainConfig.read(run)
    grid_path = epoch_grid(run, epoch)
    images = imaging.tiles(imaging.read_image(grid_path), cfg.image_size)
    if registry.get(cfg.model).reconstructs:  # rows alternate inputs and reconstructions
        rows = [images[i:i + 8] for i in range(0, len(images), 8)]
        images = np.concatenate(rows[1::2])
    return grid_path, images


def image_files(paths: list[Path]) -> list[Path]:
    """Image files named directly or found (recursively) in the folders given."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += imaging.find_images(path)
        elif path.is_file():
            found.append(path)
        else:
            raise FaceganError(f"{path} does not exist")
    if not found:
        raise FaceganError(f"no image file in {', '.join(map(str, paths))}")
    return found


def load_samples(path: Path, shape: tuple) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(images, latents or None, labels or None) of a samples.npz (as `facegan sample` writes it, or `facegan
    project`'s projected.npz), read once: uint8 images of the run's (H, W, C), and where it has them one finite
    latent vector and one label per image."""
    try:
        with np.load(path) as saved:
            images = saved["images"]
            latents, labels = (saved[key] if key in saved else None for key in ("z", "labels"))
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise FaceganError(f"cannot read images from {path}: {error}") from None
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != tuple(shape):
        raise FaceganError(f"{path}: images of shape {images.shape[1:]} ({images.dtype}); "
                           f"this run's are {tuple(shape)} uint8")
    if latents is not None and (latents.dtype.kind != "f" or latents.shape[:1] != images.shape[:1]
                                or latents.ndim != 2 or not np.isfinite(latents).all()):
        raise FaceganError(f"{path}: z must hold one finite latent vector per image, got {latents.dtype} "
                           f"{latents.shape}")
    if labels is not None and labels.shape != images.shape[:1]:
        labels = None  # not one class per image: a file made elsewhere; its images and latents still serve
    return images, latents, labels


def saved_latents(path: Path, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """(latents, labels or None) of a samples.npz or projected.npz made with this model: `sample --from` and
    `walk --from` take them."""
    _, z, labels = load_samples(path, (cfg.image_size, cfg.image_size, cfg.channels))
    if z is None or z.shape[1] != cfg.latent_dim:
        raise FaceganError(f"{path} holds no latents of this model's {cfg.latent_dim} dimensions")
    if labels is not None and cfg.num_classes and not ((0 <= labels) & (labels < cfg.num_classes)).all():
        raise FaceganError(f"{path}: labels outside this conditional model's classes 0..{cfg.num_classes - 1}")
    return z, labels
