"""`facegan blur`: the blur factor of a run's samples, of image folders and of files. No TensorFlow,
except to draw new samples (`generate`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegan import files, imaging, rundir
from facegan.analysis.images import generated_tiles, image_files
from facegan.config import TrainConfig
from facegan.data import load_training_faces
from facegan.errors import FaceganError
from facegan.metrics.blur import blur_factor


def fresh_samples(run: Path, n: int) -> tuple[str, np.ndarray]:
    """n new uint8 samples of a run's generator (latent seed 0)."""
    from facegan.checkpoints import load_networks
    from facegan.inference import new_samples

    return f"{n} new samples", imaging.to_uint8(new_samples(load_networks(run)["generator"], TrainConfig.read(run),
                                                            n, seed=0)[2])


def data_blur(run: Path) -> float:
    """Mean blur factor of a run's training images at its resolution ("dataset raw")."""
    cfg = TrainConfig.read(run)
    faces = load_training_faces(cfg)
    return float(np.mean([blur_factor(image) for image in faces.images]))


def measure_paths(paths: list[Path], data: bool = False, generate: int | None = None) -> dict:
    """{"blur": mean, "images": count, "runs": {run: its blur.json}, "per_image": {name: figure}}.

    A run directory gives the tiles of its newest sample grid (or `generate` new samples), and its record
    goes to RUN/blur.json, with `data` the blur of its training images beside it; other paths are image
    files or folders."""
    if generate is not None and generate < 1:
        raise FaceganError("--generate needs a positive number of samples")
    scores, runs = [], {}
    for run in filter(rundir.is_run_dir, paths):
        source, tiles = fresh_samples(run, generate) if generate else generated_tiles(run)
        run_scores = [(f"{source}#{i}", blur_factor(tile)) for i, tile in enumerate(tiles)]
        record = {"blur": float(np.mean([score for _, score in run_scores])), "images": len(run_scores),
                  "source": str(source)}
        if data:
            record["dataset_raw"] = data_blur(run)
        files.write_json(run / rundir.BLUR, record)
        runs[str(run)] = record
        scores += run_scores
    loose = [path for path in paths if not rundir.is_run_dir(path)]
    if loose:
        scores += [(str(f), blur_factor(imaging.read_image(f))) for f in image_files(loose)]
    return {"blur": float(np.mean([score for _, score in scores])), "images": len(scores),
            **({"runs": runs} if runs else {}), "per_image": dict(scores)}
