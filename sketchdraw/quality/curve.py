"""The quality curve: CS and KID while a DCGAN run trains, as an ordinary epoch callback.

`quality_callback(config, every=K)` is handed each epoch's end (`loop.EpochEnd`, with the generator
the grid was drawn with) and, every K epochs and at the last, writes `cs` and `kid_mean` (with
their 95% bootstrap intervals, `cs_low` ... `kid_high`) into history.csv and redraws `quality.png`;
with `keep_best` it also saves that epoch's generator (`generators/`) for
`keep_best.keep_best_generator` to choose from when the run ends.

KID is measured against real drawings that neither network trained on (`judge.reference_drawings`,
the same ones `make evaluate` holds up as the real row), not the run's training drawings: against
those, a generator that drifts towards copying its 450 training drawings would look better.

A painting run (source "paintings", with a `held_out_share`) is measured the same way by the
painting judge (`painting_judge.py`): "CS" is the share it recognises as the run's folder, KID is
against the held-out paintings, both as `make evaluate` measures them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from sketchdraw.dcgan.settings import RunConfig
from sketchdraw.quality.compare import save_quality_plot
from sketchdraw.quality.judge import (
    DEFAULT_CLASSIFIER_EPOCHS,
    DEFAULT_DRAWINGS_PER_CATEGORY,
    REFERENCE_WANTED,
    choose_categories,
    domain_classifier,
    reference_drawings,
)

if TYPE_CHECKING:  # the callback is handed the skeleton's EpochEnd; quality never imports training
    from sketchdraw.loop import EpochEnd

# The quality curve draws its noise from seeds QUALITY_NOISE_SEED + seed, apart from the seeds 0, 1, ...
# that `evaluate` draws: a generator picked on the curve (keep_best) is judged on other drawings.
QUALITY_NOISE_SEED = 1_000
# Drawings per point of the quality curve. A CS of 0.65 from n drawings moves by sqrt(0.65 * 0.35 / n):
# 0.021 at 500, as far as the curve moves in 100 epochs late in a run; 0.011 at 2,000. About 2 s on 2 cores.
QUALITY_SAMPLES = 2_000
# Paintings per point: 64x64 colour images cost ~20x a drawing to draw and judge; the reference is
# ~40 held-out paintings, so more generated ones narrow KID's interval little.
PAINTING_CURVE_SAMPLES = 400
# Bootstrap resamples per point (CS and KID only: about 1 s more per point).
CURVE_RESAMPLES = 100
CURVE_FIGURES = ("cs", "kid_mean")


def quality_callback(config: RunConfig, every: int = 5, samples: int | None = None, classifier=None,
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
    continues from. KID is measured against the real drawings neither network trained on.
    `samples` None: QUALITY_SAMPLES drawings, or PAINTING_CURVE_SAMPLES paintings. A painting run's
    `classifier` is a painting judge (None: the cached one `make evaluate` uses).
    """
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive whole number of epochs, got {every!r}")
    if every % config.checkpoint_every:
        raise ValueError(f"every={every} is not a multiple of checkpoint_every={config.checkpoint_every}: "
                         "the quality is measured at checkpoint epochs; "
                         f"use every={config.checkpoint_every * max(1, every // config.checkpoint_every)} "
                         f"or checkpoint_every={every}")
    paintings = config.source == "paintings"
    if samples is None:
        samples = PAINTING_CURVE_SAMPLES if paintings else QUALITY_SAMPLES
    state: dict = {"classifier": classifier}

    def measure(end: EpochEnd) -> None:
        epoch, run, row = end.epoch, end.run, end.row
        if epoch % every and epoch != end.total:
            return
        from sketchdraw import sampling
        from sketchdraw.dcgan.data import load_training_images
        from sketchdraw.quality import classifier as classifier_module

        if paintings and "reference" not in state:
            from sketchdraw.quality.painting_evaluation import painting_curve_reference

            state["classifier"], _, state["reference"] = painting_curve_reference(
                config, cache, state["classifier"], progress)
        if "training_images" not in state and not paintings:
            state["training_images"] = load_training_images(dataclasses.replace(config, progress=False))
        if state["classifier"] is None:
            categories = choose_categories(config.category, classifier_categories, config.mirror, cache)
            per_category = drawings_per_category or DEFAULT_DRAWINGS_PER_CATEGORY
            state["classifier"] = domain_classifier(categories, per_category, config.mirror,
                                                    cache, classifier_epochs, seed=seed, progress=progress)
        trained = state["classifier"]
        if "reference" not in state:
            reference = reference_drawings(config, trained, REFERENCE_WANTED, state["training_images"],
                                           cache, seed, progress=False)
            state["reference"] = classifier_module.features(trained, reference)
        quality = measure_point(end.generator, trained, state["reference"], config, samples, seed, kid_subsets)
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
            print(f"epoch {epoch}: CS {quality['cs']:.3f} [{quality['cs_low']:.3f}, {quality['cs_high']:.3f}], "
                  f"KID {quality['kid_mean']:.4f} [{quality['kid_low']:.4f}, {quality['kid_high']:.4f}] "
                  f"against held-out real {'paintings' if paintings else 'drawings'}", flush=True)

    return measure


