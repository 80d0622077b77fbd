"""The fused batch normalization is Keras' BatchNormalization, only faster: same outputs, same moving
statistics, same gradients, and a saved network loads back."""

import os
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from facegan.distribute import cpu_supports_bf16
from facegan.nets.layers import FusedBatchNormalization


def pair(dtype_policy: str = "float32"):
    fused = FusedBatchNormalization(momentum=0.9, dtype=dtype_policy)
    stock = keras.layers.BatchNormalization(momentum=0.9, dtype=dtype_policy)
    x = tf.random.stateless_normal((8, 5, 5, 3), [1, 2]) * 3.0 + 1.5
    fused.build(x.shape), stock.build(x.shape)
    gamma, beta = np.array([0.5, 1.0, 2.0], np.float32), np.array([0.1, -0.2, 0.3], np.float32)
    for layer in (fused, stock):
        layer.gamma.assign(gamma), layer.beta.assign(beta)
    return fused, stock, x


def test_a_training_call_gives_keras_outputs_statistics_and_gradients():
    fused, stock, x = pair()
    results = []
    for layer in (fused, stock):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * tf.random.stateless_normal(x.shape, [3, 4]))
        results.append((y, *tape.gradient(loss, [x, layer.gamma, layer.beta]),
                        layer.moving_mean.numpy(), layer.moving_variance.numpy()))
    for ours, keras_value in zip(*results):
        np.testing.assert_allclose(ours, keras_value, rtol=1e-4, atol=1e-5)
    assert not np.allclose(results[0][-1], 1.0)  # the moving variance moved


CAPPED_BELOW_BF16 = "ONEDNN_MAX_CPU_ISA" in os.environ and not cpu_supports_bf16() and \
    "avx512_bf16" in Path("/proc/cpuinfo").read_text()


@pytest.mark.skipif(CAPPED_BELOW_BF16,
    reason="ONEDNN_MAX_CPU_ISA caps oneDNN below bfloat16 on a CPU that has it: TensorFlow still picks oneDNN's "
    "bfloat16 kernels, which then refuse (on a CPU without bfloat16, TensorFlow runs its own)")
def test_under_bfloat16_the_outputs_stay_bfloat16_and_match_keras():
    fused, stock, x = pair("mixed_bfloat16")
    ours, theirs = fused(x, training=True), stock(x, training=True)
    assert ours.dtype == theirs.dtype == tf.bfloat16
    np.testing.assert_allclose(tf.cast(ours, tf.float32), tf.cast(theirs, tf.float32), atol=0.05)
    np.testing.assert_allclose(fused.moving_variance.numpy(), stock.moving_variance.numpy(), rtol=1e-2)


@pytest.mark.parametrize("training", [False, True])
def test_a_saved_network_loads_back_with_the_same_layer(tmp_path, training):
    inputs = keras.Input((4, 4, 2))
    model = keras.Model(inputs, FusedBatchNormalization()(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    assert isinstance(loaded.layers[-1], FusedBatchNormalization)
    x = np.random.default_rng(0).normal(size=(3, 4, 4, 2)).astype(np.float32)
    np.testing.assert_allclose(loaded(x, training=training), model(x, training=training), atol=1e-5)
