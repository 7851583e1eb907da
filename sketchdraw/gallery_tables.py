"""The run page's tables of numbers and settings: each quality metric by its full name with which
way is better and the real drawings' number beside it (`METRIC_NAMES`), the few numbers a run's card
shows (`headline_metrics`), and the settings that differ from the run's preset. HTML fragments only:
the page around them is `gallery`'s."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sketchdraw.gallery_format import (
    escape_attribute,
    escape_html,
    flatten,
    format_value,
    is_number,
    key_value_table,
)

# -- quality metrics -----------------------------------------------------------------------------

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
    "near_copies": MetricName(
        "Near copies (share nearer a training item than 95% of the held-out ones are)", "real"),
    "swd": MetricName("Sliced Wasserstein distance (SWD, image patches)", "lower"),
    "coverage": MetricName("Coverage (share of held-out items with a generated one among their neighbours)", "higher"),
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


def headline_metrics(metrics, limit: int = 4) -> list[tuple[str, float]]:
    """A few numbers from metrics.json worth a card: FID, KID, CS, GD, SDS of the generated drawings
    first (not the real-drawings reference), else the first numbers found."""
    if not isinstance(metrics, dict):
        return []
    numbers = [(name, value) for name, value in flatten(metrics) if is_number(value)]
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


def metrics_parts(metrics: dict) -> list[str]:
    """The measured rows as one table (full name, which way is better, this run, the real
    drawings), the measurement's facts by name, then whatever else metrics.json holds, raw."""
    rest = dict(metrics)
    generated = rest.pop(GENERATED_ROW, None)
    if not isinstance(generated, dict):  # a flat file: the metrics at the top, "real_<name>" beside
        if generated is not None:
            rest[GENERATED_ROW] = generated
        generated = {key: rest.pop(key) for key in list(rest)
                     if key in METRIC_NAMES and METRIC_NAMES[key].better and is_number(rest[key])}
    real_row = next((key for key in REAL_ROWS if isinstance(rest.get(key), dict)), None)
    if real_row is not None:
        real = rest.pop(real_row)
    else:
        real = {key: rest.pop(f"real_{key}") for key in generated if f"real_{key}" in rest}
    draws = rest.pop("generated_draws", None)
    per_category = rest.pop("per_category", None)
    bars = rest.pop("intervals", None)
    bars = bars if isinstance(bars, dict) else {}
    parts = []
    if generated or real:
        parts.append(_measured_table(generated, real, real_row, bars))
        if not real:
            parts.append('<p class="note">metrics.json holds no real reference for these numbers.</p>')
    if isinstance(draws, list) and draws and all(isinstance(row, dict) for row in draws):
        parts.append(f'<p class="note">this run: the mean over {len(draws)} noise draws.</p>')
        table = _matrix_table({f"draw {index}": row for index, row in enumerate(draws, 1)})
        parts.append(f"<details><summary>each noise draw ({len(draws)})</summary>{table}</details>")
    elif draws is not None:
        rest["generated_draws"] = draws
    if isinstance(per_category, dict) and per_category and all(isinstance(entry, dict) for entry in per_category.values()):
        parts.append(f"<details open><summary>each category ({len(per_category)}): this run beside the "
                     f"category's real held-out drawings</summary>{_category_table(per_category, real_row)}</details>")
    elif per_category is not None:
        rest["per_category"] = per_category
    flat = dict(flatten(rest))
    known = sorted((name for name in flat if name in METRIC_NAMES), key=list(METRIC_NAMES).index)
    if known:
        parts.append(key_value_table([(METRIC_NAMES[name].label, format_value(flat[name])) for name in known],
                                     "metrics measurement"))
    unknown = [(name, format_value(value)) for name, value in flat.items() if name not in METRIC_NAMES]
    if unknown:
        parts.append(key_value_table(unknown, "metrics other"))
    return parts


def _with_interval(value, interval) -> str:
    """A number, and its 95% interval in brackets where metrics.json has one."""
    text = format_value(value)
    if isinstance(interval, list) and len(interval) == 2 and all(is_number(bound) for bound in interval):
        text += f" [{interval[0]:.3g}, {interval[1]:.3g}]"
    return text


