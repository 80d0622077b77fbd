"""GAN steps: the baseline GAN and the DCGAN with noisy labels, and the alternating schedule of gan-alt."""

from __future__ import annotations

import tensorflow as tf

from facegan.steps.base import Steps, bce, logits_model


class GanSteps(Steps):
    metrics = ("d_loss", "d_loss_real", "d_loss_fake", "d_acc_real", "d_acc_fake", "d_acc", "g_loss", "g_acc")
    d_loss_weight = 1.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.d_logits = logits_model(self.discriminator)  # shares the discriminator's weights

    def forward(self, x, y):
        """Generate a fake batch and score both; losses and accuracies as float32 scalars."""
        n = tf.shape(x)[0]
        noise = self.cfg.label_noise
        x_fake = self.generator(self.generator_inputs(self.latents(n), y), training=True)
        real_out = self.d_logits(self.discriminator_inputs(x, y), training=True)  # logits (B, 1)
        fake_out = self.d_logits(self.discriminator_inputs(x_fake, y), training=True)
        real_targets = 1.0 + noise * self.rng.uniform((n, 1))  # noisy labels: 1 + n*U(0,1)
        fake_targets = -noise * self.rng.uniform((n, 1))  # and 0 - n*U(0,1)
        d_loss_real = bce(real_targets, real_out)
        d_loss_fake = bce(fake_targets, fake_out)
        d_acc_real = tf.reduce_mean(tf.cast(real_out > 0, tf.float32))
        d_acc_fake = tf.reduce_mean(tf.cast(fake_out <= 0, tf.float32))
        return {
            "d_loss": self.d_loss_weight * (d_loss_real + d_loss_fake),
            "d_loss_real": d_loss_real, "d_loss_fake": d_loss_fake,
            "d_acc_real": d_acc_real, "d_acc_fake": d_acc_fake, "d_acc": (d_acc_real + d_acc_fake) / 2,
            "g_loss": bce(tf.ones_like(fake_out), fake_out),
            "g_acc": 1.0 - d_acc_fake,  # share of fakes the discriminator takes for real
        }

    def train_step(self, x, y):
        # both networks step on the same forward pass (as the TensorFlow DCGAN tutorial does)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            m = self.forward(x, y)
        self.minimize(d_tape, m["d_loss"], self.discriminator.trainable_variables, self.optimizers["d"])
        self.minimize(g_tape, m["g_loss"], self.generator_variables(), self.optimizers["g"])
        return m


class GanAltSteps(GanSteps):
    """Only one network learns per batch, the discriminator's loss halved.

    alternate="batch": discriminator and generator take turns every batch.
    alternate="threshold": one network trains until its loss falls under its own
    threshold (d_threshold, g_threshold), then the other.
    """

    metrics = GanSteps.metrics + ("d_trained",)
    d_loss_weight = 0.5

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.d_turn = tf.Variable(True, trainable=False, name="d_turn")

    def state(self) -> dict:
        return {"d_turn": self.d_turn}

    def train_step(self, x, y):
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            m = self.forward(x, y)
        d_turn = self.d_turn.read_value()

        def train_discriminator():
            self.minimize(d_tape, m["d_loss"], self.discriminator.trainable_variables, self.optimizers["d"])
            return tf.constant(True)

        def train_generator():
            self.minimize(g_tape, m["g_loss"], self.generator_variables(), self.optimizers["g"])
            return tf.constant(False)

        tf.cond(d_turn, train_discriminator, train_generator)
        if self.cfg.alternate == "batch":
            self.d_turn.assign(tf.logical_not(d_turn))
        else:  # keep the turn while the network's loss is at or above its threshold
            self.d_turn.assign(tf.where(d_turn, m["d_loss"] >= self.cfg.d_threshold,
                                        m["g_loss"] < self.cfg.g_threshold))
        return {**m, "d_trained": tf.cast(d_turn, tf.float32)}
