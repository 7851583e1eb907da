"""The quality curve: CS and KID while a doodle run trains, as an ordinary epoch callback.

`quality_callback(config, every=K)` is handed each epoch's end (`loop.EpochEnd`, with the generator
the grid was drawn with) and, every K epochs and at the last, writes `cs` and `kid_mean` into
history.csv and redraws `quality.png`; with `keep_best` it also saves that epoch's generator
(`generators/`) for `keep_best.keep_best_generator` to choose from when the run ends.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from sketchdraw.dcgan.settings import RunConfig
from sketchdraw.quality.compare import save_quality_plot
from sketchdraw.quality.judge import (
    DEFAULT_CLASSIFIER_EPOCHS,
    choose_categories,
    domain_classifier,
    drawings_per_category_for,
)

if TYPE_CHECKING:  # the callback is handed the skeleton's EpochEnd; quality never imports training
    from sketchdraw.loop import EpochEnd

# The quality curve draws its noise from seeds QUALITY_NOISE_SEED + seed, apart from the seeds 0, 1, ...
# that `evaluate` draws: a generator picked on the curve (keep_best) is judged on other drawings.
QUALITY_NOISE_SEED = 1_000
# Drawings per point of the quality curve. A CS of 0.65 from n drawings moves by sqrt(0.65 * 0.35 / n):
# 0.021 at 500, as far as the curve moves in 100 epochs late in a run; 0.011 at 2,000. About 2 s on 2 cores.
QUALITY_SAMPLES = 2_000


def quality_callback(config: RunConfig, every: int = 5, samples: int = QUALITY_SAMPLES, classifier=None,
                     classifier_categories=None, drawings_per_category: int | None = None,
                     classifier_epochs: int = DEFAULT_CLASSIFIER_EPOCHS, kid_subsets: int = 20,
                     seed: int = 0, cache=None, progress: bool = True, keep_best: bool = False) -> Callable:
    """An epoch callback: every `every` epochs (and at the last), CS and KID of `samples` drawings
    from the generator the epoch ends with, written into history.csv as `cs` and `kid_mean`, and
    `quality.png`. `keep_best`: every measured epoch's generator is saved as
    `generators/epoch_NNNN.keras`, for `keep_best.keep_best_generator` to choose from at the end
    (a resumed run keeps the earlier ones).

    `every` must be a multiple of `config.checkpoint_every`: the measured epochs are checkpoint
    epochs, whose generator (the averaged one's batch norm statistics refreshed) a resumed run
    continues from. KID is measured against the run's training drawings.
    """
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive whole number of epochs, got {every!r}")
    if every % config.checkpoint_every:
        raise ValueError(f"every={every} is not a multiple of checkpoint_every={config.checkpoint_every}: "
                         "the quality is measured at checkpoint epochs; "
                         f"use every={config.checkpoint_every * max(1, every // config.checkpoint_every)} "
                         f"or checkpoint_every={every}")
    state: dict = {"classifier": classifier}

    def measure(end: EpochEnd) -> None:
        epoch, run, row = end.epoch, end.run, end.row
        if epoch % every and epoch != end.total:
            return
        from sketchdraw import sampling
        from sketchdraw.dcgan.data import load_training_images
        from sketchdraw.quality import classifier as classifier_module
        from sketchdraw.quality import metrics

        if "training_images" not in state:
            state["training_images"] = load_training_images(dataclasses.replace(config, progress=False))
        if state["classifier"] is None:
            categories = choose_categories(config.category, classifier_categories, config.mirror, cache)
            per_category = drawings_per_category or drawings_per_category_for(
                config, len(state["training_images"]), cache, progress)
            state["classifier"] = domain_classifier(categories, per_category, config.mirror,
                                                    cache, classifier_epochs, seed=seed, progress=progress)
        trained = state["classifier"]
        if "training_features" not in state:
            state["training_features"] = classifier_module.features(trained, state["training_images"])
        generated = sampling.generate(end.generator, samples, seed=QUALITY_NOISE_SEED + seed,
                                      truncation=config.truncation)
        features, probabilities = classifier_module.features_and_probabilities(trained, generated)
        reference = state["training_features"]
        subset_size = min(1000, len(features), len(reference))
        kid_mean, _ = metrics.kid(features, reference, subsets=kid_subsets, subset_size=subset_size, seed=seed)
        quality = {"cs": metrics.characteristic_score(probabilities, trained.category_index(config.category)),
                   "kid_mean": kid_mean}
        rows = run.read_history()
        for history_row in rows:
            if int(history_row["epoch"]) == epoch:
                history_row.update(quality)
        run.write_history(rows)
        row.update(quality)
        save_quality_plot(run.root)
        if keep_best:  # the choice among them is made at the end (keep_best.keep_best_generator)
            run.measured_generators_dir.mkdir(exist_ok=True)
            sampling.save_generator(end.generator, run.measured_generator_path(epoch))
        if progress:
            print(f"epoch {epoch}: CS {quality['cs']:.3f}, KID {kid_mean:.4f}", flush=True)

    return measure