def _measured_table(generated: dict, real: dict, real_row: str | None, bars: dict | None = None) -> str:
    """One row per metric: its full name and key, which way is better, this run, the real drawings,
    each number with its 95% bootstrap interval where `bars` (metrics.json's "intervals") has one.
    The known metrics first, in `METRIC_NAMES`' order, then the unknown ones by their key."""
    bars = bars or {}
    generated_bars = bars.get(GENERATED_ROW) if isinstance(bars.get(GENERATED_ROW), dict) else {}
    real_bars = bars.get(real_row) if real_row and isinstance(bars.get(real_row), dict) else {}
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
            name = f'{escape_html(known.label)} <code>{escape_html(key)}</code>'
            better = BETTER_TEXT.get(known.better, "")
            css = f' class="better {known.better}"' if known.better else ' class="better"'
        else:
            name, better, css = f"<code>{escape_html(key)}</code>", "", ' class="better"'
        cells = [f"<td>{escape_html(_with_interval(generated.get(key), generated_bars.get(key)))}</td>"]
        if real:
            cells.append(f'<td class="real">{escape_html(_with_interval(real.get(key), real_bars.get(key)))}</td>')
        rows.append(f'<tr data-metric="{escape_attribute(key)}"><th>{name}</th><td{css}>{escape_html(better)}</td>{"".join(cells)}</tr>')
    note = ""
    if real_row == "real_held_out":
        note = ('<p class="note">Real held-out drawings: drawings of the category that neither network '
                "trained on, measured the same way: what each number is read against.</p>")
    if generated_bars or real_bars:
        note += ('<p class="note">In brackets: the 95% bootstrap interval (generated, real and training '
                 "drawings redrawn; see the README's Metrics).</p>")
    elif real:
        note = '<p class="note">Real drawings: measured the same way, what each number is read against.</p>'
    return (f'<div class="scroll"><table class="numbers measured" id="metrics"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>{note}')


def _category_table(per_category: dict, real_row: str | None) -> str:
    """A class-conditional run's categories, a row each: each metric, then the real drawings'."""
    real_key = real_row or REAL_ROWS[0]
    rows = {}
    for name, entry in per_category.items():
        generated = entry.get(GENERATED_ROW) if isinstance(entry.get(GENERATED_ROW), dict) else {}
        real = entry.get(real_key) if isinstance(entry.get(real_key), dict) else {}
        rows[name] = {label: row.get(key) for key in ("cs", "kid_mean", "gd", "memorisation_distance")
                      for label, row in ((key, generated), (f"real {key}", real))}
    return _matrix_table(rows)


def _matrix_table(groups: dict[str, dict]) -> str:
    columns: list[str] = []
    for values in groups.values():
        columns.extend(key for key in values if key not in columns)
    head = "<th></th>" + "".join(f"<th>{escape_html(column)}</th>" for column in columns)
    body = "\n".join(
        f"<tr><th>{escape_html(name)}</th>"
        + "".join(f"<td>{escape_html(format_value(values.get(column)))}</td>" for column in columns) + "</tr>"
        for name, values in groups.items())
    return f'<div class="scroll"><table class="numbers metrics-matrix"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


# -- settings ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Preset:
    """A named preset's settings, as its family's `PRESETS` holds them (read-only): what
    `gallery.find_preset` finds and the settings table compares a run's settings against."""

    experiment: str
    family: str
    values: dict
    bookkeeping: frozenset = frozenset()  # where the run lives and what a rerun may change


def settings_against_preset(settings: list[tuple[str, object]], preset: Preset) -> str:
    """The settings that differ from the preset first, marked, with the preset's value beside (what
    is trained before where the run lives and what a rerun may change); those as in the preset
    folded away under their count."""
    preset_values = dict(flatten(preset.values))
    changed, same = [], []
    for name, value in settings:
        if name not in preset_values:
            changed.append((name, value, "not a setting of the preset"))
        elif _json_form(value) != _json_form(preset_values[name]):
            changed.append((name, value, f"preset: {format_value(preset_values[name]) or 'none'}"))
        else:
            same.append((name, value))
    changed.sort(key=lambda row: row[0] in preset.bookkeeping)
    count = len(changed)
    summary = (f"{count} setting{'' if count == 1 else 's'} differ{'s' if count == 1 else ''} from the preset"
               if count else "every setting as in the preset")
    line = (f'<p class="preset-line">preset <strong>{escape_html(preset.experiment)}</strong> '
            f'({escape_html(preset.family)}) · {summary}</p>')
    parts = []
    if changed:
        rows = "\n".join(
            f'<tr class="changed{" bookkeeping" if name in preset.bookkeeping else ""}" '
            f'title="differs from the preset"><th>{escape_html(name)}</th>'
            f'<td>{escape_html(format_value(value))}</td><td class="preset-value">{escape_html(note)}</td></tr>'
            for name, value, note in changed)
        parts.append(f'<table class="key-value settings changed-settings"><tbody>{rows}</tbody></table>')
    if same:
        label = f"{len(same)} setting{'' if len(same) == 1 else 's'} as in the preset"
        parts.append(f'<details class="same-settings"><summary>{escape_html(label)}</summary>'
                     f'{key_value_table([(name, format_value(value)) for name, value in same], "settings")}'
                     "</details>")
    return line + '\n  <div id="settings">' + "".join(parts) + "</div>"


def _json_form(value):
    """A value as config.json holds it (tuples as lists), so a saved value compares with the preset's."""
    return json.loads(json.dumps(value, default=str))
