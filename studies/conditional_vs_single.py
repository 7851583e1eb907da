"""One class-conditional generator against one single-category run per category, at the same
total images seen.

    python studies/conditional_vs_single.py runs/doodles3 \
        --single rabbit=runs/rabbit_small_s0 flower=runs/rabbit_small_flower_s0 cat=runs/rabbit_small_cat_s0 \
        --epoch 200 --draws 6 --write studies/results/conditional-vs-single-<date>.md

Three `rabbit_small` runs of 450 drawings for E epochs see 3 x 450 x E images; `doodles3` (1,350
drawings) sees as many in E epochs. So the conditional run's generator after E epochs is compared
with each single run's generator of epoch E (`--epoch E`: the one keep_best saved in generators/;
without it, each run's generator.keras). Each category is measured the same way for both (the
conditional generator drawing that category's label): `--draws` noise draws of `--samples`
drawings against the category's real drawings that neither network saw, with one judge (`make
evaluate`'s by default). Prints and writes CS, KID, GD and memorisation (mean ± std over the
draws), the conditional/single CS ratio (the target: at least 0.9), and the real drawings' CS.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import statistics
import sys
from pathlib import Path

TARGET_RATIO = 0.9


def single_generator_path(run_dir: str, epoch: int | None) -> Path | None:
    if epoch is None:
        return None
    from sketchdraw.artifacts import RunFolder

    path = RunFolder(run_dir).measured_generators_dir / f"epoch_{epoch:04d}.keras"
    if not path.is_file():
        raise SystemExit(f"{run_dir} kept no generator of epoch {epoch} ({path} is missing): choose an epoch "
                         "its keep_best measured (a multiple of its quality_every)")
    return path


def measure_conditional(run_dir: str, category: str, judge, draws: int, samples: int) -> dict:
    """The conditional run's drawings of `category`, as `metric_noise.measure` measures a single run."""
    from sketchdraw import quality, sampling
    from sketchdraw.artifacts import RunFolder
    from sketchdraw.conditional.run import training_drawings
    from sketchdraw.conditional.settings import ConditionalConfig
    from sketchdraw.quality.per_category import category_view

    run = RunFolder(run_dir)
    config = ConditionalConfig.from_dict(run.load_config(), where=str(run.config_path))
    config = dataclasses.replace(config, progress=False)
    if category not in config.category_list:
        raise SystemExit(f"{run_dir} learned {config.categories}; not {category}")
    view = category_view(config, category)
    generator = sampling.load_generator(run_dir)
    train = training_drawings(config, category)
    reference = quality.reference_drawings(view, judge, samples, train, None, 0, False)
    measured = quality.measure_draws(generator, draws, samples, category, judge, reference, train,
                                     resamples=0, label=config.category_list.index(category))
    return _row(measured)


def measure_single(run_dir: str, judge, draws: int, samples: int, epoch: int | None) -> dict:
    import metric_noise

    return metric_noise.measure(run_dir, judge, draws, samples, path=single_generator_path(run_dir, epoch))[0]


def _row(measured: dict) -> dict:
    import metric_noise

    return {"real": measured["real_held_out"],
            "draws": {key: [row[key] for row in measured["generated_draws"]] for key, _, _ in metric_noise.METRICS}}


def images_seen(run_dir: str, epoch: int | None) -> int:
    """Images the generator compared had seen: the run's drawings x its epochs (whole batches)."""
    import json

    from sketchdraw import pipeline
    from sketchdraw.artifacts import RunFolder

    run = RunFolder(run_dir)
    settings = json.loads(run.config_path.read_text())
    epochs = epoch if epoch is not None else len(run.read_history())
    if settings.get("limit") is None:
        raise SystemExit(f"{run_dir} trained on every drawing of its categories: compare runs trained with a limit")
    if "categories" in settings:  # a category with fewer than 2 x limit drawings trains on half of them
        from sketchdraw.conditional.run import load_labelled_drawings
        from sketchdraw.conditional.settings import ConditionalConfig

        config = ConditionalConfig.from_dict({**settings, "progress": False}, where=str(run.config_path))
        count = len(load_labelled_drawings(config)[0])
    else:
        count = settings["limit"]
    return epochs * pipeline.images_per_epoch(count, settings["batch_size"])


def table(rows: list[tuple[str, dict, dict]], draws: int, samples: int) -> list[str]:
    def cell(row, key):
        values = row["draws"][key]
        return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"

    lines = ["| category | single CS | conditional CS | conditional / single | real CS | single KID | "
             "conditional KID | single GD | conditional GD | single memorisation | conditional memorisation |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for category, single, conditional in rows:
        single_cs = statistics.mean(single["draws"]["cs"])
        if single_cs > 0:
            ratio = statistics.mean(conditional["draws"]["cs"]) / single_cs
            shown = f"{ratio:.3f}{'' if ratio >= TARGET_RATIO else ' (below 0.9)'}"
        else:
            shown = "– (the single run's CS is 0)"
        lines.append(f"| {category} | {cell(single, 'cs')} | {cell(conditional, 'cs')} | "
                     f"{shown} | {single['real']['cs']:.4f} | "
                     f"{cell(single, 'kid_mean')} | {cell(conditional, 'kid_mean')} | {cell(single, 'gd')} | "
                     f"{cell(conditional, 'gd')} | {cell(single, 'memorisation_distance')} | "
                     f"{cell(conditional, 'memorisation_distance')} |")
    lines += ["", f"Mean ± std over {draws} noise draws of {samples} drawings per category, against the "
              "category's real drawings neither network saw (KID, GD and memorisation against its training "
              "drawings, as `make evaluate`)."]
    return lines


def main(argv=None) -> int:
    import metric_noise

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("conditional", help="a finished class-conditional run folder")
    parser.add_argument("--single", nargs="+", required=True, metavar="CATEGORY=RUN",
                        help="the single-category run of each category to compare")
    parser.add_argument("--epoch", type=int, default=None,
                        help="compare each single run's generator of this epoch (default: generator.keras)")
    parser.add_argument("--write", type=Path, default=None, help="also write the table (.md)")
    metric_noise.add_draw_arguments(parser, samples=450)
    args = parser.parse_args(argv)
    pairs = []
    for item in args.single:
        category, _, run = item.partition("=")
        if not category or not run:
            parser.error(f"--single takes CATEGORY=RUN, got {item!r}")
        pairs.append((category, run))
    judge = metric_noise.judge_for(parser, args)
    seen = {"conditional": images_seen(args.conditional, None)}
    rows = []
    for category, run in pairs:
        seen[run] = images_seen(run, args.epoch)
        single = measure_single(run, judge, args.draws, args.samples, args.epoch)
        conditional = measure_conditional(args.conditional, category, judge, args.draws, args.samples)
        rows.append((category, single, conditional))
        print(f"{category}: single {metric_noise.describe(single)}", flush=True)
        print(f"{category}: conditional {metric_noise.describe(conditional)}", flush=True)
    singles = sum(seen[run] for _, run in pairs)
    header = [f"# One conditional generator against single-category runs ({datetime.date.today().isoformat()})", "",
              f"`python studies/conditional_vs_single.py {' '.join(sys.argv[1:] if argv is None else argv)}`", "",
              f"Images seen: the conditional run {seen['conditional']:,}; the single runs {singles:,} together "
              f"({', '.join(f'{run}: {seen[run]:,}' for _, run in pairs)}).", ""]
    text = "\n".join(header + table(rows, args.draws, args.samples)) + "\n"
    print(text)
    if args.write:
        from sketchdraw.atomicfiles import atomic_write_text

        atomic_write_text(args.write, text)
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
