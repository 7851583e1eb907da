"""tf.data chains from uint8 image arrays to float32 batches in [-1, 1].

One chain for every data set (Quick, Draw! bitmaps, painting folders): the chain draws a fresh
permutation of the *indices* each epoch (and, with `flip`, which images to mirror), batches them,
gathers each batch of rows from the uint8 array, reshapes, scales it to [-1, 1] and optionally
flips it, then prefetches. Permuting indices rather than images costs 8 bytes per drawing, so the
whole set is reshuffled every epoch without a second copy of it (a `shuffle` buffer of indices was
measured at ~200 bytes per element). Everything random comes from the seed through stateless ops,
so one seed gives the same batches, flips included, run after run.

The gather has two sources (`image_dataset(..., source=...)`). "numpy", the default outside a
TPUStrategy, reads the numpy array in place through `tf.numpy_function` (one call per batch, not
per image). Wrapping the array as a tensor instead (`tf.convert_to_tensor`, `from_tensor_slices`)
was measured here to cost twice the array's size in extra memory for a 150,000-drawing category,
while the in-place gather adds ~40 MB and delivers ~400,000 drawings/s on 2 CPU cores, far more
than training consumes. But a chain that calls Python cannot run where that Python is not: a TPU
worker fed by `tf.distribute.TPUStrategy`, a chain rebuilt from its serialized graph, a tf.data
service worker. "tensor" is for those: it copies the array once into an aligned host tensor
(`host_tensor`) and gathers with `tf.gather`, a pure graph; "auto" picks it where
`needs_graph_only_input(strategy)` says so. Both sources share every other step and give identical
batches. The trade, measured on 150,000 real rabbit drawings tiled (118 MB) on 2 busy CPU cores,
a fresh process per source and round (`python bench/data_paths.py`; `--quick` in ~20 s): numpy
+0.20x the array in resident memory (24 MB), ~441,000 images/s; tensor +1.21x (142 MB: its copy
plus the same overhead), ~592,000 images/s, a median 1.28x numpy's speed (per round 0.82-1.44x,
another run 1.45x: noisy on a shared machine, both far above what training consumes). The
tensor source turns tf.data's static rewrites off: they serialize the graph, captured rows
included, and rebuild it with a second copy (measured +2.2x in all instead of +1.2x). A
serialized graph carries the rows and protobuf caps it at 2 GB (~2.7 million drawings, ~10,000
paintings of 256x256).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def scale_to_unit_range(images_uint8: tf.Tensor) -> tf.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1]."""
    return tf.cast(images_uint8, tf.float32) / 127.5 - 1.0


SOURCES = ("auto", "numpy", "tensor")
# Where the tensor path keeps its copy of the rows: past Eigen's widest alignment, so TensorFlow
# can use the buffer as it is (an unaligned buffer is copied, or refused outright by dlpack).
_HOST_ALIGNMENT = 4096


def needs_graph_only_input(strategy: tf.distribute.Strategy | None) -> bool:
    """True where the input pipeline must run without Python: under a `tf.distribute.TPUStrategy`.

    The check is an isinstance against `tf.distribute.TPUStrategy` and its older
    `tf.distribute.experimental.TPUStrategy` (two separate classes), so nothing is created or
    connected; `None` and every other strategy give False.
    """
    if strategy is None:
        return False
    tpu_classes = tuple(cls for cls in (getattr(tf.distribute, "TPUStrategy", None),
                                        getattr(tf.distribute.experimental, "TPUStrategy", None))
                        if isinstance(cls, type))
    return bool(tpu_classes) and isinstance(strategy, tpu_classes)


