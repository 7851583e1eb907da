"""sketchdraw: teach a computer to draw with GANs.

The library the notebooks import: Quick, Draw! and painting-folder data (`quickdraw`,
`paintings`), tf.data chains (`pipeline`), Keras generator/discriminator builders registered by
name (`models`), adversarial losses (`losses`), the strategy-aware train step and epoch loop
(`training`), the run folder (`artifacts`) and named experiment presets (`experiments`).
It is not a framework: every piece is a plain function or small class a notebook can call.
"""

__version__ = "0.1.0"
