"""train --keep-every N keeps every Nth epoch's checkpoint, and the analysis commands take --epoch E: the
notebooks chose a generator by epoch ("the image below is after 40 epochs") and ran the arithmetic on it."""

import json

import numpy as np
import pytest
from helpers import TINY, working_in, write_faces
from typer.testing import CliRunner

from facegan import load
from facegan.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def kept_run(tmp_path_factory):
    """A dcgan run of 3 epochs that kept epochs 2 and 3 (and a grid of each epoch)."""
    with working_in(tmp_path_factory.mktemp("kept")) as root:
        write_faces(root / "faces.npz")
        result = runner.invoke(app, ["train", "dcgan", "--data", str(root / "faces.npz"), "--epochs", "3", "--out",
                                     str(root / "run"), "--keep-every", "2", "--keep-checkpoints", "1",
                                     "--sample-every", "1", *TINY])
    assert result.exit_code == 0, result.output
    return root / "run"


def test_keep_every_keeps_those_epochs_beside_the_newest(kept_run):
    kept = sorted(path.name for path in (kept_run / "checkpoints" / "epochs").glob("*.index"))
    assert kept == ["epoch-2.index"]
    assert len(list((kept_run / "checkpoints").glob("ckpt-*.index"))) == 1  # --keep-checkpoints 1 as before


@pytest.mark.slow
def test_an_epochs_generator_is_the_one_of_that_epoch(kept_run, tmp_path):
    """The kept epoch's generator is the state at that epoch's end: resuming from it to the same epoch count
    would give it again, so compare with a run that stopped there."""

    two = runner.invoke(app, ["train", "dcgan", "--data", str(kept_run.parent / "faces.npz"), "--epochs", "2",
                              "--out", str(tmp_path / "two"), *TINY])
    assert two.exit_code == 0, two.output
    z_images = {name: model.sample(4, seed=1) for name, model in
                (("epoch 2", load(kept_run, epoch=2)), ("final", load(kept_run)), ("two", load(tmp_path / "two")))}
    assert np.array_equal(z_images["epoch 2"], z_images["two"])
    assert not np.array_equal(z_images["epoch 2"], z_images["final"])


def test_a_missing_epoch_is_one_line_naming_those_kept(kept_run):
    result = runner.invoke(app, ["sample", str(kept_run), "--epoch", "1", "-n", "2"])
    assert result.exit_code == 2
    assert "has no checkpoint of epoch 1: the epochs kept are 2" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    both = runner.invoke(app, ["sample", str(kept_run), "--epoch", "2", "--best"])
    assert both.exit_code == 2 and "--best and --epoch" in both.stderr


def test_every_analysis_command_takes_the_epoch(kept_run, tmp_path):
    sample = runner.invoke(app, ["sample", str(kept_run), "--epoch", "2", "-n", "4", "--out", str(tmp_path / "s"),
                                 "--json"])
    assert sample.exit_code == 0, sample.output
    assert json.loads(sample.stdout)["checkpoint"] == "epoch 2"
    nearest = runner.invoke(app, ["nearest", str(kept_run), "--epoch", "2", "-n", "3", "--calibration", "3",
                                  "--out", str(tmp_path / "n"), "--json"])
    assert nearest.exit_code == 0, nearest.output
    assert json.loads(nearest.stdout)["settings"]["epoch"] == 2
    export = runner.invoke(app, ["export", str(kept_run), "--epoch", "2", "--format", "keras", "--out",
                                 str(tmp_path / "g.keras")])
    assert export.exit_code == 0, export.output
    arithmetic = runner.invoke(app, ["arithmetic", str(kept_run), "--epoch", "2", "--plus",
                                     f"{tmp_path / 's' / 'samples.npz'}:0,1", "--out", str(tmp_path / "a")])
    assert arithmetic.exit_code == 0, arithmetic.output
    blur_grid = runner.invoke(app, ["blur", str(kept_run), "--epoch", "1", "--json"])
    assert blur_grid.exit_code == 0, blur_grid.output
    assert json.loads(blur_grid.stdout)["runs"][str(kept_run)]["source"].endswith("epoch_0001.png")
    blur_new = runner.invoke(app, ["blur", str(kept_run), "--epoch", "2", "--generate", "4"])
    assert blur_new.exit_code == 0, blur_new.output
    evaluation = runner.invoke(app, ["eval", str(kept_run), "--epoch", "2", "-n", "8", "--json"])
    assert evaluation.exit_code == 0, evaluation.output
    assert json.loads(evaluation.stdout)["checkpoint"] == "epoch 2"


def test_blur_of_an_epoch_without_a_grid_names_the_epochs_with_one(kept_run):
    result = runner.invoke(app, ["blur", str(kept_run), "--epoch", "9"])
    assert result.exit_code == 2 and "no sample grid of epoch 9: the epochs with one are 1, 2, 3" in result.stderr


@pytest.mark.slow
def test_a_resumed_run_keeps_on_and_clears_what_a_killed_save_left(kept_run, tmp_path):
    import shutil

    run = shutil.copytree(kept_run, tmp_path / "run")
    (run / "checkpoints" / "epochs" / "epoch-4_temp").mkdir()  # a save killed mid-write
    result = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "4"])
    assert result.exit_code == 0, result.output
    kept = sorted(path.name for path in (run / "checkpoints" / "epochs").iterdir() if path.suffix == ".index")
    assert kept == ["epoch-2.index", "epoch-4.index"]
    assert not (run / "checkpoints" / "epochs" / "epoch-4_temp").exists()
