"""Crash safety with real training processes: SIGKILL at a random moment, SIGTERM and SIGINT."""

import csv
import json
import re
import signal
import subprocess
import sys
import time

import helpers
import numpy as np
import pytest
from typer.testing import CliRunner

from facegan.cli import app
from facegan.imaging import read_image

pytestmark = pytest.mark.slow  # real training processes killed and resumed

TINY = [*helpers.TINY, "--batch-size", "4"]
EPOCHS = 4
STEPS_PER_EPOCH = 10  # 40 faces, batch 4


def start(faces_npz, out, model: str = "wgan-gp") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "facegan", "train", model, "--data", str(faces_npz), "--epochs", str(EPOCHS),
         "--out", str(out), "--eval-every", "2", *TINY],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_epoch(process, run, epoch: int = 1, timeout=120.0) -> None:
    """Until the run has checkpointed `epoch` (the process is then inside its loop)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = run / "checkpoints" / "checkpoint"
        if state.exists() and f"ckpt-{epoch * STEPS_PER_EPOCH}\"" in state.read_text():
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    process.kill()
    pytest.fail(f"the training process did not finish epoch {epoch} in time")


def column(path, name) -> list[int]:
    return [int(row[name]) for row in csv.DictReader(open(path))]


def resume(run):
    result = CliRunner().invoke(app, ["train", "--resume", str(run)])
    assert result.exit_code == 0, result.output
    return result


def assert_whole_and_counted_once(run) -> None:
    """Every file parses, every step and epoch is logged exactly once, the run is complete."""
    assert column(run / "metrics.csv", "step") == list(range(1, EPOCHS * STEPS_PER_EPOCH + 1))
    assert column(run / "epochs.csv", "epoch") == list(range(1, EPOCHS + 1))
    evaluated = column(run / "evals.csv", "step")
    assert evaluated == sorted(set(evaluated)) and evaluated[-1] == EPOCHS * STEPS_PER_EPOCH
    for path in run.rglob("*.json"):
        json.loads(path.read_text())
    for path in (run / "samples").glob("*.png"):
        assert read_image(path).shape[0] > 16
    assert not list(run.rglob("*.tmp*"))
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs"] == EPOCHS


@pytest.fixture(scope="module")
def uninterrupted(module_faces_npz, tmp_path_factory):
    """The metrics of the run `start` makes, trained in one go without checkpoints inside epochs."""
    with helpers.working_in(tmp_path_factory.mktemp("uninterrupted")) as root:
        assert start(module_faces_npz, root / "run").wait() == 0
    whole = root / "run"
    return np.loadtxt(whole / "metrics.csv", delimiter=",", skiprows=1)


@pytest.mark.parametrize("model", ["wgan-gp", "fastgan"])
def test_sigkill_at_a_random_moment_resumes_with_no_step_counted_twice(faces_npz, tmp_path, model):
    run = tmp_path / "run"
    process = start(faces_npz, run, model)
    wait_for_epoch(process, run, 1)
    began = time.monotonic()
    wait_for_epoch(process, run, 2)
    epoch_seconds = time.monotonic() - began
    # anywhere in the third of four epochs: its steps, its evaluation, its checkpoint. The moment is seeded: 0.63
    # of the second epoch's duration after its checkpoint (np.random.default_rng(7).uniform()), on every run
    time.sleep(np.random.default_rng(7).uniform(0.0, 1.0) * epoch_seconds)
    assert process.poll() is None, "the run ended before the kill"
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert not (run / "summary.json").exists()  # the kill landed while it trained:
    assert len(column(run / "metrics.csv", "step")) < EPOCHS * STEPS_PER_EPOCH  # its log ends short
    resume(run)
    assert_whole_and_counted_once(run)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_checkpoints_the_current_step_and_resuming_equals_an_uninterrupted_run(
        faces_npz, tmp_path, stop_signal, uninterrupted):
    run = tmp_path / "run"
    process = start(faces_npz, run)
    wait_for_epoch(process, run)
    process.send_signal(stop_signal)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + stop_signal, stderr
    assert f"interrupted by {signal.Signals(stop_signal).name}" in stderr and "--resume" in stderr
    logged = column(run / "metrics.csv", "step")
    state = (run / "checkpoints" / "checkpoint").read_text()
    assert f'model_checkpoint_path: "ckpt-{logged[-1]}"' in state  # the checkpoint is at the last logged step
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"

    resume(run)
    assert_whole_and_counted_once(run)
    np.testing.assert_allclose(np.loadtxt(run / "metrics.csv", delimiter=",", skiprows=1), uninterrupted,
                               rtol=1e-4, atol=1e-5)


def test_a_kill_after_a_checkpoint_inside_an_epoch_loses_only_the_steps_since(faces_npz, tmp_path, uninterrupted):
    run = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "facegan", "train", "wgan-gp", "--data", str(faces_npz), "--epochs", str(EPOCHS),
         "--out", str(run), "--eval-every", "2", "--checkpoint-minutes", "0.0002", *TINY],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, inside = time.monotonic() + 120, None
    while inside is None and time.monotonic() < deadline:  # a checkpoint in the middle of the second epoch
        state = run / "checkpoints" / "checkpoint"
        steps = [int(s) for s in re.findall(r'"ckpt-(\d+)"', state.read_text())] if state.exists() else []
        inside = next((s for s in steps if STEPS_PER_EPOCH < s < 2 * STEPS_PER_EPOCH), None)
        assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert inside is not None, "no checkpoint inside the second epoch"
    assert (run / "samples" / f"step_{inside:08d}.png").exists()  # each such checkpoint writes its grid
    assert column(run / "metrics.csv", "step")[:inside] == list(range(1, inside + 1))  # logged up to it
    resume(run)
    assert_whole_and_counted_once(run)
    np.testing.assert_allclose(np.loadtxt(run / "metrics.csv", delimiter=",", skiprows=1), uninterrupted,
                               rtol=1e-4, atol=1e-5)  # without checkpoints inside epochs: the same steps


def test_a_second_writer_is_refused_while_the_first_trains_and_the_first_logs_each_step_once(faces_npz, tmp_path):
    run = tmp_path / "run"
    first = start(faces_npz, run)
    wait_for_epoch(first, run)
    first.send_signal(signal.SIGSTOP)  # held mid-run, as a slow first copy would be, while the others start
    try:
        refusal = f"being written by another process (pid {first.pid} on "
        for args in (["--resume", str(run), "--epochs", "30"],  # a relaunched job
                     ["wgan-gp", "--data", str(faces_npz), "--epochs", str(EPOCHS), "--out", str(run), "--eval-every",
                      "2", *TINY]):  # a second copy of the same job: it would continue the run, but one writes
            second = subprocess.run([sys.executable, "-m", "facegan", "train", *args],
                                    capture_output=True, text=True, timeout=120)
            assert second.returncode == 2, second.stderr
            assert refusal in second.stderr and "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGCONT)
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert_whole_and_counted_once(run)
