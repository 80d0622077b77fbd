"""Sample quality by measure, for `facegan eval` and for the evaluations during training.

The generated images are what the run's sample grids show: fresh samples of the generator, or
for the autoencoders (AE-GAN, VAE) reconstructions of real images the reference set does not hold.
They are measured by the sliced Wasserstein distance against a reference set of real images, and
a second, disjoint real set of the same size gives the noise floor: what a perfect model scores.
Images are (N, H, W, C) floats in [-1, 1] unless they are called uint8.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegan import imaging, registry
from facegan.analysis import swd
from facegan.analysis.arithmetic import encode
from facegan.analysis.blur import blur_factor
from facegan.analysis.sample import BATCH, draw_latents, generate
from facegan.errors import FaceganError

def reconstruct(nets: dict, x: np.ndarray) -> np.ndarray:
    return np.concatenate([np.asarray(nets["generator"](encode(nets["encoder"], x[i:i + BATCH]), training=False),
                                      np.float32) for i in range(0, len(x), BATCH)])


def generated_images(nets: dict, model: str, num_classes: int, x: np.ndarray, z: np.ndarray,
                     labels: np.ndarray) -> np.ndarray:
    """float32 images as the sample grid shows them: reconstructions of x, or generated from z and labels."""
    if registry.get(model).reconstructs:
        return reconstruct(nets, x)
    return generate(nets["generator"], z, labels, num_classes).astype(np.float32)


def diversity(images: np.ndarray) -> float:
    """Mean pairwise root-mean-square difference between the images of a batch (0: all identical)."""
    flat = np.asarray(images, np.float64).reshape(len(images), -1)
    squares = np.sum(flat ** 2, axis=1)
    distances = np.maximum(squares[:, None] + squares[None, :] - 2.0 * flat @ flat.T, 0.0)
    upper = np.triu_indices(len(flat), k=1)
    return float(np.mean(np.sqrt(distances[upper] / flat.shape[1])))


@dataclass
class EvalSet:
    """Fixed inputs of an evaluation: two disjoint real sets of one size, latents and labels."""

    reference: np.ndarray  # uint8: the real images everything is measured against
    held_out: np.ndarray  # uint8: the noise floor, and the inputs the autoencoders reconstruct
    z: np.ndarray
    labels: np.ndarray
    seed: int

    @property
    def held_out_inputs(self) -> np.ndarray:
        return self.held_out.astype(np.float32) / 127.5 - 1.0

    def settings(self, model: str) -> dict:
        return {**swd.settings(len(self.reference), self.reference.shape[1], self.seed),
                "generated": "reconstructions" if registry.get(model).reconstructs else "samples"}

    def swd(self, *generated_uint8: np.ndarray) -> list[dict]:
        return swd.sliced_wasserstein(self.reference, list(generated_uint8), self.seed)


def eval_set(images: np.ndarray, n: int, latent_dim: int, num_classes: int, seed: int) -> EvalSet:
    """min(n, half the data) images per real set, drawn without overlap by the seed."""
    size = min(n, len(images) // 2)
    if size < 1:
        raise FaceganError(f"an evaluation needs at least 2 real images, the data has {len(images)}")
    order = np.random.default_rng(seed).permutation(len(images))
    return EvalSet(reference=images[order[:size]], held_out=images[order[size:2 * size]],
                   z=draw_latents(size, latent_dim, seed), labels=np.arange(size, dtype=np.int32) % max(num_classes, 1),
                   seed=seed)


def flat_figures(name: str, result: dict) -> dict:
    """{name: mean, name_64: level 64, ...}: plain numbers that `compare` shows."""
    return {name: result["mean"], **{f"{name}_{level}": value for level, value in result.items() if level != "mean"}}


def evaluate(nets: dict, config: dict, images: np.ndarray, n: int, seed: int, run: Path | None = None) -> dict:
    """SWD (x1e3, per level and mean) of the generated images and of the real noise floor, the mean blur
    of both, and the copy rate of `run`'s nearest-neighbour summary when there is one."""
    sets = eval_set(images, n, config["latent_dim"], config["num_classes"], seed)
    generated = imaging.to_uint8(generated_images(nets, config["model"], config["num_classes"],
                                                  sets.held_out_inputs, sets.z, sets.labels))
    figure, floor = sets.swd(generated, sets.held_out)
    nearest = Path(run) / "nearest.json" if run is not None else None
    copy_rate = json.loads(nearest.read_text()).get("copy_rate") if nearest and nearest.is_file() else None
    return {**flat_figures("swd", figure), **flat_figures("swd_real", floor),
            "blur": float(np.mean([blur_factor(image) for image in generated])),
            "blur_real": float(np.mean([blur_factor(image) for image in sets.held_out])),
            "copy_rate": copy_rate, "settings": sets.settings(config["model"])}
