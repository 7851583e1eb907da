"""How well a run draws: metrics, the judges (doodles, paintings), evaluate, the quality curve,
keep_best, comparison.
Never imports the training code: the skeleton hands the curve the generator an epoch ends with."""

from sketchdraw.dcgan.keep_best import (  # noqa: F401
    best_record,
    choose_best,
    keep_best_generator,
    kept_rows,
    read_best,
)
from sketchdraw.quality.compare import (  # noqa: F401
    QUALITY_PLOT,
    REAL_ROW,
    compare_table,
    discriminator_balance,
    format_table,
    interval_summary,
    plot_discriminator_balance,
    plot_final_grids,
    plot_quality_curves,
    read_metrics,
    resolve_runs,
    save_quality_plot,
    show_figure,
)
from sketchdraw.quality.curve import QUALITY_SAMPLES, quality_callback, remeasure_curve  # noqa: F401
from sketchdraw.quality.evaluation import (  # noqa: F401
    DEFAULT_SAMPLES,
    draw_spread,
    evaluate,
    measure_draws,
)
from sketchdraw.quality.intervals import bootstrap_intervals  # noqa: F401
from sketchdraw.quality.judge import (  # noqa: F401
    DEFAULT_DRAWINGS_PER_CATEGORY,
    choose_categories,
    domain_classifier,
    load_run_config,
    reference_drawings,
)
from sketchdraw.quality.missing import evaluate_missing  # noqa: F401
from sketchdraw.quality.painting_evaluation import (  # noqa: F401
    evaluate_paintings,
    format_painting_table,
    is_painting_run,
)
from sketchdraw.quality.per_category import (  # noqa: F401
    evaluate_conditional,
    format_per_category,
    is_conditional_run,
)
