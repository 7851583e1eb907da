"""What notebooks/conditional.ipynb says: one generator for many Quick, Draw! categories."""

from __future__ import annotations

from notebook_builder import NotebookBuilder, SettingsNotebook, number, reflow

CONDITIONAL = SettingsNotebook(
    family="conditional", file="conditional.ipynb", experiment="doodles35",
    example="make run EXPERIMENT=doodles3 EPOCHS=20",
    imports=("conditional", "display"),
    shown={"categories": "the 35 categories of the shared mirror (sketchdraw.conditional.SHARED_CATEGORIES)"})


def conditional_notebook() -> NotebookBuilder:
    from sketchdraw import conditional

    many, three = conditional.preset("doodles35"), conditional.preset("doodles3")
    notebook = NotebookBuilder()
    md, code = notebook.markdown, notebook.code

    md(reflow(f"""
# One generator, many categories: a class-conditional GAN on Quick, Draw!

The other doodle notebook trains one network per category. Here one **generator** learns
{len(many.category_list)} categories at once: its noise is scaled by a learned embedding of the
category's label, and the **discriminator** judges each drawing *as a drawing of its label* (a projection discriminator, Miyato & Koyama 2018). Asking for "rabbit" then draws a rabbit,
and the categories share what doodles have in common: strokes, closed shapes, faces.

The recipe is `rabbit_small`'s (docs/small-data.md): UpSampling2D networks, batch
{many.batch_size}, Adam {number(many.generator_learning_rate)} for the generator and
{number(many.discriminator_learning_rate)} for the discriminator, a moving average of the
generator, page translation and one-sided label smoothing, on the first {many.limit} drawings of
each category (of a category with fewer than {2 * many.limit}, the first half: the rest stay unseen,
for its judge). Presets: `doodles35` (every category of the shared mirror) and `doodles3` (rabbit,
flower and cat for {three.epochs} epochs: the images that three single-category `rabbit_small`
runs see together).

Every epoch saves a grid with **one row per category**; a column is one noise vector drawn as each
category. Everything lands in `runs/<name>/`; run the notebook again with more epochs and it
**resumes**. `make serve RUN=runs/<name>` opens the drawing page on the finished run.
"""))
    CONDITIONAL.parameters(notebook)
    notebook.setup_cells()
    CONDITIONAL.resolve(notebook)

    md("""
## The drawings

The first drawings of each category, a row per category (the order of `categories` is the order of
the labels).
""")
    code("""
images, labels = conditional.load_labelled_drawings(config)
print(f"{len(images):,} drawings of {len(config.category_list)} categories")
""")

    md("""
## Training

The grid below is replaced after every epoch: a row per category, the same noise in each column.
""")
    code("""
result = conditional.train(config, data=(images, labels), callbacks=[display.live_epoch_grid()],
                           strategy=strategy)
""")

    md("""
## Results

The newest grid, the progress GIF, the losses per epoch, and `samples.png` (generated drawings of
every category beside real ones).
""")
    code("""
display.show_run(result.run.root)
""")
    return notebook
