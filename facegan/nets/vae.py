"""The VAE of the small grayscale expression faces: 32x32x1, latent 32.

The encoder maps an image to [z_mean, z_log_var]; the generator (decoder) maps z to an
image in [-1, 1]. The image size must be a multiple of 8 (three stride-2 stages).
"""

import keras
from keras import layers

from facegan.nets.sizes import vae_start

FILTERS = (32, 64, 128)


def encoder(image_size: int, channels: int, latent_dim: int) -> keras.Model:
    x = keras.Input((image_size, image_size, channels), name="image")
    h = x
    for filters in FILTERS:  # 32 -> 16 -> 8 -> 4
        h = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.Flatten()(h)
    z_mean = layers.Dense(latent_dim, dtype="float32", name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, dtype="float32", name="z_log_var")(h)
    return keras.Model(x, [z_mean, z_log_var], name="encoder")


def generator(latent_dim: int, image_size: int, channels: int) -> keras.Model:
    start = vae_start(image_size)
    z = keras.Input((latent_dim,), name="z")
    h = layers.Dense(start * start * FILTERS[-1], activation="relu")(z)
    h = layers.Reshape((start, start, FILTERS[-1]))(h)
    for filters in reversed(FILTERS[:-1]):  # 4 -> 8 -> 16
        h = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", activation="relu")(h)
    x = layers.Conv2DTranspose(channels, 3, strides=2, padding="same", activation="tanh", dtype="float32")(h)
    return keras.Model(z, x, name="generator")


def build_vae(cfg) -> dict:
    return {"encoder": encoder(cfg.image_size, cfg.channels, cfg.latent_dim),
            "generator": generator(cfg.latent_dim, cfg.image_size, cfg.channels)}
