"""What every loss family shares: optimizers, loss scaling, losses, conditional inputs, previews.

A family's step methods (`train_step`, and others that `step_name` may choose) take a batch
x (B, H, W, C) float32 in [-1, 1] and y (B,) int32 labels, do no I/O and no host round-trip,
and return a dict of float32 scalar tensors named by `metrics`; the loop compiles them with
tf.function and writes the figures outside the step. Every update goes through
`Family.minimize`, which refuses non-finite ones; `skipped` counts them.

Under tf.distribute a step runs once per replica on its share of the global batch: its losses are
`share`s and its figures `totals` (facegan/steps/replicas.py); its random numbers come from `draw`
(facegan/steps/draws.py), the same on one device and on several.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from facegan.nets.dcgan import PROBABILITY
from facegan.nets.layers import attach
from facegan.steps import augment, replicas
from facegan.steps.draws import Draws
from facegan.steps.replicas import share, totals


def make_optimizer(cfg, lr: float, loss_scaling: bool, variables) -> keras.optimizers.Optimizer:
    """Adam at rate `lr` with the config's other settings (decoupled weight decay here; the "l2" kind is added to
    the gradients by Family.minimize); wrapped for dynamic loss scaling under float16; built."""
    decoupled = cfg.weight_decay if cfg.weight_decay_kind == "decoupled" else 0.0
    optimizer = keras.optimizers.Adam(lr, beta_1=cfg.beta1, beta_2=cfg.beta2, weight_decay=decoupled or None)
    if loss_scaling:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    optimizer.build(variables)  # before the first compiled step and before a checkpoint restore
    return optimizer


EPSILON = 1e-7  # keras.backend.epsilon(): where Keras's cross-entropy clips probabilities


def bce(targets, logits):
    """facegan's own binary cross-entropy of logits (B, 1) per example (B,): each log term clamped at -100 (as
    PyTorch's BCELoss clamps). From logits, the generator keeps its gradient when the discriminator is sure; the
    clamp keeps the loss bounded when noisy labels put the targets outside [0, 1]."""
    logits = tf.cast(logits, tf.float32)
    log_p = tf.maximum(tf.math.log_sigmoid(logits), -100.0)
    log_not_p = tf.maximum(tf.math.log_sigmoid(-logits), -100.0)
    return -tf.reduce_mean(targets * log_p + (1.0 - targets) * log_not_p, axis=-1)


def bce_logits(targets, logits):
    """Keras's BinaryCrossentropy(from_logits=True) per example (B,), of logits (B, 1): unclamped."""
    logits = tf.cast(logits, tf.float32)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits), axis=-1)


def bce_probs(targets, logits):
    """Keras's BinaryCrossentropy() per example (B,), on the sigmoid probabilities of logits (B, 1), as the Keras
    notebooks compute it: probabilities clipped to [1e-7, 1 - 1e-7], so each term lies within -log(1e-7) = 16.1
    and a sure discriminator gives the generator no gradient."""
    p = tf.clip_by_value(tf.sigmoid(tf.cast(logits, tf.float32)), EPSILON, 1.0 - EPSILON)
    return -tf.reduce_mean(targets * tf.math.log(p) + (1.0 - targets) * tf.math.log(1.0 - p), axis=-1)


CROSS_ENTROPIES = {"bce": bce, "bce-logits": bce_logits, "bce-probs": bce_probs}  # --gan-loss's cross-entropies


def mse(x, y):
    """Mean squared error per example (B,)."""
    return tf.reduce_mean(tf.square(tf.cast(x, tf.float32) - tf.cast(y, tf.float32)), axis=[1, 2, 3])


def scored(out) -> tuple:
    """(scores, what else the pass gave) of a scoring function's result: scores, or (scores, anything else)."""
    return out if isinstance(out, tuple) else (out, ())


