"""What each notebook in notebooks/ says: its narrative cells and, for the settings notebooks, which
family, file and preset its generated parameters and settings cells come from. Written out by
tools/make_notebooks.py."""

from __future__ import annotations

from collections.abc import Callable

from conditional_notebook import CONDITIONAL, conditional_notebook
from notebook_builder import PARAMETERS_TAG, NotebookBuilder, SettingsNotebook, number, reflow

# -- notebooks/quickdraw_dcgan.ipynb ---------------------------------------------------------------
QUICKDRAW = SettingsNotebook(
    family="dcgan", file="quickdraw_dcgan.ipynb", experiment="rabbit",
    example="make run CATEGORY=cat EPOCHS=20",
    imports=("dcgan", "display", "models", "quality"))


def quickdraw_dcgan() -> NotebookBuilder:
    from sketchdraw import dcgan, quality

    rabbit, flower, small = (dcgan.preset(name) for name in ("rabbit", "flower", "rabbit_small"))
    notebook = NotebookBuilder()
    md, code = notebook.markdown, notebook.code

    md(reflow(f"""
# Teaching a computer to draw: a DCGAN on Quick, Draw! doodles

Google's [Quick, Draw!](https://quickdraw.withgoogle.com) game collected more than 50 million
doodles in 345 categories, each drawn in under 20 seconds. This notebook trains a **deep
convolutional generative adversarial network** (DCGAN) on one category — rabbits by default — the
way the TensorFlow 2 DCGAN tutorial does: a *generator* turns random noise into 28×28 drawings, a
*discriminator* learns to tell them from real ones, and each improves by playing against the other.

Every epoch saves a grid of drawings made from the same fixed noise, so you can watch the rabbits
appear. Everything lands in `runs/<name>/`: the grids, a progress GIF, the loss plot, checkpoints
and the trained generator. Run the same notebook again with more epochs and it **resumes**.

Presets: `rabbit` (the rabbit notebook: the tutorial's models, Adam
{number(rabbit.generator_learning_rate)}, batch {rabbit.batch_size}), `flower` (the flower
article: UpSampling2D models, Adam {number(flower.generator_learning_rate)} with
β₁ = {number(flower.generator_beta1)}, batch {flower.batch_size}) and `rabbit_small` (the
small-data recipe, docs/small-data.md: {small.limit} drawings, UpSampling2D models, batch
{small.batch_size}, Adam {number(small.generator_learning_rate)} for the generator and
{number(small.discriminator_learning_rate)} for the discriminator with β₁ =
{number(small.generator_beta1)}, generator EMA {number(small.ema_decay)}, DiffAugment
`{small.augment}`, one-sided label smoothing, and the quality curve every {small.quality_every}
epochs, keeping the generator of the measured epoch of lowest KID, `keep_best`). The GAN study's
cat and dog settings are `study_default`, `trial4` and `trial4_dog`.
"""))
    QUICKDRAW.parameters(notebook)
    notebook.setup_cells()
    QUICKDRAW.resolve(notebook)

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
images = dcgan.load_training_images(config)
print(f"{len(images):,} {config.category} drawings, {images.nbytes / 1e6:.1f} MB of uint8")
display.show_grid(images[:64].reshape(-1, 28, 28, 1))
""")

    md("""
## The models

The generator starts from a noise vector (`noise_dim` long), projects it to a small 7×7 feature map
and upsamples it twice to 28×28 with a `tanh` output in [-1, 1]: with transposed convolutions in the
tutorial's models, with UpSampling2D and a convolution in the `upsample` models (no checkerboard).
The discriminator is a small convolutional classifier that returns one number: positive for
"real", negative for "generated". Below: the two networks exactly as this run builds them.
""")
    code("""
print(f"model {config.model}: {models.get(config.model).description}")
generator, discriminator = dcgan.build_models(config)
generator.summary()
discriminator.summary()
del generator, discriminator  # dcgan.train builds (or restores) its own
""")

    md(reflow(f"""
## Training

Each step, the generator draws a batch from fresh noise; the discriminator scores real and generated
drawings; the loss (`loss`, binary cross-entropy by default) pushes the discriminator to tell them
apart and the generator to fool it. The grid below is replaced by the newest one after every epoch.

