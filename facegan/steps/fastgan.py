"""The fastgan step: the GAN step whose discriminator must also rebuild the real images it judges.

FastGAN (Liu et al. 2021) regularizes its discriminator by self-supervision: small decoders rebuild the real
image from the discriminator's own features, so those features must describe the whole face and not only what
tells it from the generator's. On real images only, and with a plain mean squared error where FastGAN uses a
pretrained perceptual distance (as lucidrains/lightweight-gan does; facegan downloads nothing):
    whole  the 2s0 x 2s0 map -> the augmented real image at half size (2x2 means)
    part   a random quarter of the 4s0 x 4s0 map -> that quarter of the augmented real image, at full size
The decoders train with the discriminator, by its optimizer; the generator never sees them.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from facegan.nets.fastgan import PART_MAP, WHOLE_MAP
from facegan.steps.base import mse
from facegan.steps.gan import GanFamily
from facegan.steps.replicas import share


def quarters(images):
    """(B, H, W, C) -> (B, 4, H/2, W/2, C): top left, top right, bottom left, bottom right."""
    half = images.shape[1] // 2
    return tf.stack([images[:, r:r + half, c:c + half] for r in (0, half) for c in (0, half)], axis=1)


class FastganFamily(GanFamily):
    metrics = (*GanFamily.metrics[:-1], "d_recon", "skipped")
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decoder = self.called(self.nets["decoder"])
        d = self.nets["discriminator"]
        # the discriminator's logit and the two maps the decoders read, from one pass (shares its weights)
        self.d_maps = self.called(keras.Model(
            d.inputs, [d.output, d.get_layer(WHOLE_MAP).output, d.get_layer(PART_MAP).output]))

    def discriminator_variables(self) -> list:
        return self.discriminator.trainable_variables + self.decoder.trainable_variables

    def judge_reals(self, x_real, y):
        def logits(images):
            logit, whole, part = self.d_maps(images, training=True)
            return logit[:, 0], (whole, part)

        real_out, (whole, part), d_penalty, d_terms = self.penalized(logits, x_real)
        recon = self.reconstruction_loss(x_real, whole, part)
        return real_out, d_penalty + recon, {**d_terms, "d_recon": recon}

    def reconstruction_loss(self, x_real, whole_map, part_map):
        """The decoders' mean squared error on the reals x_real (B, H, W, C), as a share."""
        n = tf.shape(x_real)[0]
        quarter = tf.cast(tf.floor(self.draw("uniform", n, (), 0.0, 4.0)), tf.int32)  # (B,) which quarter
        part_map = tf.gather(quarters(part_map), quarter, axis=1, batch_dims=1)
        whole, part = self.decoder([whole_map, part_map], training=True)
        x_small = tf.nn.avg_pool2d(x_real, 2, 2, "VALID")  # (B, H/2, W/2, C)
        x_part = tf.gather(quarters(x_real), quarter, axis=1, batch_dims=1)
        return share(mse(whole, x_small) + mse(part, x_part))
