"""The model registry: every trainable model by name, with what it needs and its defaults.

This module imports no TensorFlow, so `facegan models` and `facegan --help` stay fast.
A model is a network builder (`nets`, "module:function") plus a loss family's step (`step`, "module:Class"),
the settings it takes beside those every model takes (`settings`), the defaults that differ from
`TrainConfig`'s, and its networks' parameter counts, which also name its networks. Everything else about a
model reads from here: `facegan models`, the refusal of a setting the model does not take, the networks a
run saves and loads. Adding a model means one builder module, one step module and one `register`
(docs/adding-a-model.md).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

from facegan.errors import FaceganError
from facegan.nets import sizes


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    nets: str  # "module:function" building {"generator": ..., "discriminator": ..., "encoder": ...}
    family: str  # the loss family's name, as `facegan models` shows it
    step: str  # "module:Class": the family's step (a facegan.steps.base.Family)
    image_sizes: Callable[[int], object]  # a rule of facegan.nets.sizes: ValueError for a size the networks refuse
    settings: tuple[str, ...]  # the TrainConfig fields it takes beside config.COMMON_SETTINGS
    defaults: dict = field(default_factory=dict)
    # Parameter counts at the defaults, {network: (total, trainable)}, one for each network the builder makes;
    # the tests build every model and check them, so `facegan models` can show them without TensorFlow.
    params: dict = field(default_factory=dict)

    @property
    def networks(self) -> tuple[str, ...]:
        """The names of the networks `nets` builds."""
        return tuple(self.params)

    @property
    def adversarial(self) -> bool:
        """True for the models with a discriminator (whose inputs --augment transforms)."""
        return "discriminator" in self.params

    @property
    def reconstructs(self) -> bool:
        """True for the autoencoders (AE-GAN, VAE): their sample grids and evaluations show reconstructions."""
        return "encoder" in self.params

    def build_networks(self, cfg):
        return imported(self.nets)(cfg)

    def build_step(self, cfg, nets: dict, **options):
        """The model's loss family over `nets` (facegan.steps.build_family makes it as training does)."""
        return imported(self.step)(cfg, nets, **options)


def imported(path: str):
    """The object a "module:name" path names."""
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


_REGISTRY: dict[str, ModelSpec] = {}
# the model to start with: the best faces for the least training (docs/measured.md)
START = "fastgan"


def register(spec: ModelSpec) -> ModelSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"model {spec.name!r} is registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def get(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise FaceganError(f"unknown model {name!r}; choose one of: {', '.join(names())}") from None


def names() -> list[str]:
    return list(_REGISTRY)


def all_networks() -> tuple[str, ...]:
    """Every network name of the registered models, in the order they first appear."""
    return tuple(dict.fromkeys(name for spec in _REGISTRY.values() for name in spec.networks))


# --- the settings each kind of model takes beside those every model takes -------------

ADVERSARIAL = ("dropout", "d_lr", "augment")  # a discriminator: its dropout, its own rate, its inputs augmented
GAN = (*ADVERSARIAL, "gan_loss", "d_loss", "label_noise", "r1_weight", "r2_weight", "penalty_every")
AEGAN = (*ADVERSARIAL, "gan_loss", "ae_weight", "gan_weight", "slope_scale", "slope_window", "pretrain_ae_epochs")
WGAN = (*ADVERSARIAL, "gp_weight", "critic_steps", "gp_interpolation")


# --- the seed models -------------------------------------------------------------

# Each seed model's defaults are its notebook's (docs/seeds.md gives the statement behind every one).
_BASELINE = dict(image_size=80, channels=3, latent_dim=100, batch_size=128, lr=2e-4, beta1=0.5,
                 dropout=0.4, gan_loss="bce-logits")
_BASELINE_PARAMS = {"generator": (1_381_891, 1_381_891), "discriminator": (1_651_841, 1_651_841)}
_AEGAN_PARAMS = {**_BASELINE_PARAMS, "encoder": (1_968_740, 1_968_740)}

register(ModelSpec(
    "gan-baseline", "Baseline GAN of the CelebA notebooks",
    nets="facegan.nets.baseline:build_gan", family="gan", step="facegan.steps.gan:GanFamily",
    image_sizes=sizes.baseline_start, settings=GAN, defaults=_BASELINE, params=_BASELINE_PARAMS))

register(ModelSpec(
    "gan-alt", "Baseline GAN, D and G trained on alternate batches",
    nets="facegan.nets.baseline:build_gan", family="gan-alt", step="facegan.steps.gan:GanAltFamily",
    image_sizes=sizes.baseline_start, settings=(*GAN, "alternate", "d_threshold", "g_threshold"),
    defaults={**_BASELINE, "d_loss": "mean"}, params=_BASELINE_PARAMS))

