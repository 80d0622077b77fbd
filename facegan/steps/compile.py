"""A family's step compiled for a tf.distribute strategy: what `facegan train` runs each step."""

from __future__ import annotations

import tensorflow as tf

from facegan.ema import Ema
from facegan.steps.base import Family


def compile_step(strategy: tf.distribute.Strategy, family: Family, name: str, ema: Ema | None = None,
                 xla: bool = False):
    """step(x, y, number): the family's step `name` on every replica (x, y distributed by the strategy,
    `number` the step's number, on which its random draws depend), compiled with the EMA's
    update. Its metrics are global figures, the same on every replica.

    With `xla`, XLA compiles the whole step on one replica. Over several it compiles each network's
    forward and backward pass, and the optimizer updates and all-reduces stay in the graph: a step
    compiled whole may not call `merge_call`, which Keras's optimizers do to update their iteration
    counter (keras-team/keras#19005, #20763). Nor may a compiled network: synchronized batch norm,
    which all-reduces inside the network, is refused with XLA over several replicas."""
    whole = xla and strategy.num_replicas_in_sync == 1
    if xla and not whole and not family.xla_networks:
        raise ValueError("XLA over several replicas compiles each network: build the family with xla_networks")
    step = getattr(family, name)

    def on_replica(x, y, number):
        family.number_step(number)
        return step(x, y)

    def numbered(x, y, number):
        metrics = strategy.run(on_replica, args=(x, y, number))
        metrics = {k: strategy.experimental_local_results(v)[0] for k, v in metrics.items()}
        if ema is not None:
            ema.update()
        return metrics

    # no autograph: the steps branch with tf.where and tf.cond, never a Python `if` on a tensor, so tracing
    # skips the conversion of their source (a tenth of a tiny run)
    return tf.function(numbered, jit_compile=whole, autograph=False)
