"""Images/s of one training step, three ways, on this machine.

    python benchmarks/train_step.py [--models dcgan aegan-v5] [--steps 5] [--batch-size 128]

For each model and precision (float32, bfloat16):
  compiled  facegan's step under tf.function (what `facegan train` runs)
  xla       the same, compiled with XLA (`facegan train --xla`)
  eager     the same step run eagerly, as the notebooks did with run_eagerly=True
  fit       keras Model.fit with an overridden train_step, as the original DCGAN notebook did
  hand      (GAN models) the same networks built from stock Keras layers (keras' BatchNormalization where
            facegan fuses it) and trained by a step written by hand as the TensorFlow DCGAN tutorial
            writes it: Keras losses and Adam, tf.random.normal, no noisy labels, no metrics, no
            non-finite checks: the speed a Keras user gets, which facegan's step should match or beat;
            the model's hinge loss where it has it, and fastgan's decoders rebuilding the reals
and the achieved GFLOP/s of the compiled step (FLOPs of the step's graph as TensorFlow's profiler
counts them: convolutions, matrix products and their gradients).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from facegan import registry  # noqa: E402
from facegan.config import TrainConfig  # noqa: E402
from facegan.distribute import POLICIES  # noqa: E402
from facegan.nets.dcgan import PROBABILITY  # noqa: E402
from facegan.nets.fastgan import PART_MAP, WHOLE_MAP  # noqa: E402
from facegan.nets.layers import FusedBatchNormalization, StepDropout  # noqa: E402
from facegan.steps import build_family  # noqa: E402


def build(model: str, precision: str, batch_size: int, **options):
    """(cfg, family, x, y): `model` in `precision` at `batch_size` (and TrainConfig `options`), seeded weights,
    one random batch."""
    cfg = TrainConfig.resolve(model, batch_size=batch_size, precision=precision, **options)
    keras.mixed_precision.set_global_policy(POLICIES[precision])
    keras.utils.set_random_seed(0)
    nets = registry.get(model).build_networks(cfg)
    family = build_family(cfg, nets)
    x = tf.random.uniform((batch_size, cfg.image_size, cfg.image_size, cfg.channels), -1.0, 1.0)
    return cfg, family, x, tf.zeros((batch_size,), tf.int32)


def timed(run_steps, steps: int) -> float:
    """Seconds per step after two warm-up steps (which include tracing and compiling)."""
    run_steps(2)
    start = time.perf_counter()
    run_steps(steps)
    return (time.perf_counter() - start) / steps


def loop(step_fn, x, y):
    def run(n):
        for _ in range(n):
            metrics = step_fn(x, y)
        float(next(iter(metrics.values())))  # wait for the device
    return run


class FitModel(keras.Model):
    """The notebook way: Model.fit driving an overridden train_step."""

    def __init__(self, family):
        super().__init__()
        self.family = family

    def train_step(self, data):
        return self.family.train_step(*data)


def fit_runner(family, x, y):
    model = FitModel(family)
    model.compile(jit_compile=False)
    dataset = tf.data.Dataset.from_tensors((x, y)).repeat()
    return lambda n: model.fit(dataset, epochs=1, steps_per_epoch=n, verbose=0)


def stock_keras(network: keras.Model) -> keras.Model:
    """The network with every layer Keras' own (facegan's fused batch normalization and step-drawn dropout made
    Keras')."""
    def clone(layer):
        if isinstance(layer, FusedBatchNormalization):
            return keras.layers.BatchNormalization.from_config(layer.get_config())
        if isinstance(layer, StepDropout):
            return keras.layers.Dropout.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    return keras.models.clone_model(network, clone_function=clone)


