"""The seed models do by default what their notebooks do (docs/seeds.md names the statement behind each check), and
runs made before the notebooks were followed line by line keep the definition they were made with."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import batch, build, tiny_config
from typer.testing import CliRunner

from facegan import registry
from facegan.analysis.sample import SampleOptions, parse_mean
from facegan.cli import app
from facegan.config import TrainConfig, upgraded
from facegan.errors import FaceganError
from facegan.inference import seeded_latents

# Each seed model's notebook settings, as docs/seeds.md quotes them.
NOTEBOOK_SETTINGS = {
    "gan-baseline": dict(lr=2e-4, batch_size=128, label_noise=0.0, d_loss="sum", gan_loss="bce-logits"),
    "gan-alt": dict(lr=2e-4, batch_size=128, label_noise=0.0, d_loss="mean", alternate="batch"),
    "aegan-v0": dict(lr=1e-4, batch_size=128, gan_loss="bce-logits", ae_weight=1.0, gan_weight=0.005),
    "aegan-v1": dict(lr=1e-4, batch_size=256, gan_loss="bce-probs", ae_weight=1.0, gan_weight=0.0005),
    "aegan-v4": dict(lr=1e-4, batch_size=256, gan_loss="bce-probs", slope_scale=2e-7, slope_window=50),
    "aegan-v5": dict(lr=1e-4, batch_size=256, gan_loss="bce-probs"),
    "vae": dict(lr=1e-3, batch_size=64, weight_decay=1e-5, weight_decay_kind="l2", kl_weight=5e-5, latent_dim=32),
    "dcgan": dict(lr=2e-4, beta1=0.5, beta2=0.999, batch_size=128, label_noise=0.1, d_loss="mean",
                  gan_loss="bce-probs", dropout=0.3, latent_dim=100, image_size=64, channels=1),
    "wgan-gp": dict(lr=2e-4, beta1=0.5, beta2=0.9, batch_size=512, critic_steps=3, gp_weight=10.0,
                    gp_interpolation="normal", latent_dim=128, image_size=64, channels=3, dropout=0.3),
    "cgan": dict(lr=5e-5, beta1=0.5, beta2=0.9, batch_size=128, critic_steps=3, gp_weight=10.0,
                 gp_interpolation="normal", latent_dim=32, image_size=64, channels=3, label="Blond_Hair"),
}


@pytest.mark.parametrize("model", NOTEBOOK_SETTINGS)
def test_each_seed_model_defaults_to_its_notebooks_settings(model):
    cfg = TrainConfig.resolve(model)
    assert {key: getattr(cfg, key) for key in NOTEBOOK_SETTINGS[model]} == NOTEBOOK_SETTINGS[model]


def test_the_threshold_protocol_drops_the_discriminator_loss_factor():
    assert TrainConfig.resolve("gan-alt").d_loss == "mean"
    assert TrainConfig.resolve("gan-alt", alternate="threshold").d_loss == "sum"
    assert TrainConfig.resolve("gan-alt", alternate="threshold", d_loss="mean").d_loss == "mean"  # asked for


@pytest.mark.slow
def test_the_alternating_steps_take_the_factor_their_protocol_gives():
    x, y = batch(tiny_config("gan-alt"))
    figures = {}
    for alternate in ("batch", "threshold"):
        _, family = build(tiny_config("gan-alt", alternate=alternate))
        m = tf.function(family.train_step)(x, y)
        figures[alternate] = float(m["d_loss"]) / (float(m["d_loss_real"]) + float(m["d_loss_fake"]))
    assert figures == pytest.approx({"batch": 0.5, "threshold": 1.0})


def test_a_gan_seed_without_label_noise_draws_none():
    """gan-baseline's targets are plain 1 and 0: its cross-entropies equal the noiseless formula."""
    cfg = tiny_config("gan-baseline", dropout=0.0)
    _, family = build(cfg)
    real_out = tf.constant([0.3, -1.2, 2.0, 0.0])
    fake_out = tf.constant([-0.5, 0.7, -2.0, 1.0])
    _, halves = family.discriminator_loss(real_out, fake_out, 0.0)
    d_real, d_fake, g = halves["d_loss_real"], halves["d_loss_fake"], family.generator_loss(real_out, fake_out)
    softplus = tf.math.softplus
    assert float(d_real) == pytest.approx(float(tf.reduce_mean(softplus(-real_out))), rel=1e-6)
    assert float(d_fake) == pytest.approx(float(tf.reduce_mean(softplus(fake_out))), rel=1e-6)
    assert float(g) == pytest.approx(float(tf.reduce_mean(softplus(-fake_out))), rel=1e-6)


@pytest.mark.parametrize("kind", ["l2", "decoupled"])
def test_l2_weight_decay_goes_through_adams_normalization_and_decoupled_does_not(kind):
    """With a decay that dwarfs the loss's gradient, one step of the "l2" kind (PyTorch's Adam(weight_decay): decay*w
    added to the gradient) moves each weight by the learning rate toward zero, as Adam normalizes every gradient;
    Keras's decoupled decay shrinks each weight by lr*decay*w beside Adam's step."""
    lr, decay = 1e-3, 100.0
    cfg = tiny_config("vae", lr=lr, weight_decay=decay, weight_decay_kind=kind)
    _, family = build(cfg)
    before = [v.numpy().copy() for v in family.generator_variables()]
    x, y = batch(cfg)
    tf.function(family.train_step)(x, y)
    kernels = [(b, v.numpy()) for b, v in zip(before, family.generator_variables()) if b.ndim > 1]
    w = np.concatenate([b.ravel() for b, _ in kernels])
    step = np.concatenate([(a - b).ravel() for b, a in kernels])
    large = np.abs(w) > 1e-2
    if kind == "l2":
        assert np.allclose(step[large], -lr * np.sign(w[large]), rtol=0.05, atol=0)
    else:
        assert np.allclose(step[large], -lr * decay * w[large], rtol=0, atol=1.1 * lr)  # Adam's own step: lr


def test_a_config_written_before_definitions_keeps_its_own():
    """config.json of a run made before the seed models followed their notebooks: no definition, gp_interpolation,
    d_loss or weight_decay_kind; its settings were those of the defaults then."""
    for model in ("gan-alt", "dcgan", "wgan-gp", "vae"):
        record = TrainConfig.resolve(model).to_dict()
        for key in ("definition", "d_loss", "gp_interpolation", "weight_decay_kind", "keep_every"):
            del record[key]
        cfg = TrainConfig(**upgraded(record))
        assert cfg.definition == 1 and cfg.gp_interpolation == "uniform" and cfg.weight_decay_kind == "decoupled"
        assert cfg.d_loss == ("mean" if model == "gan-alt" else "sum")


def test_definition_1_networks_are_facegans_first():
    """The shapes the registry pinned before the notebooks' WGAN-GP and CGAN networks, and the ReLU generator."""
    first = {"wgan-gp": {"generator": 3_576_576, "discriminator": 2_761_728},
             "cgan": {"generator": 3_592_960, "discriminator": 2_763_776}}
    for model, counts in first.items():
        cfg = TrainConfig.resolve(model, definition=1, image_size=64, channels=1, latent_dim=100, num_classes=2 if
                                  model == "cgan" else 0)
        nets = registry.get(model).build_networks(cfg)
        assert {name: nets[name].count_params() for name in counts} == counts
    for definition, activation in ((1, keras.layers.ReLU), (2, keras.layers.LeakyReLU)):
        generator = registry.get("dcgan").build_networks(tiny_config("dcgan", definition=definition))["generator"]
        assert any(isinstance(layer, activation) for layer in generator.layers)
        assert not any(type(layer) is (keras.layers.LeakyReLU if definition == 1 else keras.layers.ReLU)
                       for layer in generator.layers)


@pytest.mark.slow
def test_a_run_made_before_resumes_with_its_own_networks(faces_npz, tmp_path):
    """A wgan-gp run of definition 1 (facegan's first critic), its config.json as it was written then, resumes:
    its checkpoint restores into the networks it was made with, and it trains on."""
    from facegan import train

    run = train("wgan-gp", data=str(faces_npz), epochs=1, out=tmp_path / "run", image_size=16, latent_dim=8,
                batch_size=8, precision="float32", definition=1, channels=1, dropout=0.0)
    record = json.loads((run / "config.json").read_text())
    for key in ("definition", "d_loss", "gp_interpolation", "weight_decay_kind", "keep_every"):
        del record["config"][key]
    (run / "config.json").write_text(json.dumps(record))
    result = CliRunner().invoke(app, ["train", "--resume", str(run), "--epochs", "2"])
    assert result.exit_code == 0, result.output
    cfg = TrainConfig.read(run)
    assert cfg.definition == 1 and cfg.gp_interpolation == "uniform"
    assert len((run / "epochs.csv").read_text().splitlines()) == 3


