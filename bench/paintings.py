"""Section 11: what a painting run's networks cost, through the project's own step.

On the same real Van Gogh paintings, the train step `dcgan.train` builds (DiffAugment, smoothed
or noisy labels as the preset sets them, the generator average, the decoders' loss where the
model has them) for:
- the ladder's fifth rung (seed 004's `wikiart64` networks, resizing, DiffAugment, batch 16,
  average 0.99), at 64x64;
- `vangogh_small` (the few-shot `fastgan64` pair), at 64x64;
- `vangogh_small` with `image_size=128`.
Images/s of each, as ratios to the fifth rung measured in the same interleaved rounds; the last
row turns the 128x128 ratio into the length of a 91-epoch run, from the 64x64 preset's measured
run time on this kind of machine.

    python bench/paintings.py [--quick]        # alone, or as part of bench/run.py
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO_ROOT, Contestant, Row, interleave, median, round_ratios, spread  # noqa: E402

SECTION = "11 paintings"
DATA_ENVIRONMENT = "SKETCHDRAW_VANGOGH_FOLDER"
PAINTINGS = 64  # real paintings decoded per size: enough for distinct batches, quick to load
# vangogh_small's 91 epochs on 2 CPU cores, measured by studies/painting_recipe.py (train s of
# seeds 0 and 1: 4,585 and 5,115): the 128x128 estimate scales their mean.
VANGOGH_SMALL_SECONDS = 4850


@dataclass(frozen=True)
class Budget:
    rounds: int
    steps: int
    warm_up: int


FULL = Budget(rounds=3, steps=12, warm_up=4)
QUICK = Budget(rounds=1, steps=3, warm_up=2)  # checks that every contestant runs; rough figures

# (name, preset, settings changed from it)
CONTESTANTS = (
    ("fifth rung (wikiart64), 64x64", "vangogh_small", dict(model="wikiart64", reconstruction_weight=0.0)),
    ("vangogh_small (fastgan64), 64x64", "vangogh_small", {}),
    ("vangogh_small (fastgan64), 128x128", "vangogh_small", dict(image_size=128)),
)


def vangogh_folder() -> Path:
    configured = os.environ.get(DATA_ENVIRONMENT)
    folder = Path(configured) if configured else REPO_ROOT.parent / "shared" / "data" / "wikiart" / "vangogh"
    if not folder.is_dir():
        raise SystemExit(f"section 11 needs real paintings: {folder} is not a folder; set "
                         f"{DATA_ENVIRONMENT} to a folder of Van Gogh paintings")
    return folder


def contestant(name: str, preset: str, changes: dict, folder: Path) -> Contestant:
    """The run's own networks, optimizers, average and step, built as `make run` builds them."""
    from sketchdraw import dcgan, skeleton
    from sketchdraw.dcgan.run import DCGANRun
    from sketchdraw.scaling import Devices

    config = dcgan.resolve(preset, data=str(folder), limit=PAINTINGS, progress=False, **changes)
    skeleton.keras_seed(config.seed)
    family = DCGANRun(config)
    family.devices = Devices.from_settings(config)
    family.load_data()
    family.build(run=None)  # building writes nothing to the run folder
    step = family.steps["both"]
    batches = iter(family.devices.strategy.experimental_distribute_dataset(family.dataset))

    def run(steps: int) -> int:
        statistics = None
        for _ in range(steps):
            statistics = step(next(batches))
        float(statistics["generator_loss"])  # wait for the device before the clock stops
        return steps * config.batch_size

    return Contestant(name, run)


def measure(budget: Budget = FULL, log: Callable[[str], None] = print) -> list[Row]:
    folder = vangogh_folder()
    contestants = [contestant(name, preset, changes, folder) for name, preset, changes in CONTESTANTS]
    log(f"section 11, painting networks: {budget.rounds} rounds of {budget.steps} batches of 16")
    interleave(contestants, budget.rounds, budget.steps, budget.warm_up, log)
    fifth = contestants[0]
    rows = []
    for entry in contestants:
        ratios = round_ratios(entry, fifth)
        rows.append(Row(SECTION, f"{entry.name}: images/s; / fifth rung", f"{median(entry.rates):,.1f}; "
                        f"{median(ratios):.2f}x", notes=f"per-round ratios {spread(ratios)}"))
    at_64, at_128 = contestants[1], contestants[2]
    slower = median(round_ratios(at_64, at_128))
    hours = VANGOGH_SMALL_SECONDS * slower / 3600
    rows.append(Row(SECTION, "vangogh_small at 128x128: 91 epochs on 2 CPU cores, estimated",
                    f"{hours:.1f} h ({slower:.2f}x the 64x64 run)",
                    notes=f"the 64x64 run's measured {VANGOGH_SMALL_SECONDS / 3600:.2f} h x the 64/128 "
                          f"images/s ratio of these rounds"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round (a check, ~2 min)")
    arguments = parser.parse_args(argv)
    from common import format_table

    rows = measure(QUICK if arguments.quick else FULL, log=lambda line: print(line, file=sys.stderr))
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
