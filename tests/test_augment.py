"""--augment: DiffAugment's transforms, ADA's probability, and their place in the training steps."""

import csv

import numpy as np
import pytest
import tensorflow as tf
from helpers import batch, build, taken, tiny_config
from typer.testing import CliRunner

from facegan.cli import app
from facegan.config import TrainConfig, augment_policy
from facegan.errors import FaceganError
from facegan.steps import augment

runner = CliRunner()


def fixed_draws(*values):
    """A `draw` that returns the given values in turn (each broadcast over the batch)."""
    queue = list(values)

    def draw(kind, n, shape, minval=0.0, maxval=1.0):
        value = queue.pop(0)
        assert minval <= value <= maxval, (value, minval, maxval)
        return tf.fill([n, *shape], float(value))
    return draw


def image(size=8, channels=1):
    return tf.reshape(tf.range(size * size * channels, dtype=tf.float32) + 1, (1, size, size, channels))


def test_translation_shifts_by_whole_pixels_and_fills_with_zeros():
    x = image()
    # 8 px: up to 1 pixel each way; output[i, j] = input[i + floor(1.5), j + floor(-0.5)]: up 1, right 1
    shifted = augment.translation(x, fixed_draws(1.5, -0.5)).numpy()[0, :, :, 0]
    expected = np.zeros((8, 8), np.float32)
    expected[:-1, 1:] = x.numpy()[0, 1:, :-1, 0]
    np.testing.assert_array_equal(shifted, expected)


def test_cutout_zeros_a_square_of_half_the_side_and_nothing_else():
    x = image(16)
    cut = augment.cutout(x, fixed_draws(8.2, 5.9)).numpy()[0, :, :, 0]  # center row 8, column 5
    zero = cut == 0
    assert zero.sum() == 8 * 8
    assert zero[4:12, 1:9].all()
    np.testing.assert_array_equal(cut[~zero], x.numpy()[0, :, :, 0][~zero])


def test_cutout_past_the_border_is_cut_off():
    cut = augment.cutout(image(16), fixed_draws(16.0, 0.0)).numpy()[0, :, :, 0]
    assert (cut == 0).sum() == 4 * 4  # rows 12..15, columns 0..3


def test_color_changes_brightness_saturation_and_contrast():
    x = tf.constant([[[[0.2, -0.4, 0.5]]]])  # one pixel, three channels
    # brightness +0.3, saturation x0 (every channel to the pixel's mean), contrast x1
    out = augment.color(x, fixed_draws(0.3, 0.0, 1.0)).numpy().ravel()
    np.testing.assert_allclose(out, [np.mean([0.5, -0.1, 0.8])] * 3, atol=1e-6)
    gray = tf.constant([[[[0.1]], [[0.5]]]])  # a grayscale image of two pixels: saturation changes nothing
    out = augment.color(gray, fixed_draws(0.0, 2.0, 1.5)).numpy().ravel()
    np.testing.assert_allclose(out, [0.3 - 0.3, 0.3 + 0.3], atol=1e-6)  # contrast 1.5 about the mean 0.3


@pytest.mark.parametrize("name", ["translation", "cutout", "color"])
def test_gradients_reach_the_images_through_every_transform(name):
    x = tf.random.stateless_uniform((4, 16, 16, 3), (1, 2), -1, 1)
    draw = lambda kind, n, shape, minval=0.0, maxval=1.0: tf.random.stateless_uniform(  # noqa: E731
        [n, *shape], (3, 4), minval, maxval)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(augment.TRANSFORM[name](x, draw) * x)
    gradient = tape.gradient(loss, x)
    assert gradient is not None and float(tf.reduce_sum(tf.abs(gradient))) > 0


