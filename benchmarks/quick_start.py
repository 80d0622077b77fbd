"""The quick start's candidates, side by side: each `facegan train` command on the embedded faces, timed from the
process's start to its end (what a newcomer waits for), then measured by `facegan eval RUN` (SWD x1e3 against the
data, and the real-vs-real floor).

    python benchmarks/quick_start.py [--seeds 0 1] [--out /tmp/facegan-quick-start]
        [--candidate "dcgan --image-size 32 --batch-size 32 --epochs 100"]...

Without --candidate: the README's first command and the DCGAN command it replaced. One run at a time; run nothing
else meanwhile. A run already in --out is measured, not trained again (its time then shows as nan).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
REPLACED = "dcgan --image-size 32 --batch-size 32 --epochs 100"


def readme_command() -> str:
    """The arguments of the README's first `facegan train` command."""
    first = "pip install -e . && facegan train "
    return next(line for line in README.read_text().splitlines() if line.startswith(first))[len(first):]


def facegan(*args: str) -> list[str]:
    return [sys.executable, "-m", "facegan", *args]


def train(command: str, run: Path) -> float:
    """Seconds from start to end of `facegan train COMMAND --out RUN`; nan when the run is already there."""
    if (run / "summary.json").exists():
        return float("nan")
    start = time.monotonic()
    subprocess.run(facegan("train", *shlex.split(command), "--out", str(run)), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start


def measure(run: Path) -> dict:
    result = subprocess.run(facegan("eval", str(run), "--json"), capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--out", type=Path, default=Path("/tmp/facegan-quick-start"))
    parser.add_argument("--candidate", action="append", help="the arguments of a facegan train command")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    print(f"{os.cpu_count()} CPU cores; seeds {' '.join(map(str, args.seeds))}")
    print(f"{'candidate':<62} {'seconds':>14} {'SWD':>14} {'floor':>6}  last grid")
    for candidate in args.candidate or [REPLACED, readme_command()]:
        seconds, swd = [], []
        for seed in args.seeds:
            run = args.out / f"{re.sub(r'[^A-Za-z0-9]+', '-', candidate).strip('-')}-seed{seed}"
            seconds.append(train(f"{candidate} --seed {seed}", run))
            figures = measure(run)
            swd.append(figures["swd"])
        grid = max((run / "samples").glob("*.png"), key=lambda path: path.stat().st_mtime)
        spread = lambda values: f"{statistics.mean(values):.1f} ± {statistics.pstdev(values):.1f}"  # noqa: E731
        print(f"{candidate:<62} {spread(seconds):>14} {spread(swd):>14} {figures['swd_real']:>6.1f}  {grid}",
              flush=True)


if __name__ == "__main__":
    main()
