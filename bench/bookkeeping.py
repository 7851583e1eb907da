"""Section 3: the share of an epoch spent on bookkeeping (grid, history row, checkpoint, pages).

`dcgan.train` runs for real (2 epochs, a checkpoint after each) with its pieces wrapped in
timers: `loop.run_epoch` (the training, as the DCGAN run calls it), `RunFolder.save_epoch_grid`,
`RunFolder.append_history`, `loop.ResumableLoop.save` (the checkpoint) and `loop.publish_pages`. Everything between the end of
`run_epoch` and the epoch callback counts as bookkeeping, including drawing the grid from the fixed
noise. The wrappers are removed afterwards.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator

import numpy as np
from common import Row, judged, mirror_folder

EPOCH_DRAWINGS = 10_000
TARGET_SHARE = 0.03


@contextlib.contextmanager
def timed_attribute(owner, name: str, log: list, label: str) -> Iterator[None]:
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            log.append((label, start, time.perf_counter()))

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def measure(images: np.ndarray, log: Callable[[str], None] = print) -> list[Row]:
    from sketchdraw import artifacts, dcgan, loop
    from sketchdraw.dcgan import run as dcgan_run

    events: list = []
    callback_times: list[float] = []
    batch_size = dcgan.preset("rabbit").batch_size
    with tempfile.TemporaryDirectory(prefix="sketchdraw-bench-") as runs_dir:
        config = dcgan.resolve("rabbit", name="bookkeeping", runs_dir=runs_dir, epochs=2,
                                     checkpoint_every=1, progress=False, mirror=str(mirror_folder()))
        log(f"section 3: dcgan.train, 2 epochs of {len(images):,} drawings, checkpoint every epoch")
        with contextlib.ExitStack() as stack:
            for owner, name, label in (
                    (dcgan_run, "run_epoch", "training"),  # the name the DCGAN run calls
                    (artifacts.RunFolder, "save_epoch_grid", "grid"),
                    (artifacts.RunFolder, "append_history", "history"),
                    (loop.ResumableLoop, "save", "checkpoint"),
                    (loop, "publish_pages", "pages")):  # the name finish_epoch calls
                stack.enter_context(timed_attribute(owner, name, events, label))
            dcgan.train(config, images=images,
                        callbacks=[lambda end: callback_times.append(time.perf_counter())])

    epochs = [event for event in events if event[0] == "training"]
    shares, details = [], []
    for number, (_, start, end) in enumerate(epochs):
        finished = callback_times[number]
        pieces = defaultdict(float)
        for label, piece_start, piece_end in events:
            if label != "training" and end <= piece_start <= finished:
                pieces[label] += piece_end - piece_start
        bookkeeping = finished - end
        # A short epoch (quick mode) is scaled up to a 10,000-drawing one from its measured speed.
        epoch_training = (end - start) * (EPOCH_DRAWINGS // batch_size) / (len(images) // batch_size)
        shares.append(bookkeeping / (bookkeeping + epoch_training))
        listing = ", ".join(f"{label} {1000 * seconds:.0f} ms" for label, seconds in pieces.items())
        details.append(f"epoch {number + 1}: {1000 * bookkeeping:.0f} ms ({listing}) vs "
                       f"{epoch_training:.1f} s training")
    scaled = "" if len(images) >= EPOCH_DRAWINGS else \
        f"; training time scaled from {len(images):,}-drawing epochs"
    share = shares[-1]
    return [Row("3 epoch bookkeeping", "share of a 10,000-drawing epoch (steady state: epoch 2)",
                f"{100 * share:.2f}%", f"<= {100 * TARGET_SHARE:.0f}%",
                judged(share, TARGET_SHARE, False),
                "; ".join(details) + f"; epoch 1 share {100 * shares[0]:.2f}%" + scaled)]
