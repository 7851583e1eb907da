"""Section 9: how fast one device goes with the devices settings, through the project's own step
(`dcgan.make_train_steps` with a `scaling.Devices`, as `dcgan.train` builds it).

For the tutorial models at batch 256 and rabbit_small's models at batch 32: images/s of the plain
float32 step, of `steps_per_call` 8 and 32, of XLA (`jit_compile`), and of mixed precision
(`mixed_bfloat16` on a CPU, `mixed_float16` on a GPU), each as a ratio to the plain step measured
in the same rounds. Two workers against one is a correctness matter on one 2-core machine (both
processes share the same cores), so it is tested (tests/test_multi_worker.py), not timed here.

    python bench/scaling.py [--quick] [--output FILE]   # alone, or as part of bench/run.py
    python bench/scaling.py --gpu                       # on a lent GPU: < 10 minutes, writes a file
"""

from __future__ import annotations

import argparse
import datetime
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO_ROOT, Contestant, Row, interleave, median, round_ratios, spread  # noqa: E402

MODELS = (("rabbit", 256), ("rabbit_small", 32))  # preset (its models), batch size


@dataclass(frozen=True)
class Budget:
    rounds: int
    steps: int  # batches per timed round (a multiple of the largest steps_per_call)
    warm_up: int


FULL = Budget(rounds=3, steps=32, warm_up=32)
QUICK = Budget(rounds=1, steps=8, warm_up=8)  # checks that every variant runs; rough figures
GPU = Budget(rounds=5, steps=256, warm_up=64)


def variants(gpu: bool, most_steps: int) -> list[tuple[str, dict]]:
    mixed = "mixed_float16" if gpu else "mixed_bfloat16"
    several = [8, 32] if most_steps >= 32 else [8]
    return [("plain", {}), *[(f"{n} steps/call", dict(steps_per_call=n)) for n in several],
            ("XLA", dict(jit_compile=True)), (mixed, dict(precision=mixed)),
            (f"{mixed} + XLA + {several[-1]} steps/call",
             dict(precision=mixed, jit_compile=True, steps_per_call=several[-1]))]


def contestant(images, preset: str, batch_size: int, name: str, options: dict) -> Contestant:
    import tensorflow as tf

    from sketchdraw import dcgan, losses, pipeline, skeleton
    from sketchdraw.scaling import Devices

    config = dcgan.resolve(preset, batch_size=batch_size, progress=False, **options)
    skeleton.keras_seed(config.seed)
    devices = Devices.from_settings(config)
    with devices.building():
        generator, discriminator = dcgan.build_models(config)
        optimizers = [devices.optimizer(skeleton.adam(1e-4, 0.5, model), model)
                      for model in (generator, discriminator)]
        noise = tf.random.Generator.from_seed(config.seed)
    single, several = dcgan.make_train_steps(
        generator, discriminator, *optimizers, losses.get(config.loss), batch_size,
        config.noise_dim, devices=devices, noise_generator=noise,
        options=dcgan.StepOptions(augment=config.augment))
    dataset = pipeline.image_dataset(images, batch_size, (28, 28, 1), seed=config.seed).repeat()
    iterator = iter(devices.strategy.experimental_distribute_dataset(dataset))

    def run(steps: int) -> int:
        statistics = None
        if several is None:
            for _ in range(steps):
                statistics = single(next(iterator))
        else:
            for _ in range(max(1, steps // devices.steps_per_call)):
                statistics = several(iterator)
            steps = max(1, steps // devices.steps_per_call) * devices.steps_per_call
        float(statistics["generator_loss"])  # wait for the device before the clock stops
        return steps * batch_size

    return Contestant(name, run)


def measure(images, budget: Budget = FULL, gpu: bool = False,
            log: Callable[[str], None] = print) -> list[Row]:
    section = "9 one device, fast"
    rows = []
    for preset, batch_size in MODELS:
        contestants = []
        for name, options in variants(gpu, budget.steps):
            try:
                contestants.append(contestant(images, preset, batch_size, name, options))
            except Exception as error:  # a variant the machine cannot run is a result to report
                rows.append(Row(section, f"{preset} (batch {batch_size}): {name}", "failed",
                                notes=f"{type(error).__name__}: {str(error).splitlines()[0][:160]}"))
        log(f"section 9, {preset} models, batch {batch_size}: {budget.rounds} rounds of "
            f"{budget.steps} batches")
        interleave(contestants, budget.rounds, budget.steps, budget.warm_up, log)
        plain = contestants[0]
        for entry in contestants:
            ratios = round_ratios(entry, plain)
            rows.append(Row(
                section, f"{preset} (batch {batch_size}): {entry.name}, images/s; / plain",
                f"{median(entry.rates):,.0f}; {median(ratios):.2f}x",
                ">= 1.0x" if "steps/call" in entry.name and "+" not in entry.name else "-",
                ("met" if median(ratios) >= 1.0 else "missed")
                if "steps/call" in entry.name and "+" not in entry.name else "-",
                f"per-round ratios {spread(ratios)}"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two short rounds (a check, ~2 min)")
    parser.add_argument("--gpu", action="store_true",
                        help="the lent-GPU script: mixed_float16, longer rounds, a results file")
    parser.add_argument("--output", type=Path, default=None)
    arguments = parser.parse_args(argv)
    import common
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if arguments.gpu and not gpus:
        print("no GPU is visible (tf.config.list_physical_devices('GPU') is empty)", file=sys.stderr)
        return 2
    budget = GPU if arguments.gpu else QUICK if arguments.quick else FULL
    started = time.perf_counter()
    images = common.tiled(common.rabbit_rows(), 20_000)
    rows = measure(images, budget, gpu=bool(gpus), log=lambda line: print(line, file=sys.stderr))
    from common import format_table

    device = ", ".join(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                       for gpu in gpus) or "CPU"
    document = (f"# sketchdraw section 9 (devices settings), {datetime.date.today()}, "
                f"{socket.gethostname()}, {device}\n\n- TensorFlow {tf.__version__}; "
                f"{budget.rounds} interleaved rounds x {budget.steps} batches; took "
                f"{time.perf_counter() - started:.0f} s\n\n{format_table(rows)}\n")
    print(document)
    if arguments.output or arguments.gpu:
        from sketchdraw.atomicfiles import atomic_write_text

        output = arguments.output or REPO_ROOT / "bench" / "results" / \
            f"{datetime.date.today()}-{socket.gethostname()}-gpu-scaling.md"
        atomic_write_text(output, document)
        print(f"written to {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
