"""The baseline GAN of the CelebA notebooks and the autoencoder-GAN built from its parts.

At the default 80x80x3, latent 100: generator 1,381,891 and discriminator 1,651,841
parameters, as in the original summaries. Images are (B, H, W, C) in [-1, 1]; the image
size must be a multiple of 16 (four stride-2 stages).
"""

import keras
from keras import layers

from facegan.nets.layers import StepDropout
from facegan.nets.sizes import baseline_start

FILTERS = 128


def generator(latent_dim: int, image_size: int, channels: int, name: str = "generator") -> keras.Model:
    start = baseline_start(image_size)
    z = keras.Input((latent_dim,), name="z")
    h = layers.LeakyReLU(0.2)(layers.Dense(start * start * FILTERS)(z))
    h = layers.Reshape((start, start, FILTERS))(h)
    for _ in range(4):  # start -> image_size
        h = layers.LeakyReLU(0.2)(layers.Conv2DTranspose(FILTERS, 4, strides=2, padding="same")(h))
    x = layers.Conv2D(channels, 5, padding="same", activation="tanh", dtype="float32")(h)
    return keras.Model(z, x, name=name)


def _downsample(x):
    """Conv2D(128, 5) then four stride-2 Conv2D(128, 5), each + LeakyReLU, flattened."""
    h = layers.LeakyReLU(0.2)(layers.Conv2D(FILTERS, 5, padding="same")(x))
    for _ in range(4):
        h = layers.LeakyReLU(0.2)(layers.Conv2D(FILTERS, 5, strides=2, padding="same")(h))
    return layers.Flatten()(h)


def discriminator(image_size: int, channels: int, dropout: float) -> keras.Model:
    baseline_start(image_size)
    x = keras.Input((image_size, image_size, channels), name="image")
    h = StepDropout(dropout)(_downsample(x))
    logit = layers.Dense(1, dtype="float32")(h)
    return keras.Model(x, logit, name="discriminator")


def encoder(image_size: int, channels: int, latent_dim: int) -> keras.Model:
    """The discriminator's mirror image of the generator, down to the latent vector."""
    baseline_start(image_size)
    x = keras.Input((image_size, image_size, channels), name="image")
    z = layers.Dense(latent_dim, dtype="float32")(_downsample(x))
    return keras.Model(x, z, name="encoder")


def build_gan(cfg) -> dict:
    return {"generator": generator(cfg.latent_dim, cfg.image_size, cfg.channels),
            "discriminator": discriminator(cfg.image_size, cfg.channels, cfg.dropout)}


def build_aegan(cfg) -> dict:
    """Autoencoder generator (encoder + baseline generator as decoder), judged by the baseline discriminator."""
    return {**build_gan(cfg), "encoder": encoder(cfg.image_size, cfg.channels, cfg.latent_dim)}
