"""AE-GAN steps: an autoencoder generator G(x) = decoder(encoder(x)) judged by a discriminator.

With ae = MSE(x, G(x)) and gan = BCE(real labels, D(G(x))), the generator loss is
    v0: alpha*ae + beta*gan            v1: alpha*ae + beta*gan/(alpha*ae)
    v4: ae + beta_t*gan (beta_t from the slope of ae, see v4_beta)
    v5: ae + min(ae, gan)
`pretrain_step` trains the autoencoder alone (the first --pretrain-ae-epochs epochs).
"""

from __future__ import annotations

import tensorflow as tf

from facegan.steps.base import Steps, bce, mse


def v4_beta(ae, history: tf.Variable, count: tf.Variable, a: float, window: int):
    """beta_t = min(|a / slope|, 1), slope = (ae_t - ae_{t-window}) / window; 0 for the first `window` steps.

    history (window,) is a ring buffer of the last `window` ae values and count the number
    of steps seen; both are updated in place, inside the compiled step.
    """
    slot = tf.cast(count % window, tf.int32)
    slope = (ae - history[slot]) / window
    beta = tf.where(count < window, 0.0, tf.minimum(tf.abs(a / slope), 1.0))  # a / 0 = inf -> 1
    history.assign(tf.tensor_scatter_nd_update(history, [[slot]], [ae]))
    count.assign_add(1)
    return beta


class AeganSteps(Steps):
    metrics = ("d_loss", "d_loss_real", "d_loss_fake", "d_acc_real", "d_acc_fake",
               "g_loss", "ae_loss", "gan_loss", "beta")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ae_history = tf.Variable(tf.zeros([self.cfg.beta_window]), trainable=False, name="ae_history")
        self.ae_count = tf.Variable(0, dtype=tf.int64, trainable=False, name="ae_count")

    def state(self) -> dict:
        return {"ae_history": self.ae_history, "ae_count": self.ae_count}

    def step_name(self, epoch: int) -> str:
        return "pretrain_step" if epoch < self.cfg.pretrain_ae_epochs else "train_step"

    def autoencode(self, x, training: bool):
        return self.generator(self.encoder(x, training=training), training=training)

    def pretrain_step(self, x, y):
        with tf.GradientTape() as tape:
            ae = mse(x, self.autoencode(x, training=True))
        self.minimize(tape, ae, self.generator_variables(), self.optimizers["g"])
        return {**self.nan_metrics(), "g_loss": ae, "ae_loss": ae}

    def generator_loss(self, ae, gan):
        """(loss, beta): the variant's mix of the two losses and the weight it gave the gan term."""
        cfg = self.cfg
        if cfg.aegan_loss == "v0":
            return cfg.alpha * ae + cfg.beta * gan, tf.constant(cfg.beta)
        if cfg.aegan_loss == "v1":
            return cfg.alpha * ae + cfg.beta * gan / (cfg.alpha * ae), tf.constant(cfg.beta)
        if cfg.aegan_loss == "v4":
            beta = tf.stop_gradient(v4_beta(ae, self.ae_history, self.ae_count, cfg.beta_a, cfg.beta_window))
            return ae + beta * gan, beta
        if cfg.aegan_loss == "v5":
            return ae + tf.minimum(ae, gan), tf.cast(gan < ae, tf.float32)
        raise ValueError(f"unknown AE-GAN loss {cfg.aegan_loss!r}")

    def train_step(self, x, y):
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            x_rec = self.autoencode(x, training=True)  # (B, H, W, C) in [-1, 1]
            real_out = self.discriminator(x, training=True)  # logits (B, 1)
            fake_out = self.discriminator(x_rec, training=True)
            d_loss_real = bce(tf.ones_like(real_out), real_out)
            d_loss_fake = bce(tf.zeros_like(fake_out), fake_out)
            d_loss = d_loss_real + d_loss_fake
            ae = mse(x, x_rec)
            gan = bce(tf.ones_like(fake_out), fake_out)
            g_loss, beta = self.generator_loss(ae, gan)
        self.minimize(d_tape, d_loss, self.discriminator.trainable_variables, self.optimizers["d"])
        self.minimize(g_tape, g_loss, self.generator_variables(), self.optimizers["g"])
        return {
            "d_loss": d_loss, "d_loss_real": d_loss_real, "d_loss_fake": d_loss_fake,
            "d_acc_real": tf.reduce_mean(tf.cast(real_out > 0, tf.float32)),
            "d_acc_fake": tf.reduce_mean(tf.cast(fake_out <= 0, tf.float32)),
            "g_loss": g_loss, "ae_loss": ae, "gan_loss": gan, "beta": tf.cast(beta, tf.float32),
        }

