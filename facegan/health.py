"""The health guard's reading of a run from the figures training already logs (no TensorFlow).

Each check looks at the last `patience` rows of epochs.csv, after the warm-up (the first WARMUP_EPOCHS
epochs, whose figures average over a network that changes fastest, are never judged), and reports a
Sign when every one of them shows the failure:
  d_overpowering  the discriminator wins: real and fake accuracy >= 0.99 in every epoch, and the
                  generator loss rising as a trend (see `rising`), not by noise, or pinned at 20 or more
                  (the discriminator is sure of every fake; its loss can rise no further). A rise counts
                  only for a saturating loss (the cross-entropy, whose gradient vanishes as the
                  discriminator grows sure): under the hinge loss the generator's gradient, -dD(fake), does
                  not, and a discriminator that tells 200 faces from fakes while the generator's faces
                  improve is how a small-data run looks (fastgan on the embedded faces)
  g_overpowering  the discriminator gave up: fake accuracy <= 0.05 and generator loss <= 0.1
                  (the end of the 100-epoch DCGAN run that produced nothing usable)
  mode_collapse   the fixed-latent batch has no variety: its diversity relative to the data's
                  (mean pairwise distance of its images) below `min_diversity` in every epoch, and not
                  rising on a log scale (an untrained generator starts with very little variety and
                  gains it by factors: 9e-5, 1.4e-4, 2.9e-4, ... is learning, not a collapse).
                  Identical images (diversity under NO_VARIETY) are judged over `patience` epochs. A
                  low but nonzero variety is judged only after LOW_VARIETY_WARMUP images, and must last
                  COLLAPSE_WINDOW times as long: a young generator gains variety unevenly (dcgan on
                  celeba-2k: 0.13 to 0.19 of the data's up to 12,000 images, in three seeds), and can dip
                  and climb out (aegan-v5 on the embedded faces: 0.25, then 0.031, 0.020, 0.021, 0.030,
                  0.059 and 0.19 over the next six epochs, then 0.38)
A trend is judged against the figure's own scale and noise: a least-squares line through the window,
whose rise over it must exceed both twice the scatter around the line and TREND_SCALE of the figure's
size. The loop reports a sign when it begins and when it ends (facegan.training.guard). Non-finite steps are
handled in the loop itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ACCURACY_HIGH = 0.99
ACCURACY_LOW = 0.05
G_LOSS_LOW = 0.1
G_LOSS_HIGH = 20.0  # a generator loss this high: the discriminator gives every fake p(real) < 2e-9
WARMUP_EPOCHS = 1
TREND_SCALE = 0.05  # a rise smaller than 5% of the figure's size is noise (a g_loss of 0.338 -> 0.345)
LOG_GROWTH = 0.02  # diversity gaining 2% over the window, beyond its scatter, is rising
NO_VARIETY = 1e-6  # diversity under this (an RMS difference of a millionth) is identical images: no rise redeems it
COLLAPSE_WINDOW = 2  # a low variety that is not identical images must last this many times `patience` epochs
LOW_VARIETY_WARMUP = 20_000  # images trained on before a low variety that is not identical images is judged
ON_COLLAPSE = ("warn", "stop", "rollback")


@dataclass
class Sign:
    check: str
    onset: int  # the first epoch of the window that shows it
    detail: str


def _value(row: dict, key: str) -> float:
    """A figure of an epochs.csv row (a float, or its text) as a float; NaN when absent or empty."""
    value = row.get(key)
    return float(value) if value not in (None, "") else math.nan


def rising(series: list[float], least: float | None = None) -> bool:
    """Whether `series` rises as a trend: the rise of its least-squares line over the window exceeds twice
    the scatter around the line, and `least` (default: TREND_SCALE of the series' mean size). NaN is never
    a rise."""
    values = np.asarray(series, np.float64)
    if len(values) < 2 or not np.isfinite(values).all():
        return False
    x = np.arange(len(values), dtype=np.float64)
    slope, intercept = np.polyfit(x, values, 1)
    rise = slope * (len(values) - 1)
    scatter = np.std(values - (slope * x + intercept))
    return rise > 2.0 * scatter and rise > (TREND_SCALE * np.mean(np.abs(values)) if least is None else least)


def signs(history: list[dict], patience: int, min_diversity: float, images_per_epoch: int,
             saturating: bool = True) -> list[Sign]:
    """The failures that the last `patience` epochs of `history` (epochs.csv rows) all show (a low variety:
    the last COLLAPSE_WINDOW * `patience`, past LOW_VARIETY_WARMUP images at `images_per_epoch`); `saturating`:
    whether the generator's loss saturates as the discriminator grows sure (see d_overpowering)."""
    judged = [row for row in history if _value(row, "epoch") > WARMUP_EPOCHS]
    window = judged[-patience:]
    if len(window) < patience:
        return []
    onset = int(_value(window[0], "epoch"))
    series = {key: [_value(row, key) for row in window] for key in ("d_acc_real", "d_acc_fake", "g_loss")}
    found = []
    real, fake, g_loss = series["d_acc_real"], series["d_acc_fake"], series["g_loss"]
    pinned = all(g >= G_LOSS_HIGH for g in g_loss)
    if all(r >= ACCURACY_HIGH and f >= ACCURACY_HIGH for r, f in zip(real, fake)) and \
            ((saturating and rising(g_loss)) or pinned):
        found.append(Sign("d_overpowering", onset,
                             f"discriminator accuracy >= {ACCURACY_HIGH} on real and fake for {patience} epochs, "
                             f"generator loss {'pinned at' if pinned else 'rising'} "
                             f"{g_loss[0]:.3g} -> {g_loss[-1]:.3g}"))
    if all(f <= ACCURACY_LOW and g <= G_LOSS_LOW for f, g in zip(fake, g_loss)):
        found.append(Sign("g_overpowering", onset,
                             f"discriminator fake accuracy <= {ACCURACY_LOW} and generator loss <= {G_LOSS_LOW} "
                             f"for {patience} epochs: the discriminator gave up"))
    collapse = _mode_collapse(judged, patience, min_diversity, images_per_epoch)
    return found + ([collapse] if collapse else [])


def _mode_collapse(judged: list[dict], patience: int, min_diversity: float, images_per_epoch: int) -> Sign | None:
    """Mode collapse over the judged epochs: identical images for `patience` epochs, or a variety below
    `min_diversity` and not rising for COLLAPSE_WINDOW * `patience` epochs past LOW_VARIETY_WARMUP images."""
    identical = judged[-patience:]
    if all(_value(row, "diversity") < min(NO_VARIETY, min_diversity) for row in identical):  # NaN never counts
        return Sign("mode_collapse", int(_value(identical[0], "epoch")),
                       f"identical samples (diversity under {NO_VARIETY}) for {patience} epochs")
    learned = [row for row in judged if _value(row, "epoch") * images_per_epoch > LOW_VARIETY_WARMUP]
    window = learned[-COLLAPSE_WINDOW * patience:]
    diversity = [_value(row, "diversity") for row in window]
    if len(window) < COLLAPSE_WINDOW * patience or not all(d < min_diversity for d in diversity):
        return None
    if rising([math.log(max(d, NO_VARIETY)) for d in diversity], least=math.log(1.0 + LOG_GROWTH)):
        return None
    return Sign("mode_collapse", int(_value(window[0], "epoch")),
                   f"sample diversity {diversity[-1]:.3g} of the data's, below {min_diversity} "
                   f"and not rising for {len(window)} epochs")
