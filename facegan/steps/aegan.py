"""AE-GAN steps: an autoencoder generator G(x) = decoder(encoder(x)) judged by a discriminator.

With ae = MSE(x, G(x)) and gan = BCE(real labels, D(G(x))) over the (global) batch (BCE: --gan-loss's cross-entropy,
from logits for v0, on probabilities for v1, v4 and v5, as their notebooks take it), the generator loss is
    v0: ae_weight*ae + gan_weight*gan            v1: ae_weight*ae + gan_weight*gan/(ae_weight*ae)
    v4: ae + gan_weight_t*gan (gan_weight_t from the slope of ae, see v4_gan_weight)
    v5: ae + min(ae, gan)
(the notebooks' alpha, beta and beta_t are ae_weight, gan_weight and gan_weight_t.)
`pretrain_step` trains the autoencoder alone (the first --pretrain-ae-epochs epochs).
"""

from __future__ import annotations

import tensorflow as tf

from facegan.steps.base import CROSS_ENTROPIES, Family, mse
from facegan.steps.replicas import share, through_global, totals


def v4_gan_weight(ae, history: tf.Variable, count: tf.Variable, scale: float, window: int):
    """(gan_weight_t, slope): gan_weight_t = min(|scale / slope|, 1), slope = (ae_t - ae_{t-window}) / window; both
    0 for the first `window` steps, which have no slope yet.

    history (window,) is a ring buffer of the last `window` ae values and count the number
    of steps seen; both are updated in place, inside the compiled step.
    """
    slot = tf.cast(count % window, tf.int32)
    slope = (ae - history[slot]) / window
    warming = count < window
    weight = tf.where(warming, 0.0, tf.minimum(tf.abs(scale / slope), 1.0))  # scale / 0 = inf -> 1
    history.assign(tf.tensor_scatter_nd_update(history, [[slot]], [ae]))
    count.assign_add(1)
    return weight, tf.where(warming, 0.0, slope)


class AeganFamily(Family):
    metrics = ("d_loss", "d_loss_real", "d_loss_fake", "d_acc_real", "d_acc_fake",
               "g_loss", "ae_loss", "gan_loss", "gan_weight", "skipped")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.cfg.aegan_loss == "v4" and self.cfg.definition >= 2:
            self.metrics = (*self.metrics[:-1], "ae_slope", "skipped")  # drawn beside gan_weight, as the notebook
            # plots its beta
        self.cross_entropy = CROSS_ENTROPIES[self.cfg.gan_loss]
        once = dict(trainable=False, aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)  # global values
        self.ae_history = tf.Variable(tf.zeros([self.cfg.slope_window]), name="ae_history", **once)
        self.ae_count = tf.Variable(0, dtype=tf.int64, name="ae_count", **once)

    def state(self) -> dict:
        return {**super().state(), "ae_history": self.ae_history, "ae_count": self.ae_count}

    def step_name(self, epoch: int) -> str:
        return "pretrain_step" if epoch <= self.cfg.pretrain_ae_epochs else "train_step"

    def autoencode(self, x, training: bool):
        return self.generator(self.encoder(x, training=training), training=training)

    def pretrain_step(self, x, y):
        with tf.GradientTape() as tape:
            ae = share(mse(x, self.autoencode(x, training=True)))
        skipped = self.minimize(tape, ae, self.generator_variables(), self.optimizers["g"])
        total = totals({"ae": ae})["ae"]
        return {**self.nan_metrics(), "g_loss": total, "ae_loss": total, "skipped": skipped}

    def generator_mix(self, ae, gan):
        """(mix, figures): the variant's generator loss as a function mix(ae, gan) of the global losses, and
        {"gan_weight": the weight it gives the gan term at the global values ae, gan} (v4 advances its schedule
        here, and adds its "ae_slope"; v5's is 1 where it takes gan, 0 where ae)."""
        cfg = self.cfg
        constant = {"gan_weight": tf.constant(cfg.gan_weight)}
        if cfg.aegan_loss == "v0":
            return lambda ae, gan: cfg.ae_weight * ae + cfg.gan_weight * gan, constant
        if cfg.aegan_loss == "v1":
            return lambda ae, gan: cfg.ae_weight * ae + cfg.gan_weight * gan / (cfg.ae_weight * ae), constant
        if cfg.aegan_loss == "v4":
            weight, slope = v4_gan_weight(ae, self.ae_history, self.ae_count, cfg.slope_scale, cfg.slope_window)
            weight = tf.stop_gradient(weight)
            figures = {"gan_weight": weight, **({"ae_slope": slope} if "ae_slope" in self.metrics else {})}
            return lambda ae, gan: ae + weight * gan, figures
        if cfg.aegan_loss == "v5":
            return lambda ae, gan: ae + tf.minimum(ae, gan), {"gan_weight": tf.cast(gan < ae, tf.float32)}
        raise ValueError(f"unknown AE-GAN loss {cfg.aegan_loss!r}")

    def train_step(self, x, y):
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            x_rec = self.autoencode(x, training=True)  # (B, H, W, C) in [-1, 1]
            real_out = self.discriminator(self.augmented(x), training=True)  # logits (B, 1)
            fake_out = self.discriminator(self.augmented(x_rec), training=True)
            bce = self.cross_entropy
            shares = {"d_loss_real": share(bce(tf.ones_like(real_out), real_out)),
                      "d_loss_fake": share(bce(tf.zeros_like(fake_out), fake_out)),
                      "ae": share(mse(x, x_rec)), "gan": share(bce(tf.ones_like(fake_out), fake_out)),
                      "d_acc_real": share(tf.cast(real_out[:, 0] > 0, tf.float32)),
                      "d_acc_fake": share(tf.cast(fake_out[:, 0] <= 0, tf.float32))}
            m = totals(shares)
            mix, figures = self.generator_mix(m["ae"], m["gan"])
            g_loss, g_surrogate = through_global(mix, {"ae": shares["ae"], "gan": shares["gan"]},
                                                 {"ae": m["ae"], "gan": m["gan"]})
            d_loss = shares["d_loss_real"] + shares["d_loss_fake"]
        skipped = self.minimize(d_tape, d_loss, self.discriminator_variables(), self.optimizers["d"])
        skipped += self.minimize(g_tape, g_surrogate, self.generator_variables(), self.optimizers["g"])
        return {
            "d_loss": m["d_loss_real"] + m["d_loss_fake"], "d_loss_real": m["d_loss_real"],
            "d_loss_fake": m["d_loss_fake"], "d_acc_real": m["d_acc_real"], "d_acc_fake": m["d_acc_fake"],
            "g_loss": g_loss, "ae_loss": m["ae"], "gan_loss": m["gan"],
            **{k: tf.cast(v, tf.float32) for k, v in figures.items()},
            "skipped": skipped, **self.adapt_augmentation(real_out[:, 0]),
        }