def input_gradient_norms(score_fn, x, loss_scale=1.0):
    """(scores (B,) float32, ||d score / d x||^2 per example (B,), what else score_fn gave) of a function scoring
    each image of x: its scores, or (scores, anything else its pass gives).

    The gradient is taken with a tape of its own inside the caller's, which then differentiates it (a
    penalty on it, R1 or WGAN-GP's, trains the network). Under float16 loss scaling the scores are
    multiplied by the loss scale before differentiating, so that small gradients do not underflow, and the
    gradient divided."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs, rest = scored(score_fn(x))
        outputs = tf.cast(outputs, tf.float32)
        scaled = tf.reduce_sum(outputs) * loss_scale
    gradients = tf.cast(tape.gradient(scaled, x), tf.float32) / loss_scale
    return outputs, tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3]), rest


def logits_model(discriminator: keras.Model) -> keras.Model:
    """The discriminator up to its logit. A sigmoid output (the DCGAN's) is dropped for training:
    BCE on probabilities clips them at 1e-7, which gives the generator zero gradient as soon as the
    discriminator is sure; BCE on the logit is the same loss without that cliff."""
    names = [layer.name for layer in discriminator.layers]
    if PROBABILITY not in names:
        return discriminator
    return keras.Model(discriminator.inputs, discriminator.get_layer(PROBABILITY).input)


class XlaCompiled:
    """A network whose calls XLA compiles: its forward pass and, through a gradient tape, its backward
    pass. Attributes are the network's."""

    def __init__(self, network: keras.Model):
        self.network = network
        self.compiled = tf.function(lambda inputs, training: network(inputs, training=training), jit_compile=True)

    def __call__(self, inputs, training=False):
        return self.compiled(inputs, training)

    def __getattr__(self, name):
        return getattr(self.network, name)


class Family:
    """A loss family: its step methods over the networks, and what they share. Made by
    facegan.steps.build_family, which gives it its optimizers once it is built (`make_optimizers`)."""

    metrics: tuple[str, ...] = ()

    def __init__(self, cfg, nets: dict, loss_scaling: bool, xla_networks: bool = False):
        self.cfg, self.nets = cfg, nets
        self.loss_scaling, self.xla_networks = loss_scaling, xla_networks
        self.draw = Draws(cfg.seed, cfg.seeding)  # every random number of a step
        attach(nets.values(), self.draw)  # dropout masks are draws of the step too
        # the networks the steps call: each compiled by XLA where XLA compiles the networks, not the whole step
        self.generator = self.called(nets["generator"])
        self.discriminator = self.called(nets.get("discriminator"))
        self.encoder = self.called(nets.get("encoder"))
        self.optimizers = {}  # "g", "d": made by build_family
        # --augment: the transforms before the discriminator, and ADA's probability (a global value)
        self.policy = cfg.augment_policy
        self.augment_p = None
        if "ada" in self.policy:
            self.augment_p = tf.Variable(0.0, trainable=False, name="augment_p",
                                         aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            self.metrics = (*self.metrics, "augment_p")

    def called(self, network: keras.Model | None):
        """`network` as the steps call it: compiled by XLA with `xla_networks` (--xla over several replicas,
        where the whole step cannot be: see compile_step), else itself. A family calls every network it makes
        of its own (a model over part of another) through this too."""
        return XlaCompiled(network) if self.xla_networks and network is not None else network

    def number_step(self, number) -> None:
        """Before tracing a step: its number (a tensor), on which its random draws depend."""
        self.draw.start(number)

    def minimize(self, tape: tf.GradientTape, loss, variables, optimizer, when=True) -> tf.Tensor:
        """One update of `variables` by `optimizer` (made only where `when` holds), refused when the
        loss or a gradient is not finite on any replica; returns 1.0 for a refused update, else 0.0.
        Under loss scaling the optimizer itself skips non-finite gradients (and lowers its scale), so
        only a non-finite loss, which no scale cures, counts. The decision is taken once for all
        replicas, in cross-replica context, as keras' LossScaleOptimizer takes its own."""
        with tape:  # re-entered so that the scaling is recorded; otherwise its gradient is None
            scaled = optimizer.scale_loss(loss)
        gradients = self.with_l2(tape.gradient(scaled, variables), variables, optimizer)
        checked = [loss] if self.loss_scaling else [loss, *gradients]
        finite_here = tf.reduce_all([tf.reduce_all(tf.math.is_finite(t)) for t in checked])
        refused = totals({"refused": 1.0 - tf.cast(finite_here, tf.float32)})["refused"] > 0
        replicas.apply_everywhere(optimizer, gradients, variables, tf.logical_and(tf.logical_not(refused), when))
        return tf.cast(tf.logical_and(refused, when), tf.float32)

    def with_l2(self, gradients: list, variables: list, optimizer) -> list:
        """With --weight-decay-kind l2: each gradient plus decay * w (an L2 penalty's gradient, as PyTorch's
        Adam(weight_decay=...) adds it), scaled as the loss is and split over the replicas, whose gradients the
        optimizer sums; else the gradients themselves."""
        if not (self.cfg.weight_decay and self.cfg.weight_decay_kind == "l2"):
            return gradients
        factor = self.cfg.weight_decay * optimizer.scale_loss(tf.constant(1.0)) / replicas.count()
        return [g if g is None else g + tf.cast(factor, g.dtype) * tf.cast(v, g.dtype)
                for g, v in zip(gradients, variables)]

    def make_optimizers(self, loss_scaling: bool) -> dict:
        """One optimizer per adversary: "g" for the generator side, "d" for the discriminator."""
        rates = self.learning_rates()
        return {"g": make_optimizer(self.cfg, rates["g"], loss_scaling, self.generator_variables()),
                "d": make_optimizer(self.cfg, rates["d"], loss_scaling, self.discriminator_variables())}

    def learning_rates(self) -> dict:
        """Each optimizer's configured rate: --lr, and --d-lr for the discriminator where given (two time
        scales, Heusel et al. 2017)."""
        return {"g": self.cfg.lr, "d": self.cfg.d_lr or self.cfg.lr}

    def generator_variables(self) -> list:
        encoder = self.encoder.trainable_variables if self.encoder is not None else []
        return encoder + self.generator.trainable_variables

    def discriminator_variables(self) -> list:
        """What the "d" optimizer trains: the discriminator's weights (and what regularizes it, in a subclass)."""
        return self.discriminator.trainable_variables

    def augmented(self, x):
        """x (B, H, W, C) as the discriminator sees it: with --augment's transforms (the same for real and
        generated images, differentiable), else x itself."""
        if not self.policy:
            return x
        return augment.augment(x, self.policy, self.draw, self.augment_p)

    def adapt_augmentation(self, scores) -> dict:
        """With `ada`: adjust p from the discriminator's overfitting signal, the mean of sign(scores) over the
        global batch (scores (B,): its outputs on reals, where 0 is its boundary), and return the p this
        step used as the metric "augment_p"; else {}."""
        if self.augment_p is None:
            return {}
        used = self.augment_p.read_value()
        signs = tf.sign(tf.cast(scores, tf.float32))
        batch = tf.cast(tf.shape(signs)[0] * replicas.count(), tf.float32)
        self.augment_p.assign(augment.ada_update(used, totals({"realness": share(signs)})["realness"], batch))
        return {"augment_p": used}

    def step_name(self, epoch: int) -> str:
        """Name of the step method to run in (1-based) `epoch`."""
        return "train_step"

    def state(self) -> dict:
        """Extra variables the checkpoint must hold besides networks, optimizers and counters."""
        return {"augment_p": self.augment_p} if self.augment_p is not None else {}

    def nan_metrics(self) -> dict:
        return {name: tf.constant(np.nan, tf.float32) for name in self.metrics}

    # conditional models take [input, one-hot label]; the others the input alone
    def generator_inputs(self, z, y):
        return [z, tf.one_hot(y, self.cfg.num_classes)] if self.cfg.num_classes else z

    def discriminator_inputs(self, x, y):
        return [x, tf.one_hot(y, self.cfg.num_classes)] if self.cfg.num_classes else x

    def latents(self, n):
        return self.draw("normal", n, (self.cfg.latent_dim,))
