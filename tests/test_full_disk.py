"""A full disk: a write that fails stops training with one line (exit 74), leaves nothing half-written,
and the run resumes from its newest checkpoint once there is space, each step logged once."""

import csv
import errno
import os

import helpers
import pytest
import tensorflow as tf
from typer.testing import CliRunner

from facegan import files
from facegan.cli import app

TINY = [*helpers.TINY, "--eval-every", "0"]
runner = CliRunner()


def no_space(*args):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def fail_after(calls: int, then):
    """A function that lets `calls` calls through to `then`'s original and fails the ones after (no space)."""
    count = {"calls": 0}

    def call(original, *args, **kwargs):
        count["calls"] += 1
        if count["calls"] > calls:
            return then(*args, **kwargs)
        return original(*args, **kwargs)
    return call


def train(faces_npz, run, *extra):
    return runner.invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "4", "--out", str(run),
                               "--keep-checkpoints", "2", *TINY, *extra])


def assert_resumes_whole(run):
    """Nothing half-written, and after a resume with space every step and epoch is logged once."""
    assert not list(run.rglob("*.tmp*")) and not list(run.rglob("*_temp*"))
    listed = tf.train.get_checkpoint_state(str(run / "checkpoints")).all_model_checkpoint_paths
    on_disk = {p.name.split(".")[0] for p in (run / "checkpoints").glob("ckpt-*")}
    assert on_disk == {os.path.basename(p) for p in listed}  # no checkpoint files but the listed ones
    result = runner.invoke(app, ["train", "--resume", str(run)])
    assert result.exit_code == 0, result.output
    assert [int(r["step"]) for r in csv.DictReader(open(run / "metrics.csv"))] == list(range(1, 21))
    assert [int(r["epoch"]) for r in csv.DictReader(open(run / "epochs.csv"))] == [1, 2, 3, 4]


def test_a_failed_append_leaves_only_whole_rows(tmp_path, monkeypatch):
    path = tmp_path / "log.csv"
    files.append_csv(path, ["a", "b"], [[1, 2]])
    monkeypatch.setattr(files.os, "fsync", no_space)
    with pytest.raises(OSError, match="No space left on device: '.*log.csv'"):
        files.append_csv(path, ["a", "b"], [[3, 4], [5, 6]])
    assert path.read_text() == "a,b\n1,2\n"


@pytest.mark.slow
def test_no_space_for_a_log_append_stops_training_with_one_line_and_it_resumes(faces_npz, tmp_path, monkeypatch):
    run = tmp_path / "run"
    fsync = files.os.fsync
    failing = fail_after(12, no_space)  # config.json and the first epochs' files, then a later write
    monkeypatch.setattr(files.os, "fsync", lambda fd: failing(fsync, fd))
    result = train(faces_npz, run)
    assert result.exit_code == 74, result.output
    assert f"training stopped: [Errno 28] No space left on device: '{run}" in result.output
    assert f"continue with: facegan train --resume {run} (from its newest checkpoint, ckpt-" in result.output
    assert "Traceback" not in result.output
    monkeypatch.undo()
    assert_resumes_whole(run)


@pytest.mark.slow
def test_no_space_for_a_checkpoint_stops_training_and_leaves_none_of_its_files(faces_npz, tmp_path, monkeypatch):
    run = tmp_path / "run"
    save = tf.train.CheckpointManager.save

    def partial_then_no_space(manager, checkpoint_number=None, **kwargs):
        prefix = os.path.join(manager.directory, f"ckpt-{checkpoint_number}")
        open(prefix + ".data-00000-of-00001", "wb").write(b"half")  # what a full disk leaves
        raise tf.errors.ResourceExhaustedError(None, None, f"{prefix}: No space left on device")

    failing = fail_after(2, partial_then_no_space)  # step 0 and the first epoch, then the second epoch's
    monkeypatch.setattr(tf.train.CheckpointManager, "save", lambda *a, **k: failing(save, *a, **k))
    result = train(faces_npz, run)
    assert result.exit_code == 74, result.output
    assert "training stopped: cannot write checkpoint" in result.output and "ckpt-10: " in result.output
    assert "(from its newest checkpoint, ckpt-5)" in result.output
    monkeypatch.undo()
    assert_resumes_whole(run)
