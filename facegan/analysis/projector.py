"""The projector of `facegan project`: the latent that makes a generator draw each photo, found as StyleGAN2-ADA's
projector finds it, for facegan's generators (which take their latent directly: no mapping network, no noise).

Adam moves each latent to minimize the pixel L1 distance between the generated image and the photo plus a
perceptual distance: the mean squared difference of their FID Inception features (the network behind the FID and
its preprocessing, no other weights). Each photo has several
starts: `starts` latents drawn from seeds SEED to SEED + starts - 1 (the same for every photo; a conditional
model tries start k with class k mod classes) and, for models with an encoder (the AE-GANs, the VAE), the
encoder's code. A pixel-only screening of SCREEN_SHARE of the steps keeps each photo's best start, which the full
loss then refines for `steps` steps, the learning rate ramped up over the first 5% and down along a cosine over
the last 25% (StyleGAN2-ADA's schedule). Each latent's loss is its own term of a sum, so a photo's projection does
not depend on the photos beside it.

The distances reported are those of `facegan nearest`: pixel L1 (mean absolute difference in [-1, 1]) and the
Inception distance (Euclidean, between the FID features at 299x299).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf

from facegan import imaging
from facegan.errors import FaceganError
from facegan.inference import conditional_inputs, encode, generate, seeded_latents

SCREEN_SHARE = 0.2  # of the steps, pixel loss only, over every start
BATCH = 16  # photos projected at once


@dataclass(frozen=True)
class ProjectOptions:
    steps: int = 100
    starts: int = 8
    seed: int = 0
    lr: float = 0.05
    perceptual: float = 3.0  # weight of the perceptual distance beside the pixel L1
    snapshots: int = 0  # images of the optimization kept for a GIF (0: none)


@dataclass
class Projection:
    z: np.ndarray  # (N, latent_dim) float32
    labels: np.ndarray  # (N,) int32 (0 for unconditional models)
    images: np.ndarray  # (N, H, W, C) uint8, the generator's image of each latent
    start: list[str]  # where each photo's best start came from: "encoder" or "seed S"
    snapshots: list[np.ndarray]  # (N, H, W, C) uint8 per kept moment of the optimization


def learning_rate(step: int, steps: int, lr: float) -> float:
    """Step `step`'s rate (StyleGAN2-ADA's projector): a linear ramp-up over the first 5% of the steps, a cosine
    ramp-down over the last 25%."""
    down = min(1.0, (1.0 - step / steps) / 0.25)
    return lr * (0.5 - 0.5 * math.cos(down * math.pi)) * min(1.0, (step + 1) / steps / 0.05)


class Projector:
    """The compiled losses and steps of one generator; `network` is the FID Inception (None for the pixel distance
    alone)."""

    def __init__(self, generator, num_classes: int, network, options: ProjectOptions):
        self.generator, self.num_classes, self.network, self.options = generator, num_classes, network, options

    def features(self, images):
        """(N, 2048) FID features of images (N, H, W, C) in [-1, 1]."""
        from facegan.metrics.fid_inception import preprocess

        return self.network(preprocess((images + 1.0) * 127.5), training=False)

    def losses(self, z, labels, photos, targets, perceptual: bool):
        """(N,) loss of each latent: pixel L1, plus the weighted perceptual distance where `perceptual`."""
        images = tf.cast(self.generator(conditional_inputs(z, labels, self.num_classes), training=False), tf.float32)
        loss = tf.reduce_mean(tf.abs(images - photos), [1, 2, 3])
        if perceptual:
            loss += self.options.perceptual * tf.reduce_mean(tf.square(self.features(images) - targets), 1)
        return loss

    def fit(self, z, labels, photos, steps: int, perceptual: bool, progress: Callable,
            snapshots: list | None = None) -> np.ndarray:
        """Latents after `steps` Adam steps from z (every latent's loss summed, so each moves as if alone)."""
        variable = tf.Variable(z)
        optimizer = tf.keras.optimizers.Adam(self.options.lr)
        optimizer.build([variable])
        labels, photos = tf.constant(labels), tf.constant(photos)
        targets = self.features(photos) if perceptual else tf.zeros((len(z), 1))

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(self.losses(variable, labels, photos, targets, perceptual))
            optimizer.apply_gradients([(tape.gradient(loss, variable), variable)])

        keep = set(np.linspace(0, steps, self.options.snapshots).round().astype(int)) if snapshots is not None else ()
        for i in range(steps + 1):
            if i in keep:
                snapshots.append(self.images(variable.numpy(), labels.numpy()))
            if i == steps:
                break
            optimizer.learning_rate = learning_rate(i, steps, self.options.lr)
            step()
            progress(1)
        return variable.numpy()

    def images(self, z: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return imaging.to_uint8(generate(self.generator, z, labels, self.num_classes))

    def pixel_losses(self, z: np.ndarray, labels: np.ndarray, photos: np.ndarray) -> np.ndarray:
        return np.abs(imaging.to_float(self.images(z, labels)) - photos).mean((1, 2, 3))


def starts(nets: dict, cfg, photos: np.ndarray, options: ProjectOptions) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every photo's starts, photo-major: (z (N * S, D), labels (N * S,), each start's name (S))."""
    names = [f"seed {options.seed + k}" for k in range(options.starts)]
    drawn = seeded_latents(range(options.seed, options.seed + options.starts), cfg.latent_dim)
    z = np.repeat(drawn[None], len(photos), 0)
    if "encoder" in nets:
        z = np.concatenate([encode(nets["encoder"], photos)[:, None], z], 1)
        names.insert(0, "encoder")
    if not names:
        raise FaceganError(f"{cfg.model} has no encoder to start from: give --starts 1 or more")
    labels = np.arange(len(names)) % cfg.num_classes if cfg.num_classes else np.zeros(len(names), np.int64)
    return z.reshape(-1, cfg.latent_dim), np.tile(labels, len(photos)).astype(np.int32), names


def project_batch(projector: Projector, nets: dict, cfg, photos: np.ndarray, progress: Callable) -> Projection:
    """The projections of photos (N, H, W, C) uint8 (at most BATCH)."""
    options, x = projector.options, imaging.to_float(photos)
    z, labels, names = starts(nets, cfg, x, options)
    many = np.repeat(x, len(names), 0)
    z = projector.fit(z, labels, many, screen_steps(options.steps), False, progress)
    best = projector.pixel_losses(z, labels, many).reshape(len(x), len(names)).argmin(1)
    chosen = np.arange(len(x)) * len(names) + best
    snapshots = [] if options.snapshots else None
    z = projector.fit(z[chosen], labels[chosen], x, options.steps, options.perceptual > 0, progress, snapshots)
    return Projection(z, labels[chosen], projector.images(z, labels[chosen]), [names[b] for b in best],
                      snapshots or [])


def screen_steps(steps: int) -> int:
    return max(1, round(steps * SCREEN_SHARE))


def project(nets: dict, cfg, photos: np.ndarray, options: ProjectOptions, network=None,
            progress: Callable | None = None) -> Projection:
    """Projections of uint8 photos (N, H, W, C) at the run's size; progress(done, total) counts steps. The FID
    `network` (facegan.metrics.inception.network) is needed where options.perceptual > 0."""
    projector = Projector(nets["generator"], cfg.num_classes, network, options)
    total = sum(screen_steps(options.steps) + options.steps for _ in range(0, len(photos), BATCH))
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    parts = [project_batch(projector, nets, cfg, photos[i:i + BATCH], advance) for i in range(0, len(photos), BATCH)]
    snapshots = [np.concatenate(moment) for moment in zip(*(part.snapshots for part in parts))]
    return Projection(np.concatenate([p.z for p in parts]), np.concatenate([p.labels for p in parts]),
                      np.concatenate([p.images for p in parts]), [s for p in parts for s in p.start], snapshots)
