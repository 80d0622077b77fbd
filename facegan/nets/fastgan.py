"""FastGAN-style networks for small data and short budgets (Liu et al. 2021, "Towards Faster and Stabilized GAN
Training for High-fidelity Few-shot Image Synthesis"; lucidrains/lightweight-gan), sized for a CPU.

Sizes are s0 * 2^k with s0 in 4..7 and k >= 2 (16, 32, 64, 80, 128, ...); the smallest feature map is s0 x s0.
- generator: z -> s0 x s0 by a transposed convolution, then k up blocks (nearest upsampling, 3x3 convolution,
  batch norm, GLU), channels 256, 128, 64, 32, 16 from the smallest map up; skip-layer excitation (SLE) gates
  each map with a channel gate computed from the map three blocks below it (4x4 -> 32x32, 8x8 -> 64x64 at 64 px).
- discriminator: a 3x3 convolution at full size, then stride-2 blocks (4x4 convolution, batch norm, leaky ReLU),
  channels 32, 64, 128, ... up to 512, down to s0 x s0 and one logit; SLE gates each map from the map three
  blocks above it. With --mbstd-group G the s0 x s0 map gets StyleGAN's minibatch standard deviation channel
  before the logit. Its output is the logit alone, so every command that scores images with it (sample --rank)
  treats it as any other discriminator.
- decoder: two small decoders that rebuild the real image from the discriminator's features, its self-supervised
  regularization (facegan.steps.fastgan): the 2s0 x 2s0 map rebuilds the whole image at half size, a random
  quarter of the 4s0 x 4s0 map rebuilds that quarter of the image at full size (both size/2 x size/2). The
  layers named WHOLE_MAP and PART_MAP give the discriminator's maps they read.

At 64x64x3, latent 100: generator 1,772,083 parameters, discriminator 3,781,216, decoder 519,366 (the registry
holds them; the tests check them).
"""

from __future__ import annotations

import keras
from keras import layers

from facegan.nets.layers import FusedBatchNormalization, GatedLinearUnit, MinibatchStdDev, StepDropout
from facegan.nets.sizes import fastgan_smallest_map

WHOLE_MAP = "whole_map"  # the discriminator's 2s0 x 2s0 map
PART_MAP = "part_map"  # its 4s0 x 4s0 map
SLE_SPAN = 3  # blocks between the map that computes an excitation gate and the map it gates
G_CHANNELS = (256, 128, 64, 32, 16)  # from the s0 x s0 map up; 16 beyond
D_CHANNELS = 32  # at full size, doubling at every block up to D_MAX_CHANNELS
D_MAX_CHANNELS = 512
DECODER_CHANNELS = 64  # after the first upsampling, halving at each one after


def batch_norm(synchronized: bool) -> layers.Layer:
    return FusedBatchNormalization(momentum=0.9, synchronized=synchronized)


def excitation(source, target, s0: int):
    """Skip-layer excitation: `target` (B, H, W, C) times a per-channel gate in (0, 1) computed from `source` (any
    size): pooled to s0 x s0, a s0 x s0 convolution to one pixel, swish, a 1x1 convolution, sigmoid."""
    pool = source.shape[1] // s0
    h = layers.AveragePooling2D(pool)(source) if pool > 1 else source
    h = layers.Activation("silu")(layers.Conv2D(target.shape[-1], s0, use_bias=False)(h))
    gate = layers.Conv2D(target.shape[-1], 1, use_bias=False, activation="sigmoid")(h)  # (B, 1, 1, C)
    return layers.Multiply()([target, gate])


def up_block(h, channels: int, sync_bn: bool):
    """(B, H, W, C) -> (B, 2H, 2W, channels): nearest upsampling, 3x3 convolution, batch norm, GLU."""
    h = layers.Conv2D(2 * channels, 3, padding="same", use_bias=False)(layers.UpSampling2D(2)(h))
    return GatedLinearUnit()(batch_norm(sync_bn)(h))