With `quality_every` = K (rabbit_small: {small.quality_every}), every K epochs
{quality.QUALITY_SAMPLES:,} drawings are measured by a Quick, Draw! classifier: CS (the share
recognised as the category) and KID (how far they are from real drawings that neither network
trained on), each with its 95% bootstrap interval, go into
`history.csv` and `quality.png`. With `keep_best`, `generator.keras` is then the measured epoch of
lowest KID rather than the last.
"""))
    code("""
callbacks = [display.live_epoch_grid()]
if config.quality_every:  # keep_best: generator.keras becomes the measured epoch chosen at the end
    callbacks.append(quality.quality_callback(config, every=config.quality_every,
                                              keep_best=config.keep_best))
result = dcgan.train(config, images=images, callbacks=callbacks)
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
    return notebook


# -- notebooks/wikiart_dcgan.ipynb -----------------------------------------------------------------
WIKIART = SettingsNotebook(
    family="dcgan", file="wikiart_dcgan.ipynb", experiment="vangogh",
    example="make run EXPERIMENT=vangogh DATA=path/to/vangogh",
    imports=("dcgan", "display", "quality"))


def wikiart_dcgan() -> NotebookBuilder:
    notebook = NotebookBuilder()
    md, code = notebook.markdown, notebook.code

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
of the paper's continuous noisy ones) and `portraits`. `vangogh_small` and `expressionism_small`
are this project's small-data recipe, measured against the paper's (docs/small-data.md): the
few-shot `fastgan64` pair (skip-layer excitation, a generator that resizes and convolves instead
of transposed convolutions, so no checkerboard, and a discriminator that also redraws the real
paintings), DiffAugment, batch 16, and grids drawn by a moving average of the generator over
about five epochs.
""")
    WIKIART.parameters(notebook)
    notebook.setup_cells("""
Paintings: download a WikiArt style or artist folder (for example from the WikiArt data set used
by ArtGAN) and give its folder as `data`; any folder of images works.
""")
    WIKIART.resolve(notebook)

    md("""
## The paintings

Every file in the folder is decoded once (colour, grayscale, palette, RGBA and CMYK images all
become RGB), centre-cropped to a square and resized; unreadable files are skipped and listed.
""")
    code("""
images = dcgan.load_training_images(config)
print(f"{len(images):,} paintings at {images.shape[1]}x{images.shape[2]}")
display.show_grid(images[:32], columns=8, invert=False, scale=2)
""")

    md("""
## Training

The newest grid replaces the previous one after each epoch. `history.csv` records the losses and,
as the paper measured by hand, the discriminator's accuracy on each batch *before* its update.

With `quality_every` = K, every K epochs a few hundred paintings are measured by the painting judge
(a small CNN the project trains once on the shared image folders, docs/painting-quality.md): the
share it recognises as the run's folder and KID to the held-out paintings (`held_out_share`) go
into `history.csv` and `quality.png`; with `keep_best`, `generator.keras` is the measured epoch
chosen at the end. `make evaluate` measures the finished run the same way, with SWD beside them.
""")
    code("""
callbacks = [display.live_epoch_grid(width=384)]
if config.quality_every:  # keep_best: generator.keras becomes the measured epoch chosen at the end
    callbacks.append(quality.quality_callback(config, every=config.quality_every,
                                              keep_best=config.keep_best))
result = dcgan.train(config, images=images, callbacks=callbacks)
""")

    md("""
## Results

