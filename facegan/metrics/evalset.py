"""The fixed inputs of an SWD evaluation, the same for the evaluations during training and `facegan eval`.

Two disjoint real sets of one size: the reference every generated set is measured against, and the
held-out set, which gives the noise floor (what a perfect model scores) and the inputs that the
autoencoders reconstruct; plus the latents and labels of the generated set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facegan import imaging, registry
from facegan.errors import FaceganError
from facegan.inference import cycle_labels, draw_latents
from facegan.metrics import swd


@dataclass
class EvalSet:
    reference: np.ndarray  # (n, H, W, C) uint8
    held_out: np.ndarray  # (n, H, W, C) uint8
    z: np.ndarray  # (n, latent_dim) float32
    labels: np.ndarray  # (n,) int32
    seed: int
    held_out_split: str | None = None  # the data set's split the real sets come from, when not the training images

    @property
    def held_out_inputs(self) -> np.ndarray:
        return imaging.to_float(self.held_out)

    def settings(self, model: str) -> dict:
        return {**swd.settings(len(self.reference), self.reference.shape[1], self.seed),
                "generated": "reconstructions" if registry.get(model).reconstructs else "samples",
                **({"real": f"{self.held_out_split} split"} if self.held_out_split else {})}

    def swd(self, *generated_uint8: np.ndarray) -> list[dict]:
        return swd.sliced_wasserstein(self.reference, list(generated_uint8), self.seed)


def eval_set(images: np.ndarray, n: int, latent_dim: int, num_classes: int, seed: int,
             held_out_split: str | None = None) -> EvalSet:
    """min(n, half the images) images per real set, drawn without overlap by the seed; `held_out_split` names
    the split of the data the images are, when they are not the training images."""
    size = min(n, len(images) // 2)
    if size < 1:
        raise FaceganError(f"an evaluation needs at least 2 real images, the data has {len(images)}")
    order = np.random.default_rng(seed).permutation(len(images))
    return EvalSet(reference=images[order[:size]], held_out=images[order[size:2 * size]],
                   z=draw_latents(size, latent_dim, seed), labels=cycle_labels(size, num_classes), seed=seed,
                   held_out_split=held_out_split)


def flat_figures(name: str, result: dict) -> dict:
    """{name: mean, name_64: level 64, ...}: plain numbers that `compare` shows."""
    return {name: result["mean"], **{f"{name}_{level}": value for level, value in result.items() if level != "mean"}}
