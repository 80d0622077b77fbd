"""Nearest training images of generated ones: the memorization check (`facegan nearest`). NumPy only,
except for drawing new samples and the Inception space.

Pixel distances are taken at the model's resolution and value range [-1, 1]: L1 is the mean absolute
pixel difference, L2 the mean squared one. The Inception space's distance is the Euclidean distance between FID
Inception features (at 299x299), which a shift of a few pixels barely moves. The search is exhaustive and
vectorized in chunks: L1 in uint8 (max - min) with exact integer sums, L2 through one float64 matrix product
(exact: the sums of squared 8-bit differences are integers far below 2**53).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegan import files, imaging, rundir
from facegan.analysis.images import load_samples
from facegan.config import TrainConfig
from facegan.data import load_faces, load_training_faces, load_unseen_faces, unseen_from
from facegan.errors import FaceganError

CHUNK_BYTES = 2**25  # training pixels compared at once (32 MiB of uint8 differences)


def _flat(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1)


def nearest(queries: np.ndarray, train: np.ndarray, metric: str = "l1") -> tuple[np.ndarray, np.ndarray]:
    """For each uint8 query image, (index of its nearest training image, distance in [-1, 1] units)."""
    q, t = _flat(queries), _flat(train)
    pixels = q.shape[1]
    if metric == "l2":
        qf, tf_ = q.astype(np.float64), t.astype(np.float64)
        squared = (qf * qf).sum(1)[:, None] + (tf_ * tf_).sum(1)[None, :] - 2.0 * (qf @ tf_.T)
        index = squared.argmin(1)
        return index, squared[np.arange(len(q)), index] / pixels / 127.5**2
    best, index = np.full(len(q), np.inf), np.zeros(len(q), np.int64)
    rows = max(1, CHUNK_BYTES // pixels)
    for start in range(0, len(t), rows):
        chunk = t[start:start + rows]
        for i, query in enumerate(q):
            sums = l1_sums(query, chunk)
            j = int(sums.argmin())
            if sums[j] < best[i]:
                best[i], index[i] = sums[j], start + j
    return index, best / pixels / 127.5


def nearest_features(queries: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query feature vector, (index of its nearest training vector, Euclidean distance): one float64
    matrix product."""
    q, t = queries.astype(np.float64), train.astype(np.float64)
    squared = (q * q).sum(1)[:, None] + (t * t).sum(1)[None, :] - 2.0 * (q @ t.T)
    index = squared.argmin(1)
    return index, np.sqrt(np.maximum(squared[np.arange(len(q)), index], 0.0))


