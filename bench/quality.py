"""Section 6: quality per compute: KID and CS on rabbit after the same number of images seen.

Three recipes train through `dcgan.train` on the first 450 rabbit drawings (`limit=450`, so
the rest of the file stays unseen by the GAN for the reference row), each for the epochs that make
the same images-seen budget, then `quality.evaluate` measures them with one domain classifier
(rabbit and a few other categories, the first 450 drawings of each, the last 225 held out):
- seed 001 recipe: the `rabbit` preset (tutorial models, Adam 1e-3, batch 256);
- seed 000 recipe: the `flower` preset on rabbit (upsample models, Adam 2e-4/0.5, batch 128);
- project settings: `rabbit` plus a generator EMA (0.99), spectral normalisation in the
  discriminator and DiffAugment "translation,cutout".
The real held-out row is the same real drawings measured the same way. Lower KID is better,
higher CS is better.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable

from common import Row, mirror_folder

TRAINING_DRAWINGS = 450
CLASSIFIER_CATEGORIES = ["rabbit", "cat", "dog", "sheep"]
# A small judge for a benchmark (the default one learns 35 categories for 30 epochs, ~40 minutes):
# 4 categories, 225 training drawings each, 20 epochs. Cached after the first run.
CLASSIFIER_EPOCHS = 20
RECIPES = {
    "seed 001 recipe (rabbit preset)": ("rabbit", {}),
    "seed 000 recipe (flower preset on rabbit)": ("flower", {"category": "rabbit"}),
    "project settings (rabbit + EMA 0.99 + spectral norm + DiffAugment translation,cutout)":
        ("rabbit", {"ema_decay": 0.99, "spectral_norm": True, "augment": "translation,cutout"}),
}


def measure(images_budget: int, samples: int, log: Callable[[str], None] = print) -> list[Row]:
    from sketchdraw import dcgan, pipeline, quality

    mirror = str(mirror_folder())
    section = "6 quality per compute"
    rows = []
    log(f"section 6: three recipes, {images_budget:,} images seen each, then evaluate "
        f"({samples} samples)")
    classifier = quality.domain_classifier(CLASSIFIER_CATEGORIES, TRAINING_DRAWINGS, mirror,
                                           epochs=CLASSIFIER_EPOCHS, progress=False)
    real = None
    with tempfile.TemporaryDirectory(prefix="sketchdraw-bench-quality-") as runs_dir:
        for number, (label, (experiment, changes)) in enumerate(RECIPES.items()):
            batch_size = dcgan.preset(experiment).batch_size
            per_epoch = pipeline.images_per_epoch(TRAINING_DRAWINGS, batch_size)
            epochs = max(1, math.ceil(images_budget / per_epoch))
            config = dcgan.resolve(
                experiment, name=f"quality-{number}", runs_dir=runs_dir, limit=TRAINING_DRAWINGS,
                epochs=epochs, checkpoint_every=epochs, progress=False, mirror=mirror, **changes)
            start = time.perf_counter()
            dcgan.train(config)
            seconds = time.perf_counter() - start
            document = quality.evaluate(config.run_dir, samples=samples, classifier=classifier,
                                        progress=False)
            generated = document["generated"]
            real = document[quality.REAL_ROW]
            log(f"  {label}: KID {generated['kid_mean']:.4f}, CS {generated['cs']:.3f} "
                f"({seconds:.0f} s)")
            rows.append(Row(section, label,
                            f"KID {generated['kid_mean']:.4f} ± {generated['kid_std']:.4f}, "
                            f"CS {generated['cs']:.3f}", "none set", "-",
                            f"{document['images_seen']:,} images seen ({epochs} epochs x "
                            f"{per_epoch}), {seconds:.0f} s wall for train incl. bookkeeping"))
    rows.append(Row(section, "real held-out rabbits (reference)",
                    f"KID {real['kid_mean']:.4f} ± {real['kid_std']:.4f}, CS {real['cs']:.3f}",
                    "none set", "-",
                    f"{real['count']} real drawings unseen by GAN and classifier; classifier on "
                    f"{', '.join(CLASSIFIER_CATEGORIES)}, {CLASSIFIER_EPOCHS} epochs, "
                    f"held-out accuracy {classifier.held_out_accuracy:.2f}"))
    return rows
