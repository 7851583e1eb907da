"""Static HTML pages for browsing runs as pictures: one page per run folder and an index of all runs.

    runs/index.html          every run as a card (newest grid, epochs done, last update), sortable
    runs/<name>/index.html   the newest epoch grid large, an epoch slider with play/pause over all
                             grids, the real drawings beside them, plots, quality metrics, the settings
                             table, the history summary and links to the GIF, checkpoints and notebook

Each page is one self-contained file: the CSS and JavaScript from `gallery_assets/` are inlined, the
list of epoch grids is embedded as JSON, and every link is relative. So a page opens from disk
(file://) with no server and no network, and still works after the run folder is zipped, moved or
downloaded from Colab. Without JavaScript (a sandboxed notebook file view) the page still shows the
newest grid, the plots and the tables; only the slider needs the script.

The pages only read the run folder; they tolerate every missing piece (no history yet, no GIF yet,
one epoch, no config), so `rebuild_all` also works for runs made before the gallery existed.

Each quality metric is shown by its full name, with which way is better and the real drawings'
number beside it (`METRIC_NAMES`); each setting that differs from the run's preset comes first,
marked, the rest folded away (`find_preset`). This module knows nothing about TensorFlow: it reads
a DCGAN preset without it; only a preset of a family whose settings import TensorFlow (CycleGAN,
Sketch2Img) or an unknown experiment name makes the first page that needs it import TensorFlow.
"""

from __future__ import annotations

import datetime
import functools
import html
import importlib
import importlib.util
import json
import math
import os
import sys
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sketchdraw.artifacts import RunFolder
from sketchdraw.atomicfiles import atomic_write_text

ASSETS_DIR = Path(__file__).with_name("gallery_assets")
PAGE_NAME = "index.html"

# Settings that say what a run is about, shown under its name and on its card (first found wins).
SUBJECT_KEYS = ("experiment", "category", "categories", "painting_set", "dataset", "source")
# Quality metrics worth a place on a run's card, in this order of preference.
HEADLINE_METRICS = ("fid", "kid", "kid_mean", "cs", "gd", "sds", "swd", "memorisation_distance",
                    "memorisation", "memorization")


@dataclass(frozen=True)
class MetricName:
    """How the run page names a metrics.json entry, and which way is better (None: neither)."""

    label: str
    better: str | None = None  # "lower", "higher", or "real": closest to the real drawings


# Every metrics.json entry the run page knows, in the order it shows them. The measured rows
# ("generated" and the real reference, `evaluate_drawings`'s keys) come first; the directions are
# those of `sketchdraw.quality.metrics`' table (which this module cannot import: the quality
# package imports TensorFlow). The rest describe the measurement. Unknown entries show raw, last.
METRIC_NAMES = {
    "fid": MetricName("Fréchet distance (FID, classifier features)", "lower"),
    "kid_mean": MetricName("Kernel distance (KID, classifier features; mean over subsets)", "lower"),
    "kid": MetricName("Kernel distance (KID, classifier features)", "lower"),
    "kid_std": MetricName("Kernel distance's spread over subsets (KID standard deviation)"),
    "cs": MetricName("Classifier score (CS: share recognised as the category)", "higher"),
    "sds": MetricName("Semantic diversity (SDS: spread of the predictions over the categories)", "higher"),
    "gd": MetricName("Diversity (GD: mean feature distance between two drawings)", "real"),
    "memorisation_distance": MetricName(
        "Memorisation (distance to the nearest training drawing; 0: copies)", "real"),
    "memorisation": MetricName("Memorisation (distance to the nearest training drawing; 0: copies)", "real"),
    "swd": MetricName("Sliced Wasserstein distance (SWD, image patches)", "lower"),
    "inception_kid": MetricName("Kernel distance (KID, ImageNet InceptionV3 features)", "lower"),
    "count": MetricName("drawings measured"),
    # the measurement
    "category": MetricName("category"),
    "model": MetricName("model"),
    "epochs": MetricName("epochs trained"),
    "images_seen": MetricName("images seen in training"),
    "training_drawings": MetricName("training drawings"),
    "samples": MetricName("drawings generated per noise draw"),
    "draws": MetricName("noise draws averaged"),
    "truncation": MetricName("noise truncation (0: the plain normal noise)"),
    "seed": MetricName("seed"),
    "generator_epoch": MetricName("epoch of the measured generator (keep_best)"),
    "generator_images_seen": MetricName("images seen by the measured generator (keep_best)"),
    "generator_chosen_by": MetricName("measured generator chosen by"),
    "classifier.key": MetricName("classifier"),
    "classifier.categories": MetricName("classifier's categories"),
    "classifier.held_out_accuracy": MetricName("classifier's accuracy on held-out drawings"),
    "classifier.category_accuracy": MetricName("classifier's accuracy on held-out drawings of the category"),
    "classifier.epochs": MetricName("classifier's training epochs"),
    "evaluated": MetricName("measured at"),
}
BETTER_TEXT = {"lower": "↓ lower is better", "higher": "↑ higher is better",
               "real": "≈ closest to the real drawings is best"}
