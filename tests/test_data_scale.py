"""Data at full size: CelebA's partition in both layouts, seeded subsets, decoding over every core into a
memory-mapped cache, and batches gathered from it with mirrored images made per batch."""

import json
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
from typer.testing import CliRunner

from facegan.cli import app
from facegan.data import load_faces
from facegan.data.pipeline import make_dataset
from facegan.errors import FaceganError
from facegan.imaging import fit_image


def make_celeba(root, count, partition_layout=None):
    """A CelebA folder of `count` images (image i has gray value i), partitioned 0 (train), 1, 2 in turn."""
    (root / "images").mkdir(parents=True)
    lines = [str(count), "Male Smiling"]
    for i in range(count):
        name = f"{i + 1:06d}.jpg"
        iio.imwrite(root / "images" / name, np.full((12, 10, 3), i, np.uint8))
        lines.append(f"{name}  1 {1 if i % 2 else -1}")
    (root / "list_attr_celeba.txt").write_text("\r\n".join(lines) + "\r\n")
    rows = [(f"{i + 1:06d}.jpg", i % 3) for i in range(count)]
    if partition_layout == "txt":  # the original: "000001.jpg 0"
        (root / "list_eval_partition.txt").write_text("".join(f"{name} {part}\r\n" for name, part in rows))
    elif partition_layout == "csv":  # Kaggle's: a header, then "000001.jpg,0"
        (root / "list_eval_partition.csv").write_text("image_id,partition\n" + "".join(f"{n},{p}\n" for n, p in rows))
    return root


@pytest.mark.parametrize("layout", ["txt", "csv"])
def test_the_partition_file_chooses_the_split_in_both_layouts(tmp_path, layout):
    root = make_celeba(tmp_path / "celeba", 9, layout)
    faces = {split: load_faces(str(root), 8, 1, split=split) for split in ("train", "valid", "test", "all")}
    assert faces["train"].names == ["000001.jpg", "000004.jpg", "000007.jpg"] and faces["train"].split == "train"
    assert faces["valid"].names == ["000002.jpg", "000005.jpg", "000008.jpg"]
    assert faces["test"].names == ["000003.jpg", "000006.jpg", "000009.jpg"] and len(faces["all"].names) == 9
    assert faces["valid"].attributes["Smiling"].tolist() == [True, False, True]  # rows follow the split
    assert faces["test"].images[:, 0, 0, 0].tolist() == [2, 5, 8]


def test_without_a_partition_train_is_everything_and_valid_is_refused(tmp_path):
    root = make_celeba(tmp_path / "celeba", 4)
    faces = load_faces(str(root), 8, 1, split="train")
    assert len(faces.names) == 4 and faces.split == "all"
    with pytest.raises(FaceganError, match="no partition file"):
        load_faces(str(root), 8, 1, split="valid")
    with pytest.raises(FaceganError, match="--split must be one of"):
        load_faces(str(root), 8, 1, split="holdout")


def test_max_images_is_a_seeded_subset_of_any_source(tmp_path):
    images = np.arange(50, dtype=np.uint8)[:, None, None].repeat(8, 1).repeat(8, 2)
    np.savez(tmp_path / "a.npz", images=images, labels=np.arange(50) % 5)
    first = load_faces(str(tmp_path / "a.npz"), 8, 1, max_images=10, seed=3)
    again = load_faces(str(tmp_path / "a.npz"), 8, 1, max_images=10, seed=3)
    other = load_faces(str(tmp_path / "a.npz"), 8, 1, max_images=10, seed=4)
    assert len(first.images) == 10 and first.names == again.names != other.names
    chosen = [int(name) for name in first.names]
    assert chosen == sorted(chosen) and first.images[:, 0, 0, 0].tolist() == chosen
    assert first.class_labels(None).tolist() == [c % 5 for c in chosen]  # labels follow the images
    assert len(load_faces(str(tmp_path / "a.npz"), 8, 1, max_images=500).images) == 50  # more than there are


