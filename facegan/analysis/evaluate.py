"""`facegan eval`: sample quality by measure, on a finished (or unfinished) run.

The generated images are what the run's sample grids show: fresh samples of the generator, or for
the autoencoders (AE-GAN, VAE) reconstructions of real images the reference set does not hold. They
are measured by the sliced Wasserstein distance against a reference set of real images, beside the
noise floor of a second, disjoint real set of the same size, with the same EvalSet as the evaluations
during training. Images are (N, H, W, C) uint8.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from facegan import files, imaging, rundir, runfiles
from facegan.analysis.reference import chosen, fid_of_run, fid_of_sources, native_size
from facegan.checkpoints import checkpoint_name, load_networks
from facegan.config import EVAL_METRICS, TrainConfig
from facegan.data import load_faces, load_held_out_faces, load_training_faces
from facegan.errors import FaceganError
from facegan.inference import generated_images
from facegan.metrics import swd
from facegan.metrics.blur import blur_factor
from facegan.metrics.evalset import eval_set, flat_figures
from facegan.metrics.fid_inception import INPUT_SIZE, weights_path
from facegan.metrics.inception import inception_figures
from facegan.metrics.stats import is_stats_file


def evaluate(nets: dict, cfg: TrainConfig, images: np.ndarray, n: int, seed: int, run: Path | None = None,
             held_out_split: str | None = None, inception: bool = False, weights: Path | None = None,
             progress: Callable | None = None) -> dict:
    """SWD (x1e3, per level and mean) of the generated images and of the real noise floor, the mean blur
    of both, and the copy rate of `run`'s nearest-neighbour summary when there is one; with `inception`, also
    KID, FID, precision and recall of both on the FID Inception network (its archive `weights` or the
    installed one)."""
    sets = eval_set(images, n, cfg.latent_dim, cfg.num_classes, seed, held_out_split)
    generated = imaging.to_uint8(generated_images(nets, cfg, sets.held_out_inputs, sets.z, sets.labels))
    figure, floor = sets.swd(generated, sets.held_out)
    stored = runfiles.read_or_warn(Path(run) / rundir.NEAREST, runfiles.read_figures,
                                   "eval goes on without its copy rate") if run is not None else None
    copy_rate = stored.get("copy_rate") if stored else None
    result = {**flat_figures("swd", figure), **flat_figures("swd_real", floor),
              "blur": float(np.mean([blur_factor(image) for image in generated])),
              "blur_real": float(np.mean([blur_factor(image) for image in sets.held_out])),
              "copy_rate": copy_rate, "settings": sets.settings(cfg.model)}
    if inception:
        result.update(inception_figures(sets.reference, {"": generated, "real": sets.held_out}, seed, weights,
                                        progress))
    return result


def evaluate_run(run: Path, n: int = 2048, data: str | None = None, seed: int = 0, best: bool = False,
                 metrics: tuple[str, ...] = ("swd",), inception_weights: Path | None = None,
                 progress: Callable | None = None, epoch: int | None = None, raw: bool = False) -> dict:
    """`evaluate` of a run's final networks (or with `best` its best checkpoint, with `epoch` the one --keep-every
    kept at that epoch's end; with `raw` the generator as trained, not its moving average) against `data`
    (default: its data's held-out split where it has one, as during training, else its training images), with
    min(n, half the images) images per set; SWD always, KID, FID, precision and recall when `metrics` name KID or
    FID; the figures also go to RUN/eval.json."""
    if data and is_stats_file(data):
        wants_inception(n, metrics, inception_weights, statistics=True)
        return fid_of_run(run, data, n, seed, best, epoch, raw, inception_weights, progress)
    inception = wants_inception(n, metrics, inception_weights)
    cfg = TrainConfig.read(run)
    nets = load_networks(run, best, epoch, raw)
    if data:
        faces, held_out = load_faces(data, cfg.image_size, cfg.channels), None
    else:
        training = load_training_faces(cfg)
        held_out = load_held_out_faces(cfg, training)
        faces = held_out or training
    result = evaluate(nets, cfg, faces.images, n, seed, run, held_out.split if held_out else None, inception,
                      inception_weights, progress)
    result["settings"]["data"] = data or cfg.data
    result["checkpoint"] = checkpoint_name(best, epoch) + (" (raw)" if raw else "")
    files.write_json(run / rundir.EVAL, result)
    return result


def wants_inception(n: int, metrics: tuple[str, ...], weights: Path | None, statistics: bool = False) -> bool:
    """Whether `metrics` (checked) ask for the Inception figures; their weights are found before any work. Against
    `statistics` (a file of them), FID is the one figure there is."""
    if n < 1:
        raise FaceganError("-n must be positive")
    unknown = set(metrics) - set(EVAL_METRICS)
    if unknown:
        raise FaceganError(f"--metric takes {', '.join(EVAL_METRICS)}, comma-separated; "
                           f"unknown: {', '.join(sorted(unknown))}")
    if statistics and "kid" in metrics:
        raise FaceganError("a statistics file holds a mean and a covariance: it gives FID, not KID, precision, "
                           "recall or SWD (--metric fid)")
    inception = statistics or bool({"kid", "fid"} & set(metrics))
    if inception:
        weights_path(weights)
    return inception


def compare_sources(a: str, b: str, n: int = 2048, seed: int = 0, image_size: int | None = None,
                    channels: int = 3, metrics: tuple[str, ...] = EVAL_METRICS, weights: Path | None = None,
                    progress: Callable | None = None) -> dict:
    """Two image sources (folders, arrays, CelebA folders, a run's samples.npz) measured against each other,
    as `python -m pytorch_fid A B` does: SWD always, and FID, KID, precision and recall where asked, of B
    against A, on min(n, either's images) images of each (chosen by the seed) at `image_size` (default: the shorter side
    of A's first image, at most 299) and `channels`."""
    statistics = is_stats_file(a) or is_stats_file(b)
    inception = wants_inception(n, metrics, weights, statistics)
    for source in (a, b):
        if rundir.is_run_dir(Path(source).expanduser()):  # its folder holds sample grids, not samples
            raise FaceganError(f"{source} is a run: measure it with `facegan eval {source}`, or give its samples "
                               "(facegan sample writes them to samples.npz)")
    if statistics:
        return fid_of_sources(a, b, n, seed, image_size, channels, weights, progress)
    size = image_size or min(native_size(a), INPUT_SIZE)
    first, second = (load_faces(source, size, channels).images for source in (a, b))
    count = min(n, len(first), len(second))  # SWD compares sets of one size
    first, second = (chosen(images, count, seed) for images in (first, second))  # a source against itself: one set
    result = {**flat_figures("swd", swd.sliced_wasserstein(first, [second], seed)[0]),
              "settings": {**swd.settings(count, size, seed), "a": a, "b": b, "channels": channels}}
    if inception:
        result.update(inception_figures(first, {"": second}, seed, weights, progress))
    return result