def resolve_source(source: str = "auto", strategy: tf.distribute.Strategy | None = None) -> str:
    """"numpy" or "tensor": what `image_dataset(..., source=source, strategy=strategy)` uses.

    "auto" is "tensor" when `needs_graph_only_input(strategy)` is true and "numpy" otherwise; with
    `strategy=None` it asks about the strategy in scope (`tf.distribute.get_strategy()`), which
    outside any `strategy.scope()` is the default strategy, so "auto" is "numpy" there.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    if source != "auto":
        return source
    if strategy is None:
        strategy = tf.distribute.get_strategy()
    return "tensor" if needs_graph_only_input(strategy) else "numpy"


def host_tensor(images: np.ndarray) -> tf.Tensor:
    """A CPU tensor holding a copy of `images`, costing one copy of the array at most at any time.

    `tf.constant(images)` makes two (its own defensive numpy copy, then an aligned one: measured
    peak +2x the array in the chain, +1.3x after); here the rows are copied once into an aligned
    buffer that the tensor then uses in place through dlpack. The copy, not the caller's array,
    backs the tensor: changing the array afterwards does not change the tensor.
    """
    images = np.asarray(images)
    raw = np.empty(images.nbytes + _HOST_ALIGNMENT, np.uint8)
    offset = -raw.ctypes.data % _HOST_ALIGNMENT
    aligned = raw[offset:offset + images.nbytes].view(images.dtype).reshape(images.shape)
    aligned[...] = images
    return tf.experimental.dlpack.from_dlpack(aligned.__dlpack__())


def _numpy_rows(images: np.ndarray):
    def take_rows(indices):
        return images[indices]

    def rows(indices):
        return tf.numpy_function(take_rows, [indices], tf.uint8, stateful=False)

    return rows


def _tensor_rows(images: np.ndarray):
    held = host_tensor(images)

    def rows(indices):
        return tf.gather(held, indices)

    return rows


ENDLESS = np.iinfo(np.int64).max  # epochs in a stream of epochs (`first_epoch`)


def _index_batches(count: int, batch_size: int, shuffle: bool, seed: int | None, flip: bool,
                   drop_remainder: bool, first_epoch: int | None = None) -> tf.data.Dataset:
    """Batches of row indices (and, with `flip`, of flip decisions), the same for every source.

    Everything random is drawn here, from the seed and a per-epoch seed, with stateless ops: a
    batch's indices and flips do not depend on which thread of the parallel map gathers it, so
    both sources (and two runs with one seed) give the same batches.
    `first_epoch` None: one epoch per pass over the dataset, its seed drawn afresh each pass.
    A number: an endless stream of epochs first_epoch, first_epoch + 1, ..., each seeded by its
    number, so a run resumed after epoch k sees exactly the batches it would have seen.
    """
    base_seed = tf.constant(0 if seed is None else seed, tf.int64)

    def epoch(epoch_seed):
        # One fresh permutation of the indices per epoch: a shuffle buffer of N indices keeps a
        # tensor (~200 bytes) per element, a permutation keeps 8 bytes per element.
        epoch_seeds = tf.stack([base_seed, epoch_seed])
        indices = tf.range(count, dtype=tf.int64)
        if shuffle:
            indices = tf.random.experimental.stateless_shuffle(indices, seed=epoch_seeds)
        if not flip:
            return indices
        flip_seeds = tf.random.experimental.stateless_fold_in(epoch_seeds, 1)
        return indices, tf.random.stateless_uniform([count], seed=flip_seeds) < 0.5

    if first_epoch is not None:
        if isinstance(first_epoch, bool) or not isinstance(first_epoch, (int, np.integer)) \
                or first_epoch < 0:
            raise ValueError(f"first_epoch must be a whole number >= 0, got {first_epoch!r}")

        def batches_of_epoch(epoch_number):
            return tf.data.Dataset.from_tensor_slices(epoch(epoch_number)).batch(
                batch_size, drop_remainder=drop_remainder)

        return tf.data.Dataset.range(int(first_epoch), ENDLESS).flat_map(batches_of_epoch)
    if not (shuffle or flip):
        return tf.data.Dataset.range(count).batch(batch_size, drop_remainder=drop_remainder)
    return (tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
            .map(epoch).unbatch().batch(batch_size, drop_remainder=drop_remainder))


def image_dataset(images: np.ndarray, batch_size: int, image_shape: tuple[int, int, int],
                  shuffle: bool = True, seed: int | None = None, flip: bool = False,
                  drop_remainder: bool = True, source: str = "auto",
                  strategy: tf.distribute.Strategy | None = None,
                  first_epoch: int | None = None, labels: np.ndarray | None = None) -> tf.data.Dataset:
    """Batches of float32 images in [-1, 1] from a uint8 array (N, ...) whose rows hold one image each.

    `labels` (N whole numbers, e.g. each drawing's category): batches of (images, int32 labels),
    each label travelling with its image through the shuffle.

    `image_shape` is (height, width, channels); a Quick, Draw! row of 784 pixels becomes 28x28x1.
    `flip` mirrors each image left-right with probability 1/2 (seed 004's augmentation).
    `source` is where each batch's rows come from: "numpy" (read in place by `tf.numpy_function`),
    "tensor" (a host tensor holding a copy, no Python per batch) or "auto", which resolves with
    `needs_graph_only_input(strategy)` (see `resolve_source`): "tensor" under a TPUStrategy,
    "numpy" everywhere else. Both sources give the same batches for the same seed.
    `first_epoch`: None, one epoch per pass (each pass reshuffled); a number (0 for epoch 1), an
    endless stream of epochs from that one on, each shuffled by (seed, its number): a run resumed
    after epoch k gets the batches of epoch k + 1 onwards exactly as an unbroken run would.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"image_dataset wants uint8 images, got {images.dtype} "
                         "(convert to float inside the chain, never for the whole set)")
    count = len(images)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}")
    if drop_remainder and batch_size > count:
        raise ValueError(f"batch_size {batch_size} is larger than the {count} images available; "
                         f"use a batch size of at most {count} or more data")
    if int(np.prod(images.shape[1:])) != int(np.prod(image_shape)):
        raise ValueError(f"images of shape {images.shape[1:]} cannot be viewed as {image_shape}")
    source = resolve_source(source, strategy)
    rows = _numpy_rows(images) if source == "numpy" else _tensor_rows(images)
    held_labels = None
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (count,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be {count} whole numbers, one per image; got shape "
                             f"{labels.shape} of {labels.dtype}")
        held_labels = tf.constant(labels.astype(np.int32))  # 4 bytes a row: always a tensor

    def to_images(indices, flips=None):
        batch = tf.reshape(rows(indices), (-1, *image_shape))
        batch = scale_to_unit_range(batch)
        if flips is not None:
            batch = tf.where(flips[:, tf.newaxis, tf.newaxis, tf.newaxis],
                             tf.reverse(batch, axis=[2]), batch)
        return batch if held_labels is None else (batch, tf.gather(held_labels, indices))

    dataset = (_index_batches(count, batch_size, shuffle, seed, flip, drop_remainder, first_epoch)
               .map(to_images, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE))
    if source == "tensor":
        # tf.data's static rewrites serialize the dataset's graph and rebuild it, which turns the
        # captured rows into a second constant (measured: +1x the array, kept while the chain
        # lives); the chain is already parallel and prefetched, so they have little to add.
        options = tf.data.Options()
        options.experimental_optimization.apply_default_optimizations = False
        dataset = dataset.with_options(options)
    return dataset


def quickdraw_dataset(bitmaps: np.ndarray, batch_size: int, shuffle: bool = True,
                      seed: int | None = None) -> tf.data.Dataset:
    """Batches (B, 28, 28, 1) in [-1, 1] from numpy_bitmap rows (N, 784) uint8."""
    return image_dataset(bitmaps, batch_size, (28, 28, 1), shuffle=shuffle, seed=seed)


def images_per_epoch(count: int, batch_size: int) -> int:
    """Images an epoch trains on: whole batches only (the chains drop the remainder)."""
    return count // batch_size * batch_size
