"""The small-data ablation (issue 11): settings x seeds on the first N drawings of a category, each
trained to the same images-seen budget, measured with the project's own metrics.

    python studies/small_data.py                     # the whole table on rabbit, seeds 1 and 2
    python studies/small_data.py --category flower --settings seed001,rabbit_small --seeds 1,2
    make ablation [CATEGORY=cat] [SETTINGS=a,b] [SEEDS=1,2] [IMAGES=128000] [WORKERS=2]

Every run trains through `dcgan.train` on the first `--train` drawings (`limit`, so the rest of
the file stays unseen for the reference row), for the epochs that make `--images` images seen at
its batch size, with the quality callback measuring CS and KID along the way (history.csv,
quality.png), then `quality.evaluate` writes its metrics.json. Runs go to
`<runs-dir>/<category>-<setting>-s<seed>` and are resumed/skipped when rerun, so an interrupted
ablation continues where it stopped. `--workers` runs that many trainings at once, each a
subprocess with its share of the CPU threads (two one-thread runs beat one two-thread run on
these small models).

The table (`studies/results/small-data-<category>[-<N>k]-<date>.md`, the budget named when it is not
the default 128k) holds one row per setting and seed — the ones asked for and every other run of
the category already measured at this budget in the runs folder, so running two more settings adds
rows instead of replacing the table — the mean per setting, the real held-out row and the issue's
four targets, judged per row.

The studies (this script, metric_noise.py, keep_best.py) are run as scripts, `python studies/X.py`:
Python puts the script's own folder first on sys.path, so they import each other as plain
siblings (`import small_data`) and need nothing of bench/.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "studies" / "results"
MIRROR_ENVIRONMENT = "SKETCHDRAW_QUICKDRAW_MIRROR"
TRAIN_DRAWINGS = 450  # the GAN's training set: the first 450 drawings of the category
DEFAULT_IMAGES = 128_000  # images seen per run
DEFAULT_RUNS_DIR = "runs/ablation"

# The ladder: each setting adds one ingredient to the one before it, starting from seed 001's
# recipe. Values: (preset, overrides). `limit`, `epochs`, `seed` and the names are set per run.
SETTINGS: dict[str, tuple[str, dict]] = {
    "seed001": ("rabbit", {}),
    "adam": ("rabbit", {"generator_learning_rate": 2e-4, "discriminator_learning_rate": 2e-4,
                        "generator_beta1": 0.5, "discriminator_beta1": 0.5}),
}
SETTINGS["upsample"] = ("rabbit", {**SETTINGS["adam"][1], "model": "upsample"})
SETTINGS["batch64"] = ("rabbit", {**SETTINGS["upsample"][1], "batch_size": 64})
SETTINGS["diffaugment"] = ("rabbit", {**SETTINGS["batch64"][1], "augment": "translation,cutout"})
SETTINGS["ema"] = ("rabbit", {**SETTINGS["diffaugment"][1], "ema_decay": 0.99})
# On top of batch64 (the best of the ladder at 128k images seen).
SETTINGS["batch64_ema"] = ("rabbit", {**SETTINGS["batch64"][1], "ema_decay": 0.99})
SETTINGS["batch32"] = ("rabbit", {**SETTINGS["upsample"][1], "batch_size": 32})
SETTINGS["batch32_ema"] = ("rabbit", {**SETTINGS["batch32"][1], "ema_decay": 0.99})
SETTINGS["batch16"] = ("rabbit", {**SETTINGS["upsample"][1], "batch_size": 16})
# The second round, each one ingredient on top of batch32_ema (the first rabbit_small preset).
# Measured (studies/results/small-data-rabbit[-384k]-2026-11-22.md): r1, ema999 at 128k; decay, ema999
# at 384k. Defined, not yet measured: hinge, spectral_norm, page_augment, page_translation, flip, ttur.
for _name, _change in {"hinge": {"loss": "hinge"}, "spectral_norm": {"spectral_norm": True},
                       "page_augment": {"augment": "page_translation,page_cutout"},
                       "page_translation": {"augment": "page_translation"},
                       "flip": {"flip": True}, "r1": {"r1_weight": 1.0},
                       "ema999": {"ema_decay": 0.999}, "decay": {"learning_rate_decay": 0.5},
                       "ttur": {"generator_learning_rate": 1e-4, "discriminator_learning_rate": 4e-4}}.items():
    SETTINGS[_name] = ("rabbit", {**SETTINGS["batch32_ema"][1], **_change})
SETTINGS["ema999_decay"] = ("rabbit", {**SETTINGS["ema999"][1], "learning_rate_decay": 0.5})
# = the current rabbit_small preset (at --images 384000)
SETTINGS["ema999_translation"] = ("rabbit", {**SETTINGS["ema999"][1], "augment": "page_translation"})
# The third round, each one ingredient on top of ema999_translation. Measured at 384k: translation_decay
# (seeds 1-4), translation_decay25 and translation_cutout (seed 1).
SETTINGS["translation_decay"] = ("rabbit", {**SETTINGS["ema999_translation"][1],
                                            "learning_rate_decay": 0.5})
SETTINGS["translation_decay25"] = ("rabbit", {**SETTINGS["ema999_translation"][1],
                                              "learning_rate_decay": 0.25})
SETTINGS["translation_cutout"] = ("rabbit", {**SETTINGS["ema999_translation"][1],
                                             "augment": "page_translation,page_cutout"})
# The fourth round, for the seeds that learn slowly: twice the data by mirroring (the tf.data
# pipeline's random left-right flip of the training drawings; a mirrored rabbit is still a rabbit).
SETTINGS["translation_flip"] = ("rabbit", {**SETTINGS["ema999_translation"][1], "flip": True})
SETTINGS["translation_flip_decay"] = ("rabbit", {**SETTINGS["translation_flip"][1],
                                                 "learning_rate_decay": 0.5})
# The slow seeds' discriminators stay stronger (real/fake probability gap 0.16 against 0.08 for the
# fast seeds): a weaker or smoother discriminator, or one-sided label smoothing (the GAN study's trick
# against an over-confident discriminator).
SETTINGS["translation_slow_d"] = ("rabbit", {**SETTINGS["ema999_translation"][1],
                                             "discriminator_learning_rate": 1e-4})
SETTINGS["translation_sn"] = ("rabbit", {**SETTINGS["ema999_translation"][1], "spectral_norm": True})
SETTINGS["translation_smooth"] = ("rabbit", {**SETTINGS["ema999_translation"][1],
                                             "label_treatment": "smooth"})
# The fifth round, the two unmeasured ingredients on top of the current preset: spectral
# normalisation in the discriminator, and the hinge loss (it has no targets to smooth, so it
# replaces the smoothing).
SETTINGS["smooth_sn"] = ("rabbit_small", {"spectral_norm": True})
SETTINGS["translation_hinge"] = ("rabbit", {**SETTINGS["ema999_translation"][1], "loss": "hinge"})
# The sixth round: the generator learning twice as fast (Adam 4e-4, the discriminator kept at 2e-4).
SETTINGS["smooth_g4"] = ("rabbit_small", {"generator_learning_rate": 4e-4})
# Single ingredients on the seed 001 recipe.
SETTINGS["seed001+upsample"] = ("rabbit", {"model": "upsample"})
SETTINGS["seed001+diffaugment"] = ("rabbit", {"augment": "translation,cutout"})
SETTINGS["seed001+ema"] = ("rabbit", {"ema_decay": 0.99})
SETTINGS["rabbit_small"] = ("rabbit_small", {})
# What `make ablation` runs by default: the table of issue 11's closing note.
LADDER = ["seed001", "adam", "upsample", "batch64", "batch32", "batch16", "diffaugment", "ema",
          "batch64_ema", "batch32_ema"]


def mirror_folder() -> Path:
    """The Quick, Draw! numpy_bitmap mirror: $SKETCHDRAW_QUICKDRAW_MIRROR or ../shared/data/...
    (it must hold rabbit.npy, the category the studies are about)."""
    configured = os.environ.get(MIRROR_ENVIRONMENT)
    folder = Path(configured) if configured else REPO_ROOT.parent / "shared" / "data" / "quickdraw" / "numpy_bitmap"
    if not (folder / "rabbit.npy").is_file():
        raise SystemExit(f"the studies need real rabbit drawings: {folder / 'rabbit.npy'} is missing; "
                         f"set {MIRROR_ENVIRONMENT} to a folder of numpy_bitmap .npy files")
    return folder


def run_name(category: str, setting: str, seed: int) -> str:
    return f"{category}-{setting}-s{seed}"


def make_config(setting: str, seed: int, category: str, train: int, images: int, runs_dir: str,
                mirror: str, quality_every_images: int):
    """The RunConfig of one (setting, seed): epochs for the budget, checkpoints where the quality
    callback measures. Returns (config, quality_every_epochs)."""
    from sketchdraw import dcgan, pipeline

    if setting not in SETTINGS:
        from sketchdraw.registry import unknown_name_message

        raise SystemExit(unknown_name_message("setting", setting, SETTINGS))
    preset, overrides = SETTINGS[setting]
    batch_size = overrides.get("batch_size", dcgan.preset(preset).batch_size)
    if batch_size > train:
        raise SystemExit(f"setting {setting}: batch size {batch_size} is larger than the {train} "
                         "training drawings")
    per_epoch = pipeline.images_per_epoch(train, batch_size)
    epochs = max(1, math.ceil(images / per_epoch))
    every = max(1, round(quality_every_images / per_epoch))
    config = dcgan.resolve(
        preset, **{**overrides, "category": category, "name": run_name(category, setting, seed),
                   "runs_dir": runs_dir, "limit": train, "limit_seed": None, "epochs": epochs,
                   "seed": seed, "mirror": mirror, "checkpoint_every": every, "quality_every": every,
                   "progress": False})
    return config, every


def run_one(args) -> None:
    """Train (or resume) and evaluate one (setting, seed) in this process."""
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from sketchdraw import dcgan, quality
    from sketchdraw.artifacts import RunFolder

    config, every = make_config(args.one, args.seed_value, args.category, args.train, args.images,
                                args.runs_dir, args.mirror, args.quality_every)
    run = RunFolder(config.run_dir)
    if run.metrics_path.is_file() and len(run.read_history()) >= config.epochs:
        print(f"{config.name}: done already", flush=True)
        return
    classifier = classifier_for(args)
    start = time.perf_counter()
    callback = quality.quality_callback(config, every=every, samples=450, classifier=classifier,
                                        progress=False, keep_best=config.keep_best)
    dcgan.train(config, callbacks=[callback])
    seconds = time.perf_counter() - start
    document = quality.evaluate(config.run_dir, samples=1000, classifier=classifier,
                                progress=False)
    document["train_seconds"] = round(seconds, 1)
    from sketchdraw.atomicfiles import atomic_write_text

    atomic_write_text(run.metrics_path, json.dumps(document, indent=2) + "\n")
    generated = document["generated"]
    print(f"{config.name}: CS {generated['cs']:.3f} KID {generated['kid_mean']:.4f} "
          f"GD {generated['gd']:.2f} mem {generated['memorisation_distance']:.2f} "
          f"({seconds:.0f} s)", flush=True)


def classifier_for(args):
    from sketchdraw import quality

    categories = quality.choose_categories(args.category, args.classifier_categories, args.mirror)
    # The judge of `make evaluate` unless told otherwise: trained once (about 40 minutes on 2
    # cores) and cached. Tests give a small one (--classifier-drawings, --classifier-epochs).
    drawings = getattr(args, "classifier_drawings", None) or quality.DEFAULT_DRAWINGS_PER_CATEGORY
    epochs = getattr(args, "classifier_epochs", None) or quality.judge.DEFAULT_CLASSIFIER_EPOCHS
    return quality.domain_classifier(categories, drawings, args.mirror, epochs=epochs)


def run_all(args, settings: list[str], seeds: list[int]) -> None:
    """Every (setting, seed) as a subprocess, `workers` at a time; failures reported, not fatal."""
    from sketchdraw.job_pool import run_jobs, threads_per_worker

    classifier_for(args)  # train and cache the judge once, before the workers race for it
    threads = threads_per_worker(args.workers)
    jobs = []
    for seed in seeds:  # one seed of all settings first
        for setting in settings:
            command = [sys.executable, __file__, "--one", setting, "--seed-value", str(seed),
                       "--category", args.category, "--train", str(args.train), "--images",
                       str(args.images), "--runs-dir", args.runs_dir, "--mirror", args.mirror,
                       "--quality-every", str(args.quality_every), "--threads", str(threads)]
            if args.classifier_categories:
                command += ["--classifier-categories", args.classifier_categories]
            for option in ("classifier_drawings", "classifier_epochs"):
                if getattr(args, option):
                    command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
            jobs.append((run_name(args.category, setting, seed), command))
    failed = run_jobs(jobs, args.workers, args.runs_dir)
    if failed:
        print(f"{len(failed)} runs failed: {', '.join(failed)} (logs in {args.runs_dir})")


# -- the table -------------------------------------------------------------------------------------
def collect(runs_dir: str, category: str, settings: list[str], seeds: list[int]) -> list[dict]:
    from sketchdraw import quality

    rows = []
    for setting in settings:
        for seed in seeds:
            document = quality.read_metrics(Path(runs_dir) / run_name(category, setting, seed))
            if document is not None:
                rows.append({"setting": setting, "seed": seed, "document": document})
    return rows


def measured_runs(runs_dir: str, category: str, images: int, train: int) -> tuple[list[str], list[int]]:
    """The settings and seeds of every run of `category` in `runs_dir` that has been measured at this
    budget (images seen within one epoch of `images`), so a table written after running a few
    settings still holds the rows of the others. Settings in the ladder's order, seeds ascending."""
    from sketchdraw import quality

    found = set()
    for folder in Path(runs_dir).glob(f"{category}-*-s*"):
        setting, _, seed = folder.name[len(category) + 1:].rpartition("-s")
        if setting not in SETTINGS or not seed.isdigit() or not folder.is_dir():
            continue
        document = quality.read_metrics(folder)
        if document is not None and images <= document.get("images_seen", -1) < images + train:
            found.add((setting, int(seed)))
    settings = {setting for setting, _ in found}
    return [setting for setting in SETTINGS if setting in settings], sorted({seed for _, seed in found})


