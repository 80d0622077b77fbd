"""The DCGAN networks of the DCGAN notebook (Generative Deep Learning, 2nd edition, chapter 4), the critics
facegan's first WGAN-GP and conditional models used (definition 1), and the spectrally normalized discriminator of
sngan.

At 64x64x1, latent 100: discriminator 2,765,312 (2,763,520 trainable), generator
3,576,576 (3,574,656 trainable). Other sizes must be powers of two of at least 8: the
number of stride-2 blocks is log2(size) - 2, so the last feature map is always 4x4.
Conditional models (num_classes > 0) take [image or z, one-hot label]: the label is
appended to the latent vector and, as constant planes, to the critic's input channels.
"""

import keras
from keras import layers

from facegan.nets.layers import FusedBatchNormalization, StepDropout
from facegan.nets.sizes import dcgan_blocks

BASE_FILTERS = 64
PROBABILITY = "probability"  # name of the DCGAN discriminator's sigmoid output layer


def batch_norm(synchronized: bool) -> layers.Layer:
    """Batch normalization; `synchronized` (--sync-bn) takes its statistics over every replica's batch."""
    return FusedBatchNormalization(momentum=0.9, synchronized=synchronized)


def doubling(image_size: int) -> list[int]:
    """The DCGAN's filters per block, from the image's side: 64-128-256-512 at 64x64."""
    return [BASE_FILTERS * 2**i for i in range(dcgan_blocks(image_size))]


def generator(latent_dim: int, image_size: int, channels: int, num_classes: int = 0, sync_bn: bool = False,
              leaky: bool = True, filters: list[int] | None = None, output_bias: bool = False) -> keras.Model:
    """Conv2DTranspose blocks from a 1x1 latent to the image, each with batch normalization and LeakyReLU(0.2)
    (ReLU with leaky=False), then a tanh image. `filters` from the first block (4x4) on: the DCGAN's by default."""
    filters = filters or doubling(image_size)[::-1]
    z = keras.Input((latent_dim,), name="z")
    inputs, h = [z], z
    if num_classes:
        label = keras.Input((num_classes,), name="label")
        inputs, h = [z, label], layers.Concatenate()([z, label])
    h = layers.Reshape((1, 1, h.shape[-1]))(h)
    for i, width in enumerate(filters):  # 512-256-128-64 at 64x64: 1 -> 4 -> 8 -> 16 -> 32
        h = layers.Conv2DTranspose(width, 4, strides=2 if i else 1, padding="same" if i else "valid",
                                   use_bias=False)(h)
        h = batch_norm(sync_bn)(h)
        h = layers.LeakyReLU(0.2)(h) if leaky else layers.ReLU()(h)
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", use_bias=output_bias,
                               activation="tanh", dtype="float32")(h)
    return keras.Model(inputs if num_classes else z, x, name="generator")


def image_inputs(image_size: int, channels: int, num_classes: int = 0):
    """(inputs, first tensor) of a discriminator: the image, and for conditional models the one-hot label
    appended to it as constant planes."""
    x = keras.Input((image_size, image_size, channels), name="image")
    if not num_classes:
        return x, x
    label = keras.Input((num_classes,), name="label")
    planes = layers.UpSampling2D(image_size)(layers.Reshape((1, 1, num_classes))(label))
    return [x, label], layers.Concatenate()([x, planes])


def discriminator(image_size: int, channels: int, dropout: float, normalized: bool = True,
                  num_classes: int = 0, sync_bn: bool = False, spectral: bool = False) -> keras.Model:
    """DCGAN discriminator (sigmoid output); with normalized=False a WGAN critic (linear output); with
    spectral=True every convolution spectrally normalized (Miyato et al. 2018) instead of batch
    normalization, and a linear output (a logit)."""
    conv = (lambda *args, **kwargs: layers.SpectralNormalization(layers.Conv2D(*args, **kwargs))) if spectral \
        else layers.Conv2D
    normalized = normalized and not spectral
    blocks = dcgan_blocks(image_size)
    inputs, h = image_inputs(image_size, channels, num_classes)
    for i in range(blocks):  # 64-128-256-512 at 64x64: 64 -> 32 -> 16 -> 8 -> 4
        h = conv(BASE_FILTERS * 2**i, 4, strides=2, padding="same", use_bias=False)(h)
        if normalized and i > 0:
            h = batch_norm(sync_bn)(h)
        h = StepDropout(dropout)(layers.LeakyReLU(0.2)(h))
    logit = layers.Flatten(dtype="float32")(conv(1, 4, padding="valid", use_bias=False, dtype="float32")(h))
    if not normalized:  # WGAN critic, spectrally normalized discriminator: a linear score
        return keras.Model(inputs, logit, name="discriminator")
    # the sigmoid is its own layer so that training can take the loss from the logit beneath it
    probability = layers.Activation("sigmoid", dtype="float32", name=PROBABILITY)(logit)
    return keras.Model(inputs, probability, name="discriminator")


def build_dcgan(cfg) -> dict:
    """The DCGAN notebook's networks (definition 1: a ReLU generator)."""
    return {"generator": generator(cfg.latent_dim, cfg.image_size, cfg.channels, sync_bn=cfg.sync_bn,
                                   leaky=cfg.definition >= 2),
            "discriminator": discriminator(cfg.image_size, cfg.channels, cfg.dropout, sync_bn=cfg.sync_bn)}


def build_sngan(cfg) -> dict:
    """The DCGAN generator judged by a spectrally normalized DCGAN discriminator (logits)."""
    return {"generator": generator(cfg.latent_dim, cfg.image_size, cfg.channels, sync_bn=cfg.sync_bn, leaky=False),
            "discriminator": discriminator(cfg.image_size, cfg.channels, cfg.dropout, spectral=True)}


def build_first_wgan(cfg) -> dict:
    """facegan's WGAN-GP and conditional WGAN-GP of definition 1: the DCGAN shapes, critic without batch norm."""
    return {"generator": generator(cfg.latent_dim, cfg.image_size, cfg.channels, cfg.num_classes, cfg.sync_bn,
                                   leaky=False),
            "discriminator": discriminator(cfg.image_size, cfg.channels, cfg.dropout, normalized=False,
                                           num_classes=cfg.num_classes)}
