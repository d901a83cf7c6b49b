"""The paper's reference rows on its four data sets, by the accuracy code the models are
measured with: a check of our measure against the paper's own figures.

    python benchmarks/baselines.py [--draws 100] [--seed 0] [--publish]

For each set's test split: Random (every pitch a coin flip) and Note 1-Gram (independent
pitches at their smoothed training frequencies), each frame drawn --draws times, and each
frame forecast as the one before it, with the paper's Random and Note 1-Gram accuracies
beside ours (they should agree within 0.5 points). Writes a record (--record, default a new
results/baselines_<date_time>.record.json); --publish copies it to records/baselines/
baselines.json, from which benchmarks/render_docs.py renders docs/results.md's table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_rbm import quiet, records  # noqa: E402
from rnn_rbm.config import BENCHMARK_STEPS_PER_QUARTER, DataConfig, EvalConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100, help="draws of every test frame (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--publish", action="store_true", help="copy the record to records/baselines/")
    records.add_record_flag(parser, "baselines")
    quiet.add_verbose_flag(parser)
    args = parser.parse_args()
    quiet.setup(verbose=args.verbose, quiet=True)

    import numpy as np

    from rnn_rbm.data.dataset import load_dataset
    from rnn_rbm.engine.baselines import baseline_rows
    from rnn_rbm.outputs.recordtables import baselines

    record = records.Record(settings={"draws": args.draws, "seed": args.seed,
                                      "smoothing": EvalConfig().reference_smoothing, "split": "test"})
    for name in BENCHMARK_STEPS_PER_QUARTER:
        with record.phase(name):
            data = load_dataset(name, DataConfig(), progress=False)
            record.results[name] = baseline_rows(data.train, data.test, EvalConfig().reference_smoothing,
                                                 np.random.default_rng(args.seed), args.draws)
    path = records.save(args.record, "baselines", record)
    if args.publish:
        records.publish(path, ROOT, "baselines/baselines.json")
    written = json.loads(path.read_text())
    print(baselines([(str(path), written)]))
    print(json.dumps(written["results"]))


if __name__ == "__main__":
    main()
