"""Running a run's networks on many inputs: latents and labels, generate, encode, reconstruct, score.

Images are (N, H, W, C) floats in [-1, 1]; latents (N, latent_dim) float32; labels (N,) int32.
Networks are called in batches of BATCH. No TensorFlow import: the networks bring it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from facegan import registry

BATCH = 256  # images generated, encoded or scored per call


def draw_latents(n: int, latent_dim: int, seed: int, mean: float | np.ndarray = 0.0, std: float = 1.0) -> np.ndarray:
    """n latents from N(mean, std^2) (mean: one number, or (latent_dim,) of them), the same for the same seed."""
    return (mean + std * np.random.default_rng(seed).standard_normal((n, latent_dim))).astype(np.float32)


def seeded_latents(seeds, latent_dim: int, mean: float | np.ndarray = 0.0, std: float = 1.0) -> np.ndarray:
    """One latent from N(mean, std^2) per seed, drawn from that seed alone: the same latent whatever else is
    drawn beside it (mean: one number, or (latent_dim,) of them)."""
    noise = [np.random.default_rng(seed).standard_normal(latent_dim) for seed in seeds]
    return (mean + std * np.reshape(noise, (-1, latent_dim))).astype(np.float32)


def cycle_labels(n: int, num_classes: int) -> np.ndarray:
    """0, 1, ..., num_classes - 1, 0, 1, ...: every class in turn (all 0 for unconditional models)."""
    return np.arange(n, dtype=np.int32) % max(num_classes, 1)


def conditional_inputs(inputs: np.ndarray, labels: np.ndarray, num_classes: int):
    """A conditional network's inputs are [inputs, one-hot label]; the others take the inputs alone."""
    if not num_classes:
        return inputs
    return [inputs, np.eye(num_classes, dtype=np.float32)[labels]]


def batched(call: Callable, *arrays: np.ndarray) -> np.ndarray:
    """call(*batch) over the arrays in batches of BATCH rows, as one float32 NumPy array."""
    return np.concatenate([np.asarray(call(*(a[i:i + BATCH] for a in arrays)), np.float32)
                           for i in range(0, len(arrays[0]), BATCH)])


def generate(generator, z: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    return batched(lambda z, y: generator(conditional_inputs(z, y, num_classes), training=False), z, labels)


def encode(encoder, x: np.ndarray) -> np.ndarray:
    """Latents of images; the VAE's encoder gives [z_mean, z_log_var], of which z_mean is the latent."""
    def latent(x):
        z = encoder(x, training=False)
        return z[0] if isinstance(z, (list, tuple)) else z

    return batched(latent, x)


def reconstruct(nets: dict, x: np.ndarray) -> np.ndarray:
    return generate(nets["generator"], encode(nets["encoder"], x), np.zeros(len(x), np.int32), 0)


def scores(discriminator, images: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(N,) discriminator (or critic) score per image; higher means more real."""
    return batched(lambda x, y: discriminator(conditional_inputs(x, y, num_classes), training=False),
                   images, labels).reshape(-1)


def new_samples(generator, cfg, seeds, mean: float | np.ndarray = 0.0, std: float = 1.0,
                label: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z, labels, images) of a run (cfg: its TrainConfig), image i from seeds[i] (`seeded_latents`); the classes
    take turns by seed (seed 7's class is 7 mod the classes, beside any other seeds) unless `label` is given."""
    seeds = np.asarray(seeds, np.int64)
    z = seeded_latents(seeds, cfg.latent_dim, mean, std)
    labels = np.full(len(seeds), label, np.int32) if label is not None else \
        (seeds % max(cfg.num_classes, 1)).astype(np.int32)
    return z, labels, generate(generator, z, labels, cfg.num_classes)


def generated_images(nets: dict, cfg, x: np.ndarray, z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """What a run's sample grids show: reconstructions of x for the autoencoders, else images generated
    from z and labels."""
    if registry.get(cfg.model).reconstructs:
        return reconstruct(nets, x)
    return generate(nets["generator"], z, labels, cfg.num_classes)
