"""keep_best: of the epochs the quality curve measured, the one whose generator a run keeps.

Part of the DCGAN family, not of `sketchdraw.quality`: a run chooses its generator when it ends
(`DCGANRun.finish`), and the training code never imports the quality package (which reads runs).

The quality callback saves each measured epoch's generator (`generators/epoch_NNNN.keras`); when
the run ends, `keep_best_generator` makes the one `choose_best` picks the run's generator.keras,
writes `best.json` (which epoch, its curve CS and KID, the rule) and keeps the last epoch's as
generator_last.keras.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

from sketchdraw.artifacts import RunFolder
from sketchdraw.atomicfiles import atomic_write_text
from sketchdraw.dcgan.settings import check_best_tolerance


def choose_best(rows: Sequence[dict], tolerance: float = 0.0) -> dict | None:
    """The measured epoch keep_best keeps, from history rows with `cs` and `kid_mean`: of the epochs
    whose KID is within `tolerance` of the lowest (at most lowest + tolerance x |lowest|), the one
    of highest CS; ties go to the lower KID, then to the earlier epoch. `tolerance` 0 keeps the
    epoch of lowest KID. None when no row is measured.

    Why a tolerance: late in a small-data run KID stops falling while CS drifts (the small-data study: a rabbit
    run's CS falls from 0.70 to 0.65 over its last 300 epochs at a flat KID), so the lowest KID alone
    picks among near-equal KIDs by the KID's own noise. Both numbers come from the quality curve:
    the run's generated drawings against real drawings that neither network trained on."""
    check_best_tolerance(tolerance)
    measured = [row for row in rows if row.get("cs") is not None and row.get("kid_mean") is not None]
    if not measured:
        return None
    lowest = min(row["kid_mean"] for row in measured)
    limit = lowest + tolerance * abs(lowest)
    near = [row for row in measured if row["kid_mean"] <= limit]
    return max(near, key=lambda row: (row["cs"], -row["kid_mean"], -row["epoch"]))


def kept_rows(run_dir: str | os.PathLike) -> list[dict]:
    """The history rows of a keep_best run whose epoch's generator is kept in `generators/`: what
    `choose_best` chooses from."""
    run = RunFolder(run_dir)
    return [row for row in run.read_history() if run.measured_generator_path(row["epoch"]).is_file()]


def best_record(row: dict, tolerance: float, images_per_epoch: int) -> dict:
    """best.json: which measured epoch generator.keras is, its curve CS and KID, and the rule."""
    rule = ("lowest kid_mean of the quality curve" if tolerance == 0 else
            f"highest cs of the quality curve's epochs with kid_mean within {tolerance:.0%} of the lowest")
    return {"epoch": row["epoch"], "images_seen": row["epoch"] * images_per_epoch,
            "kid_mean": row["kid_mean"], "cs": row["cs"], "chosen_by": rule, "tolerance": tolerance}


def read_best(run_dir: str | os.PathLike) -> dict | None:
    """best.json of a keep_best run (which measured epoch generator.keras is), or None."""
    path = RunFolder(run_dir).best_path
    return json.loads(path.read_text()) if path.is_file() else None


def keep_best_generator(run: RunFolder, last, tolerance: float = 0.0, images_per_epoch: int = 0):
    """keep_best: of the measured epochs whose generator the quality callback saved (`generators/`),
    the one `choose_best(…, tolerance)` picks; `best.json` says which, the last epoch's
    generator is saved as generator_last.keras, and the kept one is returned for finish_run to save
    as generator.keras. Without any saved generator (no quality callback ran) says so and returns
    `last`."""
    from sketchdraw.sampling import load_generator, save_generator

    rows = kept_rows(run.root)
    best = choose_best(rows, tolerance)
    if best is None:
        print(f"keep_best: no measured generator in {run.measured_generators_dir} (was the quality "
              "callback given keep_best? set quality_every); generator.keras is the last epoch's",
              file=sys.stderr, flush=True)
        return last
    save_generator(last, run.last_generator_path)
    record = best_record(best, tolerance, images_per_epoch)
    atomic_write_text(run.best_path, json.dumps(record, indent=2) + "\n")
    print(f"keep_best: generator.keras is epoch {best['epoch']}'s generator (KID {best['kid_mean']:.4f}, "
          f"CS {best['cs']:.3f} on the quality curve; of {len(rows)} measured epochs, the "
          f"{record['chosen_by']}); the last epoch's is {run.last_generator_path.name}",
          file=sys.stderr, flush=True)
    return load_generator(run.root, run.measured_generator_path(best["epoch"]))
