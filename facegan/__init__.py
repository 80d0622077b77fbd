"""facegan: train face GANs and find out what they learned.

From Python:

    import facegan
    model = facegan.load("runs/001-fastgan")      # a run directory, or a generator .keras file
    faces = model.sample(16, seed=0)              # (16, H, W, C) uint8, as `facegan sample RUN -n 16 --seed 0`
    run = facegan.train("dcgan", data="lfw", epochs=5)   # a new run directory

Importing the package is cheap: TensorFlow is imported only when a model is loaded or trained (and by the
modules that build networks or train: `facegan.nets`, `facegan.steps`, `facegan.training`).
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"
__all__ = ["Model", "load", "train"]


class Model:
    """A trained run's networks: `sample` (every model), `encode` and `reconstruct` (models with an encoder),
    `config` (the run's TrainConfig), `networks` (the Keras models by name)."""

    def __init__(self, config, networks: dict, source: Path):
        self.config, self.networks, self.source = config, networks, source

    def __repr__(self) -> str:
        return f"facegan.Model({self.config.model}, {self.config.image_size}x{self.config.image_size}x" \
               f"{self.config.channels}, from {self.source})"

    def sample(self, n: int, seed: int = 0, label: int | None = None):
        """n new images, (n, H, W, C) uint8, image i from seed `seed` + i alone (classes in turn, or `label`)."""
        from facegan.analysis.sample import SampleOptions
        from facegan.imaging import to_uint8
        from facegan.inference import new_samples

        seeds = range(seed, seed + n)
        SampleOptions(seeds=tuple(seeds), label=label).check(self.config, len(seeds))
        return to_uint8(new_samples(self.networks["generator"], self.config, seeds, label=label)[2])

    def encode(self, images):
        """Latents (N, latent_dim) float32 of images (N, H, W, C): uint8, or floats in [-1, 1]."""
        from facegan.inference import encode

        return encode(self._encoder(), self._inputs(images))

    def reconstruct(self, images):
        """The autoencoder's reconstructions of images (N, H, W, C), as uint8."""
        from facegan.imaging import to_uint8
        from facegan.inference import reconstruct

        self._encoder()
        return to_uint8(reconstruct(self.networks, self._inputs(images)))

    def _encoder(self):
        from facegan.errors import FaceganError

        if "encoder" not in self.networks:
            raise FaceganError(f"{self.config.model} has no encoder: only sample() applies")
        return self.networks["encoder"]

    def _inputs(self, images):
        import numpy as np

        from facegan.errors import FaceganError

        images = np.asarray(images)
        size, channels = self.config.image_size, self.config.channels
        if images.ndim == 3 and channels == 1:
            images = images[..., None]
        if images.ndim != 4 or images.shape[1:] != (size, size, channels):
            raise FaceganError(f"images must be (N, {size}, {size}, {channels}) for this model; got {images.shape}")
        if images.dtype == np.uint8:
            return images.astype(np.float32) / 127.5 - 1.0
        return images.astype(np.float32)


def load(run: str | Path, best: bool = False, epoch: int | None = None) -> Model:
    """A trained run (a run directory; or a generator .keras file, which gives sample() only): its final
    networks, or with `best` those of its best evaluation, or with `epoch` those `--keep-every` kept at the end of
    that epoch."""
    from facegan.checkpoints import open_generator_source

    config, networks, _ = open_generator_source(Path(run), best, epoch)
    return Model(config, networks, Path(run))


def train(model: str | None = None, *, resume: str | Path | None = None, out: str | Path | None = None,
          epochs: int | None = None, **options) -> Path:
    """Train a new run of `model` (options as `facegan train`'s, by their field names: data, epochs,
    image_size, batch_size, ...), or continue `resume`; returns the run directory. Raises TrainingStopped
    when a signal or the health guard ends it early."""
    from facegan import training
    from facegan.config import TrainConfig
    from facegan.errors import FaceganError

    if (model is None) == (resume is None):
        raise FaceganError("give a model to train a new run, or resume= to continue one (not both)")
    if resume is not None:
        if options:
            raise FaceganError(f"a resumed run keeps its configuration; only epochs may change, not {sorted(options)}")
        return training.train(resume=Path(resume), epochs=epochs)
    cfg = TrainConfig.resolve(model, **options, **({"epochs": epochs} if epochs is not None else {}))
    return training.train(cfg, out=Path(out) if out is not None else None)
