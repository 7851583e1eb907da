"""Transposed convolution against resize-then-convolve in the image-to-image generators.

    python studies/upsampling.py sketch2img --seeds 0 1 --epochs 20 --write studies/results/upsampling-sketch2img-<date>.md
    python studies/upsampling.py cyclegan --domain-x ../shared/data/photos/landscapes \
        --domain-y ../shared/data/wikiart/vangogh --limit 400 --epochs 3 --seeds 0 1

For each seed, one run with `upsampling=transpose` (the seeds' decoders) and one with
`upsampling=resize` (`layers.upsample`), everything else the preset's, trained into
`<runs>/upsampling_<family>_<kind>_s<seed>` (an existing finished run is measured, not retrained),
then measured on what the run never trained on (`quality.translation`): sketch-to-image by L1 and
SSIM to the true photo of its held-out pairs (`--holdout`, more than the preset's 8 so the interval
is narrower); CycleGAN by the cycle error of its held-out photos and the painting judge's KID and
recognised share of their translations. Prints and writes a table, a row per run, and the
sheets of the runs' last epoch grids are where to look for the checkerboard.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

KINDS = ("transpose", "resize")


def train_and_measure(family: str, kind: str, seed: int, arguments) -> dict:
    from sketchdraw.artifacts import RunFolder
    from sketchdraw.quality import translation

    name = f"upsampling_{family}_{kind}_s{seed}"
    run = RunFolder(Path(arguments.runs) / name)
    if family == "sketch2img":
        from sketchdraw import sketch2img

        config = sketch2img.resolve("faces_sketch2photo", name=name, runs_dir=arguments.runs, seed=seed,
                                    upsampling=kind, epochs=arguments.epochs, holdout=arguments.holdout,
                                    progress=arguments.progress)
        if not run.generator_path.is_file():
            sketch2img.train_sketch2img(config)
        scores = translation.sketch_to_photo_scores(run.root, draws=arguments.draws)
        return {"run": name, "kind": kind, "seed": seed, **_flat(scores, ("l1", "ssim")),
                "held_out": scores["pairs"]}
    from sketchdraw import cyclegan

    config = cyclegan.resolve("photo2vangogh", name=name, runs_dir=arguments.runs, seed=seed, upsampling=kind,
                              epochs=arguments.epochs, limit=arguments.limit, domain_x=arguments.domain_x,
                              domain_y=arguments.domain_y, progress=arguments.progress)
    if not (run.root / "generator_x2y.keras").is_file():
        from sketchdraw.cyclegan.run import load_domain

        images_x, _ = load_domain(config.domain_x, config, config.domain_x_label)
        images_y, _ = load_domain(config.domain_y, config, config.domain_y_label)
        cyclegan.train_cycle(config, images_x, images_y)
    scores = translation.cycle_scores(run.root, progress=arguments.progress)
    return {"run": name, "kind": kind, "seed": seed, **_flat(scores, ("cycle_error", "recognised")),
            "kid": scores["kid"], "held_out": scores["photos"]}


def _flat(scores: dict, names) -> dict:
    flat = {}
    for name in names:
        flat[name] = scores[name]["mean"]
        flat[f"{name}_interval"] = scores[name]["interval"]
    return flat


def table(family: str, rows: list[dict]) -> str:
    figures = (("l1", "L1 to the true photo ↓"), ("ssim", "SSIM to the true photo ↑")) if family == "sketch2img" \
        else (("cycle_error", "cycle error ↓"), ("recognised", "recognised as Van Gogh ↑"))
    header = ["run", "upsampling", "seed", *[title for _, title in figures]]
    if family == "cyclegan":
        header.append("KID to held-out Van Gogh ↓")
    header.append("held-out images")
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        cells = [row["run"], row["kind"], str(row["seed"])]
        for name, _ in figures:
            low, high = row[f"{name}_interval"]
            cells.append(f"{row[name]:.4f} [{low:.4f}, {high:.4f}]")
        if family == "cyclegan":
            cells.append(f"{row['kid']:.4f}")
        cells.append(str(row["held_out"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("family", choices=("sketch2img", "cyclegan"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--holdout", type=int, default=24, help="sketch2img: held-out pairs (default 24)")
    parser.add_argument("--draws", type=int, default=4, help="sketch2img: noise vectors per sketch")
    parser.add_argument("--limit", type=int, default=400, help="cyclegan: images per domain trained on")
    parser.add_argument("--domain-x", help="cyclegan: the photo folder")
    parser.add_argument("--domain-y", help="cyclegan: the painting folder")
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--write", help="also write the table (markdown) to this file")
    parser.add_argument("--quiet", dest="progress", action="store_false")
    arguments = parser.parse_args(argv)
    if arguments.family == "cyclegan" and not (arguments.domain_x and arguments.domain_y):
        parser.error("cyclegan needs --domain-x (photos) and --domain-y (paintings)")
    rows = [train_and_measure(arguments.family, kind, seed, arguments)
            for seed in arguments.seeds for kind in KINDS]
    text = table(arguments.family, rows)
    print(text)
    if arguments.write:
        command = "python studies/upsampling.py " + " ".join(sys.argv[1:] if argv is None else argv)
        Path(arguments.write).write_text(f"# Upsampling in the {arguments.family} generator, "
                                         f"{datetime.date.today()}\n\n`{command}`\n\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
