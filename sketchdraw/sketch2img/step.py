"""The Sketch2Img train step on a batch (sketch, photo, label): one discriminator and one generator
update, written for `tf.distribute` (losses averaged over the global batch)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

from sketchdraw import losses
from sketchdraw.scaling import Devices, as_float32, compile_step
from sketchdraw.sketch2img.losses import (
    PerceptualLoss,
    classification_loss,
    diversity_loss,
    dragan_penalty,
    gan_discriminator_loss,
    gan_generator_loss,
    l1_loss,
)
from sketchdraw.sketch2img.settings import Sketch2ImgConfig

DISCRIMINATOR_TERMS = ("discriminator_", "dragan_")


DISCRIMINATOR_TERMS = ("discriminator_", "dragan_")


@dataclass(frozen=True)
class LossWeights:
    gan: float = 1.0
    classification: float = 1.0
    dragan: float = 10.0
    dragan_one_sided: bool = False
    l1: float = 1.0
    perceptual: float = 0.0
    diversity: float = 1.0

    @classmethod
    def from_config(cls, config: Sketch2ImgConfig) -> LossWeights:
        return cls(config.gan_weight, config.classification_weight, config.dragan_weight,
                   config.dragan_one_sided, config.l1_weight, config.perceptual_weight,
                   config.diversity_weight)


def make_sketch_train_step(*arguments, **keywords) -> Callable:
    """`make_sketch_train_steps`' step for one batch."""
    return make_sketch_train_steps(*arguments, **keywords)[0]


def make_sketch_train_steps(generator, discriminator, generator_optimizer, discriminator_optimizer,
                           weights: LossWeights, noise_dim: int, global_batch_size: int,
                           perceptual: PerceptualLoss | None = None,
                           strategy: tf.distribute.Strategy | None = None,
                           run_eagerly: bool = False,
                           devices: Devices | None = None) -> tuple[Callable, Callable | None]:
    """A compiled step on a batch (sketch, photo, label): one discriminator and one generator update.

    Discriminator: GAN + classification on real photos + DRAGAN penalty on perturbed real photos.
    Generator: GAN + classification of its images + L1 + perceptual (when `perceptual` is given
    and its weight > 0) + diversity between two noise vectors (when its weight > 0; costs a second
    generator pass). Returns scalars summed over replicas: the totals `generator_loss` and
    `discriminator_loss`, each weighted term, and the discriminator's mean probabilities and
    accuracy on real/generated photos before the update (the names `loop.run_epoch` and the
    loss plot know).

    `run_eagerly=True` skips `tf.function` (like Keras' `run_eagerly`): for debugging, and for
    tests on tiny networks, where building the graph (DRAGAN's gradient of a gradient) takes far
    longer than the few steps themselves. Returns the step and, with `devices.steps_per_call`
    > 1, the call that runs that many (scaling.compile_step).
    """
    devices = devices or Devices(strategy or tf.distribute.get_strategy(), global_batch_size)
    if weights.perceptual > 0 and perceptual is None:
        raise ValueError("perceptual weight > 0 needs a PerceptualLoss (or set the weight to 0)")
    scale = 1.0 / float(global_batch_size)

    def average(per_example):
        return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)

    def replica_step(sketch, photo, label):
        batch = tf.shape(sketch)[0]
        first_noise = tf.random.normal([batch, noise_dim])
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            generated = as_float32(generator([sketch, first_noise, label], training=True))
            real_logits, real_classes = map(as_float32, discriminator([sketch, photo], training=True))
            fake_logits, fake_classes = map(as_float32,
                                            discriminator([sketch, generated], training=True))

            def critic(images):
                return discriminator([sketch, images], training=True)[0]

            terms = {
                "discriminator_gan_loss": average(gan_discriminator_loss(
                    real_logits, fake_logits, weights.gan)),
                "discriminator_classification_loss": average(classification_loss(
                    label, real_classes, weights.classification)),
                "generator_gan_loss": average(gan_generator_loss(fake_logits, weights.gan)),
                "generator_classification_loss": average(classification_loss(
                    label, fake_classes, weights.classification)),
                "l1_loss": average(l1_loss(generated, photo, weights.l1)),
            }
            # A term whose weight is 0 is left out of the graph (DRAGAN's second-order gradient
            # and the diversity's second generator pass are the expensive ones).
            if weights.dragan > 0:
                terms["dragan_penalty"] = average(dragan_penalty(
                    critic, photo, weights.dragan, one_sided=weights.dragan_one_sided))
            if perceptual is not None and weights.perceptual > 0:
                terms["perceptual_loss"] = average(perceptual(generated, photo))
            if weights.diversity > 0:
                second_noise = tf.random.normal([batch, noise_dim])
                second = as_float32(generator([sketch, second_noise, label], training=True))
                terms["diversity_loss"] = average(diversity_loss(
                    generated, second, first_noise, second_noise, weights.diversity))
            discriminator_loss = tf.add_n([value for key, value in terms.items()
                                           if key.startswith(DISCRIMINATOR_TERMS)])
            generator_loss = tf.add_n([value for key, value in terms.items()
                                       if not key.startswith(DISCRIMINATOR_TERMS)])

        # scale_loss: the loss scale under mixed_float16 (1 otherwise); apply_gradients undoes it
        generator_gradients = generator_tape.gradient(
            generator_optimizer.scale_loss(generator_loss), generator.trainable_variables)
        discriminator_gradients = discriminator_tape.gradient(
            discriminator_optimizer.scale_loss(discriminator_loss),
            discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(generator_gradients, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(
            zip(discriminator_gradients, discriminator.trainable_variables))

        return {"generator_loss": generator_loss, "discriminator_loss": discriminator_loss,
                **losses.discriminator_statistics(real_logits, fake_logits, scale), **terms}

    return compile_step(replica_step, devices, eager=run_eagerly)
