"""Where analysis commands find images: run directories, folders, files. No TensorFlow."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegan import imaging, registry, rundir
from facegan.data import IMAGE_EXTENSIONS
from facegan.errors import FaceganError


def newest_grid(run: Path) -> Path:
    grids = sorted((Path(run) / "samples").glob("epoch_*.png"))
    if not grids:
        raise FaceganError(f"{run} has no sample grid yet (samples/epoch_*.png)")
    return grids[-1]


def generated_tiles(run: Path) -> tuple[Path, np.ndarray]:
    """The generated images of a run's newest sample grid (for autoencoders: the reconstruction rows)."""
    config = rundir.read_config(run)["config"]
    grid_path = newest_grid(run)
    images = imaging.tiles(imaging.read_png(grid_path), config["image_size"])
    if registry.get(config["model"]).reconstructs:  # rows alternate inputs and reconstructions
        rows = [images[i:i + 8] for i in range(0, len(images), 8)]
        images = np.concatenate(rows[1::2])
    return grid_path, images


def image_files(paths: list[Path]) -> list[Path]:
    """Image files named directly or found (recursively) in the folders given."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise FaceganError(f"{path} does not exist")
    if not files:
        raise FaceganError(f"no image file in {', '.join(map(str, paths))}")
    return files
