"""Exact resume, walked over the registry: for every model, a run killed (SIGKILL, a real process) after a checkpoint
inside an epoch, resumed and interrupted by SIGINT inside the next epoch, then continued to its end by the killed
process's own command line (as a cluster restarts a job), ends with the same variables (every one, bit for bit) and
the same logs as the run trained in one go. It trains with augmentation (ADA's adaptive probability included) and
the EMA on, where the model takes them. Also: the checkpoint list rebuilt from the files on disk, and checkpoints
written before dropout masks were drawn by the step, or before each draw had a seed of its own, resume."""

import csv
import hashlib
import json
import signal
import subprocess
import sys
import time

import helpers
import keras
import numpy as np
import pytest
import tensorflow as tf
from typer.testing import CliRunner

from facegan import registry, training
from facegan.cli import app
from facegan.config import SEEDING, TrainConfig
from facegan.errors import TrainingStopped

TINY = [*helpers.TINY, "--eval-every", "0", "--ema", "0.9", "--epochs", "2"]
AUGMENT = ["--augment", "translation,cutout,color,ada"]
TIMING = {"images_per_s", "wall_s"}  # the epoch log's clock figures, which no two runs share


def options(model: str) -> list[str]:
    return [*TINY, *(AUGMENT if registry.get(model).adversarial else [])]


def train(*args: str):
    result = CliRunner().invoke(app, ["train", *args])
    assert result.exit_code == 0, result.output
    return result


def variable_hashes(run) -> dict:
    """sha256 of every variable of the run's newest checkpoint (save_counter aside: it counts the saves; and the
    object graph, which is not a variable)."""
    path = tf.train.latest_checkpoint(str(run / "checkpoints"))
    return {name: hashlib.sha256(np.asarray(tf.train.load_variable(path, name)).tobytes()).hexdigest()
            for name, _ in tf.train.list_variables(path) if not name.startswith(("save_counter", "_CHECKPOINTABLE"))}


def rows(path, drop=frozenset()) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(open(path))]


def command(model: str, data, run) -> list[str]:
    """`facegan train`'s arguments for a run that checkpoints after every step."""
    return [model, "--data", str(data), *options(model), "--checkpoint-minutes", "0.00001", "--out", str(run)]


