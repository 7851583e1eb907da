"""The class-conditional doodle family's settings (`ConditionalConfig`) and presets.

One generator and one discriminator learn many Quick, Draw! categories at once: the generator
draws from noise and a category label (a learned embedding of the label sets the scale of each
channel at every batch norm in the presets: `conditioning="batchnorm_scale"`), the discriminator
judges a drawing as a drawing of that category (a projection discriminator, Miyato & Koyama 2018:
its logit adds the inner product of the label's embedding with the drawing's features). The
small-data lessons of `rabbit_small` carry over: upsample-and-convolve networks, batch 32, a
moving average of the generator, page translation, one-sided label smoothing and a generator
learning twice as fast as the discriminator.

Presets:
- `doodles35`: the 35 categories of the shared mirror, the first 450 drawings of each (of the 13
  that hold about 450, the first half).
- `doodles3`: rabbit, flower and cat for 857 epochs of 1,350 drawings, 1.16M images seen: the
  images three single-category `rabbit_small` runs (384k each) see together, for the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sketchdraw.settings import COMMON_RESUMABLE, Presets, ScalingSettings, Settings

# The categories of the shared Quick, Draw! mirror (../shared/data/quickdraw/numpy_bitmap).
SHARED_CATEGORIES = (
    "apple", "bear", "bee", "bicycle", "butterfly", "candle", "car", "carrot", "cat", "clock",
    "diamond", "dog", "duck", "eye", "face", "fish", "flower", "frog", "guitar", "house", "lion",
    "monkey", "octopus", "pizza", "rabbit", "rainbow", "scissors", "sheep", "snowflake", "snowman",
    "sun", "train", "tree", "umbrella", "zebra")
CONDITIONINGS = ("input", "batchnorm", "batchnorm_scale")  # how the generator takes the label (conditional/networks.py)
LOSSES = ("bce", "hinge", "least_squares")  # a gradient penalty (wgan_gp) needs a one-input critic


@dataclass
class ConditionalConfig(Settings, ScalingSettings):
    RESUMABLE: ClassVar[frozenset] = COMMON_RESUMABLE | {"mirror", "truncation"}

    experiment: str = "doodles35"
    name: str = "doodles35"  # the run folder: <runs_dir>/<name>
    # data
    categories: str = ",".join(SHARED_CATEGORIES)  # Quick, Draw! categories, comma-separated; one label each, in this order
    limit: int | None = 450  # the first N drawings of each category, at most half its file (None: all)
    mirror: str | None = None  # a folder or base URL replacing Google's bucket
    augment: str = "page_translation"  # DiffAugment policy before the discriminator; empty: off
    # model
    noise_dim: int = 100  # length of the noise vector
    # The presets use batchnorm_scale (measured best: docs/drawing.md); "input" is the default because
    # a run saved before this setting existed used it, and a missing setting counts as its default.
    conditioning: str = "input"  # how the generator takes the label: "input" (scales the noise), "batchnorm" (every batch norm's scale and shift), "batchnorm_scale" (their scale)
    truncation: float = 0.0  # > 0: sampled drawings keep each noise value within t std
    # optimisation
    epochs: int = 60  # total epochs; a rerun with more continues the run
    batch_size: int = 32  # drawings per step (of every category, shuffled together)
    generator_learning_rate: float = 4e-4  # Adam
    discriminator_learning_rate: float = 2e-4  # Adam
    generator_beta1: float = 0.5  # Adam beta_1
    discriminator_beta1: float = 0.5  # Adam beta_1
    loss: str = "bce"  # "bce", "hinge", "least_squares"
    label_treatment: str = "smooth"  # "none", "smooth" (real targets 0.9), "noisy", "flip"
    r1_weight: float = 0.0  # > 0: R1 penalty on the real drawings
    ema_decay: float = 0.999  # > 0: a moving average of the generator draws the grids and is saved
    seed: int = 0  # random seed: weights, noise, data order
    # bookkeeping
    checkpoint_every: int = 5  # epochs between checkpoints (resume points)
    grid_columns: int = 8  # the epoch grid: one row per category, this many drawings each (fixed noise)
    runs_dir: str = "runs"  # where run folders go
    progress: bool = True  # progress bars and epoch summaries

    @property
    def category_list(self) -> list[str]:
        return [name.strip() for name in self.categories.split(",") if name.strip()]

    def validate(self) -> ConditionalConfig:
        from sketchdraw import augment, losses
        from sketchdraw.quickdraw import check_category
        from sketchdraw.registry import unknown_name_message
        from sketchdraw.sampling import check_truncation

        self.check_types()
        for name in ("epochs", "batch_size", "noise_dim", "checkpoint_every", "grid_columns"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit is the number of drawings per category (or None: all), got {self.limit}")
        names = self.category_list
        if len(names) < 2:
            raise ValueError(f"categories lists the categories to learn, at least two, comma-separated "
                             f"(e.g. categories=rabbit,flower,cat); got {self.categories!r}")
        for name in names:
            check_category(name)
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"categories names {', '.join(repeated)} more than once: each category is one label")
        for name in ("generator_learning_rate", "discriminator_learning_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("generator_beta1", "discriminator_beta1", "ema_decay"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.r1_weight < 0:
            raise ValueError(f"r1_weight must not be negative, got {self.r1_weight}")
        if self.conditioning not in CONDITIONINGS:
            raise ValueError(unknown_name_message("conditioning", self.conditioning, CONDITIONINGS))
        if self.loss not in LOSSES:
            raise ValueError(unknown_name_message("loss", self.loss, LOSSES)
                             + " (the conditional critic has two inputs; wgan_gp's penalty takes one)")
        losses.check_label_treatment(losses.get(self.loss), self.label_treatment)
        augment.parse_policy(self.augment)
        check_truncation(self.truncation)
        super().validate()
        return self

    def notebook(self) -> str:
        return "conditional.ipynb"


PRESETS = Presets("experiment", ConditionalConfig)
PRESETS.add(ConditionalConfig(conditioning="batchnorm_scale"))
PRESETS.add(ConditionalConfig(experiment="doodles3", name="doodles3", categories="rabbit,flower,cat", epochs=857,
                              checkpoint_every=25, conditioning="batchnorm_scale"))


def resolve(experiment: str = "doodles35", **overrides) -> ConditionalConfig:
    """The preset `experiment` with every override that is not None applied, validated."""
    return PRESETS.resolve(experiment, overrides)
