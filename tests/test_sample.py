"""`facegan sample`: images, latents to make them again, ranking by the discriminator, interpolation."""

import shutil

import keras
import numpy as np
import pytest
from typer.testing import CliRunner

from facegan.cli import app
from facegan.imaging import read_image, to_uint8

runner = CliRunner()


@pytest.fixture
def run(trained_runs, tmp_path):
    return shutil.copytree(trained_runs["dcgan"], tmp_path / "runs" / "001-dcgan")


def test_samples_can_be_made_again_from_their_latents(run):
    result = runner.invoke(app, ["sample", "-n", "10", "--seed", "3"])  # the newest run by default
    assert result.exit_code == 0, result.output
    folder = run / "samples" / "sample-001"
    saved = np.load(folder / "samples.npz")
    assert saved["z"].shape == (10, 8) and saved["images"].shape == (10, 16, 16, 1)
    generator = keras.saving.load_model(run / "generator.keras")
    assert np.abs(to_uint8(generator(saved["z"])).astype(int) - saved["images"]).max() <= 1
    assert np.array_equal(read_image(folder / "0003.png"), saved["images"][3])
    assert (folder / "grid.png").exists()
    again = runner.invoke(app, ["sample", str(run), "-n", "10", "--seed", "3", "--no-grid"])
    assert again.exit_code == 0
    second = run / "samples" / "sample-002"
    assert not (second / "grid.png").exists()
    assert np.array_equal(np.load(second / "samples.npz")["images"], saved["images"])


def test_an_image_is_its_seeds_whatever_is_drawn_beside_it(run):
    """`--seeds 42` gives bit for bit the image 42 of `--seeds 40-49`, and of `-n 50`; samples.npz keeps the seeds,
    kept in rank order by --keep-top."""
    for args, out in ((["--seeds", "42"], "one"), (["--seeds", "7,40-49"], "many"), (["-n", "50"], "range"),
                      (["--seeds", "40-49", "--keep-top", "3"], "ranked")):
        result = runner.invoke(app, ["sample", str(run), *args, "--out", out])
        assert result.exit_code == 0, result.output
    one, many, whole, ranked = (np.load(f"{out}/samples.npz") for out in ("one", "many", "range", "ranked"))
    assert list(many["seeds"]) == [7, *range(40, 50)] and list(whole["seeds"]) == list(range(50))
    assert np.array_equal(one["z"][0], many["z"][3]) and np.array_equal(one["z"][0], whole["z"][42])
    assert np.array_equal(one["images"][0], many["images"][3]) and np.array_equal(one["images"][0], whole["images"][42])
    assert not np.array_equal(many["images"][3], many["images"][4])
    assert np.array_equal(ranked["z"], many["z"][1 + ranked["seeds"] - 40])  # each kept latent is its seed's


