"""fastgan: its networks at every size it takes, a discriminator that must rebuild the reals, and every analysis
command on a trained run (its discriminator's extra maps must not leak into them)."""

import json
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY, batch, build, tiny_config, working_in, write_faces
from typer.testing import CliRunner

from facegan.cli import app
from facegan.nets import fastgan
from facegan.nets.layers import GatedLinearUnit
from facegan.nets.sizes import fastgan_smallest_map
from facegan.steps.fastgan import quarters

runner = CliRunner()


def gates(model: keras.Model) -> int:
    """The skip-layer excitation gates of a network (each multiplies a map by its gate)."""
    return sum(isinstance(layer, keras.layers.Multiply) for layer in model.layers)


@pytest.mark.parametrize("size,channels,excitations", [(32, 1, 1), (64, 3, 2), (80, 3, 2), (80, 1, 2)])
def test_networks_at_every_size_and_channel_count(size, channels, excitations):
    cfg = types.SimpleNamespace(image_size=size, channels=channels, latent_dim=12, dropout=0.0, sync_bn=False,
                                mbstd_group=0)
    nets = fastgan.build_fastgan(cfg)
    images = nets["generator"](tf.zeros((2, 12)))
    assert images.shape == (2, size, size, channels)
    assert nets["discriminator"](images).shape == (2, 1)  # one logit, as every discriminator gives
    whole = nets["discriminator"].get_layer(fastgan.WHOLE_MAP).output.shape
    assert whole[1] == 2 * fastgan_smallest_map(size)[0]
    assert [o.shape[1:] for o in nets["decoder"].outputs] == [(size // 2, size // 2, channels)] * 2
    assert gates(nets["generator"]) == gates(nets["discriminator"]) == excitations
    assert any(isinstance(layer, GatedLinearUnit) for layer in nets["generator"].layers)


@pytest.mark.parametrize("size", [12, 72, 36, 100])
def test_sizes_without_a_small_enough_power_of_two_are_refused_before_anything_is_written(size, faces_npz, tmp_path):
    result = runner.invoke(app, ["train", "fastgan", "--data", str(faces_npz), "--image-size", str(size),
                                 "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert f"--image-size {size} does not fit fastgan: fastgan networks need" in result.stderr
    assert not (tmp_path / "run").exists()


def test_the_gated_linear_unit_halves_the_channels_and_gates_them():
    values, gate = np.full((1, 1, 1, 2), 3.0, np.float32), np.array([0.0, 100.0], np.float32).reshape(1, 1, 1, 2)
    out = GatedLinearUnit()(np.concatenate([values, gate], axis=-1))
    np.testing.assert_allclose(np.asarray(out), [[[[1.5, 3.0]]]], rtol=1e-6)


@pytest.mark.slow
def test_the_discriminator_learns_to_rebuild_the_reals_and_its_optimizer_trains_the_decoders():
    cfg = tiny_config("fastgan", augment="none", batch_size=8)
    nets, family = build(cfg)
    x, y = batch(cfg, 8)
    x = tf.image.resize(x[:, :4, :4], (16, 16))  # smooth faces-like images: what a few features can describe
    decoder_before = [w.numpy().copy() for w in nets["decoder"].trainable_weights]
    step = tf.function(family.train_step)
    recon = [float(step(x, y)["d_recon"]) for _ in range(60)]
    assert recon[-1] < 0.5 * recon[0]
    assert all(not np.array_equal(b, w.numpy()) for b, w in zip(decoder_before, nets["decoder"].trainable_weights))
    assert {id(v) for v in nets["decoder"].trainable_variables} <= {id(v) for v in family.discriminator_variables()}
    assert not {id(v) for v in nets["decoder"].trainable_variables} & {id(v) for v in family.generator_variables()}


def test_the_reconstruction_targets_are_the_half_size_image_and_the_drawn_quarter(monkeypatch):
    """With decoders that return their targets exactly, the loss is 0; a wrong quarter or scale would not be."""
    cfg = tiny_config("fastgan", augment="none")
    _, family = build(cfg)
    x, _ = batch(cfg)
    drawn = {}

    def draw(kind, n, shape, minval=0.0, maxval=1.0):
        drawn["quarter"] = tf.constant([0.5, 1.5, 2.5, 3.5])  # each image its own quarter: 0, 1, 2, 3
        return drawn["quarter"]

    def decoder(maps, training):  # the quarter of the map it is given names the quarter of the image
        quarter = tf.constant([0, 1, 2, 3])
        return [tf.nn.avg_pool2d(x, 2, 2, "VALID"), tf.gather(quarters(x), quarter, axis=1, batch_dims=1)]

    monkeypatch.setattr(family, "draw", draw)
    monkeypatch.setattr(family, "decoder", decoder)
    whole_map = tf.zeros((4, 8, 8, 3))
    assert float(family.reconstruction_loss(x, whole_map, tf.zeros((4, 16, 16, 3)))) == pytest.approx(0.0, abs=1e-7)
    swapped = lambda maps, training: decoder(maps, training)[::-1]  # noqa: E731
    monkeypatch.setattr(family, "decoder", swapped)
    assert float(family.reconstruction_loss(x, whole_map, tf.zeros((4, 16, 16, 3)))) > 0.01
    top_left = quarters(x)[:, 0]
    np.testing.assert_array_equal(top_left.numpy(), x.numpy()[:, :8, :8])


@pytest.fixture(scope="module")
def fastgan_run(tmp_path_factory):
    with working_in(tmp_path_factory.mktemp("fastgan")) as root:
        write_faces(root / "faces.npz")
        result = runner.invoke(app, ["train", "fastgan", "--data", str(root / "faces.npz"), "--epochs", "2",
                                     "--channels", "1", "--out", str(root / "run"), *TINY])
    assert result.exit_code == 0, result.output
    return root / "run"


@pytest.mark.slow
def test_a_trained_run_is_ranked_sampled_searched_and_evaluated(fastgan_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ranked = runner.invoke(app, ["sample", str(fastgan_run), "-n", "6", "--keep-top", "3", "--out", "best"])
    assert ranked.exit_code == 0, ranked.output
    scores = np.load("best/samples.npz")["scores"]
    assert scores.shape == (3,) and list(scores) == sorted(scores, reverse=True)
    nearest = runner.invoke(app, ["nearest", str(fastgan_run), "-n", "5", "--json"])
    assert nearest.exit_code == 0, nearest.output
    assert 0.0 <= json.loads(nearest.stdout)["copy_rate"] <= 1.0
    evaluated = runner.invoke(app, ["eval", str(fastgan_run), "--n", "16", "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert np.isfinite(json.loads(evaluated.stdout)["swd"])
    epochs = (fastgan_run / "epochs.csv").read_text().splitlines()
    assert "d_recon" in epochs[0] and len(epochs) == 3
