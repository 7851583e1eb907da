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
number beside it; each setting that differs from the run's preset (`find_preset`) comes first,
marked, the rest folded away: those tables are `gallery_tables`'. This module knows nothing about
TensorFlow: it reads a DCGAN preset without it; only a preset of a family whose settings import
TensorFlow (CycleGAN, Sketch2Img) or an unknown experiment name makes the first page that needs it
import TensorFlow.
"""

from __future__ import annotations

import datetime
import functools
import importlib
import importlib.util
import json
import os
import sys
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sketchdraw.artifacts import RunFolder
from sketchdraw.atomicfiles import atomic_write_text
from sketchdraw.gallery_format import (
    escape_attribute,
    escape_html,
    flatten,
    format_number,
    format_value,
    is_number,
    key_value_table,
    time_text,
)
from sketchdraw.gallery_tables import (
    Preset,
    headline_metrics,
    metrics_parts,
    settings_against_preset,
)

ASSETS_DIR = Path(__file__).with_name("gallery_assets")
PAGE_NAME = "index.html"

# Settings that say what a run is about, shown under its name and on its card (first found wins).
SUBJECT_KEYS = ("experiment", "category", "categories", "painting_set", "dataset", "source")
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
        found = [format_value(self.config[key]) for key in SUBJECT_KEYS
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
  <p class="subtitle">{len(runs)} run{"" if len(runs) == 1 else "s"} · page written {escape_html(_now())}</p>
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
    subject = f'<span class="subject">{escape_html(run.subject)}</span> · ' if run.subject else ""
    problems = "".join(f'<p class="warning">{escape_html(text)}</p>' for text in run.problems)
    return f"""<header class="page-header">
  <nav><a href="../{PAGE_NAME}">&larr; all runs</a></nav>
  <h1>{escape_html(run.name)}</h1>
  <p class="subtitle">{subject}{status} · last update {escape_html(time_text(run.updated))}</p>
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
    <a id="epoch-link" href="{escape_attribute(_url(newest))}"><img id="epoch-image" class="grid" src="{escape_attribute(_url(newest))}" alt="generated drawings at epoch {newest_epoch}"></a>
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
        if is_number(last.get(key)):
            rows.append((f"last {label}", format_number(last[key])))
    seconds = [row["seconds"] for row in history if is_number(row.get("seconds"))]
    if seconds:
        rows.append(("seconds per epoch (mean)", format_number(sum(seconds) / len(seconds))))
        rows.append(("training time", _duration_text(sum(seconds))))
    if is_number(last.get("images_per_second")):
        rows.append(("images per second (last epoch)", format_number(last["images_per_second"])))
    summary = key_value_table(rows, "history-summary")
    plots = "\n".join(
        f'<figure class="plot"><a href="{escape_attribute(_url(name))}"><img src="{escape_attribute(_url(name))}" '
        f'alt="{escape_attribute(name)}"></a><figcaption>{escape_html(name)}</figcaption></figure>'
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
    head = "".join(f"<th>{escape_html(column)}</th>" for column in columns)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{escape_html(format_value(row.get(column)))}</td>" for column in columns) + "</tr>"
        for row in history)
    return f'<div class="scroll"><table class="numbers"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _metrics_section(run: RunSummary) -> str:
    if run.metrics is None:
        return ""
    metrics = run.metrics
    if not isinstance(metrics, dict):
        parts = [f"<pre>{escape_html(json.dumps(metrics, indent=2))}</pre>"]
    else:
        parts = metrics_parts(metrics)
    return f"""<section class="metrics">
  <h2>Quality metrics</h2>
  {"".join(parts)}
  <p class="note">from <a href="metrics.json">metrics.json</a></p>
</section>"""


def _settings_section(run: RunSummary) -> str:
    if not run.config:
        return """<section class="settings">
  <h2>Settings</h2>
  <p class="empty">No config.json in this run folder.</p>
</section>"""
    settings = flatten(run.config)
    experiment = run.config.get("experiment")
    preset, why_not = None, "config.json names no experiment (preset), so nothing is compared"
    if isinstance(experiment, str) and experiment:
        try:
            preset = find_preset(experiment)
            why_not = f"no preset is named {experiment!r} in this sketchdraw, so nothing is compared"
        except Exception as error:  # a broken settings module must not cost the page
            why_not = f"the presets could not be read ({type(error).__name__}: {error}), so nothing is compared"
    if preset is None:
        body = (f'<p class="note">{escape_html(why_not)}.</p>\n  <div id="settings">'
                f'{key_value_table([(name, format_value(value)) for name, value in settings], "settings")}</div>')
    else:
        body = settings_against_preset(settings, preset)
    return f"""<section class="settings">
  <h2>Settings</h2>
  {body}
  <p class="note">from <a href="config.json">config.json</a></p>
</section>"""


def _files_section(run: RunSummary) -> str:
    links = []

    def add(relative: str, label: str, missing: str | None = None) -> None:
        if run.has(relative):
            links.append(f'<li><a href="{escape_attribute(_url(relative))}">{escape_html(label)}</a></li>')
        elif missing:
            links.append(f'<li class="missing">{escape_html(label)}: {escape_html(missing)}</li>')

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
        thumbnail = f'<img class="grid" src="{escape_attribute(base + "/" + _url(newest))}" alt="newest grid of {escape_attribute(run.name)}">'
    elif run.has("reals.png"):
        thumbnail = f'<img class="grid" src="{escape_attribute(base + "/reals.png")}" alt="real drawings of {escape_attribute(run.name)}">'
    else:
        thumbnail = '<div class="no-thumbnail">no grid yet</div>'
    planned = run.epochs_planned
    epochs = f"{run.epochs_done} of {planned} epochs" if planned is not None and run.epochs_done < planned \
        else f"{run.epochs_done} epoch{'' if run.epochs_done == 1 else 's'}"
    metrics = "".join(f"<li><span>{escape_html(name)}</span> {escape_html(format_number(value))}</li>"
                      for name, value in headline_metrics(run.metrics))
    metrics_list = f'<ul class="headline">{metrics}</ul>' if metrics else ""
    subject = f'<p class="subject">{escape_html(run.subject)}</p>' if run.subject else ""
    return f"""<article class="card" data-name="{escape_attribute(run.name.lower())}" data-epochs="{run.epochs_done}" data-updated="{run.updated:.0f}">
  <a class="card-link" href="{escape_attribute(base)}/{PAGE_NAME}">
    {thumbnail}
    <h2>{escape_html(run.name)}</h2>
  </a>
  {subject}
  <p class="facts">{escape_html(epochs)} · {escape_html(time_text(run.updated))}</p>
  {metrics_list}
</article>"""


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
<title>{escape_html(title)}</title>
<style>
{style}
</style>
</head>
<body>
<main>
{body}
<footer>Written by sketchdraw at {escape_html(_now())}; reload to see newer epochs. All links are relative: the folder can be zipped or moved.</footer>
</main>
<script>
{script}
</script>
</body>
</html>
"""


def _url(relative: str) -> str:
    """A relative URL for a path inside the run folder (spaces and odd characters quoted)."""
    return urllib.parse.quote(relative)


def _now() -> str:
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M")


def _duration_text(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"