def measure_point(generator, trained, reference_features, config: RunConfig, samples: int = QUALITY_SAMPLES,
                  seed: int = 0, kid_subsets: int = 20, resamples: int = CURVE_RESAMPLES) -> dict:
    """One point of the quality curve: CS and KID of `samples` drawings of `generator` (noise seed
    QUALITY_NOISE_SEED + seed) against `reference_features` (the held-out real drawings), with
    their bootstrap intervals; {"cs", "kid_mean", "cs_low", "cs_high", "kid_low", "kid_high"}.
    What the callback writes, and what a study recomputes from a saved generator. A painting run's
    `trained` is its painting judge, and CS the share recognised as the run's folder."""
    from sketchdraw import sampling
    from sketchdraw.quality import classifier as classifier_module
    from sketchdraw.quality import intervals, metrics

    generated = sampling.generate(generator, samples, seed=QUALITY_NOISE_SEED + seed,
                                  truncation=config.truncation)
    if config.source == "paintings":
        from sketchdraw.quality.painting_evaluation import judge_target
        from sketchdraw.quality.painting_judge import judge_features

        features, probabilities = judge_features(trained, generated)
        target = trained.category_index(judge_target(trained, config.data))
    else:
        features, probabilities = classifier_module.features_and_probabilities(trained, generated)
        target = trained.category_index(config.category)
    subset_size = min(1000, len(features), len(reference_features))
    kid_mean, _ = metrics.kid(features, reference_features, subsets=kid_subsets, subset_size=subset_size,
                              seed=seed)
    bars = intervals.bootstrap_intervals({"generated": [intervals.item_set(features, probabilities, target)]},
                                         reference_features, figures=CURVE_FIGURES, resamples=resamples,
                                         seed=seed)["generated"]
    return {"cs": metrics.characteristic_score(probabilities, target), "kid_mean": kid_mean,
            "cs_low": bars["cs"][0], "cs_high": bars["cs"][1],
            "kid_low": bars["kid_mean"][0], "kid_high": bars["kid_mean"][1]}


def remeasure_curve(run_dir, trained=None, cache=None, progress: bool = True, seed: int = 0,
                    samples: int = QUALITY_SAMPLES) -> list[dict]:
    """Measure the quality curve of a finished keep_best run afresh from the generators it kept
    (`generators/epoch_NNNN.keras`), with `measure_point` as the callback does, and write it into
    history.csv and quality.png; returns the measured rows ({"epoch", "cs", "kid_mean", ...}).

    For a run whose curve an older judge measured (the classifier's version changed): its kept
    generators are measured by today's judge, after which `keep_best.keep_best_generator` can
    choose again. `trained`: the classifier (None: the default judge, trained and cached if missing);
    `samples` and `seed` as the callback was given them.
    """
    import dataclasses

    from sketchdraw import sampling
    from sketchdraw.artifacts import RunFolder
    from sketchdraw.dcgan.data import load_training_images
    from sketchdraw.quality import classifier as classifier_module
    from sketchdraw.quality.judge import load_run_config

    run = RunFolder(run_dir)
    config = dataclasses.replace(load_run_config(run.root), progress=False)
    kept = sorted(run.measured_generators_dir.glob("epoch_*.keras"))
    if not kept:
        raise FileNotFoundError(f"{run.root} keeps no measured generators ({run.measured_generators_dir.name}/"
                                "epoch_NNNN.keras): only a run trained with keep_best can be measured again")
    training_images = load_training_images(config)
    if trained is None:
        categories = choose_categories(config.category, None, config.mirror, cache)
        trained = domain_classifier(categories, DEFAULT_DRAWINGS_PER_CATEGORY, config.mirror, cache,
                                    seed=seed, progress=progress)
    reference = reference_drawings(config, trained, REFERENCE_WANTED, training_images, cache, seed, progress=False)
    reference_features = classifier_module.features(trained, reference)
    measured = {}
    for path in kept:
        epoch = int(path.stem.split("_")[1])
        measured[epoch] = {"epoch": epoch, **measure_point(sampling.load_generator(run.root, path), trained,
                                                           reference_features, config, samples, seed)}
        if progress:
            point = measured[epoch]
            print(f"epoch {epoch}: CS {point['cs']:.3f}, KID {point['kid_mean']:.4f}", flush=True)
    rows = run.read_history()
    for row in rows:
        if int(row["epoch"]) in measured:
            row.update({key: value for key, value in measured[int(row["epoch"])].items() if key != "epoch"})
    run.write_history(rows)
    save_quality_plot(run.root)
    return [measured[epoch] for epoch in sorted(measured)]
