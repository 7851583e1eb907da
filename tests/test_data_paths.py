"""The input chain's two sources: "numpy" (tf.numpy_function) and "tensor" (graph only, for TPUs).

Both must give the same batches for the same seed, the tensor source's dataset must run from its
serialized graph in a process that never saw the Python that built it, and "auto" must pick the
tensor source under a TPUStrategy only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from sketchdraw import pipeline, quickdraw

REPO_ROOT = Path(__file__).resolve().parents[1]
SHAPE = (28, 28, 1)


@pytest.fixture(scope="module")
def rabbits(quickdraw_mirror) -> np.ndarray:
    return quickdraw.load_bitmaps("rabbit", limit=600, mirror=quickdraw_mirror, progress=False)


def epochs(dataset: tf.data.Dataset, count: int) -> list[np.ndarray]:
    """`count` passes over the dataset, each one array of its batches end to end."""
    return [np.concatenate([batch.numpy() for batch in dataset]) for _ in range(count)]


def graph_ops(dataset: tf.data.Dataset) -> set[str]:
    """Every op of the dataset's serialized graph, its functions' bodies included."""
    graph = tf.compat.v1.GraphDef.FromString(dataset._as_serialized_graph().numpy())
    return ({node.op for node in graph.node}
            | {node.op for function in graph.library.function for node in function.node_def})


class _FakeTPUStrategy(tf.distribute.TPUStrategy):
    def __init__(self):  # no TPU here: an instance only for isinstance checks
        pass


class _FakeExperimentalTPUStrategy(tf.distribute.experimental.TPUStrategy):
    def __init__(self):
        pass


@pytest.mark.parametrize("options", [
    {"seed": 7, "flip": True},
    {"seed": 3},
    {"seed": 2, "shuffle": False, "flip": True},
    {"shuffle": False},
    {"seed": 5, "drop_remainder": False},
], ids=["shuffle+flip", "shuffle", "flip", "in-order", "remainder-kept"])
def test_numpy_and_tensor_sources_give_identical_batches(rabbits, options):
    from_numpy = epochs(pipeline.image_dataset(rabbits, 64, SHAPE, source="numpy", **options), 3)
    from_tensor = epochs(pipeline.image_dataset(rabbits, 64, SHAPE, source="tensor", **options), 3)
    for epoch, (numpy_batches, tensor_batches) in enumerate(zip(from_numpy, from_tensor)):
        np.testing.assert_array_equal(numpy_batches, tensor_batches, err_msg=f"epoch {epoch}")
    assert from_numpy[0].dtype == np.float32 and from_numpy[0].shape[1:] == SHAPE
    expected = len(rabbits) if options.get("drop_remainder") is False else len(rabbits) // 64 * 64
    assert len(from_numpy[0]) == expected
    if options.get("shuffle", True) or options.get("flip"):
        assert not np.array_equal(from_numpy[0], from_numpy[1])  # each epoch draws afresh
    # A second chain with the same seed repeats the first, epoch by epoch, flips included.
    again = epochs(pipeline.image_dataset(rabbits, 64, SHAPE, source="tensor", **options), 3)
    for first, second in zip(from_tensor, again):
        np.testing.assert_array_equal(first, second)


def test_flips_mirror_whole_images_about_half_the_time(rabbits):
    plain = epochs(pipeline.image_dataset(rabbits, 600, SHAPE, seed=9, source="tensor"), 1)[0]
    flipped = epochs(pipeline.image_dataset(rabbits, 600, SHAPE, seed=9, flip=True,
                                            source="tensor"), 1)[0]
    mirrored = np.array([np.array_equal(a, b[:, ::-1]) and not np.array_equal(a, b)
                         for a, b in zip(plain, flipped)])
    unchanged = np.array([np.array_equal(a, b) for a, b in zip(plain, flipped)])
    assert np.all(mirrored | unchanged)
    assert 0.4 < mirrored.mean() < 0.6


@pytest.mark.parametrize("source", ["numpy", "tensor"])
def test_colour_images_flip_along_their_width(source):
    paintings = np.random.default_rng(0).integers(0, 256, (32, 8, 6, 3), dtype=np.uint8)
    batches = epochs(pipeline.image_dataset(paintings, 32, (8, 6, 3), shuffle=False, seed=1,
                                            flip=True, source=source), 1)[0]
    originals = paintings / 127.5 - 1.0
    mirrored = [np.allclose(batch, original[:, ::-1], atol=1e-6)
                for batch, original in zip(batches, originals)]
    kept = [np.allclose(batch, original, atol=1e-6) for batch, original in zip(batches, originals)]
    assert all(m or k for m, k in zip(mirrored, kept)) and any(mirrored) and any(kept)


def test_the_tensor_source_calls_no_python(rabbits):
    tensor_ops = graph_ops(pipeline.image_dataset(rabbits, 64, SHAPE, seed=1, flip=True,
                                                  source="tensor"))
    numpy_ops = graph_ops(pipeline.image_dataset(rabbits, 64, SHAPE, seed=1, flip=True,
                                                 source="numpy"))
    assert not [op for op in tensor_ops if "PyFunc" in op], sorted(tensor_ops)
    assert "GatherV2" in tensor_ops
    assert [op for op in numpy_ops if "PyFunc" in op], sorted(numpy_ops)
    # Existing callers (no source, no strategy in scope) keep the numpy source.
    default_ops = graph_ops(pipeline.image_dataset(rabbits, 64, SHAPE, seed=1))
    assert [op for op in default_ops if "PyFunc" in op]


REBUILD = r"""
import sys
import numpy as np
import tensorflow as tf
variant = tf.raw_ops.DatasetFromGraph(graph_def=open(sys.argv[1], "rb").read())
dataset = tf.data.experimental.from_variant(variant, tf.TensorSpec((64, 28, 28, 1), tf.float32))
np.save(sys.argv[2], np.stack([batch.numpy() for batch in dataset]))
"""


def test_the_tensor_source_runs_from_its_serialized_graph_in_another_process(rabbits, tmp_path):
    """What a TPU host or a tf.data service worker does: rebuild the chain from its graph alone."""
    results = {}
    for source in ("numpy", "tensor"):
        dataset = pipeline.image_dataset(rabbits, 64, SHAPE, seed=4, flip=True, source=source)
        graph = tmp_path / f"{source}.pb"
        graph.write_bytes(dataset._as_serialized_graph().numpy())
        expected = np.stack([batch.numpy() for batch in dataset])
        output = tmp_path / f"{source}.npy"
        command = [sys.executable, "-c", REBUILD, str(graph), str(output)]
        environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        if source == "tensor":
            done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)
            assert done.returncode == 0, done.stderr[-2000:]
            np.testing.assert_array_equal(np.load(output), expected)
            continue
        # The numpy source's rows come from a Python callback that only the building process has:
        # the rebuilt chain fails naming it, or (TensorFlow's tf.data threads sometimes wait forever
        # on the failed callback) never delivers a batch. Either way no rows come out.
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment)
            results[source] = (done.returncode != 0 and "PyFunc" in done.stderr, done.stderr[-2000:])
        except subprocess.TimeoutExpired:
            results[source] = (True, "no batch within 120 s")
        assert not output.exists()
    assert results["numpy"][0], results["numpy"][1]


def test_the_tensor_source_holds_its_own_copy(rabbits):
    images = rabbits[:128].copy()
    held = pipeline.host_tensor(images)
    np.testing.assert_array_equal(held.numpy(), images)
    dataset = pipeline.image_dataset(images, 128, SHAPE, shuffle=False, source="tensor")
    images[:] = 0
    batch = next(iter(dataset)).numpy()
    np.testing.assert_allclose(batch, rabbits[:128].reshape(-1, *SHAPE) / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(held.numpy(), rabbits[:128])


def test_needs_graph_only_input_only_for_tpu_strategies():
    assert pipeline.needs_graph_only_input(_FakeTPUStrategy())
    assert pipeline.needs_graph_only_input(_FakeExperimentalTPUStrategy())
    assert not pipeline.needs_graph_only_input(None)
    assert not pipeline.needs_graph_only_input(tf.distribute.get_strategy())
    assert not pipeline.needs_graph_only_input(tf.distribute.OneDeviceStrategy("/cpu:0"))
    assert not pipeline.needs_graph_only_input(tf.distribute.MirroredStrategy(["/cpu:0"]))


def test_auto_resolves_with_the_strategy():
    tpu = _FakeTPUStrategy()
    assert pipeline.resolve_source() == "numpy"
    assert pipeline.resolve_source("auto", tpu) == "tensor"
    assert pipeline.resolve_source("auto", tf.distribute.OneDeviceStrategy("/cpu:0")) == "numpy"
    assert pipeline.resolve_source("numpy", tpu) == "numpy"  # an explicit source wins
    assert pipeline.resolve_source("tensor") == "tensor"
    with pytest.raises(ValueError, match="source must be one of auto, numpy, tensor"):
        pipeline.resolve_source("gpu")
    with pytest.raises(ValueError, match="source must be"):
        pipeline.image_dataset(np.zeros((8, 784), np.uint8), 4, SHAPE, source="Tensor")
    ops = graph_ops(pipeline.image_dataset(np.zeros((8, 784), np.uint8), 4, SHAPE, strategy=tpu))
    assert not [op for op in ops if "PyFunc" in op]


# ~30 s on 2 cores (two fresh TensorFlow processes on a 118 MB array): `make test-slow` runs it
@pytest.mark.slow
def test_the_sources_benchmark_reports_both_sources(quickdraw_mirror, tmp_path):
    output = tmp_path / "sources.md"
    environment = {**os.environ, "SKETCHDRAW_QUICKDRAW_MIRROR": str(quickdraw_mirror),
                   "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "data_paths.py"), "--quick",
                           "--output", str(output)], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    document = output.read_text()
    assert document.strip() in done.stdout
    figures = [line.split("|")[2].strip() for line in document.splitlines()
               if line.startswith("| 8 ")]
    assert [figure.split(":")[0] for figure in figures] == [
        "numpy source", "tensor source", "tensor / numpy"]
    assert "failed" not in document


def test_a_stream_of_epochs_from_epoch_k_repeats_the_stream_from_0_after_k_epochs():
    images = np.arange(10 * 784, dtype=np.int64).reshape(10, 784).astype(np.uint8)
    images[:, 0] = np.arange(10)  # row i says i in its first pixel

    def first_pixels(first_epoch, batches):
        stream = pipeline.image_dataset(images, 4, (28, 28, 1), seed=3, flip=True, first_epoch=first_epoch)
        return [np.asarray(batch)[:, 0, :, 0].tolist() for batch in stream.take(batches)]

    from_zero = first_pixels(0, 6)  # 2 whole batches of 4 per epoch of 10
    assert first_pixels(1, 4) == from_zero[2:]
    assert first_pixels(2, 2) == from_zero[4:]
    assert from_zero[:2] != from_zero[2:4]  # each epoch shuffled anew
    with pytest.raises(ValueError, match="first_epoch"):
        pipeline.image_dataset(images, 4, (28, 28, 1), first_epoch=-1)
