"""`facegan nearest`: exact nearest training images, the copy rate, and the scripted failure."""

import csv
import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from facegan.analysis.nearest import memorization, nearest, split_held_out
from facegan.cli import app
from facegan.data import load_faces
from facegan.imaging import read_image, tiles

runner = CliRunner()


def brute_force(queries, train, metric):
    """The notebooks' way: a Python loop over the training images."""
    result = []
    for q in queries.astype(np.float64) / 127.5 - 1:
        best = (np.inf, -1)
        for j, t in enumerate(train.astype(np.float64) / 127.5 - 1):
            d = np.abs(q - t).mean() if metric == "l1" else np.square(q - t).mean()
            best = min(best, (d, j))
        result.append(best)
    return [j for _, j in result], [d for d, _ in result]


@pytest.mark.parametrize("metric", ["l1", "l2"])
@pytest.mark.parametrize("shape", [(9, 9, 3), (12, 12, 1), (20, 20, 1), (16, 16, 3)])
def test_equals_a_brute_force_loop(metric, shape):
    rng = np.random.default_rng(len(shape) + shape[0])
    train = rng.integers(0, 256, (157, *shape), np.uint8)
    queries = rng.integers(0, 256, (6, *shape), np.uint8)
    index, distance = nearest(queries, train, metric)
    expected_index, expected_distance = brute_force(queries, train, metric)
    assert list(index) == expected_index
    np.testing.assert_allclose(distance, expected_distance, rtol=1e-9)


def test_held_out_split_is_seeded_and_disjoint():
    held, rest = split_held_out(50, 0.1, seed=3)
    assert len(held) == 5 and not set(held) & set(rest) and len(held) + len(rest) == 50
    assert np.array_equal(held, split_held_out(50, 0.1, seed=3)[0])


def test_copy_rate_counts_samples_nearer_than_the_first_percentile():
    summary = memorization(np.array([0.0, 0.5, 0.01]), np.linspace(0.1, 1.0, 100))
    assert summary["copy_rate"] == pytest.approx(2 / 3)


@pytest.fixture
def run(trained_runs, tmp_path):
    return shutil.copytree(trained_runs["dcgan"], tmp_path / "runs" / "001-dcgan")


def test_a_training_image_fed_back_is_at_distance_0_and_a_copy(run, tmp_path):
    faces = load_faces(json.loads((run / "config.json").read_text())["config"]["data"], 16, 1)
    np.savez(tmp_path / "copies.npz", images=np.concatenate([faces.images[[7, 30]], 255 - faces.images[:1]]))
    result = runner.invoke(app, ["nearest", str(run), "--samples", str(tmp_path / "copies.npz"), "--json",
                                 "--fail-above", "0.5"])
    assert result.exit_code == 1, result.output  # 2 of 3 are copies: above 0.5
    summary = json.loads(result.stdout)
    assert summary["copy_rate"] == pytest.approx(2 / 3)
    rows = list(csv.DictReader(open(run / "nearest" / "nearest.csv")))
    assert [rows[0]["train"], rows[1]["train"]] == [faces.names[7], faces.names[30]]
    assert float(rows[0]["distance"]) == 0 and float(rows[2]["distance"]) > 0
    assert json.loads((run / "nearest.json").read_text())["copy_rate"] == summary["copy_rate"]
    assert (run / "nearest" / "nearest.png").exists()


def test_a_run_that_trained_on_mirror_images_counts_a_mirrored_face_as_a_copy(run, tmp_path):
    config = json.loads((run / "config.json").read_text())
    faces = load_faces(config["config"]["data"], 16, 1)
    np.savez(tmp_path / "mirrored.npz", images=faces.images[[7, 30]][:, :, ::-1])

    def check() -> tuple[dict, list[dict]]:
        result = runner.invoke(app, ["nearest", str(run), "--samples", str(tmp_path / "mirrored.npz"), "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout), list(csv.DictReader(open(run / "nearest" / "nearest.csv")))

    unflipped, rows = check()  # a run without --flip never saw the mirror images
    assert not unflipped["settings"]["mirror_images"] and min(float(row["distance"]) for row in rows) > 0
    config["config"]["flip"] = True
    (run / "config.json").write_text(json.dumps(config))
    flipped, rows = check()
    assert flipped["settings"]["mirror_images"] and flipped["copy_rate"] == 1
    assert [row["train"] for row in rows] == [f"{faces.names[7]} (mirrored)", f"{faces.names[30]} (mirrored)"]
    assert [float(row["distance"]) for row in rows] == [0, 0]
    shown = read_image(run / "nearest" / "nearest.png")
    assert np.array_equal(*tiles(shown, 16)[[0, 2]])  # each sample above the training face as the run saw it


def test_new_samples_by_default_and_the_copy_rate_in_compare(run):
    result = runner.invoke(app, ["nearest", "-n", "5", "--l2"])
    assert result.exit_code == 0, result.output
    assert "copy rate" in result.stdout
    settings = json.loads((run / "nearest.json").read_text())["settings"]
    assert settings["metric"] == "l2" and settings["n"] == 5 and settings["held_out_images"] == 4
    table = runner.invoke(app, ["compare", "--format", "json"])
    assert json.loads(table.stdout)["runs"][str(run.relative_to(run.parent.parent))]["copy_rate"] is not None


def test_samples_of_another_shape_are_refused(run, tmp_path):
    np.savez(tmp_path / "big.npz", images=np.zeros((2, 32, 32, 1), np.uint8))
    result = runner.invoke(app, ["nearest", str(run), "--samples", str(tmp_path / "big.npz")])
    assert result.exit_code == 2 and "this run's are (16, 16, 1)" in result.stderr


def test_l2_is_a_pixel_distance_refused_in_the_inception_space(run):
    result = runner.invoke(app, ["nearest", str(run), "--space", "inception", "--l2"])
    assert result.exit_code == 2 and "--l2 is a pixel distance" in result.stderr
