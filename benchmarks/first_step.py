"""Seconds from a process's start to its first training step, from an image folder (its first run, which decodes
it; and a later one, which maps the cache) and from the file `facegan dataset` packed of it.

    python benchmarks/first_step.py DATA [--model dcgan] [--image-size 64] [--channels 3]

Each case is a fresh process (`facegan.train` with a Reporter that notes the first step, then stops the run), with a
cache folder of its own where the case asks for a first decode. Prints the seconds of each case and their ratios.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import os, sys, time
start = float(sys.argv[1])
import facegan
from facegan import training
from facegan.config import TrainConfig

class FirstStep(training.Reporter):
    def step(self, done, latest):
        print(f"{time.time() - start:.2f}", flush=True)
        os._exit(0)

cfg = TrainConfig.resolve(sys.argv[2], data=sys.argv[3], image_size=int(sys.argv[4]), channels=int(sys.argv[5]),
                          epochs=1, eval_every=0)
training.train(cfg, out=sys.argv[6], reporter=FirstStep())
"""


def first_step(args, data: str, cache: Path, out: Path) -> float:
    env = {**os.environ, "FACEGAN_CACHE": str(cache), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", CHILD, str(time.time()), args.model, data, str(args.image_size),
                             str(args.channels), str(out)], capture_output=True, text=True, env=env, check=True)
    return float(result.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--channels", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        packed = folder / "packed.npy"
        subprocess.run([sys.executable, "-m", "facegan", "dataset", args.data, str(packed), "--image-size",
                        str(args.image_size), "--channels", str(args.channels)], check=True, capture_output=True,
                       env={**os.environ, "FACEGAN_CACHE": str(folder / "pack-cache")})
        seconds = {"folder, first run (decodes)": first_step(args, args.data, folder / "cache", folder / "run1"),
                   "folder, cached": first_step(args, args.data, folder / "cache", folder / "run2"),
                   "packed file": first_step(args, str(packed), folder / "empty-cache", folder / "run3")}
    print(f"{args.model} on {args.data} at {args.image_size}x{args.image_size}x{args.channels}, {os.cpu_count()} CPU "
          "cores: seconds from the process's start to its first step")
    for case, value in seconds.items():
        print(f"  {case:<28} {value:6.2f} s   {value / seconds['packed file']:.2f}x the packed file's")


if __name__ == "__main__":
    main()
