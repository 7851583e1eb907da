"""studies/conditioning.py: settings of a class-conditional run compared from their metrics.json."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "studies" / "conditioning.py"
_spec = importlib.util.spec_from_file_location("conditioning_study", SCRIPT)
study = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(study)


def measured_run(folder: Path, cs: dict, images_seen: int = 1000, kid: float = 1.0) -> str:
    """A run folder whose metrics.json holds what `make evaluate` writes for a conditional run:
    each category's rows (real CS 0.8), their summary and the mean generated row."""
    def row(value):
        return {"cs": value, "kid_mean": kid, "memorisation_distance": 5.0, "gd": 8.0}

    per = {name: {"generated": row(value), "real_held_out": row(0.8)} for name, value in cs.items()}
    ratios = {name: value / 0.8 for name, value in cs.items()}
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({
        "per_category": per, "images_seen": images_seen, "generated": row(sum(cs.values()) / len(cs)),
        "summary": {"cs_over_real_mean": sum(ratios.values()) / len(ratios),
                    "cs_over_real_lowest": min(ratios.values()),
                    "below_half": [name for name, value in ratios.items() if value < 0.5]},
        "sds": {"generated": 1.0, "real_held_out": 1.05, "most": 1.0986}}))
    return str(folder)


def test_settings_are_summarised_over_their_seeds_and_compared_per_category(tmp_path):
    a0 = measured_run(tmp_path / "a0", {"cat": 0.2, "dog": 0.4, "bee": 0.8})
    a1 = measured_run(tmp_path / "a1", {"cat": 0.4, "dog": 0.4, "bee": 0.8}, kid=3.0)
    b0 = measured_run(tmp_path / "b0", {"cat": 0.6, "dog": 0.2, "bee": 0.8})
    output = tmp_path / "table.md"
    assert study.main(["a=" + ",".join([a0, a1]), f"b={b0}", "--write", str(output)]) == 0
    table = output.read_text()
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines() if line.startswith("| ")}
    # a: ratios (0.25, 0.5, 1) and (0.5, 0.5, 1): means 0.583 and 0.667; 2 then 3 reach 0.5
    assert "| a | 2 | 1,000 | 0.625 ± 0.059 | 2.5 ± 0.7 | 0.375 ± 0.177 | 1.000 ± 0.000 | 2.000 ± 1.414 |" in rows["a"]
    assert "| b | 1 | 1,000 | 0.667 | 2.0 | 0.250 |" in rows["b"]
    assert rows["cat"] == "| cat | 0.800 | 0.38 | **0.75** |"  # the better setting in bold
    assert rows["bee"] == "| bee | 0.800 | 1.00 | 1.00 |"  # a tie marks neither


def test_runs_that_cannot_be_compared_are_refused_by_name(tmp_path):
    short = measured_run(tmp_path / "short", {"cat": 0.2, "dog": 0.4}, images_seen=500)
    full = measured_run(tmp_path / "full", {"cat": 0.2, "dog": 0.4})
    other = measured_run(tmp_path / "other", {"cat": 0.2, "bee": 0.4})
    with pytest.raises(SystemExit, match="different images seen"):
        study.main([f"a={short},{full}"])
    with pytest.raises(SystemExit, match="other measured other categories"):
        study.main([f"a={full}", f"b={other}"])
    (tmp_path / "unmeasured").mkdir()
    with pytest.raises(SystemExit, match="make evaluate RUN="):
        study.main([f"a={tmp_path / 'unmeasured'}"])