def test_a_folder_decoded_over_every_core_equals_decoding_one_by_one(tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    rng = np.random.default_rng(0)
    originals = [rng.integers(0, 256, (14 + i % 5, 11, 3), np.uint8) for i in range(600)]  # 3 chunks of work
    for i, image in enumerate(originals):
        iio.imwrite(folder / f"{i:04d}.png", image)
    (folder / "0100.png").write_bytes(b"broken")
    seen = []
    faces = load_faces(str(folder), 8, 3, progress=lambda done, total: seen.append((done, total)))
    assert faces.skipped == {"undecodable": 1} and len(faces.images) == 599 and "0100.png" not in faces.names
    expected = np.stack([fit_image(image, 8, 3) for i, image in enumerate(originals) if i != 100])
    assert np.array_equal(faces.images, expected)
    assert seen[0] == (0, 600) and seen[-1] == (600, 600) and len(seen) == 4
    assert isinstance(faces.images, np.memmap)  # mapped from the cache file, not read into memory
    assert np.array_equal(load_faces(str(folder), 8, 3).images, expected) and faces.digest == \
        load_faces(str(folder), 8, 3).digest


def test_batches_gather_rows_and_mirror_them_as_a_doubled_array_would():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (10, 4, 4, 1), np.uint8)
    labels = np.arange(10, dtype=np.int32)
    doubled = np.concatenate([images, images[:, :, ::-1]])
    order = np.random.default_rng([5, 2 - 1]).permutation(20)  # epoch 2: the second epoch
    batches = list(make_dataset(images, labels, 4, seed=5, epoch=2, flip=True))
    assert len(batches) == 5
    x, y = batches[1]
    np.testing.assert_allclose(x.numpy(), doubled[order[4:8]] / 127.5 - 1.0, atol=1e-6)
    assert y.numpy().tolist() == (order[4:8] % 10).tolist()
    skipped = list(make_dataset(images, labels, 4, seed=5, epoch=2, skip_batches=1, flip=True))
    np.testing.assert_array_equal(skipped[0][0].numpy(), x.numpy())


def test_train_with_max_images_records_the_split_and_the_subset(tmp_path):
    root = make_celeba(tmp_path / "celeba", 30, "csv")
    result = CliRunner().invoke(app, ["train", "dcgan", "--data", str(root), "--max-images", "6", "--epochs", "1",
                                      "--image-size", "8", "--latent-dim", "4", "--batch-size", "4", "--eval-every",
                                      "0", "--out", "run"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["config"]["max_images"] == 6 and config["config"]["split"] == "train"
    assert config["data"]["split"] == "train" and config["data"]["images"] == 6
    assert "6 images" in result.stderr


def test_a_run_on_the_train_split_is_measured_against_the_valid_split(tmp_path):
    root = make_celeba(tmp_path / "celeba", 30, "txt")  # 10 faces in each split
    runner = CliRunner()
    result = runner.invoke(app, ["train", "dcgan", "--data", str(root), "--epochs", "1", "--image-size", "8",
                                 "--latent-dim", "4", "--batch-size", "4", "--out", "run"])
    assert result.exit_code == 0, result.output
    assert "of the valid split" in result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["eval_settings"]["real"] == "valid split" and summary["eval_settings"]["images"] == 5
    figures = json.loads(runner.invoke(app, ["eval", "run", "-n", "5", "--json"]).stdout)
    assert figures["settings"]["real"] == "valid split" and figures["swd"] == pytest.approx(summary["swd"])
    nearest = json.loads(runner.invoke(app, ["nearest", "run", "-n", "3", "--json"]).stdout)
    assert nearest["settings"]["held_out_from"] == "valid split" and nearest["settings"]["held_out_images"] == 10
    assert nearest["settings"]["train_images"] == 10


def test_partial_cache_files_of_killed_processes_are_removed_by_the_next_decode(tmp_path):
    images = np.zeros((3, 8, 8), np.uint8)
    np.save(tmp_path / "a.npy", images)
    load_faces(str(tmp_path / "a.npy"), 8, 1)
    entry = next((tmp_path / "cache").glob("*.npy"))
    entry.unlink()  # the entry must be decoded again
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    abandoned = entry.with_name(f".{entry.stem}.{int(dead.stdout)}.partial.npy")
    alive = entry.with_name(f".{entry.stem}.{os.getppid()}.partial.npy")  # a process still decoding
    abandoned.write_bytes(b"x" * 1000)
    alive.write_bytes(b"x")
    load_faces(str(tmp_path / "a.npy"), 8, 1)
    assert not abandoned.exists() and alive.exists() and entry.exists()
