"""Writes notebooks/cyclegan.ipynb (run once after editing; the notebook is committed)."""

from notebook_builder import NotebookBuilder

notebook = NotebookBuilder()
md = notebook.markdown
code = notebook.code

md("""
# Photos into Van Gogh paintings and back: a CycleGAN on unpaired image sets

A **CycleGAN** (Zhu et al. 2017) learns to translate between two sets of images that are *not*
paired: nobody painted these exact landscapes. Two generators learn the two directions —
G: photo → painting and F: painting → photo — and two discriminators judge whether a photo or a
painting is real. What keeps the translation faithful to its input is the **cycle**: a photo turned
into a painting and back must come out as the same photo (an L1 loss weighted by λ = 10).

Every epoch saves a grid of fixed examples — photo → painted → back, painting → photo → back — so
you can watch the style appear. Everything lands in `runs/<name>/`: the grids, a progress GIF, the
loss plot, checkpoints and both trained generators. Run the notebook again with more epochs and it
**resumes**.
""")

code("""
# Parameters (papermill replaces this cell: `make run EXPERIMENT=photo2vangogh`).
# None means "the preset's value"; the photo2vangogh values are in the comments.
experiment = "photo2vangogh"  # preset: "photo2vangogh" or "photo2expressionism"
# The two folders of images (jpg/png/webp, any size; subfolders are searched). Bring your own:
# landscape photos (e.g. the CycleGAN authors' vangogh2photo "trainB" set, or your own pictures)
# and paintings (e.g. WikiArt's Van Gogh or Expressionism pages). Both must be set.
domain_x = None               # folder of photos
domain_y = None               # folder of paintings
image_size = None             # 64 or 128 (64)
epochs = None                 # total epochs; rerun with more to continue (20)
limit = None                  # train on N images per domain (all)
batch_size = None             # (1, the paper's)
cycle_weight = None           # lambda of the cycle loss (10.0)
identity_weight = None        # identity loss weight (None: 0.5 * cycle_weight; 0: off)
residual_blocks = None        # residual blocks in each generator (2, the seed's)
generator_filters = None      # channels after the generator's first layer (64)
discriminator = None          # "patch" (PatchGAN) or "dcgan" (the seed's DCGAN discriminator)
discriminator_filters = None  # (64)
learning_rate = None          # Adam, held then decayed linearly to 0 (2e-4)
seed = None                   # random seed (0)
checkpoint_every = None       # epochs between checkpoints (5)
name = None                   # run folder name (the experiment)
runs_dir = "runs"             # where run folders go
cache_dir = None              # a folder to keep the decoded images between runs
progress = True               # progress bars
translate_input = None        # an image or folder of yours to translate at the end
                              # (None: five photos the run did not train on)
""", tags=["parameters"])

md("""
## Setup

Locally, `make setup` installs the `sketchdraw` package this notebook calls. On Colab (choose a GPU
runtime) the next cell installs it into the runtime first; set `SKETCHDRAW_SOURCE` in it to where your copy
of this repository lives (a git URL or an uploaded wheel), and upload or mount your two folders.
""")

notebook.colab_install_cell()

code("""
import tensorflow as tf

from sketchdraw import cyclegan, display

config = cyclegan.resolve(
    experiment, domain_x=domain_x, domain_y=domain_y, image_size=image_size, epochs=epochs,
    limit=limit, batch_size=batch_size, cycle_weight=cycle_weight, identity_weight=identity_weight,
    residual_blocks=residual_blocks, generator_filters=generator_filters,
    discriminator=discriminator, discriminator_filters=discriminator_filters,
    learning_rate=learning_rate, seed=seed, checkpoint_every=checkpoint_every, name=name,
    runs_dir=runs_dir, cache_dir=cache_dir, progress=progress)
config.validate(need_data=True)
print("TensorFlow", tf.__version__, "| GPUs:", len(tf.config.list_physical_devices("GPU")))
for key, value in config.to_dict().items():
    print(f"{key:>22}: {value}")
""")

md("""
## The two image sets

Each folder is decoded once: every image is center-cropped to a square and resized to
`image_size`. Unreadable files are skipped and listed. The images stay uint8 in memory; the tf.data
chain scales each batch to [-1, 1] and flips half of them left-right. The sets need not be the same
size: an epoch goes over the larger one, repeating the smaller.
""")

code("""
images_x, files_x = cyclegan.load_domain(config.domain_x, config, config.domain_x_label)
images_y, files_y = cyclegan.load_domain(config.domain_y, config, config.domain_y_label)
print(f"{len(images_x)} {config.domain_x_label} images, {len(images_y)} {config.domain_y_label} images")
display.show_grid(images_x[:16], columns=8, invert=False)
display.show_grid(images_y[:16], columns=8, invert=False)
""")

md("""
## The networks

Each generator is the seed's three stages: an **encoder** (two stride-2 convolutions that add
channels while halving the size), a **transformer** of residual blocks, and a **decoder** of two
transposed convolutions back to full size, with instance normalisation and a `tanh` output. The
PatchGAN discriminator returns a map of scores, one per overlapping 70×70 patch, so it judges
texture — brush strokes — more than composition.
""")

code("""
networks = cyclegan.build_networks(config)
networks.generator_x2y.summary()
networks.discriminator_y.summary()
del networks  # train_cycle builds (or restores) its own
""")

md("""
## Training

Each step: both generators translate a photo and a painting, and translate the results back; they
learn from the discriminators' verdicts (least squares), the cycle loss and the identity loss (a
painting given to the photo → painting generator should come out unchanged, which keeps colours).
Then each discriminator learns from a real image and a generated one drawn from a pool of the last
50, which calms the back-and-forth. The grid below is replaced by the newest one after every epoch:
each row shows input → translated → reconstructed, first for a photo, then for a painting.
""")

code("""
result = cyclegan.train_cycle(config, images_x, images_y, callbacks=[display.live_epoch_grid(width=720)])
print(f"trained {result.epochs_trained} epoch(s) in this call; run folder: {result.run.root}")
""")

md("""
## Results

The progress over all epochs as a GIF, then the losses: the four adversarial losses (the generators
and discriminators should stay in balance, none running to 0) and the cycle and identity losses
(these should fall steadily).
""")

code("""
display.show_image(result.run.gif_path, width=720)
display.show_image(result.run.losses_plot_path)
""")

md("""
## Translate your own photos

`cyclegan.translate` (or `make translate RUN=runs/<name> INPUT=<image or folder>`) loads the saved
generator and writes each translated image plus a before/after `sheet.png`. By default this cell
uses five photos the run never trained on (when `limit` left some out).
""")

code("""
inputs = translate_input
if inputs is None:
    held_out = cyclegan.held_out_files(config.domain_x, files_x, count=5)
    inputs = result.run.root / "held_out_photos"
    inputs.mkdir(exist_ok=True)
    for path in held_out or files_x[:5]:  # no held-out photos when the run used them all
        target = inputs / path.name
        if not target.exists():
            target.symlink_to(path.resolve())
translation = cyclegan.translate(result.run.root, inputs, direction="x2y")
display.show_image(translation.sheet, width=720)
""")

notebook.write("notebooks/cyclegan.ipynb")