class Space:
    """Where distances are taken: "l1" or "l2" on pixels, or "inception", the Euclidean distance of FID Inception
    features (the training images' computed once, and cached with the data's)."""

    def __init__(self, metric: str, train: np.ndarray, weights: Path | None = None):
        self.metric, self.train, self.weights = metric, train, weights
        self.train_features = self.features(train, cache=True) if metric == "inception" else None

    def features(self, images: np.ndarray, cache: bool = False) -> np.ndarray:
        from facegan.metrics.inception import features

        return features(np.ascontiguousarray(images), self.weights, cache=cache)

    def search(self, queries: np.ndarray, among: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(index in `among`, or in every training image, of each uint8 query's nearest; distance)."""
        if self.metric == "inception":
            train = self.train_features if among is None else self.train_features[among]
            return nearest_features(self.features(queries), train)
        return nearest(queries, self.train if among is None else self.train[among], self.metric)


def nearest_as_trained(queries: np.ndarray, space: Space, mirrored: bool, among: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`Space.search` among the training images as a run saw them: with `mirrored` (runs trained with --flip)
    their mirror images too, searched as the mirrored queries against the images (the same pairs of images, no
    copy of the training set). Returns (index, distance, whether the nearest is the mirror image)."""
    index, distance = space.search(queries, among)
    if not mirrored:
        return index, distance, np.zeros(len(queries), bool)
    mirror_index, mirror_distance = space.search(queries[:, :, ::-1], among)
    flipped = mirror_distance < distance
    return np.where(flipped, mirror_index, index), np.minimum(distance, mirror_distance), flipped


def l1_sums(query: np.ndarray, train: np.ndarray) -> np.ndarray:
    """(N,) exact sums |train - query| of uint8 rows: |a - b| = max - min in uint8, then uint16 partial
    sums over groups of 256 pixels (at most 255 * 256 < 2**16), then int64."""
    diff = np.maximum(train, query)
    diff -= np.minimum(train, query)
    full = diff.shape[1] // 256 * 256
    sums = diff[:, :full].reshape(len(diff), -1, 256).sum(2, dtype=np.uint16).sum(1, dtype=np.int64)
    return sums + diff[:, full:].sum(1, dtype=np.int64)


def split_held_out(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(held-out indices, remaining indices): a random `fraction` of n images, at least one each."""
    order = np.random.default_rng(seed).permutation(n)
    count = min(max(1, int(round(n * fraction))), n - 1)
    return np.sort(order[:count]), np.sort(order[count:])


def memorization(sample_distances: np.ndarray, held_out_distances: np.ndarray) -> dict:
    """Copy rate: share of samples nearer to a training image than the 1st percentile of real-to-train distances."""
    threshold = float(np.percentile(held_out_distances, 1))
    return {"copy_rate": float(np.mean(sample_distances < threshold)), "copy_threshold": threshold,
            "sample_distance": _spread(sample_distances), "held_out_distance": _spread(held_out_distances)}


def _spread(distances: np.ndarray) -> dict:
    return {"min": float(distances.min()), "median": float(np.median(distances)), "mean": float(distances.mean())}


def check_run(run: Path, metric: str = "l1", n: int = 15, data: str | None = None, samples: Path | None = None,
              calibration: int = 100, seed: int = 0, folder: Path | None = None, epoch: int | None = None,
              weights: Path | None = None) -> dict:
    """The memorization check of a run: the nearest training image of each of `n` new samples (of the generator
    --keep-every kept at the end of `epoch` where given), or of the images of a `samples` .npz, calibrated on
    held-out real images. Writes nearest.png (samples above their nearest training images), nearest.csv and
    nearest.json to `folder` (default RUN/nearest, when the summary also goes to RUN/nearest.json for `compare`);
    returns the summary."""
    cfg = TrainConfig.read(run)
    faces = load_faces(data, cfg.image_size, cfg.channels) if data else load_training_faces(cfg)
    if len(faces.images) < 2 or n < 1 or calibration < 1:
        raise FaceganError("nearest needs at least 2 training images, -n >= 1 and --calibration >= 1")
    if samples is not None and epoch is not None:
        raise FaceganError("--epoch picks the generator of new samples; --samples checks images already made")
    if samples is not None:
        generated = load_samples(samples, faces.images.shape[1:])[0]
    else:
        from facegan.checkpoints import load_networks
        from facegan.inference import new_samples

        generator = load_networks(run, epoch=epoch)["generator"]
        generated = imaging.to_uint8(new_samples(generator, cfg, range(seed, seed + n))[2])
    mirrored = cfg.flip_images and not data  # the run trained on mirror images too
    space = Space(metric, faces.images, weights)
    index, distance, flipped = nearest_as_trained(generated, space, mirrored)
    held_out = None if data else load_unseen_faces(cfg, faces)
    if held_out is not None:  # faces the run never saw, measured against all it trained on
        chosen = np.sort(np.random.default_rng(seed).permutation(len(held_out.images))[:calibration])
        held_distance = nearest_as_trained(held_out.images[chosen], space, mirrored)[1]
        held_count, calibrated_on = len(chosen), unseen_from(held_out)
    else:  # a random 10% of the training images, against the other 90% (and their mirror images)
        held, rest = split_held_out(len(faces.images), 0.1, seed)
        held = held[:calibration]
        held_distance = nearest_as_trained(faces.images[held], space, mirrored, rest)[1]
        held_count, calibrated_on = len(held), "training images"
    summary = {**memorization(distance, held_distance),
               "settings": {"metric": metric, "n": len(generated), "train_images": len(faces.images),
                            "mirror_images": bool(mirrored),
                            "held_out_images": held_count, "held_out_from": calibrated_on, "held_out_seed": seed,
                            "samples": str(samples) if samples else f"new, seeds {seed}-{seed + n - 1}",
                            **({"epoch": epoch} if epoch is not None else {})}}
    target = folder or run / "nearest"
    matches = np.stack([faces.images[j][:, ::-1] if f else faces.images[j] for j, f in zip(index, flipped)])
    imaging.write_png(target / "nearest.png", imaging.grid(np.concatenate([generated, matches]), len(generated)))
    rows = [[i, faces.names[j] + (" (mirrored)" if f else ""), f"{d:.6g}"]
            for i, (j, d, f) in enumerate(zip(index, distance, flipped))]
    files.write_text(target / "nearest.csv", files.csv_text([["sample", "train", "distance"], *rows]))
    files.write_json(target / "nearest.json", summary)
    if folder is None:
        files.write_json(run / rundir.NEAREST, summary)  # where `facegan compare` and `facegan eval` find it
    return {**summary, "folder": str(target)}
