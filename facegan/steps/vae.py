"""VAE step: reconstruction MSE + kl_weight * KL(q(z|x) || N(0, I)), one optimizer for both halves."""

from __future__ import annotations

import tensorflow as tf

from facegan.steps.base import Family, make_optimizer, mse
from facegan.steps.replicas import share, totals


class VaeFamily(Family):
    metrics = ("g_loss", "ae_loss", "kl_loss", "skipped")

    def make_optimizers(self, loss_scaling: bool) -> dict:
        return {"g": make_optimizer(self.cfg, self.cfg.lr, loss_scaling, self.generator_variables())}

    def train_step(self, x, y):
        with tf.GradientTape() as tape:
            z_mean, z_log_var = self.encoder(x, training=True)  # (B, latent) each
            z_mean, z_log_var = tf.cast(z_mean, tf.float32), tf.cast(z_log_var, tf.float32)
            eps = self.draw("normal", tf.shape(x)[0], (self.cfg.latent_dim,))
            z = z_mean + tf.exp(0.5 * z_log_var) * eps  # reparameterization
            ae = share(mse(x, self.generator(z, training=True)))
            kl = share(-0.5 * tf.reduce_sum(1.0 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var), axis=1))
            loss = ae + self.cfg.kl_weight * kl
        skipped = self.minimize(tape, loss, self.generator_variables(), self.optimizers["g"])
        return {**totals({"g_loss": loss, "ae_loss": ae, "kl_loss": kl}), "skipped": skipped}
