"""Writes notebooks/sketch2img.ipynb (run once after editing; the notebook is committed)."""

from notebook_builder import NotebookBuilder

notebook = NotebookBuilder()
md = notebook.markdown
code = notebook.code

md("""
# From sketch to photo: a SketchyGAN-style GAN with masked residual units

A drawn sketch in, a photo-like image out. This notebook follows the *Sketch2Img* project (after
SketchyGAN, Chen & Hays 2018): the **generator** is an encoder-decoder whose blocks are *masked
residual units* (MRU). Each MRU looks at the sketch again (resized to its scale), learns a mask of
which incoming features to keep, computes new features from the kept ones and the sketch, and
learns how to mix old and new. The **discriminator** sees the sketch next to a real or generated
photo, says "real" or "fake", and also guesses the object's category.

By default it trains on the CUFS face pairs (188 face sketches, each drawn by an artist from a
photo). Every epoch saves a grid for a few held-out pairs: **sketch | generated | true photo**.
Everything lands in `runs/<name>/`; run it again with more epochs and it **resumes**.
""")

code("""
# Parameters (papermill replaces this cell: `make run EXPERIMENT=faces_sketch2photo EPOCHS=20`).
# None means "the preset's value"; the faces_sketch2photo preset's values are in the comments.
experiment = "faces_sketch2photo"  # preset name
data_root = None                  # folder with sketch/ and photo/ (the shared CUFS faces)
layout = None                     # "simple" or "sketchy" (Sketchy database folders) (simple)
epochs = None                     # total epochs; rerun with more to continue (20)
batch_size = None                 # (16)
image_size = None                 # (64)
limit = None                      # use the first N pairs only (all)
holdout = None                    # pairs kept out of training for the grids and draw (8)
base_filters = None               # network width; the seed used 64 (32)
noise_dim = None                  # (64)
gan_weight = None                 # loss weights: the seed kept all at 1 except DRAGAN (1.0)
classification_weight = None      # auxiliary class loss; 0 by construction with one category (1.0)
dragan_weight = None              # DRAGAN gradient penalty (10.0)
l1_weight = None                  # L1 between generated and true photo (1.0)
perceptual_weight = None          # needs ImageNet weights; 0 in the preset, see below (0.0)
diversity_weight = None           # reward for different images from different noise (1.0)
seed = None                       # random seed (0)
name = None                       # run folder name (the experiment)
runs_dir = "runs"                 # where run folders go
""", tags=["parameters"])

md("""
## Setup

Locally, `make setup` installs the `sketchdraw` package this notebook calls. On Colab (choose a GPU
runtime) the next cell installs it first; set `SKETCHDRAW_SOURCE` in it to where your copy lives.
""")

notebook.colab_install_cell()

md("""
The settings: the preset with every parameter that is not `None` applied, checked before anything
is loaded. The perceptual loss compares ImageNet-network features of generated and true photos
(the seed used Inception-v4; here Inception-v3 from `keras.applications`). Its weights are
downloaded once and cached in `~/.keras/models`; where that is impossible (no network), asking for
`perceptual_weight > 0` fails right here with a message saying so, which is why the preset sets 0.
""")

code("""
import tensorflow as tf

from sketchdraw import display, sketch2img

config = sketch2img.resolve(
    experiment, data_root=data_root, layout=layout, epochs=epochs, batch_size=batch_size,
    image_size=image_size, limit=limit, holdout=holdout, base_filters=base_filters,
    noise_dim=noise_dim, gan_weight=gan_weight, classification_weight=classification_weight,
    dragan_weight=dragan_weight, l1_weight=l1_weight, perceptual_weight=perceptual_weight,
    diversity_weight=diversity_weight, seed=seed, name=name, runs_dir=runs_dir)
print("TensorFlow", tf.__version__, "| GPUs:", len(tf.config.list_physical_devices("GPU")))
for key, value in config.to_dict().items():
    print(f"{key:>28}: {value}")
""")

md("""
## The pairs

Sketches and photos pair up by file name. Sketches are inverted to **white lines on black** (the
network should see the lines as the important, high values); both are resized to 64×64 and
normalised as the seed does: centred on the dataset's mean and divided by the largest absolute
centred value, so everything stays within [-1, 1]. Photos get a random brightness and contrast
change each time they are used. Below: sketches (as drawn) beside their photos.
""")

code("""
pairs = sketch2img.load_pairs_for(config)
display.show_grid(sketch2img.pair_grid(pairs, count=8), columns=4, invert=False)
""")

md("""
## Training

Each step, the discriminator learns from the GAN loss, the category of real photos, and DRAGAN's
gradient penalty (it keeps the discriminator smooth around the real photos). The generator learns
from fooling the discriminator, the L1 distance to the true photo, and the diversity loss (two
noise vectors should give two different images). The grid below — held-out sketch | generated |
true photo — is replaced after every epoch.
""")

code("""
result = sketch2img.train_sketch2img(config, pairs=pairs, callbacks=[display.live_epoch_grid()])
print(f"trained {result.epochs_trained} epoch(s) in this call; run folder: {result.run.root}")
""")

md("""
## Results

The newest grid, the progress GIF, the losses per epoch, and `samples.png`: for each held-out
sketch several images from different noise vectors, then the true photo.
""")

code("""
display.show_run(result.run.root)
""")

md("""
## Draw from your own sketch

`sketch2img.draw(run folder, image file)` (or `make draw RUN=runs/<name> SKETCH=my.png`) reads any
image of dark lines on light paper and writes a sheet of results from several noise vectors into
`runs/<name>/drawings/`, never overwriting an earlier sheet. Here: one of the held-out sketches.
""")

code("""
sheet = sketch2img.draw(result.run.root, result.held_out_sketches[0], samples=6)
print(sheet)
display.show_image(sheet)
""")

notebook.write("notebooks/sketch2img.ipynb")
