"""What a GAN may add for variety: StyleGAN's minibatch standard deviation, the losses that pair reals with fakes,
R1 with R2, and the generator as trained beside its moving average."""

import numpy as np
import pytest
import tensorflow as tf
from helpers import batch, build, tiny_config
from typer.testing import CliRunner

from facegan.checkpoints import load_networks
from facegan.cli import app
from facegan.config import TrainConfig
from facegan.errors import FaceganError
from facegan.nets.layers import MinibatchStdDev
from facegan.steps.compile import compile_step

R = tf.constant([0.3, -1.2, 2.0, 0.0])  # a discriminator's logits on four reals
F = tf.constant([-0.5, 0.7, -2.0, 1.0])  # and on four fakes


def test_the_minibatch_std_channel_is_the_mean_feature_std_of_each_group():
    x = np.random.default_rng(0).normal(size=(6, 2, 2, 3)).astype(np.float32)
    out = MinibatchStdDev(4)(x).numpy()  # groups: images 0-3 and 4-5 (the last group is smaller)
    assert out.shape == (6, 2, 2, 4)
    np.testing.assert_array_equal(out[..., :3], x)
    for rows in (slice(0, 4), slice(4, 6)):
        expected = np.sqrt(x[rows].var(axis=0) + 1e-8).mean()
        np.testing.assert_allclose(out[rows, ..., 3], expected, rtol=1e-5)
    same = MinibatchStdDev(4)(np.repeat(x[:1], 4, axis=0)).numpy()  # a batch without variety shows none
    assert np.abs(same[..., 3]).max() < 1e-3


def test_the_discriminator_with_minibatch_std_has_one_more_input_channel_to_its_logit():
    plain = build(tiny_config("fastgan"))[0]["discriminator"]
    grouped = build(tiny_config("fastgan", mbstd_group=4))[0]["discriminator"]
    assert grouped.count_params() - plain.count_params() == 4 * 4  # the 4x4 logit kernel over one more channel
    assert grouped(tf.zeros((3, 16, 16, 3))).shape == (3, 1)  # any batch, a group size that does not divide it


def softplus(x):
    return np.log1p(np.exp(x))


def test_the_relativistic_loss_judges_each_real_above_its_own_fake():
    _, family = build(tiny_config("fastgan", gan_loss="relativistic"))
    d_loss, halves = family.discriminator_loss(R, F, 0.0)
    assert float(d_loss) == pytest.approx(softplus(F - R).mean(), rel=1e-6)
    assert float(halves["d_loss_real"]) == float(halves["d_loss_fake"]) == pytest.approx(float(d_loss) / 2)
    assert float(family.generator_loss(R, F)) == pytest.approx(softplus(R - F).mean(), rel=1e-6)


def contrast(first, second):
    """-log of first_i's share among first_i and every second_j, averaged over i."""
    first, second = np.asarray(first, np.float64), np.asarray(second, np.float64)
    return np.mean([np.log(np.exp(a) + np.exp(second).sum()) - a for a in first])


def test_the_dual_contrastive_loss_sets_each_real_against_every_fake_and_each_fake_against_every_real():
    _, family = build(tiny_config("fastgan", gan_loss="dual-contrastive"))
    d_loss, halves = family.discriminator_loss(R, F, 0.0)
    assert float(halves["d_loss_real"]) == pytest.approx(contrast(R, F), rel=1e-6)
    assert float(halves["d_loss_fake"]) == pytest.approx(contrast(-np.asarray(F), -np.asarray(R)), rel=1e-6)
    assert float(d_loss) == pytest.approx(contrast(R, F) + contrast(-np.asarray(F), -np.asarray(R)), rel=1e-6)
    g = contrast(F, R) + contrast(-np.asarray(R), -np.asarray(F))
    assert float(family.generator_loss(R, F)) == pytest.approx(g, rel=1e-6)


@pytest.mark.parametrize("loss", ["hinge", "relativistic"])
def test_r1_and_r2_add_gamma_over_2_times_each_gradient_norm_to_the_discriminator_loss(loss):
    """The same step with and without the penalties: the discriminator's loss differs by gamma/2 (R1 + R2), and
    nothing else does."""
    cfg = tiny_config("fastgan", gan_loss=loss)
    x, y = batch(cfg)
    steps = {}
    for gamma in (0.0, 0.3):
        _, family = build(cfg.replace(r1_weight=gamma, r2_weight=gamma))
        family.number_step(tf.constant(1, tf.int64))
        steps[gamma] = family.losses(x, y)
    (plain, _), (penalized, m) = steps[0.0], steps[0.3]
    assert float(m["r1"]) > 0 and float(m["r2"]) > 0
    assert float(penalized["d_loss"]) - float(plain["d_loss"]) == pytest.approx(
        0.3 / 2 * (float(m["r1"]) + float(m["r2"])), rel=1e-4)
    assert float(penalized["g_loss"]) == pytest.approx(float(plain["g_loss"]), rel=1e-6)


