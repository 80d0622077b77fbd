"""The health guard: reads a run's health and returns what to do. It changes nothing; the loop acts.

Updates with a non-finite loss or gradient are not applied by the step itself (Family.minimize); after
`bad_steps` of them in a row the guard says to roll back. The collapse checks (facegan.health) warn, stop or roll
back as --on-collapse says; a sign is reported when it begins and when it ends, not every epoch between.
Every event becomes a row of health.csv, which the loop writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from facegan.config import TrainConfig
from facegan.health import signs

EXIT_STOPPED = 3  # the health guard stopped the run


@dataclass(frozen=True)
class Event:
    """One row of health.csv (which check, what it saw, what is done about it) and what the terminal says of it:
    `text`, a warning where `warn`, else a notice (none where empty)."""

    check: str
    detail: str
    action: str
    text: str = ""
    warn: bool = True


@dataclass(frozen=True)
class Decision:
    """What the loop does next: "go" on, "rollback" (to the newest checkpoint, or the newest taken at or before
    the end of `before_epoch`) or "stop"; `status` and `reason` say why, for summary.json and the terminal."""

    action: str = "go"
    status: str = ""
    reason: str = ""
    before_epoch: int | None = None
    events: list[Event] = field(default_factory=list)


class Guard:
    """Watches one run's steps and epochs. Its memory (the refused steps in a row, the signs showing) starts over
    after a rollback (`forget`)."""

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.streak = 0  # refused (non-finite) steps in a row
        self.signs = {}  # the signs now showing -> the epoch each was first reported

    def forget(self) -> None:
        self.streak, self.signs = 0, {}

    def after_step(self, skipped: float) -> Decision:
        """A step's count of refused updates: roll back after `bad_steps` refused steps in a row."""
        self.streak = self.streak + 1 if skipped > 0 else 0
        if self.streak < self.cfg.bad_steps:
            return Decision()
        detail = f"{self.streak} steps in a row with a non-finite loss or gradient were not applied"
        return Decision("rollback", "diverged", f"{self.cfg.bad_steps} steps in a row with a non-finite loss or "
                        "gradient", events=[Event("nonfinite", detail, "rollback")])

    def after_epoch(self, weights_finite: bool) -> Decision:
        """The end of an epoch, before anything is made of it: roll back from non-finite weights."""
        if weights_finite:
            return Decision()
        return Decision("rollback", "diverged", "non-finite weights at the end of an epoch",
                        events=[Event("nonfinite", "non-finite weights at the end of the epoch", "rollback")])

    def judge_epoch(self, history: list[dict], epoch: int, images_per_epoch: int) -> Decision:
        """The collapse checks over the epochs so far (`history`: the rows of epochs.csv, this epoch's last)."""
        cfg = self.cfg
        found = signs(history, cfg.collapse_patience, cfg.min_diversity, images_per_epoch,
                         saturating=cfg.gan_loss != "hinge")
        events = [Event(s.check, s.detail, cfg.on_collapse, f"epoch {epoch}: {s.check}: {s.detail} "
                        f"(--on-collapse {cfg.on_collapse})") for s in found if s.check not in self.signs]
        events += [Event(check, f"ended (began at epoch {began})", "none",
                         f"epoch {epoch}: {check} has ended (it began at epoch {began})", warn=False)
                   for check, began in self.signs.items() if check not in {s.check for s in found}]
        self.signs = {s.check: self.signs.get(s.check, epoch) for s in found}
        if not found or cfg.on_collapse == "warn":
            return Decision(events=events)
        if cfg.on_collapse == "rollback":
            return Decision("rollback", "collapsed", " and ".join(s.check for s in found),
                            before_epoch=min(s.onset for s in found) - 1, events=events)
        return Decision("stop", "collapsed", " and ".join(f"{s.check} ({s.detail})" for s in found), events=events)
