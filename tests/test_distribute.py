"""tf.distribute: a mirrored step over 2 logical CPUs equals the single-device step on the same global
batch, augmented where the model takes --augment; full runs with --devices 2; resume across replica counts;
two real workers with TF_CONFIG."""

import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY, assert_same_steps, one_device_and_two, run_steps, taken
from typer.testing import CliRunner

from facegan import registry
from facegan.cli import app
from facegan.distribute import cpu_supports_bf16, make_strategy, resolve_precision

pytestmark = pytest.mark.slow  # mirrored steps, real workers: tens of seconds each

runner = CliRunner()


OPTIONS = {"dcgan": {"sync_bn": True}, "wgan-gp": {"sync_bn": True}, "cgan": {"sync_bn": True},
           "sngan": {"sync_bn": True}, "fastgan": {"sync_bn": True}, "aegan-v0": {"gan_weight": 0.5},
           "aegan-v1": {"gan_weight": 0.5}, "aegan-v4": {"slope_window": 2}}
AUGMENT = "translation,cutout,color,ada"  # each replica draws its share of the global batch's transforms


@pytest.mark.parametrize("name", registry.names())
def test_a_mirrored_step_equals_the_single_device_step_on_the_global_batch(name):
    options = {**OPTIONS.get(name, {}), **taken(name, augment=AUGMENT)}
    (single, single_weights), (mirrored, mirrored_weights) = one_device_and_two(name, **options)
    assert_same_steps(name, single, single_weights, mirrored, mirrored_weights)
    if name == "aegan-v4":
        assert single[-1]["gan_weight"] > 0  # the schedule has started, on both


@pytest.mark.parametrize("name", ["gan-alt", "aegan-v4", "vae", "wgan-gp", "cgan"])
def test_xla_over_two_devices_compiles_the_same_step(name):
    """Over two replicas XLA compiles each network's passes (batch norm per replica: --sync-bn is refused).
    XLA's kernels round differently, and Adam's first steps move a weight by the learning rate whatever
    the size of its gradient, so a weight whose gradient is near 0 may move the other way: 1.25% of
    aegan-v4's weights did (by at most 7e-4, as with XLA on one device); a step missing an update or a
    gradient would move nearly all of a network's weights by 2e-4 a step. Without dropout: masks drawn inside
    an XLA program are other numbers (TensorFlow's stateless generators compile differently there)."""
    options = {k: v for k, v in OPTIONS.get(name, {}).items() if k != "sync_bn"}
    options |= taken(name, dropout=0.0)
    mirrored = make_strategy("mirrored", 2)
    assert_same_steps(name, *run_steps(name, mirrored, **options), *run_steps(name, mirrored, xla=True, **options),
                      stray=0.02)


def test_without_synchronized_batch_norm_each_replica_normalizes_its_own_half():
    (single, _), (mirrored, _) = one_device_and_two("dcgan", steps=1)
    assert mirrored[0]["d_loss"] != pytest.approx(single[0]["d_loss"], rel=1e-4)


def test_auto_precision_is_float32_where_onednn_is_capped_below_bfloat16(monkeypatch):
    """ONEDNN_MAX_CPU_ISA=AVX2 runs oneDNN as on a CPU without bfloat16: auto must not pick it there."""
    has_bf16 = any(flag in Path("/proc/cpuinfo").read_text() for flag in ("avx512_bf16", "amx_bf16"))
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert not cpu_supports_bf16() and resolve_precision("auto") == "float32"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx512_core_bf16")
    assert cpu_supports_bf16() == has_bf16
    assert resolve_precision("auto") == ("bfloat16" if has_bf16 else "float32")


def test_mixed_precision_with_loss_scaling_under_a_mirrored_strategy(faces_npz, tmp_path):
    (single, _), (mirrored, _) = one_device_and_two("wgan-gp", precision="float16", steps=2, sync_bn=True)
    assert all(np.isfinite(list(m.values())).all() for m in mirrored)
    assert mirrored[-1]["gp"] == pytest.approx(single[-1]["gp"], rel=0.05)


