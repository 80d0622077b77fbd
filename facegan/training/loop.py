"""The training loop shared by every model of the registry, top to bottom:

    networks, loss family, train state (checkpointed), previews, logs, the health guard
    -> start: the newest checkpoint restored, the logs cut back to it
    -> epochs of compiled steps, each followed by: logs, the fixed batch's diversity, an evaluation
       (SWD; checkpoints/best), health checks, a sample grid, a checkpoint
    -> finish: the final networks and summary.json

A signal (SIGINT, SIGTERM) stops the loop after the current step, with a checkpoint there.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import NoReturn

import numpy as np
import tensorflow as tf

from facegan import imaging, registry, rundir
from facegan.checkpoints import TrainState, copy_weights, latest, save_model
from facegan.curves import draw_curves
from facegan.data.pipeline import make_dataset
from facegan.ema import WeightAverage
from facegan.errors import TrainingStopped
from facegan.runlog import RunLog, as_logged
from facegan.steps import build_family
from facegan.steps.compile import compile_step
from facegan.training.guard import Diverged, Guard
from facegan.training.plan import RunPlan
from facegan.training.previews import Previews
from facegan.training.reporter import Reporter
from facegan.training.summary import run_summary


class StopSignals:
    """While active, SIGINT and SIGTERM only set `received`: the loop then saves a checkpoint at the
    current step and stops. A second signal acts as it normally does (Ctrl-C twice kills at once)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self):
        self.received, self.previous = None, {}
        if threading.current_thread() is threading.main_thread():  # Python allows handlers only there
            self.previous = {sig: signal.signal(sig, self.handle) for sig in self.SIGNALS}
        return self

    def handle(self, signum, frame) -> None:
        self.received = signum
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


@dataclass
class EpochProgress:
    """The steps of an epoch: the metrics (tensors) of the steps not yet logged, from `first_step` on; the
    figures of its steps already logged (by a checkpoint inside the epoch, or by an interrupted run), as lists
    of floats; the steps this process made, and the seconds they took."""

    pending: list
    first_step: int
    earlier: dict
    made: int = 0
    wall: float = 0.0


CURVES_SECONDS = 30.0


