"""The training loop shared by every model of the registry.

    data -> run directory (config.json before step 0) -> precision -> networks and step
    -> checkpoint restore -> epochs of compiled steps -> CSV logs, sample grids, checkpoints
    -> final networks and summary.json

Nothing here talks to a terminal: progress goes to a `Reporter`, which the CLI renders.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

import facegan
from facegan import imaging, registry, rundir
from facegan.config import TrainConfig
from facegan.data import Faces, load_faces, make_dataset
from facegan.errors import FaceganError
from facegan.steps import FAMILIES

PREVIEW_LATENTS = 32  # generated images per sample grid
PREVIEW_INPUTS = 16  # real images per grid for autoencoders (shown above their reconstructions)
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}


class Reporter:
    """Receives the loop's progress; every method may be overridden, none must be."""

    def notice(self, text: str) -> None: ...

    def epoch_start(self, epoch: int, epochs: int, steps: int, batch_size: int) -> None: ...

    def step(self, done: int, latest: Callable[[], dict]) -> None:
        """`latest()` turns the newest step's metrics into floats (a device sync: call it sparingly)."""

    def epoch_end(self, epoch: int, epochs: int, row: dict) -> None: ...


# --- precision -------------------------------------------------------------------

def cpu_supports_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(requested: str) -> str:
    """auto: bfloat16 on GPUs of compute capability >= 8.0 and CPUs with AMX/AVX512-BF16,
    float16 (with loss scaling) on older GPUs, float32 otherwise."""
    if requested != "auto":
        return requested
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
        return "bfloat16" if tuple(capability) >= (8, 0) else "float16"
    return "bfloat16" if cpu_supports_bf16() else "float32"


# --- data ------------------------------------------------------------------------

def class_labels(cfg: TrainConfig, faces: Faces) -> np.ndarray:
    """(N,) int32 labels: the class of each image for conditional models, zeros otherwise."""
    if not cfg.num_classes:
        return np.zeros(len(faces.images), np.int32)
    labels = faces.class_labels(cfg.label)
    if labels is None:
        raise FaceganError(f"{cfg.model} is conditional and needs class labels: give a CelebA folder "
                           "with --label ATTR, or a .npz with a 'labels' array")
    return labels.astype(np.int32)


def training_arrays(cfg: TrainConfig, faces: Faces, reporter: Reporter):
    """Images and labels as trained on (mirror images added with --flip), and the batch size."""
    images, labels = faces.images, class_labels(cfg, faces)
    if cfg.flip_images:
        images, labels = np.concatenate([images, images[:, :, ::-1]]), np.concatenate([labels, labels])
    batch_size = cfg.batch_size
    if len(images) < batch_size:
        batch_size = len(images)
        reporter.notice(f"the data has {len(images)} images, fewer than --batch-size {cfg.batch_size}: "
                        f"batches of {batch_size}")
    return images, labels, batch_size


# --- parameters as the seed notebooks counted them ---------------------------------

def count_params(model: keras.Model) -> dict:
    trainable = int(sum(np.prod(v.shape) for v in model.trainable_weights))
    total = int(sum(np.prod(v.shape) for v in model.weights))
    return {"total": total, "trainable": trainable, "non_trainable": total - trainable}


def complexity(nets: dict) -> dict:
    """The combined model's counts: the generator side trainable, the discriminator frozen inside it."""
    counts = {name: count_params(model) for name, model in nets.items()}
    generator_side = [counts[name] for name in ("encoder", "generator") if name in counts]
    frozen = counts["discriminator"]["total"] if "discriminator" in counts else 0
    return {"trainable": sum(c["trainable"] for c in generator_side),
            "non_trainable": sum(c["non_trainable"] for c in generator_side) + frozen,
            "networks": counts}