def generator(latent_dim: int, image_size: int, channels: int, sync_bn: bool = False) -> keras.Model:
    s0, k = fastgan_smallest_map(image_size)
    widths = [G_CHANNELS[min(i, len(G_CHANNELS) - 1)] for i in range(k + 1)]
    z = keras.Input((latent_dim,), name="z")
    h = layers.Conv2DTranspose(2 * widths[0], s0, use_bias=False)(layers.Reshape((1, 1, latent_dim))(z))
    maps = [GatedLinearUnit()(batch_norm(sync_bn)(h))]  # (B, s0, s0, 256)
    for i in range(1, k + 1):
        h = up_block(maps[-1], widths[i], sync_bn)
        maps.append(excitation(maps[i - SLE_SPAN], h, s0) if i >= SLE_SPAN else h)
    x = layers.Conv2D(channels, 3, padding="same", activation="tanh", dtype="float32")(maps[-1])
    return keras.Model(z, x, name="generator")


def discriminator(image_size: int, channels: int, dropout: float, sync_bn: bool = False,
                  mbstd_group: int = 0) -> keras.Model:
    s0, k = fastgan_smallest_map(image_size)
    x = keras.Input((image_size, image_size, channels), name="image")
    names = {k - 1: WHOLE_MAP, k - 2: PART_MAP}  # the maps the decoders read, by level
    named = lambda h, level: layers.Identity(name=names[level])(h) if level in names else h  # noqa: E731
    maps = [named(layers.LeakyReLU(0.2)(layers.Conv2D(D_CHANNELS, 3, padding="same", use_bias=False)(x)), 0)]
    for i in range(1, k + 1):  # level i: size / 2**i, down to s0 x s0
        h = layers.Conv2D(min(D_CHANNELS * 2**i, D_MAX_CHANNELS), 4, strides=2, padding="same",
                          use_bias=False)(maps[-1])
        h = StepDropout(dropout)(layers.LeakyReLU(0.2)(batch_norm(sync_bn)(h)))
        maps.append(named(excitation(maps[i - SLE_SPAN], h, s0) if i >= SLE_SPAN else h, i))
    h = MinibatchStdDev(mbstd_group)(maps[-1]) if mbstd_group else maps[-1]
    logit = layers.Flatten(dtype="float32")(layers.Conv2D(1, s0, use_bias=False, dtype="float32")(h))
    return keras.Model(x, logit, name="discriminator")


def decoder_stack(source, channels: int, upsamplings: int, sync_bn: bool):
    """(B, m, m, C) -> (B, m * 2**upsamplings, ..., channels) image in [-1, 1]."""
    h = source
    for i in range(upsamplings):
        h = up_block(h, max(DECODER_CHANNELS // 2**i, 16), sync_bn)
    return layers.Conv2D(channels, 3, padding="same", activation="tanh", dtype="float32")(h)


def decoder(discriminator: keras.Model, image_size: int, channels: int, sync_bn: bool = False) -> keras.Model:
    """[whole map (B, 2s0, 2s0, C1), quarter of the part map (B, 2s0, 2s0, C2)] -> [whole image at half size,
    that quarter of the image], both (B, size/2, size/2, channels)."""
    s0, k = fastgan_smallest_map(image_size)
    whole = keras.Input(discriminator.get_layer(WHOLE_MAP).output.shape[1:], name="whole_map")
    part_shape = discriminator.get_layer(PART_MAP).output.shape
    part = keras.Input((2 * s0, 2 * s0, part_shape[-1]), name="part_map_quarter")
    upsamplings = k - 2  # from 2s0 to size/2
    return keras.Model([whole, part], [decoder_stack(whole, channels, upsamplings, sync_bn),
                                       decoder_stack(part, channels, upsamplings, sync_bn)], name="decoder")


def build_fastgan(cfg) -> dict:
    d = discriminator(cfg.image_size, cfg.channels, cfg.dropout, cfg.sync_bn, cfg.mbstd_group)
    return {"generator": generator(cfg.latent_dim, cfg.image_size, cfg.channels, cfg.sync_bn),
            "discriminator": d,
            "decoder": decoder(d, cfg.image_size, cfg.channels, cfg.sync_bn)}