# The measured rows of metrics.json: the generated drawings, and the real reference measured the
# same way (`sketchdraw.quality.compare.REAL_ROW` is the name `evaluate` writes).
GENERATED_ROW = "generated"
REAL_ROWS = ("real_held_out", "real")
# Columns of history.csv summarised on the run page (others appear in the full epoch table).
HISTORY_SUMMARY = (
    ("generator_loss", "generator loss"),
    ("discriminator_loss", "discriminator loss"),
    ("discriminator_accuracy", "discriminator accuracy"),
    ("discriminator_real_probability", "D(real) mean probability"),
    ("discriminator_fake_probability", "D(fake) mean probability"),
)


# -- what a run folder holds ---------------------------------------------------------------------

@dataclass
class RunSummary:
    """Everything the pages show about one run folder, read once, with every piece optional."""

    root: Path
    config: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # unreadable files, shown on the page
    history: list[dict] = field(default_factory=list)
    frames: list[tuple[int, str]] = field(default_factory=list)  # (epoch, path relative to root)
    metrics: object = None
    plots: list[str] = field(default_factory=list)
    notebooks: list[str] = field(default_factory=list)
    updated: float = 0.0

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def epochs_done(self) -> int:
        epochs = [int(row["epoch"]) for row in self.history if isinstance(row.get("epoch"), int)]
        if epochs:
            return max(epochs)
        return self.frames[-1][0] if self.frames else 0

    @property
    def epochs_planned(self) -> int | None:
        planned = self.config.get("epochs")
        return planned if isinstance(planned, int) and not isinstance(planned, bool) else None

    @property
    def subject(self) -> str:
        """What the run is about: the experiment, and the Quick, Draw! category when it says more."""
        found = [_format_value(self.config[key]) for key in SUBJECT_KEYS
                 if self.config.get(key) not in (None, "", [], {})]
        if not found:
            return ""
        parts = [found[0]]
        category = self.config.get("category")
        if (self.config.get("experiment") and isinstance(category, str) and category not in parts
                and self.config.get("source", "quickdraw") == "quickdraw"):
            parts.append(category)  # a painting run's config may still carry the default category
        return " · ".join(parts)

    @property
    def newest_frame(self) -> str | None:
        return self.frames[-1][1] if self.frames else None

    def has(self, relative: str) -> bool:
        return (self.root / relative).exists()


def read_run(run_dir: str | os.PathLike) -> RunSummary:
    """Read what a run folder holds for the pages; a missing or broken file is noted, never raised."""
    folder = RunFolder(run_dir)
    summary = RunSummary(root=folder.root)
    if folder.config_path.exists():
        try:
            config = folder.load_config()
            if isinstance(config, dict):
                summary.config = config
            else:
                summary.problems.append("config.json does not hold a JSON object")
        except (ValueError, OSError) as error:
            summary.problems.append(str(error))
    try:
        summary.history = folder.read_history()
    except (OSError, ValueError, KeyError, TypeError) as error:  # a half-written CSV must not break the page
        summary.problems.append(f"history.csv could not be read ({error})")
    frames = []
    for path in folder.epoch_images():
        epoch = path.stem.rsplit("_", 1)[-1]
        if epoch.isdigit():  # skips a stray file such as image_at_epoch_final.png
            frames.append((int(epoch), path.relative_to(folder.root).as_posix()))
    summary.frames = sorted(frames)
    if folder.metrics_path.exists():
        try:
            summary.metrics = json.loads(folder.metrics_path.read_text())
        except (ValueError, OSError) as error:
            summary.problems.append(f"metrics.json could not be read ({error})")
    plots = sorted(p.name for p in folder.root.glob("*.png") if p.name != folder.reals_path.name)
    if folder.losses_plot_path.name in plots:  # the loss curves first: they are what people look for
        plots.remove(folder.losses_plot_path.name)
        plots.insert(0, folder.losses_plot_path.name)
    summary.plots = plots
    summary.notebooks = sorted(p.name for p in folder.root.glob("*.ipynb")
                               if not p.name.startswith("."))  # not the one still running
    summary.updated = _last_update(folder)
    return summary


