"""The arithmetic of a step over tf.distribute's replicas, kept apart from the losses.

Under tf.distribute a step runs once per replica on its share of the global batch B. Losses are per-example
values averaged with `share` (sum / B): each replica's loss is its share, the optimizer sums the replicas'
gradients, and the update is the single-device update of the global batch. `totals` turns shares into global
figures (an all-reduce); a loss that is not a sum of per-example terms is taken from the global figures
(`through_global`). On one device each of these is the plain computation.
"""

from __future__ import annotations

import tensorflow as tf


def share(per_example):
    """This replica's share of the global-batch mean: sum / global batch (the mean on one device)."""
    return tf.nn.compute_average_loss(tf.cast(per_example, tf.float32))


def count() -> int:
    """The number of replicas the step runs on (1 outside tf.distribute)."""
    context = tf.distribute.get_replica_context()
    return context.num_replicas_in_sync if context else 1


def totals(shares: dict) -> dict:
    """Global figures from per-replica shares (one all-reduce; the shares themselves on one device)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return shares
    keys = list(shares)
    values = context.all_reduce(tf.distribute.ReduceOp.SUM, [tf.cast(shares[k], tf.float32) for k in keys])
    return dict(zip(keys, values))


def through_global(function, shares: dict, totals: dict):
    """(value, surrogate) of a loss `function` of global means: its value at the totals, and a
    per-replica surrogate sum_k d function / d total_k * share_k whose gradients, summed over the
    replicas, are the gradient of the function of the global batch (on one device: the same)."""
    point = {k: tf.stop_gradient(v) for k, v in totals.items()}
    with tf.GradientTape() as tape:
        tape.watch(list(point.values()))
        value = function(**point)
    partials = tape.gradient(value, point)
    return value, tf.add_n([tf.stop_gradient(partials[k]) * shares[k] for k in shares])


def apply_everywhere(optimizer, gradients: list, variables: list, apply) -> None:
    """optimizer.apply_gradients on every replica where `apply` (a boolean tensor, the same on every replica)
    holds. The decision is taken once, in cross-replica context, as Keras's LossScaleOptimizer takes its own."""
    def update(strategy, gradients, apply):
        def step():
            strategy.extended.call_for_each_replica(lambda g: optimizer.apply_gradients(zip(g, variables)),
                                                    args=(gradients,))

        tf.cond(strategy.experimental_local_results(apply)[0], step, lambda: None)

    tf.distribute.get_replica_context().merge_call(update, args=(gradients, apply))
