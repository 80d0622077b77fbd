"""Images/s of facegan's training step on 1 and on N devices, and the scaling efficiency.

    python benchmarks/distribute.py [--model dcgan] [--batch-size 128] [--steps 5] [--devices 1,2]
                                    [--data DIR --epochs 4] [--xla]

The step is what `facegan train --devices N` runs: the family's step under the tf.distribute
strategy (single for 1 device, mirrored otherwise), the global batch split over the replicas. Each
device count runs in its own process, because logical CPU devices are fixed when TensorFlow starts;
with GPUs the devices are GPUs. Efficiency = (images/s on N) / (N x images/s on 1).

With --data, also the median images/s of whole epochs of `facegan train --devices N` on that data
(after the first epoch, evaluation off): the steps with the input pipeline and what happens between
epochs, which the step alone does not show.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def measure(model: str, devices: int, batch_size: int, steps: int, xla: bool) -> float:
    """Images/s of the compiled, distributed step after two warm-up steps."""
    import keras
    import tensorflow as tf

    from facegan import registry
    from facegan.config import TrainConfig
    from facegan.distribute import POLICIES, make_strategy, resolve_precision
    from facegan.steps import build_family
    from facegan.steps.compile import compile_step

    strategy = make_strategy("mirrored" if devices > 1 else "single", devices)
    cfg = TrainConfig.resolve(model, batch_size=batch_size)
    cfg = cfg.replace(precision=resolve_precision(cfg.precision))
    keras.mixed_precision.set_global_policy(POLICIES[cfg.precision])
    with strategy.scope():
        nets = registry.get(model).build_networks(cfg)
        family = build_family(cfg, nets, xla_networks=xla and strategy.num_replicas_in_sync > 1)
    step = compile_step(strategy, family, "train_step", xla=xla)
    x = tf.random.uniform((batch_size, cfg.image_size, cfg.image_size, cfg.channels), -1.0, 1.0)
    batch = next(iter(strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensors((x, tf.zeros((batch_size,), tf.int32))))))

    def run(n: int) -> None:
        for i in range(n):
            metrics = step(*batch, tf.constant(i, tf.int64))
        float(next(iter(metrics.values())))  # wait for the devices

    run(2)
    start = time.perf_counter()
    run(steps)
    return steps * batch_size / (time.perf_counter() - start)


def epochs_speed(model: str, devices: int, batch_size: int, data: str, epochs: int, xla: bool) -> float:
    """Median images/s of the epochs after the first of `facegan train` on `data` over `devices` devices."""
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "run"
        subprocess.run([sys.executable, "-m", "facegan", "train", model, "--data", data, "--epochs", str(epochs),
                        "--batch-size", str(batch_size), "--devices", str(devices), "--eval-every", "0",
                        "--out", str(run), "--xla" if xla else "--no-xla"], check=True, capture_output=True)
        rows = list(csv.DictReader(open(run / "epochs.csv")))
    return statistics.median(float(row["images_per_s"]) for row in rows[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--devices", default="1,2")
    parser.add_argument("--data", help="also time whole epochs of facegan train on this data")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--xla", action="store_true", help="compile with XLA, as facegan train --xla")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps({"images_per_s": measure(args.model, args.child, args.batch_size, args.steps, args.xla)}))
        return
    counts = [int(n) for n in args.devices.split(",")]
    speeds = {}
    for n in counts:
        output = subprocess.run([sys.executable, __file__, "--model", args.model, "--batch-size", str(args.batch_size),
                                 "--steps", str(args.steps), "--child", str(n), *(["--xla"] if args.xla else [])],
                                check=True, capture_output=True, text=True).stdout
        speeds[n] = json.loads(output.strip().splitlines()[-1])["images_per_s"]
    epochs = {n: epochs_speed(args.model, n, args.batch_size, args.data, args.epochs, args.xla)
              for n in counts} if args.data else {}
    print(f"{args.model}, global batch {args.batch_size}{', XLA' if args.xla else ''}, {os.cpu_count()} CPU cores")
    print("devices  step images/s  speed-up  efficiency" + ("  epoch images/s  epoch/step" if epochs else ""))
    for n in counts:
        speed_up = speeds[n] / speeds[counts[0]]
        line = f"{n:7d}  {speeds[n]:13.1f}  {speed_up:7.2f}x  {speed_up / n:9.0%}"
        if epochs:
            line += f"  {epochs[n]:14.1f}  {epochs[n] / speeds[n]:10.2f}"
        print(line)


if __name__ == "__main__":
    main()
