"""The health guard's reactions, as one object: non-finite streaks, the signs of the collapse checks as they
begin and end, rollbacks to a checkpoint with lower learning rates, and stopping a run.

Updates with a non-finite loss or gradient are not applied by the step itself (Family.minimize); after
`bad_steps` of them in a row the epoch is abandoned (Diverged) and the run rolls back. The collapse checks
(facegan.health) warn, stop or roll back as --on-collapse says. Every event is a row of health.csv.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, NoReturn

from facegan import rundir
from facegan.checkpoints import TrainState
from facegan.config import TrainConfig
from facegan.errors import TrainingStopped
from facegan.health import Symptom, symptoms
from facegan.runlog import RunLog
from facegan.steps import Family
from facegan.training.reporter import Reporter

EXIT_STOPPED = 3  # the health guard stopped the run


class Diverged(Exception):
    """`bad_steps` steps in a row were refused for a non-finite loss or gradient: the epoch is abandoned."""


class Guard:
    """Watches the steps and the epochs of one run; `summarize(status, reason)` gives summary.json's figures
    when it stops the run."""

    def __init__(self, cfg: TrainConfig, run: Path, state: TrainState, family: Family, log: RunLog,
                 reporter: Reporter, summarize: Callable[[str, str | None], dict]):
        self.cfg, self.run, self.state, self.family = cfg, run, state, family
        self.log, self.reporter, self.summarize = log, reporter, summarize
        self.streak = 0  # non-finite steps in a row
        self.signs = {}  # the signs now showing -> the epoch each was first reported

    def check_finite(self, metrics: dict, epoch: int, step: int) -> None:
        """Count the refused (non-finite) steps in a row; raise Diverged after `bad_steps` of them."""
        self.streak = self.streak + 1 if float(metrics["skipped"]) > 0 else 0
        if self.streak >= self.cfg.bad_steps:
            detail = f"{self.streak} steps in a row with a non-finite loss or gradient were not applied"
            self.log.health(epoch, step, "nonfinite", detail, "rollback")
            raise Diverged(f"{self.cfg.bad_steps} steps in a row with a non-finite loss or gradient")

    def judge_epoch(self, epoch: int, images_per_epoch: int) -> list[Symptom]:
        """The collapse checks over the epochs so far. A sign is reported when it begins, and when it ends;
        not every epoch between."""
        cfg, step = self.cfg, int(self.state.steps_done.numpy())
        found = symptoms(self.log.history, cfg.collapse_patience, cfg.min_diversity, images_per_epoch,
                         saturating=cfg.gan_loss != "hinge")
        for symptom in found:
            if symptom.check not in self.signs:
                self.reporter.warning(f"epoch {epoch}: {symptom.check}: {symptom.detail} "
                                      f"(--on-collapse {cfg.on_collapse})")
                self.log.health(epoch, step, symptom.check, symptom.detail, cfg.on_collapse)
        for check in set(self.signs) - {symptom.check for symptom in found}:
            self.reporter.notice(f"epoch {epoch}: {check} has ended (it began at epoch {self.signs[check]})")
            self.log.health(epoch, step, check, f"ended (began at epoch {self.signs[check]})", "none")
        self.signs = {symptom.check: self.signs.get(symptom.check, epoch) for symptom in found}
        return found

    def set_learning_rates(self) -> dict:
        """The configured rates, lowered by rollback_lr for every rollback so far; returns them by side."""
        lowered = self.cfg.rollback_lr ** int(self.state.rollbacks.numpy())
        rates = {side: rate * lowered for side, rate in self.family.learning_rates().items()
                 if side in self.family.optimizers}
        for side, optimizer in self.family.optimizers.items():
            optimizer.learning_rate = rates[side]
        return rates

    def roll_back(self, reason: str, status: str, before_epoch: int | None = None) -> None:
        """Back to the newest checkpoint (or the newest before `before_epoch` ended), learning rates lowered;
        after max_rollbacks of them, stop."""
        cfg, state = self.cfg, self.state
        count = int(state.rollbacks.numpy()) + 1
        if count > cfg.max_rollbacks:
            self.stop_run(status, f"{reason}; {cfg.max_rollbacks} rollback(s) with lower learning rates did not "
                                  "cure it")
        state.roll_back(state.latest if before_epoch is None else state.before(before_epoch))
        rates = self.set_learning_rates()
        steps_done, epochs_done = int(state.steps_done.numpy()), int(state.epochs_done.numpy())
        self.log.truncate(steps_done, epochs_done)
        self.streak, self.signs = 0, {}
        rate = (f"learning rate {rates['g']:.3g}" if len(set(rates.values())) == 1 else
                f"learning rates {rates['g']:.3g} (generator), {rates['d']:.3g} (discriminator)")
        detail = f"{reason}: back to epoch {epochs_done}, step {steps_done}, {rate}"
        self.log.health(epochs_done, steps_done, "rollback", detail, "rollback")
        self.reporter.warning(f"rollback {count}/{cfg.max_rollbacks}: {detail}")

    def stop_run(self, status: str, reason: str) -> NoReturn:
        """End the run: a health.csv row, summary.json, and TrainingStopped with exit code EXIT_STOPPED."""
        epochs_done, steps_done = int(self.state.epochs_done.numpy()), int(self.state.steps_done.numpy())
        self.log.health(epochs_done, steps_done, "stopped", reason, "stop")
        self.log.summary(self.summarize(status, reason))
        raise TrainingStopped(f"training stopped ({status}): {reason}. See {self.run / rundir.HEALTH}", EXIT_STOPPED)
