"""How well a run draws: metrics, the judge, evaluate, the quality curve, keep_best, comparison.
Never imports the training code: the skeleton hands the curve the generator an epoch ends with."""

from sketchdraw.quality.compare import (  # noqa: F401
    QUALITY_PLOT,
    REAL_ROW,
    compare_table,
    discriminator_balance,
    format_table,
    plot_discriminator_balance,
    plot_final_grids,
    plot_quality_curves,
    read_metrics,
    resolve_runs,
    save_quality_plot,
    show_figure,
)
from sketchdraw.quality.curve import QUALITY_SAMPLES, quality_callback  # noqa: F401
from sketchdraw.quality.evaluation import (  # noqa: F401
    DEFAULT_SAMPLES,
    draw_spread,
    evaluate,
    evaluate_missing,
    measure_draws,
)
from sketchdraw.quality.judge import (  # noqa: F401
    DEFAULT_DRAWINGS_PER_CATEGORY,
    choose_categories,
    default_drawings_per_category,
    domain_classifier,
    load_run_config,
    reference_drawings,
)
from sketchdraw.quality.keep_best import (  # noqa: F401
    best_record,
    choose_best,
    keep_best_generator,
    kept_rows,
    read_best,
)