# The AE-GAN changelog lists what each version changed from the one before: the test model (v0) lowered the
# learning rate to 1e-4, v1 raised the batch to 256, v4 and v5 changed only the loss; so each keeps the rest.
# v0's wrapper takes the cross-entropy from logits; v1, v4 and v5 take Keras's on probabilities.
_AEGAN = {**_BASELINE, "lr": 1e-4}
for _variant, _description, _extra in [
    ("v0", "AE-GAN: ae_weight*ae + gan_weight*gan", dict(ae_weight=1.0, gan_weight=0.005)),
    ("v1", "AE-GAN: ae_weight*ae + gan_weight*gan/(ae_weight*ae)",
     dict(ae_weight=1.0, gan_weight=0.0005, batch_size=256, gan_loss="bce-probs")),
    ("v4", "AE-GAN: ae + gan_weight_t*gan, gan_weight_t from ae slope",
     dict(slope_scale=2e-7, slope_window=50, batch_size=256, gan_loss="bce-probs")),
    ("v5", "AE-GAN: ae + min(ae, gan)", dict(batch_size=256, gan_loss="bce-probs")),
]:
    register(ModelSpec(
        f"aegan-{_variant}", _description,
        nets="facegan.nets.baseline:build_aegan", family="aegan", step="facegan.steps.aegan:AeganFamily",
        settings=AEGAN, defaults={**_AEGAN, "aegan_loss": _variant, **_extra},
        params=_AEGAN_PARAMS, image_sizes=sizes.baseline_start))

register(ModelSpec(
    "vae", "VAE of the small expression faces",
    nets="facegan.nets.vae:build_vae", family="vae", step="facegan.steps.vae:VaeFamily", settings=("kl_weight",),
    defaults=dict(image_size=32, channels=1, latent_dim=32, batch_size=64, lr=1e-3, beta1=0.9,
                  weight_decay=1e-5, weight_decay_kind="l2", kl_weight=5e-5),
    params={"encoder": (223_808, 223_808), "generator": (160_129, 160_129)}, image_sizes=sizes.vae_start))

register(ModelSpec(
    "dcgan", "DCGAN with noisy labels",
    nets="facegan.nets.dcgan:build_dcgan", family="gan", step="facegan.steps.gan:GanFamily",
    image_sizes=sizes.dcgan_blocks, settings=GAN,
    defaults=dict(image_size=64, channels=1, latent_dim=100, batch_size=128, lr=2e-4, beta1=0.5,
                  dropout=0.3, label_noise=0.1, gan_loss="bce-probs", d_loss="mean"),
    params={"generator": (3_576_576, 3_574_656), "discriminator": (2_765_312, 2_763_520)}))

_WGAN = dict(image_size=64, channels=3, latent_dim=128, batch_size=512, lr=2e-4, beta1=0.5, beta2=0.9,
             dropout=0.3, gp_weight=10.0, critic_steps=3, gp_interpolation="normal")

register(ModelSpec(
    "wgan-gp", "WGAN with gradient penalty",
    nets="facegan.nets.wgan:build_wgan", family="wgan-gp", step="facegan.steps.wgan:WganGpFamily",
    image_sizes=sizes.dcgan_blocks, settings=WGAN, defaults=_WGAN,
    params={"generator": (3_808_003, 3_806_083), "discriminator": (2_764_737, 2_764_737)}))

register(ModelSpec(
    "cgan", "Conditional WGAN-GP (one-hot label)",
    nets="facegan.nets.wgan:build_wgan", family="wgan-gp", step="facegan.steps.wgan:WganGpFamily",
    image_sizes=sizes.dcgan_blocks, settings=(*WGAN, "label"),
    defaults={**_WGAN, "latent_dim": 32, "batch_size": 128, "lr": 5e-5, "label": "Blond_Hair",
              "num_classes": 2},  # classes are counted from the data
    params={"generator": (729_859, 728_963), "discriminator": (662_977, 662_977)}))

register(ModelSpec(
    "sngan", "Small-data recipe: spectral-norm D, hinge loss, EMA, DiffAugment",
    nets="facegan.nets.dcgan:build_sngan", family="gan", step="facegan.steps.gan:GanFamily",
    image_sizes=sizes.dcgan_blocks, settings=GAN,
    # chosen by benchmarks/quality.py on celeba-2k (docs/measured.md): two time scales and R1 measured worse
    defaults=dict(image_size=64, channels=3, latent_dim=100, batch_size=32, lr=2e-4, beta1=0.5,
                  gan_loss="hinge", ema=0.999, augment="translation,cutout,color"),
    params={"generator": (3_578_624, 3_576_704), "discriminator": (2_764_737, 2_763_776)}))

register(ModelSpec(
    "fastgan", "Small data, short budgets: skip-layer excitation, a D that rebuilds the reals, hinge, EMA",
    nets="facegan.nets.fastgan:build_fastgan", family="fastgan", step="facegan.steps.fastgan:FastganFamily",
    settings=(*GAN, "mbstd_group"),
    defaults=dict(image_size=64, channels=3, latent_dim=100, batch_size=32, lr=2e-4, beta1=0.5,
                  gan_loss="hinge", ema=0.999),
    params={"generator": (1_772_083, 1_770_099), "discriminator": (3_781_216, 3_779_296),
            "decoder": (519_366, 518_598)}, image_sizes=sizes.fastgan_smallest_map))
