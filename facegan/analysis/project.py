"""`facegan project`: photos projected into a run's latent space (facegan.analysis.projector), and the
memorization test built on it (Webster et al., 2019, "Detecting overfitting of deep generative networks via latent
recovery"): a model that memorized its training faces reproduces them far better than faces it never saw.

Outputs (RUN/samples/project-NNN): projected.npz (`images`: the projections, `z`, `labels`, `photos`, `names`,
each photo's `l1` and `inception` distance, `start`), which `sample --from`, `arithmetic` and `walk --from` read
as they read a samples.npz; projected.png (each photo beside its projection); with a GIF, projection.gif (the
optimization). The memorization test adds memorization.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from facegan import files, imaging, rundir
from facegan.analysis.projector import Projection, ProjectOptions, project
from facegan.checkpoints import open_generator_source
from facegan.data import load_faces, load_training_faces, load_unseen_faces, unseen_from
from facegan.errors import FaceganError

PAIRS_PER_ROW = 4  # projected.png: photo, projection, photo, projection, ...
PERMUTATIONS = 10_000  # random relabelings that calibrate the memorization test


def load_photos(specs: list[str], size: int, channels: int, n: int | None = None) -> tuple[np.ndarray, list[str]]:
    """(uint8 photos (N, size, size, channels), their names) of image files and data sources (folders, .npz
    files, CelebA folders, lfw), fitted to the model's size as `train` fits its data; at most n of them."""
    if not specs:
        raise FaceganError("give the photos to project: image files, folders or a data source")
    photos, names = [], []
    for spec in specs:
        path = Path(spec).expanduser()
        if path.is_file() and path.suffix.lower() in imaging.IMAGE_EXTENSIONS:
            photos.append(imaging.fit_image(imaging.read_image(path), size, channels)[None])
            names.append(str(spec))
        elif path.is_file() and path.suffix.lower() not in (".npz", ".npy"):
            raise FaceganError(f"{spec} is neither an image file ({', '.join(sorted(imaging.IMAGE_EXTENSIONS))}) "
                               "nor a data source")
        else:
            faces = load_faces(spec, size, channels)
            photos.append(np.asarray(faces.images))
            names += [f"{spec}:{name}" for name in faces.names]
    photos = np.concatenate(photos)[:n]
    return photos, names[:n]


def distances(photos: np.ndarray, images: np.ndarray, weights: Path | None = None) -> dict[str, np.ndarray]:
    """Per pair of uint8 images: pixel L1 (mean absolute difference in [-1, 1]) and Inception distance
    (Euclidean, between FID features), as `facegan nearest` measures them."""
    from facegan.metrics.inception import features

    l1 = np.abs(photos.astype(np.int16) - images).mean((1, 2, 3)) / 127.5
    inception = np.linalg.norm(features(photos, weights) - features(images, weights), axis=1)
    return {"l1": l1.astype(np.float64), "inception": inception.astype(np.float64)}


def perceptual_network(options: ProjectOptions, weights: Path | None = None):
    """The FID Inception network, where the projector's perceptual distance counts."""
    from facegan.metrics.fid_inception import weights_path
    from facegan.metrics.inception import network

    return network(weights_path(weights)) if options.perceptual > 0 else None


def write_projection(folder: Path, photos: np.ndarray, names: list[str], projection: Projection,
                     measured: dict[str, np.ndarray], gif: bool, **extra) -> None:
    files.write_npz(folder / "projected.npz", images=projection.images, z=projection.z, labels=projection.labels,
                    photos=photos, names=np.array(names), start=np.array(projection.start), **measured, **extra)
    imaging.write_png(folder / "projected.png", side_by_side(photos, projection.images))
    if gif:
        frames = [side_by_side(photos, moment) for moment in projection.snapshots]
        imaging.write_gif(folder / "projection.gif", frames + [frames[-1]] * 4, 0.15)


def side_by_side(photos: np.ndarray, images: np.ndarray) -> np.ndarray:
    """One grid: each photo, then its projection, PAIRS_PER_ROW pairs a row."""
    pairs = np.stack([photos, images], 1).reshape(-1, *photos.shape[1:])
    return imaging.grid(pairs, 2 * min(PAIRS_PER_ROW, len(photos)))


