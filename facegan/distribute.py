"""The devices a run trains on: the precision they compute in, the tf.distribute strategy, and --devices (N GPUs,
or without a GPU the CPU split into N logical devices; by default every GPU, else the CPU as one device).

    single       the default strategy: one device (the first GPU, else the CPU)
    mirrored     MirroredStrategy over the GPUs, or over the --devices logical CPUs
    multiworker  MultiWorkerMirroredStrategy over the cluster that TF_CONFIG describes
    auto         multiworker when TF_CONFIG names more than one task, mirrored over more than one device,
                 single otherwise
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import keras
import tensorflow as tf

from facegan.config import STRATEGIES
from facegan.errors import FaceganError

POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}  # Keras's names


# --- precision -------------------------------------------------------------------

# oneDNN's instruction sets (ONEDNN_MAX_CPU_ISA) with bfloat16 arithmetic; a lower cap leaves it none
ONEDNN_BF16_ISAS = ("AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16",
                    "AVX10_1_512", "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16", "ALL", "DEFAULT")


def cpu_supports_bf16() -> bool:
    """The CPU has bfloat16 arithmetic (AMX or AVX512-BF16), and ONEDNN_MAX_CPU_ISA does not cap oneDNN below
    it: TensorFlow still picks oneDNN's bfloat16 kernels then, and they refuse to run."""
    if os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper() not in ONEDNN_BF16_ISAS:
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(requested: str) -> str:
    """auto: bfloat16 on GPUs of compute capability >= 8.0 and CPUs with AMX/AVX512-BF16,
    float16 (with loss scaling) on older GPUs, float32 otherwise."""
    if requested != "auto":
        return requested
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
        return "bfloat16" if tuple(capability) >= (8, 0) else "float16"
    return "bfloat16" if cpu_supports_bf16() else "float32"


def use_precision(precision: str) -> None:
    """Keras's global dtype policy for `precision` (float32, bfloat16, float16): networks built from now on
    compute in it."""
    keras.mixed_precision.set_global_policy(POLICIES[precision])


# --- strategies ------------------------------------------------------------------

def split_cpu(devices: int) -> None:
    """Make the CPU N logical devices, so that a mirrored run can be tried on one machine. TensorFlow
    allows this only before it starts its runtime (its first operation)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    configured = tf.config.get_logical_device_configuration(cpu)
    if configured is not None and len(configured) == devices:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
    except RuntimeError:
        raise FaceganError(f"--devices {devices}: TensorFlow is already running with "
                           f"{len(tf.config.list_logical_devices('CPU'))} CPU device(s) in this process") from None


def cluster_tasks() -> int:
    """The number of tasks (chief and workers) TF_CONFIG describes; 0 without TF_CONFIG."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return 0
    try:
        cluster = json.loads(text).get("cluster", {})
    except json.JSONDecodeError as error:
        raise FaceganError(f"TF_CONFIG is not valid JSON: {error}") from None
    return sum(len(cluster.get(role, [])) for role in ("chief", "worker"))


def make_strategy(kind: str, devices: int | None = None) -> tf.distribute.Strategy:
    """The strategy of `kind` (STRATEGIES) over `devices` devices of this machine (config.DEVICES_HELP; None:
    every GPU, else the CPU as one device). Must come before TensorFlow starts its runtime, which fixes the devices."""
    if kind not in STRATEGIES:
        raise FaceganError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {kind!r}")
    if devices is not None and devices < 1:
        raise FaceganError(f"--devices must be positive, got {devices}")
    if kind == "single" and (devices or 1) > 1:
        raise FaceganError(f"--strategy single trains on one device; --devices {devices} asks for {devices}")
    gpus = tf.config.list_physical_devices("GPU")
    if devices is not None and gpus:
        gpus = use_gpus(gpus, devices)
    elif devices is not None and devices > 1:
        split_cpu(devices)
    if kind == "auto":
        kind = ("multiworker" if cluster_tasks() > 1 else
                "mirrored" if len(gpus) > 1 or (devices or 1) > 1 else "single")
    if kind == "single":
        return tf.distribute.get_strategy()
    if kind == "multiworker":
        if not cluster_tasks():
            raise FaceganError("--strategy multiworker needs TF_CONFIG describing the cluster (see the README)")
        return _strategy(kind, ())
    if gpus:
        return _strategy(kind, tuple(f"/gpu:{i}" for i in range(len(gpus))))
    cpus = tf.config.list_logical_devices("CPU")
    return _strategy(kind, tuple(device.name for device in cpus[:devices or len(cpus)]))


def use_gpus(gpus: list, devices: int) -> list:
    """The first `devices` GPUs, made the only ones TensorFlow uses (before its runtime starts)."""
    if devices > len(gpus):
        raise FaceganError(f"--devices {devices}: this machine has {len(gpus)} GPU(s) (CUDA_VISIBLE_DEVICES "
                           "chooses which are visible)")
    try:
        tf.config.set_visible_devices(gpus[:devices], "GPU")
    except RuntimeError:
        if len(tf.config.list_logical_devices("GPU")) != devices:
            raise FaceganError(f"--devices {devices}: TensorFlow is already running on "
                               f"{len(tf.config.list_logical_devices('GPU'))} GPU(s) in this process") from None
    return gpus[:devices]


@functools.lru_cache(maxsize=None)
def _strategy(kind: str, devices: tuple) -> tf.distribute.Strategy:
    """One strategy per kind and devices in a process: two over the same devices would share the keys
    of their collective operations and mix them up (later runs in one process reuse the first)."""
    if kind == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.MirroredStrategy(list(devices))


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True where this process writes the run directory: always, except on a multi-worker cluster's
    other workers (the chief is the "chief" task, else worker 0)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or resolver.task_type is None:
        return True
    if resolver.task_type == "chief":
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().jobs


def accelerators() -> dict:
    """The GPUs TensorFlow sees (name and compute capability) and the precision `auto` picks here."""
    gpus = [tf.config.experimental.get_device_details(gpu) for gpu in tf.config.list_physical_devices("GPU")]
    return {"gpus": [f"{gpu.get('device_name', 'GPU')} (compute capability "
                     f"{'.'.join(map(str, gpu.get('compute_capability', ('?',))))})" for gpu in gpus],
            "auto_precision": resolve_precision("auto")}


def describe(strategy: tf.distribute.Strategy) -> dict:
    """How a run is distributed, for config.json and summary.json: the strategy's name ("single" for the
    default one), the replicas in sync, this worker's devices and the number of workers."""
    if isinstance(strategy, (tf.distribute.MirroredStrategy, tf.distribute.MultiWorkerMirroredStrategy)):
        name = "multiworker" if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) else "mirrored"
        devices = list(strategy.extended.worker_devices)
    else:  # the default strategy: the first GPU, else the CPU
        device = (tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU"))[0]
        name, devices = "single", [device.name]
    return {"strategy": name, "replicas": strategy.num_replicas_in_sync, "devices": devices,
            "workers": max(1, cluster_tasks())}
