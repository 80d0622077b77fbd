"""`facegan walk`: great-circle walks between keyframe latents, looping, several in a grid, as GIF, MP4 or frames."""

import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

from facegan.analysis.walk import loop, slerp
from facegan.cli import app
from facegan.imaging import read_image, tiles
from facegan.inference import seeded_latents

runner = CliRunner()


@pytest.fixture
def run(trained_runs, tmp_path):
    return shutil.copytree(trained_runs["dcgan"], tmp_path / "run")


def test_slerp_follows_the_great_circle_between_its_ends():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(16), rng.standard_normal(16)
    path = slerp(a, b, np.linspace(0, 1, 9))
    np.testing.assert_allclose(path[0], a, rtol=1e-6)
    np.testing.assert_allclose(path[-1], b, rtol=1e-6)
    norms = np.linalg.norm(path, axis=1)
    np.testing.assert_allclose(norms, np.linspace(np.linalg.norm(a), np.linalg.norm(b), 9), rtol=1e-5)
    units = path / norms[:, None]
    chords = np.linalg.norm(np.diff(units, axis=0), axis=1)
    np.testing.assert_allclose(chords, chords.mean(), rtol=1e-4)  # even steps of angle
    in_plane = np.linalg.lstsq(np.stack([a, b], 1), path.T, rcond=None)[1]
    assert in_plane.max() < 1e-8  # every point a combination of a and b
    x, y = np.eye(2)
    np.testing.assert_allclose(slerp(x, y, np.array([0.5]))[0], [0.5 ** 0.5] * 2, rtol=1e-6)
    np.testing.assert_allclose(slerp(x, 2 * x, np.array([0.5]))[0], [1.5, 0], rtol=1e-6)  # one direction: a line


def test_a_loop_visits_every_keyframe_and_comes_back():
    keys = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
    path = loop(keys, 4)
    assert path.shape == (12, 8)
    for i in range(3):
        np.testing.assert_allclose(path[4 * i], keys[i], rtol=1e-6)
    step = np.linalg.norm(np.diff(np.concatenate([path, path[:1]]), axis=0), axis=1)
    assert step.max() < 2 * np.median(step)  # the last frame leads smoothly back to the first


def test_a_walk_starts_at_its_seeds_faces_and_writes_every_frame(run):
    result = runner.invoke(app, ["walk", str(run), "--seeds", "1,5,9", "--steps", "4", "--frames", "--out", "w"])
    assert result.exit_code == 0, result.output
    saved = np.load("w/walk.npz")
    assert saved["z"].shape == (1, 12, 8)
    np.testing.assert_array_equal(saved["z"][0, [0, 4, 8]], seeded_latents([1, 5, 9], 8))
    assert len(iio.imread("w/walk.gif", index=None)) == 12
    frames = sorted(Path("w/frames").glob("*.png"))
    assert len(frames) == 12
    assert runner.invoke(app, ["sample", str(run), "--seeds", "5", "--out", "s"]).exit_code == 0
    face = np.load("s/samples.npz")["images"][0]
    tile = tiles(read_image(frames[4]), face.shape[0])[0]
    assert np.abs(tile.astype(int) - face.astype(int)).max() <= 1  # frame 4 is seed 5's face


def test_a_grid_shares_the_keyframes_out_in_order(run):
    result = runner.invoke(app, ["walk", str(run), "--seeds", "0-5", "--cells", "3x1", "--steps", "2", "--out", "g"])
    assert result.exit_code == 0, result.output
    saved = np.load("g/walk.npz")
    assert saved["z"].shape == (3, 4, 8)
    np.testing.assert_array_equal(saved["keyframes"].reshape(6, 8), seeded_latents(range(6), 8))
    frame = iio.imread("g/walk.gif", index=0)
    assert frame.shape[1] > 2.5 * frame.shape[0]  # three tiles side by side


def test_a_walk_from_a_samples_file_uses_its_latents(run):
    assert runner.invoke(app, ["sample", str(run), "--seeds", "3,7", "--out", "s"]).exit_code == 0
    result = runner.invoke(app, ["walk", str(run), "--from", "s/samples.npz", "--steps", "3", "--trunc", "0.5",
                                 "--out", "f"])
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load("f/walk.npz")["keyframes"][0], 0.5 * np.load("s/samples.npz")["z"])


def test_an_mp4_has_every_frame(run):
    pytest.importorskip("imageio_ffmpeg")
    result = runner.invoke(app, ["walk", str(run), "--seeds", "1,2", "--steps", "5", "--format", "mp4",
                                 "--out", "m"])
    assert result.exit_code == 0, result.output
    assert len(iio.imread("m/walk.mp4", index=None, plugin="FFMPEG")) == 10


@pytest.mark.parametrize("args,message", [
    ([], "by --seeds or --from"),
    (["--seeds", "1", "--from", "x.npz"], "by --seeds or --from"),
    (["--seeds", "1"], "at least 2 keyframes per cell"),
    (["--seeds", "0-4", "--cells", "2x1"], "do not divide"),
    (["--seeds", "0-3", "--cells", "2by1"], "--cells takes"),
    (["--seeds", "0-3", "--grid", "2by1"], "--cells takes"),  # its earlier name
    (["--seeds", "0-3", "--steps", "0"], "must be positive"),
    (["--seeds", "0-3", "--label", "1"], "conditional"),
    (["--seeds", "0-3", "--trunc", "-1"], "--trunc must be at least 0"),
])
def test_walk_errors_are_one_line(run, args, message):
    result = runner.invoke(app, ["walk", str(run), *args])
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert len(result.stderr.strip().splitlines()) == 1