def test_a_probability_of_zero_changes_nothing_and_of_one_everything():
    x = tf.random.stateless_uniform((6, 16, 16, 3), (1, 2), -1, 1)
    draw = lambda kind, n, shape, minval=0.0, maxval=1.0: tf.random.stateless_uniform(  # noqa: E731
        [n, *shape], (5, 6), minval, maxval)
    policy = ("translation", "cutout", "color", "ada")
    np.testing.assert_array_equal(augment.augment(x, policy, draw, tf.constant(0.0)), x)
    changed = augment.augment(x, policy, draw, tf.constant(1.0))
    assert all(not np.array_equal(a, b) for a, b in zip(changed.numpy(), x.numpy()))


def test_ada_probability_follows_the_sign_of_the_overfitting_signal():
    step = 64 / augment.ADA_IMAGES
    assert float(augment.ada_update(tf.constant(0.5), tf.constant(0.9), 64)) == pytest.approx(0.5 + step)
    assert float(augment.ada_update(tf.constant(0.5), tf.constant(0.2), 64)) == pytest.approx(0.5 - step)
    assert float(augment.ada_update(tf.constant(0.0), tf.constant(-1.0), 64)) == 0.0
    assert float(augment.ada_update(tf.constant(1.0), tf.constant(1.0), 64)) == 1.0


def test_policies_parse_and_refuse_unknown_names():
    assert augment_policy("translation, color,translation") == ("translation", "color")
    assert augment_policy("none") == augment_policy("") == augment_policy(None) == ()
    assert augment.transforms(("ada",)) == augment.ADA_ONLY
    assert augment.transforms(("cutout", "ada")) == ("cutout",)
    with pytest.raises(FaceganError, match="unknown: flip"):
        TrainConfig.resolve("dcgan", augment="translation,flip")
    with pytest.raises(FaceganError, match="vae does not take --augment"):
        TrainConfig.resolve("vae", augment="color")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dcgan", "gan-alt", "aegan-v5", "wgan-gp", "cgan"])
def test_every_adversarial_family_augments_what_its_discriminator_sees(name):
    plain_cfg = tiny_config(name, augment="", dropout=0.0, **taken(name, label_noise=0.0))
    _, plain = build(plain_cfg)
    _, augmented = build(plain_cfg.replace(augment="translation,cutout,color,ada"))
    x, y = batch(plain_cfg)
    before, after = (tf.function(family.train_step)(x, y) for family in (plain, augmented))
    assert "augment_p" in after and "augment_p" not in before
    assert float(after["augment_p"]) == 0.0  # the first step runs at p = 0, then p moves by one step or stays at 0
    assert float(augmented.augment_p) in (0.0, pytest.approx(len(x) / augment.ADA_IMAGES))
    _, always = build(plain_cfg.replace(augment="translation,cutout,color"))
    losses = tf.function(always.train_step)(x, y)
    assert float(losses["d_loss"]) != pytest.approx(float(before["d_loss"]), rel=1e-6)  # the inputs changed


def test_ada_probability_is_logged_per_epoch_and_resumes_where_it_was(faces_npz, tmp_path):
    options = ["--data", str(faces_npz), "--image-size", "16", "--latent-dim", "8", "--batch-size", "8",
               "--precision", "float32", "--augment", "ada", "--eval-every", "0"]
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "dcgan", *options, "--epochs", "3", "--out", str(run)])
    assert result.exit_code == 0, result.output
    epochs = list(csv.DictReader(open(run / "epochs.csv")))
    p = [float(row["augment_p"]) for row in epochs]
    assert p[0] > 0 and p[-1] > p[0]  # 40 faces: the discriminator is sure of the reals, p rises
    steps = list(csv.DictReader(open(run / "metrics.csv")))
    result = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "4"])
    assert result.exit_code == 0, result.output
    resumed = list(csv.DictReader(open(run / "metrics.csv")))[len(steps)]
    last = float(steps[-1]["augment_p"])
    assert float(resumed["augment_p"]) == pytest.approx(last, abs=2 * 8 / augment.ADA_IMAGES)
