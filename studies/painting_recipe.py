"""The small-data painting ablation: seed 004's recipe and one ingredient at a time on top of it,
each setting on several seeds, every run trained to the same images seen, measured by the painting
judge (docs/painting-quality.md).

    python studies/painting_recipe.py                                  # Van Gogh, the ladder, seeds 0 1
    python studies/painting_recipe.py --data ../shared/data/wikiart/expressionism --images 300000
    python studies/painting_recipe.py --settings seed004,resize --seeds 0 --images 20000 --table-only

The ladder (`LADDER`): `seed004` (the `vangogh` preset: the seed's layer tables, Adam 1.5e-4 /
2e-3, batch 64, noisy labels), then each rung adds one ingredient to the one before it: `resize`
(nearest-neighbour upsampling and a convolution in the generator: no checkerboard), `diffaugment`
(colour, translation and cutout applied to everything the discriminator sees), `batch16` (four
times the updates for the same images seen), `batch16_ema99` (grids and the saved generator from
a moving average of the generator's weights over about five epochs: decay 0.99 on Van Gogh's 22
updates an epoch; `batch16_ema` is 0.999, five of Expressionism's 192-update epochs), `fastgan`
(seed 004's networks swapped for the few-shot `fastgan64` pair: skip-layer excitation, and a
discriminator that also redraws the real paintings, weighted by `reconstruction_weight`; the
`vangogh_small` preset). Every run keeps the preset's held-out tenth unseen by both networks, so
the real row is paintings that neither network trained on. Beside the ladder, `r1` and `hinge_r1`
add the discriminator's R1 penalty (weight 1) to the fifth rung, with the seed's noisy BCE and
with the hinge loss.

Runs go to `<runs-dir>/<folder>-<setting>-s<seed>` and are resumed or skipped when the study is run
again; `--workers` trains that many at once, each a subprocess with its share of the CPU threads.
Each finished run is measured by `quality.evaluate_paintings` (`--draws` noise draws, 95%
intervals, its metrics.json; InceptionV3 KID left out: the settings are compared by the judge), and the table (`studies/results/painting-recipe-<folder>-<N>k-<date>.md`)
gives every run, each setting's mean, the real held-out row and the issue's targets judged per
setting against seed004's mean: KID at most half of it, the recognised share at least 0.8x the
real paintings', SWD below it at every pyramid level, memorisation at least the real paintings'.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "studies" / "results"
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "wikiart" / "vangogh"
DEFAULT_RUNS_DIR = "runs/painting_ablation"
# 100 epochs of seed 004's recipe on Van Gogh (355 training paintings: 5 batches of 64 an epoch);
# its full 175 epochs are 56,000, hours per run on two CPU cores.
DEFAULT_IMAGES = 32_000
BASELINE = "seed004"

# (preset, overrides); `data`, `epochs`, `seed` and the names are set per run.
SETTINGS: dict[str, tuple[str, dict]] = {BASELINE: ("vangogh", {})}
SETTINGS["resize"] = ("vangogh", {"upsampling": "resize"})
SETTINGS["diffaugment"] = ("vangogh", {**SETTINGS["resize"][1], "augment": "color,translation,cutout"})
SETTINGS["batch16"] = ("vangogh", {**SETTINGS["diffaugment"][1], "batch_size": 16})
# rabbit_small's generator average: a window of about 1,000 updates, five Expressionism epochs.
SETTINGS["batch16_ema"] = ("vangogh", {**SETTINGS["batch16"][1], "ema_decay": 0.999})
# The same five-epoch window on Van Gogh, whose epochs are 22 updates at batch 16: 0.999 there
# would average over half of a 32,000-image run, early weights included.
SETTINGS["batch16_ema99"] = ("vangogh", {**SETTINGS["batch16"][1], "ema_decay": 0.99})
# The discriminator's penalty on small data (Mescheder et al. 2018): R1 keeps it flat on the real
# paintings so that it cannot memorise them; on top of the fifth rung, with the seed's noisy BCE
# and with the hinge loss (which takes no label targets).
SETTINGS["r1"] = ("vangogh", {**SETTINGS["batch16_ema99"][1], "r1_weight": 1.0})
SETTINGS["hinge_r1"] = ("vangogh", {**SETTINGS["r1"][1], "loss": "hinge", "label_treatment": "none"})
# The few-shot architecture (FastGAN, Liu et al. 2021: skip-layer excitation in the generator, a
# discriminator that also redraws the real paintings) in place of seed 004's pair, on the fifth rung.
FEW_SHOT = {"model": "fastgan64", "reconstruction_weight": 1.0}
SETTINGS["fastgan"] = ("vangogh", {**SETTINGS["batch16_ema99"][1], **FEW_SHOT})
# The same pair on Expressionism's fifth rung, whose epochs are 192 updates at batch 16: there the
# five-epoch generator average is 0.999.
SETTINGS["fastgan_ema999"] = ("vangogh", {**SETTINGS["batch16_ema"][1], **FEW_SHOT})
SETTINGS["seed004+diffaugment"] = ("vangogh", {"augment": "color,translation,cutout"})
LADDER = [BASELINE, "resize", "diffaugment", "batch16", "batch16_ema99", "fastgan"]
# A rung that swaps the networks changes these together: the model, and the loss weight of the
# decoders that only that model has.
ONE_INGREDIENT = (set(FEW_SHOT),)

# The targets, per setting against the baseline's mean and the real held-out row:
# (metric, operator, factor, against).
TARGETS = (("kid_mean", "<=", 0.5, BASELINE), ("cs", ">=", 0.8, "real"),
           ("memorisation_distance", ">=", 1.0, "real"))


def run_name(data: str, setting: str, seed: int) -> str:
    return f"{Path(data).name}-{setting}-s{seed}"


def make_config(setting: str, seed: int, data: str, images: int, runs_dir: str, limit: int | None = None):
    """The RunConfig of one (setting, seed): the epochs that make `images` images seen at its batch
    size; `limit` trains on the first N training paintings (the held-out ones stay held out)."""
    from sketchdraw import dcgan, pipeline
    from sketchdraw.dcgan.data import load_painting_set, painting_training_rows

    if setting not in SETTINGS:
        from sketchdraw.registry import unknown_name_message

        raise SystemExit(unknown_name_message("setting", setting, SETTINGS))
    preset, overrides = SETTINGS[setting]
    given = {**overrides, "data": str(data), "name": run_name(data, setting, seed), "runs_dir": runs_dir,
             "seed": seed, "limit": limit, "progress": False}
    config = dcgan.resolve(preset, **given)
    training = len(painting_training_rows(load_painting_set(config), config))
    per_epoch = pipeline.images_per_epoch(training, config.batch_size)
    if per_epoch == 0:
        raise SystemExit(f"setting {setting}: batch size {config.batch_size} is larger than the "
                         f"{training} training paintings")
    epochs = max(1, math.ceil(images / per_epoch))
    return dcgan.resolve(preset, **{**given, "epochs": epochs})


def run_one(arguments) -> None:
    """Train (or resume) and measure one (setting, seed) in this process."""
    import tensorflow as tf

    if arguments.threads:
        tf.config.threading.set_intra_op_parallelism_threads(arguments.threads)
        tf.config.threading.set_inter_op_parallelism_threads(arguments.threads)
    from sketchdraw import dcgan
    from sketchdraw.artifacts import RunFolder
    from sketchdraw.atomicfiles import atomic_write_text
    from sketchdraw.quality import read_metrics
    from sketchdraw.quality.painting_evaluation import evaluate_paintings

    config = make_config(arguments.one, arguments.seed_value, arguments.data, arguments.images,
                         arguments.runs_dir, arguments.limit)
    run = RunFolder(config.run_dir)
    judge = train_judge(arguments.data, arguments.judge_folders, arguments.judge_options)
    document = read_metrics(run.root)
    # Measured again when the judge changed, or the evaluation gives a figure the document lacks.
    if (document is not None and document.get("epochs") == config.epochs and document.get("draws") == arguments.draws
            and document.get("classifier", {}).get("key") == judge.key
            and {"coverage", "near_copies"} <= set(document["generated"])):
        print(f"{config.name}: measured already", flush=True)
        return
    start = time.perf_counter()
    trained = len(run.read_history()) >= config.epochs and run.generator_path.is_file()
    if not trained:
        dcgan.train(config)
    seconds = time.perf_counter() - start
    # A run measured again (by another judge) keeps the time its training took.
    previous_seconds = (document or {}).get("train_seconds") if trained else None
    document = evaluate_paintings(run.root, draws=arguments.draws, judge=judge, inception=False, progress=False)
    document["train_seconds"] = previous_seconds or round(seconds, 1)
    atomic_write_text(run.metrics_path, json.dumps(document, indent=2) + "\n")
    generated = document["generated"]
    print(f"{config.name}: KID {generated['kid_mean']:.4f} recognised {generated['cs']:.3f} "
          f"SWD {generated['swd']:.1f} mem {generated['memorisation_distance']:.3f} ({seconds:.0f} s)",
          flush=True)


def train_judge(data: str, given_folders: str | None, options: dict, progress: bool = False):
    """The painting judge (trained and cached once, before the workers race for it; read from the
    cache after that)."""
    from sketchdraw.quality.painting_judge import judge_folders, load_or_train_painting_judge

    folders, _ = judge_folders(data, given_folders)
    return load_or_train_painting_judge(folders, held_out_share=0.1, progress=progress, **options)


def run_all(arguments) -> list[str]:
    """Every (setting, seed) as a subprocess, `workers` at a time; returns the names that failed."""
    from sketchdraw.job_pool import run_jobs, threads_per_worker

    train_judge(arguments.data, arguments.judge_folders, arguments.judge_options, progress=True)
    threads = threads_per_worker(arguments.workers)
    jobs = []
    for seed in arguments.seeds:
        for setting in arguments.settings:
            command = [sys.executable, __file__, "--one", setting, "--seed-value", str(seed),
                       "--data", str(arguments.data), "--images", str(arguments.images),
                       "--runs-dir", arguments.runs_dir, "--draws", str(arguments.draws),
                       "--threads", str(threads), "--judge-options", json.dumps(arguments.judge_options)]
            if arguments.limit:
                command += ["--limit", str(arguments.limit)]
            if arguments.judge_folders:
                command += ["--judge-folders", arguments.judge_folders]
            jobs.append((run_name(arguments.data, setting, seed), command))
    return run_jobs(jobs, arguments.workers, arguments.runs_dir)


# -- the table -------------------------------------------------------------------------------------
def collect(runs_dir: str, data: str, settings: list[str], seeds: list[int]) -> list[dict]:
    from sketchdraw.quality import read_metrics

    rows = []
    for setting in settings:
        for seed in seeds:
            document = read_metrics(Path(runs_dir) / run_name(data, setting, seed))
            if document is not None and document.get("family") == "paintings":
                rows.append({"setting": setting, "seed": seed, "document": document})
    return rows


def setting_means(rows: list[dict]) -> dict[str, dict]:
    """{setting: the mean of its seeds' generated rows}, in the rows' order."""
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["setting"], []).append(row["document"]["generated"])
    return {setting: {key: statistics.fmean(value[key] for value in values)
                      for key in values[0] if isinstance(values[0][key], (int, float))
                      and all(key in value for value in values)}
            for setting, values in grouped.items()}


def judge_setting(mean: dict, baseline: dict | None, real: dict, levels: list[int]) -> dict[str, bool | None]:
    """Each target met (True/False), or None where its reference is missing (no baseline run)."""
    verdict: dict[str, bool | None] = {}
    for key, operator, factor, against in TARGETS:
        reference = real if against == "real" else baseline
        if reference is None:
            verdict[key] = None
            continue
        limit = factor * reference[key]
        verdict[key] = mean[key] <= limit if operator == "<=" else mean[key] >= limit
    verdict["swd"] = None if baseline is None else all(
        mean[f"swd_{level}px"] < baseline[f"swd_{level}px"] for level in levels)
    return verdict


def format_table(rows: list[dict]) -> str:
    if not rows:
        return "(no measured runs)\n"
    first = rows[0]["document"]
    real, levels = first["real_held_out"], first["swd_resolutions"]
    swd_columns = " | ".join(f"SWD {level}px" for level in levels)
    header = (f"| setting | seed | images seen | KID | recognised | {swd_columns} | GD | coverage | memorisation | "
              f"near copies | train s |\n|{' --- |' * (10 + len(levels))}\n")

    def cells(row: dict) -> str:
        swd = " | ".join(f"{row[f'swd_{level}px']:.1f}" for level in levels)
        # runs measured before a figure existed show a dash
        coverage, copies = (f"{row[key]:.3f}" if key in row else "-" for key in ("coverage", "near_copies"))
        return (f"{row['kid_mean']:.4f} | {row['cs']:.3f} | {swd} | {row['gd']:.2f} | {coverage} | "
                f"{row['memorisation_distance']:.3f} | {copies}")

    lines = [f"| {row['setting']} | {row['seed']} | {row['document']['images_seen']:,} | "
             f"{cells(row['document']['generated'])} | {row['document'].get('train_seconds', '-')} |"
             for row in rows]
    means = setting_means(rows)
    baseline = means.get(BASELINE)
    verdicts = []
    for setting, mean in means.items():
        count = sum(row["setting"] == setting for row in rows)
        lines.append(f"| **{setting} mean** | {count} seeds | | {cells(mean)} | |")
        verdict = judge_setting(mean, baseline, real, levels)
        verdicts.append(f"- {setting}: " + ", ".join(
            f"{name} {'n/a' if met is None else 'met' if met else 'missed'}" for name, met in verdict.items()))
    lines.append(f"| real held-out ({first['held_out_paintings']} unseen) | | | {cells(real)} | |")
    targets = ("\nTargets per setting (KID at most half of seed004's, recognised at least 0.8x the real "
               "paintings', SWD below seed004's at every level, memorisation at least the real paintings'):\n"
               + "\n".join(verdicts) + "\n")
    return header + "\n".join(lines) + "\n" + targets


def noise_line(rows: list[dict]) -> str:
    """How far one noise draw moves KID and the recognised share: the mean standard deviation over
    each run's draws."""
    spreads = {"kid_mean": [], "cs": []}
    for row in rows:
        draws = row["document"].get("generated_draws") or []
        if len(draws) > 1:
            for key in spreads:
                spreads[key].append(statistics.stdev(draw[key] for draw in draws))
    if not spreads["cs"]:
        return ""
    return (f"Noise: one draw moves KID by ± {statistics.fmean(spreads['kid_mean']):.4f} and the recognised "
            f"share by ± {statistics.fmean(spreads['cs']):.3f} (mean standard deviation over each run's draws).\n")


def results_name(data: str, images: int, date: str) -> str:
    return f"painting-recipe-{Path(data).name}-{round(images / 1000)}k-{date}.md"


def write_results(arguments, rows: list[dict]) -> Path:
    from sketchdraw.atomicfiles import atomic_write_text, unused_path

    date = datetime.date.today().isoformat()
    path = unused_path(Path(arguments.results_dir) / results_name(arguments.data, arguments.images, date))
    classifier = rows[0]["document"]["classifier"] if rows else {}
    first = rows[0]["document"] if rows else {}
    text = (f"# Small-data painting ablation on {Path(arguments.data).name}: {arguments.images:,} images seen per run\n\n"
            f"Command: `python studies/painting_recipe.py --data {os.path.relpath(arguments.data, REPO_ROOT)} --settings "
            f"{','.join(arguments.settings)} --seeds {' '.join(map(str, arguments.seeds))} --images {arguments.images} "
            f"--draws {arguments.draws}`\n\n"
            f"Judge: the painting judge ({', '.join(classifier.get('categories', []))}), held-out accuracy "
            f"{classifier.get('held_out_accuracy', float('nan')):.3f}, on this folder "
            f"{classifier.get('category_accuracy', float('nan')):.3f}. Every generated row is the mean of "
            f"{first.get('draws', '?')} noise draws of {first.get('samples', '?')} paintings against the "
            f"{first.get('held_out_paintings', '?')} held-out paintings; the real row is those paintings "
            f"against the {first.get('training_paintings', '?')} training paintings. SWD x10^3 per Laplacian "
            "pyramid level; memorisation: judge-feature distance to the nearest training painting; near copies: "
            "the share of paintings nearer a training painting than 95% of the held-out ones are (the real "
            "row's 0.05 by construction).\n\n"
            + format_table(rows) + "\n" + noise_line(rows))
    Path(arguments.results_dir).mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    return path


def save_sheet(arguments, rows: list[dict]) -> Path | None:
    """The last epoch grid of every measured run, a column per setting and a row per seed, in the
    runs folder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from sketchdraw.artifacts import RunFolder

    settings = list(dict.fromkeys(row["setting"] for row in rows))
    seeds = sorted({row["seed"] for row in rows})
    if not rows:
        return None
    figure, axes = plt.subplots(len(seeds), len(settings), figsize=(2.6 * len(settings), 2.8 * len(seeds)),
                                squeeze=False, layout="constrained")
    for axis in axes.flat:
        axis.axis("off")
    for row in rows:
        axis = axes[seeds.index(row["seed"])][settings.index(row["setting"])]
        run = RunFolder(Path(arguments.runs_dir) / run_name(arguments.data, row["setting"], row["seed"]))
        axis.imshow(Image.open(run.epoch_images()[-1]).convert("RGB"))
        axis.set_title(f"{row['setting']}, seed {row['seed']}\n{row['document']['images_seen']:,} images",
                       fontsize=9)
    path = Path(arguments.runs_dir) / f"{Path(arguments.data).name}-ladder.png"
    figure.savefig(path, dpi=72)
    plt.close(figure)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the painting folder (default: the shared Van Gogh)")
    parser.add_argument("--settings", type=lambda text: text.split(","), default=LADDER,
                        help=f"comma-separated, of: {', '.join(SETTINGS)} (default: {','.join(LADDER)})")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--images", type=int, default=DEFAULT_IMAGES, help="images seen per run")
    parser.add_argument("--draws", type=int, default=10, help="noise draws per evaluation")
    parser.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR)
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, help="train on the first N training paintings (default: all)")
    parser.add_argument("--judge-folders", help="the painting judge's classes, name=folder,... "
                        "(default: the shared layout's folders above --data)")
    parser.add_argument("--judge-options", type=json.loads, default={},
                        help='the painting judge\'s training options as JSON, e.g. \'{"epochs": 2}\' '
                             "(default: the judge `make evaluate` uses)")
    parser.add_argument("--table-only", action="store_true", help="write the table of the runs measured so far")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--seed-value", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    unknown = [setting for setting in arguments.settings if setting not in SETTINGS]
    if unknown:
        parser.error(f"unknown settings {unknown}; choose from {', '.join(SETTINGS)}")
    if not Path(arguments.data).is_dir():
        parser.error(f"--data {arguments.data} is not a folder of paintings (the shared data: "
                     f"{DEFAULT_DATA})")
    if arguments.one:
        run_one(arguments)
        return 0
    failed = [] if arguments.table_only else run_all(arguments)
    rows = collect(arguments.runs_dir, arguments.data, arguments.settings, arguments.seeds)
    path = write_results(arguments, rows)
    print(path.read_text())
    sheet = save_sheet(arguments, rows)
    if sheet:
        print(f"grids side by side: {sheet}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
