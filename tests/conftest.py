import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow starts before output capture

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from helpers import TINY, working_in, write_faces  # noqa: E402

# a CelebA folder (its images and list_attr_celeba.txt; a few thousand faces will do) for the optional tests
CELEBA = os.environ.get("FACEGAN_TEST_CELEBA")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every test runs in its own directory with its own data cache, and leaves Keras's global precision as it
    found it (a run trained in-process sets it for the process: one in bfloat16 would change the next test's)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACEGAN_CACHE", str(tmp_path / "cache"))
    import keras

    policy = keras.mixed_precision.global_policy()
    yield
    keras.mixed_precision.set_global_policy(policy)


@pytest.fixture
def faces_npz(tmp_path) -> Path:
    return write_faces(tmp_path / "faces.npz")


@pytest.fixture(scope="module")
def module_faces_npz(tmp_path_factory) -> Path:
    """faces_npz, for a module's shared runs."""
    return write_faces(tmp_path_factory.mktemp("faces") / "faces.npz")


@pytest.fixture
def celeba_2k() -> Path:
    if not CELEBA or not (Path(CELEBA) / "list_attr_celeba.txt").exists():
        pytest.skip("set FACEGAN_TEST_CELEBA to a CelebA folder to run this test")
    return Path(CELEBA)


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory) -> dict:
    """Tiny trained runs (dcgan, aegan-v5) on 40 LFW faces at 16x16, shared by the analysis tests."""
    from typer.testing import CliRunner

    from facegan.cli import app

    runs = {}
    with working_in(tmp_path_factory.mktemp("trained")) as root:
        write_faces(root / "faces.npz")
        for model in ("dcgan", "aegan-v5"):
            result = CliRunner().invoke(app, ["train", model, "--data", str(root / "faces.npz"), "--epochs", "2",
                                              "--out", str(root / model), *TINY])
            assert result.exit_code == 0, result.output
            runs[model] = root / model
    return runs


def pytest_configure(config):
    """Two logical CPU devices for the whole session, set before TensorFlow starts, so that mirrored
    runs (--devices 2) can be tested in-process; single-device runs use the first as before."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
