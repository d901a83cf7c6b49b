"""A quiet terminal: TensorFlow's own log lines and Python's warnings stay out of what the
user sees, unless they ask for them with --verbose. Used by the commands and by every
script in benchmarks/, before anything imports TensorFlow.

What is kept out, by default:
- TensorFlow's C++ start-up notices, which TF_CPP_MIN_LOG_LEVEL no longer reaches
  (tensorflow/tensorflow#100442): TensorFlow is imported with stderr captured and every
  captured line but those is passed on;
- TensorFlow's Python logger below ERROR (retracing warnings, the checkpoint saver's
  "Sharding callback duration" lines that a root logger at INFO lets through);
- Python warnings (deprecations in libraries we call), also in child processes.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import warnings
from typing import Callable

# Lines TensorFlow's C++ side prints at start-up on every CPU-only machine.
_STARTUP_NOISE = ("absl::InitializeLog", "oneDNN custom operations", "Could not find cuda drivers",
                  "failed call to cuInit")


def setup(verbose: bool = False, quiet: bool = False, intra_op_threads: int | None = None,
          before_devices: Callable[[], object] | None = None) -> None:
    """Configures logging (our messages at INFO, or WARNING when `quiet`; everything else at
    WARNING) and imports TensorFlow quietly, unless `verbose`, which lets every library
    speak. Call once, first thing in a command or a benchmark script.

    intra_op_threads: threads TensorFlow may split one operation over (default: one per
    core); it must be fixed before TensorFlow starts, so it is set here.
    before_devices: called after TensorFlow is imported and before it starts its devices
    (what must come first, such as a multi-worker strategy).
    """
    if intra_op_threads is not None:
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(intra_op_threads)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr, force=True)
    logging.getLogger("rnn_rbm").setLevel(logging.WARNING if quiet else logging.INFO)
    from rnn_rbm.outputs.audio import quiet_fluidsynth_import

    # Before anything imports pretty_midi, which imports pyfluidsynth, which prints to
    # stdout under $CI, and stdout is where the commands list the files they wrote.
    quiet_fluidsynth_import()
    if verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
        import tensorflow  # noqa: F401

        if before_devices is not None:
            before_devices()
        return
    warnings.simplefilter("ignore")
    os.environ["PYTHONWARNINGS"] = "ignore"  # the processes that convert MIDI, too
    _import_tensorflow_quietly(before_devices)
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    tf.autograph.set_verbosity(0)


def _import_tensorflow_quietly(before_devices: Callable[[], object] | None) -> None:
    """Imports TensorFlow, calls before_devices, and starts its devices with stderr captured,
    then passes on every captured line except the known start-up notices above."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            if before_devices is not None:
                before_devices()
            tf.config.list_logical_devices()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        for line in captured.read().decode(errors="replace").splitlines():
            if not any(noise in line for noise in _STARTUP_NOISE):
                print(line, file=sys.stderr)


def add_verbose_flag(parser) -> None:
    """Adds --verbose (see `setup`) to an argparse parser of a benchmark script."""
    parser.add_argument("--verbose", action="store_true", help="let TensorFlow's own log lines and Python's "
                        "warnings through (hidden by default)")
