"""Peak memory and time of one training step of a model on one data set's batches.

    python benchmarks/step_memory.py --model rnn_nade --data nottingham [--batches longest median]
                                     [--repeats 5] [--set SECTION.FIELD=VALUE ...]

The settings are the model's Table 1 preset for the set (`rnn_rbm.config.preset`), as
`benchmarks/table1.py` trains it. Batches, of the preset's batch size:
- longest: the longest training pieces together, the largest batch an epoch can meet;
- median: the pieces around the median length, a typical batch.

Each batch is measured in a fresh process (a process's peak memory only grows): the data
set loaded, the model built, one step to trace and compile, then `--repeats` steps timed.
Prints one line per batch (its shape, seconds a step, the process's peak resident memory
before the first step and at the end) and one JSON line with the machine and settings.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_rbm import quiet, records  # noqa: E402

BATCHES = ("longest", "median")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="rnn_nade", help="a --model name (default rnn_nade)")
    parser.add_argument("--data", default="jsb", help="a packaged set's name or a JSON file (default jsb)")
    parser.add_argument("--batches", nargs="+", choices=BATCHES, default=list(BATCHES))
    parser.add_argument("--repeats", type=int, default=5, help="timed steps after the first (default 5)")
    parser.add_argument("--set", nargs="*", default=[], metavar="SECTION.FIELD=VALUE",
                        help="changes to the preset, as benchmarks/table1.py takes them")
    parser.add_argument("--one", choices=BATCHES, help=argparse.SUPPRESS)  # a child's own measure
    quiet.add_verbose_flag(parser)
    records.add_record_flag(parser, "step_memory")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.one:
        print(json.dumps(_measure(args, args.one)))
        return
    record = records.Record()
    figures = {}
    for batch in args.batches:
        command = [sys.executable, __file__, *sys.argv[1:], "--one", batch]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"error: the {batch} batch failed:\n{result.stderr.strip()}")
        figures[batch] = json.loads(result.stdout.strip().splitlines()[-1])
        f = figures[batch]
        print(f"{batch:8s} batch {f['shape']}: {f['step_s']:.3f} s a step (median of {args.repeats}), "
              f"peak memory {f['peak_mib_before']:,.0f} MiB before the first step, {f['peak_mib']:,.0f} MiB after",
              flush=True)
    settings = {"model": args.model, "data": args.data, "set": args.set, "repeats": args.repeats}
    print(json.dumps({"figures": figures, "machine": records.machine(), "settings": settings}))
    record.settings, record.results = settings, figures
    print(f"record {records.save(args.record, 'step_memory', record)}", file=sys.stderr)


def _measure(args: argparse.Namespace, batch: str) -> dict:
    """Returns: the shape of `batch`, the median seconds of a step and the process's peak
    memory (MiB) before the first step and after the last."""
    quiet.setup(verbose=args.verbose)
    import tensorflow as tf

    from rnn_rbm.config import apply_settings, preset, read_settings
    from rnn_rbm.data.dataset import load_dataset, pad_batch
    from rnn_rbm.engine.trainer import TrainState, make_train_step

    config = apply_settings(preset(args.model, args.data).run, read_settings(None, args.set))
    dataset = load_dataset(config.data_source, config.data, progress=False)
    pieces = sorted(dataset.train, key=len)
    size = min(config.train.batch_size, len(pieces))
    start = len(pieces) - size if batch == "longest" else max(0, len(pieces) // 2 - size // 2)
    v, mask = (tf.constant(x) for x in pad_batch(pieces[start:start + size]))
    before = records.peak_memory_mib()
    state = TrainState.create(config)
    step = make_train_step(state, config)
    step(v, mask)
    seconds = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        float(step(v, mask)[0])
        seconds.append(time.perf_counter() - started)
    return {"shape": list(v.shape), "step_s": statistics.median(seconds), "peak_mib_before": before,
            "peak_mib": records.peak_memory_mib()}


if __name__ == "__main__":
    main()
