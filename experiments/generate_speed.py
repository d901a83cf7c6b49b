"""Generation speed by chunk size: does drawing in chunks (for the progress bar) cost time?

    python experiments/generate_speed.py [--samples 4] [--steps 256] [--repeats 5] [--chunks 0,16,64]

A paper-size model (88-150-100, random weights: the sampler's cost does not depend on
them), 25 Gibbs steps per frame. Chunk 0 means one compiled call for the whole piece,
as generation was before chunks. Each figure times one whole generate() call, tracing
included, as a user of rnn_rbm_generate.py waits for it. Variants are interleaved, each
repeat in a fresh order, after one warm-up round. Prints the median and range of frames
per second (frames of all samples together) per chunk size, and per CPU second (all
threads: steadier than wall time on a shared machine), then one JSON line with all figures
and the machine.

A one-off experiment, its question answered: the note is experiments/2026-11-generation-chunks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from rnn_rbm import quiet  # noqa: E402

# Before TensorFlow is imported: its chatter stays out unless asked for.
quiet.setup(verbose="--verbose" in sys.argv[1:])

import tensorflow as tf  # noqa: E402

from rnn_rbm.config import GenerateConfig, RunConfig  # noqa: E402
from rnn_rbm.engine.sampling import generate  # noqa: E402
from rnn_rbm.models.rnn_rbm import RnnRbm  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunks", default="0,16,64", help="comma-separated; 0 = one call")
    quiet.add_verbose_flag(parser)
    args = parser.parse_args()
    tf.get_logger().setLevel("ERROR")  # every generate() call traces anew, on purpose: say nothing
    config = RunConfig()
    model = RnnRbm.from_config(config, tf.random.Generator.from_seed(0))
    chunks = [int(c) for c in args.chunks.split(",")]
    settings = {c: GenerateConfig(num_samples=args.samples, num_steps=args.steps, chunk_steps=c or args.steps)
                for c in chunks}
    rates: dict[int, list[float]] = {c: [] for c in chunks}
    cpu_rates: dict[int, list[float]] = {c: [] for c in chunks}
    order_rng = np.random.default_rng(0)
    for repeat in range(args.repeats + 1):
        for chunk in order_rng.permutation(chunks):
            started, cpu_started = time.perf_counter(), time.process_time()
            generate(model, settings[int(chunk)], tf.random.Generator.from_seed(repeat), progress=False)
            if repeat:  # repeat 0 warms up TensorFlow
                frames = args.samples * args.steps
                rates[int(chunk)].append(frames / (time.perf_counter() - started))
                cpu_rates[int(chunk)].append(frames / (time.process_time() - cpu_started))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}"
    print(f"{machine}; {args.samples} samples x {args.steps} frames, 25 Gibbs steps, {args.repeats} repeats")
    for chunk in chunks:
        r = rates[chunk]
        label = "one call" if chunk == 0 else f"chunks of {chunk}"
        print(f"{label:>16}: median {np.median(r):8.0f} frames/s (min {min(r):.0f}, max {max(r):.0f}); "
              f"median {np.median(cpu_rates[chunk]):.0f} frames per CPU second")
    print(json.dumps({"machine": machine, "samples": args.samples, "steps": args.steps,
                      "frames_per_s": {str(c): rates[c] for c in chunks},
                      "frames_per_cpu_s": {str(c): cpu_rates[c] for c in chunks}}))


if __name__ == "__main__":
    main()
