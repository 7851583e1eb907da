"""How a run uses its devices: the distribution strategy, the global and per-replica batch, batch
norm synchronised across replicas, mixed precision, XLA and several steps per compiled call.

The settings are every family's (`settings.ScalingSettings`); the skeleton makes a `Devices` from
them before anything is built, and each family builds its networks in `devices.strategy.scope()`
and compiles its step with `compile_step`:

    devices = Devices.from_settings(config)           # strategy, batches, precision
    with devices.strategy.scope(): ...build...
    step, steps = compile_step(replica_step, devices)  # one batch; `steps_per_call` batches
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass

import keras
import tensorflow as tf

_STRATEGIES: dict[str, tf.distribute.Strategy] = {}  # one per kind per process (multi-worker: once)


def make_strategy(kind: str) -> tf.distribute.Strategy:
    """The strategy a run's `strategy` setting names (created once per process and reused)."""
    if kind == "auto":
        return tf.distribute.MirroredStrategy() if len(tf.config.list_logical_devices("GPU")) > 1 \
            else tf.distribute.get_strategy()
    if kind == "one_device":
        return tf.distribute.get_strategy()
    if kind not in _STRATEGIES:
        _STRATEGIES[kind] = _new_strategy(kind)
    return _STRATEGIES[kind]


