"""Writes notebooks/wikiart_dcgan.ipynb (run once after editing; the notebook is committed)."""

from notebook_builder import NotebookBuilder

notebook = NotebookBuilder()
md = notebook.markdown
code = notebook.code

md("""
# Coding art: a DCGAN on a folder of paintings

This notebook reproduces the experiments of *Coding Art with DCGANs* (Pérez): a DCGAN learns to
paint 64×64 pictures from a small collection — all of Van Gogh, the Expressionism movement, or
self-portraits — with the paper's two layer tables (`wikiart64`), Adam with a generator learning
rate of 0.00015 and a discriminator rate of 0.002, batch 64 and 175 epochs.

The paper's Van Gogh run failed: with 877 paintings the discriminator soon tells real from
generated perfectly and the generator stops learning. Horizontal flips helped a little. The
`vangogh_diffaugment` preset adds DiffAugment (Zhao et al., 2020): the same random colour,
translation and cutout applied to real *and* generated images whenever the discriminator looks at
them, so it cannot simply memorise the few hundred paintings.

Presets: `vangogh`, `vangogh_flip`, `vangogh_diffaugment`, `expressionism`, `expressionism_l2`
(an L2 penalty of 1e-7 on the convolutions), `expressionism_discrete_labels` (0/1 targets instead
of the paper's continuous noisy ones) and `portraits`.
""")

code("""
# Parameters (papermill replaces this cell: `make run EXPERIMENT=vangogh DATA=path/to/vangogh`).
# None means "the preset's value"; the vangogh preset's values are in the comments.
experiment = "vangogh"            # a preset name (see above)
data = None                       # folder of paintings (jpg/jpeg/png/webp, nested folders too)
epochs = None                     # total epochs; rerun with more to continue (175)
batch_size = None                 # (64)
image_size = None                 # square size the paintings are cropped and resized to (64)
fit = None                        # "crop" or "pad" to a square (crop)
flip = None                       # random left-right flips (False; True in vangogh_flip)
augment = None                    # DiffAugment policy, e.g. "color,translation,cutout" ("")
l2 = None                         # L2 penalty on convolution kernels (0.0; 1e-7 in expressionism_l2)
label_treatment = None            # "noisy" (the paper's continuous labels) or "none" (0/1)
limit = None                      # use N paintings only (all)
seed = None                       # random seed (0)
checkpoint_every = None           # epochs between checkpoints (5)
name = None                       # run folder name (the experiment)
runs_dir = "runs"                 # where run folders go
settings = {}                     # any other setting, e.g. {"ema_decay": 0.999, "augment": "cutout"}
""", tags=["parameters"])

md("""
## Setup

Locally, `make setup` installs the `sketchdraw` package. On Colab (GPU runtime) the next cell
installs it first; set `SKETCHDRAW_SOURCE` in it to where your copy of this repository lives. Paintings:
download a WikiArt style or artist folder (for example from the WikiArt data set used by ArtGAN)
and give its folder as `data`; any folder of images works.
""")

notebook.colab_install_cell()

code("""
import tensorflow as tf

from sketchdraw import display, experiments, training

named = dict(
    data=data, epochs=epochs, batch_size=batch_size, image_size=image_size, fit=fit,
    flip=flip, augment=augment, l2=l2, label_treatment=label_treatment, limit=limit, seed=seed,
    checkpoint_every=checkpoint_every, name=name, runs_dir=runs_dir)
# `settings` may add any other RunConfig field (and wins over the named ones).
config = experiments.resolve(experiment, **{**named, **settings})
print("TensorFlow", tf.__version__, "| GPUs:", len(tf.config.list_physical_devices("GPU")))
for key, value in config.to_dict().items():
    print(f"{key:>38}: {value}")
""")

md("""
## The paintings

Every file in the folder is decoded once (colour, grayscale, palette, RGBA and CMYK images all
become RGB), centre-cropped to a square and resized; unreadable files are skipped and listed.
""")

code("""
images = training.load_training_images(config)
print(f"{len(images):,} paintings at {images.shape[1]}x{images.shape[2]}")
display.show_grid(images[:32], columns=8, invert=False, scale=2)
""")

md("""
## Training

The newest grid replaces the previous one after each epoch. `history.csv` records the losses and,
as the paper measured by hand, the discriminator's accuracy on each batch *before* its update.
""")

code("""
result = training.train(config, images=images, callbacks=[display.live_epoch_grid(width=384)])
print(f"trained {result.epochs_trained} epoch(s) in this call; run folder: {result.run.root}")
""")

md("""
## Results

The final grid, the GIF, the loss and discriminator-accuracy curves, and generated paintings
beside originals (the paper's "original vs generated" figure).
""")

code("""
display.show_run(result.run.root)
""")

notebook.write("notebooks/wikiart_dcgan.ipynb")
