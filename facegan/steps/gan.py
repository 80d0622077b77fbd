"""GAN steps: the baseline GAN and the DCGAN with noisy labels, and the alternating schedule of gan-alt."""

from __future__ import annotations

import tensorflow as tf

from facegan.config import PAIRED_LOSSES
from facegan.steps.base import CROSS_ENTROPIES, Family, input_gradient_norms, logits_model, scored
from facegan.steps.replicas import share, totals


def paired_loss(kind: str, first, second):
    """The share of a loss that judges the logits `first` (B,) above `second` (B,), for the --gan-loss that pair
    reals with fakes: "relativistic" (RpGAN, Jolicoeur-Martineau 2019, as R3GAN uses it): softplus(second_i -
    first_i) pair by pair; "dual-contrastive" (Yu et al. 2021, lucidrains/lightweight-gan): each first_i against
    every second_j of the batch, the cross-entropy of picking first_i among them."""
    first, second = tf.cast(first, tf.float32), tf.cast(second, tf.float32)
    if kind == "relativistic":
        return share(tf.nn.softplus(second - first))
    n = tf.shape(first)[0]
    logits = tf.concat([first[:, None], tf.tile(second[None, :], [n, 1])], axis=1)  # (B, 1 + B), first_i at 0
    return share(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.zeros([n], tf.int32), logits))


