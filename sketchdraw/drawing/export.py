"""`sketchdraw export`: a run's generator as a TensorFlow SavedModel, for serving without sketchdraw.

The SavedModel has one signature, `serve`: noise vectors (batch, noise_dim) float32 in, drawings
(batch, height, width, channels) in [-1, 1] out (Quick, Draw!: +1 is ink). TensorFlow Serving, the
TF.js converter (`tensorflowjs_converter --input_format=tf_saved_model <folder> <web folder>`) and
`tf.saved_model.load(folder).serve(noise)` all take it; no sketchdraw code is needed to load it.
`sketchdraw export --web` goes on to the drawing page as static files (sketchdraw/drawing/web_export.py).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


def export_generator(run_dir, output=None) -> Path:
    """Write the run's generator.keras as a SavedModel folder (default <run>/export/generator) and
    return the folder. An existing folder there is never replaced: remove it or choose `output`."""
    from sketchdraw import sampling
    from sketchdraw.artifacts import RunFolder

    run = RunFolder(run_dir)
    target = Path(output) if output is not None else run.root / "export" / "generator"
    if target.exists():
        raise FileExistsError(f"{target} already exists: remove it first, or choose another folder "
                              "(--output)")
    generator = sampling.load_generator(run_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    # written beside the target and renamed into place: a half-written export is never left there
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        generator.export(str(staging / "model"), format="tf_saved_model", verbose=False)
        (staging / "model").rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
