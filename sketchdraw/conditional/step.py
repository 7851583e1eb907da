"""The class-conditional train step: the DCGAN step with a label beside every drawing.

Each batch brings real drawings with their categories; the generator draws as many drawings of
the same categories from fresh noise, so both networks see every category as often as the data
holds it. The discriminator judges (drawing, label) pairs: a real drawing shown with its own
label is real, a generated one fake. Losses, label smoothing, DiffAugment, R1 and the devices
(strategy, precision, XLA, steps per call) are the DCGAN step's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

from sketchdraw import losses
from sketchdraw.scaling import Devices, as_float32, compile_step


@dataclass(frozen=True)
class ConditionalStepOptions:
    augment: str = ""  # DiffAugment policy before the discriminator
    label_treatment: str = "none"  # targets of the discriminator (losses.make_labels)
    r1_weight: float = 0.0  # > 0: R1 penalty on the (augmented) real drawings


def make_conditional_train_steps(generator, discriminator, generator_optimizer, discriminator_optimizer,
                                 loss: losses.AdversarialLoss, devices: Devices, noise_dim: int,
                                 options: ConditionalStepOptions, noise_generator, label_generator,
                                 after_generator_update: Callable[[], None] | None = None
                                 ) -> tuple[Callable, Callable | None]:
    """The compiled step on one (distributed) batch of (drawings, labels), and the call that runs
    `devices.steps_per_call` of them (None when that is 1); see `scaling.compile_step`."""
    from sketchdraw.augment import diff_augment

    global_batch_size = devices.global_batch
    scale = 1.0 / float(global_batch_size)

    def seen(images):
        return diff_augment(images, options.augment, generator=noise_generator) if options.augment else images

    def replica_step(images, labels):
        batch = tf.shape(images)[0]
        noise = noise_generator.normal([batch, noise_dim])
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            generated = as_float32(generator([noise, labels], training=True))
            real_seen = seen(images)
            real_logits = as_float32(discriminator([real_seen, labels], training=True))
            fake_logits = as_float32(discriminator([seen(generated), labels], training=True))
            generator_loss = tf.nn.compute_average_loss(loss.generator(fake_logits),
                                                        global_batch_size=global_batch_size)
            if options.label_treatment != "none":
                real_targets, fake_targets = losses.make_labels(batch, options.label_treatment,
                                                                generator=label_generator)
                per_example = loss.discriminator(real_logits, fake_logits, real_targets, fake_targets)
            else:
                per_example = loss.discriminator(real_logits, fake_logits)
            if options.r1_weight > 0:
                def judged_as_labelled(drawings, training=True):
                    return discriminator([drawings, labels], training=training)

                per_example += losses.r1_penalty(judged_as_labelled, real_seen, options.r1_weight)
            discriminator_loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
            generator_total = generator_optimizer.scale_loss(generator_loss)
            discriminator_total = discriminator_optimizer.scale_loss(discriminator_loss)
        generator_optimizer.apply_gradients(zip(
            generator_tape.gradient(generator_total, generator.trainable_variables),
            generator.trainable_variables))
        discriminator_optimizer.apply_gradients(zip(
            discriminator_tape.gradient(discriminator_total, discriminator.trainable_variables),
            discriminator.trainable_variables))
        return {"generator_loss": generator_loss, "discriminator_loss": discriminator_loss,
                **losses.discriminator_statistics(real_logits, fake_logits, scale)}

    return compile_step(replica_step, devices, after_generator_update)
