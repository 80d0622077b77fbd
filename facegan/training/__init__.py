"""Training a run: `train` plans it once (facegan.training.plan), opens its run directory, and hands it to the
loop (facegan.training.loop), whose health guard (guard), previews (previews) and summary.json (summary) have
modules of their own. Nothing here talks to a terminal: progress goes to a `Reporter`.

Crash safety: files are replaced whole, CSV logs are cut back to the restored checkpoint, and a checkpoint
holds everything a step changes (facegan.checkpoints), so a run killed at any moment resumes with no step
counted twice. SIGINT and SIGTERM stop the loop after the current step and save a checkpoint there.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import keras
import tensorflow as tf

from facegan import files, rundir
from facegan.checkpoints import init_networks, latest
from facegan.config import TrainConfig
from facegan.distribute import use_precision
from facegan.errors import FaceganError, TrainingStopped
from facegan.runlock import RunLock
from facegan.training.guard import EXIT_STOPPED
from facegan.training.loop import Trainer
from facegan.training.plan import RunPlan, plan_run
from facegan.training.reporter import Reporter
from facegan.training.signals import StopSignals

__all__ = ["EXIT_STOPPED", "EXIT_WRITE_FAILED", "Reporter", "RunPlan", "plan_run", "train"]

EXIT_WRITE_FAILED = 74  # a file of the run could not be written (a full disk): sysexits' EX_IOERR


def train(cfg: TrainConfig | None = None, out: Path | None = None, resume: Path | None = None,
          epochs: int | None = None, reporter: Reporter | None = None, strategy_name: str = "auto",
          devices: int | None = None) -> Path:
    """Train a new run (cfg, written to `out` or the next runs/NNN-MODEL) or continue `resume`; a new run whose
    `out` holds a run of the same configuration continues it (facegan.training.plan.continues).

    On resume the configuration comes from the run's config.json; only `epochs` may change (and the
    strategy and devices, which are not part of it). Returns the run directory; raises TrainingStopped
    when a signal or the health guard ended it early.
    """
    reporter = reporter or Reporter()
    plan = plan_run(cfg, resume, epochs, strategy_name, devices, reporter, out=out)
    cfg = plan.cfg
    if isinstance(plan.strategy, tf.distribute.MultiWorkerMirroredStrategy) and out is None and resume is None:
        raise FaceganError("multi-worker training needs --out: every worker must name the same run directory")
    initial = init_networks(cfg) if plan.resume is None and cfg.init else None  # checked before anything is written
    with ExitStack() as held:  # the run's lock, held until training ends
        run = open_run(plan, out, held)
        replicas = plan.strategy.num_replicas_in_sync
        reporter.notice(f"{cfg.model} on {cfg.data}: {plan.images_per_epoch} images, batch {plan.batch_size}"
                        f"{f' over {replicas} replicas' if replicas > 1 else ''}, precision {cfg.precision}"
                        f"{', XLA' if cfg.xla else ''}{f', EMA {cfg.ema}' if cfg.ema else ''} -> {run}")
        # Keras's global state, set here for the whole process: networks compute in the run's precision,
        # and their initial weights come from its seed
        use_precision(cfg.precision)
        keras.utils.set_random_seed(cfg.seed)
        trainer = Trainer(plan, run, reporter, initial)
        try:
            trainer.start()
            with StopSignals() as signals:
                trainer.fit(signals)
            trainer.finish()
        except OSError as error:  # every write leaves the old file or none (files, checkpoints): nothing to undo
            newest = latest(run)
            raise TrainingStopped(
                f"training stopped: {error}. Once there is space, continue with: facegan train --resume {run} "
                f"(from {f'its newest checkpoint, {Path(newest).name}' if newest else 'step 0'})",
                EXIT_WRITE_FAILED) from None
        return run


def open_run(plan: RunPlan, out: Path | None, held: ExitStack) -> Path:
    """The run directory, locked by this process (the chief) until `held` closes; a new run's config.json is
    written there before step 0. Another worker of a cluster writes nothing there."""
    if plan.resume is not None:
        run = rundir.require_run_dir(plan.resume)
        if plan.chief:
            held.enter_context(RunLock(run))  # a second writer stops here
            rundir.remove_leftovers(run)
        return run
    if not plan.chief:
        return Path(out)
    run = rundir.prepare_out_dir(out) if out else rundir.new_run_dir(plan.cfg.model)
    held.enter_context(RunLock(run))
    rundir.remove_leftovers(run)
    if rundir.is_run_dir(run):  # another process took this --out and wrote it a moment ago
        raise FaceganError(f"{run} is already a run; use --resume {run} to continue it, or choose another --out")
    files.write_json(run / rundir.CONFIG, plan.record())
    return run
