"""Writes notebooks/quickdraw_dcgan.ipynb (run once after editing; the notebook is committed)."""

from notebook_builder import NotebookBuilder

notebook = NotebookBuilder()
md = notebook.markdown
code = notebook.code

md("""
# Teaching a computer to draw: a DCGAN on Quick, Draw! doodles

Google's [Quick, Draw!](https://quickdraw.withgoogle.com) game collected more than 50 million
doodles in 345 categories, each drawn in under 20 seconds. This notebook trains a **deep
convolutional generative adversarial network** (DCGAN) on one category — rabbits by default — the
way the TensorFlow 2 DCGAN tutorial does: a *generator* turns random noise into 28×28 drawings, a
*discriminator* learns to tell them from real ones, and each improves by playing against the other.

Every epoch saves a grid of drawings made from the same fixed noise, so you can watch the rabbits
appear. Everything lands in `runs/<name>/`: the grids, a progress GIF, the loss plot, checkpoints
and the trained generator. Run the same notebook again with more epochs and it **resumes**.

Presets: `rabbit` (the rabbit notebook: the tutorial's models, Adam 1e-3, batch 256), `flower`
(the flower article: UpSampling2D models, Adam 2e-4 with β₁ = 0.5, batch 128) and `rabbit_small`
(the small-data recipe: 450 drawings, UpSampling2D models, Adam 2e-4 / 0.5, batch 32, generator
EMA 0.999, DiffAugment translation; see the README).
""")

code("""
# Parameters (papermill replaces this cell: `make run CATEGORY=cat EPOCHS=20`).
# None means "the preset's value"; the rabbit preset's values are in the comments.
experiment = "rabbit"             # preset: "rabbit", "flower", "rabbit_small", ...
category = None                   # Quick, Draw! category, e.g. "cat" (rabbit)
epochs = None                     # total epochs; rerun with more to continue (50)
batch_size = None                 # (256)
limit = None                      # train on N drawings only (all)
limit_seed = None                 # None: the first N; a number: a seeded random N
model = None                      # "tutorial" or "upsample" (tutorial)
generator_learning_rate = None    # (1e-3)
discriminator_learning_rate = None  # (1e-3)
noise_dim = None                  # length of the noise vector (100)
seed = None                       # random seed (0)
checkpoint_every = None           # epochs between checkpoints (5)
name = None                       # run folder name (the experiment, or the category)
mirror = None                     # folder or URL replacing Google's bucket (offline machines)
runs_dir = "runs"                 # where run folders go
quality_every = 0                 # > 0: CS and KID every K epochs into history.csv (a multiple of checkpoint_every)
settings = {}                     # any other setting, e.g. {"ema_decay": 0.999, "augment": "cutout"}
""", tags=["parameters"])

md("""
## Setup

Locally, `make setup` installs the `sketchdraw` package this notebook calls. On Colab (choose a GPU
runtime) the next cell installs it into the runtime first; set `SKETCHDRAW_SOURCE` in it to where your copy
of this repository lives (a git URL or an uploaded wheel).
""")

notebook.colab_install_cell()

code("""
import tensorflow as tf

from sketchdraw import display, experiments, models, training

named = dict(
    category=category, epochs=epochs, batch_size=batch_size, limit=limit,
    limit_seed=limit_seed, model=model, generator_learning_rate=generator_learning_rate,
    discriminator_learning_rate=discriminator_learning_rate, noise_dim=noise_dim, seed=seed,
    checkpoint_every=checkpoint_every, name=name, mirror=mirror, runs_dir=runs_dir)
# `settings` may add any other RunConfig field (and wins over the named ones).
config = experiments.resolve(experiment, **{**named, **settings})
print("TensorFlow", tf.__version__, "| GPUs:", len(tf.config.list_physical_devices("GPU")))
for key, value in config.to_dict().items():
    print(f"{key:>28}: {value}")
""")

md("""
## The drawings

Quick, Draw!'s `numpy_bitmap` files hold each drawing as 784 bytes: a 28×28 grid where 0 is the
background and 255 is ink. The file comes from Google's public bucket the first time (100–300 MB
for a full category) and from the cache afterwards; on a machine without internet, set `mirror`
(or `SKETCHDRAW_QUICKDRAW_MIRROR`) to a folder of `.npy` files. The drawings stay uint8 in memory;
the tf.data chain scales each batch to [-1, 1] on the fly.

Some drawings are unfinished — the game stops a player as soon as it guesses the category — so
expect rabbits without eyes, in the data and in what the model learns.
""")

code("""
images = training.load_training_images(config)
print(f"{len(images):,} {config.category} drawings, {images.nbytes / 1e6:.1f} MB of uint8")
display.show_grid(images[:64].reshape(-1, 28, 28, 1))
""")

md("""
## The models

The generator starts from a noise vector of length 100, projects it to a small 7×7 feature map and
upsamples it twice to 28×28 with a `tanh` output in [-1, 1]. The discriminator is a small
convolutional classifier that returns one number: positive for "real", negative for "generated".
""")

code("""
family = models.get(config.model)
family.build_generator(noise_dim=config.noise_dim).summary()
family.build_discriminator().summary()
""")

md("""
## Training

Each step, the generator draws a batch from fresh noise; the discriminator scores real and generated
drawings; binary cross-entropy pushes the discriminator to tell them apart and the generator to fool
it. The grid below is replaced by the newest one after every epoch.
""")

code("""
callbacks = [display.live_epoch_grid()]
if quality_every:
    from sketchdraw import evaluation

    callbacks.append(evaluation.quality_callback(config, every=quality_every))
result = training.train(config, images=images, callbacks=callbacks)
print(f"trained {result.epochs_trained} epoch(s) in this call; run folder: {result.run.root}")
""")

md("""
## Results

The newest grid, the progress over all epochs as a GIF, the losses (and the discriminator's mean
scores on real and generated drawings: 0.5 for both means it can no longer tell them apart), and
finally 64 generated drawings beside 64 real ones.
""")

code("""
display.show_run(result.run.root)
""")

notebook.write("notebooks/quickdraw_dcgan.ipynb")
