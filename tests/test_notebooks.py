"""dcgan, wgan-gp and cgan take the step their notebooks take (Generative Deep Learning, 2nd edition, chapter 4:
dcgan.ipynb, wgan_gp.ipynb, cgan.ipynb).

Each notebook's networks and train_step are written here from the notebook's text, in stock Keras, and nothing of
them comes from facegan. Both sides start from the same weights (facegan's, copied into the notebook's networks)
and take the same random numbers: facegan's step runs first and records its draws (latents, label noise, dropout
masks, interpolation weights) in order; the notebook's step takes them back in the order it asks for them.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import build
from keras import layers, losses, models, optimizers

from facegan.config import TrainConfig
from facegan.nets.layers import attach

BATCH = 4


class Replay:
    """facegan's draws, recorded as its step makes them, handed back to the notebook's step."""

    def __init__(self, family):
        self.values, self.draws = [], family.draw
        family.draw = self
        attach(family.nets.values(), self)  # the dropout layers' draws too

    def start(self, number):
        self.draws.start(number)

    def __call__(self, kind, n, shape, minval=0.0, maxval=1.0):
        value = self.draws(kind, n, shape, minval, maxval)
        self.values.append(value)
        return value

    def take(self, shape):
        value = self.values.pop(0)
        assert tuple(value.shape) == tuple(shape), (value.shape, shape)
        return value

    def dropout(self, inputs, rate, noise_shape=None, seed=None):
        """keras.random.dropout (tf.nn.experimental.stateless_dropout's arithmetic) on a recorded uniform."""
        keep = tf.cast(self.take(inputs.shape) >= rate, inputs.dtype)
        return inputs * (1.0 / (1.0 - rate)) * keep


@pytest.fixture
def replayed_dropout(monkeypatch):
    """Route stock keras.layers.Dropout's masks through a Replay (set by the test)."""
    from keras.src.backend.tensorflow import random as tf_random

    holder = {}
    monkeypatch.setattr(tf_random, "dropout", lambda *args, **kwargs: holder["replay"].dropout(*args, **kwargs))
    return holder


def kinds(network):
    """The layer kinds and activations of a network, as a Keras summary lists them."""
    rows = []
    for layer in network.layers:
        config = layer.get_config()
        activation = config.get("activation") or config.get("negative_slope")
        rows.append((type(layer).__name__.replace("Fused", ""), str(activation) if activation is not None else ""))
    return [row for row in rows if row[0] not in ("InputLayer", "StepDropout", "Dropout")]


def copy_weights(source, target):
    assert [tuple(w.shape) for w in source.weights] == [tuple(w.shape) for w in target.weights]
    target.set_weights(source.get_weights())


def assert_close(facegan_value, notebook_value, what):
    np.testing.assert_allclose(np.asarray(facegan_value), np.asarray(notebook_value), rtol=0, atol=1e-5,
                               err_msg=what)


def assert_same_weights(ours: keras.Model, theirs: keras.Model, lr: float):
    """Every weight within 1e-5 of the notebook's but a stray few (at most 1 in 100,000), each still within the
    2 x lr that one Adam step can move a weight. Adam's first step is lr * g / (|g| + 1e-7): for a gradient near
    1e-7, the last bits of a sum (facegan's fused batch-norm kernel against Keras's composed one) move the update
    by up to lr. A wrong loss, reduction or draw moves nearly every weight."""
    apart = np.concatenate([np.abs(a.numpy() - b.numpy()).ravel() for a, b in zip(ours.weights, theirs.weights)])
    assert (apart > 1e-5).mean() <= 1e-5, f"{(apart > 1e-5).sum()} of {apart.size} weights of {ours.name} differ"
    assert apart.max() <= 2 * lr, f"{ours.name}: a weight {apart.max():.3g} from the notebook's"


def facegan_step(model, sure: bool = False, **options):
    """facegan's first step of `model` on a fixed batch; `sure`: with the discriminator's last kernel scaled up
    a thousandfold, so that its probabilities reach the cross-entropy's clipping."""
    cfg = TrainConfig.resolve(model, batch_size=BATCH, precision="float32", **options)
    nets, family = build(cfg)
    if sure:
        last = nets["discriminator"].trainable_weights[-1]
        last.assign(last * 1000.0)
    before = {name: net.get_weights() for name, net in nets.items()}
    x = tf.random.stateless_uniform((BATCH, cfg.image_size, cfg.image_size, cfg.channels), (1, 2), -1.0, 1.0)
    y = tf.constant(np.arange(BATCH) % 2, tf.int32)
    replay = Replay(family)
    family.number_step(tf.constant(1, tf.int64))
    metrics = family.train_step(x, y)  # eagerly, so that its draws are values
    return cfg, nets, before, x, y, replay, metrics


# --- dcgan.ipynb ---------------------------------------------------------------------------------------------

def dcgan_discriminator(image_size, channels):
    discriminator_input = layers.Input(shape=(image_size, image_size, channels))
    x = layers.Conv2D(64, kernel_size=4, strides=2, padding="same", use_bias=False)(discriminator_input)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Dropout(0.3)(x)
    for filters in (128, 256, 512):
        x = layers.Conv2D(filters, kernel_size=4, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.Dropout(0.3)(x)
    x = layers.Conv2D(1, kernel_size=4, strides=1, padding="valid", use_bias=False, activation="sigmoid")(x)
    discriminator_output = layers.Flatten()(x)
    return models.Model(discriminator_input, discriminator_output)


def dcgan_generator(z_dim, channels):
    generator_input = layers.Input(shape=(z_dim,))
    x = layers.Reshape((1, 1, z_dim))(generator_input)
    x = layers.Conv2DTranspose(512, kernel_size=4, strides=1, padding="valid", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.LeakyReLU(0.2)(x)
    for filters in (256, 128, 64):
        x = layers.Conv2DTranspose(filters, kernel_size=4, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.LeakyReLU(0.2)(x)
    generator_output = layers.Conv2DTranspose(channels, kernel_size=4, strides=2, padding="same", use_bias=False,
                                              activation="tanh")(x)
    return models.Model(generator_input, generator_output)


def dcgan_train_step(discriminator, generator, d_optimizer, g_optimizer, real_images, latent_dim, replay):
    """DCGAN.train_step of the notebook, its tf.random calls answered by the replay."""
    noise_param = 0.1
    loss_fn = losses.BinaryCrossentropy()
    batch_size = real_images.shape[0]
    random_latent_vectors = replay.take((batch_size, latent_dim))
    with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
        generated_images = generator(random_latent_vectors, training=True)
        real_predictions = discriminator(real_images, training=True)
        fake_predictions = discriminator(generated_images, training=True)
        real_labels = tf.ones_like(real_predictions)
        real_noisy_labels = real_labels + noise_param * replay.take(real_predictions.shape)
        fake_labels = tf.zeros_like(fake_predictions)
        fake_noisy_labels = fake_labels - noise_param * replay.take(fake_predictions.shape)
        d_real_loss = loss_fn(real_noisy_labels, real_predictions)
        d_fake_loss = loss_fn(fake_noisy_labels, fake_predictions)
        d_loss = (d_real_loss + d_fake_loss) / 2.0
        g_loss = loss_fn(real_labels, fake_predictions)
    gradients_of_discriminator = disc_tape.gradient(d_loss, discriminator.trainable_variables)
    gradients_of_generator = gen_tape.gradient(g_loss, generator.trainable_variables)
    d_optimizer.apply_gradients(zip(gradients_of_discriminator, discriminator.trainable_variables))
    g_optimizer.apply_gradients(zip(gradients_of_generator, generator.trainable_variables))
    return {"d_loss": d_loss, "g_loss": g_loss,
            "d_acc_real": keras.metrics.BinaryAccuracy()(real_labels, real_predictions),
            "d_acc_fake": keras.metrics.BinaryAccuracy()(fake_labels, fake_predictions)}


def adam(cfg):
    return optimizers.Adam(learning_rate=cfg.lr, beta_1=cfg.beta1, beta_2=cfg.beta2)


def test_dcgan_has_the_notebooks_layers_and_activations():
    cfg = TrainConfig.resolve("dcgan", precision="float32")
    nets, _ = build(cfg)
    assert kinds(nets["generator"]) == kinds(dcgan_generator(cfg.latent_dim, cfg.channels))
    discriminator = dcgan_discriminator(cfg.image_size, cfg.channels)
    # facegan keeps the notebook's sigmoid as a layer of its own after the flatten, to train on the logit beneath
    notebook = [kind for kind in kinds(discriminator) if kind != ("Flatten", "")]
    notebook[-1] = ("Conv2D", "linear")
    assert kinds(nets["discriminator"]) == [*notebook, ("Flatten", ""), ("Activation", "sigmoid")]
    assert ("LeakyReLU", "0.2") in kinds(nets["generator"]) and ("ReLU", "") not in kinds(nets["generator"])


@pytest.mark.slow
@pytest.mark.parametrize("sure", [False, True], ids=["unsure", "sure"])
def test_dcgan_step_equals_the_notebooks(replayed_dropout, sure):
    cfg, nets, before, x, _, replay, metrics = facegan_step("dcgan", sure=sure)
    discriminator, generator = dcgan_discriminator(cfg.image_size, cfg.channels), dcgan_generator(cfg.latent_dim,
                                                                                                  cfg.channels)
    discriminator.set_weights(before["discriminator"])
    generator.set_weights(before["generator"])
    replayed_dropout["replay"] = replay
    notebook = dcgan_train_step(discriminator, generator, adam(cfg), adam(cfg), x, cfg.latent_dim, replay)
    assert not replay.values  # every draw taken, in the notebook's order
    if sure:  # the clipped cross-entropy's regime, where a loss on logits would differ
        assert float(metrics["d_loss"]) > 3.0 or float(metrics["g_loss"]) > 3.0, metrics
    for key in notebook:
        assert_close(metrics[key], notebook[key], key)
    for name, network in (("discriminator", discriminator), ("generator", generator)):
        assert_same_weights(nets[name], network, cfg.lr)


def test_dcgan_loss_saturates_as_the_notebooks_clipped_cross_entropy():
    """Keras's BinaryCrossentropy clips probabilities at 1e-7: a sure discriminator gives the generator a loss of
    -log(1e-7) and no gradient, the plateau of the notebook's collapsed epochs."""
    from facegan.steps.base import bce_probs

    logits = tf.constant([[40.0], [-40.0]])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = bce_probs(tf.ones_like(logits), logits)
    assert_close(loss, losses.binary_crossentropy(tf.ones_like(logits), tf.sigmoid(logits)), "clipped loss")
    assert float(loss[1]) == pytest.approx(-np.log(1e-7), rel=1e-4)
    assert float(tf.reduce_max(tf.abs(tape.gradient(loss, logits)))) == 0.0


# --- wgan_gp.ipynb and cgan.ipynb -------------------------------------------------------------------------------

def wgan_critic(image_size, channels, filters, classes=0):
    critic_input = layers.Input(shape=(image_size, image_size, channels))
    inputs, x = critic_input, critic_input
    if classes:
        label_input = layers.Input(shape=(image_size, image_size, classes))
        inputs, x = [critic_input, label_input], layers.Concatenate(axis=-1)([critic_input, label_input])
    x = layers.Conv2D(filters[0], kernel_size=4, strides=2, padding="same")(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(filters[1], kernel_size=4, strides=2, padding="same")(x)
    x = layers.LeakyReLU()(x)
    x = layers.Dropout(0.3)(x)
    for width in filters[2:]:
        x = layers.Conv2D(width, kernel_size=4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.Dropout(0.3)(x)
    x = layers.Conv2D(1, kernel_size=4, strides=1, padding="valid")(x)
    critic_output = layers.Flatten()(x)
    return models.Model(inputs, critic_output)


def wgan_generator(z_dim, channels, filters, classes=0):
    generator_input = layers.Input(shape=(z_dim,))
    inputs, x = generator_input, generator_input
    if classes:
        label_input = layers.Input(shape=(classes,))
        inputs, x = [generator_input, label_input], layers.Concatenate(axis=-1)([generator_input, label_input])
    x = layers.Reshape((1, 1, z_dim + classes))(x)
    x = layers.Conv2DTranspose(filters[0], kernel_size=4, strides=1, padding="valid", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.LeakyReLU(0.2)(x)
    for width in filters[1:]:
        x = layers.Conv2DTranspose(width, kernel_size=4, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.LeakyReLU(0.2)(x)
    generator_output = layers.Conv2DTranspose(channels, kernel_size=4, strides=2, padding="same",
                                              activation="tanh")(x)
    return models.Model(inputs, generator_output)


def wgan_train_step(critic, generator, c_optimizer, g_optimizer, real_images, latent_dim, critic_steps, gp_weight,
                    replay, one_hot_labels=None):
    """WGANGP.train_step (one_hot_labels None) or ConditionalWGAN.train_step of the notebooks, their tf.random
    calls answered by the replay."""
    conditional = one_hot_labels is not None
    if conditional:
        image_size = real_images.shape[1]
        image_one_hot_labels = one_hot_labels[:, None, None, :]
        image_one_hot_labels = tf.repeat(image_one_hot_labels, repeats=image_size, axis=1)
        image_one_hot_labels = tf.repeat(image_one_hot_labels, repeats=image_size, axis=2)

    def c(images):
        return critic([images, image_one_hot_labels] if conditional else images, training=True)

    def g(latents):
        return generator([latents, one_hot_labels] if conditional else latents, training=True)

    def gradient_penalty(batch_size, real_images, fake_images):
        alpha = replay.take((batch_size, 1, 1, 1))
        diff = fake_images - real_images
        interpolated = real_images + alpha * diff
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(interpolated)
            pred = c(interpolated)
        grads = gp_tape.gradient(pred, [interpolated])[0]
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
        return tf.reduce_mean((norm - 1.0) ** 2)

    batch_size = real_images.shape[0]
    for _ in range(critic_steps):
        random_latent_vectors = replay.take((batch_size, latent_dim))
        with tf.GradientTape() as tape:
            fake_images = g(random_latent_vectors)
            fake_predictions = c(fake_images)
            real_predictions = c(real_images)
            c_wass_loss = tf.reduce_mean(fake_predictions) - tf.reduce_mean(real_predictions)
            c_gp = gradient_penalty(batch_size, real_images, fake_images)
            c_loss = c_wass_loss + c_gp * gp_weight
        c_gradient = tape.gradient(c_loss, critic.trainable_variables)
        c_optimizer.apply_gradients(zip(c_gradient, critic.trainable_variables))
    random_latent_vectors = replay.take((batch_size, latent_dim))
    with tf.GradientTape() as tape:
        fake_images = g(random_latent_vectors)
        fake_predictions = c(fake_images)
        g_loss = -tf.reduce_mean(fake_predictions)
    gen_gradient = tape.gradient(g_loss, generator.trainable_variables)
    g_optimizer.apply_gradients(zip(gen_gradient, generator.trainable_variables))
    return {"d_loss": c_loss, "gp": c_gp, "g_loss": g_loss}


NOTEBOOK_FILTERS = {"wgan-gp": ([64, 128, 256, 512], [512, 256, 128, 64]),
                    "cgan": ([64, 128, 128, 128], [128, 128, 128, 64])}


@pytest.mark.parametrize("model", ["wgan-gp", "cgan"])
def test_wgan_networks_are_the_notebooks(model):
    cfg = TrainConfig.resolve(model, precision="float32")
    nets, _ = build(cfg)
    critic_filters, generator_filters = NOTEBOOK_FILTERS[model]
    critic = wgan_critic(cfg.image_size, cfg.channels, critic_filters, cfg.num_classes)
    generator = wgan_generator(cfg.latent_dim, cfg.channels, generator_filters, cfg.num_classes)
    assert kinds(nets["generator"]) == kinds(generator)
    ours = [kind for kind in kinds(nets["discriminator"]) if kind[0] not in ("Reshape", "UpSampling2D")]
    assert ours == kinds(critic)  # facegan makes the label planes inside the critic; the notebook before it
    for name, network in (("generator", generator), ("discriminator", critic)):
        assert nets[name].count_params() == network.count_params()


@pytest.mark.slow
@pytest.mark.parametrize("model", ["wgan-gp", "cgan"])
def test_wgan_step_equals_the_notebooks(model, replayed_dropout):
    cfg, nets, before, x, y, replay, metrics = facegan_step(model, image_size=32)
    critic_filters, generator_filters = NOTEBOOK_FILTERS[model]
    critic = wgan_critic(cfg.image_size, cfg.channels, critic_filters[:3], cfg.num_classes)
    generator = wgan_generator(cfg.latent_dim, cfg.channels, generator_filters[1:], cfg.num_classes)
    critic.set_weights(before["discriminator"])
    generator.set_weights(before["generator"])
    replayed_dropout["replay"] = replay
    weights = [v for v in replay.values if v.shape == (BATCH, 1, 1, 1)]  # the penalty's interpolation weights
    assert len(weights) == cfg.critic_steps and float(tf.reduce_min(weights)) < 0.0  # N(0, 1), as the notebooks
    labels = tf.one_hot(y, cfg.num_classes) if cfg.num_classes else None
    notebook = wgan_train_step(critic, generator, adam(cfg), adam(cfg), x, cfg.latent_dim, cfg.critic_steps,
                               cfg.gp_weight, replay, labels)
    assert not replay.values
    for key in notebook:
        assert_close(metrics[key], notebook[key], key)
    for name, network in (("discriminator", critic), ("generator", generator)):
        assert_same_weights(nets[name], network, cfg.lr)
