"""The seed experiments in small form: each seed model as its notebook defines it, trained for a few minutes on
real faces, and reported as the seeds reported it.

    python benchmarks/seeds.py DATA [--minutes 3] [--dcgan-minutes 6] [--out /tmp/facegan-seeds] [--image-size 32]

1. The CelebA notebooks' metrics table, in its layout: the baseline GAN and AE-GAN v1, v4 and v5, each trained
   for --minutes at --image-size (the seeds' 80 px take hours on a CPU), then `facegan blur RUN --data`; a row
   "dataset raw" gives the data's own blur. Columns: blur, the discriminator's losses and accuracies on real and
   fake images, the generator loss, the complexity (trainable and non-trainable parameters of the combined model,
   the discriminator frozen in it) and the latent nodes.
2. The DCGAN notebook's log: dcgan at its own 64x64x1 for --dcgan-minutes, its epochs' d_loss, d_acc_real,
   d_acc_fake and g_loss printed beside the figures the notebook's log shows, with the epochs where the regimes
   of the notebook's clipped cross-entropy appear: d_loss below zero (noisy labels put the real targets above 1)
   and the plateau of a sure discriminator (g_loss 0, d_acc_fake 0).

A run already in --out is reported, not trained again. One run trains at a time; run nothing else meanwhile.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
from pathlib import Path

from quality import facegan, train

TABLE_MODELS = [("Baseline", "gan-baseline"), ("AE-GAN v1", "aegan-v1"), ("AE-GAN v4", "aegan-v4"),
                ("AE-GAN v5", "aegan-v5")]
COMMON = ["--epochs", "100000", "--eval-every", "0", "--checkpoint-minutes", "0", "--sample-every", "1"]
# the notebook's printed log, as quoted by its readers: epoch -> (d_loss, d_fake_acc, g_loss)
NOTEBOOK_LOG = {88: (-0.7624, None, 15.3547), 66: (7.62, 0.0, 0.0), 92: (7.62, 0.0, 0.0)}


def trained(run: Path, data: str, arguments: list[str], minutes: float) -> Path:
    if not (run / "summary.json").exists():
        train(run, data, arguments, minutes, COMMON)
    return run


def blur(run: Path) -> dict:
    result = subprocess.run(facegan("blur", str(run), "--data", "--json"), capture_output=True, text=True,
                            check=True)
    return json.loads(result.stdout)["runs"][str(run)]


def metrics_table(rows: list[tuple[str, dict, dict]]) -> str:
    """The seeds' table: one row per model, and the data's blur as "dataset raw"."""
    head = ["model", "blur", "D loss real", "D loss fake", "D acc real", "D acc fake", "G loss",
            "complexity (trainable / non-trainable)", "latent nodes", "epochs"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines.append(f"| dataset raw | {rows[0][2]['dataset_raw']:.1f} |" + " |" * (len(head) - 2))
    for label, summary, blurred in rows:
        params = summary["params"]
        figures = [f"{summary[key]:.4f}" if summary.get(key) is not None else "-"
                   for key in ("d_loss_real", "d_loss_fake", "d_acc_real", "d_acc_fake", "g_loss")]
        lines.append(f"| {label} | {blurred['blur']:.1f} | " + " | ".join(figures) +
                     f" | {params['trainable']:,} / {params['non_trainable']:,} | {summary['latent_dim']} | "
                     f"{summary['epochs']} |")
    return "\n".join(lines)


def dcgan_log(run: Path) -> str:
    """dcgan's epochs beside the notebook's log, and where its regimes appear."""
    epochs = list(csv.DictReader(open(run / "epochs.csv")))
    lines = ["| epoch | d_loss | d_acc_real | d_acc_fake | g_loss | regime |", "|---:|---:|---:|---:|---:|---|"]
    for row in epochs:
        d_loss, fake_acc, g_loss = float(row["d_loss"]), float(row["d_acc_fake"]), float(row["g_loss"])
        regime = ("d_loss below zero" if d_loss < 0 else
                  "sure discriminator's plateau" if g_loss < 0.01 and fake_acc < 0.01 else "")
        lines.append(f"| {row['epoch']} | {d_loss:.4f} | {float(row['d_acc_real']):.4f} | {fake_acc:.4f} | "
                     f"{g_loss:.4f} | {regime} |")
    below = sum(float(row["d_loss"]) < 0 for row in epochs)
    steps = list(csv.DictReader(open(run / "metrics.csv")))
    step_below = sum(float(row["d_loss"]) < 0 for row in steps)
    top = max(float(row["g_loss"]) for row in steps)
    lines.append("")
    lines.append(f"epochs with d_loss below zero: {below} of {len(epochs)}; steps: {step_below} of {len(steps)}; "
                 f"the largest g_loss of a step: {top:.4f} (the clipped cross-entropy's ceiling: -log(1e-7) = 16.12)")
    lines.append("the notebook's log (100 epochs of 313 steps): " + "; ".join(
        f"epoch {epoch}: d_loss {d:g}" + (f", d_fake_acc {acc:g}" if acc is not None else "") + f", g_loss {g:g}"
        for epoch, (d, acc, g) in sorted(NOTEBOOK_LOG.items())))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--dcgan-minutes", type=float, default=6.0)
    parser.add_argument("--image-size", type=int, default=32, help="the table's models' side (a multiple of 16)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/facegan-seeds"))
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from facegan.data import load_faces

    for size, channels in ((args.image_size, 3), (64, 1)):  # decoded before any clock starts
        load_faces(args.data, size, channels)
    print(f"{os.cpu_count()} CPU cores; {args.data}; the table's models {args.minutes:g} minutes each at "
          f"{args.image_size}x{args.image_size}x3, dcgan {args.dcgan_minutes:g} minutes at 64x64x1\n")
    rows = []
    for label, model in TABLE_MODELS:
        run = trained(args.out / model, args.data, [model, "--image-size", str(args.image_size)], args.minutes)
        rows.append((label, json.loads((run / "summary.json").read_text()), blur(run)))
    print(metrics_table(rows))
    print()
    print(dcgan_log(trained(args.out / "dcgan", args.data, ["dcgan"], args.dcgan_minutes)))


if __name__ == "__main__":
    main()
