"""Generator / discriminator builders, registered by name so a notebook parameter picks them.

A model family is a pair of plain builder functions plus the image shape they work on. Each
family lives in its own module in this package (`quickdraw28` for the 28x28 Quick, Draw! pairs,
and so on); importing the package registers them all. Discriminators return logits (no sigmoid):
the losses work on logits, which is numerically safer.

    family = models.get("tutorial")
    generator = family.build_generator(noise_dim=100)
    discriminator = family.build_discriminator()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sketchdraw.registry import Registry


@dataclass(frozen=True)
class ModelFamily:
    name: str
    image_shape: tuple[int, int, int]
    build_generator: Callable  # (noise_dim=100, **options) -> keras.Model
    build_discriminator: Callable  # (image_shape=..., **options) -> keras.Model
    description: str = ""
    # The discriminator also redraws real images (`logits_and_reconstruction_loss`), which a run's
    # `reconstruction_weight` adds to its loss.
    self_supervised: bool = False


MODELS: Registry[ModelFamily] = Registry("model")


def register(family: ModelFamily) -> ModelFamily:
    MODELS.register(family.name)(family)
    return family


def get(name: str) -> ModelFamily:
    return MODELS.get(name)


def names() -> list[str]:
    return MODELS.names()


# Importing the family modules registers them.
from sketchdraw.models import fastgan64, quickdraw28, wikiart64  # noqa: E402,F401
