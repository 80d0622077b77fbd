"""Reference statistics: `facegan eval SOURCE --save-stats FILE` writes pytorch-fid's mu and sigma with facegan's
record of how they were made, and the file stands in for its images wherever eval takes a real set."""

import json
import shutil

import numpy as np
import pytest
from test_fid_inception import installed_weights
from typer.testing import CliRunner

from facegan.cli import app

runner = CliRunner()


@pytest.fixture
def folders(tmp_path):
    from skimage.data import lfw_subset

    from facegan.imaging import write_png

    faces = (lfw_subset()[:40] * 255).astype(np.uint8)
    for name, images in (("a", faces[:20]), ("b", faces[20:])):
        for i, image in enumerate(images):
            write_png(tmp_path / name / f"{i}.png", image[..., None])
    return tmp_path / "a", tmp_path / "b"


def fid_of(*args: str) -> dict:
    result = runner.invoke(app, ["eval", *args, "--metric", "fid", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.slow
def test_fid_against_saved_statistics_is_fid_against_their_images(folders, tmp_path):
    installed_weights()
    a, b = map(str, folders)
    saved = runner.invoke(app, ["eval", a, "--save-stats", "ref.npz"])
    assert saved.exit_code == 0, saved.output
    with np.load(tmp_path / "ref.npz") as stats:  # as pytorch-fid reads a statistics file
        mu, sigma = stats["mu"][:], stats["sigma"][:]
        record = json.loads(str(stats["facegan"]))
    assert mu.shape == (2048,) and sigma.shape == (2048, 2048) and np.allclose(sigma, sigma.T)
    assert record["images"] == 20 and record["resolution"] == 25 and record["source"] == a
    images = fid_of(a, b)["fid"]
    assert images > 1
    assert fid_of("ref.npz", b)["fid"] == pytest.approx(images, rel=1e-6)
    assert fid_of(b, "ref.npz")["fid"] == pytest.approx(images, rel=1e-6)
    assert abs(fid_of("ref.npz", "ref.npz")["fid"]) < 1e-3  # as a folder against itself: rounding, no more


@pytest.mark.slow
def test_a_run_against_statistics_is_its_samples_against_them(trained_runs, faces_npz, tmp_path):
    """`eval RUN --data ref.npz -n 16` measures the samples of seeds 0 to 15: `sample RUN -n 16`'s images."""
    installed_weights()
    run = shutil.copytree(trained_runs["dcgan"], tmp_path / "run")
    size = str(json.loads((run / "config.json").read_text())["config"]["image_size"])
    assert runner.invoke(app, ["eval", str(faces_npz), "--image-size", size, "--save-stats", "ref.npz"]).exit_code == 0
    measured = fid_of(str(run), "--data", "ref.npz", "-n", "16")
    assert measured["settings"]["images"] == 16 and measured["settings"]["generated"] == "samples"
    assert json.loads((run / "eval.json").read_text())["fid"] == measured["fid"]
    assert runner.invoke(app, ["sample", str(run), "-n", "16", "--out", "s"]).exit_code == 0
    assert fid_of("ref.npz", "s/samples.npz")["fid"] == pytest.approx(measured["fid"], rel=1e-6)


def test_statistics_files_their_options_and_empty_sources_are_one_line(trained_runs, folders, tmp_path):
    installed_weights()
    a, b = map(str, folders)
    np.savez(tmp_path / "small.npz", mu=np.zeros(3), sigma=np.eye(3))
    np.savez(tmp_path / "nan.npz", mu=np.full(2048, np.nan), sigma=np.eye(2048))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "small.npz").read_bytes()[:100])
    (tmp_path / "empty").mkdir()
    for args, message in (
            ([str(trained_runs["dcgan"]), "--save-stats", "x.npz"], "is a run or statistics"),
            ([a, b, "--save-stats", "x.npz"], "one source of real images"),
            ([a, "--save-stats", "x.npz", "--best"], "for a run"),
            (["small.npz", b, "--metric", "fid"], "is not FID statistics"),
            (["small.npz", b, "--metric", "kid"], "gives FID, not KID"),
            ([str(trained_runs["dcgan"]), "--data", "small.npz", "--metric", "fid"], "is not FID statistics"),
            ([str(trained_runs["dcgan"]), "--data", "nan.npz"], "must be finite floats"),
            (["cut.npz", b, "--metric", "fid"], "cannot read"),  # a cut archive is no statistics, nor images
            ([a, "--save-stats", str(tmp_path / "small.npz" / "in-a-file.npz")], "cannot write"),
            (["empty", b, "--metric", "swd"], "has no usable image"),
            (["empty", "--save-stats", "x.npz"], "has no usable image")):
        result = runner.invoke(app, ["eval", *args])
        assert result.exit_code == 2 and message in result.stderr, (args, result.output)
        assert len(result.stderr.strip().splitlines()) == 1
