"""The class-conditional doodle family: one generator and discriminator for many categories."""

from sketchdraw.conditional.networks import conditional_generator, projection_discriminator  # noqa: F401
from sketchdraw.conditional.run import (  # noqa: F401
    ConditionalRun,
    grid_inputs,
    load_labelled_drawings,
    train,
)
from sketchdraw.conditional.settings import (  # noqa: F401
    PRESETS,
    SHARED_CATEGORIES,
    ConditionalConfig,
    resolve,
)


def preset(name: str) -> ConditionalConfig:
    return PRESETS.copy(name)
