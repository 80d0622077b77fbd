"""benchmarks/gpu_check.py, the check prepared for a GPU, at tiny sizes on whatever devices there are (here the
CPU): every part runs in its own process and reports its figures."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from facegan.distribute import cpu_supports_bf16

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.mark.slow
def test_the_gpu_check_runs_every_part_at_tiny_sizes(tmp_path):
    out = tmp_path / "check.json"
    result = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--out", str(out)], capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    parts = json.loads(out.read_text())["parts"]
    assert list(parts) == ["devices", "steps", "batch", "train", "mirrored"]
    assert not [name for name, part in parts.items() if "error" in part], parts
    assert parts["devices"]["auto_precision"] in ("float32", "bfloat16", "float16")
    steps = parts["steps"]
    for model in ("dcgan", "fastgan"):
        for precision in ("float32", "float16", "bfloat16"):
            for variant in ("", " xla", " hand-written keras"):
                figures = steps[f"{model} {precision}{variant}"]
                if precision == "bfloat16" and not cpu_supports_bf16():  # oneDNN refuses it there: recorded
                    assert "error" in figures or figures["images_per_s"] > 0, figures
                else:
                    assert figures["images_per_s"] > 0, steps
    assert parts["batch"]["dcgan"] == parts["batch"]["fastgan"] == 8  # the smoke check's largest try
    train = parts["train"]
    assert train["finite"] and train["steps"] == 6 and train["resumed_to_epoch"] == 4 and train["checkpoints"]
    assert parts["mirrored"]["replicas"] == 2 and parts["mirrored"]["efficiency"] > 0
    assert "5 of 5 parts reported" in result.stdout
