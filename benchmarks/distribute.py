"""Images/s of facegan's training step on 1 and on N devices, and the scaling efficiency.

    python benchmarks/distribute.py [--model dcgan] [--batch-size 128] [--steps 5] [--devices 1,2]

The step is what `facegan train --devices N` runs: the family's step under the tf.distribute
strategy (single for 1 device, mirrored otherwise), the global batch split over the replicas. Each
device count runs in its own process, because logical CPU devices are fixed when TensorFlow starts;
with GPUs the devices are GPUs. Efficiency = (images/s on N) / (N x images/s on 1).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def measure(model: str, devices: int, batch_size: int, steps: int) -> float:
    """Images/s of the compiled, distributed step after two warm-up steps."""
    import keras
    import tensorflow as tf

    from facegan import registry
    from facegan.config import TrainConfig
    from facegan.distribute import make_strategy
    from facegan.steps import FAMILIES
    from facegan.train import POLICIES, compile_step, resolve_precision

    strategy = make_strategy("mirrored" if devices > 1 else "single", devices)
    cfg = TrainConfig.resolve(model, batch_size=batch_size)
    cfg.precision = resolve_precision(cfg.precision)
    keras.mixed_precision.set_global_policy(POLICIES[cfg.precision])
    with strategy.scope():
        nets = registry.get(model).build_networks(cfg)
        family = FAMILIES[registry.get(model).steps](cfg, nets, loss_scaling=cfg.precision == "float16")
    step = compile_step(strategy, family, "train_step")
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--devices", default="1,2")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps({"images_per_s": measure(args.model, args.child, args.batch_size, args.steps)}))
        return
    counts = [int(n) for n in args.devices.split(",")]
    speeds = {}
    for n in counts:
        output = subprocess.run([sys.executable, __file__, "--model", args.model, "--batch-size", str(args.batch_size),
                                 "--steps", str(args.steps), "--child", str(n)],
                                check=True, capture_output=True, text=True).stdout
        speeds[n] = json.loads(output.strip().splitlines()[-1])["images_per_s"]
    print(f"{args.model}, global batch {args.batch_size}, {os.cpu_count()} CPU cores")
    print("devices  images/s  speed-up  efficiency")
    for n in counts:
        print(f"{n:7d}  {speeds[n]:8.1f}  {speeds[n] / speeds[counts[0]]:7.2f}x  {speeds[n] / (n * speeds[counts[0]]):9.0%}")


if __name__ == "__main__":
    main()
