"""--ema: the moving average of the generator weights, its warm-up, and what the run saves from it."""

import json

import keras
import numpy as np
import tensorflow as tf
from typer.testing import CliRunner

from facegan import registry
from facegan.checkpoints import load_networks
from facegan.cli import app
from facegan.config import TrainConfig
from facegan.ema import Ema


def test_the_average_follows_the_formula_with_its_warm_up():
    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1), keras.layers.BatchNormalization()])
    average = Ema({"generator": generator}, decay=0.99)
    kernel, statistic = generator.layers[0].kernel, generator.layers[1].moving_mean
    start = kernel.numpy().copy()
    expected = start.copy()
    for t, value in enumerate([1.0, 2.0, 3.0]):
        kernel.assign(np.full((2, 1), value, np.float32))
        statistic.assign([value])
        average.update()
        decay = min(0.99, (1 + t) / (10 + t))  # 0.1, 2/11, 3/12: the early average follows the weights
        expected = decay * expected + (1 - decay) * value
    averaged = average.nets["generator"]
    np.testing.assert_allclose(averaged.layers[0].kernel.numpy(), expected, rtol=1e-6)
    np.testing.assert_array_equal(averaged.layers[1].moving_mean.numpy(), [3.0])  # statistics are copied
    assert int(average.updates.numpy()) == 3


def test_the_ramped_average_has_a_half_life_of_its_share_of_the_steps():
    generator = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    average = Ema({"generator": generator}, decay=0.9, rampup=1.0)
    kernel, expected = generator.layers[0].kernel, None
    for t, value in enumerate([1.0, 2.0, 3.0, 4.0]):
        kernel.assign([[value]])
        average.update()
        decay = min(0.9, 0.5 ** (1 / t)) if t else 0.0  # 0, 0.5, 0.707, then the cap 0.9 (0.794 is lower)
        expected = value if expected is None else decay * expected + (1 - decay) * value
    np.testing.assert_allclose(average.nets["generator"].layers[0].kernel.numpy(), [[expected]], rtol=1e-6)


def test_a_run_with_ema_saves_and_samples_the_averaged_generator(faces_npz, tmp_path):
    result = CliRunner().invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "2", "--out", "run",
                                      "--ema", "0.9", "--image-size", "16", "--latent-dim", "8", "--batch-size", "8",
                                      "--precision", "float32"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    assert json.loads((run / "summary.json").read_text())["ema"] == 0.9
    cfg = TrainConfig(**json.loads((run / "config.json").read_text())["config"])
    raw, averaged = (registry.get("dcgan").build_networks(cfg)["generator"] for _ in range(2))
    tf.train.Checkpoint(generator=raw, ema_generator=averaged).restore(
        tf.train.latest_checkpoint(str(run / "checkpoints"))).expect_partial()
    saved = keras.saving.load_model(run / "generator.keras").get_weights()
    for mine, theirs in zip(saved, averaged.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    assert any(not np.array_equal(a, b) for a, b in zip(saved, raw.get_weights()))
    (run / "generator.keras").unlink()  # an unfinished run: its newest checkpoint gives the average as well
    for mine, theirs in zip(load_networks(run)["generator"].get_weights(), saved):
        np.testing.assert_array_equal(mine, theirs)