class Trainer:
    """One run's networks, loss family, state, previews, logs and guard, and the loop over its epochs."""

    def __init__(self, plan: RunPlan, run: Path, reporter: Reporter, initial: dict | None = None):
        cfg = self.cfg = plan.cfg
        self.plan, self.run, self.reporter, self.chief = plan, run, reporter, plan.chief
        self.strategy, self.batch_size, self.steps_per_epoch = plan.strategy, plan.batch_size, plan.steps_per_epoch

        # networks, optimizers, the weight average and the counters, placed by the strategy; another
        # worker of a cluster checkpoints too (the strategy needs every worker to) but to scratch it removes
        self.scratch = None if self.chief else Path(tempfile.mkdtemp(prefix="facegan-worker-"))
        with self.strategy.scope():
            nets = registry.get(cfg.model).build_networks(cfg)
            if initial is not None:  # --init: another run's weights, before the weight average copies them
                copy_weights(nets, initial)
            self.family = build_family(cfg, nets)
            average = WeightAverage(nets, cfg.ema) if cfg.ema else None
            self.state = TrainState(nets, self.family, average, self.scratch or rundir.checkpoint_dir(run),
                                    cfg.keep_checkpoints, cfg.keep_every)
        self.train_steps = {}  # the compiled steps, by the family's step name

        # the sample grids' fixed batch and the evaluation set; the logs; the health guard
        self.previews = Previews(cfg, plan.faces, evaluate=self.chief)
        if (notice := self.previews.eval_notice()) is not None:
            reporter.notice(notice)
        step_columns = list(self.family.metrics)
        epoch_columns = ["epoch", *step_columns, "diversity", *(f"swd_{level}" for level in self.previews.swd_levels),
                         "swd", "images_per_s", "wall_s"]
        self.log = RunLog(run, step_columns, epoch_columns, write=self.chief, hparams=cfg.to_dict())
        self.guard = Guard(cfg, run, self.state, self.family, self.log, reporter, self.summarize)
        self.curves_at = None  # when curves.png was last drawn (time.monotonic)

    @property
    def steps_done(self) -> int:
        return int(self.state.steps_done.numpy())

    @property
    def epochs_done(self) -> int:
        return int(self.state.epochs_done.numpy())

    # --- start ---------------------------------------------------------------------

    def start(self) -> None:
        """Restore the run's newest checkpoint (the chief's: every worker starts from it) when there is
        one; then make sure this worker has a checkpoint of its own: rollbacks need a state to return to."""
        for warning in self.state.repaired:
            self.reporter.warning(warning)
        if latest(self.run) is not None:
            _, damaged = self.state.restore_newest(rundir.checkpoint_dir(self.run), set_aside=self.chief)
            for warning in damaged:
                self.reporter.warning(warning)
            self.guard.set_learning_rates()
            self.reporter.notice(f"resumed at epoch {self.epochs_done}, step {self.steps_done}")
        elif self.plan.resume is not None:
            self.reporter.notice("no checkpoint yet: training starts again from step 0")
        if self.state.latest is None:
            self.state.save()
        self.saved_at = time.monotonic()
        self.log.truncate(self.steps_done, self.epochs_done)

    # --- the loop ------------------------------------------------------------------

    def train_step(self, name: str):
        """The family's step `name` compiled for the strategy: train_step(x, y, number) -> metrics."""
        if name not in self.train_steps:
            self.train_steps[name] = compile_step(self.strategy, self.family, name, self.state.average, self.cfg.xla)
        return self.train_steps[name]

    def batches(self, epoch: int, skip: int):
        """The epoch's global batches, each split over the replicas of every worker: replica r takes rows
        r*b to (r+1)*b. Each worker reads the same global batches from its own plain tf.data pipeline:
        the iterators of tf.distribute's distributed datasets stall when they are deleted (until their
        per-device autotuning thread wakes up, up to a minute after every epoch)."""
        share = self.batch_size // self.strategy.num_replicas_in_sync

        def split(batch):
            return self.strategy.experimental_distribute_values_from_function(
                lambda context: batch[context.replica_id_in_sync_group * share:][:share])

        for x, y in make_dataset(self.plan.faces.images, self.plan.labels, self.batch_size, self.cfg.seed, epoch,
                                 skip_batches=skip, flip=self.cfg.flip_images):
            yield split(x), split(y)

    def fit(self, signals: StopSignals) -> None:
        while self.epochs_done < self.cfg.epochs:
            try:
                progress = self.run_epoch(signals)
            except Diverged as diverged:
                self.reporter.epoch_end(self.epochs_done + 1, self.cfg.epochs, None)
                self.guard.roll_back(str(diverged), "diverged")
                continue
            if not self.state.weights_finite():
                self.log.health(self.epochs_done + 1, self.steps_done, "nonfinite",
                                "non-finite weights at the end of the epoch", "rollback")
                self.guard.roll_back("non-finite weights at the end of an epoch", "diverged")
            else:
                self.end_epoch(progress)
            if signals.received:  # arrived during the epoch's last step or its end: the checkpoint is saved
                self.stop_on_signal(signals.received)

    def run_epoch(self, signals: StopSignals) -> EpochProgress:
        """The steps of the next epoch (after those an interrupted run already made of it); raises Diverged."""
        epoch = self.epochs_done  # the 0-based index of the epoch to run
        train_step = self.train_step(self.family.step_name(epoch))
        done = self.steps_done - epoch * self.steps_per_epoch
        if not 0 <= done < self.steps_per_epoch:  # the data's size changed: start the epoch over
            done = 0
        earlier = self.log.logged_steps(epoch + 1) if done else {k: [] for k in self.log.step_columns}
        progress = EpochProgress([], self.steps_done + 1, earlier)
        self.reporter.epoch_start(epoch + 1, self.cfg.epochs, self.steps_per_epoch, self.batch_size)
        start = time.perf_counter()
        for x, y in self.batches(epoch, done):
            number = progress.first_step + len(progress.pending)
            progress.pending.append(train_step(x, y, tf.constant(number, tf.int64)))
            progress.made += 1
            self.reporter.step(done + progress.made, lambda: {k: float(v) for k, v in progress.pending[-1].items()})
            # the step before this one has finished: reading it does not wait for the device
            if len(progress.pending) > 1:
                self.guard.check_finite(progress.pending[-2], epoch + 1, number - 1)
            if self.cfg.sample_every_images and self.crossed(number, self.cfg.sample_every_images):
                self.write_step_grid(number)
            if done + progress.made < self.steps_per_epoch:  # inside the epoch
                if signals.received:
                    self.stop_on_signal(signals.received, progress)
                evaluation_due = self.cfg.eval_every_images and self.crossed(number, self.cfg.eval_every_images)
                if evaluation_due or self.checkpoint_due():
                    self.checkpoint_inside_epoch(progress)
                if evaluation_due and self.previews.eval_set is not None:
                    self.evaluate(self.state.generating_nets(), epoch + 1)
        if progress.pending:
            self.guard.check_finite(progress.pending[-1], epoch + 1, progress.first_step + len(progress.pending) - 1)
        progress.wall = time.perf_counter() - start
        return progress

    def end_epoch(self, progress: EpochProgress) -> None:
        """Logs, diversity, evaluation, sample grid and health checks of a finished epoch; then its checkpoint."""
        cfg = self.cfg
        values = self.log_steps(progress)
        self.state.epochs_done.assign_add(1)
        epoch = self.epochs_done

        # the epoch's row: step figures averaged, the fixed batch's diversity, an evaluation when one is due
        nets = self.state.generating_nets()
        generated = self.previews.fixed_batch(nets)
        row = {"epoch": epoch, **{k: float(np.mean(values[k])) for k in self.family.metrics},
               "skipped": int(np.nansum(values["skipped"])),
               "diversity": self.worker_mean(self.previews.relative_diversity(generated))}
        row.update({column: np.nan for column in self.log.epoch_columns if column.startswith("swd")})
        grid = self.previews.grid(generated)
        by_images = cfg.eval_every_images and self.crossed(self.steps_done, cfg.eval_every_images)
        if self.previews.eval_set is not None and (epoch % cfg.eval_interval == 0 or epoch == cfg.epochs or by_images):
            result = self.evaluate(nets, epoch, grid)
            row.update({f"swd_{key}" if key != "mean" else "swd": value for key, value in result.items()})
        row.update(images_per_s=progress.made * self.batch_size / progress.wall, wall_s=progress.wall)
        self.log.append_epoch(row)
        if self.chief and (epoch % cfg.sample_interval == 0 or epoch == cfg.epochs):
            self.log.grid(rundir.epoch_grid(self.run, epoch), self.steps_done, grid)
        # curves.png: at the first epoch end, then at most every CURVES_SECONDS (a drawing takes about 0.2 s,
        # as long as an epoch of a hundred faces), and at the last
        if self.chief and (self.curves_at is None or time.monotonic() - self.curves_at >= CURVES_SECONDS
                           or epoch == cfg.epochs):
            draw_curves(self.run)
            self.curves_at = time.monotonic()

        # the health guard: a rollback abandons the epoch's checkpoint, a stop comes after it
        found = self.guard.judge_epoch(epoch, self.steps_per_epoch * self.batch_size)
        if found and cfg.on_collapse == "rollback":
            self.reporter.epoch_end(epoch, cfg.epochs, row)
            self.guard.roll_back(" and ".join(symptom.check for symptom in found), "collapsed",
                                 before_epoch=min(symptom.onset for symptom in found) - 1)
            return
        self.state.keep_epoch(epoch)  # before the newest: a kill between the two replays the epoch and keeps it
        self.save()
        self.reporter.epoch_end(epoch, cfg.epochs, row)
        if found and cfg.on_collapse == "stop":
            self.guard.stop_run("collapsed", " and ".join(f"{symptom.check} ({symptom.detail})" for symptom in found))

    # --- checkpoints inside an epoch, and signals ------------------------------------

    def checkpoint_due(self) -> bool:
        """--checkpoint-minutes have passed since the last checkpoint (on any worker of a cluster: they all
        checkpoint together)."""
        minutes = self.cfg.checkpoint_minutes
        return bool(minutes) and self.worker_mean(float(time.monotonic() - self.saved_at >= 60 * minutes)) > 0

    def crossed(self, step: int, images: int) -> bool:
        """True when `step` takes the images seen past a multiple of `images`."""
        return step * self.batch_size // images > (step - 1) * self.batch_size // images

    def checkpoint_inside_epoch(self, progress: EpochProgress) -> None:
        """--checkpoint-minutes: log the steps made so far and save a checkpoint at this step, with its grid,
        so that a crash loses at most those minutes; `--resume` continues inside the epoch."""
        last = progress.first_step + len(progress.pending) - 1
        self.guard.check_finite(progress.pending[-1], self.epochs_done + 1, last)
        progress.earlier = self.log_steps(progress)
        progress.first_step += len(progress.pending)
        progress.pending = []
        if self.state.weights_finite():  # the grid first: a checkpoint found on disk has its grid
            self.write_step_grid(self.steps_done)
            self.save()

    def log_steps(self, progress: EpochProgress) -> dict:
        """Write the steps to metrics.csv and advance the step counter; returns the epoch's step figures
        so far, as lists of floats."""
        values = {k: [as_logged(float(m[k])) for m in progress.pending] for k in self.log.step_columns}
        self.log.append_steps(self.epochs_done + 1, progress.first_step, values)
        self.state.steps_done.assign(progress.first_step - 1 + len(progress.pending))
        return {k: progress.earlier[k] + values[k] for k in self.log.step_columns}

    def save(self) -> None:
        """A checkpoint at the current step, and the time of it (for --checkpoint-minutes)."""
        self.state.save()
        self.saved_at = time.monotonic()

    def stop_on_signal(self, signum: int, progress: EpochProgress | None = None) -> NoReturn:
        """SIGINT/SIGTERM: in the middle of an epoch, log the steps made and checkpoint at this step
        (between epochs the epoch's own checkpoint is the newest); write the grid of this state; then stop."""
        name = signal.Signals(signum).name
        saved = f"the newest checkpoint is at step {self.steps_done}"
        finite = self.state.weights_finite()
        if progress is not None:
            self.log_steps(progress)
            self.reporter.epoch_end(self.epochs_done + 1, self.cfg.epochs, None)
            if finite:
                self.save()
                saved = f"checkpoint saved at step {self.steps_done}"
            else:
                saved = f"weights not finite, so no checkpoint was saved; {saved}"
        if finite:
            self.write_step_grid(self.steps_done)
        self.log.summary(self.summarize("interrupted", f"{name} at step {self.steps_done}"))
        raise TrainingStopped(f"interrupted by {name}; {saved}. Continue with: facegan train --resume {self.run}",
                              128 + signum)

    # --- evaluations and grids -------------------------------------------------------

    def evaluate(self, nets: dict, epoch: int, grid: np.ndarray | None = None) -> dict:
        """SWD of the evaluation set generated by `nets`, logged in evals.csv; the best so far is kept in
        checkpoints/best, and its grid in samples/best.png."""
        result = self.previews.swd(nets)
        self.log.evaluation(epoch, self.steps_done, self.steps_done * self.batch_size, result)
        if result["mean"] < float(self.state.best_swd.numpy()):
            self.state.save_best(result["mean"], epoch)
            if grid is None:
                grid = self.previews.grid(self.previews.fixed_batch(nets))
            imaging.write_png(rundir.best_grid(self.run), grid)
        return result

    def write_step_grid(self, step: int) -> None:
        """The sample grid of the current weights, named by its step (inside an epoch: a checkpoint, a signal,
        or an image-count cadence)."""
        if self.chief:
            grid = self.previews.grid(self.previews.fixed_batch(self.state.generating_nets()))
            self.log.grid(rundir.step_grid(self.run, step), step, grid)

    def worker_mean(self, value: float) -> float:
        """A figure each worker computed for itself, averaged over the workers of a cluster (elsewhere the
        figure itself): generating on each worker may differ in the last bits, and the health guard must
        take the same decision on every worker, or one stops and the others wait for it."""
        if not isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return value
        return float(self.mean_over_workers(tf.constant(value, tf.float32)))

    @cached_property
    def mean_over_workers(self):
        """figure -> its mean over the workers; compiled (run eagerly, the collective warns of its overhead)."""
        return tf.function(lambda figure: self.strategy.reduce(
            tf.distribute.ReduceOp.MEAN, self.strategy.run(lambda: figure), axis=None))

    # --- the end ----------------------------------------------------------------------

    def finish(self) -> None:
        """The networks (the averaged generator side when --ema is on), the evolution GIF, summary.json;
        another worker of a cluster removes its scratch checkpoints instead."""
        if not self.chief:
            shutil.rmtree(self.scratch, ignore_errors=True)
            return
        for name, model in self.state.final_nets().items():
            save_model(model, rundir.network_file(self.run, name))
        frames = [imaging.read_image(p) for p in rundir.epoch_grids(self.run)]
        if frames:
            imaging.write_gif(self.run / rundir.EVOLUTION, frames)
        self.log.summary(self.summarize("completed", None))

    def summarize(self, status: str, reason: str | None) -> dict:
        """summary.json's figures now, and how the run ended."""
        return run_summary(self.cfg, self.log.history, self.state, self.previews.floor,
                           self.previews.eval_settings(), self.strategy, status, reason)
