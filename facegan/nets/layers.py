"""Layers the networks share."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="facegan")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """Keras' BatchNormalization, whose training pass runs TensorFlow's fused kernel (FusedBatchNormV3,
    as tf.keras did; Keras 3 composes it from separate ops). The kernel computes the statistics in
    float32 under mixed precision, as Keras does, and skips Keras' casts of the whole feature map to
    float32 and back (docs/measured.md gives the time it saves under bfloat16 on a CPU with oneDNN).
    The weights, the moving statistics and the outputs are Keras' own (tests/test_batch_norm.py). Inference,
    masks and synchronized (--sync-bn) statistics take Keras' path."""

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable) or mask is not None or self.synchronized or inputs.shape.rank != 4 \
                or self.axis not in (-1, 3) or not (self.scale and self.center):
            return super().call(inputs, training=training, mask=mask)
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, self.gamma, self.beta, epsilon=self.epsilon, is_training=True)[:3]
        count = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], tf.float32)
        variance *= (count - 1.0) / tf.maximum(count, 2.0)  # the kernel's variance is Bessel-corrected; Keras' is not
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return outputs


@keras.saving.register_keras_serializable(package="facegan")
class GatedLinearUnit(keras.layers.Layer):
    """GLU (Dauphin et al. 2017), as FastGAN's generator uses it: the channels' first half times the sigmoid of
    the second half, (B, H, W, 2C) -> (B, H, W, C)."""

    def call(self, inputs):
        values, gates = tf.split(inputs, 2, axis=-1)
        return values * tf.sigmoid(gates)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // 2)


@keras.saving.register_keras_serializable(package="facegan")
class StepDropout(keras.layers.Layer):
    """Dropout whose masks come from the training step's own draws, (seed, step, call site), as every other
    random number of a step does (facegan.steps.base). Keras's Dropout draws from a SeedGenerator of its own,
    whose state a checkpoint does not hold: a resumed run drew other masks than the uninterrupted one, and two
    replicas drew the same mask for their different rows. A loss family hands each of these layers its `draw`
    (`attach`); in inference (training false) the layer passes its input through, as Keras's does."""

    def __init__(self, rate: float, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.draw = None

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        if self.draw is None:
            raise RuntimeError(f"{self.name} trains only inside a loss family's step, which draws its masks")
        uniform = self.draw("uniform", tf.shape(inputs)[0], tuple(inputs.shape[1:]))
        kept = tf.cast(uniform >= self.rate, inputs.dtype) / tf.cast(1.0 - self.rate, inputs.dtype)
        return inputs * kept

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


@keras.saving.register_keras_serializable(package="facegan")
class MinibatchStdDev(keras.layers.Layer):
    """StyleGAN's minibatch standard deviation (Karras et al. 2018; stylegan2-ada-pytorch's MinibatchStdLayer):
    one channel more, (B, H, W, C) -> (B, H, W, C + 1), holding for each image the standard deviation of its
    features over its group of `group` images (consecutive rows; the last group of a batch that `group` does not
    divide is smaller, a group of one gives 0), averaged over the features. A discriminator that sees how little
    a batch of fakes varies can push the generator toward variety."""

    def __init__(self, group: int, **kwargs):
        super().__init__(**kwargs)
        self.group = int(group)

    def call(self, inputs):
        x = tf.cast(inputs, tf.float32)
        n = tf.shape(x)[0]
        groups = tf.range(n) // self.group  # (B,) which group each image is in
        count = (n + self.group - 1) // self.group
        mean = tf.math.unsorted_segment_mean(x, groups, count)  # (G, H, W, C)
        variance = tf.math.unsorted_segment_mean(tf.square(x - tf.gather(mean, groups)), groups, count)
        std = tf.reduce_mean(tf.sqrt(variance + 1e-8), axis=[1, 2, 3])  # (G,)
        channel = tf.ones_like(x[..., :1]) * tf.gather(std, groups)[:, None, None, None]
        return tf.concat([inputs, tf.cast(channel, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group": self.group}


def attach(networks, draw) -> None:
    """Hand `draw` to every StepDropout of `networks` (nested models included)."""
    for network in networks:
        for layer in network._flatten_layers(include_self=False):
            if isinstance(layer, StepDropout):
                layer.draw = draw
