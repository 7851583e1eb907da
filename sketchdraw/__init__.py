"""sketchdraw: teach a computer to draw with GANs.

The library the notebooks import. Every run goes through one skeleton (`skeleton`, `loop`); each
model family is a folder that plugs into it (`dcgan`, `cyclegan`, `sketch2img`), found by its
presets' names (`families`); `quality` measures how well a run draws. Below them: the data
(`quickdraw`, `strokes`, `paintings`, `pipeline`), the network builders (`models`, `layers`),
losses, augmentation, the run folder (`artifacts`) and its pages (`gallery`).
It is not a framework: every piece is a plain function or small class a notebook can call.
"""

__version__ = "0.1.0"
