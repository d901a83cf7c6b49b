"""Is the AIS log-likelihood of a trained model stable? The same split measured with more
chains and temperatures, with and without the training frames summed exactly.

    python benchmarks/ais_convergence.py CKPT [--split valid] [--runs 8x300 8x1000 8x3000 32x1000]
                                         [--plain]

The validation split by default: settings tuned by looking at the test split would
leak it into the figures reported on it.

AIS underestimates log Z on average (log of a mean weight, Jensen), so too little
computation gives an optimistic log-likelihood: a stable figure stops moving as
chains (the first number of a run, MxK) and temperatures (the second) grow.
Prints a markdown table, then one JSON line per run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnn_rbm import quiet, records  # noqa: E402

# Before TensorFlow is imported: its chatter stays out unless asked for.
quiet.setup(verbose="--verbose" in sys.argv[1:])

import tensorflow as tf  # noqa: E402

from rnn_rbm.engine import checkpoint, scoring  # noqa: E402
from rnn_rbm.data.dataset import load_dataset  # noqa: E402
from rnn_rbm.models import registry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--split", default="valid", choices=["train", "valid", "test"],
                        help="default valid (tuning on test would leak it)")
    parser.add_argument("--runs", nargs="+", default=["8x300", "8x1000", "8x3000", "32x1000"],
                        help="CHAINSxTEMPERATURES of each run")
    parser.add_argument("--plain", action="store_true", help="also each run with AIS alone (no frames "
                        "summed exactly)")
    parser.add_argument("--seed", type=int, default=1)
    quiet.add_verbose_flag(parser)
    records.add_record_flag(parser, "ais_convergence")
    args = parser.parse_args()
    record = records.Record(settings={"benchmark": vars(args)})
    config = checkpoint.load_config(args.checkpoint)
    rng = tf.random.Generator.from_seed(args.seed)
    model = registry.build(config, rng)
    checkpoint.restore(args.checkpoint, model=model)
    dataset = load_dataset(config.data_source, config.data, progress=False)
    rolls = getattr(dataset, args.split)
    # The model says how it scores: a quick look at one piece, with a generator of its own.
    if scoring.score(model, rolls[:1], 2, 1, 1, 64, tf.random.Generator.from_seed(0), progress=False).exact:
        sys.exit(f"error: {args.checkpoint} holds a {config.model.family}, whose likelihood is exact: "
                 "there is no AIS to converge")
    known = scoring.known_frames(dataset.train)
    print(f"{args.checkpoint}: {sum(map(len, rolls))} {args.split} frames of {config.data_source}")
    print("| chains | temperatures | training frames summed exactly | NLL (nats/frame) | se "
          "| mean log(Z/Z known) | ACC % | pooled ACC % | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    lines = []
    for run in args.runs:
        chains, temperatures = (int(x) for x in run.split("x"))
        for exact in ([True, False] if args.plain else [True]):
            started = time.perf_counter()
            scores = scoring.score(model, rolls, chains, temperatures, config.evaluate.acc_draws,
                                   config.evaluate.ais_batch_frames, rng, known=known if exact else None,
                                   progress=False)
            seconds = time.perf_counter() - started
            acc = scores.accuracy
            gap = scores.mean_log_z_over_known if exact else float("nan")
            print(f"| {chains} | {temperatures} | {'yes' if exact else 'no'} | {scores.nll:.4f} | "
                  f"{scores.nll_se:.4f} | {gap:.4f} | {100 * acc.expected:.2f} | {100 * acc.pooled:.2f} "
                  f"| {seconds:.0f} |", flush=True)
            lines.append({"chains": chains, "temperatures": temperatures, "exact_training_frames": exact,
                          "nll": scores.nll, "nll_se": scores.nll_se, "log_z_over_known": gap if exact else None,
                          "acc": acc.expected, "acc_pooled": acc.pooled, "seconds": seconds})
    for line in lines:
        print(json.dumps(line))
    record.settings["checkpoint"] = dataclasses.asdict(config)
    record.results = {"checkpoint": args.checkpoint, "split": args.split, "frames": sum(map(len, rolls)),
                      "runs": lines}
    print(f"record {records.save(args.record, 'ais_convergence', record)}", file=sys.stderr)


if __name__ == "__main__":
    main()