def calibration_rows(args, neighbours: int = 3, count: int = 450) -> list[dict]:
    """What the numbers mean: real drawings of the categories the judge confuses most with
    `args.category` (by its mean probabilities on the category's unseen drawings), measured as if
    a GAN had drawn them. A generator scoring like "real cat drawings" draws something as far
    from the rabbits as cats are. Only drawings the judge holds out (and the GAN never saw)."""
    import numpy as np

    from sketchdraw import quickdraw
    from sketchdraw.quality import metrics
    from sketchdraw.quality.classifier import features_and_probabilities

    judge_model = classifier_for(args)
    everything = quickdraw.load_bitmaps(args.category, mirror=args.mirror, progress=False)
    training = everything[:args.train]
    unseen_rows = unseen_by_judge(judge_model, args.category, len(everything))
    unseen = everything[unseen_rows[unseen_rows >= args.train]]
    if len(unseen) < 2:
        return []
    _, probabilities = features_and_probabilities(judge_model, unseen)
    target = judge_model.category_index(args.category)
    order = [index for index in np.argsort(-probabilities.mean(axis=0)) if index != target]
    rows = []
    for index in order[:neighbours]:
        other = judge_model.categories[index]
        drawings = quickdraw.load_bitmaps(other, mirror=args.mirror, progress=False)
        drawings = drawings[unseen_by_judge(judge_model, other, len(drawings))[:count]]
        if len(drawings) < 2:
            continue
        measured = metrics.evaluate_drawings(drawings, args.category, judge_model, unseen, training)
        rows.append({"label": f"real {other} drawings, as if generated", **measured["generated"]})
    return rows


