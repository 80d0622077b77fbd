"""`facegan export`: a run's generator for use elsewhere.

    saved_model  a TensorFlow SavedModel whose serving signature `serving_default` takes z (N, latent_dim)
                 float32 (and label (N,) int32 for conditional models) and returns {"images": (N, H, W, C)
                 uint8}; `tf.saved_model.load` serves it without facegan or Keras code.
    keras        the generator as a .keras file, which `facegan sample` and `facegan arithmetic` take in place
                 of a run directory, and Keras loads (facegan's layers registered by importing facegan).

The generator is the run's final one (the EMA's with --ema), or with `best` the best evaluation's, or
with `epoch` the one --keep-every kept at that epoch's end.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from facegan.checkpoints import open_generator_source, save_model
from facegan.errors import FaceganError

FORMATS = ("saved_model", "keras")


def export_generator(run: Path, fmt: str = "saved_model", best: bool = False, out: Path | None = None,
                     epoch: int | None = None) -> Path:
    if fmt not in FORMATS:
        raise FaceganError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    cfg, nets, home = open_generator_source(run, best, epoch)
    out = Path(out or home / "export" / ("generator.keras" if fmt == "keras" else "saved_model"))
    if out.exists():
        raise FaceganError(f"{out} exists; remove it or give another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "keras":
        save_model(nets["generator"], out)
        return out
    generator, classes = nets["generator"], cfg.num_classes
    archive = keras.export.ExportArchive()
    archive.track(generator)
    signature = [tf.TensorSpec([None, cfg.latent_dim], tf.float32, name="z")]
    if classes:
        signature.append(tf.TensorSpec([None], tf.int32, name="label"))

    def serve(z, label=None):
        images = generator([z, tf.one_hot(label, classes)] if classes else z, training=False)
        return {"images": tf.cast(tf.clip_by_value(tf.round((tf.cast(images, tf.float32) + 1.0) * 127.5), 0, 255),
                                  tf.uint8)}

    archive.add_endpoint("serving_default", serve, input_signature=signature)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        archive.write_out(str(partial), verbose=False)
        partial.rename(out)  # whole or not at all
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return out
