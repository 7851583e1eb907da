"""A tiny real training run in its own process, for tests that kill it (tests/test_interruptions.py).

    python tests/train_worker.py RUNS_DIR EPOCHS MIRROR [CHECKPOINT_EVERY] [--slow-steps SECONDS]

Trains the `rabbit` preset on 160 drawings, batch 32, into RUNS_DIR/rabbit and prints markers on
stdout (flushed) so the parent can time its signals:
    WORKER-READY <pid>        the run folder is locked, the data loaded, the loop about to start
    EPOCH-DONE <n>            epoch n's grid, history row and (when due) checkpoint are written
    TRAINED <n>               training returned; n epochs were trained in this call
Errors the CLI reports (ValueError, OSError, RuntimeError) print `sketchdraw: error: ...` on stderr
and exit with status 2, like `python -m sketchdraw`.
`--slow-steps S` makes each epoch take at least S seconds (a sleep between batches), so a signal
sent "mid-epoch" really lands inside an epoch on a fast machine.
"""

from __future__ import annotations

import os
import signal
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")


def main(argv: list[str]) -> int:
    # A process started in the background by a shell without job control inherits SIGINT ignored,
    # and Python then installs no KeyboardInterrupt handler; a terminal's Ctrl-C always has one.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    slow = 0.0
    if "--slow-steps" in argv:
        where = argv.index("--slow-steps")
        slow = float(argv[where + 1])
        argv = argv[:where] + argv[where + 2:]
    runs_dir, epochs, mirror = argv[0], int(argv[1]), argv[2]
    checkpoint_every = int(argv[3]) if len(argv) > 3 else 1

    from sketchdraw import dcgan, loop
    from sketchdraw.dcgan import run as dcgan_run

    config = dcgan.resolve("rabbit", epochs=epochs, limit=160, batch_size=32,
                           checkpoint_every=checkpoint_every, runs_dir=runs_dir,
                           progress=False, mirror=mirror)
    if slow:
        # The DCGAN run calls the `run_epoch` it imported from sketchdraw.loop: replace that name.
        original = dcgan_run.run_epoch

        def slowed(step):
            def slow_step(*args, **kwargs):
                time.sleep(slow / 5)  # 160 drawings / 32 = 5 batches an epoch
                return step(*args, **kwargs)

            return slow_step

        def slow_epoch(steps, *args, **kwargs):  # a compiled step, or a dict of step variants
            steps = slowed(steps) if callable(steps) else {k: slowed(v) for k, v in steps.items()}
            return original(steps, *args, **kwargs)

        dcgan_run.run_epoch = slow_epoch

    original_restore = loop.ResumableLoop.restore

    def restore_and_announce(self):
        start = original_restore(self)
        print(f"WORKER-READY {os.getpid()} start={start}", flush=True)
        return start

    loop.ResumableLoop.restore = restore_and_announce

    def announce(end):
        print(f"EPOCH-DONE {end.epoch}", flush=True)

    try:
        result = dcgan.train(config, callbacks=[announce])
    except (ValueError, OSError, RuntimeError) as error:  # what `python -m sketchdraw` reports
        print(f"sketchdraw: error: {error}", file=sys.stderr, flush=True)
        return 2
    print(f"TRAINED {result.epochs_trained}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
