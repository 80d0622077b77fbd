"""The tf.data pipeline: the only module of facegan.data that imports TensorFlow."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from facegan.data.cache import read_image_rows


def make_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, epoch: int,
                 skip_batches: int = 0, flip: bool = False):
    """One epoch of (x, y) batches: x (B, H, W, C) float32 in [-1, 1], y (B,) int32.

    With `flip` the epoch holds every image twice, as it is and mirrored (index N + i is image i mirrored).
    The order is a permutation drawn from (seed, epoch - 1) (epochs count from 1), so a resumed run sees the same
    batches as an uninterrupted one; `skip_batches` starts after the batches an interrupted epoch already trained on.
    Batches are dropped at the remainder and prefetched. The images stay where they are (the cache file):
    each batch's rows are read on the host (`read_image_rows`), so the data set is never copied whole.
    """
    count = len(images)
    order = np.random.default_rng([seed, epoch - 1]).permutation(2 * count if flip else count)
    order = order[skip_batches * batch_size:]

    def gather(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = indices % count
        x = read_image_rows(images, rows)
        mirrored = indices >= count
        x[mirrored] = x[mirrored, :, ::-1]
        return x, labels[rows].astype(np.int32)

    def batch(indices):
        x, y = tf.numpy_function(gather, [indices], [tf.uint8, tf.int32], stateful=False)
        x.set_shape([batch_size, *images.shape[1:]])
        y.set_shape([batch_size])
        return tf.cast(x, tf.float32) / 127.5 - 1.0, y  # imaging.to_float, in the graph

    # No autotuning: its thread sleeps for periods that double from 10 ms up to a minute, and deleting
    # the iterator at the end of an epoch waited for the thread to wake up (docs/measured.md). A gather
    # needs no tuning: two batches in flight keep the step fed.
    options = tf.data.Options()
    options.autotune.enabled = False
    dataset = tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=True)
    return dataset.map(batch, num_parallel_calls=2).prefetch(2).with_options(options)
