"""`facegan eval`: sample quality by measure, on a finished (or unfinished) run.

The generated images are what the run's sample grids show: fresh samples of the generator, or for
the autoencoders (AE-GAN, VAE) reconstructions of real images the reference set does not hold. They
are measured by the sliced Wasserstein distance against a reference set of real images, beside the
noise floor of a second, disjoint real set of the same size, with the same EvalSet as the evaluations
during training. Images are (N, H, W, C) uint8.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegan import files, imaging, rundir
from facegan.checkpoints import load_networks
from facegan.config import TrainConfig
from facegan.data import load_faces, load_held_out_faces, load_training_faces
from facegan.errors import FaceganError
from facegan.inference import generated_images
from facegan.metrics.blur import blur_factor
from facegan.metrics.evalset import eval_set, flat_figures
from facegan.metrics.inception import fid, inception_features, inception_network, kid

METRICS = ("swd", "kid", "fid")


def evaluate(nets: dict, cfg: TrainConfig, images: np.ndarray, n: int, seed: int, run: Path | None = None,
             held_out_split: str | None = None, inception=None) -> dict:
    """SWD (x1e3, per level and mean) of the generated images and of the real noise floor, the mean blur
    of both, and the copy rate of `run`'s nearest-neighbour summary when there is one; with an `inception`
    network (metrics.inception), also KID and FID of both."""
    sets = eval_set(images, n, cfg.latent_dim, cfg.num_classes, seed, held_out_split)
    generated = imaging.to_uint8(generated_images(nets, cfg, sets.held_out_inputs, sets.z, sets.labels))
    figure, floor = sets.swd(generated, sets.held_out)
    nearest = Path(run) / rundir.NEAREST if run is not None else None
    copy_rate = files.read_json(nearest).get("copy_rate") if nearest and nearest.is_file() else None
    result = {**flat_figures("swd", figure), **flat_figures("swd_real", floor),
              "blur": float(np.mean([blur_factor(image) for image in generated])),
              "blur_real": float(np.mean([blur_factor(image) for image in sets.held_out])),
              "copy_rate": copy_rate, "settings": sets.settings(cfg.model)}
    if inception is not None:
        return {**result, **inception_figures(inception, sets.reference, generated, sets.held_out, seed)}
    return result


def inception_figures(network, reference: np.ndarray, generated: np.ndarray, held_out: np.ndarray,
                      seed: int) -> dict:
    """KID (mean and standard deviation over subsets) and FID of the generated images and of the held-out
    real set (the noise floor), each against the reference set, on InceptionV3 features."""
    reference, generated, held_out = (inception_features(network, images)
                                      for images in (reference, generated, held_out))
    figures = {}
    for name, features in (("", generated), ("_real", held_out)):
        figures[f"kid{name}"], figures[f"kid{name}_std"] = kid(features, reference, seed)
        figures[f"fid{name}"] = fid(features, reference)
    return figures


def evaluate_run(run: Path, n: int = 2048, data: str | None = None, seed: int = 0, best: bool = False,
                 metrics: tuple[str, ...] = ("swd",), inception_weights: Path | None = None) -> dict:
    """`evaluate` of a run's final networks (or with `best` its best checkpoint) against `data` (default: its
    data's held-out split where it has one, as during training, else its training images), with min(n, half
    the images) images per set; SWD always, KID and FID when `metrics` name them (InceptionV3's weights from
    `inception_weights` or Keras's cache); the figures also go to RUN/eval.json."""
    if n < 1:
        raise FaceganError("-n must be positive")
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise FaceganError(f"--metric takes {', '.join(METRICS)}, comma-separated; "
                           f"unknown: {', '.join(sorted(unknown))}")
    inception = inception_network(inception_weights) if {"kid", "fid"} & set(metrics) else None
    cfg = TrainConfig.read(run)
    nets = load_networks(run, best)
    if data:
        faces, held_out = load_faces(data, cfg.image_size, cfg.channels), None
    else:
        training = load_training_faces(cfg)
        held_out = load_held_out_faces(cfg, training)
        faces = held_out or training
    result = evaluate(nets, cfg, faces.images, n, seed, run, held_out.split if held_out else None, inception)
    result["settings"]["data"] = data or cfg.data
    result["checkpoint"] = "best" if best else "final"
    files.write_json(run / rundir.EVAL, result)
    return result
