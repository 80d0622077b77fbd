"""TrainConfig: the fully resolved settings of one training run, frozen.

Resolution order: the dataclass defaults <- the model's registry entry <- the options the
user actually gave (None means "not given" and never overrides a model default) <- what the
data and the machine say (the number of classes, the precision), settled once by `facegan.training.plan`
before `config.json` is written. `--resume` and every analysis command read it back with
`TrainConfig.read(run)`, so a resumed run has the architecture it was started with.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from facegan import registry, rundir, runfiles
from facegan.data.sources import SPLITS
from facegan.errors import FaceganError
from facegan.health import ON_COLLAPSE
from facegan.runfiles import DamagedFile

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
ALTERNATE_MODES = ("batch", "threshold")
# facegan.steps.base.CROSS_ENTROPIES, hinge, and the losses that pair reals with fakes (facegan.steps.gan.paired_loss)
GAN_LOSSES = ("bce", "bce-logits", "bce-probs", "hinge", "relativistic", "dual-contrastive")
CROSS_ENTROPY_LOSSES = GAN_LOSSES[:3]
PAIRED_LOSSES = ("relativistic", "dual-contrastive")
D_LOSSES = ("sum", "mean")
GP_INTERPOLATIONS = ("uniform", "normal")
WEIGHT_DECAY_KINDS = ("decoupled", "l2")
DEFINITION = 2  # the seed models as their notebooks define them, line by line; runs made before carry 1
SEEDING = 2  # each draw of a step seeded by folding (seed, step, site) together (facegan/steps/draws.py)
STRATEGIES = ("auto", "single", "mirrored", "multiworker")  # tf.distribute's, as facegan.distribute makes them
# --devices, said once for the help, the README and docs/distributed.md (facegan.distribute.make_strategy does it)
DEVICES_HELP = ("The devices of this machine to train on: N GPUs, or, on a machine without a GPU, the CPU split "
                "into N logical devices (a mirrored run to try on a laptop).")
DEVICES_DEFAULT = "every GPU, else the CPU as one device"
EVAL_METRICS = ("swd", "fid", "kid")  # what judges a run's evaluations and picks checkpoints/best (lower is better)
AUGMENTATIONS = ("translation", "cutout", "color", "ada")  # --augment's names (facegan/steps/augment.py)
# The settings every model takes; a model's own are its registry entry's `settings`. The record's other fields
# are set by facegan, not by options: the model, its definition and seeding, the number of classes (from the data),
# and the AE-GAN's loss (which the model's name says).
COMMON_SETTINGS = (
    "data", "epochs", "batch_size", "image_size", "channels", "latent_dim", "lr", "beta1", "beta2", "weight_decay",
    "weight_decay_kind", "split", "max_images", "flip", "precision", "xla", "sync_bn", "seed", "sample_every",
    "keep_checkpoints", "keep_every", "checkpoint_minutes", "eval_every", "eval_images", "eval_metric", "ema",
    "ema_rampup", "bad_steps", "rollback_lr", "max_rollbacks", "on_collapse", "collapse_patience", "min_diversity",
    "init", "init_best")
RECORDED = ("model", "definition", "seeding", "num_classes", "aegan_loss")
# settings renamed: their earlier names (the notebooks' alpha and beta), which options, the API and old config.json
# files still give
RENAMED = {"alpha": "ae_weight", "beta": "gan_weight", "beta_a": "slope_scale", "beta_window": "slope_window"}


@dataclass(frozen=True)
class TrainConfig:
    model: str
    # which definition of the seed models the run was made with (DEFINITION; config.json written before: 1)
    definition: int = DEFINITION
    # how a step's random draws are seeded (SEEDING: no two draws share a seed; config.json written before: 1,
    # [seed, step * 64 + site], which a step of more than 64 draws shared with the next step's)
    seeding: int = SEEDING
    data: str = "lfw"
    epochs: int = 10
    batch_size: int = 64
    image_size: int = 64
    channels: int = 1
    latent_dim: int = 100
    # optimizer (Adam); weight_decay is "decoupled" (keras.optimizers.Adam's: w -= lr * decay * w) or "l2" (an
    # L2 penalty's gradient decay * w added to the gradient, as PyTorch's Adam(weight_decay=...) does)
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 0.0
    weight_decay_kind: str = "decoupled"
    d_lr: float | None = None  # the discriminator's rate where it differs from lr (two time scales)
    # discriminator regularization: dropout rate, and noisy labels real = 1 + n*U(0,1), fake = -n*U(0,1)
    dropout: float = 0.0
    label_noise: float = 0.0
    # the adversarial loss: a cross-entropy ("bce": facegan's, of logits, each log term clamped at -100; "bce-logits":
    # Keras's from_logits=True; "bce-probs": Keras's on sigmoid probabilities clipped at 1e-7) or "hinge"; the
    # discriminator's real and fake terms added ("sum") or averaged ("mean"); the R1 penalty weight gamma
    # (gamma/2 * ||d D(real) / d real||^2); the discriminator's inputs augmented by this policy (see augment.py)
    gan_loss: str = "bce"
    d_loss: str = "sum"
    r1_weight: float = 0.0
    r2_weight: float = 0.0
    penalty_every: int = 1  # R1 and R2 in every Nth step only, weighted N times (lazy regularization)
    augment: str = ""
    # AE-GAN: which loss mix, the weights of its autoencoder and GAN terms (the notebooks' alpha and beta), v4's
    # schedule of the GAN weight min(|slope_scale / slope|, 1) over the autoencoder loss's slope across slope_window
    # steps, AE pretraining
    aegan_loss: str = "v0"
    ae_weight: float = 1.0
    gan_weight: float = 0.0
    slope_scale: float = 2e-7
    slope_window: int = 50
    pretrain_ae_epochs: int = 0
    # VAE
    kl_weight: float = 5e-5
    # WGAN-GP and cgan
    gp_weight: float = 10.0
    critic_steps: int = 1
    gp_interpolation: str = "uniform"  # the weight of x_fake in the penalty's points, per image: U(0, 1) or N(0, 1)
    # fastgan: StyleGAN's minibatch standard deviation over groups of this many images in the discriminator (0: off)
    mbstd_group: int = 0
    # gan-alt: "batch" alternates every batch; "threshold" trains one side until its loss < its threshold (the
    # thresholds are facegan's numbers: the notebook's "more thought-out condition" gives none)
    alternate: str = "batch"
    d_threshold: float = 0.5
    g_threshold: float = 1.0
    # conditional models: the attribute used as class label, and the number of classes (from the data)
    label: str | None = None
    num_classes: int = 0
    # which images: CelebA's partition (train, valid, test or all; sources without one are all) and a seeded
    # subset of at most max_images of them
    split: str = "train"
    max_images: int | None = None
    flip: bool | None = None  # mirror images added; None means "on for lfw"
    precision: str = "auto"
    xla: bool = False
    sync_bn: bool = False  # batch-norm statistics over every replica's batch (tf.distribute)
    seed: int = 0
    # when grids and evaluations are due (facegan.training.cadence), as --sample-every and --eval-every say it:
    # epochs ("5") or images seen ("50k", "2M"); "": ten over the run; an eval_every of "0": never
    sample_every: str = ""
    keep_checkpoints: int = 3
    keep_every: int = 0  # also keep the checkpoint of every Nth epoch for good (0: none)
    checkpoint_minutes: float = 10.0  # also a checkpoint inside an epoch after this long (0: only at epoch ends)
    eval_every: str = ""
    eval_images: int = 256  # images of each evaluation (and of each of its two real sets)
    # the figure that judges the evaluations and picks checkpoints/best: SWD; or FID or KID, which add the FID
    # Inception network's FID, KID, precision and recall to every evaluation
    eval_metric: str = "swd"
    ema: float = 0.0  # decay of the generator weights' moving average; 0 is off
    ema_rampup: float = 0.0  # the average's half-life as this share of the images seen, up to ema's (facegan.ema)
    # health guard: after bad_steps non-finite steps in a row, roll back to the newest checkpoint and
    # multiply the learning rates by rollback_lr, at most max_rollbacks times; collapse checks look at
    # collapse_patience epochs and react as on_collapse says
    bad_steps: int = 10
    rollback_lr: float = 0.5
    max_rollbacks: int = 3
    on_collapse: str = "warn"
    collapse_patience: int = 3
    min_diversity: float = 0.2
    # fine-tuning: the networks start from this run's weights (its best evaluation's with init_best)
    init: str | None = None
    init_best: bool = False

    @classmethod
    def resolve(cls, model: str, **options) -> "TrainConfig":
        spec = registry.get(model)
        given = {key: value for key, value in options.items() if value is not None}
        for old, new in RENAMED.items():  # the AE-GAN weights' earlier names, still taken
            if old in given and new in given:
                raise FaceganError(f"{option_name(old)} is the earlier name of {option_name(new)}: give one of them")
            if old in given:
                given[new] = given.pop(old)
        unknown = set(given) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unknown TrainConfig fields: {sorted(unknown)}")
        foreign = [name for name in given if name not in (*COMMON_SETTINGS, *RECORDED, *spec.settings)]
        if foreign:
            raise FaceganError(f"{model} does not take {', '.join(option_name(n) for n in foreign)}; its own settings "
                               f"are {', '.join(option_name(n) for n in spec.settings)} (and those every model takes: "
                               "facegan train --help)")
        settled = {}
        for name in CADENCES:  # the API may give a number of epochs
            if name in given:
                given[name] = str(given[name])
        if given.get("alternate") == "threshold" and "d_loss" not in given:
            settled["d_loss"] = "sum"  # the notebook's threshold protocol gets rid of the discriminator loss factor
        cfg = cls(model=model, **{**spec.defaults, **settled, **given})
        cfg.validate()
        return cfg

    @classmethod
    def read(cls, run: Path) -> "TrainConfig":
        """The configuration a run was trained with (its config.json), checked as the options are."""
        path = Path(run) / rundir.CONFIG
        try:
            settings = upgraded(read_record(run)["config"])
            runfiles.check_settings(path, settings, ANNOTATIONS)
            cfg = cls(**settings)
            cfg.validate()
        except DamagedFile:
            raise
        except FaceganError as error:  # a value no option could give, or a model facegan does not know
            raise DamagedFile(path, str(error)) from None
        return cfg

    def replace(self, **changes) -> "TrainConfig":
        """A copy with `changes`, validated."""
        cfg = dataclasses.replace(self, **changes)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        positive = ["epochs", "batch_size", "image_size", "latent_dim", "lr", "critic_steps",
                    "slope_window", "penalty_every", "keep_checkpoints", "eval_images", "bad_steps",
                    "collapse_patience"]
        for name in positive:
            if getattr(self, name) <= 0:
                raise FaceganError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.channels not in (1, 3):
            raise FaceganError(f"--channels must be 1 or 3, got {self.channels}")
        if self.init_best and not self.init:
            raise FaceganError("--init-best needs --init RUN")
        if not 0.0 <= self.dropout < 1.0:
            raise FaceganError(f"--dropout must be in [0, 1), got {self.dropout}")
        if self.precision not in PRECISIONS:
            raise FaceganError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.alternate not in ALTERNATE_MODES:
            raise FaceganError(f"--alternate must be one of {', '.join(ALTERNATE_MODES)}, got {self.alternate!r}")
        for option, text in (("--sample-every", self.sample_every), ("--eval-every", self.eval_every)):
            parse_cadence(option, text)
        if min(self.pretrain_ae_epochs, self.checkpoint_minutes) < 0:
            raise FaceganError("--pretrain-ae-epochs and --checkpoint-minutes must not be negative")
        if not 0.0 <= self.ema < 1.0:
            raise FaceganError(f"--ema must be in [0, 1) (0 is off), got {self.ema}")
        if not 0.0 < self.rollback_lr <= 1.0:
            raise FaceganError(f"--rollback-lr must be in (0, 1], got {self.rollback_lr}")
        if self.max_rollbacks < 0 or self.min_diversity < 0:
            raise FaceganError("--max-rollbacks and --min-diversity must not be negative")
        if self.split not in SPLITS:
            raise FaceganError(f"--split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        if self.max_images is not None and self.max_images < 1:
            raise FaceganError(f"--max-images must be positive, got {self.max_images}")
        if self.d_lr is not None and self.d_lr <= 0:
            raise FaceganError(f"--d-lr must be positive, got {self.d_lr}")
        for name, value, allowed in (("gan-loss", self.gan_loss, GAN_LOSSES), ("d-loss", self.d_loss, D_LOSSES),
                                     ("gp-interpolation", self.gp_interpolation, GP_INTERPOLATIONS),
                                     ("weight-decay-kind", self.weight_decay_kind, WEIGHT_DECAY_KINDS)):
            if value not in allowed:
                raise FaceganError(f"--{name} must be one of {', '.join(allowed)}, got {value!r}")
        if min(self.r1_weight, self.r2_weight, self.ema_rampup, self.mbstd_group) < 0:
            raise FaceganError("--r1-weight, --r2-weight, --ema-rampup and --mbstd-group must not be negative")
        spec = registry.get(self.model)
        try:
            spec.image_sizes(self.image_size)
        except ValueError as error:
            raise FaceganError(f"--image-size {self.image_size} does not fit {self.model}: {error}") from None
        if self.gan_loss not in CROSS_ENTROPY_LOSSES and spec.family == "aegan":
            raise FaceganError(f"--gan-loss {self.gan_loss} is not for {self.model}: its losses are cross-entropies")
        if self.gan_loss in PAIRED_LOSSES and self.label_noise:
            raise FaceganError(f"--gan-loss {self.gan_loss} pairs reals with fakes and has no labels to make noisy: "
                               f"give --label-noise 0 too ({self.model}'s is {self.label_noise})")
        if self.definition not in range(1, DEFINITION + 1) or self.seeding not in range(1, SEEDING + 1):
            raise FaceganError(f"definition must be one of 1..{DEFINITION} and seeding one of 1..{SEEDING}, got "
                               f"{self.definition!r} and {self.seeding!r}")
        if self.keep_every < 0:
            raise FaceganError(f"--keep-every must not be negative, got {self.keep_every}")
        augment_policy(self.augment)  # refuses a name it does not know
        if self.eval_metric not in EVAL_METRICS:
            raise FaceganError(f"--eval-metric must be one of {', '.join(EVAL_METRICS)}, got {self.eval_metric!r}")
        if self.on_collapse not in ON_COLLAPSE:
            raise FaceganError(f"--on-collapse must be one of {', '.join(ON_COLLAPSE)}, got {self.on_collapse!r}")

    @property
    def augment_policy(self) -> tuple[str, ...]:
        """--augment's transforms, in order (see `augment_policy`)."""
        return augment_policy(self.augment)

    @property
    def flip_images(self) -> bool:
        return self.data == "lfw" if self.flip is None else self.flip

    def images_per_epoch(self, images: int) -> int:
        """The images an epoch trains on, of `images` in the data: twice as many with mirror images."""
        return images * (2 if self.flip_images else 1)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


