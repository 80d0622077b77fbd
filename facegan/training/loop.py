"""The training loop shared by every model of the registry, read top to bottom in `Trainer.fit`:

    for each epoch (1-based), for each batch:
        step      the compiled step; its figures stay on the device until they are logged
        health    the previous step's refused updates, read once it has finished
        upkeep    what is due at this step: a grid or an evaluation by images seen, a checkpoint by minutes
    at each epoch's end:
        health    its weights
        log       the steps' figures, the epoch's row (averages, diversity, an evaluation when due)
        upkeep    a grid when due, curves.png, the collapse checks, the epoch's checkpoint

One clock: the images seen (steps x the global batch); `facegan.training.cadence` says when each kind of upkeep
is due. Only the loop changes the run's state and its logs: the health guard returns decisions (go on, roll
back, stop) and the loop carries them out. A signal (SIGINT, SIGTERM) stops the loop after the current step, with
a checkpoint there.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import NoReturn

import numpy as np
import tensorflow as tf

from facegan import imaging, registry, rundir
from facegan.checkpoints import TrainState, copy_weights, latest, save_model
from facegan.curves import draw_curves
from facegan.data.pipeline import make_dataset
from facegan.ema import Ema
from facegan.errors import TrainingStopped
from facegan.runlog import RunLog, as_logged
from facegan.steps import build_family
from facegan.steps.compile import compile_step
from facegan.training import cadence
from facegan.training.guard import EXIT_STOPPED, Decision, Guard
from facegan.training.plan import RunPlan
from facegan.training.previews import Previews
from facegan.training.reporter import Reporter
from facegan.training.signals import StopSignals
from facegan.training.summary import run_summary


@dataclass
class StepFigures:
    """The figures of an epoch's steps: those not yet logged (tensors, from step `first` on), and those already
    logged (by a checkpoint inside the epoch, or by an interrupted run), as lists of floats by name."""

    first: int
    logged: dict
    pending: list = field(default_factory=list)


CURVES_SECONDS = 30.0


class Trainer:
    """One run's networks, loss family, state, previews, logs and guard, and the loop over its epochs."""

    def __init__(self, plan: RunPlan, run: Path, reporter: Reporter, initial: dict | None = None):
        cfg = self.cfg = plan.cfg
        self.plan, self.run, self.reporter = plan, run, reporter

        # networks, optimizers, the EMA and the counters, placed by the strategy; another
        # worker of a cluster checkpoints too (the strategy needs every worker to) but to scratch it removes
        self.scratch = None if plan.chief else Path(tempfile.mkdtemp(prefix="facegan-worker-"))
        with plan.strategy.scope():
            nets = registry.get(cfg.model).build_networks(cfg)
            if initial is not None:  # --init: another run's weights, before the EMA copies them
                copy_weights(nets, initial)
            # --xla over several replicas: XLA compiles each network (the whole step, on one: compile_step)
            self.family = build_family(cfg, nets, xla_networks=cfg.xla and plan.strategy.num_replicas_in_sync > 1)
            ema = Ema(nets, cfg.ema, cfg.ema_rampup) if cfg.ema else None
            self.state = TrainState(nets, self.family, ema, self.scratch or rundir.checkpoint_dir(run),
                                    cfg.keep_checkpoints, cfg.keep_every)
        self.steps = {}  # the compiled steps, by the family's step name

        # the sample grids' fixed batch and the evaluation set; the logs; the health guard; when upkeep is due
        self.previews = Previews(cfg, plan.faces, evaluate=plan.chief)
        if (notice := self.previews.eval_notice()) is not None:
            reporter.notice(notice)
        step_columns = list(self.family.metrics)
        epoch_columns = ["epoch", *step_columns, "diversity", *self.previews.figure_names, "images_per_s", "wall_s"]
        self.log = RunLog(run, step_columns, epoch_columns, write=plan.chief, hparams=cfg.to_dict())
        self.guard = Guard(cfg)
        self.grids, self.evaluations = cadence.grids(cfg), cadence.evaluations(cfg)
        self.checkpoints = cadence.checkpoints(cfg)
        self.curves_at = time.monotonic()  # when curves.png was last drawn, or the loop started

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
            _, damaged = self.state.restore_newest(rundir.checkpoint_dir(self.run), set_aside=self.plan.chief)
            for warning in damaged:
                self.reporter.warning(warning)
            self.set_learning_rates()
            self.reporter.notice(f"resumed at epoch {self.epochs_done}, step {self.steps_done}")
        elif self.plan.resume is not None:
            self.reporter.notice("no checkpoint yet: training starts again from step 0")
        if self.state.latest is None:
            self.state.save()
        self.saved_at = time.monotonic()
        self.log.truncate(self.steps_done, self.epochs_done)

    # --- the loop ------------------------------------------------------------------

    def fit(self, signals: StopSignals) -> None:
        """The run's remaining epochs, each read top to bottom (the module's docstring lists the phases)."""
        cfg, plan, state, batch = self.cfg, self.plan, self.state, self.plan.batch_size
        while self.epochs_done < cfg.epochs:
            epoch = self.epochs_done + 1
            step = self.compiled_step(self.family.step_name(epoch))
            done = self.steps_done - (epoch - 1) * plan.steps_per_epoch  # steps of it an interrupted run made
            if not 0 <= done < plan.steps_per_epoch:  # the data's size changed: the epoch starts over
                done = 0
            figures = StepFigures(self.steps_done + 1, self.log.logged_steps(epoch) if done else
                                  {k: [] for k in self.log.step_columns})
            self.reporter.epoch_start(epoch, cfg.epochs, plan.steps_per_epoch, batch)
            start, made, decision = time.perf_counter(), 0, Decision()
            for x, y in self.batches(epoch, done):
                # step: the step's figures stay on the device until they are logged
                number = self.steps_done + 1
                figures.pending.append(step(x, y, tf.constant(number, tf.int64)))
                state.steps_done.assign(number)
                made += 1
                self.reporter.step(done + made, lambda: {k: float(v) for k, v in figures.pending[-1].items()})

                # health: the step before this one has finished, so reading its figures does not wait for it
                if len(figures.pending) > 1:
                    decision = self.step_health(figures.pending[-2], epoch, number - 1)
                    if decision.action != "go":
                        break

                # upkeep due at this step: a grid by images seen; inside the epoch, a signal's stop, and an
                # evaluation by images seen or a checkpoint by minutes (each with the steps so far logged)
                if self.grids.at_step((number - 1) * batch, number * batch):
                    self.write_step_grid(number)
                if done + made == plan.steps_per_epoch:
                    continue  # the epoch's last step: its end does the rest
                if signals.received:
                    self.stop_on_signal(signals.received, epoch, figures)
                evaluation_due = self.evaluations.at_step((number - 1) * batch, number * batch)
                if evaluation_due or self.checkpoint_due():
                    decision = self.step_health(figures.pending[-1], epoch, number)
                    if decision.action != "go":
                        break
                    self.log_steps(epoch, figures)
                    if state.weights_finite():  # the grid first: a checkpoint found on disk has its grid
                        self.write_step_grid(number)
                        self.save()
                if evaluation_due and self.previews.eval_set is not None:
                    self.evaluate(state.generating_nets(), epoch)
            wall = time.perf_counter() - start

            # the epoch's end: the last step's health, then the weights'
            if decision.action == "go" and figures.pending:
                decision = self.step_health(figures.pending[-1], epoch, self.steps_done)
            if decision.action == "go":
                decision = self.guard.after_epoch(state.weights_finite())
                self.log_events(decision, epoch, self.steps_done)
            if decision.action == "rollback":
                self.reporter.epoch_end(epoch, cfg.epochs, None)
                self.roll_back(decision)
                continue

            # log: the steps, and the epoch's row: their averages, the fixed batch's diversity, an evaluation
            values = self.log_steps(epoch, figures)
            state.epochs_done.assign(epoch)
            nets = state.generating_nets()
            generated = self.previews.fixed_batch(nets)
            row = {"epoch": epoch, **{k: float(np.mean(values[k])) for k in self.family.metrics},
                   "skipped": int(np.nansum(values["skipped"])),
                   "diversity": self.worker_mean(self.previews.relative_diversity(generated))}
            row.update(dict.fromkeys(self.previews.figure_names, np.nan))  # filled where the epoch evaluates
            grid = self.previews.grid(generated)
            if self.previews.eval_set is not None and (self.evaluations.at_epoch_end(epoch, cfg.epochs) or
                                                       self.evaluations.at_step((self.steps_done - 1) * batch,
                                                                                self.steps_done * batch)):
                row.update(self.evaluate(nets, epoch, grid))
            row.update(images_per_s=made * batch / wall, wall_s=wall)
            self.log.append_epoch(row)

            # upkeep: the epoch's grid when due; curves.png at epoch ends at most every CURVES_SECONDS (a drawing
            # takes about as long as an epoch of a hundred faces), and at the last
            if plan.chief and self.grids.at_epoch_end(epoch, cfg.epochs):
                self.log.grid(rundir.epoch_grid(self.run, epoch), self.steps_done, grid)
            if plan.chief and (time.monotonic() - self.curves_at >= CURVES_SECONDS or epoch == cfg.epochs):
                draw_curves(self.run)
                self.curves_at = time.monotonic()

            # health: the collapse checks; a rollback abandons the epoch's checkpoint, a stop comes after it
            decision = self.guard.judge_epoch(self.log.history, epoch, plan.steps_per_epoch * batch)
            self.log_events(decision, epoch, self.steps_done)
            if decision.action == "rollback":
                self.reporter.epoch_end(epoch, cfg.epochs, row)
                self.roll_back(decision)
                continue
            state.keep_epoch(epoch)  # before the newest: a kill between the two replays the epoch and keeps it
            self.save()
            self.reporter.epoch_end(epoch, cfg.epochs, row)
            if decision.action == "stop":
                self.stop(decision)
            if signals.received:  # arrived during the epoch's last step or its end: the checkpoint is saved
                self.stop_on_signal(signals.received, epoch)

    def compiled_step(self, name: str):
        """The family's step `name` compiled for the strategy: step(x, y, number) -> figures."""
        if name not in self.steps:
            self.steps[name] = compile_step(self.plan.strategy, self.family, name, self.state.ema, self.cfg.xla)
        return self.steps[name]

    def batches(self, epoch: int, skip: int):
        """The global batches of (1-based) `epoch` after the first `skip`, each split over the replicas of every
        worker: replica r takes rows r*b to (r+1)*b. Each worker reads the same global batches from its own plain
        tf.data pipeline: the iterators of tf.distribute's distributed datasets stall when they are deleted (until
        their per-device autotuning thread wakes up, up to a minute after every epoch)."""
        strategy, size = self.plan.strategy, self.plan.batch_size
        share = size // strategy.num_replicas_in_sync

        def split(batch):
            return strategy.experimental_distribute_values_from_function(
                lambda context: batch[context.replica_id_in_sync_group * share:][:share])

        for x, y in make_dataset(self.plan.faces.images, self.plan.labels, size, self.cfg.seed, epoch,
                                 skip_batches=skip, flip=self.cfg.flip_images):
            yield split(x), split(y)

    # --- what the loop does: logs, checkpoints, rollbacks, stops ------------------------

    def log_steps(self, epoch: int, figures: StepFigures) -> dict:
        """Write the pending steps to metrics.csv; returns the epoch's step figures so far, as lists of floats."""
        values = {k: [as_logged(float(m[k])) for m in figures.pending] for k in self.log.step_columns}
        self.log.append_steps(epoch, figures.first, values)
        figures.logged = {k: figures.logged[k] + values[k] for k in self.log.step_columns}
        figures.first += len(figures.pending)
        figures.pending = []
        return figures.logged

    def step_health(self, figures: dict, epoch: int, step: int) -> Decision:
        """The guard's decision on a finished step's figures (its refused updates), its events logged."""
        decision = self.guard.after_step(float(figures["skipped"]))
        self.log_events(decision, epoch, step)
        return decision

    def log_events(self, decision: Decision, epoch: int, step: int) -> None:
        """The guard's events: health.csv rows, and what the terminal says of them."""
        for event in decision.events:
            self.log.health(epoch, step, event.check, event.detail, event.action)
            if event.text:
                (self.reporter.warning if event.warn else self.reporter.notice)(event.text)

    def checkpoint_due(self) -> bool:
        """--checkpoint-minutes have passed since the last checkpoint (on any worker of a cluster: they all
        checkpoint together)."""
        return self.worker_mean(float(self.checkpoints.after(time.monotonic() - self.saved_at))) > 0

    def save(self) -> None:
        """A checkpoint at the current step, and the time of it (for --checkpoint-minutes)."""
        self.state.save()
        self.saved_at = time.monotonic()

    def set_learning_rates(self) -> dict:
        """The configured rates, lowered by --rollback-lr for every rollback so far; returns them by side."""
        lowered = self.cfg.rollback_lr ** int(self.state.rollbacks.numpy())
        rates = {side: rate * lowered for side, rate in self.family.learning_rates().items()
                 if side in self.family.optimizers}
        for side, optimizer in self.family.optimizers.items():
            optimizer.learning_rate = rates[side]
        return rates

    def roll_back(self, decision: Decision) -> None:
        """Back to the newest checkpoint (or the newest taken at or before the end of decision.before_epoch),
        learning rates lowered; after --max-rollbacks of them, stop."""
        cfg, state = self.cfg, self.state
        count = int(state.rollbacks.numpy()) + 1
        if count > cfg.max_rollbacks:
            self.stop(Decision("stop", decision.status, f"{decision.reason}; {cfg.max_rollbacks} rollback(s) with "
                                                        "lower learning rates did not cure it"))
        state.roll_back(state.latest if decision.before_epoch is None else state.before(decision.before_epoch))
        rates = self.set_learning_rates()
        self.log.truncate(self.steps_done, self.epochs_done)
        self.guard.forget()
        rate = (f"learning rate {rates['g']:.3g}" if len(set(rates.values())) == 1 else
                f"learning rates {rates['g']:.3g} (generator), {rates['d']:.3g} (discriminator)")
        detail = f"{decision.reason}: back to epoch {self.epochs_done}, step {self.steps_done}, {rate}"
        self.log.health(self.epochs_done, self.steps_done, "rollback", detail, "rollback")
        self.reporter.warning(f"rollback {count}/{cfg.max_rollbacks}: {detail}")

    def stop(self, decision: Decision) -> NoReturn:
        """The guard ends the run: a health.csv row, summary.json, and TrainingStopped with exit code 3."""
        self.log.health(self.epochs_done, self.steps_done, "stopped", decision.reason, "stop")
        self.log.summary(self.summarize(decision.status, decision.reason))
        raise TrainingStopped(f"training stopped ({decision.status}): {decision.reason}. See "
                              f"{self.run / rundir.HEALTH}", EXIT_STOPPED)

    def stop_on_signal(self, signum: int, epoch: int, figures: StepFigures | None = None) -> NoReturn:
        """SIGINT/SIGTERM: in the middle of an epoch (`figures` of its steps), log the steps made and checkpoint
        at this step (between epochs the epoch's own checkpoint is the newest); write the grid of this state;
        then stop."""
        name = signal.Signals(signum).name
        saved = f"the newest checkpoint is at step {self.steps_done}"
        finite = self.state.weights_finite()
        if figures is not None:
            self.log_steps(epoch, figures)
            self.reporter.epoch_end(epoch, self.cfg.epochs, None)
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
        """The figures of the evaluation set generated by `nets`, logged in evals.csv; the best so far by
        --eval-metric is kept in checkpoints/best, and its grid in samples/best.png."""
        result = self.previews.evaluate(nets)
        self.log.evaluation(epoch, self.steps_done, self.steps_done * self.plan.batch_size, result)
        if result[self.cfg.eval_metric] < float(self.state.best_figure.numpy()):
            self.state.save_best(result[self.cfg.eval_metric], epoch)
            if grid is None:
                grid = self.previews.grid(self.previews.fixed_batch(nets))
            imaging.write_png(rundir.best_grid(self.run), grid)
        return result

    def write_step_grid(self, step: int) -> None:
        """The sample grid of the current weights, named by its step (inside an epoch: a checkpoint, a signal,
        or an image-count cadence)."""
        if self.plan.chief:
            grid = self.previews.grid(self.previews.fixed_batch(self.state.generating_nets()))
            self.log.grid(rundir.step_grid(self.run, step), step, grid)

    def worker_mean(self, value: float) -> float:
        """A figure each worker computed for itself, averaged over the workers of a cluster (elsewhere the
        figure itself): generating on each worker may differ in the last bits, and the health guard must
        take the same decision on every worker, or one stops and the others wait for it."""
        if not isinstance(self.plan.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return value
        return float(self.mean_over_workers(tf.constant(value, tf.float32)))

    @cached_property
    def mean_over_workers(self):
        """figure -> its mean over the workers; compiled (run eagerly, the collective warns of its overhead)."""
        return tf.function(lambda figure: self.plan.strategy.reduce(
            tf.distribute.ReduceOp.MEAN, self.plan.strategy.run(lambda: figure), axis=None))

    # --- the end ----------------------------------------------------------------------

    def finish(self) -> None:
        """The networks (the averaged generator side when --ema is on), the evolution GIF, summary.json;
        another worker of a cluster removes its scratch checkpoints instead."""
        if not self.plan.chief:
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
                           self.previews.eval_settings(), self.plan.strategy, status, reason)
