"""`facegan dataset`: a source packed into OUT.npy + OUT.json, read by --data memory-mapped, with no decoding, and
trained on with the same batches as the source."""

import json
from pathlib import Path

import helpers
import numpy as np
import pytest
from typer.testing import CliRunner

from facegan.cli import app
from facegan.data import load_faces

runner = CliRunner()
TINY = [*helpers.TINY, "--channels", "1", "--eval-every", "0", "--epochs", "1"]


def pack(source, out, *options):
    result = runner.invoke(app, ["dataset", str(source), str(out), *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_training_on_the_packed_file_takes_the_same_batches_as_on_the_source(faces_npz, tmp_path):
    printed = pack(faces_npz, tmp_path / "faces.npy", "--image-size", "16", "--channels", "1")
    assert printed["images"] == 40 and printed["resolution"] == [16, 16, 1]
    for data, out in ((faces_npz, "from-source"), (tmp_path / "faces.npy", "from-packed")):
        result = runner.invoke(app, ["train", "cgan", "--data", str(data), *TINY, "--out", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
    source, packed = (json.loads((tmp_path / run / "config.json").read_text())["data"]
                      for run in ("from-source", "from-packed"))
    assert source["sha256"] == packed["sha256"] == printed["sha256"]
    logs = [(tmp_path / run / "metrics.csv").read_text() for run in ("from-source", "from-packed")]
    assert logs[0] == logs[1]


def test_the_packed_file_is_read_memory_mapped_with_no_decoding(faces_npz, tmp_path):
    pack(faces_npz, tmp_path / "faces.npy", "--image-size", "16", "--channels", "1")
    for entry in (tmp_path / "cache").iterdir():
        entry.unlink()
    faces = load_faces(str(tmp_path / "faces.npy"), 16, 1)
    assert isinstance(faces.images, np.memmap) and Path(faces.images.filename) == tmp_path / "faces.npy"
    assert not list((tmp_path / "cache").iterdir())  # nothing decoded, nothing cached
    assert np.array_equal(faces.labels, np.arange(40) % 2)


@pytest.mark.parametrize("options,message", [
    (["--image-size", "32"], "holds 16x16x1 images: train with --image-size 16 --channels 1"),
    (["--max-images", "10"], "is used whole: pack it with --max-images 10"),
    (["--split", "test"], "holds the all split, not test")])
def test_a_packed_file_is_used_whole_at_its_own_size(faces_npz, tmp_path, options, message):
    pack(faces_npz, tmp_path / "faces.npy", "--image-size", "16", "--channels", "1")
    base = {"--image-size": "16", "--channels": "1"}
    base.update(dict(zip(options[::2], options[1::2])))
    result = runner.invoke(app, ["train", "dcgan", "--data", str(tmp_path / "faces.npy"), "--dry-run",
                                 *[part for item in base.items() for part in item]])
    assert result.exit_code == 2 and message in result.stderr


def test_out_must_be_a_new_npy(faces_npz, tmp_path):
    (tmp_path / "taken.npy").write_bytes(b"mine")
    result = runner.invoke(app, ["dataset", str(faces_npz), str(tmp_path / "taken.npy")])
    assert result.exit_code == 2 and "is not a packed data set" in result.stderr
    assert (tmp_path / "taken.npy").read_bytes() == b"mine"
    result = runner.invoke(app, ["dataset", str(faces_npz), str(tmp_path / "out.npz")])
    assert result.exit_code == 2 and "is a .npy file" in result.stderr


def test_celeba_attributes_travel_with_the_packed_file(celeba_2k, tmp_path):
    pack(celeba_2k, tmp_path / "celeba.npy", "--image-size", "16", "--max-images", "300")
    folder = load_faces(str(celeba_2k), 16, 3, max_images=300)
    packed = load_faces(str(tmp_path / "celeba.npy"), 16, 3)
    assert packed.names == folder.names and packed.digest == folder.digest
    assert list(packed.attributes) == list(folder.attributes)
    assert all(np.array_equal(packed.attributes[k], folder.attributes[k]) for k in folder.attributes)
    assert np.array_equal(packed.images, folder.images)


def test_a_pack_killed_mid_write_leaves_no_packed_file_and_the_next_removes_its_partial(faces_npz, tmp_path):
    """A kill while the images are copied leaves only .OUT.PID.partial.npy (no OUT.npy that looks whole); the next
    pack to the same OUT, its writer gone, deletes it."""
    abandoned = tmp_path / ".faces.999999999.partial.npy"  # no process has this pid
    abandoned.write_bytes(b"\x93NUMPY half")
    pack(faces_npz, tmp_path / "faces.npy", "--image-size", "16", "--channels", "1")
    assert not abandoned.exists()
    assert sorted(p.name for p in tmp_path.glob("*faces*")) == ["faces.json", "faces.npy", "faces.npz"]
