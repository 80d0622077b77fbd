"""`facegan sample`: new images of a run's generator, optionally ranked by its discriminator and walked
between in latent space, written to a folder with every latent, so that each image can be made again.

Images are (N, H, W, C) floats in [-1, 1] until they are written; latents (N, latent_dim) float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegan import files, imaging, rundir
from facegan.analysis.images import saved_latents
from facegan.checkpoints import checkpoint_name, open_generator_source
from facegan.config import TrainConfig
from facegan.errors import FaceganError
from facegan.inference import cycle_labels, generate, new_samples, scores


@dataclass(frozen=True)
class SampleOptions:
    seeds: tuple[int, ...] = tuple(range(64))  # image i is drawn from seeds[i] alone
    source: Path | None = None  # or the latents (and labels) of a samples.npz or projected.npz, in its order
    grid: bool = True
    keep_top: int | None = None  # keep the K best by the discriminator's score (ranks them)
    rank: bool = False
    interpolate: int | None = None  # steps of a latent walk between pairs of samples
    label: int | None = None  # the class of every sample (conditional models)
    # the latent prior N(mean, std^2): its mean one number for every dimension, or (low, high), the uniform
    # distribution each dimension's mean is drawn from (by the first seed)
    mean: float | tuple[float, float] = 0.0
    std: float = 1.0
    trunc: float = 1.0  # the truncation trick: each latent pulled toward the prior's mean, mean + trunc (z - mean)
    best: bool = False  # from checkpoints/best
    epoch: int | None = None  # from the checkpoint --keep-every kept at this epoch's end

    @property
    def n(self) -> int:
        return len(self.seeds)

    def prior_mean(self, latent_dim: int) -> float | np.ndarray:
        """The latent prior's mean: a number, or (latent_dim,) means drawn from U(low, high) by the first seed
        (from a stream of its own: the latents' noise is the same whichever mean is asked for)."""
        if isinstance(self.mean, tuple):
            return np.random.default_rng([self.seeds[0], 1]).uniform(*self.mean, latent_dim).astype(np.float32)
        return self.mean

    def check(self, cfg: TrainConfig, n: int) -> None:
        if n < 1 or (self.keep_top is not None and not 1 <= self.keep_top <= n):
            raise FaceganError(f"-n must be positive and --keep-top between 1 and n ({n})")
        if not (self.std > 0 and math.isfinite(self.std) and 0 <= self.trunc and math.isfinite(self.trunc)):
            raise FaceganError(f"--std must be positive and --trunc at least 0 (got {self.std} and {self.trunc})")
        if self.interpolate is not None and (self.interpolate < 2 or n < 2):
            raise FaceganError("--interpolate needs at least 2 steps and 2 samples")
        if self.label is not None and not cfg.num_classes:
            raise FaceganError(f"{cfg.model} is not conditional: --label does not apply")
        if self.label is not None and not 0 <= self.label < cfg.num_classes:
            raise FaceganError(f"--label must be a class of this conditional model (0..{cfg.num_classes - 1})")


def parse_seeds(text: str, most: int = 100_000) -> tuple[int, ...]:
    """--seeds: "3,7,40-49" -> (3, 7, 40, ..., 49), in the order given; seeds are whole numbers from 0 to 2^32 - 1."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            low, high = int(first), int(last or first)
            if not 0 <= low <= high < 2 ** 32 or len(seeds) + high - low >= most:
                raise ValueError
            seeds.extend(range(low, high + 1))
    except ValueError:
        raise FaceganError(f"--seeds takes seeds from 0 to 2^32 - 1 and ranges of them, such as 3,7,40-49 (at "
                           f"most {most:,} in all), got {text!r}") from None
    return tuple(seeds)


def parse_mean(text: str) -> float | tuple[float, float]:
    """--mean: "0.5" (every dimension's) or "uniform:LOW,HIGH" (each dimension's drawn from U(LOW, HIGH))."""
    try:
        if text.startswith("uniform:"):
            low, high = (float(part) for part in text[len("uniform:"):].split(","))
            if low < high and math.isfinite(high - low):
                return low, high
        elif math.isfinite(float(text)):
            return float(text)
    except ValueError:
        pass
    raise FaceganError(f"--mean takes a number or uniform:LOW,HIGH with LOW < HIGH (such as uniform:-1,1), "
                       f"got {text!r}")


def seed_text(seeds) -> str:
    """(40, 41, 42, 7) -> "40-42,7": seeds as --seeds takes them."""
    runs: list[list[int]] = []
    for seed in map(int, seeds):
        if runs and seed == runs[-1][1] + 1:
            runs[-1][1] = seed
        else:
            runs.append([seed, seed])
    return ",".join(str(low) if low == high else f"{low}-{high}" for low, high in runs)


def interpolate(z: np.ndarray, steps: int) -> np.ndarray:
    """(pairs, steps, latent_dim): straight lines from z[0] to z[1], z[2] to z[3], ..."""
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]
    return z[0:len(z) - 1:2, None] * (1 - t) + z[1::2, None] * t


def write_samples(run: Path, options: SampleOptions, folder: Path | None = None) -> dict:
    """Generate, rank, interpolate and write to `folder` (default RUN/samples/sample-NNN); returns the record
    of what was written. `run` may also be a bare generator .keras file (its folder then takes samples/)."""
    cfg, nets, home = open_generator_source(run, options.best, options.epoch)
    if options.source is not None:  # the latents of a file, each pulled toward the prior's mean 0 by --trunc
        z, labels = saved_latents(options.source, cfg)
        options.check(cfg, len(z))
        z = (z * options.trunc).astype(np.float32)
        if options.label is not None or labels is None:
            labels = np.full(len(z), options.label) if options.label is not None else cycle_labels(len(z),
                                                                                                    cfg.num_classes)
        labels = labels.astype(np.int32)
        images, mean = generate(nets["generator"], z, labels, cfg.num_classes), 0.0
        saved, origin = {"z": z, "labels": labels}, {"latents_of": str(options.source)}
    else:
        options.check(cfg, options.n)
        seeds, mean = np.asarray(options.seeds, np.int64), options.prior_mean(cfg.latent_dim)
        z, labels, images = new_samples(nets["generator"], cfg, seeds, mean, options.std * options.trunc,
                                        options.label)
        saved, origin = {"z": z, "labels": labels, "seeds": seeds}, {"seeds": seed_text(seeds)}
    rank = options.rank or options.keep_top is not None
    if rank and "discriminator" not in nets:
        raise FaceganError(f"{cfg.model} has no discriminator to rank by")
    record = {"run": str(run), "model": cfg.model, "n": len(z), **origin,
              "checkpoint": checkpoint_name(options.best, options.epoch)}
    if rank:
        score = scores(nets["discriminator"], images, labels, cfg.num_classes)
        order = np.argsort(-score, kind="stable")[:options.keep_top or len(z)]
        z, labels, images, score = z[order], labels[order], images[order], score[order]
        saved = {name: values[order] for name, values in saved.items()}
        saved.update(z=z, labels=labels, scores=score, drawn_index=order)
        record.update(kept=len(order), best_score=float(score[0]), worst_kept_score=float(score[-1]))
    folder = folder or rundir.next_numbered(home / rundir.SAMPLES, "sample")
    pictures = imaging.to_uint8(images)
    for i, picture in enumerate(pictures):
        imaging.write_png(folder / f"{i:04d}.png", picture)
    if options.grid:
        imaging.write_png(folder / "grid.png", imaging.grid(pictures, 8))
    if options.interpolate is not None:
        write_interpolation(folder, nets["generator"], cfg, z, labels, options.interpolate)
    files.write_npz(folder / "samples.npz", images=pictures, mean=mean, std=options.std,
                    trunc=options.trunc, **saved)
    return {**record, "folder": str(folder)}


def write_interpolation(folder: Path, generator, cfg: TrainConfig, z: np.ndarray, labels: np.ndarray,
                        steps: int) -> None:
    """interpolation.png (one walk per row) and interpolation.gif (one frame per step, every walk in it)."""
    lines = interpolate(z, steps)  # (pairs, steps, latent)
    pair_labels = np.repeat(labels[0:len(z) - 1:2], steps)
    frames = imaging.to_uint8(generate(generator, lines.reshape(-1, z.shape[1]), pair_labels, cfg.num_classes))
    imaging.write_png(folder / "interpolation.png", imaging.grid(frames, steps))
    frames = frames.reshape(len(lines), steps, *frames.shape[1:])
    imaging.write_gif(folder / "interpolation.gif", [imaging.grid(frames[:, t], 8) for t in range(steps)],
                      seconds_per_frame=0.2)
