"""The loss families do what the seed experiments describe."""

import numpy as np
import pytest
import tensorflow as tf
from helpers import batch, build, taken, tiny_config

from facegan import registry
from facegan.config import SEEDING
from facegan.steps.aegan import v4_gan_weight
from facegan.steps.base import bce
from facegan.steps.draws import Draws
from facegan.steps.wgan import gradient_penalty


def weights(variables):
    return [v.numpy().copy() for v in variables]


@pytest.mark.slow
def test_aegan_v0_with_gan_weight_0_trains_exactly_like_a_plain_autoencoder():
    cfg = tiny_config("aegan-v0", gan_weight=0.0)
    _, aegan = build(cfg)
    _, autoencoder = build(cfg)  # same seed: same initial weights
    x, y = batch(cfg)
    for _ in range(3):
        tf.function(aegan.train_step)(x, y)
        tf.function(autoencoder.pretrain_step)(x, y)  # MSE only, no discriminator at all
    for a, b in zip(weights(aegan.generator_variables()), weights(autoencoder.generator_variables())):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_aegan_v0_with_ae_weight_0_ignores_the_reconstruction():
    cfg = tiny_config("aegan-v0", ae_weight=0.0, gan_weight=1.0)
    _, family = build(cfg)
    x, y = batch(cfg)
    metrics = tf.function(family.train_step)(x, y)
    assert float(metrics["g_loss"]) == pytest.approx(float(metrics["gan_loss"]), rel=1e-6)


def v4_reference(ae_values, a, window):
    """The schedule computed by hand: the notebook's beta_t = min(|a / ((ae_t - ae_{t-window}) / window)|, 1), 0 at
    first."""
    betas = []
    for t, ae in enumerate(ae_values):
        if t < window:
            betas.append(0.0)
            continue
        slope = (ae - ae_values[t - window]) / window
        betas.append(1.0 if slope == 0 else min(abs(a / slope), 1.0))
    return betas


def test_v4_gan_weight_schedule_matches_a_reference_on_a_known_sequence():
    window, a = 5, 2e-3
    ae_values = [1.0 / (1 + t) for t in range(12)] + [0.05] * 8  # falling, then flat (slope 0 -> weight 1)
    history = tf.Variable(tf.zeros([window]))
    count = tf.Variable(0, dtype=tf.int64)
    compiled = tf.function(lambda ae: v4_gan_weight(ae, history, count, a, window)[0])
    betas = [float(compiled(tf.constant(ae, tf.float32))) for ae in ae_values]
    np.testing.assert_allclose(betas, v4_reference(ae_values, a, window), rtol=1e-4)
    assert betas[:window] == [0.0] * window and betas[-1] == 1.0 and 0 < betas[window] < 1


def test_v4_step_logs_gan_weight_zero_for_the_first_window_steps():
    cfg = tiny_config("aegan-v4", slope_window=2)
    _, family = build(cfg)
    x, y = batch(cfg)
    step = tf.function(family.train_step)
    figures = [step(x, y) for _ in range(3)]
    betas = [float(f["gan_weight"]) for f in figures]
    slopes = [float(f["ae_slope"]) for f in figures]
    assert betas[:2] == [0.0, 0.0] and betas[2] > 0
    assert slopes[:2] == [0.0, 0.0] and slopes[2] != 0
    assert betas[2] == pytest.approx(min(abs(cfg.slope_scale / slopes[2]), 1.0), rel=1e-5)
    assert int(family.ae_count.numpy()) == 3


def linear_critic(w):
    return lambda x: tf.reduce_sum(x * w, axis=[1, 2, 3])[:, None]


@pytest.mark.parametrize("loss_scale", [1.0, 2.0**15])
def test_gradient_penalty_of_a_linear_critic(loss_scale):
    """A linear critic has gradient w everywhere, so the penalty is (||w|| - 1)^2 at any point."""
    w = tf.random.stateless_normal((1, 4, 4, 1), (3, 4)) * 0.1
    x_real = tf.random.stateless_normal((6, 4, 4, 1), (5, 6))
    x_fake = tf.random.stateless_normal((6, 4, 4, 1), (7, 8))
    eps = tf.random.stateless_uniform((6, 1, 1, 1), (9, 9))
    gp = gradient_penalty(linear_critic(w), x_real, x_fake, eps, loss_scale)
    expected = (np.linalg.norm(w.numpy()) - 1.0) ** 2
    np.testing.assert_allclose(gp.numpy(), np.full(6, expected), rtol=1e-5)  # one penalty per example


def test_wgan_gp_step_under_float16_loss_scaling_gives_the_float32_penalty():
    cfg = tiny_config("wgan-gp", critic_steps=1)
    x, y = batch(cfg)
    _, family32 = build(cfg)
    _, family16 = build(cfg.replace(precision="float16"))
    assert family16.optimizers["d"].scale_loss(tf.constant(1.0)).numpy() > 1  # loss scaling is on
    gp32 = float(tf.function(family32.train_step)(x, y)["gp"])
    gp16 = float(tf.function(family16.train_step)(x, y)["gp"])
    assert gp16 == pytest.approx(gp32, rel=0.05)


def test_wgan_interpolation_weights_of_the_papers_kind_are_uniform_in_0_1():
    cfg = tiny_config("wgan-gp", gp_interpolation="uniform")  # the notebooks' default draws them from N(0, 1)
    _, family = build(cfg)
    draws = family.draw(cfg.gp_interpolation, 4000, (1, 1, 1)).numpy()
    assert draws.shape == (4000, 1, 1, 1) and draws.min() >= 0 and draws.max() <= 1 and abs(draws.mean() - 0.5) < 0.02


