"""How the gallery pages write a value: escaped HTML, numbers, times, nested settings flattened
to dotted names, and the two-column table they all use. Shared by the page builder (`gallery`),
its metrics and settings tables (`gallery_tables`) and `sketchdraw list runs`."""

from __future__ import annotations

import datetime
import html
import json
import math


def key_value_table(rows: list[tuple[str, str]], css_class: str, table_id: str | None = None) -> str:
    """Rows of (name, text) as a two-column table, both escaped."""
    identifier = f' id="{table_id}"' if table_id else ""
    body = "\n".join(f"<tr><th>{escape_html(name)}</th><td>{escape_html(value)}</td></tr>" for name, value in rows)
    return f'<table class="key-value {css_class}"{identifier}><tbody>{body}</tbody></table>'


def flatten(mapping: dict, prefix: str = "") -> list[tuple[str, object]]:
    """Nested dicts as (dotted.name, value) rows, in their order; an empty dict stays a value."""
    rows = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(flatten(value, name + "."))
        else:
            rows.append((name, value))
    return rows


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def format_number(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)


def format_value(value) -> str:
    """A value as one cell's text: None empty, numbers short, a flat list comma-joined, else JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value)
    if isinstance(value, list) and all(isinstance(item, (str, int, float)) for item in value):
        return ", ".join(format_value(item) for item in value)
    return json.dumps(value)


def escape_html(text: str) -> str:
    return html.escape(str(text), quote=False)


def escape_attribute(text: str) -> str:
    return html.escape(str(text), quote=True)


def time_text(timestamp: float) -> str:
    if not timestamp:
        return "unknown"
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")

