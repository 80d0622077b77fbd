"""Where fastgan's training step spends its time, on this machine: each part of the step timed alone, compiled with
tf.function at the step's batch, beside the whole step; then the generator with each of its costly pieces swapped
for a cheaper one, to see what each costs.

    python benchmarks/step_profile.py [--batch-size 32] [--steps 10] [--precisions float32 bfloat16]

Parts (milliseconds per call, and the share of the whole step):
  whole step            facegan's compiled fastgan step (both networks' forward and backward passes, the
                        decoders, both updates)
  G forward+backward    the generator on a batch of latents, and the gradient of its output's sum
  D forward+backward    the discriminator on one batch (the step runs it on reals and on fakes)
  decoders              the discriminator's maps of a batch, the two decoders and their squared error, with the
                        gradient of that error (what the reconstruction adds to the reals' pass)
Generator variants (forward+backward, against the generator as it is):
  no excitation         the skip-layer excitation gates left out
  no GLU                each up block's 3x3 convolution makes C channels, with batch norm and a ReLU, where
                        it makes 2C for the GLU to halve
  transposed 4x4        each up block a 4x4 stride-2 transposed convolution (the DCGAN's) in place of
                        nearest upsampling and a 3x3 convolution, GLU kept
"""

from __future__ import annotations

import argparse
import os
import time
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from facegan import registry  # noqa: E402
from facegan.config import TrainConfig  # noqa: E402
from facegan.distribute import POLICIES  # noqa: E402
from facegan.nets import fastgan  # noqa: E402
from facegan.nets.layers import GatedLinearUnit  # noqa: E402
from facegan.steps import build_family  # noqa: E402
from facegan.steps.fastgan import quarters  # noqa: E402


def milliseconds(function, steps: int) -> float:
    """Milliseconds per call of a compiled `function` of no arguments, after two warm-up calls."""
    for _ in range(2):
        tf.nest.map_structure(lambda t: t.numpy(), function())
    start = time.perf_counter()
    for _ in range(steps):
        result = function()
    tf.nest.map_structure(lambda t: t.numpy(), result)
    return (time.perf_counter() - start) / steps * 1e3


def backward(network, inputs):
    """A compiled forward and backward pass of `network` on `inputs`: the gradient of its output's sum."""
    @tf.function
    def run():
        with tf.GradientTape() as tape:
            out = network(inputs, training=True)
            total = tf.add_n([tf.reduce_sum(tf.cast(o, tf.float32)) for o in tf.nest.flatten(out)])
        return tape.gradient(total, network.trainable_variables)
    return run


def without_glu(h, channels: int, sync_bn: bool):
    h = layers.Conv2D(channels, 3, padding="same", use_bias=False)(layers.UpSampling2D(2)(h))
    return layers.ReLU()(fastgan.batch_norm(sync_bn)(h))


def transposed(h, channels: int, sync_bn: bool):
    h = layers.Conv2DTranspose(2 * channels, 4, strides=2, padding="same", use_bias=False)(h)
    return GatedLinearUnit()(fastgan.batch_norm(sync_bn)(h))


VARIANTS = {
    "no excitation": mock.patch.object(fastgan, "excitation", lambda source, target, s0: target),
    "no GLU": mock.patch.object(fastgan, "up_block", without_glu),
    "transposed 4x4": mock.patch.object(fastgan, "up_block", transposed),
}


def profile(precision: str, batch: int, steps: int) -> None:
    cfg = TrainConfig.resolve("fastgan", batch_size=batch, precision=precision)
    keras.mixed_precision.set_global_policy(POLICIES[precision])
    keras.utils.set_random_seed(0)
    nets = registry.get("fastgan").build_networks(cfg)
    family = build_family(cfg, nets)
    x = tf.random.uniform((batch, cfg.image_size, cfg.image_size, cfg.channels), -1.0, 1.0)
    y, z = tf.zeros((batch,), tf.int32), tf.random.normal((batch, cfg.latent_dim))
    step = tf.function(family.train_step)
    times = {"whole step": milliseconds(lambda: step(x, y), steps),
             "G forward+backward": milliseconds(backward(nets["generator"], z), steps),
             "D forward+backward": milliseconds(backward(nets["discriminator"], x), steps)}
    d = nets["discriminator"]
    maps = keras.Model(d.inputs, [d.get_layer(fastgan.WHOLE_MAP).output, d.get_layer(fastgan.PART_MAP).output])

    @tf.function
    def decoders():
        with tf.GradientTape() as tape:
            whole_map, part_map = maps(x, training=True)
            whole, part = nets["decoder"]([whole_map, quarters(part_map)[:, 0]], training=True)
            error = (tf.reduce_mean(tf.square(tf.cast(whole, tf.float32) - tf.nn.avg_pool2d(x, 2, 2, "VALID")))
                     + tf.reduce_mean(tf.square(tf.cast(part, tf.float32) - quarters(x)[:, 0])))
        gradients = tape.gradient(error, d.trainable_variables + nets["decoder"].trainable_variables)
        return [g for g in gradients if g is not None]  # the layers past the maps have none

    times["decoders"] = milliseconds(decoders, steps)
    whole = times["whole step"]
    print(f"\n{precision}, batch {batch}: {batch / whole * 1e3:.1f} images/s")
    for part, ms in times.items():
        print(f"  {part:<22} {ms:>8.1f} ms  {ms / whole:>6.0%} of the step")
    generator_ms = times["G forward+backward"]
    for name, patch in VARIANTS.items():
        with patch:
            keras.utils.set_random_seed(0)
            variant = fastgan.generator(cfg.latent_dim, cfg.image_size, cfg.channels)
        ms = milliseconds(backward(variant, z), steps)
        print(f"  G {name:<20} {ms:>8.1f} ms  {ms / generator_ms:>6.2f}x the generator's, "
              f"{variant.count_params():,} parameters (the generator: {nets['generator'].count_params():,})")
    keras.mixed_precision.set_global_policy("float32")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"])
    args = parser.parse_args()
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores")
    for precision in args.precisions:
        profile(precision, args.batch_size, args.steps)


if __name__ == "__main__":
    main()