def _last_update(folder: RunFolder) -> float:
    """Newest modification time among the run's own files (the pages themselves do not count)."""
    newest = 0.0
    candidates = [p for p in folder.root.iterdir() if not p.name.startswith(".") and p.name != PAGE_NAME]
    images = folder.epoch_images()
    candidates.extend(images[-1:])
    for path in candidates:
        try:
            newest = max(newest, path.stat().st_mtime)
        except OSError:
            continue
    return newest


def is_run_folder(path: str | os.PathLike) -> bool:
    path = Path(path)
    return path.is_dir() and ((path / "config.json").is_file() or (path / "images").is_dir())


# -- the run's preset ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Preset:
    """A named preset's settings, as its family's `PRESETS` holds them (read-only)."""

    experiment: str
    family: str
    values: dict
    bookkeeping: frozenset = frozenset()  # where the run lives and what a rerun may change


@functools.cache
def find_preset(experiment: str) -> Preset | None:
    """The preset named `experiment` in any family, or None when no family has one by that name.

    The families whose settings file spells the name are asked first: loading a family's settings
    may import TensorFlow (CycleGAN's and Sketch2Img's import their networks), a DCGAN's do not.
    That order only saves time; each family's PRESETS decides."""
    from sketchdraw.families import families

    def spells_it(family) -> bool:
        path = _settings_file(family)
        try:
            text = path.read_text() if path is not None else ""
        except OSError:
            return False
        return f'"{experiment}"' in text or f"'{experiment}'" in text

    for family in sorted(families(), key=lambda family: not spells_it(family)):
        presets = _settings_module(family).PRESETS
        if experiment in presets:
            config = presets.get(experiment)
            bookkeeping = frozenset(getattr(type(config), "RESUMABLE", ())) | {"name"}
            return Preset(experiment, family.name, config.to_dict(), bookkeeping)
    return None


def _settings_file(family) -> Path | None:
    spec = importlib.util.find_spec(family.package)  # imports sketchdraw, not the family's package
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "settings.py"


def _settings_module(family):
    """A family's settings module. Until TensorFlow is imported it is loaded from its file alone,
    under a name of its own: the family's package imports its networks, and so TensorFlow, which a
    page does not need. A settings module that cannot be loaded that way is imported as usual."""
    name = f"{family.package}.settings"
    if name in sys.modules or "tensorflow" in sys.modules:
        return importlib.import_module(name)
    private = f"_sketchdraw_gallery_presets_{family.name}"
    if private in sys.modules:
        return sys.modules[private]
    path = _settings_file(family)
    spec = importlib.util.spec_from_file_location(private, path) if path is not None else None
    if spec is None or spec.loader is None:
        return importlib.import_module(name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[private] = module  # dataclasses looks the module up while making the class
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[private]
        return importlib.import_module(name)
    return module


# -- the pages -----------------------------------------------------------------------------------

def write_run_page(run_dir: str | os.PathLike) -> Path:
    """Write `run_dir/index.html` (atomically) from what the run folder holds now; return its path."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir} is not a run folder (no such directory); "
                         "pass a folder such as runs/rabbit")
    page = run_dir / PAGE_NAME
    atomic_write_text(page, render_run_page(read_run(run_dir)))
    return page


def write_runs_index(runs_dir: str | os.PathLike) -> Path:
    """Write `runs_dir/index.html` (atomically) listing every run folder in it; return its path."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise ValueError(f"{runs_dir} is not a folder of runs (no such directory); "
                         "pass the folder that holds the run folders, such as runs/")
    page = runs_dir / PAGE_NAME
    if page.is_dir():
        raise ValueError(f"{page} is a folder, so the page of all runs cannot be written there "
                         "(a run named index.html?): rename it, e.g. "
                         f"mv {page} {runs_dir / 'index-run'}")
    summaries = [read_run(path) for path in run_folders(runs_dir)]
    atomic_write_text(page, render_runs_index(summaries))
    return page