def unseen_by_judge(judge_model, category: str, total: int):
    """Rows of a category's file the judge never trained on: its held-out rows and every row after
    the first N it was given."""
    import numpy as np

    given = judge_model.counts[category]["train"] + judge_model.counts[category]["held_out"]
    return np.concatenate([np.asarray(judge_model.held_out_indices[category]), np.arange(given, total)])


# Issue 11's four targets, each a multiple of the real held-out row's value: (metric, ">=" or "<=", factor).
TARGETS = (("cs", ">=", 1.0), ("kid_mean", "<=", 2.0), ("gd", ">=", 0.9), ("memorisation_distance", ">=", 1.0))


def targets(real: dict) -> dict:
    """{metric: (">=" or "<=", the threshold)} from the real held-out row."""
    return {key: (operator, factor * real[key]) for key, operator, factor in TARGETS}


def judge(row: dict, real: dict) -> list[bool]:
    return [row[key] >= limit if operator == ">=" else row[key] <= limit
            for key, (operator, limit) in targets(real).items()]


def format_table(rows: list[dict], calibration: list[dict] = ()) -> str:
    if not rows:
        return "(no finished runs)\n"
    real = rows[0]["document"]["real_held_out"]
    header = ("| setting | seed | images seen | CS | KID (mean ± std) | GD | memorisation | FID | "
              "targets met | train s |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
    lines = []
    by_setting: dict[str, list[dict]] = {}
    for row in rows:
        generated = row["document"]["generated"]
        by_setting.setdefault(row["setting"], []).append(generated)
        met = judge(generated, real)
        lines.append(f"| {row['setting']} | {row['seed']} | {row['document']['images_seen']:,} | "
                     f"{generated['cs']:.3f} | {generated['kid_mean']:.3f} ± {generated['kid_std']:.3f} | "
                     f"{generated['gd']:.2f} | {generated['memorisation_distance']:.2f} | "
                     f"{generated['fid']:.1f} | {sum(met)}/4 | "
                     f"{row['document'].get('train_seconds', '-')} |")
    for setting, values in by_setting.items():
        if len(values) < 2:
            continue
        mean = {key: statistics.fmean(value[key] for value in values)
                for key in ("cs", "kid_mean", "gd", "memorisation_distance", "fid")}
        lines.append(f"| **{setting} mean** | {len(values)} seeds | | {mean['cs']:.3f} | "
                     f"{mean['kid_mean']:.3f} | {mean['gd']:.2f} | {mean['memorisation_distance']:.2f} | "
                     f"{mean['fid']:.1f} | | |")
    lines.append(f"| real held-out ({real['count']} unseen) | | | {real['cs']:.3f} | "
                 f"{real['kid_mean']:.4f} ± {real['kid_std']:.4f} | {real['gd']:.2f} | "
                 f"{real['memorisation_distance']:.2f} | {real['fid']:.2f} | | |")
    for row in calibration:
        lines.append(f"| {row['label']} | | | {row['cs']:.3f} | {row['kid_mean']:.3f} ± {row['kid_std']:.3f} | "
                     f"{row['gd']:.2f} | {row['memorisation_distance']:.2f} | {row['fid']:.1f} | "
                     f"{sum(judge(row, real))}/4 | |")
    limits = targets(real)
    lines.append(f"| **targets** | | | >= {limits['cs'][1]:.3f} | <= {limits['kid_mean'][1]:.4f} | "
                 f">= {limits['gd'][1]:.2f} | >= {limits['memorisation_distance'][1]:.2f} | | | |")
    return header + "\n".join(lines) + "\n"


def results_name(category: str, images: int, date: str) -> str:
    """small-data-<category>-<date>.md at the default budget, -<N>k- in the name at any other, so
    tables of different budgets never replace each other."""
    budget = "" if images == DEFAULT_IMAGES else (
        f"-{images // 1000}k" if images % 1000 == 0 else f"-{images}images")
    return f"small-data-{category}{budget}-{date}.md"


def write_results(args, rows: list[dict]) -> Path:
    from sketchdraw.atomicfiles import atomic_write_text, unused_path

    date = datetime.date.today().isoformat()
    path = unused_path(Path(args.results_dir) / results_name(args.category, args.images, date))
    classifier = rows[0]["document"]["classifier"] if rows else {}
    text = (f"# Small-data ablation on {args.category}: first {args.train} drawings, "
            f"{args.images:,} images seen per run\n\n"
            f"Command: `python studies/small_data.py --category {args.category} --settings "
            f"{','.join(args.settings)} --seeds {','.join(map(str, args.seeds))} --images {args.images}"
            f"{'' if args.runs_dir == DEFAULT_RUNS_DIR else ' --runs-dir ' + args.runs_dir}`\n\n"
            f"Judge: {len(classifier.get('categories', []))}-category classifier, held-out accuracy "
            f"{classifier.get('held_out_accuracy', float('nan')):.3f} ({args.category}: "
            f"{classifier.get('category_accuracy', float('nan')):.2f}). Every row is measured against "
            "the run's training drawings; the real row is the unseen drawings measured the same way; "
            "the 'as if generated' rows are real drawings of the categories the judge confuses most "
            "with this one, for scale.\n\n"
            + format_table(rows, calibration_rows(args) if rows else []))
    Path(args.results_dir).mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    return path


def save_figures(args, rows: list[dict]) -> list[Path]:
    """The quality curves of every run, the final grids of the first seed's runs side by side and
    the discriminators' real/generated probability gap, as PNGs in the runs folder (names say the
    category)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sketchdraw import quality
    from sketchdraw.atomicfiles import atomic_write_bytes

    saved = []
    folders = [Path(args.runs_dir) / run_name(args.category, row["setting"], row["seed"]) for row in rows]
    first_seed = [folder for folder, row in zip(folders, rows) if row["seed"] == rows[0]["seed"]]
    curves = quality.plot_quality_curves(folders, losses_when_unmeasured=False, by_images=True,
                                         log_kid=True)
    grids = quality.plot_final_grids(first_seed) if first_seed else None
    balance = quality.plot_discriminator_balance(folders)
    for figure, stem in ((curves, "quality"), (grids, "grids"), (balance, "balance")):
        if figure is None:
            continue
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=80)
        plt.close(figure)
        path = Path(args.runs_dir) / f"{stem}-{args.category}.png"
        atomic_write_bytes(path, buffer.getvalue())
        saved.append(path)
    return saved


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--category", default="rabbit")
    parser.add_argument("--settings", type=lambda text: [s.strip() for s in text.split(",") if s.strip()],
                        default=LADDER, help=f"comma-separated, from: {', '.join(SETTINGS)}")
    parser.add_argument("--seeds", type=lambda text: [int(s) for s in text.split(",") if s.strip()],
                        default=[1, 2])
    parser.add_argument("--images", type=int, default=DEFAULT_IMAGES, help="images seen per run")
    parser.add_argument("--train", type=int, default=TRAIN_DRAWINGS,
                        help="training drawings: the first N of the file")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quality-every", type=int, default=16_000,
                        help="images seen between quality measurements")
    parser.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR)
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    parser.add_argument("--mirror", default=None)
    parser.add_argument("--classifier-drawings", type=int, default=None,
                        help="the judge's first N drawings per category (default: make evaluate's, 5000)")
    parser.add_argument("--classifier-epochs", type=int, default=None,
                        help="the judge's training epochs (default: make evaluate's, 30)")
    parser.add_argument("--classifier-categories", default=None,
                        help="the judge's categories, a,b,c (default: every one in the mirror)")
    parser.add_argument("--table-only", action="store_true", help="only rebuild the table (of every run measured at this budget)")
    # one run, in a worker subprocess
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--seed-value", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.mirror = args.mirror or str(mirror_folder())
    for setting in ([args.one] if args.one else args.settings):
        if setting not in SETTINGS:
            from sketchdraw.registry import unknown_name_message

            parser.error(unknown_name_message("setting", setting, SETTINGS))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.one:
        run_one(args)
        return 0
    if not args.table_only:
        run_all(args, args.settings, args.seeds)
    settings, seeds = measured_runs(args.runs_dir, args.category, args.images, args.train)
    args.settings = [setting for setting in SETTINGS if setting in args.settings or setting in settings]
    args.seeds = sorted(set(args.seeds) | set(seeds))
    rows = collect(args.runs_dir, args.category, args.settings, args.seeds)
    path = write_results(args, rows)
    print(path.read_text())
    print(f"written to {path}")
    if rows:
        print("figures: " + ", ".join(map(str, save_figures(args, rows))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
