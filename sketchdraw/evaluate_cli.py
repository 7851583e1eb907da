"""`sketchdraw evaluate` (`make evaluate`): the command line of the quality package, which measures
a doodle, class-conditional or painting run by its kind and prints its table."""

from __future__ import annotations

import argparse

from sketchdraw.artifacts import RunFolder, check_run_exists


def add_evaluate_parser(commands) -> argparse.ArgumentParser:
    """`evaluate`: measure a run into its metrics.json."""
    from sketchdraw.quality.evaluation import DEFAULT_SAMPLES
    from sketchdraw.quality.intervals import RESAMPLES
    from sketchdraw.quality.judge import DEFAULT_CLASSIFIER_EPOCHS, DEFAULT_DRAWINGS_PER_CATEGORY
    from sketchdraw.quality.painting_evaluation import MINIMUM_SAMPLES
    from sketchdraw.quality.painting_judge import DEFAULT_EPOCHS as JUDGE_EPOCHS

    parser = commands.add_parser("evaluate", help="measure a run (FID, KID, CS, GD, memorisation; "
                                                  "paintings also SWD) into its metrics.json")
    parser.add_argument("--run", required=True, help="run folder, e.g. runs/rabbit")
    parser.add_argument("--categories", help="classifier categories, comma-separated "
                                             "(default: all in the mirror or cache)")
    parser.add_argument("--samples", type=int, default=None,
                        help=f"generated drawings to measure (default {DEFAULT_SAMPLES}; painting runs: "
                             f"as many as are held out, at least {MINIMUM_SAMPLES})")
    parser.add_argument("--drawings-per-category", type=int, default=None,
                        help=f"first N drawings per category for the classifier (default "
                             f"{DEFAULT_DRAWINGS_PER_CATEGORY}; it holds out the last 450 of them)")
    parser.add_argument("--classifier-epochs", type=int, default=None,
                        help=f"classifier training epochs (default {DEFAULT_CLASSIFIER_EPOCHS}; the "
                             f"painting judge's: {JUDGE_EPOCHS})")
    parser.add_argument("--seed", type=int, default=0, help="noise and sampling seed (default 0)")
    parser.add_argument("--draws", type=int, default=1,
                        help="noise draws to average the generated row over, seeds SEED.. SEED+N-1 "
                             "(default 1; one draw's CS moves by about +-0.02 with the noise alone)")
    parser.add_argument("--truncation", type=float, default=None,
                        help="keep each noise value within this many standard deviations (0: the "
                             "plain normal; default: the run's own setting)")
    parser.add_argument("--resamples", type=int, default=RESAMPLES,
                        help=f"bootstrap resamples for the 95%% intervals (default {RESAMPLES}; 0: none)")
    parser.add_argument("--judge-data", default=None,
                        help="painting runs: a data root with the shared layout (wikiart/vangogh, "
                             "photos/landscapes, ...) whose folders the painting judge learns "
                             "(default: found above the run's data folder)")
    parser.add_argument("--judge-folders", default=None,
                        help="painting runs: the painting judge's folders instead, as "
                             "name=folder,name=folder")
    parser.add_argument("--no-inception", action="store_true",
                        help="painting runs: leave out KID in ImageNet InceptionV3 features")
    parser.set_defaults(handler=evaluate_command)
    return parser


