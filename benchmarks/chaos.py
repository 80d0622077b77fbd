"""A soak test of crash safety: runs on real faces killed with SIGKILL at random moments, resumed each time until
they complete, then compared with an uninterrupted run of the same configuration.

    python benchmarks/chaos.py DATA [--minutes 30] [--models dcgan,wgan-gp,fastgan,aegan-v5,vae]
        [--out /tmp/facegan-chaos] [--kills 4] [--seed 0] [--restart command|resume]

Each model's reference run trains once, whole. Then, until the minutes are up, the models take turns: a run starts
(`facegan train MODEL ... --out RUN`), and each process of it, the first and every restart, is killed by SIGKILL, up
to `--kills` times per run. A run restarts with the same command line (`--restart command`, as a cluster restarts a
job), or with `facegan train --resume RUN` (`--restart resume`). Half of the kills come after a random delay (up to
the reference run's duration); half are aimed: after a random moment, the run directory is watched and the kill sent
as soon as a checkpoint or a file (a grid, the summary) is being written. Where a kill landed is read off what it
left: a `ckpt-N_temp/` folder (a checkpoint write), a `.NAME.*.tmp` file (a grid or another file written whole and
renamed), a log line cut short (a log append), no checkpoint yet from that process (start-up: TensorFlow's import,
compiling, restoring, the first steps), else the steps. A run then completes, and its variables (every one in its
newest checkpoint, bit for bit) and its logs (metrics.csv; epochs.csv and evals.csv without their clock columns) are
compared with the reference's, and no temporary file may be left in it. Runs train in float32 at 32x32x3 on 384
faces, with the EMA and (where the model has a discriminator) augmentation with ADA on, evaluate every 2 epochs and
checkpoint every 0.3 s inside epochs.
Prints each run's kills, where they landed, the resumes, and the differences found; then the totals.
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

COMMON = ["--image-size", "32", "--channels", "3", "--max-images", "384", "--batch-size", "16", "--epochs", "5",
          "--precision", "float32", "--ema", "0.99", "--eval-every", "2", "--eval-images", "64", "--sample-every", "1",
          "--checkpoint-minutes", "0.005"]
AUGMENT = ["--augment", "translation,color,ada"]
CLOCKS = {"images_per_s", "wall_s"}  # columns no two runs share


def command(model: str, data: str, run: Path, resume: bool) -> list[str]:
    """The run's command line; with `resume`, `facegan train --resume RUN` instead."""
    from facegan import registry

    if resume:
        return [sys.executable, "-m", "facegan", "train", "--resume", str(run)]
    options = [*COMMON, *(AUGMENT if registry.get(model).adversarial else [])]
    return [sys.executable, "-m", "facegan", "train", model, "--data", data, *options, "--out", str(run)]


def temporary_files(run: Path) -> list[Path]:
    """What a write in progress leaves: a checkpoint's ckpt-N_temp/, a file's .NAME.*.tmp (written whole, renamed)."""
    return [*(run / "checkpoints").glob("ckpt-*_temp"), *(run / "checkpoints" / "best").glob("ckpt-*_temp"),
            *run.glob(".*.tmp"), *(run / "samples").glob(".*.tmp")]


def landing(run: Path, started: float) -> str:
    """Where a kill landed, from what it left in the run directory (`started`: the process's start, time.time())."""
    left = temporary_files(run)
    if any(path.name.endswith("_temp") for path in left):
        return "checkpoint write"
    if left:
        return "grid or file write"
    for name in ("metrics.csv", "epochs.csv", "evals.csv"):
        path = run / name
        if path.exists() and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
            return "log append"
    saved = [path for path in (run / "checkpoints").glob("ckpt-*.index") if path.stat().st_mtime >= started]
    return "steps" if saved else "start-up"