def publish_pages(run: RunFolder) -> None:
    """Refresh a run's page and the index of all runs beside it (a few milliseconds): after each
    epoch, and after anything that adds to the run folder (metrics.json)."""
    write_run_page(run.root)
    write_runs_index(run.root.parent)


def rebuild_all(runs_dir: str | os.PathLike) -> list[Path]:
    """Rewrite every run's page and the runs index (what `make gallery` calls); return the pages."""
    runs_dir = Path(runs_dir)
    pages = [write_run_page(path) for path in run_folders(runs_dir)]
    pages.append(write_runs_index(runs_dir))
    return pages


def run_folders(runs_dir: str | os.PathLike) -> list[Path]:
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    return sorted(p for p in runs_dir.iterdir() if not p.name.startswith(".") and is_run_folder(p))


def render_run_page(run: RunSummary) -> str:
    title = f"{run.name} · sketchdraw run"
    parts = [_run_header(run), _drawings_section(run), _history_section(run),
             _metrics_section(run), _settings_section(run), _files_section(run)]
    return _document(title, "\n".join(part for part in parts if part))


def render_runs_index(runs: Iterable[RunSummary]) -> str:
    runs = sorted(runs, key=lambda run: run.updated, reverse=True)
    cards = "\n".join(_run_card(run) for run in runs)
    if not runs:
        cards = '<p class="empty">No runs yet. Train one (for example <code>make run CATEGORY=rabbit</code>) and rebuild with <code>make gallery</code>.</p>'
    body = f"""<header class="page-header">
  <h1>sketchdraw runs</h1>
  <p class="subtitle">{len(runs)} run{"" if len(runs) == 1 else "s"} · page written {_esc(_now())}</p>
</header>
<div class="sort-bar js-only" hidden>
  sort by
  <button type="button" data-sort="name">name</button>
  <button type="button" data-sort="epochs">epochs</button>
  <button type="button" data-sort="updated" class="active descending">last update</button>
</div>
<div id="run-cards" class="cards">
{cards}
</div>"""
    return _document("sketchdraw runs", body)


# -- run page sections ---------------------------------------------------------------------------

def _run_header(run: RunSummary) -> str:
    planned = run.epochs_planned
    done = run.epochs_done
    if planned is not None and done < planned:
        status = f'<span class="badge running">{done} of {planned} epochs</span>'
    elif done:
        status = f'<span class="badge done">{done} epoch{"" if done == 1 else "s"}</span>'
    else:
        status = '<span class="badge running">no epochs yet</span>'
    subject = f'<span class="subject">{_esc(run.subject)}</span> · ' if run.subject else ""
    problems = "".join(f'<p class="warning">{_esc(text)}</p>' for text in run.problems)
    return f"""<header class="page-header">
  <nav><a href="../{PAGE_NAME}">&larr; all runs</a></nav>
  <h1>{_esc(run.name)}</h1>
  <p class="subtitle">{subject}{status} · last update {_esc(_time_text(run.updated))}</p>
  {problems}
</header>"""


