"""Sections 1, 2 and 7: training throughput against the seeds' own code, the input pipeline alone,
and (on a GPU) mixed precision and several steps per `tf.function` call.

Contestants, all on the same real rabbit drawings (tiled in memory), the `tutorial` architecture
and the same batch size:
- sketchdraw: `dcgan.make_train_step` fed by `pipeline.image_dataset`, driven by
  `loop.run_epoch` exactly as `dcgan.train` does (progress bar off);
- seed 001: `seed001_tutorial.py`, the tutorial's module-global `@tf.function train_step` fed by
  `from_tensor_slices(float32).shuffle(len).batch(256)`;
- seed 000: `seed000_keras_loop.py`, `predict` + three `train_on_batch` calls per batch;
- pipeline alone: the sketchdraw tf.data chain, iterated without training.
They run interleaved in one process (warm-up untimed); figures are medians over rounds.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator

import numpy as np
from common import Contestant, Row, interleave, judged, median, round_ratios, spread

PIPELINE_BATCHES_PER_STEP = 20  # the chain is ~1000x faster than a step: time more of it per round


def endless(dataset: Iterable) -> Iterator:
    """Epoch after epoch, as an epoch loop sees it (each new pass reshuffles)."""
    while True:
        yield from dataset


def sketchdraw_contestant(images: np.ndarray, batch_size: int, steps_per_call: int = 1,
                          name: str = "sketchdraw") -> Contestant:
    import tensorflow as tf

    from sketchdraw import dcgan, loop, losses, pipeline, skeleton

    config = dcgan.resolve("rabbit", batch_size=batch_size, progress=False)
    skeleton.keras_seed(config.seed)
    strategy = dcgan.choose_strategy()
    with strategy.scope():
        generator, discriminator = dcgan.build_models(config)
        generator_optimizer = skeleton.adam(config.generator_learning_rate, config.generator_beta1,
                                            generator, config.generator_beta2)
        discriminator_optimizer = skeleton.adam(config.discriminator_learning_rate,
                                                config.discriminator_beta1, discriminator,
                                                config.discriminator_beta2)
    step = dcgan.make_train_step(generator, discriminator, generator_optimizer,
                                 discriminator_optimizer, losses.get(config.loss), batch_size,
                                 config.noise_dim, strategy)
    dataset = pipeline.image_dataset(images, batch_size, (28, 28, 1), seed=config.seed)

    if steps_per_call == 1:
        batches = endless(strategy.experimental_distribute_dataset(dataset))

        def run(steps: int) -> int:
            loop.run_epoch(step, itertools.islice(batches, steps), steps, batch_size,
                           description=name, progress=False)
            return steps * batch_size

        return Contestant(name, run)

    # Several steps per call: the loop lives inside one tf.function (calling the compiled step
    # there inlines it), so the host launches one function per `steps_per_call` batches.
    iterator = iter(strategy.experimental_distribute_dataset(dataset.repeat()))

    @tf.function
    def several_steps(iterator):
        statistics = step(next(iterator))
        for _ in range(steps_per_call - 1):
            statistics = step(next(iterator))
        return statistics

    def run_several(steps: int) -> int:
        calls = max(1, steps // steps_per_call)
        statistics = None
        for _ in range(calls):
            statistics = several_steps(iterator)
        float(statistics["generator_loss"])  # wait for the device before the clock stops
        return calls * steps_per_call * batch_size

    return Contestant(name, run_several)


def seed001_contestant(rows: np.ndarray, batch_size: int) -> Contestant:
    import seed001_tutorial as seed
    import tensorflow as tf

    seed.BATCH_SIZE = batch_size
    seed.setup(rows)
    # A traced train_step keeps the variables of the models it first saw (the module-global
    # pattern's trap): a fresh tf.function makes a second set-up (section 7) train its own models.
    seed.train_step = tf.function(seed.train_step.python_function)
    batches = seed.batches_forever()
    remainder = len(rows) % batch_size
    if remainder:
        # The seed's last batch of each epoch is short and traces train_step a second time, once
        # per process: do that during warm-up rather than inside a timed round.
        seed.train_step(tf.constant(seed.train_images[:remainder]))

    def run(steps: int) -> int:
        images = 0
        for _ in range(steps):
            image_batch = next(batches)
            seed.train_step(image_batch)
            images += int(image_batch.shape[0])
        seed.generator.trainable_variables[0].numpy()  # wait for the device before the clock stops
        return images

    return Contestant("seed 001 tutorial", run)


def seed000_contestant(rows: np.ndarray, batch_size: int) -> tuple[Contestant, object]:
    import seed000_keras_loop as seed

    X_train = seed.prepare(rows)
    gan = seed.DCGAN(batch_size)

    def run(steps: int) -> int:
        return gan.train_batches(X_train, batch_size, steps)

    return Contestant("seed 000 Keras loop", run), gan


def pipeline_contestant(images: np.ndarray, batch_size: int) -> Contestant:
    from sketchdraw import pipeline

    batches = endless(pipeline.image_dataset(images, batch_size, (28, 28, 1), seed=0))

    def run(steps: int) -> int:
        count = steps * PIPELINE_BATCHES_PER_STEP
        for _ in range(count):
            next(batches)
        return count * batch_size

    return Contestant("pipeline alone", run)


def measure(images: np.ndarray, batch_size: int, rounds: int, steps: int, warm_up_steps: int,
            log: Callable[[str], None] = print) -> list[Row]:
    """Sections 1 and 2."""
    ours = sketchdraw_contestant(images, batch_size)
    tutorial = seed001_contestant(images, batch_size)
    keras_loop, keras_gan = seed000_contestant(images, batch_size)
    data_only = pipeline_contestant(images, batch_size)
    # The pipeline goes right after sketchdraw: placed after the Keras loop, some of its rounds
    # stalled for seconds (an interaction inside this shared process; alone it never stalls).
    contestants = [ours, data_only, tutorial, keras_loop]
    log(f"section 1-2: {rounds} interleaved rounds of {steps} batches of {batch_size} "
        f"({len(images):,} drawings in memory)")
    interleave(contestants, rounds, steps, warm_up_steps, log)

    against_tutorial = round_ratios(ours, tutorial)
    against_keras = round_ratios(ours, keras_loop)
    pipeline_multiple = round_ratios(data_only, ours)
    total = sum(keras_gan.seconds.values()) or 1.0
    keras_split = ", ".join(f"{name} {100 * seconds / total:.0f}%"
                            for name, seconds in keras_gan.seconds.items())
    section = "1 training throughput"
    rows = [
        Row(section, f"sketchdraw step + tf.data, images/s (batch {batch_size})",
            f"{median(ours.rates):.0f}", notes=f"rounds: {', '.join(f'{r:.0f}' for r in ours.rates)}"),
        Row(section, "(a) seed 001 tutorial code, images/s", f"{median(tutorial.rates):.0f}",
            notes=f"rounds: {', '.join(f'{r:.0f}' for r in tutorial.rates)}"),
        Row(section, "(b) seed 000 Keras loop, images/s", f"{median(keras_loop.rates):.0f}",
            notes=f"rounds: {', '.join(f'{r:.0f}' for r in keras_loop.rates)}; time split: {keras_split}"),
        Row(section, "sketchdraw / (a)", f"{median(against_tutorial):.2f}x", ">= 1.0x",
            judged(median(against_tutorial), 1.0, True),
            f"median of per-round ratios (range {spread(against_tutorial)})"),
        Row(section, "sketchdraw / (b)", f"{median(against_keras):.2f}x", ">= 2.5x",
            judged(median(against_keras), 2.5, True),
            f"median of per-round ratios (range {spread(against_keras)})"),
        Row("2 input pipeline", "tf.data chain alone, images/s; multiple of training",
            f"{median(data_only.rates):,.0f}/s = {median(pipeline_multiple):.0f}x", ">= 10x",
            judged(median(pipeline_multiple), 10.0, True),
            f"per-round multiples {spread(pipeline_multiple)}"),
    ]
    return rows


def measure_gpu(images: np.ndarray, batch_size: int, rounds: int, steps: int, warm_up_steps: int,
                steps_per_call: int = 4, log: Callable[[str], None] = print) -> list[Row]:
    """Section 7: the throughput table under float32 and mixed_float16, plus several steps per call."""
    import keras

    section = "7 GPU"
    rows = []
    for policy in ("float32", "mixed_float16"):
        keras.mixed_precision.set_global_policy(policy)
        try:
            contestants = [
                sketchdraw_contestant(images, batch_size),
                sketchdraw_contestant(images, batch_size, steps_per_call,
                                      name=f"sketchdraw {steps_per_call} steps/call"),
                seed001_contestant(images, batch_size),
                seed000_contestant(images, batch_size)[0],
            ]
            log(f"section 7 ({policy}): {rounds} rounds of {steps} batches")
            interleave(contestants, rounds, steps, max(warm_up_steps, steps_per_call), log)
        except Exception as error:  # a failure here is a result to report, not a crash
            rows.append(Row(section, f"{policy}: throughput", "failed", status="-",
                            notes=f"{type(error).__name__}: {str(error).splitlines()[0][:160]}"))
            continue
        finally:
            keras.mixed_precision.set_global_policy("float32")
        ours = contestants[0]
        for contestant in contestants:
            rows.append(Row(section, f"{policy}: {contestant.name}, images/s",
                            f"{median(contestant.rates):.0f}"))
        for other, target in ((contestants[2], 1.0), (contestants[3], 2.5)):
            ratio = median(round_ratios(ours, other))
            rows.append(Row(section, f"{policy}: sketchdraw / {other.name}", f"{ratio:.2f}x",
                            f">= {target}x", judged(ratio, target, True)))
        ratio = median(round_ratios(contestants[1], ours))
        rows.append(Row(section, f"{policy}: {steps_per_call} steps per call / 1 step per call",
                        f"{ratio:.2f}x"))
    return rows