def test_train_with_two_devices_leaves_the_usual_run_directory_and_resumes_on_one(faces_npz, tmp_path):
    common = ["aegan-v5", "--data", str(faces_npz), "--ema", "0.9", "--out"]
    assert runner.invoke(app, ["train", *common, "whole", "--epochs", "2", *TINY]).exit_code == 0
    result = runner.invoke(app, ["train", *common, "parts", "--epochs", "1", "--devices", "2", *TINY])
    assert result.exit_code == 0, result.output
    assert "over 2 replicas" in result.stderr
    run = tmp_path / "parts"
    assert json.loads((run / "summary.json").read_text())["replicas"] == 2
    assert {"config.json", "metrics.csv", "epochs.csv", "generator.keras", "encoder.keras", "checkpoints"} <= \
        {p.name for p in run.iterdir()}
    result = runner.invoke(app, ["train", "--resume", "parts", "--epochs", "2", "--strategy", "single"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "summary.json").read_text())["replicas"] == 1
    np.testing.assert_allclose(np.loadtxt(run / "metrics.csv", delimiter=",", skiprows=1),
                               np.loadtxt(tmp_path / "whole" / "metrics.csv", delimiter=",", skiprows=1),
                               rtol=1e-3, atol=1e-5)


def test_the_health_guard_decides_as_on_one_device(faces_npz, tmp_path):
    diverging = ["dcgan", "--data", str(faces_npz), "--epochs", "1", "--lr", "1e30", "--bad-steps", "2",
                 "--max-rollbacks", "1", *TINY]
    logs = []
    for out, devices in (("one", "1"), ("two", "2")):
        result = runner.invoke(app, ["train", *diverging, "--out", out, "--devices", devices])
        assert result.exit_code == 3, result.output
        logs.append([(r["step"], r["event"]) for r in csv.DictReader(open(tmp_path / out / "health.csv"))])
    assert logs[0] == logs[1] and [event for _, event in logs[0]] == ["nonfinite", "rollback", "nonfinite", "stopped"]


def test_a_batch_that_does_not_split_over_the_replicas_is_refused(faces_npz):
    result = runner.invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--devices", "2",
                                 "--image-size", "16", "--batch-size", "7", "--epochs", "1"])
    assert result.exit_code == 2 and "does not split over 2 replicas" in result.stderr


