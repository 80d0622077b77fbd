"""Data at full size: decoding speed, memory while training, time to the first step, and step speed against a
small data set, measured on synthetic data sets made in a temporary folder.

    python benchmarks/data_scale.py [--images 200000] [--jpegs 4000] [--seconds 90]

The big data set is a .npy of --images faces at 64x64x3 (CelebA-2k faces, each copy shifted by a pixel or
two, or scikit-image's LFW faces where CelebA-2k is absent). Decoding is measured on a folder of --jpegs JPEG
files, with one worker and with every core. `facegan train dcgan --channels 3` then runs on the big array and on
its first 8,000 images, each for --seconds: the peak resident memory (VmHWM) against the array's size, the
seconds from the command to its first logged step (with a cold and a warm cache), and the steps per second
(the rows metrics.csv gains per second, logged by checkpoints every 0.05 minutes).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from facegan.data import load_faces
from facegan.imaging import fit_image

CELEBA_2K = Path(__file__).resolve().parents[2] / "shared" / "data" / "celeba-2k"
SIZE = 64


def base_faces() -> np.ndarray:
    """(n, 64, 64, 3) uint8 real faces to repeat."""
    if (CELEBA_2K / "images").is_dir():
        return load_faces(str(CELEBA_2K), SIZE, 3).images[:]
    return load_faces("lfw", SIZE, 3).images[:]


def make_array(path: Path, count: int, faces: np.ndarray) -> None:
    array = np.lib.format.open_memmap(path, "w+", np.uint8, (count, SIZE, SIZE, 3))
    for start in range(0, count, len(faces)):
        block = min(len(faces), count - start)
        shift = (start // len(faces)) % 5
        array[start:start + block] = np.roll(faces[:block], shift, axis=2)
    array.flush()


def decode_speed(folder: Path, workers: int, cache: Path) -> float:
    shutil.rmtree(cache, ignore_errors=True)
    os.environ["FACEGAN_CACHE"] = str(cache)
    start = time.perf_counter()
    faces = load_faces(str(folder), SIZE, 3, workers=workers)
    return len(faces.images) / (time.perf_counter() - start)


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def rows(path: Path) -> int:
    return max(0, len(path.read_text().splitlines()) - 1) if path.exists() else 0


def train_run(data: Path, out: Path, cache: Path, seconds: float) -> dict:
    """Run facegan train on `data` for `seconds` after its first logged step; the figures of that run."""
    env = {**os.environ, "FACEGAN_CACHE": str(cache)}
    command = [sys.executable, "-m", "facegan", "train", "dcgan", "--data", str(data), "--channels", "3",
               "--epochs", "1", "--eval-every", "0", "--checkpoint-minutes", "0.05", "--out", str(out)]
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics, first = out / "metrics.csv", None
    peak = 0
    while process.poll() is None:
        peak = max(peak, peak_rss(process.pid))
        now = time.perf_counter()
        if first is None and rows(metrics):
            first, first_rows = now, rows(metrics)
        if first is not None and now - first >= seconds:
            break
        time.sleep(0.2)
    last_rows = rows(metrics)
    process.terminate()
    process.wait()
    return {"first_step_s": first - start, "peak": peak,
            "steps_per_s": (last_rows - first_rows) / (time.perf_counter() - first)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--jpegs", type=int, default=4000)
    parser.add_argument("--seconds", type=float, default=90)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="facegan-scale-"))
    try:
        faces = base_faces()
        jpegs = work / "jpegs"
        jpegs.mkdir()
        for i in range(args.jpegs):
            iio.imwrite(jpegs / f"{i:06d}.jpg", np.roll(faces[i % len(faces)], i // len(faces), axis=1), quality=90)
        cores = os.cpu_count() or 1
        one, every = decode_speed(jpegs, 1, work / "cache-1"), decode_speed(jpegs, cores, work / "cache-all")
        print(f"decoding {args.jpegs} JPEG files to 64x64x3: 1 worker {one:.0f} img/s, {cores} workers {every:.0f} "
              f"img/s ({every / one:.2f}x)", flush=True)
        assert np.array_equal(fit_image(iio.imread(jpegs / "000000.jpg"), SIZE, 3),
                              load_faces(str(jpegs), SIZE, 3).images[0])
        big, small = work / "big.npy", work / "small.npy"
        make_array(big, args.images, faces)
        np.save(small, np.load(big, mmap_mode="r")[:8000])
        size = big.stat().st_size
        print(f"{args.images} images, {size / 2**30:.2f} GiB; each run trains for {args.seconds:.0f} s", flush=True)
        cold = train_run(big, work / "run-cold", work / "cache-big", args.seconds)
        warm = train_run(big, work / "run-warm", work / "cache-big", args.seconds)
        little = train_run(small, work / "run-small", work / "cache-small", args.seconds)
        print(f"peak resident memory: {cold['peak'] / 2**30:.2f} GiB cold, {warm['peak'] / 2**30:.2f} GiB warm "
              f"({cold['peak'] / size:.2f}x and {warm['peak'] / size:.2f}x the array; target at most 1.5x); "
              f"{little['peak'] / 2**30:.2f} GiB on 8,000 images")
        print(f"command to first logged step: {cold['first_step_s']:.1f} s with a cold cache, "
              f"{warm['first_step_s']:.1f} s with a warm one (8,000 images: {little['first_step_s']:.1f} s)")
        print(f"steps/s: {warm['steps_per_s']:.2f} on {args.images} images, {little['steps_per_s']:.2f} on 8,000 "
              f"({warm['steps_per_s'] / little['steps_per_s']:.2f}x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