def kill_after_a_checkpoint_inside_the_first_epoch(model: str, data, run) -> int:
    """Start a real training process that checkpoints after every step (`command`); SIGKILL it as soon as a
    checkpoint inside its first epoch is listed. Returns that checkpoint's step."""
    process = subprocess.Popen([sys.executable, "-m", "facegan", "train", *command(model, data, run)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline, inside = time.monotonic() + 180, None
    while inside is None and time.monotonic() < deadline:
        state = run / "checkpoints" / "checkpoint"
        listed = state.read_text() if state.exists() else ""
        inside = next((s for s in range(1, 4) if f'"ckpt-{s}"' in listed), None)
        assert process.poll() is None, process.communicate()[1]
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert inside is not None, "no checkpoint inside the first epoch"
    return inside


class InterruptInside(training.Reporter):
    """Sends this process SIGINT at step `at` of epoch `epoch` (inside it): the loop stops there as at Ctrl-C."""

    def __init__(self, epoch: int, at: int):
        self.epoch, self.at, self.current = epoch, at, None

    def epoch_start(self, epoch, epochs, steps, batch_size):
        self.current = epoch

    def step(self, done, latest):
        if self.current == self.epoch and done == self.at:
            signal.raise_signal(signal.SIGINT)


@pytest.mark.slow
@pytest.mark.parametrize("model", registry.names())
def test_a_killed_and_interrupted_run_resumes_to_the_same_bits_as_an_uninterrupted_one(model, faces_npz, tmp_path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    train(model, "--data", str(faces_npz), *options(model), "--out", str(whole))
    steps = len(rows(whole / "metrics.csv")) // 2  # per epoch

    killed_at = kill_after_a_checkpoint_inside_the_first_epoch(model, faces_npz, parts)
    assert not (parts / "summary.json").exists()  # the kill landed while it trained
    assert len(rows(parts / "metrics.csv")) < 2 * steps  # and its log ends short
    with pytest.raises(TrainingStopped, match="interrupted by SIGINT"):
        training.train(resume=parts, reporter=InterruptInside(epoch=2, at=2))
    logged = [int(row["step"]) for row in rows(parts / "metrics.csv")]
    assert killed_at < logged[-1] == steps + 2  # the resumed run went on from the kill, and stopped inside epoch 2
    train(*command(model, faces_npz, parts))  # the killed process's own command line continues the run

    assert variable_hashes(parts) == variable_hashes(whole)
    assert rows(parts / "metrics.csv") == rows(whole / "metrics.csv")
    assert rows(parts / "epochs.csv", TIMING) == rows(whole / "epochs.csv", TIMING)


@pytest.mark.slow
def test_dropout_masks_are_the_steps_draws(faces_npz, tmp_path):
    """dcgan's discriminator drops 40% of its features: its masks differ from step to step and from seed to seed,
    and a second run of the same seed draws the same (they come from (seed, step, call site))."""
    def d_losses(out, seed):
        train("dcgan", "--data", str(faces_npz), "--seed", str(seed), *TINY, "--epochs", "1", "--out", str(out))
        return [row["d_loss"] for row in rows(out / "metrics.csv")]

    first, again, other = d_losses(tmp_path / "a", 0), d_losses(tmp_path / "b", 0), d_losses(tmp_path / "c", 1)
    assert first == again and first != other


@pytest.mark.slow
def test_a_checkpoint_written_with_keras_dropout_resumes(faces_npz, tmp_path, monkeypatch):
    """Runs checkpointed when the networks held Keras's Dropout (which keeps no variable a checkpoint holds)
    resume with the step-drawn dropout: the checkpoint needs no key it lacks."""
    from facegan.nets import dcgan

    with monkeypatch.context() as patch:
        patch.setattr(dcgan, "StepDropout", keras.layers.Dropout)
        train("dcgan", "--data", str(faces_npz), *TINY, "--epochs", "1", "--out", str(tmp_path / "old"))
    assert dcgan.StepDropout is not keras.layers.Dropout
    result = train("--resume", str(tmp_path / "old"), "--epochs", "2")
    assert "resumed at epoch 1" in result.stderr and "warning" not in result.stderr
    assert [row["epoch"] for row in rows(tmp_path / "old" / "epochs.csv")] == ["1", "2"]


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["missing", "empty", "garbage"])
def test_a_damaged_checkpoint_list_is_rebuilt_from_the_checkpoints_on_disk(faces_npz, tmp_path, damage):
    run = tmp_path / "run"
    train("vae", "--data", str(faces_npz), *TINY, "--epochs", "2", "--out", str(run))
    steps = len(rows(run / "metrics.csv")) // 2  # per epoch
    listing = run / "checkpoints" / "checkpoint"
    listing.unlink() if damage == "missing" else listing.write_text("" if damage == "empty" else "}{ not a list")
    (run / "checkpoints" / "ckpt-3_temp").mkdir()  # what a save killed mid-write leaves
    result = train("--resume", str(run), "--epochs", "3")
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "rebuilt from the 3 checkpoints on disk" in warnings[0]
    assert f"resumed at epoch 2, step {2 * steps}" in result.stderr
    assert [row["epoch"] for row in rows(run / "epochs.csv")] == ["1", "2", "3"]
    assert not list((run / "checkpoints").glob("*_temp"))
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith(f"ckpt-{3 * steps}")


@pytest.mark.slow
def test_a_run_seeded_the_first_way_resumes_with_its_own_draws(faces_npz, tmp_path):
    """A run made before `seeding` existed (its config.json without it: seeds [seed, step * 64 + site]), of a
    model that draws many times a step, resumes to the bits of the same run trained in one go, and those bits are
    not what a new run's draws give."""
    from facegan import train as train_api

    def run(out, epochs, seeding):
        return train_api("wgan-gp", data=str(faces_npz), epochs=epochs, out=out, image_size=16, latent_dim=8,
                         batch_size=8, precision="float32", eval_every=0, augment="translation,cutout,color,ada",
                         seeding=seeding)

    whole, parts = run(tmp_path / "whole", 2, 1), run(tmp_path / "parts", 1, 1)
    record = json.loads((parts / "config.json").read_text())
    del record["config"]["seeding"]  # as a run made before wrote it
    (parts / "config.json").write_text(json.dumps(record))
    train("--resume", str(parts), "--epochs", "2")
    assert TrainConfig.read(parts).seeding == 1
    assert variable_hashes(parts) == variable_hashes(whole)
    assert variable_hashes(run(tmp_path / "new", 2, SEEDING)) != variable_hashes(whole)