def test_train_with_xla_over_two_devices_and_synchronized_batch_norm_refused(faces_npz, tmp_path):
    common = ["train", "dcgan", "--data", str(faces_npz), "--devices", "2", "--xla", "--epochs", "1", *TINY]
    result = runner.invoke(app, [*common, "--sync-bn", "--out", "synchronized"])
    assert result.exit_code == 2 and "--sync-bn" in result.stderr and not (tmp_path / "synchronized").exists()
    result = runner.invoke(app, [*common, "--out", "x"])
    assert result.exit_code == 0, result.output
    assert "over 2 replicas" in result.stderr and "XLA" in result.stderr
    assert json.loads((tmp_path / "x" / "summary.json").read_text())["status"] == "completed"


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_two_workers(args: list[str], scratch, cluster: dict | None = None) -> list[subprocess.Popen]:
    """`facegan train *args` as two worker processes of a localhost cluster (TF_CONFIG; new ports unless
    `cluster` is given), each on one CPU device."""
    cluster = cluster or {"worker": [f"localhost:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        env = {**os.environ, "TMPDIR": str(scratch),
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen([sys.executable, "-m", "facegan", "train", *args],
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return workers


def train_on_two_workers(args: list[str], scratch, cluster: dict | None = None) -> list[str]:
    """`start_two_workers`; their stderr once both have finished, successfully."""
    workers = start_two_workers(args, scratch, cluster)
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr[-3000:]
    return [stderr for _, stderr in outputs]


def test_two_workers_on_localhost_train_one_run_that_resumes_on_one_process(faces_npz, tmp_path):
    run = tmp_path / "run"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    stderr = train_on_two_workers(["wgan-gp", "--data", str(faces_npz), "--epochs", "1", "--out", str(run),
                                   "--eval-every", "0", *TINY], scratch)
    assert "over 2 replicas" in stderr[0]
    diversities = [re.findall(r"diversity (\S+)", text) for text in stderr]
    assert len(diversities[0]) == 1 and diversities[0] == diversities[1]  # the health guard's figures agree
    assert "eagerly has significant overhead" not in stderr[0] + stderr[1]  # the averaging is compiled
    assert not list(scratch.glob("facegan-worker-*"))  # worker 1 saved its checkpoints there, then removed them
    summary = json.loads((run / "summary.json").read_text())
    assert summary["replicas"] == 2 and summary["epochs"] == 1
    # 40 images / 8: written by the chief
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith("ckpt-5")
    assert [int(r["step"]) for r in csv.DictReader(open(run / "metrics.csv"))] == [1, 2, 3, 4, 5]  # logged once
    result = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "2", "--strategy", "single"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "summary.json").read_text())["epochs"] == 2


def test_two_workers_whose_chief_is_killed_continue_by_their_own_commands_to_the_same_bits(faces_npz, tmp_path):
    """The chief SIGKILLed inside the first epoch, the other worker stopped with it, then both started again
    with their own command lines (as a cluster restarts a job): the run ends as one trained without a stop.
    (With --sync-bn: without it each replica keeps batch-norm statistics of its own, and a checkpoint holds
    their mean, so the figures of generated images, not the steps, would differ in their last digits.)"""
    def args(run) -> list[str]:  # a checkpoint after every step
        return ["dcgan", "--data", str(faces_npz), "--epochs", "2", "--eval-every", "0", "--checkpoint-minutes",
                "0.00001", "--sync-bn", *TINY, "--out", str(tmp_path / run)]

    train_on_two_workers(args("whole"), tmp_path)
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
    chief, other = start_two_workers(args("parts"), tmp_path, cluster)
    listed = tmp_path / "parts" / "checkpoints" / "checkpoint"
    deadline = time.monotonic() + 180
    while not (listed.exists() and '"ckpt-2"' in listed.read_text()) and time.monotonic() < deadline:
        assert chief.poll() is None, chief.communicate()[1][-3000:]
        time.sleep(0.005)
    chief.kill()
    assert chief.wait() == -signal.SIGKILL and not (tmp_path / "parts" / "summary.json").exists()
    other.kill()  # it would wait for the chief's collectives
    other.wait()
    stderr = train_on_two_workers(args("parts"), tmp_path, cluster)
    assert "holds a run of this configuration: continuing it" in stderr[0] + stderr[1]

    for name in ("metrics.csv", "epochs.csv"):
        assert rows(tmp_path / "parts" / name) == rows(tmp_path / "whole" / name), name
    assert variables(tmp_path / "parts") == variables(tmp_path / "whole")


def rows(path) -> list[dict]:
    """A log's rows without its clock figures, which no two runs share."""
    return [{k: v for k, v in row.items() if k not in ("images_per_s", "wall_s")} for row in csv.DictReader(open(path))]


def variables(run) -> dict:
    """Every variable of the run's newest checkpoint, as bytes (save_counter aside: it counts the saves)."""
    path = tf.train.latest_checkpoint(str(run / "checkpoints"))
    return {name: np.asarray(tf.train.load_variable(path, name)).tobytes() for name, _ in tf.train.list_variables(path)
            if not name.startswith(("save_counter", "_CHECKPOINTABLE"))}


@pytest.mark.parametrize("name,options", [  # one model of each loss family
    ("dcgan", ["--sync-bn"]), ("gan-alt", []), ("aegan-v4", ["--slope-window", "2"]), ("vae", []),
    ("cgan", ["--sync-bn"]), ("vae", ["--xla"])])
def test_two_workers_train_as_one_process_does_on_the_global_batch(name, options, faces_npz, tmp_path):
    quiet = ["--label-noise", "0"] if "label_noise" in registry.get(name).settings else []
    args = [name, "--data", str(faces_npz), "--epochs", "2", "--eval-every", "0", *quiet, *options, *TINY, "--out"]
    train_on_two_workers([*args, str(tmp_path / "workers")], tmp_path)
    # the plain step: XLA compiles the workers' networks only, so they draw and compute as without it
    plain = [arg for arg in args if arg != "--xla"]
    assert runner.invoke(app, ["train", *plain, "one", "--strategy", "single"]).exit_code == 0
    workers, one = (np.genfromtxt(tmp_path / run / "metrics.csv", delimiter=",", names=True)
                    for run in ("workers", "one"))
    assert workers.dtype.names == one.dtype.names and len(one) == 10
    for column in one.dtype.names:
        np.testing.assert_allclose(workers[column], one[column], rtol=1e-4, atol=1e-5, err_msg=column)
