"""The WGAN-GP and conditional WGAN (CGAN) networks of their notebooks (Generative Deep Learning, 2nd edition,
chapter 4: wgan_gp.ipynb and cgan.ipynb), layer for layer.

WGAN-GP at 64x64x3, latent 128: critic Conv2D 64-128-256-512 (kernel 4, stride 2, with biases, no batch norm),
LeakyReLU 0.2 but for the second block's Keras default (0.3), Dropout after every block but the first, then
Conv2D(1, 4, valid), a linear score; generator Conv2DTranspose 512-256-128-64 (no biases) with batch norm and
LeakyReLU 0.2, then a Conv2DTranspose with a bias and tanh. CGAN: the same with critic filters 64-128-128-128 and
generator filters 128-128-128-64, the one-hot label appended to the latent and, as constant planes, to the
critic's input. Other sizes take log2(size) - 2 blocks, as the DCGAN does.
"""

import keras
from keras import layers

from facegan.nets import dcgan
from facegan.nets.layers import StepDropout

KERAS_LEAKY_SLOPE = 0.3  # layers.LeakyReLU()'s default, which the notebooks' second critic block takes


def critic(image_size: int, channels: int, dropout: float, filters: list[int], num_classes: int = 0) -> keras.Model:
    inputs, h = dcgan.image_inputs(image_size, channels, num_classes)
    for i, width in enumerate(filters):
        h = layers.Conv2D(width, 4, strides=2, padding="same")(h)
        h = layers.LeakyReLU(KERAS_LEAKY_SLOPE if i == 1 else 0.2)(h)
        if i:
            h = StepDropout(dropout)(h)
    score = layers.Flatten(dtype="float32")(layers.Conv2D(1, 4, padding="valid", dtype="float32")(h))
    return keras.Model(inputs, score, name="discriminator")


def build_wgan(cfg) -> dict:
    """WGAN-GP (num_classes 0) or the conditional WGAN; definition 1 runs keep facegan's first networks."""
    if cfg.definition < 2:
        return dcgan.build_first_wgan(cfg)
    widths = dcgan.doubling(cfg.image_size)  # 64-128-256-512
    if cfg.num_classes:  # the CGAN notebook's narrower networks
        widths = [64] + [128] * (len(widths) - 1)
        g_widths = [128] * (len(widths) - 1) + [64]
    else:
        g_widths = widths[::-1]
    return {"generator": dcgan.generator(cfg.latent_dim, cfg.image_size, cfg.channels, cfg.num_classes, cfg.sync_bn,
                                         filters=g_widths, output_bias=True),
            "discriminator": critic(cfg.image_size, cfg.channels, cfg.dropout, widths, cfg.num_classes)}
