"""The CycleGAN train step: both generators (adversarial + cycle + identity), then both
discriminators on pooled generated images."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from sketchdraw import losses
from sketchdraw.cyclegan.pool import ImagePool
from sketchdraw.scaling import Devices, as_float32, compile_step


def mean_absolute_error(first, second) -> tf.Tensor:
    return tf.reduce_mean(tf.abs(first - second))


def cycle_loss(generator_x2y, generator_y2x, real_x, real_y) -> tf.Tensor:
    """|F(G(x)) - x| + |G(F(y)) - y|, each the mean over pixels: 0 when the round trips are exact."""
    reconstructed_x = generator_y2x(generator_x2y(real_x, training=False), training=False)
    reconstructed_y = generator_x2y(generator_y2x(real_y, training=False), training=False)
    return mean_absolute_error(real_x, reconstructed_x) + mean_absolute_error(real_y, reconstructed_y)


def make_cycle_train_step(*arguments, **keywords) -> Callable:
    """`make_cycle_train_steps`' step for one batch of each domain."""
    return make_cycle_train_steps(*arguments, **keywords)[0]


def make_cycle_train_steps(generator_x2y, generator_y2x, discriminator_x, discriminator_y,
                           generator_x2y_optimizer, generator_y2x_optimizer,
                           discriminator_x_optimizer, discriminator_y_optimizer,
                           adversarial_loss: losses.AdversarialLoss, cycle_weight: float,
                           identity_weight: float, pool_x: ImagePool | None = None,
                           pool_y: ImagePool | None = None, devices: Devices | None = None
                           ) -> tuple[Callable, Callable | None]:
    """A compiled step on one batch of each domain: both generators, then both discriminators
    (and, with `devices.steps_per_call` > 1, the call that runs that many; scaling.compile_step).

    The generators minimise adversarial + cycle_weight * cycle + identity_weight * identity; the
    cycle term ties them together, so both share one tape and each applies its own gradients.
    The discriminators then learn from the real batches and from the step's generated images
    passed through the pools (when given; one pool per replica). Returns a dict of scalar losses.
    """
    cycle_weight = float(cycle_weight)
    identity_weight = float(identity_weight)
    devices = devices or Devices(tf.distribute.get_strategy(), 1)
    replicas = float(devices.replicas)

    def mean(values):
        # Each replica's mean, shared out so that the sum over replicas is the global mean.
        return tf.reduce_mean(as_float32(values)) / replicas

    def distance(first, second):
        return mean(tf.abs(as_float32(first) - as_float32(second)))

    def replica_step(real_x, real_y):
        with tf.GradientTape(persistent=True) as tape:
            fake_y = generator_x2y(real_x, training=True)
            fake_x = generator_y2x(real_y, training=True)
            reconstructed_x = generator_y2x(fake_y, training=True)
            reconstructed_y = generator_x2y(fake_x, training=True)
            adversarial_x2y = mean(adversarial_loss.generator(
                as_float32(discriminator_y(fake_y, training=True))))
            adversarial_y2x = mean(adversarial_loss.generator(
                as_float32(discriminator_x(fake_x, training=True))))
            cycle = distance(real_x, reconstructed_x) + distance(real_y, reconstructed_y)
            if identity_weight > 0:
                identity = (distance(real_y, generator_x2y(real_y, training=True))
                            + distance(real_x, generator_y2x(real_x, training=True)))
            else:  # skip two generator passes when the term is off
                identity = tf.constant(0.0)
            generator_total = (adversarial_x2y + adversarial_y2x + cycle_weight * cycle
                               + identity_weight * identity)
        for generator, optimizer in ((generator_x2y, generator_x2y_optimizer),
                                     (generator_y2x, generator_y2x_optimizer)):
            # scale_loss: the loss scale under mixed_float16 (1 otherwise); apply_gradients undoes it
            gradients = tape.gradient(optimizer.scale_loss(generator_total),
                                      generator.trainable_variables)
            optimizer.apply_gradients(zip(gradients, generator.trainable_variables))
        del tape

        # The discriminators judge the images generated before this update (as the paper does).
        fake_x, fake_y = as_float32(fake_x), as_float32(fake_y)
        shown_fake_x = tf.stop_gradient(pool_x.query(fake_x) if pool_x is not None else fake_x)
        shown_fake_y = tf.stop_gradient(pool_y.query(fake_y) if pool_y is not None else fake_y)
        with tf.GradientTape(persistent=True) as tape:
            discriminator_x_loss = mean(adversarial_loss.discriminator(
                as_float32(discriminator_x(real_x, training=True)),
                as_float32(discriminator_x(shown_fake_x, training=True))))
            discriminator_y_loss = mean(adversarial_loss.discriminator(
                as_float32(discriminator_y(real_y, training=True)),
                as_float32(discriminator_y(shown_fake_y, training=True))))
        for discriminator, optimizer, loss in (
                (discriminator_x, discriminator_x_optimizer, discriminator_x_loss),
                (discriminator_y, discriminator_y_optimizer, discriminator_y_loss)):
            gradients = tape.gradient(optimizer.scale_loss(loss), discriminator.trainable_variables)
            optimizer.apply_gradients(zip(gradients, discriminator.trainable_variables))
        del tape

        return {
            # The two columns every run's plots and pages know: the whole generator objective and
            # both discriminators' losses together.
            "generator_loss": generator_total,
            "discriminator_loss": discriminator_x_loss + discriminator_y_loss,
            "generator_x2y_adversarial_loss": adversarial_x2y,
            "generator_y2x_adversarial_loss": adversarial_y2x,
            "discriminator_x_loss": discriminator_x_loss,
            "discriminator_y_loss": discriminator_y_loss,
            "cycle_loss": cycle,
            "identity_loss": identity,
        }

    return compile_step(replica_step, devices)
