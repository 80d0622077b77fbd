"""Damaged checkpoints: a checkpoint that cannot be restored is reported, set aside (renamed, never
deleted), and the run goes on from the newest one that restores; only when none does is it refused."""

import csv
import hashlib
import subprocess
import sys

import helpers
import pytest
from typer.testing import CliRunner

from facegan.cli import app
from facegan.errors import FaceganWarning

TINY = [*helpers.TINY, "--eval-every", "0"]
runner = CliRunner()


def train_three_epochs(faces_npz, run):
    result = runner.invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "3", "--out", str(run),
                                 "--keep-checkpoints", "3", *TINY])
    assert result.exit_code == 0, result.output
    for network in run.glob("*.keras"):  # an unfinished run: sample reads its checkpoints
        network.unlink()


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def snapshot(run) -> dict:
    """Every file of the run and its content (the lock names its newest holder, nothing else)."""
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest() for p in run.rglob("*")
            if p.is_file() and p.name != "lock"}


@pytest.mark.slow
def test_a_truncated_newest_checkpoint_is_set_aside_and_the_run_resumes_from_the_one_before(faces_npz, tmp_path):
    run = tmp_path / "run"
    train_three_epochs(faces_npz, run)  # 40 images / 8: checkpoints at steps 5, 10, 15
    truncate(run / "checkpoints" / "ckpt-15.data-00000-of-00001")
    result = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "4"])
    assert result.exit_code == 0, result.output
    assert "checkpoint ckpt-15 cannot be restored" in result.output
    assert "set aside as damaged-ckpt-15.*; using ckpt-10" in result.output
    assert "resumed at epoch 2, step 10" in result.output
    assert (run / "checkpoints" / "damaged-ckpt-15.data-00000-of-00001").exists()
    steps = [int(row["step"]) for row in csv.DictReader(open(run / "metrics.csv"))]
    assert steps == list(range(1, 21))  # steps 11 to 15 cut back and trained again: each logged once
    assert [int(row["epoch"]) for row in csv.DictReader(open(run / "epochs.csv"))] == [1, 2, 3, 4]


def test_when_no_checkpoint_restores_resume_is_refused_and_the_run_left_as_it_was(faces_npz, tmp_path):
    run = tmp_path / "run"
    train_three_epochs(faces_npz, run)
    for data in (run / "checkpoints").glob("ckpt-*.data-*"):
        truncate(data)
    before = snapshot(run)
    for command in (["train", "--resume", str(run), "--epochs", "4"], ["sample", str(run)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert "no checkpoint in" in result.output and "can be restored: ckpt-15: " in result.output
        assert "Traceback" not in result.output
    assert snapshot(run) == before


def test_sample_reads_the_newest_checkpoint_that_restores_and_renames_nothing(faces_npz, tmp_path):
    run = tmp_path / "run"
    train_three_epochs(faces_npz, run)
    truncate(run / "checkpoints" / "ckpt-15.data-00000-of-00001")
    before = snapshot(run)
    with pytest.warns(FaceganWarning, match=r"checkpoint ckpt-15 cannot be restored \(.+\); using ckpt-10$"):
        result = runner.invoke(app, ["sample", str(run), "--n", "4", "--out", str(tmp_path / "samples")])
    assert result.exit_code == 0, result.output
    assert snapshot(run) == before


def test_a_warning_is_one_yellow_line_on_stderr():
    code = ("import warnings; from facegan.commands import show_warnings_as_lines; show_warnings_as_lines(); "
            "from facegan.errors import FaceganWarning; "
            "warnings.warn('checkpoint ckpt-15 cannot be restored', FaceganWarning); warnings.warn('other')")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stderr.splitlines()
    assert shown[0] == "warning: checkpoint ckpt-15 cannot be restored"
    assert "UserWarning: other" in shown[1]  # any other warning as Python shows it


def test_a_damaged_best_checkpoint_is_one_line_for_sample_best(faces_npz, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "2", "--out", str(run),
                                 *TINY[:-2], "--eval-every", "1", "--eval-images", "16"])
    assert result.exit_code == 0, result.output
    for data in (run / "checkpoints" / "best").glob("ckpt-*.data-*"):
        truncate(data)
    result = runner.invoke(app, ["sample", str(run), "--best"])
    assert result.exit_code == 2 and "can be restored" in result.output and "Traceback" not in result.output
