"""Latent arithmetic: each term's average latent, their signed sum, decoded.

The latent of a real face comes from the encoder (the VAE's z_mean, the AE-GAN encoder), or for
generator-only models from projection: a batch of latents optimized (Adam, compiled, a fixed
number of steps) so that the generator reproduces the faces. Images (N, H, W, C) in [-1, 1].
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def encode(encoder, x: np.ndarray) -> np.ndarray:
    z = encoder(x, training=False)
    return np.asarray(z[0] if isinstance(z, (list, tuple)) else z)  # the VAE gives [z_mean, z_log_var]


def project(generator, x: np.ndarray, latent_dim: int, steps: int, seed: int, lr: float = 0.05) -> np.ndarray:
    """Latents z (N, latent_dim) minimizing MSE(generator(z), x), from N(0, I) starts."""
    z = tf.Variable(np.random.default_rng(seed).standard_normal((len(x), latent_dim)).astype(np.float32))
    optimizer = tf.keras.optimizers.Adam(lr)
    optimizer.build([z])
    target = tf.constant(x, tf.float32)

    @tf.function
    def run():
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(tf.cast(generator(z, training=False), tf.float32) - target))
            optimizer.apply_gradients([(tape.gradient(loss, z), z)])

    run()
    return z.numpy()


def reconstruction_mse(generator, z: np.ndarray, x: np.ndarray) -> float:
    return float(np.mean(np.square(np.asarray(generator(z, training=False)) - x)))
