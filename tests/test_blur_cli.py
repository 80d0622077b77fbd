"""`facegan blur` as scripts use it: one number on stdout, CSV, JSON, blur.json for compare."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

from facegan.cli import app
from facegan.config import TrainConfig
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
    result = runner.invoke(app, ["blur", str(run), "--training-data", "--json"])
    assert result.exit_code == 0, result.output
    details = json.loads(result.stdout)
    assert details["images"] == 16  # 16 reconstructions, not their 16 inputs
    stored = json.loads((run / "blur.json").read_text())
    assert stored["dataset_raw"] > 0 and stored["blur"] == pytest.approx(details["blur"])
    earlier = runner.invoke(app, ["blur", str(run), "--data", "--json"])  # the flag's earlier name, hidden
    assert earlier.exit_code == 0 and json.loads(earlier.stdout)["runs"] == details["runs"]
    assert "--data" not in runner.invoke(app, ["blur", "--help"], env={"COLUMNS": "200"}).stdout


def test_generate_scores_fresh_samples_of_the_generator(trained_runs, tmp_path):
    import keras

    run = shutil.copytree(trained_runs["dcgan"], tmp_path / "run")
    result = runner.invoke(app, ["blur", str(run), "--generate", "5", "--per-image"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()[1:]
    assert len(lines) == 5 and lines[0].startswith("5 new samples#0,")
    from facegan.imaging import to_uint8
    from facegan.inference import seeded_latents

    generator = keras.saving.load_model(run / "generator.keras")
    expected = to_uint8(np.asarray(generator(seeded_latents(range(5), 8))))  # seeds 0 to 4
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
        config = TrainConfig.resolve("dcgan", image_size=16).to_dict()
        (tmp_path / "run" / "config.json").write_text(json.dumps({"config": config}))
        args, message = ["run"], "no sample grid"
    result = runner.invoke(app, ["blur", *args])
    assert result.exit_code == 2 and message in result.stderr


def test_blur_does_not_import_tensorflow(tmp_path):
    iio.imwrite(tmp_path / "a.png", np.zeros((8, 8), np.uint8))
    code = ("import sys; from typer.testing import CliRunner; from facegan.cli import app; "
            f"r = CliRunner().invoke(app, ['blur', {str(tmp_path / 'a.png')!r}]); assert r.exit_code == 0; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def write_images(folder, names, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        iio.imwrite(folder / name, rng.integers(0, 256, (20, 20, 3), np.uint8))


def test_several_paths_print_one_tab_separated_line_each_in_the_order_given(trained_runs, tmp_path):
    runs = [shutil.copytree(trained_runs[m], tmp_path / m) for m in ("aegan-v5", "dcgan")]
    write_images(tmp_path / "imgs", ["a.png", "b.png"])
    paths = [str(runs[0]), str(tmp_path / "imgs"), str(runs[1])]
    result = runner.invoke(app, ["blur", *paths])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [line[0] for line in lines] == paths
    for (path, value), alone in zip(lines, paths):
        assert float(value) == pytest.approx(float(runner.invoke(app, ["blur", alone]).stdout), rel=1e-6)


def test_a_file_named_twice_counts_once(tmp_path):
    write_images(tmp_path / "imgs", ["0.png", "1.png"])
    both = runner.invoke(app, ["blur", str(tmp_path / "imgs"), str(tmp_path / "imgs" / "0.png"), "--json"])
    details = json.loads(both.stdout)
    assert details["images"] == 2
    folder = json.loads(runner.invoke(app, ["blur", str(tmp_path / "imgs"), "--json"]).stdout)
    assert details["blur"] == pytest.approx(folder["blur"])


def test_unreadable_files_are_skipped_and_counted(tmp_path):
    write_images(tmp_path / "imgs", ["a.png", "b.png"])
    (tmp_path / "imgs" / "broken.png").write_bytes(b"\x89PNG not really")
    result = runner.invoke(app, ["blur", str(tmp_path / "imgs")])
    assert result.exit_code == 0, result.output
    assert "1 unreadable files skipped" in result.stderr and "broken.png" in result.stderr
    good = np.mean([blur_factor(iio.imread(tmp_path / "imgs" / n)) for n in ("a.png", "b.png")])
    assert float(result.stdout) == pytest.approx(good, rel=1e-6)
    (tmp_path / "imgs" / "a.png").unlink()
    (tmp_path / "imgs" / "b.png").unlink()
    nothing = runner.invoke(app, ["blur", str(tmp_path / "imgs")])
    assert nothing.exit_code == 2 and "no readable image" in nothing.stderr


@pytest.mark.parametrize("options,message", [
    (["--data"], "--data applies to run directories"), (["--generate", "4"], "--generate applies to run"),
    (["--per-image", "--json"], "give one of them")])
def test_options_that_do_not_apply_are_one_red_line(tmp_path, options, message):
    write_images(tmp_path / "imgs", ["a.png"])
    result = runner.invoke(app, ["blur", str(tmp_path / "imgs"), *options])
    assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1


def test_the_example_script_ranks_runs_sharpest_last(trained_runs, tmp_path):
    runs = [shutil.copytree(trained_runs[m], tmp_path / m) for m in ("aegan-v5", "dcgan")]
    script = Path(__file__).resolve().parents[1] / "examples" / "rank_by_blur.sh"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(script), *map(str, runs)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    values = [float(line.split("\t")[1]) for line in result.stdout.splitlines()]
    assert len(values) == 2 and values == sorted(values)