def attempt(cmd: list[str], run: Path, kill: str | None, delay: float, rng: random.Random) -> str | None:
    """Run one process; kill it as `kill` says ("random": after `delay`; "aimed": at the first write in progress
    after a random moment; None: never). Returns where the kill landed, or None when the process finished first."""
    started = time.time()
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    start = time.monotonic()
    aim_after = start + rng.uniform(0.0, delay)
    while process.poll() is None:
        now = time.monotonic()
        if kill == "random" and now - start >= delay or kill == "aimed" and now >= aim_after and temporary_files(run):
            process.send_signal(signal.SIGKILL)
            process.wait()
            return landing(run, started)
        time.sleep(0.002 if kill == "aimed" else 0.01)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({process.returncode}):\n{process.stderr.read().decode()[-2000:]}")
    return None


def variable_hashes(run: Path) -> dict:
    import numpy as np
    import tensorflow as tf

    path = tf.train.latest_checkpoint(str(run / "checkpoints"))
    return {name: hashlib.sha256(np.asarray(tf.train.load_variable(path, name)).tobytes()).hexdigest()
            for name, _ in tf.train.list_variables(path) if not name.startswith(("save_counter", "_CHECKPOINTABLE"))}


def rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [{k: v for k, v in row.items() if k not in CLOCKS} for row in csv.DictReader(open(path))]


def differences(run: Path, reference: Path) -> list[str]:
    found = [f"variable {name}" for name, digest in variable_hashes(reference).items()
             if variable_hashes(run).get(name) != digest]
    for name in ("metrics.csv", "epochs.csv", "evals.csv"):
        if rows(run / name) != rows(reference / name):
            found.append(name)
    found += [f"left behind: {path.name}" for path in temporary_files(run)]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--models", default="dcgan,wgan-gp,fastgan,aegan-v5,vae")
    parser.add_argument("--out", type=Path, default=Path("/tmp/facegan-chaos"))
    parser.add_argument("--kills", type=int, default=4, help="kills per run at most")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--restart", choices=["command", "resume"], default="command",
                        help="restart a killed run with its own command line, or with --resume")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    models = args.models.split(",")
    args.out.mkdir(parents=True, exist_ok=True)

    durations = {}  # of each reference run, as it ran (the kill delays are drawn up to it)
    for model in models:
        reference = args.out / f"reference-{model}"
        if not (reference / "summary.json").exists():
            shutil.rmtree(reference, ignore_errors=True)
            start = time.monotonic()
            attempt(command(model, args.data, reference, False), reference, None, 0.0, rng)
            (reference / "seconds").write_text(f"{time.monotonic() - start:.1f}")
        durations[model] = float((reference / "seconds").read_text())
        print(f"reference {model}: {durations[model]:.1f} s", flush=True)

    deadline = time.monotonic() + args.minutes * 60
    totals, landed, runs, failed = collections.Counter(), collections.Counter(), 0, 0
    while time.monotonic() < deadline:
        model = models[runs % len(models)]
        run = args.out / f"chaos-{runs:04d}-{model}"
        shutil.rmtree(run, ignore_errors=True)
        kills, resumes, where = 0, 0, []
        while True:
            restart = (run / "config.json").exists()
            kill = rng.choice(["random", "aimed"]) if kills < args.kills else None
            cmd = command(model, args.data, run, restart and args.restart == "resume")
            place = attempt(cmd, run, kill, rng.uniform(0.5, durations[model]), rng)
            resumes += restart
            if place is None:
                break
            kills += 1
            where.append(place)
        found = differences(run, args.out / f"reference-{model}")
        runs += 1
        failed += bool(found)
        totals.update(kills=kills, resumes=resumes)
        landed.update(where)
        print(f"{run.name}: {kills} kills ({', '.join(where) or 'none'}), {resumes} restarts, "
              f"{'differences: ' + ', '.join(found[:5]) if found else 'identical'}", flush=True)
        if not found:
            shutil.rmtree(run)
    print(f"\n{runs} runs of {', '.join(models)} in {args.minutes:g} minutes: {totals['kills']} kills, "
          f"{totals['resumes']} restarts ({args.restart}), {failed} runs with differences")
    for place, count in landed.most_common():
        print(f"  {count:4d} kills during {place}")


if __name__ == "__main__":
    main()
