"""An exponential moving average of the generator side's weights (--ema DECAY).

The averaged copies of the generator (and of the encoder, for the autoencoders) are separate
networks; samples, evaluations and the saved generator.keras come from them when the average is
on. After t updates the decay is min(DECAY, (1 + t) / (10 + t)), as tf.train.ExponentialMovingAverage
does with num_updates, so that the average follows the fast early changes of the weights: a half-life of
about 0.077 t updates. With --ema-rampup R it is StyleGAN2-ADA's ramp instead: a half-life of R x the images
seen (R t updates), min(DECAY, 0.5^(1 / (R t))).
Non-trainable weights (batch-norm statistics) are copied, not averaged.
"""

from __future__ import annotations

import keras
import tensorflow as tf

EMA_NETWORKS = ("encoder", "generator")


class Ema:
    def __init__(self, nets: dict, decay: float, rampup: float = 0.0):
        self.decay, self.rampup = decay, rampup
        self.nets = {name: _copy(nets[name]) for name in EMA_NETWORKS if name in nets}
        self.pairs = [(average, weight, weight.trainable)
                      for name, copy in self.nets.items()
                      for average, weight in zip(copy.weights, nets[name].weights)]
        self.updates = tf.Variable(0, dtype=tf.int64, trainable=False, name="ema_updates")

    def update(self) -> None:
        """One averaging step, inside the compiled training step."""
        t = tf.cast(self.updates, tf.float32)
        ramp = 0.5 ** (1.0 / (self.rampup * t)) if self.rampup else (1.0 + t) / (10.0 + t)  # t = 0: 0 and 0.1
        decay = tf.minimum(self.decay, ramp)
        for average, weight, trainable in self.pairs:
            value = tf.cast(weight, average.dtype)
            average.assign(decay * average + (1.0 - decay) * value if trainable else value)
        self.updates.assign_add(1)


def _copy(model: keras.Model) -> keras.Model:
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy
