"""The health guard: each failure driven on purpose, its detection, the chosen reaction, and that
nothing already written is lost."""

import csv
import json

import helpers
import keras
import numpy as np
import pytest
import tensorflow as tf
from typer.testing import CliRunner

from facegan import registry
from facegan.cli import app
from facegan.config import TrainConfig
from facegan.errors import TrainingStopped
from facegan.health import signs
from facegan.steps import build_family
from facegan.steps.gan import GanFamily
from facegan.training import EXIT_STOPPED, train

TINY = helpers.TINY_SETTINGS
LARGE = 100_000  # images per epoch: every epoch judged is past the warm-up of a low variety
TINY_ARGS = helpers.TINY


def rows(path) -> list[dict]:
    return list(csv.DictReader(open(path)))


def events(run) -> list[str]:
    return [row["event"] for row in rows(run / "health.csv")]


def run_until_stopped(cfg, out) -> TrainingStopped:
    with pytest.raises(TrainingStopped) as stopped:
        train(cfg, out=out)
    assert stopped.value.exit_code == EXIT_STOPPED
    return stopped.value


# --- the checks on their own -------------------------------------------------------

def history(**series) -> list[dict]:
    """epochs.csv rows from epoch 2 on (epoch 1 is the warm-up, which no check judges)."""
    length = len(next(iter(series.values())))
    return [{"epoch": str(i + 2), **{k: str(v[i]) for k, v in series.items()}} for i in range(length)]


def test_discriminator_overpowering_needs_high_accuracy_and_a_rising_generator_loss():
    rising = history(d_acc_real=[1, 1, 0.99], d_acc_fake=[0.995, 1, 1], g_loss=[3, 5, 8], diversity=[1, 1, 1])
    assert [(s.check, s.onset) for s in signs(rising, 3, 0.2, LARGE)] == [("d_overpowering", 2)]
    falling = history(d_acc_real=[1, 1, 1], d_acc_fake=[1, 1, 1], g_loss=[8, 5, 3], diversity=[1, 1, 1])
    assert signs(falling, 3, 0.2, LARGE) == []
    one_good_epoch = history(d_acc_real=[1, 0.8, 1], d_acc_fake=[1, 1, 1], g_loss=[3, 5, 8], diversity=[1, 1, 1])
    assert signs(one_good_epoch, 3, 0.2, LARGE) == []
    assert signs(rising[:2], 3, 0.2, LARGE) == []  # not yet `patience` epochs


def test_under_the_hinge_loss_only_a_pinned_generator_loss_is_a_discriminator_winning():
    """The hinge loss gives the generator -dD(fake) however sure the discriminator is: fastgan's quick start on
    200 faces has accuracies of 0.99 and a generator loss rising from 1.81 to 1.96 while its SWD falls."""
    rising = history(d_acc_real=[0.995, 1, 0.99], d_acc_fake=[0.995, 0.99, 1], g_loss=[1.81, 1.9, 1.96],
                     diversity=[1, 1, 1])
    assert [s.check for s in signs(rising, 3, 0.2, LARGE)] == ["d_overpowering"]
    assert signs(rising, 3, 0.2, LARGE, saturating=False) == []
    pinned = history(d_acc_real=[1, 1, 1], d_acc_fake=[1, 1, 1], g_loss=[25, 30, 28], diversity=[1, 1, 1])
    assert [s.check for s in signs(pinned, 3, 0.2, LARGE, saturating=False)] == ["d_overpowering"]


def test_generator_overpowering_and_mode_collapse():
    gave_up = history(d_acc_real=[0.5, 0.4, 0.5, 0.4], d_acc_fake=[0.02, 0.0, 0.01, 0.0],
                      g_loss=[0.08, 0.01, 0.05, 0.02], diversity=[0.3, 0.1, 0.2, 0.1])
    assert [s.check for s in signs(gave_up, 2, 0.2, LARGE)] == ["g_overpowering"]
    assert [s.check for s in signs(gave_up, 2, 0.5, LARGE)] == ["g_overpowering", "mode_collapse"]
    vae = [{"epoch": "2", "g_loss": "0.1", "diversity": ""}, {"epoch": "3", "g_loss": "0.1", "diversity": "0.01"}]
    assert signs(vae, 2, 0.2, LARGE) == []  # no accuracies, and a diversity never measured does not count


def test_an_untrained_generator_gaining_variety_is_not_mode_collapse():
    """The first epochs of a DCGAN on CelebA-2k: diversity 0.06, 0.13, 0.16 of the data's, rising."""
    early = history(d_acc_real=[0.9, 0.95, 0.96], d_acc_fake=[0.9, 0.99, 0.97], g_loss=[2.5, 3.8, 4.4],
                    diversity=[0.06, 0.13, 0.16])
    assert signs(early, 3, 0.2, LARGE) == []
    falling = history(d_acc_real=[0.8] * 6, d_acc_fake=[0.8] * 6, g_loss=[1] * 6,
                      diversity=[0.19, 0.1, 0.05, 0.04, 0.05, 0.04])
    assert signs(falling[:5], 3, 0.2, LARGE) == []  # a low variety must last twice `patience` epochs
    assert [(s.check, s.onset) for s in signs(falling, 3, 0.2, LARGE)] == [("mode_collapse", 2)]
    one_image = history(d_acc_real=[0.8] * 2, d_acc_fake=[0.8] * 2, g_loss=[1] * 2, diversity=[0.0, 2e-9])
    # float noise is not a rise
    assert [(s.check, s.onset) for s in signs(one_image, 2, 0.2, LARGE)] == [("mode_collapse", 2)]


# --- non-finite steps ----------------------------------------------------------------