def _drawings_section(run: RunSummary) -> str:
    if run.frames:
        newest_epoch, newest = run.frames[-1]
        frames_json = json.dumps([{"epoch": epoch, "src": _url(path)} for epoch, path in run.frames])
        # "<" escaped so no file name can close the script element early.
        frames_json = frames_json.replace("<", "\\u003c")
        count = len(run.frames)
        generated = f"""<figure class="generated">
    <a id="epoch-link" href="{_attr(_url(newest))}"><img id="epoch-image" class="grid" src="{_attr(_url(newest))}" alt="generated drawings at epoch {newest_epoch}"></a>
    <figcaption>
      <div class="player js-only" hidden>
        <button type="button" id="epoch-play" aria-label="play">&#9654; play</button>
        <input type="range" id="epoch-slider" min="0" max="{count - 1}" value="{count - 1}" step="1" aria-label="epoch">
      </div>
      <span id="epoch-label">epoch {newest_epoch}</span> · generated from one fixed noise batch
      <span class="no-js">· every epoch's grid is in <a href="images/">images/</a></span>
    </figcaption>
    <script type="application/json" id="epoch-frames">{frames_json}</script>
  </figure>"""
    else:
        generated = '<figure class="generated"><p class="empty">No epoch grids yet: the first one appears after epoch 1.</p></figure>'
    if run.has("reals.png"):
        reals = """<figure class="reals">
    <a href="reals.png"><img class="grid" src="reals.png" alt="real training drawings"></a>
    <figcaption>real training images</figcaption>
  </figure>"""
    else:
        reals = '<figure class="reals"><p class="empty">No reals.png in this run folder.</p></figure>'
    return f"""<section class="drawings">
  <h2>Generated and real</h2>
  <div class="side-by-side">
  {generated}
  {reals}
  </div>
</section>"""


def _history_section(run: RunSummary) -> str:
    rows = []
    history = run.history
    done = run.epochs_done
    planned = run.epochs_planned
    rows.append(("epochs done", f"{done} of {planned}" if planned is not None else str(done)))
    last = history[-1] if history else {}
    for key, label in HISTORY_SUMMARY:
        if _is_number(last.get(key)):
            rows.append((f"last {label}", _format_number(last[key])))
    seconds = [row["seconds"] for row in history if _is_number(row.get("seconds"))]
    if seconds:
        rows.append(("seconds per epoch (mean)", _format_number(sum(seconds) / len(seconds))))
        rows.append(("training time", _duration_text(sum(seconds))))
    if _is_number(last.get("images_per_second")):
        rows.append(("images per second (last epoch)", _format_number(last["images_per_second"])))
    summary = _key_value_table(rows, "history-summary")
    plots = "\n".join(
        f'<figure class="plot"><a href="{_attr(_url(name))}"><img src="{_attr(_url(name))}" '
        f'alt="{_attr(name)}"></a><figcaption>{_esc(name)}</figcaption></figure>'
        for name in run.plots)
    if not history:
        table = '<p class="empty">No history.csv yet: it gains a row at the end of every epoch.</p>'
    else:
        table = f"<details><summary>every epoch ({len(history)} rows)</summary>{_history_table(history)}</details>"
    return f"""<section class="history">
  <h2>Training</h2>
  {summary}
  {table}
  <div class="plots">{plots}</div>
</section>"""


def _history_table(history: list[dict]) -> str:
    columns: list[str] = []
    for row in history:
        columns.extend(key for key in row if key not in columns)
    head = "".join(f"<th>{_esc(column)}</th>" for column in columns)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{_esc(_format_value(row.get(column)))}</td>" for column in columns) + "</tr>"
        for row in history)
    return f'<div class="scroll"><table class="numbers"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _metrics_section(run: RunSummary) -> str:
    if run.metrics is None:
        return ""
    metrics = run.metrics
    if not isinstance(metrics, dict):
        parts = [f"<pre>{_esc(json.dumps(metrics, indent=2))}</pre>"]
    else:
        parts = _metrics_parts(metrics)
    return f"""<section class="metrics">
  <h2>Quality metrics</h2>
  {"".join(parts)}
  <p class="note">from <a href="metrics.json">metrics.json</a></p>
</section>"""


