"""One prepared check of every GPU path, for the few minutes a GPU is at hand.

    python benchmarks/gpu_check.py [--out gpu_check.json] [--models dcgan,fastgan] [--smoke]

Parts, each in a process of its own (a hang or a crash costs only that part, and each starts with the GPU's memory
free) under its own time limit; a failing part is recorded with its error and the check goes on:
  devices    the GPUs, their compute capability, the driver (nvidia-smi), the CUDA and cuDNN versions TensorFlow
             was built with, and the precision `--precision auto` picks
  steps      per model (64x64x3, batch 128): images/s of facegan's compiled step (what `facegan train` runs) in
             float32, float16 (loss-scaled) and bfloat16, each with and without XLA, beside the same networks in
             stock Keras layers trained by the hand-written step of the TensorFlow DCGAN tutorial
             (benchmarks/train_step.py); peak GPU memory of each
  batch      per model: the largest power-of-two batch whose float16 step runs
  train      `facegan train dcgan` for 300 steps on generated 64x64x3 faces with `--precision auto`: finite
             losses, a checkpoint, then a resume that adds an epoch
  mirrored   with two or more GPUs: images/s of the dcgan step on one GPU and on all (batch 128 per GPU), and
             the scaling efficiency
Writes the JSON file and prints a table. `--smoke` runs every part at tiny sizes for a step or two, on whatever
devices there are (the test suite runs it on the CPU, so that the check cannot rot before a GPU appears).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the parts build and time as benchmarks/train_step.py does (imported in them)
PRECISIONS = ("float32", "float16", "bfloat16")
LIMITS = {"devices": 30, "steps": 200, "batch": 90, "train": 100, "mirrored": 60}  # seconds: 8 minutes in all
SIZES = {False: {"image_size": 64, "batch": 128, "steps": 20, "train_steps": 300, "largest": 8192},
         True: {"image_size": 16, "batch": 4, "steps": 1, "train_steps": 6, "largest": 8}}


# --- the parts, each run in a child process ----------------------------------------------------------------

RESULT: dict = {}  # the part's figures so far, written after each (a part cut off by its limit keeps them)
RESULT_FILE: Path | None = None


def note(key: str, value) -> None:
    RESULT[key] = value
    print(key, value, flush=True)
    RESULT_FILE.write_text(json.dumps(RESULT))


def part_devices(args) -> dict:
    import tensorflow as tf

    from facegan.distribute import resolve_precision

    gpus = tf.config.list_physical_devices("GPU")
    build = tf.sysconfig.get_build_info()
    try:
        driver = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=20).stdout.strip().splitlines()
    except (OSError, subprocess.TimeoutExpired) as error:
        driver = [f"nvidia-smi: {error}"]
    return {"tensorflow": tf.__version__, "cuda": build.get("cuda_version"), "cudnn": build.get("cudnn_version"),
            "gpus": [{"name": tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name),
                      "compute_capability": tf.config.experimental.get_device_details(gpu).get("compute_capability")}
                     for gpu in gpus],
            "nvidia_smi": driver, "auto_precision": resolve_precision("auto"), "cpu_cores": os.cpu_count()}


def setup(model: str, precision: str, batch: int, image_size: int):
    """(cfg, family, x, y) of `model` in `precision` at batch `batch`, 3 channels, as benchmarks/train_step.py
    builds them."""
    from train_step import build

    return build(model, precision, batch, image_size=image_size, channels=3)


def images_per_s(run, batch: int, steps: int) -> float:
    """Images/s of `run(n)` (n steps of `batch` images, train_step.loop) over `steps` steps after two warm-up
    steps (tracing and compiling)."""
    from train_step import timed

    return batch / timed(run, steps)


def gpu_memory() -> tuple:
    """(reset, peak): reset the first GPU's peak memory statistic; the peak since, in MiB (None without a GPU)."""
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        return (lambda: None), (lambda: None)
    return (lambda: tf.config.experimental.reset_memory_stats("GPU:0"),
            lambda: round(tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2 ** 20, 1))


