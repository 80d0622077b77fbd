"""`facegan arithmetic`: each term's average latent decoded, and their signed sum."""

import shutil

import imageio.v3 as iio
import keras
import numpy as np
import pytest
from typer.testing import CliRunner

from facegan.analysis.projector import ProjectOptions, project
from facegan.checkpoints import open_generator_source
from facegan.cli import app
from facegan.imaging import read_image, tiles, to_uint8
from facegan.inference import generate, seeded_latents

runner = CliRunner()


@pytest.fixture
def ae_run(trained_runs, tmp_path):
    return shutil.copytree(trained_runs["aegan-v5"], tmp_path / "runs" / "001-aegan-v5")


def write_faces(folder, values):
    folder.mkdir()
    for i, value in enumerate(values):
        iio.imwrite(folder / f"{i}.png", np.full((16, 16, 3), value, np.uint8))


def test_an_autoencoder_decodes_the_average_latent_of_each_term_and_their_sum(ae_run, tmp_path):
    write_faces(tmp_path / "a", [30, 90, 150])
    write_faces(tmp_path / "b", [200, 240])
    result = runner.invoke(app, ["arithmetic", "--plus", str(tmp_path / "a"), "--minus", str(tmp_path / "b"),
                                 "--out", "out"])
    assert result.exit_code == 0, result.output
    saved = np.load("out/arithmetic.npz")
    encoder = keras.saving.load_model(ae_run / "encoder.keras")
    decoder = keras.saving.load_model(ae_run / "generator.keras")
    a = np.stack([read_image(tmp_path / "a" / f"{i}.png") for i in range(3)]).astype(np.float32) / 127.5 - 1
    np.testing.assert_allclose(saved["term_0_latents"], np.asarray(encoder(a)), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(saved["means"][0], np.asarray(encoder(a)).mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(saved["result"], saved["means"][0] - saved["means"][1], rtol=1e-5, atol=1e-6)
    grid = tiles(read_image("out/arithmetic.png"), 16)  # rows of 4: 3 members + mean, 2 members + mean, result
    expected_mean = to_uint8(np.asarray(decoder(saved["means"][:1])))[0]
    assert np.abs(grid[3].astype(int) - expected_mean).max() <= 1
    assert np.abs(grid[-1].astype(int) - saved["result_image"]).max() == 0
    assert "latents from encoder" in result.stdout


def test_samples_terms_use_their_saved_latents(trained_runs, tmp_path):
    run = shutil.copytree(trained_runs["dcgan"], tmp_path / "runs" / "001-dcgan")
    assert runner.invoke(app, ["sample", str(run), "-n", "6", "--out", "s"]).exit_code == 0
    result = runner.invoke(app, ["arithmetic", str(run), "--plus", "s/samples.npz:0,1", "--minus", "s/samples.npz:2",
                                 "--out", "out"])
    assert result.exit_code == 0, result.output
    z = np.load("s/samples.npz")["z"]
    np.testing.assert_allclose(np.load("out/arithmetic.npz")["result"], z[:2].mean(0) - z[2], rtol=1e-6)


def test_projection_on_pixels_alone_reproduces_generated_faces(trained_runs):
    cfg, nets, _ = open_generator_source(trained_runs["dcgan"])
    targets = to_uint8(generate(nets["generator"], np.random.default_rng(5).standard_normal((3, 8)).astype(np.float32),
                                np.zeros(3, np.int32), 0))
    projection = project(nets, cfg, targets, ProjectOptions(steps=150, perceptual=0.0))
    start = to_uint8(generate(nets["generator"], seeded_latents([0] * 3, 8), np.zeros(3, np.int32), 0))

    def l1(images):
        return np.abs(images.astype(int) - targets).mean()

    assert l1(projection.images) < l1(start) / 4


@pytest.mark.parametrize("args,message", [
    (["--plus", "Smiling"], "has no attributes"),
    ([], "at least one --plus or --minus"),
    (["--plus", "nothing.npz:1"], "cannot read images from nothing.npz"),
])
def test_arithmetic_errors(ae_run, args, message):
    result = runner.invoke(app, ["arithmetic", str(ae_run), *args])
    assert result.exit_code == 2 and message in result.stderr


def test_attribute_queries_on_celeba(celeba_2k, tmp_path):
    from facegan.analysis.terms import resolve
    from facegan.data import load_faces
    from facegan.errors import FaceganError

    faces = load_faces(str(celeba_2k), 16, 3)
    term = resolve("Smiling,~Male", 5, 16, 3, lambda: faces)
    assert len(term.images) == 5
    chosen = [i for i in range(2000) if faces.attributes["Smiling"][i] and not faces.attributes["Male"][i]]
    assert all(any(np.array_equal(img, faces.images[i]) for i in chosen) for img in term.images)
    with pytest.raises(FaceganError, match="unknown attribute 'Smiley'"):
        resolve("Smiley", 5, 16, 3, lambda: faces)