def save_model(model: keras.Model, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


# --- the loop --------------------------------------------------------------------

def train(cfg: TrainConfig | None = None, out: Path | None = None, resume: Path | None = None,
          epochs: int | None = None, reporter: Reporter | None = None) -> Path:
    """Train a new run (cfg, written to `out` or the next runs/NNN-MODEL) or continue `resume`.

    On resume the configuration comes from the run's config.json; only `epochs` may change.
    Returns the run directory.
    """
    reporter = reporter or Reporter()
    if resume is not None:
        run = rundir.require_run_dir(resume)
        saved = json.loads((run / "config.json").read_text())
        cfg = TrainConfig(**saved["config"])
        cfg.epochs = epochs or cfg.epochs
        cfg.validate()
    spec = registry.get(cfg.model)

    # data first: a bad source stops here, before anything is written
    faces = load_faces(cfg.data, cfg.image_size, cfg.channels)
    if faces.skipped:
        reporter.notice(f"{faces.skipped} file(s) of {cfg.data} could not be decoded and were skipped")
    if resume is not None and saved["data"]["sha256"] != faces.digest:
        reporter.notice(f"warning: {cfg.data} has changed since this run started (its sha256 differs)")
    if cfg.num_classes and resume is None:
        cfg.num_classes = max(2, int(class_labels(cfg, faces).max()) + 1)
    images, labels, batch_size = training_arrays(cfg, faces, reporter)
    steps_per_epoch = len(images) // batch_size

    # run directory and config.json, before step 0
    cfg.precision = resolve_precision(cfg.precision)
    if resume is None:
        run = rundir.prepare_out_dir(out) if out else rundir.new_run_dir(cfg.model)
        rundir.write_json(run / "config.json", {
            "config": cfg.to_dict(),
            "data": {"source": cfg.data, "sha256": faces.digest, "images": len(faces.images),
                     "skipped": faces.skipped, "trained_images": len(images), "batch_size": batch_size},
            "versions": {"facegan": facegan.__version__, "tensorflow": tf.__version__,
                         "keras": keras.__version__, "python": platform.python_version()},
        })
    reporter.notice(f"{cfg.model} on {cfg.data}: {len(images)} images, batch {batch_size}, "
                    f"precision {cfg.precision}{', XLA' if cfg.xla else ''} -> {run}")

    # networks, optimizers and the compiled steps
    keras.mixed_precision.set_global_policy(POLICIES[cfg.precision])
    keras.utils.set_random_seed(cfg.seed)
    nets = spec.build_networks(cfg)
    rng = tf.random.Generator.from_seed(cfg.seed)
    family = FAMILIES[spec.steps](cfg, nets, rng, loss_scaling=cfg.precision == "float16")
    compiled = {}

    # checkpoint: networks, optimizer states, counters, random state, the family's own state
    step = tf.Variable(0, dtype=tf.int64, trainable=False)
    epoch_done = tf.Variable(0, dtype=tf.int64, trainable=False)
    checkpoint = tf.train.Checkpoint(step=step, epoch=epoch_done, rng=rng, **nets, **family.state(),
                                     **{f"{name}_optimizer": opt for name, opt in family.optimizers.items()})
    manager = tf.train.CheckpointManager(checkpoint, str(run / "checkpoints"), max_to_keep=cfg.keep_checkpoints)
    if resume is not None:
        if manager.latest_checkpoint is None:  # stopped during its first epoch: start again from step 0
            reporter.notice("no checkpoint yet: training starts again from step 0")
        else:
            checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
            reporter.notice(f"resumed at epoch {int(epoch_done.numpy())}, step {int(step.numpy())}")
        for name in ("metrics.csv", "epochs.csv"):  # drop rows written after the checkpoint
            rundir.truncate_rows(run / name, "epoch", int(epoch_done.numpy()))

    # the fixed batch every sample grid shows
    preview_rng = np.random.default_rng(cfg.seed)
    x_fixed = faces.images[:PREVIEW_INPUTS].astype(np.float32) / 127.5 - 1.0
    z_fixed = preview_rng.standard_normal((PREVIEW_LATENTS, cfg.latent_dim)).astype(np.float32)
    y_fixed = np.arange(PREVIEW_LATENTS, dtype=np.int32) % max(cfg.num_classes, 1)
    header = ["epoch", "step", *family.metrics]

    for epoch in range(int(epoch_done.numpy()), cfg.epochs):
        # --- one epoch of compiled steps; metrics stay tensors until the epoch ends
        name = family.step_name(epoch)
        if name not in compiled:
            compiled[name] = tf.function(getattr(family, name), jit_compile=cfg.xla)
        reporter.epoch_start(epoch + 1, cfg.epochs, steps_per_epoch, batch_size)
        pending = []
        start = time.perf_counter()
        for x, y in make_dataset(images, labels, batch_size, cfg.seed, epoch):
            pending.append(compiled[name](x, y))
            reporter.step(len(pending), lambda: {k: float(v) for k, v in pending[-1].items()})
        values = {k: np.array([float(m[k]) for m in pending]) for k in family.metrics}
        wall = time.perf_counter() - start
        step.assign_add(len(pending))
        epoch_done.assign(epoch + 1)

        # --- logs: one row per step, one row per epoch
        first_step = int(step.numpy()) - len(pending) + 1
        rundir.append_rows(run / "metrics.csv", header,
                           [[epoch + 1, first_step + i, *(values[k][i] for k in family.metrics)]
                            for i in range(len(pending))])
        row = {"epoch": epoch + 1, **{k: float(np.mean(v)) for k, v in values.items()},
               "images_per_s": len(pending) * batch_size / wall, "wall_s": wall}
        rundir.append_rows(run / "epochs.csv", list(row), [list(row.values())])

        # --- sample grid every sample_interval epochs and at the last; then the checkpoint
        if (epoch + 1) % cfg.sample_interval == 0 or epoch + 1 == cfg.epochs:
            grid_images = imaging.to_uint8(family.preview(x_fixed, z_fixed, y_fixed))
            imaging.write_png(run / "samples" / f"epoch_{epoch + 1:04d}.png", imaging.grid(grid_images, 8))
        manager.save(checkpoint_number=epoch + 1)
        reporter.epoch_end(epoch + 1, cfg.epochs, row)

    # --- final artifacts
    for name, model in nets.items():
        save_model(model, run / f"{name}.keras")
    frames = [imaging.read_png(p) for p in sorted((run / "samples").glob("epoch_*.png"))]
    if frames:
        imaging.write_gif(run / "evolution.gif", frames)
    rundir.write_json(run / "summary.json", summarize(cfg, nets, run))
    return run


def summarize(cfg: TrainConfig, nets: dict, run: Path) -> dict:
    """The final figures `facegan compare` shows, from the last epoch of epochs.csv."""
    rows = rundir.read_rows(run / "epochs.csv")
    last = rows[-1]
    wall = sum(float(r["wall_s"]) for r in rows)
    images = sum(float(r["images_per_s"]) * float(r["wall_s"]) for r in rows)
    figures = ("d_loss_real", "d_loss_fake", "d_acc_real", "d_acc_fake", "g_loss", "ae_loss")
    return {
        "model": cfg.model,
        "epochs": int(last["epoch"]),
        **{name: float(last[name]) if last.get(name) else None for name in figures},
        "params": complexity(nets),
        "latent_dim": cfg.latent_dim,
        "images_per_s": images / wall,
        "wall_s": wall,
        "precision": cfg.precision,
    }
