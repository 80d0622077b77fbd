"""What several test modules share: tiny configs, networks and batches as `facegan train` builds them, and steps
on one device against two."""

from contextlib import contextmanager
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from skimage.data import lfw_subset
from skimage.transform import resize

from facegan import registry
from facegan.config import TrainConfig, option_name
from facegan.distribute import POLICIES, make_strategy
from facegan.steps import build_family
from facegan.steps.compile import compile_step

STRAY = 1e-4  # the fraction of weights that may part by a rounding difference (see assert_same_steps)
# A tiny run, the tests' one definition: 16x16 images, latent 8, batch 8, float32 (the same on every CPU)
TINY_SETTINGS = {"image_size": 16, "latent_dim": 8, "batch_size": 8, "precision": "float32"}
TINY = [arg for setting, value in TINY_SETTINGS.items() for arg in (option_name(setting), str(value))]  # as options


def write_faces(path: Path) -> Path:
    """40 real LFW faces at 16x16 with two classes, as a .npz a user could give to --data."""
    faces = resize(lfw_subset()[:40], (40, 16, 16), anti_aliasing=True)
    np.savez(path, images=(faces * 255).astype(np.uint8), labels=np.arange(40) % 2)
    return path


@contextmanager
def working_in(root: Path):
    """Work in `root` with a data cache of its own there, as the autouse `isolated` fixture does for each test:
    for the runs a module or the session shares, which are made before any test's fixtures."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("FACEGAN_CACHE", str(root / "cache"))
        yield root


def taken(name: str, **settings) -> dict:
    """Those of `settings` that model `name` takes (a setting it does not take is refused)."""
    return {key: value for key, value in settings.items() if key in registry.get(name).settings}


def tiny_config(name: str, **options) -> TrainConfig:
    """A tiny run's config (batch 4 unless given)."""
    return TrainConfig.resolve(name, **{**TINY_SETTINGS, "batch_size": 4, **options})


def build(cfg: TrainConfig):
    """Networks and step family as `facegan train` builds them, at the config's precision."""
    keras.mixed_precision.set_global_policy(POLICIES[cfg.precision])
    keras.utils.set_random_seed(cfg.seed)
    try:
        nets = registry.get(cfg.model).build_networks(cfg)
        family = build_family(cfg, nets)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return nets, family


def batch(cfg: TrainConfig, n: int = 4):
    x = tf.random.stateless_uniform((n, cfg.image_size, cfg.image_size, cfg.channels), (1, 2), -1.0, 1.0)
    return x, tf.constant(np.arange(n) % max(cfg.num_classes, 1), tf.int32)


def run_steps(name: str, strategy, precision: str = "float32", steps: int = 3, xla: bool = False, **options):
    """(metrics, weights) after `steps` steps under `strategy`, on the same global batches every time."""
    cfg = TrainConfig.resolve(name, image_size=16, latent_dim=8, batch_size=8, precision=precision,
                              **taken(name, label_noise=0.0), **options)
    if cfg.num_classes:
        cfg = cfg.replace(num_classes=2)
    batches = [(tf.random.stateless_uniform((8, 16, 16, cfg.channels), (i, 1), -1.0, 1.0),
                tf.constant(np.arange(8) % 2, tf.int32)) for i in range(steps)]
    keras.mixed_precision.set_global_policy(POLICIES[precision])
    keras.utils.set_random_seed(cfg.seed)
    try:
        with strategy.scope():
            nets = registry.get(name).build_networks(cfg)
            family = build_family(cfg, nets, xla_networks=xla and strategy.num_replicas_in_sync > 1)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    step = compile_step(strategy, family, "train_step", xla=xla)
    dataset = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices(([b[0] for b in batches], [b[1] for b in batches])))
    metrics = [{k: float(v) for k, v in step(x, y, tf.constant(i + 1, tf.int64)).items()}
               for i, (x, y) in enumerate(dataset)]
    return metrics, [w.numpy() for net in nets.values() for w in net.weights]


def one_device_and_two(name: str, **options):
    """run_steps on one device and on two mirrored replicas."""
    mirrored = make_strategy("mirrored", 2)
    assert mirrored.num_replicas_in_sync == 2
    return [run_steps(name, strategy, **options) for strategy in (tf.distribute.get_strategy(), mirrored)]


def assert_same_steps(name: str, single, single_weights, other, other_weights, stray: float = STRAY):
    """The same metrics at every step, and the same weights but for a `stray` fraction of them, each of which
    is still within the distance Adam can move a weight in these steps.

    Kernels of another CPU (AVX2 against AVX512), another device count or XLA sum in another order, and
    Adam's normalized update turns a rounding difference in a near-zero gradient into a full step of the
    learning rate, either way: a few weights of millions may part by up to 2 x lr a step. A step that misses an
    update or a gradient moves nearly all of a network's weights, far more than `stray`."""
    for one, two in zip(single, other):
        assert one.keys() == two.keys()
        for key in one:
            assert two[key] == pytest.approx(one[key], rel=1e-4, abs=1e-5), (key, one[key], two[key])
    cfg = TrainConfig.resolve(name)
    reach = 2 * max(cfg.lr, cfg.d_lr or 0.0) * len(single) * 1.01 + 1e-5  # Adam's step is at most lr (x ~1)
    apart = np.concatenate([np.abs(two - one).ravel() for one, two in zip(single_weights, other_weights)])
    off = np.concatenate([~np.isclose(two, one, rtol=1e-3, atol=1e-5).ravel()
                          for one, two in zip(single_weights, other_weights)])
    assert off.mean() <= stray, f"{off.mean():.4%} of the weights differ"
    assert apart[off].max(initial=0.0) <= reach, f"weights moved {apart[off].max():.3g} apart; Adam reaches {reach:.3g}"
