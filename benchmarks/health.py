"""The health guard on a labelled set of runs: healthy ones must raise no sign, broken ones the right sign
within 3 epochs of its onset.

    python benchmarks/health.py [--out /tmp/facegan-health] [--celeba ../shared/data/celeba-2k] [--only NAME...]
                                [--seed N]

Each run trains once with --on-collapse warn (runs already in --out are reused), then the guard's
checks (facegan.health.signs) are replayed epoch by epoch over its epochs.csv, as the loop reads
them, so that a change to the checks is measured without training again. --seed N (default 0) trains
every run with that seed, in runs named NAME-seedN (seed 0 keeps the plain names). A run that diverges is read
from its health.csv (non-finite steps, rollbacks, the stop). Prints a confusion table.

Healthy: the README's first command; aegan-v5 for 100 epochs and vae on the embedded faces; dcgan
and wgan-gp for 25 epochs on celeba-2k. Broken, by construction (embedded faces, 32x32): a frozen
generator (only the discriminator learns), a generator of one image, a learning rate that diverges,
and a discriminator whose learning rate is 100 times the generator's.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from facegan import registry  # noqa: E402
from facegan.config import TrainConfig, read_record  # noqa: E402
from facegan.errors import TrainingStopped  # noqa: E402
from facegan.health import WARMUP_EPOCHS, signs  # noqa: E402
from facegan.steps.gan import GanFamily  # noqa: E402
from facegan.training import train  # noqa: E402

SMALL = dict(image_size=32, batch_size=32, epochs=30, eval_every=0)
ONSET = WARMUP_EPOCHS + 1  # the broken runs are broken from the start: the first epoch the guard judges


def discriminator_only(self, x, y):
    with tf.GradientTape() as tape:
        losses, m = self.forward(x, y)
    return {**m, "skipped": self.minimize(tape, losses["d_loss"], self.discriminator.trainable_variables,
                                          self.optimizers["d"])}


class ConstantImage(keras.layers.Layer):
    """A generator that ignores its latent: one learnable image for every sample."""

    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        self.shape_ = shape

    def build(self, input_shape):
        self.image = self.add_weight(shape=self.shape_, initializer="random_normal")

    def call(self, z):
        return keras.ops.tanh(self.image)[None] + keras.ops.reshape(0.0 * z[:, :1], (-1, 1, 1, 1))


@contextmanager
def patched(owner, name, value):
    saved = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, saved)


def one_image_generator():
    build = registry.ModelSpec.build_networks

    def constant(spec, cfg):
        nets = build(spec, cfg)
        shape = (cfg.image_size, cfg.image_size, cfg.channels)
        nets["generator"] = keras.Sequential([keras.Input((cfg.latent_dim,)), ConstantImage(shape)])
        return nets
    return patched(registry.ModelSpec, "build_networks", constant)


def cases(celeba: str) -> list[tuple[str, str | None, dict, object]]:
    """(name, the sign it must raise or None for a healthy run, TrainConfig options, a patch or None)."""
    return [
        ("readme-first-command", None, dict(model="dcgan", image_size=32, batch_size=32, epochs=100), None),
        ("aegan-v5-embedded", None, dict(model="aegan-v5", epochs=100), None),
        ("vae-embedded", None, dict(model="vae", epochs=100), None),
        ("dcgan-celeba-2k", None, dict(model="dcgan", data=celeba, epochs=25), None),
        ("wgan-gp-celeba-2k", None, dict(model="wgan-gp", data=celeba, epochs=25), None),
        ("frozen-generator", "d_overpowering", dict(model="dcgan", **SMALL), "frozen"),
        ("one-image-generator", "mode_collapse", dict(model="dcgan", **SMALL), "one_image"),
        ("diverging-lr", "diverged", dict(model="dcgan", lr=1e12, bad_steps=3, **SMALL), None),
        ("discriminator-lr-x100", "d_overpowering", dict(model="dcgan", d_lr=0.02, **SMALL), None),
    ]


def patch(kind):
    if kind == "frozen":
        return patched(GanFamily, "train_step", discriminator_only)
    if kind == "one_image":
        return one_image_generator()
    return patched(os, "name", os.name)  # nothing


def trained(run: Path, options: dict, kind) -> float:
    """Train the run unless it is already there; its wall time in seconds (0 when reused)."""
    if (run / "summary.json").exists():
        return 0.0
    options = dict(options)
    cfg = TrainConfig.resolve(options.pop("model"), on_collapse="warn", **options)
    start = time.perf_counter()
    with patch(kind):
        try:
            train(cfg, out=run)
        except TrainingStopped:
            pass  # a diverging run stops: its health.csv says why
    return time.perf_counter() - start


def replayed(run: Path) -> list[tuple[int, str]]:
    """(epoch, sign) each time a sign begins, as the loop reads epochs.csv epoch by epoch; and the
    non-finite events of health.csv."""
    cfg, data = TrainConfig.read(run), read_record(run)["data"]
    per_epoch = cfg.images_per_epoch(data["images"])
    batch_size = min(cfg.batch_size, per_epoch)  # as facegan.training.plan settles it
    images_per_epoch = per_epoch // batch_size * batch_size
    history = list(csv.DictReader(open(run / "epochs.csv"))) if (run / "epochs.csv").exists() else []
    raised, showing = [], set()
    for n in range(1, len(history) + 1):
        found = {s.check for s in signs(history[:n], cfg.collapse_patience, cfg.min_diversity, images_per_epoch,
                                           saturating=cfg.gan_loss != "hinge")}
        raised += [(int(history[n - 1]["epoch"]), check) for check in sorted(found - showing)]
        showing = found
    health = list(csv.DictReader(open(run / "health.csv"))) if (run / "health.csv").exists() else []
    nonfinite = [int(row["epoch"]) for row in health if row["event"] == "nonfinite"]
    if nonfinite:
        raised.append((nonfinite[0], "diverged"))
    return raised


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/facegan-health"))
    parser.add_argument("--celeba", default=str(Path(__file__).resolve().parents[2] / "shared/data/celeba-2k"))
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tf.get_logger().setLevel("ERROR")
    print(f"{'run':<24} {'label':<16} {'signs raised (epoch: sign)':<44} {'verdict':<8} {'train s':>8}")
    right = 0
    chosen = [c for c in cases(args.celeba) if not args.only or c[0] in args.only]
    for name, expected, options, kind in chosen:
        run = args.out / (f"{name}-seed{args.seed}" if args.seed else name)
        seconds = trained(run, dict(options, seed=args.seed), kind)
        raised = replayed(run)
        if expected is None:
            verdict = "ok" if not raised else "FALSE"
        else:
            hits = [epoch for epoch, sign in raised if sign == expected]
            verdict = "ok" if hits and hits[0] <= ONSET + 3 else ("LATE" if hits else "MISSED")
        right += verdict == "ok"
        shown = ", ".join(f"{epoch}: {sign}" for epoch, sign in raised) or "-"
        print(f"{name:<24} {expected or 'healthy':<16} {shown:<44} {verdict:<8} {seconds:>8.0f}", flush=True)
    print(f"{right}/{len(chosen)} runs judged right (healthy: no sign; broken: the right sign by epoch {ONSET + 3}, "
          f"3 epochs after its onset, epoch {ONSET}, the first the guard judges)")


if __name__ == "__main__":
    main()
