"""`sketchdraw export --web`: the drawing page as a folder of static files, for any web host.

The folder holds the page (sketchdraw/drawing/page.html), the run's generator converted to a
TensorFlow.js graph model, TensorFlow.js itself, `local_api.js` (which answers the page's /api
requests in the browser) and `info.json` (the run's name and categories). Served by any static web
server (`python -m http.server -d <folder>`), it needs neither Python nor sketchdraw, nor the internet.

The two tools come from outside this project's environment, found by the caller or `make export-web`:

- the TF.js converter, `tensorflowjs_converter`: the `tensorflowjs` package pins an older
  TensorFlow than this project's, so it lives in its own virtual environment;
- `tf.min.js`, the TensorFlow.js browser bundle from npm (`@tensorflow/tfjs`), copied into the
  folder so that the page loads nothing from a CDN.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONVERTER_FIX = ("install it in its own virtual environment (it pins an older TensorFlow than "
                 "sketchdraw's): `make export-web` does, or python -m venv .tfjs/venv && "
                 ".tfjs/venv/bin/pip install tensorflowjs==4.22.0 'ydf<0.13', then "
                 "--converter .tfjs/venv/bin/tensorflowjs_converter")
SCRIPT_FIX = ("get the TensorFlow.js browser bundle from npm: `make export-web` does, or "
              "npm install --prefix .tfjs @tensorflow/tfjs@4.22.0, then "
              "--tfjs-script .tfjs/node_modules/@tensorflow/tfjs/dist/tf.min.js")
DEFAULT_SCRIPT = Path("node_modules/@tensorflow/tfjs/dist/tf.min.js")


def find_converter(converter=None) -> Path:
    """The converter executable: `converter` if given, else `tensorflowjs_converter` on the PATH."""
    found = shutil.which(str(converter)) if converter else shutil.which("tensorflowjs_converter")
    if found is None:
        where = f"{converter} is not an executable" if converter else "tensorflowjs_converter is not on the PATH"
        raise FileNotFoundError(f"{where}: {CONVERTER_FIX}")
    return Path(found)


def find_script(script=None) -> Path:
    """TensorFlow.js's browser bundle: `script` if given, else ./node_modules' copy."""
    path = Path(script) if script else DEFAULT_SCRIPT
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not a file: {SCRIPT_FIX}")
    if path.suffix != ".js":
        raise ValueError(f"{path} is not a JavaScript file: give TensorFlow.js's dist/tf.min.js")
    return path


def export_web(run_dir, output=None, converter=None, script=None) -> Path:
    """Write the static drawing page of a Quick, Draw! run (default <run>/export/web) and return
    its folder. Both tools are checked before anything is loaded; an existing folder is never
    replaced, and a failed export leaves nothing behind."""
    from sketchdraw import sampling
    from sketchdraw.artifacts import RunFolder
    from sketchdraw.drawing.completion import IMAGE_SIZE, MAX_COUNT, check_drawing_generator
    from sketchdraw.drawing.export import export_generator
    from sketchdraw.drawing.server import run_categories

    converter, script = find_converter(converter), find_script(script)
    run = RunFolder(run_dir)
    target = Path(output) if output is not None else run.root / "export" / "web"
    if target.exists():
        raise FileExistsError(f"{target} already exists: remove it first, or choose another folder (--output)")
    generator = sampling.load_generator(run_dir)
    check_drawing_generator(generator)
    info = {"run": run.root.name, "categories": run_categories(run), "image_size": IMAGE_SIZE,
            "max_count": MAX_COUNT, "noise_dim": int(generator.inputs[0].shape[-1])}
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        saved_model = export_generator(run_dir, staging / "saved_model")
        folder = staging / "web"
        convert(converter, saved_model, folder / "model")
        shutil.copyfile(script, folder / "tf.min.js")
        shutil.copyfile(HERE / "local_api.js", folder / "local_api.js")
        (folder / "info.json").write_text(json.dumps(info, indent=1) + "\n")
        (folder / "index.html").write_text(static_page())
        folder.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def static_page() -> str:
    """The server's page, with TensorFlow.js and the in-browser /api loaded before its script."""
    page = (HERE / "page.html").read_text()
    if page.count("<script>") != 1:
        raise RuntimeError("page.html should hold one inline <script>: the static page loads its helpers before it")
    return page.replace("<script>", '<script src="tf.min.js"></script>\n<script src="local_api.js"></script>\n<script>')


def convert(converter: Path, saved_model: Path, output: Path) -> None:
    """The SavedModel's `serve` signature as a TF.js graph model in `output`."""
    command = [str(converter), "--input_format=tf_saved_model", "--signature_name=serve",
               str(saved_model), str(output)]
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if done.returncode != 0 or not (output / "model.json").is_file():
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
        raise RuntimeError(f"the TF.js converter failed ({' '.join(command)}):\n{tail}\n{CONVERTER_FIX}")
