"""The drawing page: a person draws, a run's generator suggests how the doodle could be finished.

`completion` searches the generator's noise for drawings that agree with the strokes; `server`
serves the page (`sketchdraw serve`, `make serve`) and saves chosen drawings; `export` writes the
generator as a TensorFlow SavedModel for serving without this package.
"""