def project_photos(run: Path, specs: list[str], options: ProjectOptions, n: int | None = None, gif: bool = False,
                   folder: Path | None = None, best: bool = False, epoch: int | None = None,
                   weights: Path | None = None, progress: Callable | None = None) -> dict:
    """Project the photos of `specs` with the run's generator (or a .keras generator's); write projected.npz,
    projected.png and with `gif` projection.gif to `folder` (default RUN/samples/project-NNN); return the record."""
    cfg, nets, home = open_generator_source(run, best, epoch)
    photos, names = load_photos(specs, cfg.image_size, cfg.channels, n)
    projection = project(nets, cfg, photos, options, perceptual_network(options, weights), progress)
    measured = distances(photos, projection.images, weights)
    folder = folder or rundir.next_numbered(home / rundir.SAMPLES, "project")
    write_projection(folder, photos, names, projection, measured, gif)
    return {"model": cfg.model, "photos": len(photos), "folder": str(folder), "steps": options.steps,
            "starts": options.starts, **{name: spread(values) for name, values in measured.items()}}


def spread(values: np.ndarray) -> dict:
    return {"min": float(values.min()), "median": float(np.median(values)), "max": float(values.max())}


def separation(trained: np.ndarray, unseen: np.ndarray, seed: int) -> dict:
    """How much nearer the training faces are projected than unseen ones: the share of (training, unseen) pairs in
    which the training face is nearer (ties count half; 0.5 for a model that treats both alike, 1 for one that
    reproduces exactly its training faces), calibrated on PERMUTATIONS random relabelings of the same distances:
    their 99th percentile is the threshold, the share of them at or above the measured share its p-value."""
    def share(a, b):
        return float(((a[:, None] < b[None]).sum() + 0.5 * (a[:, None] == b[None]).sum()) / (len(a) * len(b)))

    measured = share(trained, unseen)
    values, rng = np.concatenate([trained, unseen]), np.random.default_rng(seed)
    null = np.array([share(p[:len(trained)], p[len(trained):])
                     for p in (rng.permutation(values) for _ in range(PERMUTATIONS))])
    threshold = float(np.percentile(null, 99))
    return {"nearer_share": measured, "threshold": threshold,
            "p_value": float((1 + (null >= measured).sum()) / (1 + PERMUTATIONS)), "memorized": measured > threshold}


def memorization_test(run: Path, n: int, options: ProjectOptions, gif: bool = False, folder: Path | None = None,
                      best: bool = False, epoch: int | None = None, weights: Path | None = None,
                      progress: Callable | None = None) -> dict:
    """Project n training faces and n faces the run never saw (chosen by the seed); compare their distances.
    The verdict is the pixel L1's separation; the Inception distance's is reported beside it."""
    if Path(run).suffix == ".keras":
        raise FaceganError("the memorization test needs a run directory (its training faces), not a .keras file")
    cfg, nets, home = open_generator_source(run, best, epoch)
    faces = load_training_faces(cfg)
    unseen = load_unseen_faces(cfg, faces)
    if unseen is None:
        raise FaceganError(f"{run} trained on every image of its data: the memorization test needs faces it never "
                           "saw (a run trained on CelebA's --split train, or on a --max-images subset)")
    if n < 2:
        raise FaceganError(f"--memorization needs at least 2 faces of each kind, got {n}")
    rng = np.random.default_rng(options.seed)
    count = min(n, len(faces.images), len(unseen.images))
    chosen = [np.sort(rng.choice(len(group.images), count, replace=False)) for group in (faces, unseen)]
    photos = np.concatenate([np.asarray(faces.images[chosen[0]]), np.asarray(unseen.images[chosen[1]])])
    names = [f"trained:{faces.names[i]}" for i in chosen[0]] + [f"unseen:{unseen.names[i]}" for i in chosen[1]]
    projection = project(nets, cfg, photos, options, perceptual_network(options, weights), progress)
    measured = distances(photos, projection.images, weights)
    tests = {name: separation(values[:count], values[count:], options.seed) for name, values in measured.items()}
    summary = {"memorized": tests["l1"]["memorized"], "faces_each": count, "l1": tests["l1"],
               "inception": tests["inception"],
               "trained": {name: spread(values[:count]) for name, values in measured.items()},
               "unseen": {name: spread(values[count:]) for name, values in measured.items()},
               "settings": {"steps": options.steps, "starts": options.starts, "seed": options.seed,
                            "unseen_from": unseen_from(unseen)}}
    folder = folder or rundir.next_numbered(home / rundir.SAMPLES, "memorization")
    write_projection(folder, photos, names, projection, measured, gif, trained=np.arange(2 * count) < count)
    files.write_json(folder / "memorization.json", summary)
    return {**summary, "folder": str(folder)}
