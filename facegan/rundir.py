"""The run directory: every file name of a run, numbering, and resolving the RUN argument.

    lock          pid, host and start time of the process writing the run (facegan.runlock)
    config.json   the resolved TrainConfig, the data, the distribution and the versions (before step 0)
    metrics.csv   epochs.csv   evals.csv   health.csv   summary.json          (facegan.runlog)
    checkpoints/  checkpoints/best/                               (facegan.checkpoints)
    samples/epoch_NNNN.png  samples/step_NNNNNNNN.png  samples/best.png  evolution.gif
    curves.png    the losses, accuracies, diversity and SWD drawn at each epoch end   (facegan.curves)
    tensorboard/  the logs as TensorBoard events                                       (facegan.events)
    generator.keras  discriminator.keras  encoder.keras           (the final networks)
    eval.json  blur.json  nearest.json  nearest/  arithmetic/  samples/sample-NNN/   (analysis commands)

Run directories are numbered runs/NNN-MODEL and never overwritten.
"""

from __future__ import annotations

import re
from pathlib import Path

from facegan.errors import FaceganError

RUNS_ROOT = Path("runs")

CONFIG = "config.json"
METRICS = "metrics.csv"
EPOCHS = "epochs.csv"
EVALS = "evals.csv"
HEALTH = "health.csv"
SUMMARY = "summary.json"
EVAL = "eval.json"
BLUR = "blur.json"
NEAREST = "nearest.json"
CHECKPOINTS = "checkpoints"
SAMPLES = "samples"
EVOLUTION = "evolution.gif"
CURVES = "curves.png"
TENSORBOARD = "tensorboard"
LOCK = "lock"  # held by the process that writes the run (facegan.runlock)


def network_file(run: Path, name: str) -> Path:
    return Path(run) / f"{name}.keras"


def checkpoint_dir(run: Path, best: bool = False) -> Path:
    return Path(run) / CHECKPOINTS / ("best" if best else "")


def epoch_grid(run: Path, epoch: int) -> Path:
    return Path(run) / SAMPLES / f"epoch_{epoch:04d}.png"


def step_grid(run: Path, step: int) -> Path:
    return Path(run) / SAMPLES / f"step_{step:08d}.png"


def epoch_grids(run: Path) -> list[Path]:
    """The sample grids saved at the end of epochs, oldest first."""
    return sorted((Path(run) / SAMPLES).glob("epoch_*.png"))


def best_grid(run: Path) -> Path:
    return Path(run) / SAMPLES / "best.png"


def next_numbered(parent: Path, prefix: str) -> Path:
    """parent/prefix-NNN with the next free number (samples/sample-001, ...), made here and now, so that two
    commands at once never share one."""
    parent.mkdir(parents=True, exist_ok=True)
    taken = [int(p.name.rsplit("-", 1)[1]) for p in parent.glob(f"{prefix}-*") if p.name.rsplit("-", 1)[1].isdigit()]
    return claim(parent, lambda number: f"{prefix}-{number:03d}", max(taken, default=0) + 1)


def new_run_dir(model: str, root: Path = RUNS_ROOT) -> Path:
    """The next numbered directory root/NNN-model; numbers only grow, so runs never overwrite each other."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"(\d+)-", p.name))]
    return claim(root, lambda number: f"{number:03d}-{model}", max(numbers, default=0) + 1)


def claim(parent: Path, name, number: int) -> Path:
    """parent/name(number), made, at `number` or the first free number after it."""
    while True:
        path = parent / name(number)
        try:
            path.mkdir()
            return path
        except FileExistsError:  # another process took this number a moment ago
            number += 1


def prepare_out_dir(out: Path) -> Path:
    out = Path(out)
    # a lock alone, or with the temporary file of a config.json being written: its writer died before the run began
    if out.exists() and any(p.name != LOCK and not is_leftover(p) for p in out.iterdir()):
        raise FaceganError(f"{out} exists and is not empty; use --resume {out} to continue it, "
                           "or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    return out


def is_leftover(path: Path) -> bool:
    """A temporary file of a write killed mid-way: files.write_bytes's .NAME.*.tmp, save_model's .NAME.tmp.keras."""
    return path.name.startswith(".") and (path.name.endswith(".tmp") or path.name.endswith(".tmp.keras"))


def remove_leftovers(run: Path) -> None:
    """Before the writer of a run starts: delete what its writes killed mid-way left in the run's folder and in
    samples/ (the other folders belong to commands that may be running)."""
    for folder in (Path(run), Path(run) / SAMPLES):
        for path in folder.glob(".*tmp*"):
            if is_leftover(path) and path.is_file():
                path.unlink(missing_ok=True)


def require_run_dir(path: Path) -> Path:
    path = Path(path)
    if not is_run_dir(path):
        raise FaceganError(f"{path} is not a facegan run directory (no {CONFIG})")
    return path


def is_run_dir(path: Path) -> bool:
    return (Path(path) / CONFIG).is_file()


def run_dirs(root: Path = RUNS_ROOT) -> list[Path]:
    """The run directories under root, oldest (lowest number) first."""
    root = Path(root)
    found = [p for p in root.iterdir() if re.match(r"\d+-", p.name) and is_run_dir(p)] if root.is_dir() else []
    return sorted(found, key=lambda p: int(p.name.split("-")[0]))


def resolve_run(path: Path | None) -> Path:
    """RUN as given, or the newest run under ./runs."""
    if path is not None:
        return require_run_dir(path)
    runs = run_dirs()
    if not runs:
        raise FaceganError(f"no run directory under ./{RUNS_ROOT}; give RUN or train one with `facegan train`")
    return runs[-1]


def resolve_generator_source(path: Path | None) -> Path:
    """RUN as `resolve_run` takes it, or a bare generator .keras file (sample, arithmetic)."""
    if path is not None and Path(path).suffix == ".keras":
        if not Path(path).is_file():
            raise FaceganError(f"{path} does not exist")
        return Path(path)
    return resolve_run(path)
