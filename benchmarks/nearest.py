"""`facegan nearest` against the original notebook's per-image Python loop, on the same data.

    python benchmarks/nearest.py [--train 10000] [--size 64] [--samples 15] [--calibration 100]

Random uint8 images stand in for faces: the work is the same for any pixels.
"""

import argparse
import time

import numpy as np

from facegan.analysis.nearest import nearest, split_held_out


def notebook_loop(queries, train):
    """What the notebook did: for each generated image, a Python loop over every training image."""
    found = []
    for q in queries.astype(np.float32) / 127.5 - 1:
        best, best_j = np.inf, -1
        for j, t in enumerate(train):
            d = np.mean(np.abs(q - (t.astype(np.float32) / 127.5 - 1)))
            if d < best:
                best, best_j = d, j
        found.append(best_j)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=10000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--calibration", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (args.train, args.size, args.size, 1), np.uint8)
    samples = rng.integers(0, 256, (args.samples, args.size, args.size, 1), np.uint8)

    start = time.perf_counter()
    index, _ = nearest(samples, train, "l1")
    vectorized = time.perf_counter() - start
    held, rest = split_held_out(len(train), 0.1, 0)
    start = time.perf_counter()
    nearest(train[held[:args.calibration]], train[rest], "l1")
    calibration = time.perf_counter() - start
    start = time.perf_counter()
    looped = notebook_loop(samples, train)
    loop = time.perf_counter() - start
    assert list(index) == looped, "the two searches disagree"
    print(f"{args.samples} samples vs {args.train} training images of {args.size}x{args.size}, L1:")
    print(f"  facegan nearest (vectorized)   {vectorized:7.2f} s")
    print(f"  notebook per-image loop        {loop:7.2f} s   ({loop / vectorized:.1f}x slower), same answers")
    print(f"  + calibration, {min(args.calibration, len(held))} held-out vs {len(rest)}  {calibration:7.2f} s"
          f"   (search + calibration: {vectorized + calibration:.2f} s)")


if __name__ == "__main__":
    main()
