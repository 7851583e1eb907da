"""studies/painting_judge_probes.py: the probes are what they say, made of the real paintings, and
the table gives each probe's mean and spread for each judge."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from sketchdraw import paintings

SCRIPT = Path(__file__).resolve().parents[1] / "studies" / "painting_judge_probes.py"
_spec = importlib.util.spec_from_file_location("painting_judge_probes", SCRIPT)
probes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(probes)


@pytest.fixture(scope="module")
def split(shared_data):
    found = paintings.load_painting_folder(shared_data / "wikiart" / "vangogh", progress=False)
    training, held_out = paintings.split_held_out(found, 0.1)
    return found.images[training], found.images[held_out]


def test_each_probe_is_as_large_as_the_held_out_set_and_made_of_real_paintings(split):
    training, held_out = split
    sets = probes.probe_sets(held_out, training, draw=0)
    assert all(images.shape == held_out.shape and images.dtype == np.uint8 for images in sets.values())
    one = sets["one painting, repeated"]
    assert (one == one[0]).all() and any(np.array_equal(one[0], painting) for painting in training)
    four = sets["four paintings, repeated"]
    assert len(np.unique(four.reshape(len(four), -1), axis=0)) == 4
    assert not np.array_equal(sets["checkerboard on held-out"], held_out)
    again = probes.probe_sets(held_out, training, draw=0)
    assert all(np.array_equal(again[name], sets[name]) for name in sets)  # a draw is reproducible
    other = probes.probe_sets(held_out, training, draw=1)
    assert not np.array_equal(other["real: training paintings"], sets["real: training paintings"])


def test_the_table_gives_mean_and_spread_per_judge():
    draws = [{"kid": 1.0, "recognised": 0.5, "gd": 2.0, "coverage": 0.25},
             {"kid": 3.0, "recognised": 0.5, "gd": 2.0, "coverage": 0.75}]
    results = {"a": {"probe": draws, "real": draws[:1]}, "b": {"probe": draws[::-1], "real": draws[1:]}}
    table = probes.format_table(results)
    assert "| probe | a: KID | recognised | GD | coverage | b: KID | recognised | GD | coverage |" in table
    assert "| --- | --- | --- | --- | --- | --- | --- | --- | --- |" in table
    assert "| probe | 2.000 ± 1.414 | 0.500 ± 0.000 | 2.000 ± 0.000 | 0.500 ± 0.354 | 2.000 ± 1.414 |" in table
    assert "| real | 1.000 | 0.500 | 2.000 | 0.250 | 3.000 | 0.500 | 2.000 | 0.750 |" in table  # one draw: no spread


@pytest.mark.parametrize("argv, message", [(["--draws", "1"], "at least 2"), (["--data", "/nonexistent"], "not a folder")])
def test_bad_arguments_are_refused_before_any_judge_is_trained(argv, message, capsys):
    with pytest.raises(SystemExit):
        probes.main(argv)
    assert message in capsys.readouterr().err
