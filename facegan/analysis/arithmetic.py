"""`facegan arithmetic`: each term's average latent, their signed sum, decoded.

The latent of a real face comes from the encoder (the VAE's z_mean, the AE-GAN encoder), or for
generator-only models from `facegan project`'s projector on the pixel distance alone (a projected.npz term
brings latents that `facegan project` found with its perceptual distance too). Images (N, H, W, C) in [-1, 1].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegan import files, imaging
from facegan.analysis import terms
from facegan.analysis.projector import ProjectOptions, project
from facegan.checkpoints import open_generator_source
from facegan.config import TrainConfig
from facegan.data import load_training_faces
from facegan.errors import FaceganError
from facegan.inference import encode, generate


def reconstruction_mse(generator, z: np.ndarray, x: np.ndarray) -> float:
    return float(np.mean(np.square(generate(generator, z, np.zeros(len(z), np.int32), 0) - x)))


def check(cfg: TrainConfig, plus: list[str], minus: list[str], n_per_term: int, projection_steps: int) -> None:
    if cfg.num_classes:
        raise FaceganError(f"{cfg.model} is conditional; arithmetic works on unconditional models")
    if not plus and not minus:
        raise FaceganError("give at least one --plus or --minus term")
    if n_per_term < 1 or projection_steps < 1:
        raise FaceganError("--n-per-term and --projection-steps must be positive")


def decode_signed_sum(run: Path, plus: list[str], minus: list[str], n_per_term: int = 8, projection_steps: int = 300,
                      seed: int = 0, folder: Path | None = None, epoch: int | None = None) -> dict:
    """Decode the signed sum of the terms' average latents with the run's final networks (with `epoch`, those
    --keep-every kept at that epoch's end); write arithmetic.png and arithmetic.npz to `folder` (default
    RUN/arithmetic); returns each term's report and the folder."""
    cfg, nets, home = open_generator_source(run, epoch=epoch)
    check(cfg, plus, minus, n_per_term, projection_steps)

    def data():  # the run's faces, loaded only for attribute queries
        if Path(run).suffix == ".keras":
            raise FaceganError("attribute queries need a run directory (its data); give image files or samples")
        return load_training_faces(cfg)

    signed = [(sign, terms.resolve(spec, n_per_term, cfg.image_size, cfg.channels, data, seed))
              for sign, specs in ((1, plus), (-1, minus)) for spec in specs]
    generator, report, latents = nets["generator"], [], []
    for sign, term in signed:
        x = imaging.to_float(term.images)
        if term.latents is not None:
            z, source = term.latents, "saved"
        elif "encoder" in nets:
            z, source = encode(nets["encoder"], x), "encoder"
        else:
            options = ProjectOptions(steps=projection_steps, seed=seed, perceptual=0.0)
            z, source = project(nets, cfg, term.images, options).z, "projection"
        latents.append(z)
        report.append({"term": term.spec, "sign": sign, "members": len(z), "latent_from": source,
                       "reconstruction_mse": reconstruction_mse(generator, z, x)})
    means = np.stack([z.mean(0) for z in latents])
    result = sum(sign * mean for (sign, _), mean in zip(signed, means))
    decoded = imaging.to_uint8(generate(generator, np.concatenate([means, result[None]]),
                                        np.zeros(len(means) + 1, np.int32), 0))
    folder = folder or home / "arithmetic"
    imaging.write_png(folder / "arithmetic.png", layout([term.images for _, term in signed], decoded))
    files.write_npz(folder / "arithmetic.npz", signs=np.array([s for s, _ in signed]),
                    terms=np.array([t.spec for _, t in signed]), means=means, result=result,
                    result_image=decoded[-1], **{f"term_{i}_latents": z for i, z in enumerate(latents)})
    return {"terms": report, "folder": str(folder)}


def layout(members: list[np.ndarray], decoded: np.ndarray) -> np.ndarray:
    """One row per term, its members then its decoded average latent in the last column; a last row with the
    decoded result alone in that column (uint8 images, blank tiles white)."""
    columns = max(len(images) for images in members) + 1
    blank = np.full_like(decoded[0], 255)
    tiles = []
    for images, mean_image in zip(members, decoded):
        tiles += list(images) + [blank] * (columns - 1 - len(images)) + [mean_image]
    tiles += [blank] * (columns - 1) + [decoded[-1]]
    return imaging.grid(np.stack(tiles), columns)