def facegan_step(family, xla: bool, strategy=None):
    import tensorflow as tf

    from facegan.steps.compile import compile_step

    compiled = compile_step(strategy or tf.distribute.get_strategy(), family, "train_step", None, xla)
    number = tf.constant(1, tf.int64)
    return lambda x, y: compiled(x, y, number)


def part_steps(args) -> dict:
    from train_step import handwritten_runner, loop

    size = SIZES[args.smoke]
    reset, peak = gpu_memory()
    for model in args.models:
        for precision in PRECISIONS:
            for xla in (False, True):
                key = f"{model} {precision}{' xla' if xla else ''}"
                try:
                    cfg, family, x, y = setup(model, precision, size["batch"], size["image_size"])
                    reset()
                    run = loop(facegan_step(family, xla), x, y)
                    note(key, {"images_per_s": round(images_per_s(run, size["batch"], size["steps"]), 1),
                               "peak_mib": peak()})
                except Exception as error:  # recorded; the next configuration is tried
                    note(key, {"error": first_line(error)})
            key = f"{model} {precision} hand-written keras"
            try:
                cfg, family, x, y = setup(model, precision, size["batch"], size["image_size"])
                run = handwritten_runner(cfg, family, x, y)
                reset()
                note(key, {"images_per_s": round(images_per_s(run, size["batch"], size["steps"]), 1),
                           "peak_mib": peak()})
            except Exception as error:
                note(key, {"error": first_line(error)})
    return RESULT


def part_batch(args) -> dict:
    """The largest power-of-two batch whose float16 step runs, per model (doubling until it fails)."""
    size = SIZES[args.smoke]
    for model in args.models:
        batch, largest = 2, None
        while batch <= size["largest"]:
            try:
                cfg, family, x, y = setup(model, "float16", batch, size["image_size"])
                float(next(iter(facegan_step(family, False)(x, y).values())))
                largest = batch
            except Exception as error:  # out of memory, as a ResourceExhaustedError or otherwise
                note(f"{model} failed at", {"batch": batch, "error": first_line(error)})
                break
            batch *= 2
        note(model, largest)
    return RESULT


def part_train(args) -> dict:
    """A real run: facegan train on generated faces, then a resume."""
    import numpy as np

    size = SIZES[args.smoke]
    batch = 64 if not args.smoke else 4
    steps_per_epoch = max(1, size["train_steps"] // 3)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "faces.npy"
        rng = np.random.default_rng(0)
        np.save(data, rng.integers(0, 256, (steps_per_epoch * batch, size["image_size"], size["image_size"], 3),
                                   np.uint8))
        run = Path(folder) / "run"
        common = ["--eval-every", "0"]
        first = facegan_cli("train", "dcgan", "--data", str(data), "--image-size", str(size["image_size"]),
                            "--channels", "3", "--batch-size", str(batch), "--epochs", "3", "--precision", "auto",
                            "--split", "all", "--out", str(run), *common)
        rows = (run / "metrics.csv").read_text().splitlines()[1:]
        losses = np.array([[float(v) for v in row.split(",")[2:]] for row in rows])
        checkpoints = sorted(p.name for p in (run / "checkpoints").glob("ckpt-*.index"))
        resumed = facegan_cli("train", "--resume", str(run), "--epochs", "4")
        summary = json.loads((run / "summary.json").read_text())
        return {"steps": len(rows), "finite": bool(np.isfinite(losses).all()), "checkpoints": checkpoints,
                "precision": summary["precision"], "images_per_s": summary["images_per_s"],
                "resumed_to_epoch": summary["epochs"], "seconds": [first, resumed]}


def facegan_cli(*arguments: str) -> float:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "facegan", *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"facegan {' '.join(arguments[:2])} exited {result.returncode}: {result.stderr[-600:]}")
    return round(time.perf_counter() - start, 1)


