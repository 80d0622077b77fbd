"""Images/s of the FID Inception features on this machine, and what 10,000 and 50,000 images take.

    python benchmarks/fid_features.py [--images 500] [--size 64]

Times facegan.metrics.inception.features (batches of 50, resampled to 299x299) on random images after one
warm-up batch (tracing), with the real-set cache off.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from facegan.metrics.fid_inception import BATCH  # noqa: E402
from facegan.metrics.inception import features  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    images = np.random.default_rng(0).integers(0, 256, (args.images, args.size, args.size, 3), np.uint8)
    features(images[:BATCH])  # builds the network and traces the step
    start = time.perf_counter()
    features(images)
    rate = args.images / (time.perf_counter() - start)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               "unknown CPU")
    print(f"{cpu}, {os.cpu_count()} cores: {rate:.1f} images/s at {args.size}x{args.size} -> 299x299; "
          f"10,000 images {10_000 / rate / 60:.1f} min, 50,000 images {50_000 / rate / 60:.1f} min")


if __name__ == "__main__":
    main()
