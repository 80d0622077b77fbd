"""`facegan walk`: videos of a generator's latent space, as StyleGAN3's gen_video and lightweight-gan's
--generate-interpolation make them. Each cell of a grid walks through its keyframes (latents of seeds, or of a
samples file) along great circles (spherical interpolation, the path between two Gaussian latents that keeps
their norm) and back to its first. Frames are (H, W, C) uint8 grids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegan import files, imaging, rundir
from facegan.analysis.images import saved_latents
from facegan.analysis.sample import seed_text
from facegan.checkpoints import open_generator_source
from facegan.config import TrainConfig
from facegan.errors import FaceganError
from facegan.inference import generate, seeded_latents


@dataclass(frozen=True)
class WalkOptions:
    seeds: tuple[int, ...] = ()  # the keyframes' seeds, cell by cell
    source: Path | None = None  # or the latents of a samples.npz (`sample`'s), in its order
    grid: tuple[int, int] = (1, 1)  # columns, rows
    steps: int = 24  # frames from one keyframe to the next
    trunc: float = 1.0
    label: int | None = None
    fps: float = 12.0
    format: str = "gif"
    frames: bool = False  # also every frame as a PNG
    best: bool = False
    epoch: int | None = None


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(len(t), D): the great-circle path from a to b at fractions t, its norm going linearly from |a| to |b|;
    straight where a and b point the same way."""
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    cosine = np.clip(a @ b / max(norm_a * norm_b, 1e-12), -1.0, 1.0)
    angle = np.arccos(cosine)
    t = np.asarray(t, np.float64)[:, None]
    if angle < 1e-6:
        return ((1 - t) * a + t * b).astype(np.float32)
    unit_a, unit_b = a / norm_a, b / norm_b
    direction = (np.sin((1 - t) * angle) * unit_a + np.sin(t * angle) * unit_b) / np.sin(angle)
    return (direction * ((1 - t) * norm_a + t * norm_b)).astype(np.float32)


def loop(keyframes: np.ndarray, steps: int) -> np.ndarray:
    """(len(keyframes) * steps, D): from each keyframe to the next, the last back to the first."""
    t = np.arange(steps) / steps
    path = np.concatenate([slerp(keyframes[i], keyframes[(i + 1) % len(keyframes)], t)
                           for i in range(len(keyframes))])
    path[::steps] = keyframes  # exactly, not as rounded on the way round the circle
    return path


def keyframes(options: WalkOptions, cfg: TrainConfig) -> tuple[np.ndarray, str]:
    """(cells, keyframes per cell, latent_dim) and where they came from."""
    cells = options.grid[0] * options.grid[1]
    if options.source is not None:
        z, origin = saved_latents(options.source, cfg)[0] * options.trunc, str(options.source)
    else:
        z, origin = seeded_latents(options.seeds, cfg.latent_dim, std=options.trunc), seed_text(options.seeds)
    if len(z) < 2 * cells or len(z) % cells:
        raise FaceganError(f"a walk needs at least 2 keyframes per cell, the same number in each of the {cells} "
                           f"cells of the grid: {len(z)} latents do not divide so")
    return z.reshape(cells, len(z) // cells, cfg.latent_dim), origin


def write_walk(run: Path, options: WalkOptions, folder: Path | None = None) -> dict:
    """The walk as RUN/samples/walk-NNN/walk.gif (or .mp4), with walk.npz (every frame's latents) and, with
    `frames`, frames/NNNN.png; returns the record of what was written."""
    if options.format not in imaging.VIDEO_FORMATS or options.steps < 1 or options.fps <= 0 or min(options.grid) < 1:
        raise FaceganError(f"--format is one of {', '.join(imaging.VIDEO_FORMATS)}; --steps, --fps and the grid's "
                           "sides must be positive")
    if not 0 <= options.trunc < math.inf:
        raise FaceganError(f"--trunc must be at least 0, got {options.trunc}")
    if options.format == "mp4":
        imaging.check_video_writer()
    cfg, nets, home = open_generator_source(run, options.best, options.epoch)
    if options.label is not None and not 0 <= options.label < cfg.num_classes:
        raise FaceganError(f"--label needs a conditional model and one of its classes; {cfg.model} has "
                           f"{cfg.num_classes}")
    z, origin = keyframes(options, cfg)
    paths = np.stack([loop(cell, options.steps) for cell in z])  # (cells, frames, latent_dim)
    cells, count = paths.shape[:2]
    # one class per cell: --label's, else the cells' classes in turn
    labels = np.repeat(np.full(cells, options.label) if options.label is not None
                       else np.arange(cells) % max(cfg.num_classes, 1), count).astype(np.int32)
    images = imaging.to_uint8(generate(nets["generator"], paths.reshape(-1, cfg.latent_dim), labels,
                                       cfg.num_classes)).reshape(cells, count, *image_shape(cfg))
    frames = [imaging.grid(images[:, t], options.grid[0]) for t in range(count)]
    folder = folder or rundir.next_numbered(home / rundir.SAMPLES, "walk")
    video = folder / f"walk.{options.format}"
    imaging.write_video(video, frames, options.fps)
    if options.frames:
        for t, frame in enumerate(frames):
            imaging.write_png(folder / "frames" / f"{t:04d}.png", frame)
    files.write_npz(folder / "walk.npz", z=paths, keyframes=z, labels=labels.reshape(cells, count))
    return {"run": str(run), "model": cfg.model, "keyframes": origin, "grid": f"{options.grid[0]}x{options.grid[1]}",
            "frames": count, "seconds": count / options.fps, "video": str(video), "folder": str(folder)}


def image_shape(cfg: TrainConfig) -> tuple[int, int, int]:
    return cfg.image_size, cfg.image_size, cfg.channels
