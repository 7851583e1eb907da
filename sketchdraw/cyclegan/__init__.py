"""The CycleGAN family: translate between two unpaired image folders (photos <-> paintings)."""

from sketchdraw.cyclegan.networks import build_discriminator, cycle_generator  # noqa: F401
from sketchdraw.cyclegan.pool import ImagePool  # noqa: F401
from sketchdraw.cyclegan.run import (  # noqa: F401
    GENERATOR_FILES,
    CycleNetworks,
    CycleRun,
    build_networks,
    held_out_files,
    learning_rate_at,
    load_domain,
    train_cycle,
)
from sketchdraw.cyclegan.settings import PRESETS, CycleConfig, preset, resolve  # noqa: F401
from sketchdraw.cyclegan.step import cycle_loss, make_cycle_train_step  # noqa: F401
from sketchdraw.cyclegan.translate import DIRECTIONS, Translation, load_generator, translate  # noqa: F401