def test_the_vae_notebooks_random_mean_per_dimension():
    """μ_i ~ U(-1, 1) for i = 1..32 and variance 0.05: one mean vector, drawn by the first seed, the latents
    around it."""
    options = SampleOptions(seeds=tuple(range(7, 4007)), mean=parse_mean("uniform:-1,1"), std=0.05 ** 0.5)
    mean = options.prior_mean(32)
    assert mean.shape == (32,) and -1 <= mean.min() < -0.5 and 0.5 < mean.max() <= 1
    assert np.array_equal(mean, SampleOptions(seeds=(7,), mean=(-1.0, 1.0)).prior_mean(32))
    z = seeded_latents(options.seeds, 32, mean, options.std)
    np.testing.assert_allclose(z.mean(axis=0), mean, atol=0.02)
    np.testing.assert_allclose(z.var(axis=0), 0.05, rtol=0.1)
    for bad in ("uniform:1,-1", "uniform:x", "half"):
        with pytest.raises(FaceganError, match="--mean takes"):
            parse_mean(bad)


@pytest.mark.parametrize("model", ["aegan-v0", "aegan-v1", "aegan-v5"])
def test_aegan_losses_are_the_formulas_its_notebooks_print(model):
    """ae = MSE(x, G(x)); gan = Keras's BinaryCrossentropy of D(G(x)) against ones (from logits for v0, on
    probabilities for v1 and v5); v0: alpha*ae + beta*gan, v1: alpha*ae + beta*gan/(alpha*ae), v5: ae + min(ae, gan).
    Written here with Keras's own losses on facegan's networks before the step."""
    cfg = tiny_config(model, dropout=0.0)
    nets, family = build(cfg)
    x, y = batch(cfg)
    x_rec = nets["generator"](nets["encoder"](x))
    real_out, fake_out = nets["discriminator"](x), nets["discriminator"](x_rec)
    ae = float(keras.losses.MeanSquaredError()(x, x_rec))
    if cfg.gan_loss == "bce-logits":
        cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    else:
        probability = keras.losses.BinaryCrossentropy()
        cross_entropy = lambda targets, logits: probability(targets, tf.sigmoid(logits))  # noqa: E731
    gan = float(cross_entropy(tf.ones_like(fake_out), fake_out))
    d_loss = float(cross_entropy(tf.ones_like(real_out), real_out) + cross_entropy(tf.zeros_like(fake_out), fake_out))
    g_loss = {"aegan-v0": cfg.ae_weight * ae + cfg.gan_weight * gan,
              "aegan-v1": cfg.ae_weight * ae + cfg.gan_weight * gan / (cfg.ae_weight * ae),
              "aegan-v5": ae + min(ae, gan)}[model]
    m = family.train_step(x, y)
    assert {k: float(m[k]) for k in ("ae_loss", "gan_loss", "g_loss", "d_loss")} == pytest.approx(
        {"ae_loss": ae, "gan_loss": gan, "g_loss": g_loss, "d_loss": d_loss}, rel=1e-5)


def test_the_vae_loss_is_the_formula_its_notebook_prints():
    """MSE(x, decoder(z)) + kl_weight * KL(N(z_mean, exp(z_log_var)) || N(0, I)), z = z_mean + exp(z_log_var/2) eps."""
    cfg = tiny_config("vae")
    nets, family = build(cfg)
    x, y = batch(cfg)
    family.number_step(tf.constant(1, tf.int64))
    z_mean, z_log_var = nets["encoder"](x)
    eps = family.draw("normal", 4, (cfg.latent_dim,))  # the step's own draw: the same (seed, step, site)
    family.number_step(tf.constant(1, tf.int64))
    ae = float(keras.losses.MeanSquaredError()(x, nets["generator"](z_mean + tf.exp(0.5 * z_log_var) * eps)))
    kl = float(tf.reduce_mean(-0.5 * tf.reduce_sum(1 + z_log_var - z_mean**2 - tf.exp(z_log_var), axis=1)))
    m = family.train_step(x, y)
    assert {k: float(m[k]) for k in ("ae_loss", "kl_loss", "g_loss")} == pytest.approx(
        {"ae_loss": ae, "kl_loss": kl, "g_loss": ae + cfg.kl_weight * kl}, rel=1e-5)
