"""`facegan dataset SOURCE OUT`: pack a data source into one portable file that `--data` reads without decoding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from facegan.commands import CountProgress, Split, err, user_errors


def dataset(
    source: Annotated[str, typer.Argument(
        help="What --data reads: lfw, an image folder, a CelebA folder, a .npz/.npy.", show_default=False)],
    out: Annotated[Path, typer.Argument(help="The packed file, OUT.npy (its OUT.json is written beside it).",
                                        show_default=False)],
    image_size: Annotated[int, typer.Option(help="Image side in pixels.")] = 64,
    channels: Annotated[int, typer.Option(help="1 (grayscale) or 3 (RGB).")] = 3,
    split: Annotated[Split, typer.Option(help="The part of a CelebA partition (sources without one: all).")] =
        Split.train,
    max_images: Annotated[Optional[int], typer.Option(
        help="At most this many images, a subset chosen by --seed.", show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Seed of the --max-images subset.")] = 0,
):
    """Pack a data source into OUT.npy (the uint8 images, N x H x W x C) and OUT.json (the source, split, names,
    labels, CelebA attributes and sha256), decoded once at the size given.

    `facegan train --data OUT.npy` then reads it memory-mapped, with no decoding and no cache, and trains on the
    same batches as from the source: hand it to every worker of a cluster, or copy it to a machine without the
    source. It is used whole, at its own size.

    Examples:
      facegan dataset ~/data/celeba celeba-64.npy
      facegan dataset ~/data/celeba celeba-test-32.npy --image-size 32 --split test
    """
    from facegan.data import load_faces, packed

    with user_errors(ValueError):
        if out.exists() and packed.read_sidecar(out) is None:
            raise ValueError(f"{out} exists and is not a packed data set: choose another OUT")
        faces = load_faces(source, image_size, channels, split.value, max_images, seed,
                           progress=CountProgress("decoding", err))
        record = packed.pack(faces, out, progress=CountProgress("writing", err))
    print(json.dumps({key: record[key] for key in ("source", "split", "images", "resolution", "sha256")}
                     | {"file": str(out)}))
