"""Generate from a run: load its networks, draw latents, generate, rank by the discriminator, interpolate.

Images are (N, H, W, C) floats in [-1, 1]; latents (N, latent_dim) float32; labels (N,) int32.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from facegan import registry, rundir
from facegan.config import TrainConfig
from facegan.ema import AVERAGED
from facegan.errors import FaceganError

BATCH = 256  # images generated or scored per call


def load_networks(run: Path, best: bool = False) -> dict:
    """The run's networks: the final .keras files, or the newest checkpoint of an unfinished run, or
    with `best` the checkpoint of its best evaluation. A run trained with --ema gives its averaged
    generator (and encoder), as its generator.keras holds."""
    cfg = TrainConfig(**rundir.read_config(run)["config"])
    if not best and (run / "generator.keras").is_file():
        return {name: keras.saving.load_model(run / f"{name}.keras", compile=False)
                for name in ("generator", "discriminator", "encoder") if (run / f"{name}.keras").is_file()}
    directory = run / "checkpoints" / ("best" if best else "")
    latest = tf.train.latest_checkpoint(str(directory))
    if latest is None:
        raise FaceganError(f"{run} has no best checkpoint (it was trained with --eval-every 0, or has not been "
                           "evaluated yet)" if best else f"{run} has no generator: neither generator.keras nor a checkpoint")
    nets = registry.get(cfg.model).build_networks(cfg)
    names = {f"ema_{name}" if cfg.ema and name in AVERAGED else name: net for name, net in nets.items()}
    tf.train.Checkpoint(**names).restore(latest).expect_partial()
    return nets


def draw_latents(n: int, latent_dim: int, seed: int, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    return (mean + std * np.random.default_rng(seed).standard_normal((n, latent_dim))).astype(np.float32)


def new_samples(generator, config: dict, n: int, seed: int, mean: float = 0.0, std: float = 1.0,
                label: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z, labels, images in [-1, 1]) for n fresh samples; the classes take turns unless `label` is given."""
    z = draw_latents(n, config["latent_dim"], seed, mean, std)
    classes = config["num_classes"]
    labels = np.full(n, label, np.int32) if label is not None else np.arange(n, dtype=np.int32) % max(classes, 1)
    return z, labels, generate(generator, z, labels, classes)


def conditional_inputs(inputs: np.ndarray, labels: np.ndarray, num_classes: int):
    if not num_classes:
        return inputs
    return [inputs, np.eye(num_classes, dtype=np.float32)[labels]]


def generate(generator, z: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.concatenate([
        np.asarray(generator(conditional_inputs(z[i:i + BATCH], labels[i:i + BATCH], num_classes), training=False))
        for i in range(0, len(z), BATCH)])


def scores(discriminator, images: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(N,) discriminator (or critic) score per image; higher means more real."""
    return np.concatenate([
        np.asarray(discriminator(conditional_inputs(images[i:i + BATCH], labels[i:i + BATCH], num_classes),
                                 training=False)).reshape(-1)
        for i in range(0, len(images), BATCH)])


def interpolate(z: np.ndarray, steps: int) -> np.ndarray:
    """(pairs, steps, latent_dim): straight lines from z[0] to z[1], z[2] to z[3], ..."""
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]
    return z[0:len(z) - 1:2, None] * (1 - t) + z[1::2, None] * t
