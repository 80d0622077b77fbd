"""`facegan blur` as scripts use it: one number on stdout, CSV, JSON, blur.json for compare."""

import json
import shutil
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

from facegan.cli import app
from facegan.imaging import read_image, tiles
from facegan.metrics.blur import blur_factor

runner = CliRunner()


def test_a_run_prints_one_number_the_mean_over_its_newest_grid(trained_runs, tmp_path):
    run = shutil.copytree(trained_runs["dcgan"], tmp_path / "run")
    result = runner.invoke(app, ["blur", str(run)])
    assert result.exit_code == 0, result.output
    grid = tiles(read_image(run / "samples" / "epoch_0002.png"), 16)
    assert len(grid) == 32
    assert float(result.stdout) == pytest.approx(np.mean([blur_factor(t) for t in grid]), rel=1e-6)
    assert result.stdout.count("\n") == 1
    assert json.loads((run / "blur.json").read_text())["images"] == 32


def test_autoencoder_runs_score_only_the_reconstructions(trained_runs, tmp_path):
    run = shutil.copytree(trained_runs["aegan-v5"], tmp_path / "run")
    result = runner.invoke(app, ["blur", str(run), "--data", "--json"])
    assert result.exit_code == 0, result.output
    details = json.loads(result.stdout)
    assert details["images"] == 16  # 16 reconstructions, not their 16 inputs
    stored = json.loads((run / "blur.json").read_text())
    assert stored["dataset_raw"] > 0 and stored["blur"] == pytest.approx(details["blur"])


def test_generate_scores_fresh_samples_of_the_generator(trained_runs, tmp_path):
    import keras

    run = shutil.copytree(trained_runs["dcgan"], tmp_path / "run")
    result = runner.invoke(app, ["blur", str(run), "--generate", "5", "--per-image"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()[1:]
    assert len(lines) == 5 and lines[0].startswith("5 new samples#0,")
    from facegan.imaging import to_uint8
    from facegan.inference import draw_latents

    generator = keras.saving.load_model(run / "generator.keras")
    expected = to_uint8(np.asarray(generator(draw_latents(5, 8, seed=0))))
    assert float(lines[4].split(",")[1]) == pytest.approx(blur_factor(expected[4]), rel=1e-6)


def test_folders_and_files_with_per_image_csv(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "imgs" / "sub").mkdir(parents=True)
    for name in ("a.png", "sub/b.png"):
        iio.imwrite(tmp_path / "imgs" / name, rng.integers(0, 256, (20, 20, 3), np.uint8))
    result = runner.invoke(app, ["blur", str(tmp_path / "imgs"), "--per-image"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "image,blur" and len(lines) == 3
    expected = blur_factor(iio.imread(tmp_path / "imgs" / "a.png"))
    assert float(lines[1].split(",")[1]) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("args,message", [
    (["nowhere"], "does not exist"), (["empty"], "no image file"), ([".."], None)])
def test_blur_errors(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    if message is None:  # a run without any sample grid
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "config.json").write_text(json.dumps({"config": {"model": "dcgan", "image_size": 16}}))
        args, message = ["run"], "no sample grid"
    result = runner.invoke(app, ["blur", *args])
    assert result.exit_code == 2 and message in result.stderr


def test_blur_does_not_import_tensorflow(tmp_path):
    iio.imwrite(tmp_path / "a.png", np.zeros((8, 8), np.uint8))
    code = ("import sys; from typer.testing import CliRunner; from facegan.cli import app; "
            f"r = CliRunner().invoke(app, ['blur', {str(tmp_path / 'a.png')!r}]); assert r.exit_code == 0; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
