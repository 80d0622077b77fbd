"""The run planned once: everything `facegan train` resolves before step 0, shared by a new run, `--resume`
and `--dry-run`, so that a dry run prints the config that training then writes to config.json.

    options (TrainConfig) or the run's config.json -> the data (decoded, or surveyed by a dry run)
    -> what the data and the machine say: the class count, the precision, the batch size -> RunPlan

A new run's config is settled here and never changes after; a resumed run keeps its own (only --epochs
may change). A new run's --out that already holds a run of the same configuration continues it, as --resume
does: a job that a cluster restarts with the same command goes on where it stopped.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, fields
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import facegan
from facegan import rundir
from facegan.config import RECORDED, TrainConfig, option_name, read_record
from facegan.data import Faces, Survey, load_training_faces, skipped_text, survey
from facegan.distribute import accelerators, describe, is_chief, make_strategy, resolve_precision
from facegan.errors import FaceganError
from facegan.runlog import check_logs
from facegan.training.reporter import Reporter


@dataclass(frozen=True)
class RunPlan:
    cfg: TrainConfig  # resolved: the class count, precision and batch size settled
    data: dict  # config.json's "data": the source, the images it gave and those left out
    faces: Faces | None  # the training faces, decoded; None in a dry run, which decodes nothing
    labels: np.ndarray  # (N,) int32: the class of each image for conditional models, zeros otherwise
    batch_size: int  # the global batch of every step, over every replica
    images_per_epoch: int  # the images an epoch trains on: twice the data's with mirror images
    strategy: tf.distribute.Strategy
    resume: Path | None  # the run it continues; None for a new run

    @property
    def steps_per_epoch(self) -> int:
        return self.images_per_epoch // self.batch_size

    @property
    def chief(self) -> bool:
        """Whether this process writes the run's files (every process but the other workers of a cluster)."""
        return is_chief(self.strategy)

    def record(self) -> dict:
        """config.json: the config, the data, the devices and the versions."""
        return {"config": self.cfg.to_dict(), "data": self.data, "distribution": describe(self.strategy),
                "versions": {"facegan": facegan.__version__, "tensorflow": tf.__version__,
                             "keras": keras.__version__, "python": platform.python_version()}}

    def dry_run(self) -> dict:
        """What `facegan train --dry-run` prints: config.json's config and data, and the steps per epoch."""
        return {"config": self.cfg.to_dict(), "data": self.data, "steps_per_epoch": self.steps_per_epoch,
                "distribution": describe(self.strategy), "accelerators": accelerators()}


def plan_run(cfg: TrainConfig | None = None, resume: Path | None = None, epochs: int | None = None,
             strategy_name: str = "auto", devices: int | None = None, reporter: Reporter | None = None,
             decode: bool = True, out: Path | None = None) -> RunPlan:
    """The plan of a new run (cfg as the options give it, to be written to `out`) or of continuing `resume` (its
    config.json, with `epochs` where given); a new run whose `out` holds a run of the same configuration
    continues that one. With `decode`, the data is loaded (decoded into the cache the first time); without, it
    is only surveyed, and nothing is written anywhere."""
    reporter = reporter or Reporter()
    strategy = make_strategy(strategy_name, devices)  # first: --devices must split the CPU before TF starts
    if resume is None and out is not None and continues(cfg, Path(out)):
        reporter.notice(f"{out} holds a run of this configuration: continuing it, as --resume {out} does")
        cfg, resume, epochs = None, Path(out), cfg.epochs
    if resume is not None:
        run = rundir.require_run_dir(resume)
        cfg = TrainConfig.read(run)
        check_logs(run)
        cfg = cfg.replace(epochs=epochs or cfg.epochs)

    # the data: a bad source stops here, before anything is written
    if decode:
        faces = load_training_faces(cfg, reporter.progress)
        found, count = faces, len(faces.images)
        data = {"source": cfg.data, "split": faces.split, "sha256": faces.digest, "images": count,
                "skipped": sum(faces.skipped.values()), "skipped_why": faces.skipped}
        if faces.skipped:
            reporter.notice(f"{data['skipped']} file(s) of {cfg.data} were left out ({skipped_text(faces.skipped)})")
        if resume is not None and read_record(run)["data"].get("sha256") != faces.digest:
            reporter.warning(f"{cfg.data} has changed since this run started (its sha256 differs)")
    else:
        faces = None
        found = survey(cfg.data, cfg.image_size, cfg.channels, cfg.split, cfg.max_images, cfg.seed)
        data, count = found.to_dict(), found.images

    # what the data and the machine say (a resumed run keeps its own)
    labels = class_labels(cfg, found, count)
    images_per_epoch = cfg.images_per_epoch(count)
    batch_size = batch_size_for(cfg, images_per_epoch, reporter)
    if resume is None:
        cfg = cfg.replace(precision=resolve_precision(cfg.precision), batch_size=batch_size,
                          num_classes=max(2, int(labels.max()) + 1) if cfg.num_classes else 0)
    check_replicas(cfg, batch_size, strategy.num_replicas_in_sync)
    return RunPlan(cfg, {**data, "images_per_epoch": images_per_epoch}, faces, labels, batch_size,
                   images_per_epoch, strategy, resume)


