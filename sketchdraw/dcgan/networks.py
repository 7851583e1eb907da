"""The DCGAN family's generator and discriminator, from the model registry and the run's options."""

from __future__ import annotations

import inspect

from sketchdraw import models
from sketchdraw.dcgan.data import image_shape_of
from sketchdraw.dcgan.settings import RunConfig


def build_models(config: RunConfig):
    """The family's generator and discriminator with the options this run sets.

    An option the family's builders do not take is an error when it is set to something other
    than its default (e.g. `l2` on the `tutorial` models), never silently ignored.
    """
    family = models.get(config.model)
    shape = image_shape_of(config)
    generator_options = {"activation": config.activation, "normalization": config.normalization,
                         "l2": config.l2, "image_size": config.image_size,
                         "upsampling": config.upsampling}
    discriminator_options = {"activation": config.activation, "spectral_norm": config.spectral_norm,
                             "normalization": config.discriminator_normalization, "l2": config.l2}
    defaults = {"activation": None, "normalization": "batch", "spectral_norm": False, "l2": 0.0,
                "image_size": family.image_shape[0], "upsampling": "transpose"}
    generator = family.build_generator(
        noise_dim=config.noise_dim,
        **_supported(family.build_generator, generator_options, defaults, config.model))
    discriminator_defaults = {**defaults, "normalization": "none"}
    discriminator = family.build_discriminator(
        image_shape=shape,
        **_supported(family.build_discriminator, discriminator_options, discriminator_defaults,
                     config.model))
    if tuple(generator.output_shape[1:]) != shape:
        raise ValueError(f"model {config.model!r} draws {generator.output_shape[1:]} images but the "
                         f"data are {shape}; choose a model for this data")
    return generator, discriminator


def _supported(builder, options: dict, defaults: dict, model_name: str) -> dict:
    accepted = inspect.signature(builder).parameters
    chosen = {}
    for key, value in options.items():
        if key in accepted:
            chosen[key] = value
        elif value != defaults.get(key):
            raise ValueError(f"model {model_name!r} has no {key!r} option (asked {value!r}); "
                             f"leave it at {defaults.get(key)!r} or choose another model")
    return chosen
