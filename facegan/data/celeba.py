"""CelebA folders, in the official layout (list_attr_celeba.txt, img_align_celeba/) and Kaggle's
(list_attr_celeba.csv, img_align_celeba/img_align_celeba/): the attribute file, the image folder and the
train/valid/test partition."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegan.data.sources import Source, fingerprint
from facegan.errors import FaceganError

CELEBA_ATTRIBUTES = ("list_attr_celeba.txt", "list_attr_celeba.csv")  # the original layout, and Kaggle's
CELEBA_PARTITIONS = ("list_eval_partition.txt", "list_eval_partition.csv")  # the original, and Kaggle's
CELEBA_IMAGE_DIRS = (".", "images", "img_align_celeba", "img_align_celeba/img_align_celeba")  # the last: Kaggle's


def read_celeba_attributes(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """CelebA's attribute file -> (file names, attribute names, (N, 40) bool). The official .txt: a count, the
    names, then a row per image; Kaggle's .csv: a header `image_id,5_o_Clock_Shadow,...`, then a row per image.
    Values are 1 or -1 in both."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    try:
        if path.suffix == ".csv":
            attributes = lines[0].split(",")[1:]
            rows = [line.split(",") for line in lines[1:]]
            count = len(rows)
        else:
            count = int(lines[0])
            attributes = lines[1].split()
            rows = [line.split() for line in lines[2:2 + count]]
        names = [row[0] for row in rows]
        values = np.array([[int(v) for v in row[1:]] for row in rows]) > 0
    except (IndexError, ValueError) as error:
        raise FaceganError(f"{path} is not a CelebA attribute file: {error}") from None
    if values.shape != (len(names), len(attributes)):
        raise FaceganError(f"{path}: rows do not have one value per attribute")
    return names, attributes, values


def _celeba_image_dir(root: Path, first_file: str) -> Path:
    for folder in (root / name for name in CELEBA_IMAGE_DIRS):
        if (folder / first_file).exists():
            return folder
    raise FaceganError(f"{root}: cannot find the images its attribute file lists (looked in "
                       f"{', '.join(name + '/' for name in CELEBA_IMAGE_DIRS)})")


def celeba_attribute_file(root: Path) -> Path | None:
    """The CelebA attribute file of a folder, in either layout; None where it has none."""
    return next((root / name for name in CELEBA_ATTRIBUTES if (root / name).is_file()), None)


def read_partition(root: Path) -> dict[str, int] | None:
    """{file name: 0 (train), 1 (valid) or 2 (test)} from CelebA's partition file, in either layout; None
    without one."""
    for name in CELEBA_PARTITIONS:
        path = root / name
        if path.is_file():
            rows = [line.replace(",", " ").split() for line in path.read_text().splitlines() if line.strip()]
            try:
                if rows and not rows[0][1].isdigit():  # the CSV's header: image_id,partition
                    rows = rows[1:]
                return {name: int(value) for name, value, *_ in rows}
            except (IndexError, ValueError) as error:
                raise FaceganError(f"{path} is not a CelebA partition file: {error}") from None
    return None


def celeba_source(root: Path, attribute_file: Path) -> Source:
    """The images a CelebA attribute file lists, with their 40 attributes."""
    listed, attribute_names, values = read_celeba_attributes(attribute_file)
    if not listed:
        raise FaceganError(f"{attribute_file} lists no images")
    folder = _celeba_image_dir(root, listed[0])
    row = {name: i for i, name in enumerate(listed)}

    def attributes(names):
        kept = values[[row[name] for name in names]]
        return {name: kept[:, j] for j, name in enumerate(attribute_names)}, None

    key = ["celeba", *fingerprint([attribute_file]), str(folder.resolve())]
    return Source(key, listed, paths=[folder / name for name in listed], labels_for=attributes)