The final grid, the GIF, the loss and discriminator-accuracy curves, and generated paintings
beside originals (the paper's "original vs generated" figure).
""")
    code("""
display.show_run(result.run.root)
""")
    return notebook


# -- notebooks/cyclegan.ipynb ----------------------------------------------------------------------
CYCLEGAN = SettingsNotebook(
    family="cyclegan", file="cyclegan.ipynb", experiment="photo2vangogh",
    example="make run EXPERIMENT=photo2vangogh DOMAIN_X=photos DOMAIN_Y=paintings",
    imports=("cyclegan", "display"),
    extra=[("translate_input", "None", "an image or folder of yours to translate at the end "
                                       "(None: five photos the run did not train on)")])


def cyclegan_notebook() -> NotebookBuilder:
    from sketchdraw import cyclegan

    preset = cyclegan.preset(CYCLEGAN.experiment)
    notebook = NotebookBuilder()
    md, code = notebook.markdown, notebook.code

    md(reflow(f"""
# Photos into Van Gogh paintings and back: a CycleGAN on unpaired image sets

A **CycleGAN** (Zhu et al. 2017) learns to translate between two sets of images that are *not*
paired: nobody painted these exact landscapes. Two generators learn the two directions —
G: photo → painting and F: painting → photo — and two discriminators judge whether a photo or a
painting is real. What keeps the translation faithful to its input is the **cycle**: a photo turned
into a painting and back must come out as the same photo (an L1 loss weighted by
λ = {number(preset.cycle_weight)}).

Every epoch saves a grid of fixed examples — photo → painted → back, painting → photo → back — so
you can watch the style appear. Everything lands in `runs/<name>/`: the grids, a progress GIF, the
loss plot, checkpoints and both trained generators. Run the notebook again with more epochs and it
**resumes**.

The two folders are yours, and both must be set (`domain_x`, `domain_y`): landscape photos (e.g.
the CycleGAN authors' vangogh2photo "trainB" set, or your own pictures) and paintings (e.g.
WikiArt's Van Gogh or Expressionism pages); jpg/png/webp of any size, subfolders searched.
"""))
    CYCLEGAN.parameters(notebook)
    notebook.setup_cells("On Colab, upload or mount your two folders too.")
    CYCLEGAN.resolve(notebook)

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

    md(reflow(f"""
## Training

Each step: both generators translate a photo and a painting, and translate the results back; they
learn from the discriminators' verdicts (`loss`: {preset.loss.replace("_", " ")}), the cycle loss
and the identity loss (a painting given to the photo → painting generator should come out
unchanged, which keeps colours). Then each discriminator learns from a real image and a generated
one drawn from a pool of the last {preset.pool_size}, which calms the back-and-forth. The grid
below is replaced by the newest one after every epoch: each row shows input → translated →
reconstructed, first for a photo, then for a painting.
"""))
    code("""
result = cyclegan.train_cycle(config, images_x, images_y, callbacks=[display.live_epoch_grid(width=720)])
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
    return notebook


# -- notebooks/sketch2img.ipynb --------------------------------------------------------------------
SKETCH2IMG = SettingsNotebook(
    family="sketch2img", file="sketch2img.ipynb", experiment="faces_sketch2photo",
    example="make run EXPERIMENT=faces_sketch2photo EPOCHS=20",
    imports=("display", "sketch2img"),
    # the preset's value is this machine's absolute path; say where it is instead
    shown={"data_root": "the shared CUFS faces: ../shared/data/sketchy/cufs_faces, or "
                        "$SKETCHDRAW_SHARED_DATA/sketchy/cufs_faces"})


def sketch2img_notebook() -> NotebookBuilder:
    from sketchdraw import sketch2img

    preset = sketch2img.preset(SKETCH2IMG.experiment)
    notebook = NotebookBuilder()
    md, code = notebook.markdown, notebook.code

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
    SKETCH2IMG.parameters(notebook)
    notebook.setup_cells()

    md(reflow(f"""
The settings: the preset with every parameter that is not `None` applied, checked before anything
is loaded. The perceptual loss compares ImageNet-network features of generated and true photos
(the seed used Inception-v4; here `perceptual_network`, `{preset.perceptual_network}` in the
preset, from `keras.applications`). Its weights are downloaded once and cached in `~/.keras/models`; where
that is impossible (no network), asking for `perceptual_weight > 0` fails right here with a message
saying so, which is why the preset sets {number(preset.perceptual_weight)}.
"""))
    SKETCH2IMG.resolve(notebook)

    md(reflow(f"""
## The pairs

Sketches and photos pair up by file name. Sketches are inverted to **white lines on black** (the
network should see the lines as the important, high values); both are resized to
{preset.image_size}×{preset.image_size} and normalised as the seed does: centred on the dataset's
mean and divided by the largest absolute centred value, so everything stays within [-1, 1]. Photos
get a random brightness and contrast change each time they are used. Below: sketches (as drawn)
beside their photos.
"""))
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
    return notebook


# -- notebooks/compare_runs.ipynb ------------------------------------------------------------------
def compare_runs() -> NotebookBuilder:
    notebook = NotebookBuilder(gpu=False)
    md, code = notebook.markdown, notebook.code

    md("""
# Which run drew better? Comparing runs with measured quality

Looking at grids tells you a lot, but not whether run A's rabbits are better than run B's. This
notebook puts numbers on each run, measured in the feature space of a small **domain classifier**
trained on Quick, Draw! categories (following "Creative Sketch Generation", Ge et al. 2021):

- **FID** and **KID**: how far the generated drawings are from the run's training drawings (lower is better);
- **CS**, characteristic score: the share the classifier recognises as the intended category (higher is better);
- **GD**, generation diversity: the mean distance between two drawings (closer to the real row is better);
- **memorisation distance**: how far each drawing is from its nearest training drawing (near 0 means copies).

Every number sits beside the same number for **real held-out drawings** of the category, which
neither the GAN nor the classifier saw. A run far from that row has room to improve.
""")
    code("""
# Parameters (papermill replaces this cell).
runs = ["runs/rabbit", "runs/flower"]   # run folders or names in runs_dir; [] for every run there
runs_dir = "runs"                       # where run folders are looked up
evaluate_missing = True                 # measure runs that have no metrics.json yet
categories = None                       # classifier categories, e.g. ["rabbit", "cat"]; None: all at hand
samples = 1000                          # generated drawings measured per run
drawings_per_category = 2000            # the classifier learns from the first N drawings of each category
classifier_epochs = 5                   # classifier training epochs (cached after the first time)
""", tags=[PARAMETERS_TAG])
    code("""
from sketchdraw import quality

run_folders = quality.resolve_runs(runs, runs_dir)
print("runs:", ", ".join(str(folder) for folder in run_folders))
""")

    md("""
## Measure the runs

Runs without `metrics.json` are measured now (when `evaluate_missing` is on). The first time, the
classifier is trained on the first drawings of each category and saved in the cache; later runs
load it. `make evaluate RUN=runs/<name>` does the same from a terminal.
""")
    code("""
if evaluate_missing:
    quality.evaluate_missing(run_folders, classifier_categories=categories, samples=samples,
                             drawings_per_category=drawings_per_category,
                             classifier_epochs=classifier_epochs)
""")

    md("""
## The numbers

One row per run (its generated drawings), then the real held-out row of each category. Compare
runs at the same number of images seen (`images_seen`), and FID only between equal counts.
""")
    code("""
rows = quality.compare_table(run_folders)
print(quality.format_table(rows))
""")

    md("""
## The final grids, side by side

The newest grid of each run; for a `keep_best` run, the grid of the epoch its `generator.keras` is
(titled "kept").
""")
    code("""
quality.show_figure(quality.plot_final_grids(run_folders))
""")

    md("""
## Quality during training

Runs trained with `quality_every` = K (the quality curve: `quality.quality_callback(config,
every=K)`) have CS and KID every K epochs in their `history.csv`, with the real held-out CS as a
dashed line. Runs without those columns show their loss curves instead (losses say how the two
networks play, not how good the drawings are).
""")
    code("""
quality.show_figure(quality.plot_quality_curves(run_folders))
""")
    return notebook


NOTEBOOKS: dict[str, Callable[[], NotebookBuilder]] = {
    "quickdraw_dcgan.ipynb": quickdraw_dcgan,
    "wikiart_dcgan.ipynb": wikiart_dcgan,
    "cyclegan.ipynb": cyclegan_notebook,
    "sketch2img.ipynb": sketch2img_notebook,
    "conditional.ipynb": conditional_notebook,
    "compare_runs.ipynb": compare_runs,
}
SETTINGS_NOTEBOOKS = (QUICKDRAW, WIKIART, CYCLEGAN, SKETCH2IMG, CONDITIONAL)