@pytest.mark.slow
def test_random_draws_depend_on_the_seed_the_step_and_the_call_site():
    cfg = tiny_config("dcgan")
    _, family = build(cfg)

    def draw(number, site):
        family.number_step(tf.constant(number, tf.int64))
        return [family.latents(3).numpy() for _ in range(site + 1)][-1]

    np.testing.assert_array_equal(draw(7, 0), draw(7, 0))
    assert not np.array_equal(draw(7, 0), draw(8, 0)) and not np.array_equal(draw(7, 0), draw(7, 1))


def most_draws(name: str):
    """A tiny config of `name` with every draw it can make: dropout, noisy labels, R1, every augmentation with
    ADA, three critic steps."""
    most = dict(augment="translation,cutout,color,ada", dropout=0.3, r1_weight=1.0, label_noise=0.1, critic_steps=3)
    return tiny_config(name, **taken(name, **most))


def seeds_of_steps(cfg, steps: int) -> list[tuple]:
    """The seed of every draw of `steps` training steps, run eagerly, so that each seed is a value."""
    _, family = build(cfg)
    seeds, seed = [], family.draw.seed
    family.draw.seed = lambda: seeds.append(tuple(seed().numpy())) or tf.constant(seeds[-1], tf.int64)
    x, y = batch(cfg)
    for number in range(1, steps + 1):
        family.number_step(tf.constant(number, tf.int64))
        family.train_step(x, y)
    return seeds


@pytest.mark.slow
@pytest.mark.parametrize("name", registry.names())
def test_every_draw_of_two_steps_has_its_own_seed(name):
    seeds = seeds_of_steps(most_draws(name), 2)
    assert len(seeds) >= 2 and len(set(seeds)) == len(seeds), f"{len(seeds) - len(set(seeds))} seeds drawn twice"


def test_wgan_gp_with_ada_draws_more_than_64_times_a_step_and_each_seed_once():
    """The case that made the first seeding collide: a step's draws overran the 64 seeds it had."""
    seeds = seeds_of_steps(most_draws("wgan-gp"), 2)
    assert len(seeds) > 2 * 64 and len(set(seeds)) == len(seeds)


def test_runs_seeded_the_first_way_keep_their_seeds():
    """seeding 1 (config.json written before `seeding`): [seed, step * 64 + site], as those runs drew."""
    first = Draws(5, seeding=1)
    first.start(tf.constant(3, tf.int64))
    assert [tuple(first.seed().numpy()) for _ in range(2)] == [(5, 3 * 64 + 1), (5, 3 * 64 + 2)]
    folded = Draws(5, seeding=SEEDING)
    folded.start(tf.constant(3, tf.int64))
    assert tuple(folded.seed().numpy()) != (5, 3 * 64 + 1)


def test_gan_alt_alternates_networks_batch_by_batch():
    cfg = tiny_config("gan-alt")
    _, family = build(cfg)
    x, y = batch(cfg)
    step = tf.function(family.train_step)
    for expect_d in (True, False, True):
        g_before = weights(family.generator_variables())
        d_before = weights(family.discriminator.trainable_variables)
        assert float(step(x, y)["d_trained"]) == float(expect_d)
        g_changed = any(not np.array_equal(a, b.numpy()) for a, b in zip(g_before, family.generator_variables()))
        d_changed = any(not np.array_equal(a, b.numpy())
                        for a, b in zip(d_before, family.discriminator.trainable_variables))
        assert (d_changed, g_changed) == (expect_d, not expect_d)


def test_gan_alt_threshold_keeps_training_the_discriminator_until_its_loss_is_low():
    cfg = tiny_config("gan-alt", alternate="threshold", d_threshold=-1.0)  # a loss never below -1
    _, family = build(cfg)
    x, y = batch(cfg)
    step = tf.function(family.train_step)
    assert [float(step(x, y)["d_trained"]) for _ in range(3)] == [1.0, 1.0, 1.0]


def test_bce_is_the_usual_loss_for_labels_in_0_1():
    targets = tf.constant([[1.0], [0.0], [0.3]])
    logits = tf.constant([[2.0], [-1.5], [0.4]])
    expected = tf.keras.losses.binary_crossentropy(targets, logits, from_logits=True)
    np.testing.assert_allclose(bce(targets, logits).numpy(), expected.numpy(), rtol=1e-6)  # per example


def test_bce_keeps_the_generator_gradient_when_the_discriminator_is_sure():
    logits = tf.constant([[-40.0]])  # the discriminator is sure the fake is fake: p = 4e-18
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = bce(tf.ones_like(logits), logits)[0]
    assert float(loss) == pytest.approx(40.0, rel=1e-4)
    assert float(tape.gradient(loss, logits)[0, 0]) == pytest.approx(-1.0, rel=1e-4)


def test_bce_with_noisy_labels_above_1_is_bounded_as_in_pytorch():
    """Real target 1.05: the loss falls as the logit grows, but only until log(1 - p) reaches -100."""
    losses = [float(bce(tf.constant([[1.05]]), tf.constant([[logit]]))[0]) for logit in (10.0, 200.0, 1e6)]
    assert losses[1] == pytest.approx(-0.05 * 100, rel=1e-3) and losses[2] == losses[1] < losses[0]


def test_dcgan_discriminator_outputs_probabilities_and_trains_on_logits():
    cfg = tiny_config("dcgan")
    nets, family = build(cfg)
    x, _ = batch(cfg)
    probabilities = nets["discriminator"](x)
    np.testing.assert_allclose(probabilities.numpy(), tf.sigmoid(family.d_logits(x)).numpy(), rtol=1e-5)
    _, baseline = build(tiny_config("gan-baseline"))
    assert baseline.d_logits is baseline.discriminator  # the baseline outputs its logit already