def _metrics_parts(metrics: dict) -> list[str]:
    """The measured rows as one table (full name, which way is better, this run, the real
    drawings), the measurement's facts by name, then whatever else metrics.json holds, raw."""
    rest = dict(metrics)
    generated = rest.pop(GENERATED_ROW, None)
    if not isinstance(generated, dict):  # a flat file: the metrics at the top, "real_<name>" beside
        if generated is not None:
            rest[GENERATED_ROW] = generated
        generated = {key: rest.pop(key) for key in list(rest)
                     if key in METRIC_NAMES and METRIC_NAMES[key].better and _is_number(rest[key])}
    real_row = next((key for key in REAL_ROWS if isinstance(rest.get(key), dict)), None)
    if real_row is not None:
        real = rest.pop(real_row)
    else:
        real = {key: rest.pop(f"real_{key}") for key in generated if f"real_{key}" in rest}
    draws = rest.pop("generated_draws", None)
    parts = []
    if generated or real:
        parts.append(_measured_table(generated, real, real_row))
        if not real:
            parts.append('<p class="note">metrics.json holds no real reference for these numbers.</p>')
    if isinstance(draws, list) and draws and all(isinstance(row, dict) for row in draws):
        parts.append(f'<p class="note">this run: the mean over {len(draws)} noise draws.</p>')
        table = _matrix_table({f"draw {index}": row for index, row in enumerate(draws, 1)})
        parts.append(f"<details><summary>each noise draw ({len(draws)})</summary>{table}</details>")
    elif draws is not None:
        rest["generated_draws"] = draws
    flat = dict(_flatten(rest))
    known = sorted((name for name in flat if name in METRIC_NAMES), key=list(METRIC_NAMES).index)
    if known:
        parts.append(_key_value_table([(METRIC_NAMES[name].label, _format_value(flat[name])) for name in known],
                                      "metrics measurement"))
    unknown = [(name, _format_value(value)) for name, value in flat.items() if name not in METRIC_NAMES]
    if unknown:
        parts.append(_key_value_table(unknown, "metrics other"))
    return parts


def _measured_table(generated: dict, real: dict, real_row: str | None) -> str:
    """One row per metric: its full name and key, which way is better, this run, the real drawings.
    The known metrics first, in `METRIC_NAMES`' order, then the unknown ones by their key."""
    keys = list(generated) + [key for key in real if key not in generated]
    order = list(METRIC_NAMES)
    keys = sorted((key for key in keys if key in METRIC_NAMES), key=order.index) + \
        [key for key in keys if key not in METRIC_NAMES]
    real_heading = "real held-out drawings" if real_row == "real_held_out" else "real drawings"
    head = "<th>metric</th><th>better</th><th>this run</th>" + (f"<th>{real_heading}</th>" if real else "")
    rows = []
    for key in keys:
        known = METRIC_NAMES.get(key)
        if known is not None:
            name = f'{_esc(known.label)} <code>{_esc(key)}</code>'
            better = BETTER_TEXT.get(known.better, "")
            css = f' class="better {known.better}"' if known.better else ' class="better"'
        else:
            name, better, css = f"<code>{_esc(key)}</code>", "", ' class="better"'
        cells = [f"<td>{_esc(_format_value(generated.get(key)))}</td>"]
        if real:
            cells.append(f'<td class="real">{_esc(_format_value(real.get(key)))}</td>')
        rows.append(f'<tr data-metric="{_attr(key)}"><th>{name}</th><td{css}>{_esc(better)}</td>{"".join(cells)}</tr>')
    note = ""
    if real_row == "real_held_out":
        note = ('<p class="note">Real held-out drawings: drawings of the category that neither network '
                "trained on, measured the same way: what each number is read against.</p>")
    elif real:
        note = '<p class="note">Real drawings: measured the same way, what each number is read against.</p>'
    return (f'<div class="scroll"><table class="numbers measured" id="metrics"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>{note}')


def _matrix_table(groups: dict[str, dict]) -> str:
    columns: list[str] = []
    for values in groups.values():
        columns.extend(key for key in values if key not in columns)
    head = "<th></th>" + "".join(f"<th>{_esc(column)}</th>" for column in columns)
    body = "\n".join(
        f"<tr><th>{_esc(name)}</th>"
        + "".join(f"<td>{_esc(_format_value(values.get(column)))}</td>" for column in columns) + "</tr>"
        for name, values in groups.items())
    return f'<div class="scroll"><table class="numbers metrics-matrix"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _settings_section(run: RunSummary) -> str:
    if not run.config:
        return """<section class="settings">
  <h2>Settings</h2>
  <p class="empty">No config.json in this run folder.</p>
</section>"""
    settings = _flatten(run.config)
    experiment = run.config.get("experiment")
    preset, why_not = None, "config.json names no experiment (preset), so nothing is compared"
    if isinstance(experiment, str) and experiment:
        try:
            preset = find_preset(experiment)
            why_not = f"no preset is named {experiment!r} in this sketchdraw, so nothing is compared"
        except Exception as error:  # a broken settings module must not cost the page
            why_not = f"the presets could not be read ({type(error).__name__}: {error}), so nothing is compared"
    if preset is None:
        body = (f'<p class="note">{_esc(why_not)}.</p>\n  <div id="settings">'
                f'{_key_value_table([(name, _format_value(value)) for name, value in settings], "settings")}</div>')
    else:
        body = _settings_against_preset(settings, preset)
    return f"""<section class="settings">
  <h2>Settings</h2>
  {body}
  <p class="note">from <a href="config.json">config.json</a></p>
</section>"""


