"""The health guard's reading of a run from the figures training already logs (no TensorFlow).

Each check looks at the last `patience` rows of epochs.csv and reports a Symptom when every one
of them shows the failure:
  d_overpowering  the discriminator wins: real and fake accuracy >= 0.95, and the generator loss
                  higher at the end of the window than at its start
  g_overpowering  the discriminator gave up: fake accuracy <= 0.05 and generator loss <= 0.1
                  (the end of the 100-epoch DCGAN run that produced nothing usable)
  mode_collapse   the fixed-latent batch has no variety: its diversity relative to the data's
                  (mean pairwise distance of its images) below `min_diversity` and not rising
                  (an untrained generator starts with little variety and gains it: not a collapse)
Non-finite steps are handled in the loop itself (see facegan.train).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ACCURACY_HIGH = 0.95
ACCURACY_LOW = 0.05
G_LOSS_LOW = 0.1
RISING = 1.1  # diversity rises when it ends above 1.1 times (plus 1e-3) where the window began
ON_COLLAPSE = ("warn", "stop", "rollback")


@dataclass
class Symptom:
    check: str
    onset: int  # the first epoch of the window that shows it
    detail: str


def _value(row: dict, key: str) -> float:
    """A figure of an epochs.csv row (a float, or its text) as a float; NaN when absent or empty."""
    value = row.get(key)
    return float(value) if value not in (None, "") else math.nan


def symptoms(history: list[dict], patience: int, min_diversity: float) -> list[Symptom]:
    """The failures that the last `patience` epochs of `history` (epochs.csv rows) all show."""
    window = history[-patience:]
    if len(window) < patience:
        return []
    onset = int(_value(window[0], "epoch"))
    series = {key: [_value(row, key) for row in window] for key in ("d_acc_real", "d_acc_fake", "g_loss", "diversity")}
    found = []
    real, fake, g_loss = series["d_acc_real"], series["d_acc_fake"], series["g_loss"]
    if all(r >= ACCURACY_HIGH and f >= ACCURACY_HIGH for r, f in zip(real, fake)) and g_loss[-1] > g_loss[0]:
        found.append(Symptom("d_overpowering", onset,
                             f"discriminator accuracy >= {ACCURACY_HIGH} on real and fake for {patience} epochs, "
                             f"generator loss rising {g_loss[0]:.3g} -> {g_loss[-1]:.3g}"))
    if all(f <= ACCURACY_LOW and g <= G_LOSS_LOW for f, g in zip(fake, g_loss)):
        found.append(Symptom("g_overpowering", onset,
                             f"discriminator fake accuracy <= {ACCURACY_LOW} and generator loss <= {G_LOSS_LOW} "
                             f"for {patience} epochs: the discriminator gave up"))
    diversity = series["diversity"]
    rising = diversity[-1] > RISING * diversity[0] + 1e-3
    if all(d < min_diversity for d in diversity) and not rising:  # NaN never counts
        found.append(Symptom("mode_collapse", onset,
                             f"sample diversity {diversity[-1]:.3g} of the data's, below {min_diversity} "
                             f"and not rising for {patience} epochs"))
    return found