CADENCES = ("sample_every", "eval_every")  # epochs ("5") or images seen ("50k"), as text
ANNOTATIONS = {field.name: field.type for field in dataclasses.fields(TrainConfig)}  # "int", "float | None", ...


def upgraded(record: dict) -> dict:
    """A config.json's settings with what a run written before a setting existed was trained with: all images
    (before --split), its draws seeded the first way (before `seeding`), and definition 1 of the seed models
    (before `definition`), whose alternating GAN always halved its discriminator loss; and its grids and
    evaluations as one setting each."""
    legacy = {"split": "all", "seeding": 1}
    if "definition" not in record:
        legacy.update(definition=1, d_loss="mean" if registry.get(record["model"]).family == "gan-alt" else "sum")
    record = {**legacy, **{RENAMED.get(name, name): value for name, value in record.items()}}
    for name in CADENCES:  # before one setting each: epochs and images as two numbers
        epochs, images = record.get(name), record.pop(f"{name}_images", 0)
        if not isinstance(epochs, str):
            record[name] = f"{images / 1000:.15g}k" if images else "" if epochs is None else str(epochs)
    return record


def read_record(run: Path) -> dict:
    """A run's whole config.json: config, data, distribution and versions."""
    return runfiles.read_record(Path(run) / rundir.CONFIG)


