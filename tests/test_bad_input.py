"""Bad input: every image mode a user meets is read the same way; what cannot be a face is refused in one
line (FaceganError, exit 2) before anything is written, never trained on."""

import re

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from facegan.cli import app
from facegan.data import load_faces
from facegan.errors import FaceganError
from facegan.imaging import read_image

runner = CliRunner()
GRAY_32 = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (32, 1))  # a horizontal ramp, 32x32


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "1"])
def test_every_mode_reads_as_uint8_gray_or_rgb_with_alpha_dropped(tmp_path, mode):
    path = tmp_path / f"face.{'tif' if mode == 'CMYK' else 'png'}"
    image = Image.fromarray(GRAY_32).convert("RGB").convert(mode) if mode != "I;16" else \
        Image.fromarray(GRAY_32.astype(np.uint16) * 257)
    image.save(path)
    array = read_image(path)
    assert array.dtype == np.uint8 and array.shape[:2] == (32, 32) and array.shape[2] in (1, 3)
    if mode not in ("P", "1", "CMYK"):  # palettes, 1-bit and CMYK round the ramp
        np.testing.assert_allclose(array[..., 0], GRAY_32, atol=1)


def test_a_gray_alpha_png_among_rgb_images_trains_with_its_alpha_dropped(tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((32, 32, 3), 60 * i, np.uint8)).save(folder / f"{i}.png")
    Image.fromarray(np.dstack([GRAY_32, np.zeros_like(GRAY_32)]), "LA").save(folder / "gray_alpha.png")
    faces = load_faces(str(folder), 16, 3)
    assert len(faces.images) == 4 and faces.skipped == {}


def test_the_exif_orientation_is_applied(tmp_path):
    image = Image.fromarray(np.dstack([GRAY_32] * 3))  # dark on the left
    exif = Image.Exif()
    exif[0x0112] = 3  # rotated 180 degrees
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    upright = read_image(tmp_path / "rotated.jpg")
    assert upright[:, :4].mean() > upright[:, -4:].mean() + 100  # now dark on the right


def test_tiny_and_broken_files_are_skipped_and_counted_by_reason(tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    Image.fromarray(np.dstack([GRAY_32] * 3)).save(folder / "face.png")
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(folder / "dot.png")
    Image.fromarray(np.zeros((40, 8), np.uint8)).save(folder / "sliver.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    good = folder / "face.png"
    (folder / "truncated.png").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    faces = load_faces(str(folder), 32, 3)
    assert faces.names == ["face.png"]
    assert faces.skipped == {"undecodable": 2, "smaller than 16 px": 2}


@pytest.mark.parametrize("array,refusal", [
    (np.full((10, 32, 32), np.nan, np.float32), "NaN or infinite"),
    (np.full((10, 32, 32), 1e6, np.float64), r"must lie in \[0, 1\] or \[-1, 1\]; these range from 1e\+06"),
    (np.full((10, 32, 32), -5, np.int16), "images of type int16 have no known range"),
    (np.zeros((10, 4, 4), np.uint8), "images of 4x4 px are smaller than 16 px"),
    (np.zeros((10, 32, 32, 7), np.uint8), "C 1 to 4"),
    (np.zeros((0, 32, 32), np.uint8), "got \\(0, 32, 32\\)"),
])
def test_arrays_that_cannot_be_faces_are_refused_in_one_line_and_nothing_written(tmp_path, array, refusal):
    np.save(tmp_path / "bad.npy", array)
    result = runner.invoke(app, ["train", "dcgan", "--data", str(tmp_path / "bad.npy"), "--image-size", "16",
                                 "--epochs", "1", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and len(result.output.strip().splitlines()) == 1
    assert re.search(refusal, result.output)
    assert not (tmp_path / "run").exists()
    assert not list((tmp_path / "cache").glob("*.npy"))


def test_an_npz_of_pickled_objects_is_refused_in_one_line(tmp_path):
    np.savez(tmp_path / "objects.npz", images=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(FaceganError, match="cannot read .*objects.npz: Object arrays cannot be loaded"):
        load_faces(str(tmp_path / "objects.npz"), 16, 1)


@pytest.mark.parametrize("compress", [np.savez, np.savez_compressed])
@pytest.mark.parametrize("keep", [0.1, 0.6, 0.95])
def test_a_cut_npz_is_refused_in_one_line(tmp_path, compress, keep):
    whole = tmp_path / "whole.npz"
    compress(whole, images=np.random.default_rng(0).integers(0, 256, (20, 16, 16), np.uint8))
    cut = tmp_path / "cut.npz"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * keep)])
    with pytest.raises(FaceganError, match="cannot read .*cut.npz"):
        load_faces(str(cut), 16, 1)


@pytest.mark.parametrize("dtype,low,high", [(np.float32, -1.0, 1.0), (np.float64, 0.0, 1.0), (np.uint16, 0, 65535)])
def test_valid_arrays_map_by_their_range(tmp_path, dtype, low, high):
    ramp = np.linspace(low, high, 32).astype(dtype)
    np.save(tmp_path / "ok.npy", np.tile(ramp, (3, 32, 1)))
    faces = load_faces(str(tmp_path / "ok.npy"), 32, 1)
    assert faces.images[0, 0, 0, 0] == 0 and faces.images[0, 0, -1, 0] == 255
