"""Taking a model elsewhere: a SavedModel served without facegan, a bare generator.keras that sample and
arithmetic take, and --init, which starts a new run from another run's weights."""

import subprocess
import sys

import helpers
import keras
import numpy as np
import pytest
import tensorflow as tf
from typer.testing import CliRunner

from facegan import imaging
from facegan.cli import app

TINY = [*helpers.TINY, "--eval-every", "0"]
runner = CliRunner()


@pytest.fixture
def run(faces_npz, tmp_path):
    path = tmp_path / "run"
    result = runner.invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "2", "--out", str(path),
                                 *TINY])
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.slow
def test_a_saved_model_serves_the_generators_images_without_facegan(run, tmp_path):
    result = runner.invoke(app, ["export", str(run)])
    assert result.exit_code == 0, result.output
    exported = run / "export" / "saved_model"
    assert result.stdout.strip() == str(exported)
    z = np.random.default_rng(1).standard_normal((5, 8)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    serve = ("import sys, numpy as np, tensorflow as tf; "
             f"model = tf.saved_model.load({str(exported)!r}); "
             f"images = model.signatures['serving_default'](z=tf.constant(np.load({str(tmp_path / 'z.npy')!r})))"
             "['images'].numpy(); "
             f"np.save({str(tmp_path / 'served.npy')!r}, images); "
             "assert not any(m.startswith('facegan') for m in sys.modules), 'imported facegan'")
    served = subprocess.run([sys.executable, "-c", serve], capture_output=True, text=True)
    assert served.returncode == 0, served.stderr[-2000:]
    images = np.load(tmp_path / "served.npy")
    expected = imaging.to_uint8(keras.saving.load_model(run / "generator.keras")(z))
    assert images.dtype == np.uint8 and images.shape == (5, 16, 16, 1)
    assert np.abs(images.astype(int) - expected.astype(int)).max() <= 1


def test_sample_and_arithmetic_take_a_bare_generator_keras_file(run, tmp_path):
    result = runner.invoke(app, ["export", str(run), "--format", "keras", "--out", str(tmp_path / "g.keras")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["sample", str(tmp_path / "g.keras"), "-n", "6", "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    saved = np.load(tmp_path / "s" / "samples.npz")
    assert saved["images"].shape == (6, 16, 16, 1) and saved["z"].shape == (6, 8)
    result = runner.invoke(app, ["arithmetic", str(tmp_path / "g.keras"), "--plus", f"{tmp_path}/s/samples.npz:0,1",
                                 "--minus", f"{tmp_path}/s/samples.npz:2"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "arithmetic" / "arithmetic.png").exists()
    result = runner.invoke(app, ["arithmetic", str(tmp_path / "g.keras"), "--plus", "Smiling"])
    assert result.exit_code == 2 and "attribute queries need a run directory" in result.output


@pytest.mark.slow
def test_init_starts_a_new_run_from_another_runs_weights(run, faces_npz, tmp_path):
    tuned = tmp_path / "tuned"
    result = runner.invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "1", "--out", str(tuned),
                                 "--init", str(run), "--lr", "1e-5", *TINY])
    assert result.exit_code == 0, result.output
    start = tf.train.load_checkpoint(str(tuned / "checkpoints" / "ckpt-0"))  # before its first step
    source = keras.saving.load_model(run / "generator.keras")
    trained = [start.get_tensor(f"g_optimizer/_trainable_variables/{i}/.ATTRIBUTES/VARIABLE_VALUE")
               for i in range(len(source.trainable_weights))]  # the generator's weights, as its optimizer holds them
    for ours, theirs in zip(trained, source.trainable_weights):
        np.testing.assert_array_equal(ours, theirs.numpy())


def test_init_refuses_a_run_of_another_architecture_and_writes_nothing(run, faces_npz, tmp_path):
    result = runner.invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "1", "--out",
                                 str(tmp_path / "other"), "--init", str(run), *TINY[2:], "--image-size", "32"])
    assert result.exit_code == 2, result.output
    assert "its image_size is 16, this run's 32; give --image-size 16" in result.output
    assert not (tmp_path / "other").exists()