def continues(cfg: TrainConfig, out: Path) -> bool:
    """Whether a new run of `cfg` to `out` continues the run there: False where `out` holds none; True where it
    holds one of the same configuration. Its --epochs may differ (the new total, as with --resume), and what a
    plan settles from the data and the machine counts as the same where the options left it to the plan. A run
    of another configuration is refused, with the settings that differ."""
    if not rundir.is_run_dir(out):
        return False
    saved = TrainConfig.read(out)
    settled = {"epochs": saved.epochs}
    if cfg.precision == "auto":
        settled["precision"] = saved.precision
    if cfg.batch_size > saved.batch_size == read_record(out)["data"].get("images_per_epoch"):
        settled["batch_size"] = saved.batch_size  # the data holds fewer images than a batch
    if cfg.num_classes and saved.num_classes:
        settled["num_classes"] = saved.num_classes  # counted from the data
    given = cfg.replace(**settled)
    names = ["model"] if saved.model != given.model else [f.name for f in fields(TrainConfig)]
    differ = [f"{name if name in RECORDED else option_name(name)} {getattr(saved, name)!r} there, "
              f"{getattr(given, name)!r} here" for name in names if getattr(saved, name) != getattr(given, name)]
    if differ:
        raise FaceganError(f"{out} holds a run of another configuration ({'; '.join(differ)}): continue it with "
                           f"--resume {out}, or choose another --out")
    return True


def class_labels(cfg: TrainConfig, found: Faces | Survey, count: int) -> np.ndarray:
    """(N,) int32 labels: the class of each image for conditional models, zeros otherwise."""
    if not cfg.num_classes:
        return np.zeros(count, np.int32)
    labels = found.class_labels(cfg.label)
    if labels is None:
        raise FaceganError(f"{cfg.model} is conditional and needs class labels: give a CelebA folder "
                           "with --label ATTR, or a .npz with a 'labels' array")
    return labels.astype(np.int32)


def batch_size_for(cfg: TrainConfig, images_per_epoch: int, reporter: Reporter) -> int:
    """The configured batch size, or all the images of an epoch where there are fewer."""
    if images_per_epoch >= cfg.batch_size:
        return cfg.batch_size
    reporter.notice(f"the data has {images_per_epoch} images, fewer than --batch-size {cfg.batch_size}: "
                    f"batches of {images_per_epoch}")
    return images_per_epoch


def check_replicas(cfg: TrainConfig, batch_size: int, replicas: int) -> None:
    """Refuse what cannot run over `replicas` replicas."""
    if cfg.xla and cfg.sync_bn and replicas > 1:  # see steps.compile.compile_step
        raise FaceganError(f"--xla over {replicas} replicas compiles each network, and --sync-bn's all-reduce "
                           "cannot run inside a compiled network: leave out one of them")
    if batch_size % replicas:
        raise FaceganError(f"the batch of {batch_size} does not split over {replicas} replicas: "
                           f"give a --batch-size that {replicas} divides")
