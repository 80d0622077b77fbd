"""Terms of latent arithmetic: which faces a `--plus`/`--minus` names. No TensorFlow.

    samples.npz:3,7,12   samples of a samples.npz (their saved latents are used as they are)
    Smiling,~Male        a CelebA attribute query on the run's data (~ negates)
    DIR, FILE or GLOB    image files
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegan.analysis.images import image_files, load_samples
from facegan.data import Faces
from facegan.errors import FaceganError
from facegan.imaging import fit_image


@dataclass
class Term:
    spec: str
    images: np.ndarray  # (n, H, W, C) uint8, the members as shown
    latents: np.ndarray | None  # (n, latent_dim) when known without encoding (samples.npz)


def _samples(spec: str, n: int, shape: tuple) -> Term:
    path, _, indices = spec.rpartition(":")
    images, latents, _ = load_samples(Path(path), shape)
    if latents is None:
        raise FaceganError(f"{path} holds no latents (z); take samples written by `facegan sample`")
    try:
        chosen = [int(i) for i in indices.split(",")] if indices else list(range(min(n, len(latents))))
        return Term(spec, images[chosen], latents[chosen])
    except (ValueError, IndexError) as error:
        raise FaceganError(f"cannot take samples {spec!r}: {error}") from None


def _attribute_query(spec: str, faces: Faces, n: int, seed: int) -> Term:
    if faces.attributes is None:
        raise FaceganError(f"{spec!r} is an attribute query, but the run's data {faces.source!r} has no attributes")
    selected = np.ones(len(faces.images), bool)
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name = part.lstrip("~")
        if name not in faces.attributes:
            raise FaceganError(f"unknown attribute {name!r}; this data has: {', '.join(faces.attributes)}")
        selected &= ~faces.attributes[name] if part.startswith("~") else faces.attributes[name]
    members = np.flatnonzero(selected)
    if len(members) == 0:
        raise FaceganError(f"no face matches {spec!r}")
    chosen = np.sort(np.random.default_rng(seed).choice(members, min(n, len(members)), replace=False))
    return Term(spec, faces.images[chosen], None)


def _image_files(spec: str, n: int, size: int, channels: int) -> Term:
    from facegan.imaging import read_image

    paths = [Path(p) for p in sorted(glob.glob(spec))] if any(c in spec for c in "*?[") else [Path(spec)]
    files = image_files(paths)[:n]
    return Term(spec, np.stack([fit_image(read_image(f), size, channels) for f in files]), None)


def resolve(spec: str, n: int, size: int, channels: int, load_faces, seed: int = 0) -> Term:
    """The faces a term names; `load_faces()` gives the run's data, loaded only for attribute queries."""
    head = spec.rpartition(":")[0] if ":" in spec else spec
    if head.endswith(".npz"):
        return _samples(spec, n, (size, size, channels))
    if Path(spec).exists() or any(c in spec for c in "*?["):
        return _image_files(spec, n, size, channels)
    return _attribute_query(spec, load_faces(), n, seed)
