"""`sketchdraw export`'s command line: a SavedModel (sketchdraw/drawing/export.py), or with `--web`
the drawing page as static files (sketchdraw/drawing/web_export.py)."""

from __future__ import annotations

from sketchdraw.drawing import web_export
from sketchdraw.drawing.export import export_generator


def add_export_parser(commands) -> None:
    parser = commands.add_parser("export", help="write a run's generator as a TensorFlow SavedModel, "
                                                "or (--web) its drawing page as static files")
    parser.add_argument("--run", required=True, help="run folder, e.g. runs/rabbit_small")
    parser.add_argument("--output", help="folder to write (default: <run>/export/generator, with --web "
                                         "<run>/export/web)")
    parser.add_argument("--web", action="store_true",
                        help="the drawing page with the generator in TensorFlow.js, for a static web host")
    parser.add_argument("--converter", help="--web: the tensorflowjs_converter executable (default: on the PATH)")
    parser.add_argument("--tfjs-script", help="--web: TensorFlow.js's tf.min.js (default: "
                                              "./node_modules/@tensorflow/tfjs/dist/tf.min.js)")
    parser.set_defaults(handler=export_command)


def export_command(arguments) -> int:
    from sketchdraw.artifacts import check_run_exists

    if not arguments.web and (arguments.converter or arguments.tfjs_script):
        raise ValueError("--converter and --tfjs-script are for --web: add --web, or leave them out")
    try:
        if arguments.web:
            # the tools first: a missing one is reported before the run is even opened
            web_export.find_converter(arguments.converter)
            web_export.find_script(arguments.tfjs_script)
        check_run_exists(arguments.run)
        if arguments.web:
            folder = web_export.export_web(arguments.run, arguments.output, arguments.converter,
                                           arguments.tfjs_script)
            print(f"wrote {folder} (the drawing page; serve it with any static web server, e.g. "
                  f"python -m http.server -d {folder})")
            return 0
        folder = export_generator(arguments.run, arguments.output)
    except (FileExistsError, FileNotFoundError) as error:
        raise ValueError(str(error)) from None
    print(f"wrote {folder} (SavedModel; signature 'serve': noise in, drawings in [-1, 1] out)")
    return 0
