"""Where analysis commands find images: run directories, folders, files. No TensorFlow."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegan import imaging, registry, rundir
from facegan.config import TrainConfig
from facegan.errors import FaceganError


def newest_grid(run: Path) -> Path:
    grids = rundir.epoch_grids(run)
    if not grids:
        raise FaceganError(f"{run} has no sample grid yet (samples/epoch_*.png)")
    return grids[-1]


def generated_tiles(run: Path) -> tuple[Path, np.ndarray]:
    """The generated images of a run's newest sample grid (for autoencoders: the reconstruction rows)."""
    cfg = TrainConfig.read(run)
    grid_path = newest_grid(run)
    images = imaging.tiles(imaging.read_png(grid_path), cfg.image_size)
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