def test_a_diverging_run_rolls_back_with_lower_rates_then_stops_with_its_reason(faces_npz, tmp_path):
    result = CliRunner().invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "2", "--out", "run",
                                      "--lr", "1e30", "--bad-steps", "3", "--max-rollbacks", "2", *TINY_ARGS])
    assert result.exit_code == EXIT_STOPPED, result.output
    assert "training stopped (diverged)" in result.stderr
    run = tmp_path / "run"
    assert events(run) == ["nonfinite", "rollback", "nonfinite", "rollback", "nonfinite", "stopped"]
    assert [r["detail"].rsplit("learning rate ", 1)[1] for r in rows(run / "health.csv") if r["event"] == "rollback"] \
        == ["5e+29", "2.5e+29"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "diverged" and "non-finite" in summary["reason"] and summary["rollbacks"] == 2
    assert json.loads((run / "config.json").read_text())["config"]["lr"] == 1e30  # written before, still whole
    assert not (run / "generator.keras").exists()  # no final networks from non-finite weights


def test_a_rollback_with_a_low_enough_rate_recovers_and_no_step_is_logged_twice(faces_npz, tmp_path):
    cfg = TrainConfig.resolve("dcgan", data=str(faces_npz), epochs=2, lr=1e30, rollback_lr=1e-33, bad_steps=2, **TINY)
    run = train(cfg, out=tmp_path / "run")  # after one rollback the rate is 1e-3
    assert events(run) == ["nonfinite", "rollback"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["rollbacks"] == 1 and summary["skipped_steps"] == 0
    assert [int(r["step"]) for r in rows(run / "metrics.csv")] == list(range(1, 11))
    weights = keras.saving.load_model(run / "generator.keras").get_weights()
    assert all(np.isfinite(w).all() for w in weights)


def test_an_update_with_a_non_finite_loss_is_not_applied(faces_npz):
    """Real images of NaN make the discriminator's loss NaN: its update is refused and counted; the
    generator's loss (fakes only) stays finite, and its update is made."""
    cfg = TrainConfig.resolve("dcgan", **TINY)
    nets = registry.get("dcgan").build_networks(cfg)
    steps = build_family(cfg, nets)
    copy = lambda net: [w.numpy().copy() for w in net.trainable_weights]  # noqa: E731
    d_before, g_before = copy(nets["discriminator"]), copy(nets["generator"])
    metrics = tf.function(steps.train_step)(np.full((4, 16, 16, 1), np.nan, np.float32), np.zeros(4, np.int32))
    assert np.isnan(metrics["d_loss"]) and np.isfinite(metrics["g_loss"])
    assert float(metrics["skipped"]) == 1
    for before, after in zip(d_before, copy(nets["discriminator"])):
        np.testing.assert_array_equal(before, after)
    assert any(not np.array_equal(b, a) for b, a in zip(g_before, copy(nets["generator"])))


# --- collapse --------------------------------------------------------------------------

def discriminator_only(self, x, y):
    with tf.GradientTape() as tape:
        losses, m = self.losses(x, y)
    return {**m, "skipped": self.minimize(tape, losses["d_loss"], self.discriminator.trainable_variables,
                                          self.optimizers["d"])}


def generator_only(self, x, y):
    with tf.GradientTape() as tape:
        losses, m = self.losses(x, y)
    return {**m, "skipped": self.minimize(tape, losses["g_loss"], self.generator_variables(), self.optimizers["g"])}


def test_a_frozen_generator_is_overpowered_and_the_run_stops(faces_npz, tmp_path, monkeypatch):
    monkeypatch.setattr(GanFamily, "train_step", discriminator_only)
    cfg = TrainConfig.resolve("dcgan", data=str(faces_npz), epochs=12, lr=1e-3, on_collapse="stop",
                              min_diversity=0.0, eval_every=0, **TINY)
    stopped = run_until_stopped(cfg, tmp_path / "run")
    assert "d_overpowering" in str(stopped)
    run = tmp_path / "run"
    assert events(run)[-2:] == ["d_overpowering", "stopped"]
    epochs = rows(run / "epochs.csv")
    last = int(epochs[-1]["epoch"])
    assert last < 12 and json.loads((run / "summary.json").read_text())["status"] == "collapsed"
    assert (run / "samples" / f"epoch_{last:04d}.png").exists()  # written before the stop, kept
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith(f"ckpt-{last * 5}")  # resumable


def test_a_generator_facing_a_frozen_discriminator_is_flagged_and_the_run_goes_on(faces_npz, tmp_path, monkeypatch):
    monkeypatch.setattr(GanFamily, "train_step", generator_only)
    cfg = TrainConfig.resolve("dcgan", data=str(faces_npz), epochs=6, lr=1e-3, min_diversity=0.0, eval_every=0, **TINY)
    run = train(cfg, out=tmp_path / "run")  # --on-collapse warn is the default
    assert "g_overpowering" in events(run)
    assert {r["action"] for r in rows(run / "health.csv")} == {"warn"}
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"


class ConstantImage(keras.layers.Layer):
    """A generator that ignores its latent: one learnable image for every sample."""

    def build(self, input_shape):
        self.image = self.add_weight(shape=(16, 16, 1), initializer="random_normal")

    def call(self, z):
        return keras.ops.tanh(self.image)[None] + keras.ops.reshape(0.0 * z[:, :1], (-1, 1, 1, 1))


def test_a_generator_of_one_image_is_mode_collapse_and_rollbacks_end_in_a_stop(faces_npz, tmp_path, monkeypatch):
    build = registry.ModelSpec.build_networks

    def constant_generator(spec, cfg):
        nets = build(spec, cfg)
        nets["generator"] = keras.Sequential([keras.Input((cfg.latent_dim,)), ConstantImage()])
        return nets

    monkeypatch.setattr(registry.ModelSpec, "build_networks", constant_generator)
    cfg = TrainConfig.resolve("dcgan", data=str(faces_npz), epochs=4, on_collapse="rollback", collapse_patience=2,
                              max_rollbacks=1, eval_every=0, **TINY)
    run = tmp_path / "run"
    stopped = run_until_stopped(cfg, run)
    assert "mode_collapse" in str(stopped)
    log = [r for r in rows(run / "health.csv") if r["event"] != "d_overpowering"]  # a one-image generator loses, too
    assert [r["event"] for r in log] == ["mode_collapse", "rollback", "mode_collapse", "stopped"]
    assert [r["action"] for r in log] == ["rollback", "rollback", "rollback", "stop"]
    assert "back to epoch 1, step 5" in log[1]["detail"]  # before the sign's onset (epoch 2, after the warm-up)
    assert [float(r["diversity"]) for r in rows(run / "epochs.csv")] == [0.0, 0.0, 0.0]
    assert [int(r["step"]) for r in rows(run / "metrics.csv")] == list(range(1, 16))  # retrained, not doubled
    assert json.loads((run / "summary.json").read_text())["status"] == "collapsed"


def test_diversity_is_exactly_zero_for_identical_images_and_the_rms_difference_otherwise():
    from facegan.metrics.diversity import diversity

    image = np.random.default_rng(0).uniform(-1, 1, (16, 16, 3))
    assert diversity(np.stack([image] * 8)) == 0.0
    assert diversity(np.stack([image, image + 0.5])) == pytest.approx(0.5)


def test_the_aegan_v5_run_gaining_variety_by_factors_raises_nothing():
    """A healthy run (aegan-v5, 100 epochs on the embedded faces): its diversity, read from its
    epochs.csv at these epochs, rose every epoch; the old rule called epochs 1 to 18 a collapse."""
    epochs = [1, 3, 5, 8, 10, 12, 15, 20, 30, 50]
    diversity = [8.9e-5, 9.2e-5, 1.0e-4, 1.4e-4, 2.9e-4, 5.8e-3, 0.031, 0.19, 0.38, 0.68]
    every = np.exp(np.interp(np.arange(1, 51), epochs, np.log(diversity)))  # the epochs between, log-linearly
    rows_ = [{"epoch": str(e), "d_acc_real": "0.7", "d_acc_fake": "0.75", "g_loss": "0.34", "diversity": str(d)}
             for e, d in zip(range(1, 51), every)]
    assert [n for n in range(1, 51) if signs(rows_[:n], 3, 0.2, LARGE)] == []


def test_a_dip_in_variety_that_the_generator_climbs_out_of_raises_nothing_but_a_lasting_one_does():
    """aegan-v5 for 100 epochs on the embedded faces (benchmarks/health.py): diversity from its epochs.csv,
    epochs 12 to 24. It fell twelvefold after epoch 14 and climbed back within six epochs; the run went on
    to learn (SWD 176 at epoch 20, 103 at 100). Judged as though past the warm-up (its 128 images an epoch
    were not), as a dip later in a run would be."""
    dip = [0.0058, 0.0621, 0.2512, 0.0311, 0.0197, 0.0211, 0.0296, 0.0587, 0.1917, 0.379, 0.3752, 0.171, 0.1638]
    rows_ = history(d_acc_real=[0.7] * 13, d_acc_fake=[0.75] * 13, g_loss=[0.34] * 13, diversity=dip)
    assert [n for n in range(1, 14) if signs(rows_[:n], 3, 0.2, LARGE)] == []
    stays = dip[:6] + [0.024, 0.02, 0.023, 0.021]  # the same fall, then no climb
    rows_ = history(d_acc_real=[0.7] * 10, d_acc_fake=[0.75] * 10, g_loss=[0.34] * 10, diversity=stays)
    flagged = [(n, [(s.check, s.onset) for s in signs(rows_[:n], 3, 0.2, LARGE)]) for n in range(1, 11)]
    assert [(n, found) for n, found in flagged if found] == [(9, [("mode_collapse", 5)]), (10, [("mode_collapse", 6)])]


def test_a_young_generator_gaining_variety_unevenly_is_not_judged_before_the_warm_up():
    """dcgan for 25 epochs on celeba-2k, seed 1 (benchmarks/health.py), 1,920 images an epoch: its diversity at
    epochs 2 to 7 was 0.138, 0.176, 0.193, 0.151, 0.138 and 0.21. Had epoch 7 been 0.19, six epochs below 0.2 and
    not rising would be a collapse; before 20,000 images a low variety is not judged."""
    early = history(d_acc_real=[0.9] * 6, d_acc_fake=[0.9] * 6, g_loss=[3] * 6,
                    diversity=[0.1377, 0.1762, 0.1934, 0.1513, 0.1384, 0.19])
    assert signs(early, 3, 0.2, 1920) == []
    assert [s.check for s in signs(early, 3, 0.2, LARGE)] == ["mode_collapse"]
    assert [s.check for s in signs(early, 3, 0.2, 20_000 // 7 + 1)] == []  # only epoch 7 past it
    identical = history(d_acc_real=[0.9] * 3, d_acc_fake=[0.9] * 3, g_loss=[3] * 3, diversity=[0.0] * 3)
    assert [s.check for s in signs(identical, 3, 0.2, 1920)] == ["mode_collapse"]  # no warm-up for identical
    assert signs(identical, 3, 0.0, 1920) == []  # --min-diversity 0 turns the check off


def test_a_generator_loss_moving_by_noise_is_not_a_discriminator_winning():
    noise = history(d_acc_real=[0.995] * 4, d_acc_fake=[0.995] * 4, g_loss=[0.338, 0.341, 0.336, 0.345],
                    diversity=[1] * 4)
    assert signs(noise, 4, 0.2, LARGE) == []  # +2% of its size: noise, not a trend
    scattered = history(d_acc_real=[1] * 4, d_acc_fake=[1] * 4, g_loss=[3.0, 6.0, 2.5, 3.4], diversity=[1] * 4)
    assert signs(scattered, 4, 0.2, LARGE) == []  # its rise is within twice its scatter


def test_a_discriminator_sure_of_every_fake_overpowers_though_the_generator_loss_is_flat():
    """A discriminator with 100 times the generator's learning rate: accuracy 1 and the generator's loss
    pinned near the clamp of its cross-entropy (100) from epoch 3 on (benchmarks/health.py)."""
    pinned = history(d_acc_real=[1, 1, 1], d_acc_fake=[1, 1, 1], g_loss=[99.8, 100, 99.8], diversity=[0.5] * 3)
    assert [s.check for s in signs(pinned, 3, 0.2, LARGE)] == ["d_overpowering"]
