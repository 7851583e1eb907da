"""Adversarial losses, registered by name.

Every loss works on discriminator *logits* and returns one value per example, so the train step
can average it over the global batch (`tf.nn.compute_average_loss`) the way `tf.distribute` wants.

    loss = losses.get("bce")
    per_example_d = loss.discriminator(real_logits, fake_logits)
    per_example_g = loss.generator(fake_logits)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

from sketchdraw.registry import Registry


@dataclass(frozen=True)
class AdversarialLoss:
    name: str
    discriminator: Callable  # (real_logits, fake_logits) -> per-example loss, shape (batch,)
    generator: Callable  # (fake_logits) -> per-example loss, shape (batch,)


LOSSES: Registry[AdversarialLoss] = Registry("loss")


def register(loss: AdversarialLoss) -> AdversarialLoss:
    LOSSES.register(loss.name)(loss)
    return loss


def get(name: str) -> AdversarialLoss:
    return LOSSES.get(name)


def names() -> list[str]:
    return LOSSES.names()


def _per_example(values: tf.Tensor) -> tf.Tensor:
    """Mean over everything but the batch axis (a (batch, 1) logit column becomes (batch,))."""
    values = tf.convert_to_tensor(values)
    return tf.reduce_mean(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def _bce(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    return _per_example(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def bce_discriminator(real_logits, fake_logits, real_labels=None, fake_labels=None):
    """-log D(x) - log(1 - D(G(z))); labels may be softened or noisy (see `labels`)."""
    real_labels = tf.ones_like(real_logits) if real_labels is None else real_labels
    fake_labels = tf.zeros_like(fake_logits) if fake_labels is None else fake_labels
    return _bce(real_labels, real_logits) + _bce(fake_labels, fake_logits)


def bce_generator(fake_logits):
    """Non-saturating: the generator maximises log D(G(z)) instead of minimising log(1 - D(G(z)))."""
    return _bce(tf.ones_like(fake_logits), fake_logits)


register(AdversarialLoss("bce", bce_discriminator, bce_generator))
