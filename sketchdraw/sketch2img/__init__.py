"""The Sketch2Img family (seed 003, after SketchyGAN): from a sketch to a photo."""

from sketchdraw.sketch2img.data import (  # noqa: F401
    SketchPairs,
    data_statistics,
    denormalize_to_uint8,
    load_pairs_for,
    load_sketch_pairs,
    normalize,
    pair_dataset,
    sketch_from_file,
    split_pairs,
)
from sketchdraw.sketch2img.draw import draw  # noqa: F401
from sketchdraw.sketch2img.losses import (  # noqa: F401
    PerceptualLoss,
    PerceptualWeightsUnavailable,
    classification_loss,
    diversity_loss,
    dragan_penalty,
    gan_discriminator_loss,
    gan_generator_loss,
    l1_loss,
    perceptual_weights_path,
)
from sketchdraw.sketch2img.run import Sketch2ImgRun, pair_grid, train_sketch2img  # noqa: F401
from sketchdraw.sketch2img.settings import PRESETS, Sketch2ImgConfig, preset, resolve  # noqa: F401
from sketchdraw.sketch2img.step import LossWeights, make_sketch_train_step  # noqa: F401
