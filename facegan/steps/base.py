"""What every loss family shares: optimizers, loss scaling, losses, conditional inputs, previews.

A family's step methods (`train_step`, and others that `step_name` may choose) take a batch
x (B, H, W, C) float32 in [-1, 1] and y (B,) int32 labels, do no I/O and no host round-trip,
and return a dict of float32 scalar tensors named by `metrics`; the loop compiles them with
tf.function and writes the figures outside the step. Every update goes through
`Steps.minimize`, which refuses non-finite ones and counts them in `skipped`.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from facegan.nets.dcgan import PROBABILITY


def make_optimizer(cfg, loss_scaling: bool, variables) -> keras.optimizers.Optimizer:
    """Adam with the config's settings; wrapped for dynamic loss scaling under float16; built."""
    optimizer = keras.optimizers.Adam(cfg.lr, beta_1=cfg.beta1, beta_2=cfg.beta2,
                                      weight_decay=cfg.weight_decay or None)
    if loss_scaling:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    optimizer.build(variables)  # before the first compiled step and before a checkpoint restore
    return optimizer


def bce(targets, logits):
    """Binary cross-entropy of logits (B, 1) as a float32 scalar, as PyTorch's BCELoss (the seed
    notebooks') defines it: each log term clamped at -100. From logits, the generator keeps its
    gradient when the discriminator is sure (probabilities clipped at 1e-7 would give it none); the
    clamp keeps the loss bounded when noisy labels put the targets outside [0, 1]."""
    logits = tf.cast(logits, tf.float32)
    log_p = tf.maximum(tf.math.log_sigmoid(logits), -100.0)
    log_not_p = tf.maximum(tf.math.log_sigmoid(-logits), -100.0)
    return -tf.reduce_mean(targets * log_p + (1.0 - targets) * log_not_p)


def mse(x, y):
    return tf.reduce_mean(tf.square(tf.cast(x, tf.float32) - tf.cast(y, tf.float32)))


def logits_model(discriminator: keras.Model) -> keras.Model:
    """The discriminator up to its logit. A sigmoid output (the DCGAN's) is dropped for training:
    BCE on probabilities clips them at 1e-7, which gives the generator zero gradient as soon as the
    discriminator is sure; BCE on the logit is the same loss without that cliff."""
    names = [layer.name for layer in discriminator.layers]
    if PROBABILITY not in names:
        return discriminator
    return keras.Model(discriminator.inputs, discriminator.get_layer(PROBABILITY).input)


class Steps:
    metrics: tuple[str, ...] = ()

    def __init__(self, cfg, nets: dict, rng: tf.random.Generator, loss_scaling: bool):
        self.cfg, self.nets, self.rng = cfg, nets, rng
        self.generator = nets["generator"]
        self.discriminator = nets.get("discriminator")
        self.encoder = nets.get("encoder")
        self.loss_scaling = loss_scaling
        self.optimizers = self.make_optimizers(loss_scaling)
        self.skipped = tf.Variable(0, dtype=tf.int32, trainable=False, name="skipped_updates")

    def minimize(self, tape: tf.GradientTape, loss, variables, optimizer) -> None:
        """One update, not applied when the loss or a gradient is not finite; such updates add 1 to
        `skipped`. Under loss scaling the optimizer itself skips non-finite gradients (and lowers its
        scale), so only a non-finite loss, which no scale cures, counts as skipped."""
        with tape:  # re-entered so that the scaling is recorded; otherwise its gradient is None
            scaled = optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, variables)
        finite = tf.reduce_all(tf.math.is_finite(loss))
        if self.loss_scaling:
            optimizer.apply_gradients(zip(gradients, variables))
        else:
            finite = tf.reduce_all(tf.stack([finite] + [tf.reduce_all(tf.math.is_finite(g)) for g in gradients]))

            def apply():
                optimizer.apply_gradients(zip(gradients, variables))
                return tf.constant(True)

            tf.cond(finite, apply, lambda: tf.constant(False))
        self.skipped.assign_add(tf.cast(tf.logical_not(finite), tf.int32))

    def make_optimizers(self, loss_scaling: bool) -> dict:
        """One optimizer per adversary: "g" for the generator side, "d" for the discriminator."""
        return {"g": make_optimizer(self.cfg, loss_scaling, self.generator_variables()),
                "d": make_optimizer(self.cfg, loss_scaling, self.discriminator.trainable_variables)}

    def generator_variables(self) -> list:
        encoder = self.encoder.trainable_variables if self.encoder is not None else []
        return encoder + self.generator.trainable_variables

    def step_name(self, epoch: int) -> str:
        """Name of the step method to run in this (0-based) epoch."""
        return "train_step"

    def state(self) -> dict:
        """Extra variables the checkpoint must hold besides networks, optimizers and counters."""
        return {}

    def nan_metrics(self) -> dict:
        return {name: tf.constant(np.nan, tf.float32) for name in self.metrics}

    # conditional models take [input, one-hot label]; the others the input alone
    def generator_inputs(self, z, y):
        return [z, tf.one_hot(y, self.cfg.num_classes)] if self.cfg.num_classes else z

    def discriminator_inputs(self, x, y):
        return [x, tf.one_hot(y, self.cfg.num_classes)] if self.cfg.num_classes else x

    def latents(self, n):
        return self.rng.normal((n, self.cfg.latent_dim))
