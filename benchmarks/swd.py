"""What an SWD evaluation costs: the figure of `facegan eval` (generated and noise floor against the
reference, three sets) and of an evaluation during training (generated against the reference).

    python benchmarks/swd.py [--size 64] [--sizes 256,2048]

Random uint8 images stand in for faces: the work (pyramid, patches, projections, sorting) is the
same for any pixels. Also the share of the time spent sorting, and the sort on one core against
the sort spread over every core.
"""

import argparse
import os
import time

import numpy as np

from facegan.metrics import swd


def seconds(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--sizes", default="256,2048")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{os.cpu_count()} CPU cores, images {args.size}x{args.size}, levels {swd.resolutions(args.size)}")
    print("images  channels  training eval (2 sets) s  facegan eval (3 sets) s")
    for n in map(int, args.sizes.split(",")):
        for channels in (1, 3):
            sets = [rng.integers(0, 256, (n, args.size, args.size, channels), dtype=np.uint8) for _ in range(3)]
            training = seconds(swd.sliced_wasserstein, sets[0], sets[1:2])
            command = seconds(swd.sliced_wasserstein, sets[0], sets[1:])
            print(f"{n:6d}  {channels:8d}  {training:24.2f}  {command:23.2f}")
    rows = rng.standard_normal((3, swd.DIRECTIONS_PER_REPEAT, 2048 * swd.PATCHES_PER_IMAGE)).astype(np.float32)
    serial = seconds(lambda a: a.sort(axis=-1), rows.copy())
    spread = seconds(swd._sort_rows, rows.copy())
    print(f"sorting one repeat of 3 sets of 2048 images: one core {serial:.2f} s, every core {spread:.2f} s "
          f"({serial / spread:.2f}x)")


if __name__ == "__main__":
    main()
