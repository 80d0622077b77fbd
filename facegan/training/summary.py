"""A run's summary.json, and the parameter counts in it, as pure functions of what the run holds."""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from facegan.checkpoints import TrainState
from facegan.config import TrainConfig
from facegan.distribute import describe


def count_params(model: keras.Model) -> dict:
    """A network's parameters, as the seed notebooks counted them."""
    trainable = int(sum(np.prod(v.shape) for v in model.trainable_weights))
    total = int(sum(np.prod(v.shape) for v in model.weights))
    return {"total": total, "trainable": trainable, "non_trainable": total - trainable}


def complexity(nets: dict) -> dict:
    """The combined model's counts: the generator side trainable, the discriminator frozen inside it."""
    counts = {name: count_params(model) for name, model in nets.items()}
    generator_side = [counts[name] for name in ("encoder", "generator") if name in counts]
    frozen = counts["discriminator"]["total"] if "discriminator" in counts else 0
    return {"trainable": sum(c["trainable"] for c in generator_side),
            "non_trainable": sum(c["non_trainable"] for c in generator_side) + frozen,
            "networks": counts}


def _figure(row: dict, key: str) -> float | None:
    return row[key] if math.isfinite(row.get(key, math.nan)) else None


def run_summary(cfg: TrainConfig, history: list[dict], state: TrainState, floor: dict | None,
                eval_settings: dict | None, strategy: tf.distribute.Strategy, status: str, reason: str | None) -> dict:
    """The figures `facegan compare` shows: the last epoch's (history: the epochs.csv rows), the evaluations'
    (floor: their figures of real against real; the best by --eval-metric), and how the run ended."""
    last = history[-1] if history else {}
    evaluated = [row for row in history if _figure(row, "swd") is not None]
    wall = sum(row["wall_s"] for row in history)
    images = sum(row["images_per_s"] * row["wall_s"] for row in history)
    best = float(state.best_figure.numpy())
    inception = [name for name in ("fid", "kid") if floor and name in floor]  # with --eval-metric fid or kid
    return {
        "model": cfg.model,
        "status": status,
        "reason": reason,
        "epochs": int(last["epoch"]) if history else 0,
        **{name: _figure(last, name) for name in ("d_loss_real", "d_loss_fake", "d_acc_real", "d_acc_fake",
                                                  "g_loss", "ae_loss")},
        "swd": evaluated[-1]["swd"] if evaluated else None,
        "swd_real": floor["swd"] if floor else None,
        **{name: evaluated[-1][name] if evaluated else None for name in inception},
        **{f"{name}_real": floor[name] for name in inception},
        "eval_metric": cfg.eval_metric,
        f"best_{cfg.eval_metric}": best if math.isfinite(best) else None,
        "best_epoch": int(state.best_epoch.numpy()) or None,
        "eval_settings": eval_settings,
        "skipped_steps": int(sum(row["skipped"] for row in history)),
        "rollbacks": int(state.rollbacks.numpy()),
        "params": complexity(state.nets),
        "latent_dim": cfg.latent_dim,
        "ema": cfg.ema or None,
        "replicas": strategy.num_replicas_in_sync,
        "distribution": describe(strategy),
        "images_per_s": images / wall if wall else None,
        "wall_s": wall,
        "precision": cfg.precision,
    }
