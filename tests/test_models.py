"""Walk the registry: every model builds with the counts it declares and takes a finite compiled step."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import batch, build, tiny_config

from facegan import registry
from facegan.config import TrainConfig
from facegan.steps import build_family
from facegan.steps.base import XlaCompiled
from facegan.training.summary import count_params


@pytest.mark.parametrize("name", registry.names())
def test_default_parameter_counts_match_the_registry(name):
    cfg = TrainConfig.resolve(name)
    keras.mixed_precision.set_global_policy("float32")
    nets = registry.get(name).build_networks(cfg)
    counts = {net: (c["total"], c["trainable"]) for net, c in ((n, count_params(m)) for n, m in nets.items())}
    assert counts == registry.get(name).params


@pytest.mark.slow
@pytest.mark.parametrize("name", registry.names())
def test_every_model_takes_a_finite_compiled_step(name):
    cfg = tiny_config(name)
    nets, family = build(cfg)
    x, y = batch(cfg)
    before = [w.numpy().copy() for w in family.generator_variables()]
    for step_name in {family.step_name(1), "train_step"}:
        metrics = tf.function(getattr(family, step_name))(x, y)
        assert set(metrics) == set(family.metrics)
        for key in family.metrics:
            value = float(metrics[key])
            assert np.isfinite(value) or (step_name == "pretrain_step" and np.isnan(value)), (key, value)
    z = tf.zeros((3, cfg.latent_dim))
    images = nets["generator"](family.generator_inputs(z, tf.zeros(3, tf.int32)))
    assert images.shape == (3, 16, 16, cfg.channels)
    assert float(tf.reduce_max(tf.abs(images))) <= 1.0
    if name != "gan-alt":  # gan-alt trains the discriminator first
        after = family.generator_variables()
        assert any(not np.array_equal(b, a.numpy()) for b, a in zip(before, after))


def test_the_spec_parameter_counts_of_the_seed_summaries():
    """The counts of the original notebooks' model summaries."""
    assert registry.get("gan-baseline").params == {
        "generator": (1_381_891, 1_381_891), "discriminator": (1_651_841, 1_651_841)}
    assert registry.get("dcgan").params == {
        "generator": (3_576_576, 3_574_656), "discriminator": (2_765_312, 2_763_520)}


def test_unknown_model_is_a_clear_error():
    from facegan.errors import FaceganError

    with pytest.raises(FaceganError, match="unknown model 'nope'"):
        registry.get("nope")


@pytest.mark.slow
@pytest.mark.parametrize("name", registry.names())
def test_every_model_learns_under_float16_loss_scaling(name):
    """The loss scaling must reach the gradients: a few steps change the generator's weights."""
    cfg = tiny_config(name, precision="float16")
    _, family = build(cfg)
    x, y = batch(cfg)
    before = [w.numpy().copy() for w in family.generator_variables()]
    step = tf.function(family.train_step)
    for _ in range(4):  # a first step may overflow at the initial scale and be skipped
        metrics = step(x, y)
    assert all(np.isfinite(float(v)) for v in metrics.values())
    assert any(not np.array_equal(b, a.numpy()) for b, a in zip(before, family.generator_variables()))


@pytest.mark.parametrize("name", registry.names())
def test_where_xla_compiles_the_networks_every_network_the_steps_call_is_compiled(name):
    """--xla over several replicas: a network the family calls uncompiled would silently run without XLA."""
    cfg = tiny_config(name)
    family = build_family(cfg, registry.get(name).build_networks(cfg), xla_networks=True)
    called = {key: value for key, value in vars(family).items() if isinstance(value, (keras.Model, XlaCompiled))}
    assert {"generator"} <= set(called) and all(isinstance(value, XlaCompiled) for value in called.values()), called