def part_mirrored(args) -> dict:
    import tensorflow as tf

    from facegan.distribute import make_strategy

    gpus = len(tf.config.list_physical_devices("GPU"))
    if gpus < 2 and not args.smoke:
        return {"skipped": f"{gpus} GPU: scaling needs two or more"}
    replicas = max(gpus, 2)
    size = SIZES[args.smoke]
    strategy = make_strategy("mirrored", replicas)  # without GPUs: the CPU split in two, before it starts
    from train_step import loop

    _, family, x, y = setup("dcgan", "float32", size["batch"], size["image_size"])
    one = images_per_s(loop(facegan_step(family, False), x, y), size["batch"], size["steps"])
    with strategy.scope():
        cfg, family, x, y = setup("dcgan", "float32", size["batch"] * replicas, size["image_size"])
    share = size["batch"]
    split = [strategy.experimental_distribute_values_from_function(
        lambda context, t=t: t[context.replica_id_in_sync_group * share:][:share]) for t in (x, y)]
    step = facegan_step(family, False, strategy)
    many = images_per_s(loop(lambda _x, _y: step(*split), x, y), size["batch"] * replicas, size["steps"])
    return {"replicas": replicas, "one_images_per_s": round(one, 1), "all_images_per_s": round(many, 1),
            "efficiency": round(many / (one * replicas), 3), "devices": list(strategy.extended.worker_devices)}


PARTS = {"devices": part_devices, "steps": part_steps, "batch": part_batch, "train": part_train,
         "mirrored": part_mirrored}


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300] if text else ''}"


# --- the check --------------------------------------------------------------------------------------------

def run_part(name: str, args) -> dict:
    """Part `name` in a child process under its limit: its result, or {"error": ...}, and its seconds."""
    limit = LIMITS[name] * (3 if args.smoke else 1)
    with tempfile.NamedTemporaryFile(suffix=".json") as result_file:
        command = [sys.executable, __file__, "--part", name, "--result", result_file.name,
                   "--models", ",".join(args.models), *(["--smoke"] if args.smoke else [])]
        start = time.perf_counter()
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            text = Path(result_file.name).read_text()
            return {**(json.loads(text) if text else {}), "error": f"did not finish in its {limit} s", "seconds": limit}
        seconds = round(time.perf_counter() - start, 1)
        text = Path(result_file.name).read_text()
        if done.returncode != 0 or not text:
            return {"error": (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1][:400],
                    "seconds": seconds}
        return {**json.loads(text), "seconds": seconds}

def table(report: dict) -> str:
    lines = []
    for name, result in report["parts"].items():
        lines.append(f"== {name} ({result.get('seconds', '?')} s)")
        for key, value in result.items():
            if key != "seconds":
                lines.append(f"  {key}: {json.dumps(value)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    parser.add_argument("--models", default="dcgan,fastgan")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a step or two each (runs on a CPU)")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.models = args.models.split(",")
    if args.part:  # a child: one part, its figures as JSON
        global RESULT_FILE
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        RESULT_FILE = Path(args.result)
        try:
            result = PARTS[args.part](args)
        except Exception as error:
            traceback.print_exc()
            result = {**RESULT, "error": first_line(error)}
        RESULT_FILE.write_text(json.dumps(result))
        return
    report = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "smoke": args.smoke, "parts": {}}
    for name in args.parts.split(","):
        print(f"{name} ...", file=sys.stderr, flush=True)
        report["parts"][name] = run_part(name, args)
        args.out.write_text(json.dumps(report, indent=2))  # what is done so far survives a later hang
    print(table(report))
    failed = [name for name, result in report["parts"].items() if "error" in result]
    print(f"\n{len(report['parts']) - len(failed)} of {len(report['parts'])} parts reported"
          f"{'; failed: ' + ', '.join(failed) if failed else ''}. Written to {args.out}")


if __name__ == "__main__":
    main()
