"""Sketch2Img's settings (`Sketch2ImgConfig`) and presets (seed 003, after SketchyGAN)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from sketchdraw.layers import check_upsampling
from sketchdraw.registry import unknown_name_message
from sketchdraw.settings import COMMON_RESUMABLE, Presets, ScalingSettings, Settings
from sketchdraw.sketch2img.data import LAYOUTS
from sketchdraw.sketch2img.losses import PERCEPTUAL_NETWORKS, perceptual_weights_path


@dataclass
class Sketch2ImgConfig(Settings, ScalingSettings):
    # A rerun may also read the same pairs from another folder.
    RESUMABLE: ClassVar[frozenset] = COMMON_RESUMABLE | {"data_root"}

    experiment: str = "faces_sketch2photo"
    name: str = "faces_sketch2photo"  # the run folder: <runs_dir>/<name>
    # data
    data_root: str | None = None  # the folder holding sketch/ and photo/
    layout: str = "simple"  # "simple" (root/sketch, root/photo) or "sketchy" (the Sketchy database)
    image_size: int = 64  # a multiple of 16 (the seed's 64)
    limit: int | None = None  # keep the first N pairs (None: all)
    holdout: int = 8  # pairs kept out of training: the epoch grids and the draw examples
    brightness_jitter: float = 0.1  # photos: random brightness shift in [-b, b]
    contrast_jitter: float = 0.2  # photos: random contrast factor in [1 - c, 1 + c]
    # model
    base_filters: int = 64  # network width (the seed's 64)
    noise_dim: int = 64  # length of the noise vector beside the sketch
    upsampling: str = "transpose"  # generator decoder: "transpose" (the seed's) or "resize" (no checkerboard)
    # optimisation (the seed's first run: D 2e-4, G 1e-4, batch 16)
    epochs: int = 20  # total epochs; a rerun with more continues the run
    batch_size: int = 16  # pairs per step
    generator_learning_rate: float = 1e-4  # Adam
    discriminator_learning_rate: float = 2e-4  # Adam
    generator_beta1: float = 0.5  # Adam beta_1
    discriminator_beta1: float = 0.5  # Adam beta_1
    # loss weights: the seed's best run kept all at 1 except DRAGAN at 10
    gan_weight: float = 1.0  # adversarial loss
    classification_weight: float = 1.0  # auxiliary class loss (0 by construction with one category)
    dragan_weight: float = 10.0  # DRAGAN gradient penalty on the discriminator
    dragan_one_sided: bool = False  # penalise only gradient norms above 1
    l1_weight: float = 1.0  # L1 between the generated and the true photo
    perceptual_weight: float = 1.0  # feature distance in an ImageNet network (needs its weights)
    perceptual_network: str = "inception_v3"  # "inception_v3" or "vgg19"
    diversity_weight: float = 1.0  # reward for different images from different noise
    seed: int = 0  # random seed: weights, noise, data order
    # bookkeeping
    checkpoint_every: int = 5  # epochs between checkpoints (resume points)
    grid_samples: int = 3  # generated images per held-out sketch on the closing samples sheet
    runs_dir: str = "runs"  # where run folders go
    progress: bool = True  # progress bars and epoch summaries

    def validate(self, check_weights: bool = True) -> Sketch2ImgConfig:
        """Check every field; with `check_weights`, make sure the perceptual network's ImageNet
        weights can be had when perceptual_weight > 0 (raises PerceptualWeightsUnavailable)."""
        super().validate()
        for name in ("epochs", "batch_size", "noise_dim", "checkpoint_every", "holdout",
                     "grid_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.base_filters < 2:
            raise ValueError(f"base_filters must be at least 2 (the seed's 64; 4 for a quick test), "
                             f"got {self.base_filters}")
        if self.image_size < 16 or self.image_size % 16:
            raise ValueError(f"image_size must be a multiple of 16 (64 is the seed's), got "
                             f"{self.image_size}")
        if self.limit is not None and self.limit < 2:
            raise ValueError(f"limit must be at least 2 pairs or None, got {self.limit}")
        check_upsampling(self.upsampling)
        if self.layout not in LAYOUTS:
            raise ValueError(unknown_name_message("pair layout", self.layout, LAYOUTS))
        for name in ("generator_learning_rate", "discriminator_learning_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("generator_beta1", "discriminator_beta1"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        for name in ("gan_weight", "classification_weight", "dragan_weight", "l1_weight",
                     "perceptual_weight", "diversity_weight", "brightness_jitter",
                     "contrast_jitter"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (0 switches the term off), got "
                                 f"{getattr(self, name)}")
        if self.contrast_jitter >= 1:
            raise ValueError(f"contrast_jitter must be below 1, got {self.contrast_jitter}")
        PERCEPTUAL_NETWORKS.get(self.perceptual_network)
        if check_weights and self.perceptual_weight > 0:
            perceptual_weights_path(self.perceptual_network)
        return self

    def check_ready(self) -> Sketch2ImgConfig:
        self.validate()
        if not self.data_root:
            raise ValueError("data_root is not set: give the folder of sketch/photo pairs "
                             "(e.g. DATA=../shared/data/sketchy/cufs_faces)")
        return self

    def notebook(self) -> str:
        return "sketch2img.ipynb"


PRESETS = Presets("sketch2img experiment", Sketch2ImgConfig)
# The project's shared data sit beside the repository (as in tests/conftest.py), unless
# SKETCHDRAW_SHARED_DATA says otherwise; a user with their own pairs sets data_root.
_REPO_ROOT = Path(__file__).resolve().parents[2]
register = PRESETS.add


# CUFS faces: 188 aligned face sketch/photo pairs, one category (so classification is moot), 64x64.
register(Sketch2ImgConfig(
    experiment="faces_sketch2photo", name="faces_sketch2photo",
    data_root=str(Path(os.environ.get("SKETCHDRAW_SHARED_DATA", _REPO_ROOT.parent / "shared" / "data"))
                  / "sketchy" / "cufs_faces"),
    layout="simple", holdout=8, base_filters=32, noise_dim=64, epochs=20, batch_size=16,
    # The seed's weight is 1, but this machine cannot download ImageNet weights (no network), so the
    # preset trains without the perceptual term. Set perceptual_weight=1.0 where the weights of
    # perceptual_network are cached in ~/.keras/models or can be downloaded.
    perceptual_weight=0.0,
    # One category: the auxiliary classification loss is 0 by construction; kept at the seed's 1.
    classification_weight=1.0,
    # Resize-then-convolve decoders: on two seeds at 20 epochs, L1 to the true held-out photo 0.135
    # and 0.145 against the transposed convolutions' 0.157 and 0.155, SSIM 0.478 and 0.476 against
    # 0.444 and 0.396, and no checkerboard (docs/painting-quality.md, "Upsampling").
    upsampling="resize"))


def preset(name: str) -> Sketch2ImgConfig:
    return PRESETS.copy(name)


def resolve(experiment: str = "faces_sketch2photo", **overrides) -> Sketch2ImgConfig:
    """The preset with every override that is not None applied, validated."""
    return PRESETS.resolve(experiment, overrides)
