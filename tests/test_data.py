"""Data sources: lfw, image folders, CelebA folders, arrays; the cache; bad input."""

import json
import subprocess
import sys
import time

import imageio.v3 as iio
import numpy as np
import pytest

from facegan.data import load_faces
from facegan.data.celeba import read_celeba_attributes
from facegan.errors import FaceganError
from facegan.imaging import fit_image


def test_lfw_is_the_100_embedded_faces_at_the_model_size():
    faces = load_faces("lfw", 32, 3)
    assert faces.images.shape == (100, 32, 32, 3) and faces.images.dtype == np.uint8
    assert np.array_equal(faces.images[..., 0], faces.images[..., 2])  # gray faces, repeated to RGB
    assert faces.skipped == {} and faces.attributes is None


def test_fit_image_crops_the_center_square_and_converts_channels():
    image = np.zeros((30, 10, 3), np.uint8)
    image[10:20] = [255, 0, 0]  # the center square is pure red
    gray = fit_image(image, 10, 1)
    assert gray.shape == (10, 10, 1)
    assert np.all(gray == round(0.299 * 255))
    rgba = np.dstack([np.full((8, 8, 3), 200, np.uint8), np.zeros((8, 8), np.uint8)])
    assert np.all(fit_image(rgba, 8, 3) == 200)  # alpha dropped


def test_folder_is_read_recursively_and_undecodable_files_are_counted(tmp_path):
    folder = tmp_path / "faces"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    iio.imwrite(folder / "a.png", rng.integers(0, 255, (40, 30, 3), np.uint8))
    iio.imwrite(folder / "sub" / "b.jpg", rng.integers(0, 255, (20, 20), np.uint8))
    iio.imwrite(folder / "c.bmp", rng.integers(0, 255, (20, 20, 4), np.uint8))
    (folder / "broken.png").write_bytes(b"not a png")
    (folder / "notes.txt").write_text("ignored")
    faces = load_faces(str(folder), 16, 1)
    assert faces.images.shape == (3, 16, 16, 1)
    assert faces.skipped == {"undecodable": 1}
    assert sorted(faces.names) == ["a.png", "c.bmp", "sub/b.jpg"]