def augment_policy(text: str | None) -> tuple[str, ...]:
    """--augment "translation,color" -> ("translation", "color"), in order, once each; "none", "" or None -> ()
    (off)."""
    names = tuple(name.strip() for name in (text or "").split(",") if name.strip() not in ("", "none"))
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise FaceganError(f"--augment takes a comma-separated list of {', '.join(AUGMENTATIONS)} (or none); "
                           f"unknown: {', '.join(unknown)}")
    return tuple(dict.fromkeys(names))


def option_name(setting: str) -> str:
    """The `facegan train` option that sets a setting."""
    return "--" + setting.replace("_", "-")


def parse_cadence(option: str, text: str) -> tuple[int, int]:
    """--sample-every, --eval-every: (epochs, 0) for a plain number, (0, images) for an image count such as 50k
    or 2M, (0, 0) for ""."""
    units = {"k": 1_000, "K": 1_000, "M": 1_000_000}
    try:
        epochs, images = (0, round(float(text[:-1]) * units[text[-1]])) if text[-1:] in units else (int(text or 0), 0)
    except ValueError:
        epochs = images = -1
    if min(epochs, images) < 0:
        raise FaceganError(f"{option} takes epochs (10) or images (50k, 2M), got {text!r}")
    return epochs, images


def default_text(name: str) -> str:
    """What `train --help` says of a field's default: TrainConfig's, or the models' where they differ
    ("default: the model's: dcgan, cgan 0.3; gan-baseline 0.4; others 0.0"); an on/off setting as its flag
    ("default: no-xla"), as Typer shows the other commands' flags."""
    def shown(value) -> str:
        if isinstance(value, bool):
            return ("" if value else "no-") + name.replace("_", "-")
        return "none" if value in ("", None) else str(value)

    default = next(f.default for f in dataclasses.fields(TrainConfig) if f.name == name)
    groups: dict[str, list[str]] = {}
    for model in registry.names():
        groups.setdefault(shown(registry.get(model).defaults.get(name, default)), []).append(model)
    if len(groups) == 1:
        return f"default: {shown(default)}"
    others = sorted((v for v in groups if v != shown(default)), key=lambda v: -len(groups[v]))
    parts = [f"{', '.join(groups[v])} {v}" for v in others[:3]]
    rest = "see facegan models MODEL" if len(others) > 3 else f"others {shown(default)}"
    return f"default: the model's: {'; '.join(parts)}; {rest}"
