"""The run planned once: `--dry-run` prints exactly the config that `train` then writes to config.json, for
several models and data sources, and for a resumed run."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from facegan.cli import app

runner = CliRunner()
TINY = ["--image-size", "16", "--latent-dim", "8", "--epochs", "1", "--eval-every", "0"]


@pytest.fixture
def three_classes(tmp_path):
    """30 images with three label values: the class count comes from the data."""
    images = np.random.default_rng(0).integers(0, 256, (30, 16, 16), np.uint8)
    path = tmp_path / "three.npz"
    np.savez(path, images=images, labels=np.arange(30) % 3)
    return path


@pytest.fixture
def folder(tmp_path):
    from facegan.imaging import write_png

    root = tmp_path / "faces"
    for i in range(12):
        write_png(root / f"{i}.png", np.random.default_rng(i).integers(0, 256, (20, 20, 3), np.uint8))
    return root


def planned_then_written(tmp_path, *args) -> tuple[dict, dict]:
    """(the dry run's config, config.json's) of `facegan train *args`."""
    dry = runner.invoke(app, ["train", *args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    run = tmp_path / "run"
    trained = runner.invoke(app, ["train", *args, "--out", str(run)])
    assert trained.exit_code == 0, trained.output
    return json.loads(dry.stdout)["config"], json.loads((run / "config.json").read_text())["config"]


@pytest.mark.slow
@pytest.mark.parametrize("case", ["cgan-three-classes", "dcgan-batch-over-data", "vae-lfw", "dcgan-folder"])
def test_the_dry_run_prints_the_config_that_train_writes(case, tmp_path, three_classes, folder):
    args = {"cgan-three-classes": ["cgan", "--data", str(three_classes), "--batch-size", "10"],
            "dcgan-batch-over-data": ["dcgan", "--data", str(three_classes), "--batch-size", "64"],
            "vae-lfw": ["vae", "--data", "lfw", "--batch-size", "50", "--max-images", "60"],
            "dcgan-folder": ["dcgan", "--data", str(folder), "--channels", "3", "--batch-size", "4"]}[case]
    planned, written = planned_then_written(tmp_path, *args, *TINY)
    assert planned == written
    if case == "cgan-three-classes":
        assert written["num_classes"] == 3
    if case == "dcgan-batch-over-data":
        assert written["batch_size"] == 30  # every image, where the data has fewer than --batch-size


def test_a_resumed_runs_dry_run_prints_its_config_with_the_new_epochs(tmp_path, three_classes):
    run = tmp_path / "run"
    trained = runner.invoke(app, ["train", "dcgan", "--data", str(three_classes), "--batch-size", "10", *TINY,
                                  "--out", str(run)])
    assert trained.exit_code == 0, trained.output
    dry = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "3", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    written = json.loads((run / "config.json").read_text())["config"]
    assert json.loads(dry.stdout)["config"] == {**written, "epochs": 3}


@pytest.mark.parametrize("kind,devices,replicas", [("auto", None, 1), ("auto", 1, 1), ("auto", 2, 2),
                                                   ("mirrored", 2, 2), ("single", None, 1), ("single", 1, 1)])
def test_devices_is_the_number_of_devices_to_train_on_and_by_default_the_cpu_as_one(kind, devices, replicas):
    """On a machine without a GPU (the tests split its CPU into two logical devices before TensorFlow starts):
    --devices N trains on N of them, and without it on the CPU as one device."""
    from facegan.distribute import make_strategy

    assert make_strategy(kind, devices).num_replicas_in_sync == replicas


def test_devices_that_cannot_be_had_are_refused_in_one_line():
    from facegan.distribute import use_gpus
    from facegan.errors import FaceganError

    with pytest.raises(FaceganError, match=r"^--devices 3: this machine has 2 GPU\(s\) \(CUDA_VISIBLE_DEVICES"):
        use_gpus(["gpu0", "gpu1"], 3)
    for args, said in ((["--strategy", "single", "--devices", "2"], "--strategy single trains on one device"),
                       (["--devices", "0"], "--devices must be positive")):
        result = runner.invoke(app, ["train", "dcgan", *args, "--dry-run"])
        assert result.exit_code == 2 and said in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_devices_is_said_in_one_sentence_in_the_help_the_readme_and_the_docs():
    from pathlib import Path

    from facegan.config import DEVICES_DEFAULT, DEVICES_HELP

    root = Path(__file__).parent.parent
    sentence = DEVICES_HELP.split(" (")[0].removeprefix("The ")
    help_text = " ".join(runner.invoke(app, ["train", "--help"], terminal_width=200).stdout.replace("│", " ").split())
    for text in (help_text, *((root / name).read_text() for name in ("README.md", "docs/distributed.md"))):
        flat = " ".join(text.split())
        assert sentence in flat and DEVICES_DEFAULT in flat
