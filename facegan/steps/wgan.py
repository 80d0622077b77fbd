"""WGAN-GP step (and the conditional WGAN-GP, when cfg.num_classes > 0)."""

from __future__ import annotations

import tensorflow as tf

from facegan.steps.base import Family, input_gradient_norms
from facegan.steps.replicas import share, totals


def gradient_penalty(critic_fn, x_real, x_fake, eps, loss_scale=1.0):
    """(||d critic(x_hat) / d x_hat||_2 - 1)^2 per example (B,), x_hat = x_real + eps*(x_fake - x_real).

    eps (B, 1, 1, 1) is the weight of x_fake, one per image. Under float16 loss scaling the
    critic output is multiplied by the loss scale before differentiating, so that small
    gradients do not underflow in float16, and the gradient is divided by it afterwards.
    """
    x_hat = x_real + eps * (x_fake - x_real)
    _, squared, _ = input_gradient_norms(critic_fn, x_hat, loss_scale)
    norm = tf.sqrt(squared + 1e-12)
    return tf.square(norm - 1.0)


class WganGpFamily(Family):
    metrics = ("d_loss", "d_loss_real", "d_loss_fake", "gp", "g_loss", "skipped")

    def critic(self, x, y):
        return tf.cast(self.discriminator(self.discriminator_inputs(x, y), training=True)[:, 0], tf.float32)  # (B,)

    def train_step(self, x, y):
        n = tf.shape(x)[0]
        d_optimizer = self.optimizers["d"]
        skipped = 0.0
        for _ in range(self.cfg.critic_steps):  # unrolled: critic_steps critic updates per generator update
            with tf.GradientTape() as tape:
                x_fake = self.generator(self.generator_inputs(self.latents(n), y), training=True)
                x_real, x_fake = self.augmented(x), self.augmented(x_fake)  # --augment's transforms on both
                fake_scores = self.critic(x_fake, y)  # (B,), the fakes first, as the notebooks score them
                real_scores = self.critic(x_real, y)
                d_loss_real = share(-real_scores)
                d_loss_fake = share(fake_scores)
                # the weight of x_fake: N(0, 1) in the notebooks, U(0, 1) in the WGAN-GP paper
                eps = self.draw(self.cfg.gp_interpolation, n, (1, 1, 1))
                gp = share(gradient_penalty(lambda x_hat: self.critic(x_hat, y), x_real, x_fake, eps,
                                            d_optimizer.scale_loss(tf.constant(1.0))))
                d_loss = d_loss_real + d_loss_fake + self.cfg.gp_weight * gp
            skipped += self.minimize(tape, d_loss, self.discriminator_variables(), d_optimizer)
        with tf.GradientTape() as tape:
            x_fake = self.generator(self.generator_inputs(self.latents(n), y), training=True)
            g_loss = share(-self.critic(self.augmented(x_fake), y))
        skipped += self.minimize(tape, g_loss, self.generator_variables(), self.optimizers["g"])
        return {**totals({"d_loss": d_loss, "d_loss_real": d_loss_real, "d_loss_fake": d_loss_fake, "gp": gp,
                               "g_loss": g_loss}), "skipped": skipped,
                # ADA's signal for a critic, whose scores have no fixed boundary: a real scored above a fake
                **self.adapt_augmentation(real_scores - fake_scores)}
