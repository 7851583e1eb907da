"""The DCGAN family: one generator against one discriminator, on doodles or paintings."""

from sketchdraw.dcgan.data import image_shape_of, load_training_images  # noqa: F401
from sketchdraw.dcgan.networks import build_models  # noqa: F401
from sketchdraw.dcgan.run import DCGANRun, train  # noqa: F401
from sketchdraw.dcgan.settings import PRESETS, RunConfig, preset, resolve  # noqa: F401
from sketchdraw.dcgan.step import (  # noqa: F401
    StepOptions,
    choose_strategy,
    make_train_step,
    make_train_steps,
    step_schedule,
)