def _settings_against_preset(settings: list[tuple[str, object]], preset: Preset) -> str:
    """The settings that differ from the preset first, marked, with the preset's value beside (what
    is trained before where the run lives and what a rerun may change); those as in the preset
    folded away under their count."""
    preset_values = dict(_flatten(preset.values))
    changed, same = [], []
    for name, value in settings:
        if name not in preset_values:
            changed.append((name, value, "not a setting of the preset"))
        elif _json_form(value) != _json_form(preset_values[name]):
            changed.append((name, value, f"preset: {_format_value(preset_values[name]) or 'none'}"))
        else:
            same.append((name, value))
    changed.sort(key=lambda row: row[0] in preset.bookkeeping)
    count = len(changed)
    summary = (f"{count} setting{'' if count == 1 else 's'} differ{'s' if count == 1 else ''} from the preset"
               if count else "every setting as in the preset")
    line = (f'<p class="preset-line">preset <strong>{_esc(preset.experiment)}</strong> '
            f'({_esc(preset.family)}) · {summary}</p>')
    parts = []
    if changed:
        rows = "\n".join(
            f'<tr class="changed{" bookkeeping" if name in preset.bookkeeping else ""}" '
            f'title="differs from the preset"><th>{_esc(name)}</th>'
            f'<td>{_esc(_format_value(value))}</td><td class="preset-value">{_esc(note)}</td></tr>'
            for name, value, note in changed)
        parts.append(f'<table class="key-value settings changed-settings"><tbody>{rows}</tbody></table>')
    if same:
        label = f"{len(same)} setting{'' if len(same) == 1 else 's'} as in the preset"
        parts.append(f'<details class="same-settings"><summary>{_esc(label)}</summary>'
                     f'{_key_value_table([(name, _format_value(value)) for name, value in same], "settings")}'
                     "</details>")
    return line + '\n  <div id="settings">' + "".join(parts) + "</div>"


def _json_form(value):
    """A value as config.json holds it (tuples as lists), so a saved value compares with the preset's."""
    return json.loads(json.dumps(value, default=str))


def _files_section(run: RunSummary) -> str:
    links = []

    def add(relative: str, label: str, missing: str | None = None) -> None:
        if run.has(relative):
            links.append(f'<li><a href="{_attr(_url(relative))}">{_esc(label)}</a></li>')
        elif missing:
            links.append(f'<li class="missing">{_esc(label)}: {_esc(missing)}</li>')

    add("progress.gif", "progress.gif (every epoch as an animation)", "not made yet (written at the end of the run)")
    for name in run.notebooks:
        add(name, f"{name} (the executed notebook)")
    add("history.csv", "history.csv (one row per epoch)", "no epochs finished yet")
    add("checkpoints/", "checkpoints/ (resume from here)", "none yet")
    add("generator.keras", "generator.keras (the trained generator)")
    add("best.json", "best.json (keep_best: which measured epoch generator.keras is, and why)")
    add("generator_last.keras", "generator_last.keras (keep_best: the last epoch's generator)")
    add("generators/", "generators/ (keep_best: every measured epoch's generator)")
    add("config.json", "config.json (the settings)")
    add("metrics.json", "metrics.json (quality metrics)")
    add("images/", "images/ (every epoch's grid)")
    return f"""<section class="files">
  <h2>Files</h2>
  <ul class="links">{"".join(links)}</ul>
</section>"""


# -- runs index ----------------------------------------------------------------------------------

