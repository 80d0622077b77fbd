"""Augmenting the discriminator's inputs (--augment POLICY): DiffAugment and adaptive augmentation.

DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training") applies the
same random, differentiable transforms to real and generated images alike before the discriminator, so
the discriminator cannot memorize the few real images and the generator learns through the transforms.
Its three transforms, on images in [-1, 1], as its official TensorFlow code defines them:
    translation  shift by up to 1/8 of the size in each direction, whole pixels, zeros (gray) filled in
    cutout       a gray square of half the size at a random place (it may reach past the border)
    color        brightness + U(-0.5, 0.5), saturation x U(0, 2) about the pixel's mean over channels
                 (nothing on grayscale images), contrast x U(0.5, 1.5) about the image's mean
Without `ada` every named transform is applied to every image.

`ada` (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data") applies each
transform to an image with probability p, adjusted at every step from the discriminator's overfitting
signal r = E[sign(D(real))]: p rises by batch / ADA_IMAGES when r > ADA_TARGET and falls as much when it is
below, within [0, 1]. ADA's paper takes 500k images for a change of 1; on CPU budgets a run sees about that
many in an hour, so p moves five times as fast here. `ada` alone applies translation and color (ADA's
whole-pixel translation and color transforms; cutout, which ADA found of little help, only when named).

Every random number is drawn by `draw` (facegan/steps/draws.py: from the seed, the step and the call site, the same
over any number of replicas), so an augmented step is reproducible.
"""

from __future__ import annotations

import tensorflow as tf

from facegan.config import AUGMENTATIONS

TRANSFORMS = AUGMENTATIONS[:3]
ADA_ONLY = ("translation", "color")  # what `--augment ada` alone applies
ADA_TARGET = 0.6
ADA_IMAGES = 100_000  # images for p to change by 1
TRANSLATION_RATIO = 1 / 8
CUTOUT_RATIO = 1 / 2


def transforms(policy: tuple[str, ...]) -> tuple[str, ...]:
    """The transforms a policy applies."""
    named = tuple(name for name in policy if name in TRANSFORMS)
    return named or (ADA_ONLY if "ada" in policy else ())


def augment(x, policy: tuple[str, ...], draw, p=None):
    """x (B, H, W, C) float32 in [-1, 1] with the policy's transforms, each applied to an image with
    probability p (a scalar tensor; None: always). `draw(kind, n, shape, minval, maxval)` gives the
    random numbers."""
    n = tf.shape(x)[0]
    for name in transforms(policy):
        changed = TRANSFORM[name](x, draw)
        if p is not None:
            chosen = draw("uniform", n, (1, 1, 1)) < tf.cast(p, tf.float32)
            changed = tf.where(chosen, changed, x)
        x = changed
    return x


def color(x, draw):
    n = tf.shape(x)[0]
    x = x + draw("uniform", n, (1, 1, 1), -0.5, 0.5)  # brightness
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean) * draw("uniform", n, (1, 1, 1), 0.0, 2.0) + mean  # saturation
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * draw("uniform", n, (1, 1, 1), 0.5, 1.5) + mean  # contrast


def translation(x, draw):
    """Each image shifted by whole pixels, up to size/8 in each direction, the uncovered border zero."""
    n, size = tf.shape(x)[0], x.shape[1]
    limit = int(size * TRANSLATION_RATIO + 0.5)
    rows = _shift_index(draw, n, size, limit)  # (B, H): the source row of each row, or -1 outside
    columns = _shift_index(draw, n, size, limit)
    padded = tf.pad(x, [[0, 0], [1, 0], [1, 0], [0, 0]])  # row and column 0 are zeros: index -1 + 1
    x = tf.gather(padded, rows + 1, axis=1, batch_dims=1)
    return tf.gather(x, columns + 1, axis=2, batch_dims=1)


def _shift_index(draw, n, size: int, limit: int):
    shift = tf.floor(draw("uniform", n, (1,), -limit, limit + 1))  # integers in [-limit, limit]
    source = tf.range(size, dtype=tf.float32)[None, :] + shift
    inside = (source >= 0) & (source < size)
    return tf.cast(tf.where(inside, source, -1.0), tf.int32)


def cutout(x, draw):
    """A square of half the size set to zero, its center anywhere in the image."""
    n, size = tf.shape(x)[0], x.shape[1]
    half = int(size * CUTOUT_RATIO + 0.5) // 2
    positions = tf.range(size, dtype=tf.float32)
    masks = []
    for _ in range(2):  # rows, then columns
        center = tf.floor(draw("uniform", n, (1,), 0.0, float(size + 1)))  # 0 .. size, as DiffAugment draws it
        masks.append((positions[None, :] >= center - half) & (positions[None, :] < center + half))
    inside = masks[0][:, :, None] & masks[1][:, None, :]  # (B, H, W)
    return x * tf.cast(~inside, x.dtype)[..., None]


TRANSFORM = {"translation": translation, "cutout": cutout, "color": color}


def ada_update(p, realness, batch_size: int):
    """ADA's new p after a step of `batch_size` images: up when the discriminator's overfitting signal
    `realness`, the mean of sign(D(real)) over the batch, is above ADA_TARGET, down when it is below."""
    return tf.clip_by_value(p + tf.sign(realness - ADA_TARGET) * batch_size / ADA_IMAGES, 0.0, 1.0)