def test_truncation_pulls_every_latent_toward_the_mean_keeping_its_seed(run):
    for args, out in ((["--seeds", "0-7"], "whole"), (["--seeds", "0-7", "--trunc", "0.5"], "half"),
                      (["--seeds", "0-7", "--trunc", "0.5", "--mean", "0.2"], "shifted")):
        assert runner.invoke(app, ["sample", str(run), *args, "--out", out]).exit_code == 0
    whole, half, shifted = (np.load(f"{out}/samples.npz")["z"] for out in ("whole", "half", "shifted"))
    np.testing.assert_allclose(half, 0.5 * whole, rtol=1e-6)
    np.testing.assert_allclose(shifted, 0.2 + 0.5 * whole, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("text", ["", "4-2", "-3", "a,b", "1,,2", "0-100000", "4294967296"])
def test_seeds_that_name_no_images_are_one_line(run, text):
    result = runner.invoke(app, ["sample", str(run), "--seeds", text])
    assert result.exit_code == 2 and "--seeds takes seeds from 0" in result.stderr


def test_a_numbered_output_folder_is_claimed_when_chosen(tmp_path):
    """Two commands at once (two `sample`s, two `walk`s) each get their own folder: the first to choose a number
    makes its folder there and then, and the next chooses the number after it."""
    from facegan.rundir import next_numbered

    first, second = next_numbered(tmp_path / "samples", "walk"), next_numbered(tmp_path / "samples", "walk")
    assert (first.name, second.name) == ("walk-001", "walk-002") and first.is_dir() and second.is_dir()
    assert next_numbered(tmp_path / "samples", "sample").name == "sample-001"


def test_rank_orders_by_the_discriminator_and_keeps_the_best(run):
    result = runner.invoke(app, ["sample", str(run), "-n", "12", "--keep-top", "5", "--out", "best"])
    assert result.exit_code == 0, result.output
    saved = np.load("best/samples.npz")
    assert len(saved["images"]) == 5 and list(saved["scores"]) == sorted(saved["scores"], reverse=True)
    everything = runner.invoke(app, ["sample", str(run), "-n", "12", "--rank", "--out", "all"])
    assert everything.exit_code == 0
    all_scores = np.load("all/samples.npz")["scores"]
    np.testing.assert_allclose(saved["scores"], all_scores[:5], rtol=1e-5)  # the 5 best of the same 12
    generator = keras.saving.load_model(run / "generator.keras")
    discriminator = keras.saving.load_model(run / "discriminator.keras")
    rescored = np.asarray(discriminator(generator(saved["z"]))).reshape(-1)  # the kept latents, scored again
    np.testing.assert_allclose(rescored, saved["scores"], rtol=1e-4, atol=1e-6)


def test_interpolation_writes_frames_and_a_gif(run):
    result = runner.invoke(app, ["sample", str(run), "-n", "4", "--interpolate", "5", "--out", "walk"])
    assert result.exit_code == 0, result.output
    grid = read_image("walk/interpolation.png")
    assert grid.shape[:2] == (2 * 66 + 2, 5 * 66 + 2)  # 2 pairs, 5 steps each, tiles of 16 px enlarged 4 times
    assert len(__import__("imageio.v3", fromlist=["imread"]).imread("walk/interpolation.gif", index=None)) == 5


def test_an_unfinished_run_samples_from_its_newest_checkpoint(run):
    for name in ("generator", "discriminator"):
        (run / f"{name}.keras").unlink()
    result = runner.invoke(app, ["sample", str(run), "-n", "3", "--out", "ckpt"])
    assert result.exit_code == 0, result.output
    assert np.load("ckpt/samples.npz")["images"].shape == (3, 16, 16, 1)


@pytest.mark.parametrize("args,message", [
    (["-n", "4", "--label", "1"], "not conditional"),
    (["-n", "4", "--keep-top", "9"], "--keep-top between 1 and n"),
    (["-n", "1", "--interpolate", "4"], "needs at least 2"),
    (["-n", "0"], "-n must be positive"),
    (["--seed", "-1"], "--seed must be from 0"),
    (["--seeds", "3", "-n", "4"], "without -n and --seed"),
    (["--trunc", "-0.5"], "--trunc at least 0"),
    (["--std", "0"], "--std must be positive"),
    (["--from", "x.npz", "-n", "4"], "--from takes the latents of a file"),
    (["--from", "x.npz"], "cannot read images from x.npz"),
])
def test_sample_errors(run, args, message):
    result = runner.invoke(app, ["sample", str(run), *args])
    assert result.exit_code == 2 and message in result.stderr


def test_a_samples_file_cut_off_is_one_line(run, tmp_path):
    made = runner.invoke(app, ["sample", str(run), "-n", "4", "--out", str(tmp_path / "made")])
    assert made.exit_code == 0, made.output
    whole = (tmp_path / "made" / "samples.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(whole[:len(whole) // 2])
    for command in (["sample", str(run), "--from"], ["walk", str(run), "--from"], ["nearest", str(run), "--samples"]):
        result = runner.invoke(app, [*command, str(tmp_path / "cut.npz")])
        assert result.exit_code == 2 and "cannot read images from" in result.stderr, (command, result.output)
        assert len(result.stderr.strip().splitlines()) == 1


def test_an_output_folder_that_is_a_file_is_one_line(run, tmp_path):
    (tmp_path / "taken").write_text("a file where the output folder would go")
    result = runner.invoke(app, ["sample", str(run), "-n", "2", "--out", str(tmp_path / "taken")])
    assert result.exit_code == 2 and "File exists" in result.stderr and str(tmp_path / "taken") in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_run_without_generator_or_directory(tmp_path, run):
    shutil.rmtree(run / "checkpoints")
    (run / "generator.keras").unlink()
    result = runner.invoke(app, ["sample", str(run)])
    assert result.exit_code == 2 and "has no generator" in result.stderr
    result = runner.invoke(app, ["sample", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "not a facegan run directory" in result.stderr


def test_no_run_at_all(tmp_path):
    result = runner.invoke(app, ["sample"])
    assert result.exit_code == 2 and "no run directory under ./runs" in result.stderr