def _new_strategy(kind: str) -> tf.distribute.Strategy:
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    if kind == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError("strategy multi_worker needs TF_CONFIG: the cluster (every worker's "
                             "host:port) and this worker's task; see docs/scaling.md")
        cluster = json.loads(os.environ["TF_CONFIG"])
        if "cluster" not in cluster or "task" not in cluster:
            raise ValueError("TF_CONFIG must hold 'cluster' and 'task' (see docs/scaling.md)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, tf.errors.OpError) as error:
            raise ValueError(f"strategy tpu: no TPU found ({str(error).splitlines()[0]}); on "
                             "Colab choose a TPU runtime, elsewhere set TPU_NAME") from None
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"unknown strategy {kind!r}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run folder: always, except a multi-worker run's workers
    other than the chief (task 0 of "worker", or the "chief" task)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    return _is_chief_task(resolver.task_type, resolver.task_id, resolver.cluster_spec().as_dict())


def is_chief_process(strategy_setting: str, environ=None) -> bool:
    """`is_chief` read from a run's `strategy` setting and TF_CONFIG without making the strategy
    (which must be made in the process that trains): what the CLI asks before a kernel starts."""
    environ = os.environ if environ is None else environ
    if strategy_setting != "multi_worker" or not environ.get("TF_CONFIG"):
        return True
    try:
        tf_config = json.loads(environ["TF_CONFIG"])
        task = tf_config.get("task") or {}
        return _is_chief_task(task.get("type"), task.get("index"), tf_config.get("cluster") or {})
    except (ValueError, AttributeError):
        return True  # malformed: the kernel's make_strategy refuses it with the reason


def _is_chief_task(task_type, task_id, cluster: dict) -> bool:
    return task_type == "chief" or (task_type in (None, "worker") and task_id in (None, 0) and
                                    "chief" not in cluster)


@dataclass
class Devices:
    """What a run's step needs to know about the devices."""

    strategy: tf.distribute.Strategy
    global_batch: int  # the images of one step over all replicas
    precision: str = "float32"
    jit_compile: bool = False
    steps_per_call: int = 1
    sync_batch_norm: bool = True

    @classmethod
    def from_settings(cls, config, strategy: tf.distribute.Strategy | None = None) -> Devices:
        strategy = strategy or make_strategy(config.strategy)
        replicas = strategy.num_replicas_in_sync
        global_batch = config.batch_size * replicas if config.batch_scope == "per_replica" \
            else config.batch_size
        if global_batch % replicas:
            raise ValueError(f"batch_size {config.batch_size} does not split over {replicas} "
                             f"replicas: use a multiple of {replicas}, or batch_scope=per_replica")
        return cls(strategy, global_batch, config.precision, config.jit_compile,
                   config.steps_per_call, config.sync_batch_norm)

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    @property
    def per_replica_batch(self) -> int:
        return self.global_batch // self.replicas

    def describe(self) -> str | None:
        """A line for the start of a run when anything is not the plain one-device float32 step."""
        plain = self.replicas == 1 and self.precision == "float32" and not self.jit_compile \
            and self.steps_per_call == 1
        if plain:
            return None
        parts = [f"{type(self.strategy).__name__}, {self.replicas} replica(s)",
                 f"batch {self.global_batch} = {self.per_replica_batch} per replica"]
        if self.replicas > 1:
            parts.append("batch norm " + ("synchronised" if self.sync_batch_norm else "per replica"))
        parts.append(self.precision)
        if self.jit_compile:
            parts.append("XLA")
        if self.steps_per_call > 1:
            parts.append(f"{self.steps_per_call} steps per call")
        return "devices: " + ", ".join(parts)

    @contextlib.contextmanager
    def building(self):
        """Build networks and optimizers inside this: the strategy's scope and the precision
        policy (restored afterwards, so later models in the process are unaffected)."""
        previous = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(self.precision)
        try:
            with self.strategy.scope():
                yield
        finally:
            keras.mixed_precision.set_global_policy(previous)

    def prepare(self, *models) -> None:
        """After building: batch norm layers synchronised over the replicas when asked."""
        if self.replicas > 1 and self.sync_batch_norm:
            for model in models:
                for layer in _all_layers(model):
                    if isinstance(layer, keras.layers.BatchNormalization):
                        layer.synchronized = True

    def optimizer(self, optimizer: keras.optimizers.Optimizer, model) -> keras.optimizers.Optimizer:
        """`optimizer` with loss scaling under mixed_float16 (float16 gradients underflow
        without it), built for `model`'s weights now (not lazily inside a replica); the others
        as they are."""
        if self.precision != "mixed_float16":
            return optimizer
        scaled = keras.optimizers.LossScaleOptimizer(optimizer)
        scaled.build(model.trainable_variables)
        return scaled


def inner_optimizer(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """What a checkpoint keeps of an optimizer: the wrapped one under loss scaling, so that a run
    resumes whatever its precision."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def as_float32(tensor: tf.Tensor) -> tf.Tensor:
    """Losses and statistics are taken in float32 whatever the precision of the network."""
    return tf.cast(tensor, tf.float32)


def compile_step(replica_step: Callable, devices: Devices, after: Callable[[], None] | None = None,
                 eager: bool = False) -> tuple[Callable, Callable | None]:
    """The compiled train step for one (distributed) batch, and for `devices.steps_per_call`
    batches drawn from an iterator in one call (None when that is 1).

    `replica_step(*batch)` runs on each replica and returns a dict of scalars already averaged
    over the global batch; the step sums them over the replicas (the multi-step call also over
    its batches). `after()` runs in cross-replica context after each step (an EMA update).
    `eager`: plain Python, no tf.function (Keras's run_eagerly: debugging, tiny test networks).
    """
    strategy = devices.strategy
    on_replica = tf.function(replica_step, jit_compile=True) \
        if devices.jit_compile and not eager else replica_step

    def one_step(batch):
        batch = batch if isinstance(batch, tuple) else (batch,)
        per_replica = strategy.run(on_replica, args=batch)
        if after is not None:
            after()
        return {key: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                for key, value in per_replica.items()}

    single = one_step if eager else tf.function(one_step)
    if devices.steps_per_call == 1:
        return single, None

    def several_steps(iterator):
        totals = one_step(next(iterator))
        for _ in tf.range(devices.steps_per_call - 1):
            statistics = one_step(next(iterator))
            totals = {key: totals[key] + statistics[key] for key in totals}
        return totals

    return single, several_steps if eager else tf.function(several_steps)


def _all_layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _all_layers(layer)