def handwritten_runner(cfg, family, x, y):
    """The step of the TensorFlow DCGAN tutorial on the same networks in stock Keras layers, with the model's loss
    (the hinge where it trains with it, else the cross-entropy) and, for fastgan, its decoders' reconstruction of
    the reals, written out as FastGAN's authors write it."""
    generator, discriminator = stock_keras(family.nets["generator"]), stock_keras(family.nets["discriminator"])
    decoder = stock_keras(family.nets["decoder"]) if "decoder" in family.nets else None
    if decoder is not None:  # the logit and the two maps the decoders read, from one pass
        judge = keras.Model(discriminator.inputs, [discriminator.output, discriminator.get_layer(WHOLE_MAP).output,
                                                   discriminator.get_layer(PART_MAP).output])
    bce = keras.losses.BinaryCrossentropy(from_logits=PROBABILITY not in [layer.name for layer in discriminator.layers])
    g_optimizer = keras.optimizers.Adam(cfg.lr, beta_1=cfg.beta1)
    d_optimizer = keras.optimizers.Adam(cfg.lr, beta_1=cfg.beta1)
    d_variables = discriminator.trainable_variables + (decoder.trainable_variables if decoder is not None else [])

    def quarter(images, which):
        """The quarter `which` (B,) of each image (B, H, W, C)."""
        half = images.shape[1] // 2
        stacked = tf.stack([images[:, r:r + half, c:c + half] for r in (0, half) for c in (0, half)], axis=1)
        return tf.gather(stacked, which, axis=1, batch_dims=1)

    @tf.function
    def step(x, y):
        z = tf.random.normal([tf.shape(x)[0], cfg.latent_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            x_fake = generator(z, training=True)
            recon = 0.0
            if decoder is None:
                real_out = discriminator(x, training=True)
            else:
                real_out, whole_map, part_map = judge(x, training=True)
                which = tf.random.uniform([tf.shape(x)[0]], 0, 4, tf.int32)
                whole, part = decoder([whole_map, quarter(part_map, which)], training=True)
                recon = (tf.reduce_mean(tf.square(tf.cast(whole, tf.float32) - tf.nn.avg_pool2d(x, 2, 2, "VALID")))
                         + tf.reduce_mean(tf.square(tf.cast(part, tf.float32) - quarter(x, which))))
            fake_out = discriminator(x_fake, training=True)
            if cfg.gan_loss == "hinge":
                d_loss = tf.reduce_mean(tf.nn.relu(1.0 - real_out)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_out))
                g_loss = -tf.reduce_mean(fake_out)
            else:
                d_loss = bce(tf.ones_like(real_out), real_out) + bce(tf.zeros_like(fake_out), fake_out)
                g_loss = bce(tf.ones_like(fake_out), fake_out)
            d_loss += recon
        g_variables = generator.trainable_variables
        d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_variables), d_variables))
        g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, g_variables), g_variables))
        return {"d_loss": d_loss, "g_loss": g_loss}

    return loop(step, x, y)


def step_flops(family, x, y) -> float:
    from tensorflow.python.profiler import model_analyzer, option_builder

    spec = (tf.TensorSpec(x.shape, x.dtype), tf.TensorSpec(y.shape, y.dtype))
    graph = tf.function(family.train_step).get_concrete_function(*spec).graph
    options = (option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
               .with_empty_output().build())
    return model_analyzer.profile(graph, options=options).total_float_ops


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["dcgan", "aegan-v5"])
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    tf.get_logger().setLevel("ERROR")
    warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, "
          f"GPUs: {len(tf.config.list_physical_devices('GPU'))}, batch {args.batch_size}, {args.steps} timed steps")
    print(f"{'model':<10} {'precision':<9} {'compiled':>9} {'xla':>9} {'eager':>9} {'fit':>9} {'hand':>9} "
          f"{'comp/eager':>10} {'comp/fit':>9} {'comp/hand':>9} {'GFLOP/s':>8}   (images/s)")
    for model in args.models:
        for precision in args.precisions:
            seconds = {}
            gan = "r1_weight" in registry.get(model).settings  # the GAN families, which the hand step writes
            for mode in ("compiled", "xla", "eager", "fit", *(("hand",) if gan else ())):
                cfg, family, x, y = build(model, precision, args.batch_size)  # fresh weights per mode
                run = {"compiled": lambda: loop(tf.function(family.train_step), x, y),
                       "xla": lambda: loop(tf.function(family.train_step, jit_compile=True), x, y),
                       "eager": lambda: loop(family.train_step, x, y),
                       "fit": lambda: fit_runner(family, x, y),
                       "hand": lambda: handwritten_runner(cfg, family, x, y)}[mode]()
                seconds[mode] = timed(run, args.steps)
            flops = step_flops(family, x, y)
            ips = {mode: args.batch_size / s for mode, s in seconds.items()}
            hand = f"{ips['hand']:>9.1f}" if gan else f"{'-':>9}"
            versus_hand = f"{ips['compiled'] / ips['hand']:>8.2f}x" if gan else f"{'-':>9}"
            print(f"{model:<10} {precision:<9} {ips['compiled']:>9.1f} {ips['xla']:>9.1f} {ips['eager']:>9.1f} "
                  f"{ips['fit']:>9.1f} {hand} "
                  f"{ips['compiled'] / ips['eager']:>9.2f}x {ips['compiled'] / ips['fit']:>8.2f}x {versus_hand} "
                  f"{flops / seconds['compiled'] / 1e9:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