@pytest.mark.parametrize("options,message", [
    (dict(model="dcgan", gan_loss="relativistic"), "give --label-noise 0 too (dcgan's is 0.1)"),
    (dict(model="aegan-v1", gan_loss="dual-contrastive"), "its losses are cross-entropies"),
    (dict(model="fastgan", r2_weight=-1.0), "must not be negative"),
    (dict(model="fastgan", mbstd_group=-4), "must not be negative"),
])
def test_settings_that_cannot_work_together_are_refused(options, message):
    with pytest.raises(FaceganError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig.resolve(options.pop("model"), **options)


def test_the_raw_generator_is_read_beside_its_average(faces_npz, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    common = ["--data", str(faces_npz), "--epochs", "1", "--image-size", "16", "--latent-dim", "8",
              "--batch-size", "8", "--precision", "float32", "--eval-every", "0"]
    assert CliRunner().invoke(app, ["train", "dcgan", *common, "--out", "run", "--ema", "0.9"]).exit_code == 0
    raw, averaged = load_networks(tmp_path / "run", raw=True)["generator"], load_networks(tmp_path / "run")
    restored = build(TrainConfig.read(tmp_path / "run"))[0]["generator"]
    tf.train.Checkpoint(generator=restored).restore(
        tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints"))).expect_partial()
    for mine, theirs in zip(raw.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    assert any(not np.array_equal(a, b) for a, b in zip(raw.get_weights(), averaged["generator"].get_weights()))
    result = CliRunner().invoke(app, ["eval", "run", "-n", "8", "--raw", "--json"])
    assert result.exit_code == 0, result.output
    assert '"checkpoint": "final (raw)"' in result.stdout
    assert CliRunner().invoke(app, ["train", "dcgan", *common, "--out", "plain"]).exit_code == 0
    refused = CliRunner().invoke(app, ["eval", "plain", "--raw"])
    assert refused.exit_code == 2 and "trained without --ema" in refused.stderr


def test_a_lazy_penalty_is_computed_in_every_nth_step_weighted_n_times():
    cfg = tiny_config("fastgan", gan_loss="relativistic", r1_weight=0.3, r2_weight=0.3)
    x, y = batch(cfg)
    figures = {}
    for every in (1, 2):
        _, family = build(cfg.replace(penalty_every=every))
        for number in (1, 2):
            family.number_step(tf.constant(number, tf.int64))
            losses, m = family.losses(x, y)
            figures[every, number] = float(losses["d_loss"]), float(m["r1"]), float(m["r2"])
    plain = figures[1, 1][0] - 0.3 / 2 * (figures[1, 1][1] + figures[1, 1][2])  # step 1 without its penalty
    assert figures[2, 1][1:] == (0.0, 0.0) and figures[2, 1][0] == pytest.approx(plain, rel=1e-5)
    assert figures[2, 2][1:] == pytest.approx(figures[1, 2][1:], rel=1e-5)  # step 2: the same norms, twice the weight
    penalty = 0.3 / 2 * (figures[1, 2][1] + figures[1, 2][2])
    assert figures[2, 2][0] - figures[1, 2][0] == pytest.approx(penalty, rel=1e-4)


def test_every_lever_at_once_trains_compiled():
    """fastgan with the paired loss, lazy R1 and R2 and minibatch std: two compiled steps (the penalty's step and
    the other) change both networks and log finite figures."""
    cfg = tiny_config("fastgan", gan_loss="dual-contrastive", r1_weight=0.2, r2_weight=0.2, penalty_every=2,
                      mbstd_group=4)
    nets, family = build(cfg)
    x, y = batch(cfg)
    before = {name: [w.numpy().copy() for w in nets[name].trainable_weights] for name in ("generator", "discriminator")}
    step = compile_step(tf.distribute.get_strategy(), family, "train_step")
    for number in (1, 2):
        m = step(x, y, tf.constant(number, tf.int64))
        assert all(np.isfinite(float(value)) for value in m.values()) and float(m["skipped"]) == 0
    for name, weights in before.items():
        assert any(not np.array_equal(a, b.numpy()) for a, b in zip(weights, nets[name].trainable_weights)), name
