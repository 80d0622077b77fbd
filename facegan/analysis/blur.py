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


def fresh_samples(run: Path, n: int, epoch: int | None = None) -> tuple[str, np.ndarray]:
    """n new uint8 samples of a run's generator (with `epoch`, the one --keep-every kept then; seeds 0 to n - 1)."""
    from facegan.checkpoints import load_networks
    from facegan.inference import new_samples

    generator = load_networks(run, epoch=epoch)["generator"]
    return f"{n} new samples", imaging.to_uint8(new_samples(generator, TrainConfig.read(run), range(n))[2])


def data_blur(run: Path) -> float:
    """Mean blur factor of a run's training images at its resolution ("dataset raw")."""
    cfg = TrainConfig.read(run)
    faces = load_training_faces(cfg)
    return float(np.mean([blur_factor(image) for image in faces.images]))


def measure_paths(paths: list[Path], data: bool = False, generate: int | None = None,
                  epoch: int | None = None) -> dict:
    """{"blur": mean, "images": count, "paths": {path: {"blur", "images"}}, "runs": {run: its blur.json},
    "per_image": {name: figure}, "unreadable": [files]}, the paths in the order given.

    A run directory gives the tiles of its newest sample grid, or of `epoch`'s (or `generate` new samples, of the
    generator --keep-every kept at that epoch's end), and its record goes to RUN/blur.json, with `data` the blur
    of its training images beside it; other paths are image files or folders, whose files each count once however
    often they are named. A file that cannot be read is left out and listed; only when nothing could be scored is
    that an error."""
    if generate is not None and generate < 1:
        raise FaceganError("--generate needs a positive number of samples")
    loose = [path for path in paths if not rundir.is_run_dir(path)]
    if loose and (data or generate or epoch is not None):
        option = "--data" if data else "--generate" if generate else "--epoch"
        raise FaceganError(f"{option} applies to run directories; {loose[0]} is not one")
    per_path, runs, per_image, unreadable = {}, {}, {}, []
    files_scored = {}  # resolved file -> (the name it was first met under, its figure or None)
    for path in dict.fromkeys(map(Path, paths)):
        if rundir.is_run_dir(path):
            source, tiles = fresh_samples(path, generate, epoch) if generate else generated_tiles(path, epoch)
            scores = {f"{source}#{i}": blur_factor(tile) for i, tile in enumerate(tiles)}
            record = {"blur": float(np.mean(list(scores.values()))), "images": len(scores), "source": str(source)}
            if data:
                record["dataset_raw"] = data_blur(path)
            files.write_json(path / rundir.BLUR, record)
            runs[str(path)] = record
        else:
            found = {file.resolve(): file for file in image_files([path])}
            for key, file in found.items():
                if key not in files_scored:
                    files_scored[key] = (str(file), file_blur(file))
                    if files_scored[key][1] is None:
                        unreadable.append(str(file))
            scores = dict(files_scored[key] for key in found)
            scores = {name: score for name, score in scores.items() if score is not None}
        per_path[str(path)] = {"blur": float(np.mean(list(scores.values()))) if scores else None,
                               "images": len(scores)}
        per_image.update(scores)
    if not per_image:
        raise FaceganError(f"no readable image in {', '.join(map(str, paths))}")
    return {"blur": float(np.mean(list(per_image.values()))), "images": len(per_image), "paths": per_path,
            **({"runs": runs} if runs else {}), "per_image": per_image, "unreadable": unreadable}


def file_blur(path: Path) -> float | None:
    """The blur factor of an image file; None where it cannot be read."""
    try:
        return blur_factor(imaging.read_image(path))
    except FaceganError:
        return None
