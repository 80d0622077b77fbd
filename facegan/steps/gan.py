"""GAN steps: the baseline GAN and the DCGAN with noisy labels, and the alternating schedule of gan-alt."""

from __future__ import annotations

import tensorflow as tf

from facegan.steps.base import CROSS_ENTROPIES, Family, input_gradient_norms, logits_model
from facegan.steps.replicas import share, totals


class GanFamily(Family):
    metrics = ("d_loss", "d_loss_real", "d_loss_fake", "d_acc_real", "d_acc_fake", "d_acc", "g_loss", "g_acc",
               "skipped")
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.d_logits = self.called(logits_model(self.nets["discriminator"]))  # shares the discriminator's weights
        if self.cfg.r1_weight:
            self.metrics = (*self.metrics, "r1")

    def forward(self, x, y):
        """Generate a fake batch and score both: (loss shares to minimize, global metrics)."""
        n = tf.shape(x)[0]
        x_fake = self.generator(self.generator_inputs(self.latents(n), y), training=True)
        x_real = self.augmented(x)  # what the discriminator sees: --augment's transforms on both
        x_fake = self.augmented(x_fake)
        real_out, d_penalty, d_terms = self.judge_reals(x_real, y)  # logits (B,)
        fake_out = tf.cast(self.d_logits(self.discriminator_inputs(x_fake, y), training=True)[:, 0], tf.float32)
        d_loss_real, d_loss_fake, g_loss = self.adversarial_losses(real_out, fake_out, n)
        d_weight = 0.5 if self.cfg.d_loss == "mean" else 1.0  # the DCGAN notebook: (d_real_loss + d_fake_loss) / 2
        losses = {"d_loss": d_weight * (d_loss_real + d_loss_fake) + d_penalty, "g_loss": g_loss}
        m = totals({**losses, **d_terms, "d_loss_real": d_loss_real, "d_loss_fake": d_loss_fake,
                         "d_acc_real": share(tf.cast(real_out > 0, tf.float32)),
                         "d_acc_fake": share(tf.cast(fake_out <= 0, tf.float32))})
        m["d_acc"] = (m["d_acc_real"] + m["d_acc_fake"]) / 2
        m["g_acc"] = 1.0 - m["d_acc_fake"]  # share of fakes the discriminator takes for real
        return losses, {**m, **self.adapt_augmentation(real_out)}

    def judge_reals(self, x_real, y):
        """The discriminator on the reals it sees: (logits (B,) float32, the share of the terms added to its loss,
        those terms' shares by metric name)."""
        return self.penalized(lambda images: self.d_logits(self.discriminator_inputs(images, y), training=True)[:, 0],
                              x_real)

    def penalized(self, logits, x_real):
        """(logits(x_real) (B,) float32, the R1 penalty's share, {"r1": its unweighted share}); without --r1-weight
        (0.0, {})."""
        if not self.cfg.r1_weight:
            return tf.cast(logits(x_real), tf.float32), 0.0, {}
        # R1 (Mescheder et al. 2018): the gradient on the reals the discriminator saw
        loss_scale = self.optimizers["d"].scale_loss(tf.constant(1.0))
        real_out, r1 = input_gradient_norms(logits, x_real, loss_scale)
        r1 = share(r1)
        return real_out, self.cfg.r1_weight / 2 * r1, {"r1": r1}

    def adversarial_losses(self, real_out, fake_out, n):
        """(d_loss_real, d_loss_fake, g_loss) shares from the logits (B,) on real and generated images."""
        if self.cfg.gan_loss == "hinge":  # Lim & Ye 2017; Miyato et al. 2018
            return (share(tf.nn.relu(1.0 - real_out)), share(tf.nn.relu(1.0 + fake_out)), share(-fake_out))
        cross_entropy = CROSS_ENTROPIES[self.cfg.gan_loss]
        real_out, fake_out = real_out[:, None], fake_out[:, None]
        real_targets, fake_targets = tf.ones_like(real_out), tf.zeros_like(fake_out)
        if self.cfg.label_noise:  # noisy labels: 1 + n*U(0,1) and 0 - n*U(0,1); the generator's stay 1
            real_targets += self.cfg.label_noise * self.draw("uniform", n, (1,))
            fake_targets -= self.cfg.label_noise * self.draw("uniform", n, (1,))
        return (share(cross_entropy(real_targets, real_out)), share(cross_entropy(fake_targets, fake_out)),
                share(cross_entropy(tf.ones_like(fake_out), fake_out)))

    def train_step(self, x, y):
        # both networks step on the same forward pass (as the TensorFlow DCGAN tutorial does)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            losses, m = self.forward(x, y)
        skipped = self.minimize(d_tape, losses["d_loss"], self.discriminator_variables(), self.optimizers["d"])
        skipped += self.minimize(g_tape, losses["g_loss"], self.generator_variables(), self.optimizers["g"])
        return {**m, "skipped": skipped}


class GanAltFamily(GanFamily):
    """Only one network learns per batch.

    alternate="batch": discriminator and generator take turns every batch, the discriminator's loss halved
    (d_loss "mean").
    alternate="threshold": one network trains until its loss falls under its own threshold (d_threshold,
    g_threshold: facegan's numbers, the notebook gives none), then the other; the notebook's protocol drops the
    loss factor (d_loss "sum", settled by TrainConfig.resolve).
    Both gradients are computed every step and one update is made: under tf.distribute an
    update cannot sit in a conditional branch.
    """

    metrics = GanFamily.metrics[:-1] + ("d_trained", "skipped")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.d_turn = tf.Variable(True, trainable=False, name="d_turn",
                                  aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def state(self) -> dict:
        return {**super().state(), "d_turn": self.d_turn}

    def train_step(self, x, y):
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            losses, m = self.forward(x, y)
        d_turn = self.d_turn.read_value()
        skipped = self.minimize(d_tape, losses["d_loss"], self.discriminator_variables(),
                                self.optimizers["d"], when=d_turn)
        skipped += self.minimize(g_tape, losses["g_loss"], self.generator_variables(), self.optimizers["g"],
                                 when=tf.logical_not(d_turn))
        if self.cfg.alternate == "batch":
            self.d_turn.assign(tf.logical_not(d_turn))
        else:  # keep the turn while the network's loss is at or above its threshold
            self.d_turn.assign(tf.where(d_turn, m["d_loss"] >= self.cfg.d_threshold,
                                        m["g_loss"] < self.cfg.g_threshold))
        return {**m, "d_trained": tf.cast(d_turn, tf.float32), "skipped": skipped}
