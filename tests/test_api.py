"""The Python API: facegan.load(run) -> sample / encode / reconstruct / config, and facegan.train."""

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import facegan
from facegan.cli import app
from facegan.errors import FaceganError


def test_sample_gives_the_images_of_facegan_sample(trained_runs, tmp_path):
    model = facegan.load(trained_runs["dcgan"])
    faces = model.sample(16, seed=0)
    result = CliRunner().invoke(app, ["sample", str(trained_runs["dcgan"]), "-n", "16", "--seed", "0", "--out",
                                      str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    assert faces.dtype == np.uint8 and faces.shape == (16, 16, 16, 1)
    assert np.array_equal(faces, np.load(tmp_path / "cli" / "samples.npz")["images"])
    assert model.config.model == "dcgan" and "dcgan" in repr(model)


def test_an_autoencoder_encodes_and_reconstructs(trained_runs):
    model = facegan.load(trained_runs["aegan-v5"])
    images = model.sample(4, seed=1)
    latents = model.encode(images)
    assert latents.shape == (4, model.config.latent_dim) and latents.dtype == np.float32
    again = model.reconstruct(images)
    assert again.shape == images.shape and again.dtype == np.uint8
    assert np.array_equal(model.encode(images.astype(np.float32) / 127.5 - 1.0), latents)  # floats in [-1, 1] too
    with pytest.raises(FaceganError, match="must be"):
        model.encode(np.zeros((2, 8, 8, 1), np.uint8))
    with pytest.raises(FaceganError, match="has no encoder"):
        facegan.load(trained_runs["dcgan"]).encode(images)


@pytest.mark.slow
def test_train_makes_a_run_and_resumes_it(faces_npz, tmp_path):
    run = facegan.train("vae", data=str(faces_npz), image_size=16, latent_dim=8, batch_size=8,
                        precision="float32", epochs=1, out=tmp_path / "run")
    assert (run / "generator.keras").is_file()
    assert facegan.train(resume=run, epochs=2) == run
    assert json.loads((run / "summary.json").read_text())["epochs"] == 2
    with pytest.raises(FaceganError, match="not both"):
        facegan.train("vae", resume=run)


def test_importing_facegan_does_not_import_tensorflow():
    code = "import sys, facegan; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
