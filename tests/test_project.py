"""`facegan project`: photos projected into a generator's latent space, what other commands do with the latents,
and the memorization test beside `nearest --space inception`."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers import TINY, tiny_config, working_in, write_faces
from test_fid_inception import installed_weights
from typer.testing import CliRunner

from facegan.analysis.project import separation
from facegan.analysis.projector import learning_rate
from facegan.cli import app
from facegan.data import load_faces, load_training_faces, load_unseen_faces, unseen_from
from facegan.imaging import read_image, tiles, write_png

runner = CliRunner()


@pytest.fixture
def run(trained_runs, tmp_path):
    return shutil.copytree(trained_runs["dcgan"], tmp_path / "run")


def four_faces_many_times(root):
    """A CelebA-style folder whose train split is 4 faces, each 32 times, and whose valid split is 32 other faces."""
    import imageio.v3 as iio
    from skimage.data import lfw_subset

    faces = (lfw_subset()[:36] * 255).astype(np.uint8)
    rows = [(faces[i % 4], 0) for i in range(128)] + [(face, 1) for face in faces[4:]]
    (root / "celeba" / "images").mkdir(parents=True)
    names = [f"{i + 1:06d}.png" for i in range(len(rows))]
    for name, (face, _) in zip(names, rows):
        iio.imwrite(root / "celeba" / "images" / name, face)
    (root / "celeba" / "list_attr_celeba.txt").write_text(
        f"{len(rows)}\nSmiling\n" + "".join(f"{name} -1\n" for name in names))
    (root / "celeba" / "list_eval_partition.txt").write_text(
        "".join(f"{name} {part}\n" for name, (_, part) in zip(names, rows)))
    return root / "celeba"


@pytest.fixture(scope="module")
def runs_on_four_faces(tmp_path_factory):
    """Two runs on `four_faces_many_times`, which never see its valid split: one deliberately trained to memorize
    (100 epochs, 1,600 steps, at a high learning rate), one stopped after its first epoch."""
    with working_in(tmp_path_factory.mktemp("four")) as root:
        data = four_faces_many_times(root)
        for name, epochs in (("memorized", "100"), ("barely-trained", "1")):
            result = runner.invoke(app, ["train", "dcgan", "--data", str(data), "--split", "train", "--channels",
                                         "1", "--lr", "0.002", "--epochs", epochs, "--sample-every", "0",
                                         "--out", str(root / name), *TINY])
            assert result.exit_code == 0, result.output
        yield root


def test_the_learning_rate_ramps_up_then_down():
    rates = [learning_rate(step, 100, 0.1) for step in range(100)]
    assert rates[0] < 0.1 / 4 and max(rates) == pytest.approx(0.1) and rates[-1] < 0.1 / 100
    assert rates.index(max(rates)) < 75 <= len(rates) - rates[::-1].index(max(rates))


def test_separation_flags_distances_apart_and_not_the_same_distances_shuffled():
    rng = np.random.default_rng(0)
    apart = separation(rng.uniform(0, 0.1, 8), rng.uniform(0.2, 0.3, 8), seed=0)
    assert apart["nearer_share"] == 1 and apart["memorized"] and apart["p_value"] < 0.01
    values = rng.uniform(0, 1, 16)
    alike = separation(values[::2], values[1::2], seed=0)
    assert 0.2 < alike["nearer_share"] < 0.8 and not alike["memorized"] and alike["p_value"] > 0.01
    assert 0.5 < alike["threshold"] < 1 and alike["threshold"] == apart["threshold"]  # the same group sizes


def test_a_generated_face_is_projected_back_and_its_latents_serve_sample_walk_and_arithmetic(run, tmp_path):
    installed_weights()
    made = runner.invoke(app, ["sample", str(run), "--seeds", "100,101", "--out", "made"])
    assert made.exit_code == 0, made.output
    write_png(tmp_path / "a.png", read_image(tmp_path / "made" / "0000.png"))
    result = runner.invoke(app, ["project", str(run), "a.png", "made/0001.png", "--steps", "60", "--starts", "4",
                                 "--gif", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    folder = tmp_path / "run" / "samples" / "project-001"
    assert record["folder"] == str(folder) and record["photos"] == 2
    saved = np.load(folder / "projected.npz")
    assert saved["z"].shape == (2, 8) and list(saved["names"]) == ["a.png", "made/0001.png"]
    drawn = np.load(tmp_path / "made" / "samples.npz")["images"]
    np.testing.assert_array_equal(saved["photos"], drawn)
    assert saved["l1"].max() < 0.1 and saved["l1"].max() == pytest.approx(record["l1"]["max"])
    others = runner.invoke(app, ["sample", str(run), "-n", "32", "--seed", "200", "--out", "others"])
    assert others.exit_code == 0, others.output
    random_l1 = np.abs(np.load("others/samples.npz")["images"][None].astype(int) - drawn[:, None]).mean((2, 3, 4))
    assert (saved["l1"] < random_l1.min(1) / 127.5).all()  # nearer than any of 32 other samples
    shown = tiles(read_image(folder / "projected.png"), 16)
    np.testing.assert_array_equal(shown[[0, 2]], drawn)  # each photo, then its projection
    np.testing.assert_array_equal(shown[[1, 3]], saved["images"])
    assert (folder / "projection.gif").is_file()

    again = runner.invoke(app, ["sample", str(run), "--from", str(folder / "projected.npz"), "--out", "again"])
    assert again.exit_code == 0, again.output
    np.testing.assert_array_equal(np.load("again/samples.npz")["images"], saved["images"])
    walk = runner.invoke(app, ["walk", str(run), "--from", str(folder / "projected.npz"), "--steps", "3",
                               "--out", "walk"])
    assert walk.exit_code == 0, walk.output
    np.testing.assert_array_equal(np.load("walk/walk.npz")["keyframes"][0], saved["z"])
    sums = runner.invoke(app, ["arithmetic", str(run), "--plus", f"{folder / 'projected.npz'}:0", "--json"])
    assert sums.exit_code == 0 and json.loads(sums.stdout)["terms"][0]["latent_from"] == "saved"


def test_the_faces_a_max_images_subset_left_out_are_the_unseen_ones(tmp_path):
    data = write_faces(tmp_path / "faces.npz")
    cfg = tiny_config("dcgan", data=str(data), channels=1, max_images=8)
    trained = load_training_faces(cfg)
    unseen = load_unseen_faces(cfg, trained)
    assert len(trained.names) == 8 and len(unseen.names) == 32 and not set(trained.names) & set(unseen.names)
    every = load_faces(str(data), 16, 1)
    np.testing.assert_array_equal(unseen.images, every.images[[every.names.index(n) for n in unseen.names]])
    assert unseen_from(unseen) == "images its --max-images subset left out"
    everything = replace(cfg, max_images=None)
    assert load_unseen_faces(everything, load_training_faces(everything)) is None


@pytest.mark.parametrize("arguments, message", [
    ([], "give the photos to project, or --memorization N"),
    (["x.png", "--memorization", "4"], "give the photos to project, or --memorization N"),
    (["missing.png"], "missing.png"),
    (["--memorization", "4"], "the memorization test needs faces it never saw"),
    (["x.png", "--steps", "0"], "--steps and -n must be positive"),
    (["photo.png", "--starts", "0"], "dcgan has no encoder to start from"),
    (["notes.txt"], "notes.txt is neither an image file"),
    (["photo.png", "--out", "taken", "--steps", "1", "--perceptual", "0"], "File exists"),
])
def test_bad_input_is_one_line(run, arguments, message):
    Path("notes.txt").write_text("not a photo")
    Path("taken").write_text("a file where the output folder would go")
    write_png(Path("photo.png"), np.full((16, 16, 1), 128, np.uint8))
    result = runner.invoke(app, ["project", str(run), *arguments])
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow  # trains a memorizing run (1,600 steps), then projects and searches
@pytest.mark.parametrize("run_name, flagged", [("memorized", True), ("barely-trained", False)])
def test_a_run_that_memorized_is_flagged_by_projection_and_by_inception_neighbours(runs_on_four_faces, run_name,
                                                                                    flagged):
    installed_weights()
    run = runs_on_four_faces / run_name
    result = runner.invoke(app, ["project", str(run), "--memorization", "8", "--steps", "60", "--perceptual", "0",
                                 "--json"])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["memorized"] == flagged and (verdict["l1"]["p_value"] < 0.01) == flagged, verdict
    assert verdict["settings"]["unseen_from"] == "valid split"
    assert (verdict["trained"]["l1"]["median"] < verdict["unseen"]["l1"]["median"] / 2) == flagged
    copies = runner.invoke(app, ["nearest", str(run), "--space", "inception", "-n", "32", "--json"])
    assert copies.exit_code == 0, copies.output
    summary = json.loads(copies.stdout)
    assert summary["settings"]["metric"] == "inception" and summary["settings"]["held_out_images"] == 32
    assert (summary["copy_rate"] > 0.5) == flagged, summary
    assert flagged or summary["copy_rate"] < 0.1, summary


def test_the_inception_space_sees_through_a_shift_the_pixel_space_does_not(run, tmp_path):
    installed_weights()
    faces = np.load(json.loads((run / "config.json").read_text())["config"]["data"])["images"][..., None]
    shifted = np.roll(faces[[3, 11, 25]], 2, axis=2)
    np.savez(tmp_path / "shifted.npz", images=shifted)
    found = {}
    for space in ("pixels", "inception"):
        result = runner.invoke(app, ["nearest", str(run), "--samples", "shifted.npz", "--space", space, "--json"])
        assert result.exit_code == 0, result.output
        found[space] = json.loads(result.stdout)["copy_rate"]
    assert found == {"pixels": 0, "inception": 1}