def _run_card(run: RunSummary) -> str:
    base = urllib.parse.quote(run.name)
    newest = run.newest_frame
    if newest:
        thumbnail = f'<img class="grid" src="{_attr(base + "/" + _url(newest))}" alt="newest grid of {_attr(run.name)}">'
    elif run.has("reals.png"):
        thumbnail = f'<img class="grid" src="{_attr(base + "/reals.png")}" alt="real drawings of {_attr(run.name)}">'
    else:
        thumbnail = '<div class="no-thumbnail">no grid yet</div>'
    planned = run.epochs_planned
    epochs = f"{run.epochs_done} of {planned} epochs" if planned is not None and run.epochs_done < planned \
        else f"{run.epochs_done} epoch{'' if run.epochs_done == 1 else 's'}"
    metrics = "".join(f"<li><span>{_esc(name)}</span> {_esc(_format_number(value))}</li>"
                      for name, value in headline_metrics(run.metrics))
    metrics_list = f'<ul class="headline">{metrics}</ul>' if metrics else ""
    subject = f'<p class="subject">{_esc(run.subject)}</p>' if run.subject else ""
    return f"""<article class="card" data-name="{_attr(run.name.lower())}" data-epochs="{run.epochs_done}" data-updated="{run.updated:.0f}">
  <a class="card-link" href="{_attr(base)}/{PAGE_NAME}">
    {thumbnail}
    <h2>{_esc(run.name)}</h2>
  </a>
  {subject}
  <p class="facts">{_esc(epochs)} · {_esc(_time_text(run.updated))}</p>
  {metrics_list}
</article>"""


def headline_metrics(metrics, limit: int = 4) -> list[tuple[str, float]]:
    """A few numbers from metrics.json worth a card: FID, KID, CS, GD, SDS of the generated drawings
    first (not the real-drawings reference), else the first numbers found."""
    if not isinstance(metrics, dict):
        return []
    numbers = [(name, value) for name, value in _flatten(metrics) if _is_number(value)]
    reference_words = ("real", "reference", "held_out", "heldout")

    def is_reference(name: str) -> bool:
        return any(word in part for part in name.lower().split(".") for word in reference_words)

    def short(name: str) -> str:
        parts = [part for part in name.split(".") if part.lower() not in ("generated", "fake", "samples")]
        return ".".join(parts) or name

    chosen = []
    for wanted in HEADLINE_METRICS:
        for name, value in numbers:
            last = name.lower().split(".")
            if wanted in last and not is_reference(name) and name not in [c[0] for c in chosen]:
                chosen.append((name, value))
                break
    if not chosen:
        chosen = [(name, value) for name, value in numbers if not is_reference(name)]
    return [(short(name), value) for name, value in chosen[:limit]]


# -- HTML helpers --------------------------------------------------------------------------------

def _document(title: str, body: str) -> str:
    style = (ASSETS_DIR / "style.css").read_text()
    script = (ASSETS_DIR / "gallery.js").read_text()
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="sketchdraw.gallery">
<title>{_esc(title)}</title>
<style>
{style}
</style>
</head>
<body>
<main>
{body}
<footer>Written by sketchdraw at {_esc(_now())}; reload to see newer epochs. All links are relative: the folder can be zipped or moved.</footer>
</main>
<script>
{script}
</script>
</body>
</html>
"""


def _key_value_table(rows: list[tuple[str, str]], css_class: str, table_id: str | None = None) -> str:
    identifier = f' id="{table_id}"' if table_id else ""
    body = "\n".join(f"<tr><th>{_esc(name)}</th><td>{_esc(value)}</td></tr>" for name, value in rows)
    return f'<table class="key-value {css_class}"{identifier}><tbody>{body}</tbody></table>'


def _flatten(mapping: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(_flatten(value, name + "."))
        else:
            rows.append((name, value))
    return rows


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _format_number(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)


def _format_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _format_number(value)
    if isinstance(value, list) and all(isinstance(item, (str, int, float)) for item in value):
        return ", ".join(_format_value(item) for item in value)
    return json.dumps(value)


def _url(relative: str) -> str:
    """A relative URL for a path inside the run folder (spaces and odd characters quoted)."""
    return urllib.parse.quote(relative)


def _esc(text: str) -> str:
    return html.escape(str(text), quote=False)


def _attr(text: str) -> str:
    return html.escape(str(text), quote=True)


def _now() -> str:
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M")


def _time_text(timestamp: float) -> str:
    if not timestamp:
        return "unknown"
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def _duration_text(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"
