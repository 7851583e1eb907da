"""Writes notebooks/compare_runs.ipynb (run once after editing; the notebook is committed)."""

from notebook_builder import NotebookBuilder

notebook = NotebookBuilder()
md = notebook.markdown
code = notebook.code

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
""", tags=["parameters"])

code("""
from sketchdraw import evaluation

run_folders = evaluation.resolve_runs(runs, runs_dir)
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
    evaluation.evaluate_missing(run_folders, classifier_categories=categories, samples=samples,
                                drawings_per_category=drawings_per_category,
                                classifier_epochs=classifier_epochs)
""")

md("""
## The numbers

One row per run (its generated drawings), then the real held-out row of each category. Compare
runs at the same number of images seen (`images_seen`), and FID only between equal counts.
""")

code("""
rows = evaluation.compare_table(run_folders)
print(evaluation.format_table(rows))
""")

md("""
## The final grids, side by side
""")

code("""
evaluation.show_figure(evaluation.plot_final_grids(run_folders))
""")

md("""
## Quality during training

Runs trained with `evaluation.quality_callback(config, every=K)` have CS and KID every K epochs in
their `history.csv`: a quality curve, with the real held-out CS as a dashed line. Runs without those
columns show their loss curves instead (losses say how the two networks play, not how good the
drawings are).
""")

code("""
evaluation.show_figure(evaluation.plot_quality_curves(run_folders))
""")

notebook.write("notebooks/compare_runs.ipynb", gpu=False)
