"""Every random number of a training step: noise, dropout masks, noisy labels, augmentations.

A step's draws are stateless: each is seeded from the run's seed, the step's number and the draw's place in the
step (its call site, counted in the order the step makes them), so a resumed run draws what the uninterrupted one
drew, and a step draws the same on one device as on several (each replica takes its rows of the global draw).
The three are folded together by `stateless_fold_in`'s 64-bit hash, so that no two draws of a run share a seed.
A run of `seeding` 1 (config.json written before that setting) keeps the seeds it was made with,
[seed, step * 64 + site], which a step of more than 64 draws shared with the next step.
"""

from __future__ import annotations

import threading

import tensorflow as tf

from facegan.steps import replicas


class Draws:
    """draw(kind, n, shape): this replica's (n, *shape) rows of a "normal" or "uniform" draw for the global
    batch. `start(number)` begins a step (before it is traced); `seed()` is the next draw's seed."""

    def __init__(self, seed: int, seeding: int):
        self.run_seed, self.seeding = seed, seeding
        self.step = tf.constant(0, tf.int64)
        self.sites = threading.local()  # counted per replica: each traces the step in its own thread

    def start(self, number) -> None:
        """Before tracing a step: its number (an int64 tensor), on which its draws depend."""
        self.step = number
        self.sites.count = 0

    def seed(self) -> tf.Tensor:
        """The (2,) int64 seed of the step's next draw."""
        self.sites.count = getattr(self.sites, "count", 0) + 1
        site = tf.constant(self.sites.count, tf.int64)  # int64, so that the fold's hash is 64-bit
        if self.seeding == 1:
            return tf.stack([tf.constant(self.run_seed, tf.int64), self.step * 64 + site])
        fold_in = tf.random.experimental.stateless_fold_in
        return fold_in(fold_in(tf.constant([self.run_seed, 0], tf.int64), self.step), site)

    def __call__(self, kind: str, n, shape: tuple, minval: float = 0.0, maxval: float = 1.0) -> tf.Tensor:
        context = tf.distribute.get_replica_context()
        replica = context.replica_id_in_sync_group if context else 0
        full = [n * replicas.count(), *shape]
        seed = self.seed()
        values = (tf.random.stateless_normal(full, seed) if kind == "normal"
                  else tf.random.stateless_uniform(full, seed, minval, maxval))
        start = tf.cast(replica, tf.int32) * n
        return values[start:start + n]