def evaluate_command(arguments: argparse.Namespace) -> int:
    from sketchdraw import quality
    from sketchdraw.quality.judge import DEFAULT_CLASSIFIER_EPOCHS

    check_run_exists(arguments.run)
    if quality.is_conditional_run(arguments.run):
        return evaluate_conditional_command(arguments)
    if quality.is_painting_run(arguments.run):
        return evaluate_paintings_command(arguments)
    document = quality.evaluate(
        arguments.run, samples=quality.DEFAULT_SAMPLES if arguments.samples is None else arguments.samples,
        classifier_categories=arguments.categories,
        drawings_per_category=arguments.drawings_per_category, seed=arguments.seed,
        classifier_epochs=(DEFAULT_CLASSIFIER_EPOCHS if arguments.classifier_epochs is None
                           else arguments.classifier_epochs), draws=arguments.draws,
        truncation=arguments.truncation, resamples=arguments.resamples)
    classifier_info = document["classifier"]
    print(quality.format_table(quality.compare_table([arguments.run])))
    for line in quality.interval_summary(document):
        print(line)
    if "generator_epoch" in document:
        print(f"keep_best: the generator measured is epoch {document['generator_epoch']}'s "
              f"({document['generator_images_seen']:,} images seen): the "
              f"{document.get('generator_chosen_by', 'lowest kid_mean of the quality curve')}")
    if document["truncation"]:
        print(f"noise truncated to ±{document['truncation']:g} standard deviations "
              "(--truncation 0 measures the plain normal)")
    spread = quality.draw_spread(document)
    if spread:
        print(f"generated row: the mean of {document['draws']} noise draws (seeds {document['seed']}-"
              f"{document['seed'] + document['draws'] - 1}); over the draws " + "; ".join(
                  f"{key} {mean:.4g} ± {std:.2g} (min {low:.4g}, max {high:.4g})"
                  for key, (mean, std, low, high) in spread.items()))
    print(f"classifier: {len(classifier_info['categories'])} categories, held-out accuracy "
          f"{classifier_info['held_out_accuracy']:.3f} ({document['category']}: "
          f"{classifier_info['category_accuracy']:.3f})")
    print(f"wrote {RunFolder(arguments.run).metrics_path}")
    return 0


def evaluate_conditional_command(arguments: argparse.Namespace) -> int:
    from sketchdraw import quality
    from sketchdraw.quality.evaluation import DEFAULT_SAMPLES
    from sketchdraw.quality.judge import DEFAULT_CLASSIFIER_EPOCHS

    document = quality.evaluate_conditional(
        arguments.run, samples=DEFAULT_SAMPLES if arguments.samples is None else arguments.samples,
        classifier_categories=arguments.categories,
        drawings_per_category=arguments.drawings_per_category, seed=arguments.seed,
        classifier_epochs=(DEFAULT_CLASSIFIER_EPOCHS if arguments.classifier_epochs is None
                           else arguments.classifier_epochs), draws=arguments.draws,
        resamples=arguments.resamples)
    print(quality.format_per_category(document))
    print(f"classifier: {len(document['classifier']['categories'])} categories, held-out accuracy "
          f"{document['classifier']['held_out_accuracy']:.3f}")
    print(f"wrote {RunFolder(arguments.run).metrics_path}")
    return 0


def evaluate_paintings_command(arguments: argparse.Namespace) -> int:
    from sketchdraw import quality
    from sketchdraw.quality.artefacts import ARTEFACTS_CLASS

    options = {} if arguments.classifier_epochs is None else {"epochs": arguments.classifier_epochs}
    document = quality.evaluate_paintings(
        arguments.run, samples=arguments.samples, draws=arguments.draws, seed=arguments.seed,
        judge_folders=arguments.judge_folders, judge_data=arguments.judge_data, judge_options=options,
        truncation=arguments.truncation, resamples=arguments.resamples,
        inception=not arguments.no_inception)
    print(quality.format_painting_table(document))
    for line in quality.interval_summary(document):
        print(line)
    if "generator_epoch" in document:
        print(f"keep_best: the generator measured is epoch {document['generator_epoch']}'s")
    if document["truncation"]:
        print(f"noise truncated to ±{document['truncation']:g} standard deviations "
              "(--truncation 0 measures the plain normal)")
    judge = document["classifier"]
    per_class = ", ".join(f"{name} {accuracy:.3f}" for name, accuracy in judge["per_category_accuracy"].items())
    broken = " and broken paintings" if ARTEFACTS_CLASS in judge["categories"] else ""
    print(f"painting judge: {len(judge['folders'])} folders{broken}, held-out accuracy "
          f"{judge['held_out_accuracy']:.3f} ({judge['balanced_held_out_accuracy']:.3f} balanced; "
          f"{per_class})")
    print(f"wrote {RunFolder(arguments.run).metrics_path}")
    return 0
