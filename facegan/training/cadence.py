"""When the recurring work of a run is due: sample grids, evaluations, checkpoints.

The run's clock is the count of images seen (steps x the global batch), as StyleGAN2-ADA counts kimg; epochs
stay the user's unit for a run's length and its logs. A `Cadence` answers "is it due?" for one kind of work,
from the options that set it: every N epochs (--sample-every 5, --eval-every 5), each time the images seen pass
a multiple of a count (--sample-every 50k, --eval-every 2M), or after some minutes (--checkpoint-minutes).
"""

from __future__ import annotations

from dataclasses import dataclass

from facegan.config import TrainConfig, parse_cadence


@dataclass(frozen=True)
class Cadence:
    """Due at the end of every `epochs`-th epoch (and of the last, with `last`), at the step that takes the
    images seen past a multiple of `images`, or `minutes` after it was last done; 0 turns a clock off."""

    epochs: int = 0
    images: int = 0
    minutes: float = 0.0
    last: bool = False

    @property
    def on(self) -> bool:
        return bool(self.epochs or self.images or self.minutes or self.last)

    def __str__(self) -> str:
        """"every 5 epochs", "every 50000 images", as the terminal says it."""
        return f"every {self.images} images" if self.images else f"every {self.epochs} epoch(s)"

    def at_step(self, images_before: int, images_now: int) -> bool:
        """Due at a step that took the images seen from `images_before` to `images_now`."""
        return bool(self.images) and images_now // self.images > images_before // self.images

    def at_epoch_end(self, epoch: int, epochs: int) -> bool:
        """Due at the end of (1-based) `epoch` of `epochs`."""
        return bool(self.epochs) and epoch % self.epochs == 0 or self.last and epoch == epochs

    def after(self, seconds: float) -> bool:
        """Due `seconds` after it was last done."""
        return bool(self.minutes) and seconds >= 60 * self.minutes


def recurring(option: str, every: str, epochs: int) -> Cadence:
    """Every N epochs, or each time the images seen pass a multiple of a count (then at the last epoch too), as
    `every` says it (option's "5", "50k"); "" or "0": ten times over a run of `epochs`."""
    every_epochs, images = parse_cadence(option, every)
    return Cadence(epochs=every_epochs or (epochs if images else max(1, epochs // 10)), images=images, last=True)


def grids(cfg: TrainConfig) -> Cadence:
    """Sample grids: as --sample-every says, always at the last epoch."""
    return recurring("--sample-every", cfg.sample_every, cfg.epochs)


def evaluations(cfg: TrainConfig) -> Cadence:
    """Evaluations: as --eval-every says; --eval-every 0: never."""
    return Cadence() if cfg.eval_every == "0" else recurring("--eval-every", cfg.eval_every, cfg.epochs)


def checkpoints(cfg: TrainConfig) -> Cadence:
    """Checkpoints: at the end of every epoch, and --checkpoint-minutes after the last inside one."""
    return Cadence(epochs=1, minutes=cfg.checkpoint_minutes)