class GanFamily(Family):
    metrics = ("d_loss", "d_loss_real", "d_loss_fake", "d_acc_real", "d_acc_fake", "d_acc", "g_loss", "g_acc",
               "skipped")
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.d_logits = self.called(logits_model(self.nets["discriminator"]))  # shares the discriminator's weights
        self.metrics = (*self.metrics, *(["r1"] if self.cfg.r1_weight else []), *(["r2"] if self.cfg.r2_weight else []))

    def losses(self, x, y):
        """One forward pass: ({"d_loss", "g_loss"} as shares to minimize, global metrics)."""
        n = tf.shape(x)[0]
        # generate; the discriminator sees reals and fakes through --augment's transforms
        x_fake = self.generator(self.generator_inputs(self.latents(n), y), training=True)
        x_real, x_fake = self.augmented(x), self.augmented(x_fake)
        real_logits, d_penalty, d_terms = self.judge_reals(x_real, y)  # (B,), and what its loss adds for reals
        fake_logits, fake_penalty, fake_terms = self.judge_fakes(x_fake, y)
        d_loss, d_halves = self.discriminator_loss(real_logits, fake_logits, d_penalty + fake_penalty)
        d_terms.update(fake_terms)
        g_loss = self.generator_loss(real_logits, fake_logits)
        # right: a real scored above 0 and a fake at or below (a paired loss has no boundary: a real above its fake)
        paired = self.cfg.gan_loss in PAIRED_LOSSES
        right = (real_logits > fake_logits,) * 2 if paired else (real_logits > 0, fake_logits <= 0)
        m = totals({"d_loss": d_loss, "g_loss": g_loss, **d_halves, **d_terms,
                    "d_acc_real": share(tf.cast(right[0], tf.float32)),
                    "d_acc_fake": share(tf.cast(right[1], tf.float32))})
        m["d_acc"] = (m["d_acc_real"] + m["d_acc_fake"]) / 2
        m["g_acc"] = 1.0 - m["d_acc_fake"]  # share of fakes the discriminator takes for real
        signal = real_logits - fake_logits if paired else real_logits
        return {"d_loss": d_loss, "g_loss": g_loss}, {**m, **self.adapt_augmentation(signal)}

    def discriminator_loss(self, real_logits, fake_logits, penalty):
        """The discriminator's loss, as a share: reals toward 1 and fakes toward 0, the two halved with --d-loss
        mean (the DCGAN notebook's (d_real_loss + d_fake_loss) / 2), plus the penalties (R1, R2, fastgan's
        reconstruction). Also {"d_loss_real", "d_loss_fake"}: a relativistic loss is one term over pairs, and
        each half shows half of it."""
        if self.cfg.gan_loss == "hinge":  # Lim & Ye 2017; Miyato et al. 2018
            real, fake = share(tf.nn.relu(1.0 - real_logits)), share(tf.nn.relu(1.0 + fake_logits))
        elif self.cfg.gan_loss == "relativistic":
            real = fake = paired_loss("relativistic", real_logits, fake_logits) / 2
        elif self.cfg.gan_loss == "dual-contrastive":
            real = paired_loss("dual-contrastive", real_logits, fake_logits)
            fake = paired_loss("dual-contrastive", -fake_logits, -real_logits)
        else:
            n, real_logits, fake_logits = tf.shape(real_logits)[0], real_logits[:, None], fake_logits[:, None]
            real_targets, fake_targets = tf.ones_like(real_logits), tf.zeros_like(fake_logits)
            if self.cfg.label_noise:  # noisy labels: 1 + n*U(0,1) and 0 - n*U(0,1); the generator's stay 1
                real_targets += self.cfg.label_noise * self.draw("uniform", n, (1,))
                fake_targets -= self.cfg.label_noise * self.draw("uniform", n, (1,))
            cross_entropy = CROSS_ENTROPIES[self.cfg.gan_loss]
            real = share(cross_entropy(real_targets, real_logits))
            fake = share(cross_entropy(fake_targets, fake_logits))
        weight = 0.5 if self.cfg.d_loss == "mean" else 1.0
        return weight * (real + fake) + penalty, {"d_loss_real": real, "d_loss_fake": fake}

    def generator_loss(self, real_logits, fake_logits):
        """The generator's loss, as a share: its fakes toward 1 (hinge: their logits up; the paired losses: the
        discriminator's, with reals and fakes in each other's place)."""
        if self.cfg.gan_loss == "hinge":
            return share(-fake_logits)
        if self.cfg.gan_loss == "relativistic":
            return paired_loss("relativistic", fake_logits, real_logits)
        if self.cfg.gan_loss == "dual-contrastive":
            return (paired_loss("dual-contrastive", fake_logits, real_logits)
                    + paired_loss("dual-contrastive", -real_logits, -fake_logits))
        return share(CROSS_ENTROPIES[self.cfg.gan_loss](tf.ones_like(fake_logits[:, None]), fake_logits[:, None]))

    def judge_reals(self, x_real, y):
        """The discriminator on the reals it sees: (logits (B,) float32, the share of the terms added to its loss,
        those terms' shares by metric name)."""
        scores, _, penalty, terms = self.penalized(self.logits_of(y), x_real)
        return scores, penalty, terms

    def judge_fakes(self, x_fake, y):
        """The discriminator on the fakes it sees: as `judge_reals`, with R2 in place of R1."""
        scores, _, penalty, terms = self.penalized(self.logits_of(y), x_fake, "r2")
        return scores, penalty, terms

    def logits_of(self, y):
        """images (B, H, W, C) -> the discriminator's logits (B,) on them, with the labels y where conditional."""
        return lambda images: self.d_logits(self.discriminator_inputs(images, y), training=True)[:, 0]

    def penalized(self, logits, images, penalty: str = "r1"):
        """(scores (B,) float32, what else the pass gives, the penalty's share, {penalty: its unweighted share}) of
        the discriminator's `logits`(images), which gives the scores, or (scores, what else the pass gives): R1 on
        reals, R2 on fakes (Mescheder et al. 2018; R3GAN pairs both with the relativistic loss), gamma/2 *
        |grad D(x)|^2 with gamma --r1-weight or --r2-weight; where that is 0, (scores, rest, 0.0, {}). With
        --penalty-every N (lazy regularization, as StyleGAN2 has it) the penalty is computed in every Nth step,
        weighted N times, and is 0 in the others."""
        def unjudged():
            scores, rest = scored(logits(images))
            return tf.cast(scores, tf.float32), tf.zeros(tf.shape(images)[:1]), rest

        weight = getattr(self.cfg, f"{penalty}_weight")
        if not weight:
            scores, _, rest = unjudged()
            return scores, rest, 0.0, {}
        loss_scale = self.optimizers["d"].scale_loss(tf.constant(1.0))
        judged = lambda: input_gradient_norms(logits, images, loss_scale)  # noqa: E731
        every = self.cfg.penalty_every
        if every == 1:
            scores, norms, rest = judged()
        else:
            scores, norms, rest = tf.cond(tf.equal(self.draw.step % every, 0), judged, unjudged)
        norms = share(norms)
        return scores, rest, every * weight / 2 * norms, {penalty: norms}

    def train_step(self, x, y):
        # both networks step on the same forward pass (as the TensorFlow DCGAN tutorial does)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            losses, m = self.losses(x, y)
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
            losses, m = self.losses(x, y)
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