def test_decoded_images_are_cached_as_npy(tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    iio.imwrite(folder / "a.png", np.full((20, 20), 77, np.uint8))
    first = load_faces(str(folder), 8, 1)
    cached = list((tmp_path / "cache").glob("*.npy"))
    assert len(cached) == 1 and np.array_equal(np.load(cached[0]), first.images)
    np.save(cached[0], np.full_like(first.images, 3))  # a second load reads the cache, not the file
    assert np.all(load_faces(str(folder), 8, 1).images == 3)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    load_faces(str(folder), 16, 1)  # another size is another cache entry
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2



@pytest.mark.slow
def test_two_trainings_started_together_on_a_new_folder_leave_one_whole_cache_entry(tmp_path):
    """Each process decodes into a partial file of its own (named by its pid) and renames it whole into place, so
    neither ever reads a half-written entry. The two start together; the partial files seen while they ran are
    reported, and usually both processes decode."""
    folder = tmp_path / "faces"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(1500):
        iio.imwrite(folder / f"{i:05d}.png", rng.integers(0, 256, (40, 40, 3), np.uint8))
    processes = [subprocess.Popen([sys.executable, "-m", "facegan", "train", "vae", "--data", str(folder),
                                   "--image-size", "16", "--channels", "3", "--epochs", "1",
                                   "--batch-size", "32", "--eval-every", "0", "--out", str(tmp_path / f"run{n}")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for n in range(2)]
    decoders = set()
    while any(p.poll() is None for p in processes):
        decoders |= {path.name.split(".")[2] for path in (tmp_path / "cache").glob(".*.partial.npy")}
        time.sleep(0.01)
    assert [p.wait() for p in processes] == [0, 0], [p.stderr.read() for p in processes]
    entries = sorted(path.name for path in (tmp_path / "cache").iterdir())
    assert len(entries) == 2 and entries[0].endswith(".json") and entries[1].endswith(".npy"), (entries, decoders)
    cached = np.load(tmp_path / "cache" / entries[1])
    assert cached.shape == (1500, 16, 16, 3)
    assert np.array_equal(cached, load_faces(str(folder), 16, 3).images)
    digests = {json.loads((tmp_path / f"run{n}" / "config.json").read_text())["data"]["sha256"] for n in range(2)}
    assert len(digests) == 1

def make_celeba(root, rows, subfolder="images", newline="\r\n"):
    (root / subfolder).mkdir(parents=True)
    names = ["Male", "Smiling"]
    lines = [str(len(rows)), " ".join(names)]
    for i, (male, smiling) in enumerate(rows):
        name = f"{i + 1:06d}.jpg"
        iio.imwrite(root / subfolder / name, np.full((109, 89, 3), 40 * i, np.uint8))
        lines.append(f"{name} {male:2d} {smiling:2d}")
    (root / "list_attr_celeba.txt").write_text(newline.join(lines) + newline)


@pytest.mark.parametrize("subfolder,newline", [("images", "\r\n"), ("img_align_celeba", "\n"), (".", "\n")])
def test_celeba_folder_gives_attributes_as_labels(tmp_path, subfolder, newline):
    make_celeba(tmp_path / "celeba", [(1, 1), (-1, 1), (1, -1)], subfolder, newline)
    faces = load_faces(str(tmp_path / "celeba"), 16, 3)
    assert faces.images.shape == (3, 16, 16, 3)
    assert faces.attributes["Smiling"].tolist() == [True, True, False]
    assert faces.class_labels("Male").tolist() == [1, 0, 1]
    with pytest.raises(FaceganError, match="unknown attribute 'Glasses'"):
        faces.class_labels("Glasses")


def test_celeba_attribute_file_of_the_official_format(celeba_2k):
    files, attributes, values = read_celeba_attributes(celeba_2k / "list_attr_celeba.txt")
    assert len(files) == 2000 and len(attributes) == 40 and values.shape == (2000, 40)
    assert "Smiling" in attributes and files[0] == "000001.jpg"


def test_arrays_uint8_and_float_with_labels(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 12, 12), np.uint8)
    np.savez(tmp_path / "a.npz", images=images, labels=np.array([0, 1, 2, 1, 0]))
    faces = load_faces(str(tmp_path / "a.npz"), 12, 1)
    assert np.array_equal(faces.images[..., 0], images)
    assert faces.class_labels(None).tolist() == [0, 1, 2, 1, 0]
    np.save(tmp_path / "f.npy", images[..., None] / 127.5 - 1.0)  # floats in [-1, 1]
    assert np.abs(load_faces(str(tmp_path / "f.npy"), 12, 1).images[..., 0].astype(int) - images).max() <= 1


@pytest.mark.parametrize("make,message", [
    (lambda p: p.mkdir(), "no usable image"),
    (lambda p: None, "neither 'lfw'"),
    (lambda p: np.save(p.with_suffix(".npy"), np.zeros((3, 4))), "expected images of shape"),
])
def test_bad_sources_are_clear_errors(tmp_path, make, message):
    path = tmp_path / "source"
    make(path)
    source = str(path.with_suffix(".npy")) if message.startswith("expected") else str(path)
    with pytest.raises(FaceganError, match=message):
        load_faces(source, 16, 1)


def test_the_kaggle_celeba_layout_is_read_with_its_attributes_and_partition(tmp_path):
    root = tmp_path / "celeba"
    images = root / "img_align_celeba" / "img_align_celeba"
    images.mkdir(parents=True)
    lines = ["image_id,Male,Smiling"]
    for i, (male, smiling) in enumerate([(1, 1), (-1, 1), (1, -1), (-1, -1)]):
        iio.imwrite(images / f"{i + 1:06d}.jpg", np.full((109, 89, 3), 40 * i, np.uint8))
        lines.append(f"{i + 1:06d}.jpg,{male},{smiling}")
    (root / "list_attr_celeba.csv").write_text("\n".join(lines) + "\n")
    (root / "list_eval_partition.csv").write_text("image_id,partition\n000001.jpg,0\n000002.jpg,0\n"
                                                  "000003.jpg,1\n000004.jpg,2\n")
    faces = load_faces(str(root), 16, 3, split="train")
    assert faces.names == ["000001.jpg", "000002.jpg"] and faces.split == "train"
    assert faces.attributes["Smiling"].tolist() == [True, True]
    assert faces.class_labels("Male").tolist() == [1, 0]
