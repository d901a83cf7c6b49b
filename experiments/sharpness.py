"""Would a sharper RNN-RBM meet the paper's accuracy? A checkpoint's RNN-RBM with its energy
divided by T (W, bv, bh, Wuv and Wuh all times 1/T: an RNN-RBM in its own right, sharper
below 1), measured like Table 1 for each T.

    python experiments/sharpness.py CKPT [--split valid] [--temperatures 1 0.9 0.8 0.7]
                                    [--chains 8] [--ais_temperatures 300] [--draws 10]

The validation split by default (choosing T on test would leak it). Prints one line per
T: log-likelihood per frame (AIS, training frames summed exactly), expected frame
accuracy (the paper's) and pooled; then one JSON line.

A one-off experiment, its question answered: the note is experiments/2026-12-accuracy-gap.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnn_rbm import quiet  # noqa: E402

quiet.setup(verbose="--verbose" in sys.argv[1:])

import tensorflow as tf  # noqa: E402

from rnn_rbm.data.dataset import load_dataset  # noqa: E402
from rnn_rbm.engine import checkpoint  # noqa: E402
from rnn_rbm.engine.scoring import ais_reference, score  # noqa: E402
from rnn_rbm.models import registry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--split", default="valid", choices=["train", "valid", "test"])
    parser.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.9, 0.8, 0.7])
    parser.add_argument("--chains", type=int, default=8)
    parser.add_argument("--ais_temperatures", type=int, default=300)
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--seed", type=int, default=5)
    quiet.add_verbose_flag(parser)
    args = parser.parse_args()
    config = checkpoint.load_config(args.checkpoint)
    if config.model.family != "rnn_rbm":
        sys.exit(f"error: {args.checkpoint} holds a {config.model.family}; this measures an RNN-RBM")
    dataset = load_dataset(config.data_source, config.data, progress=False)
    base, known = ais_reference(config.evaluate, dataset.train)  # an RNN-RBM: AIS, not exact
    results = []
    for temperature in args.temperatures:
        rng = tf.random.Generator.from_seed(args.seed)
        model = registry.build(config, rng)
        checkpoint.restore(args.checkpoint, model=model)
        for variable in (model.W, model.bv, model.bh, model.Wuv, model.Wuh):
            variable.assign(variable / temperature)
        scores = score(model, getattr(dataset, args.split), args.chains, args.ais_temperatures, args.draws,
                       config.evaluate.ais_batch_frames, rng, base, known, progress=False)
        acc = scores.accuracy
        results.append({"T": temperature, "nll": scores.nll, "nll_se": scores.nll_se, "acc": acc.expected,
                        "acc_pooled": acc.pooled})
        print(f"T {temperature:4.2f}: log-likelihood {-scores.nll:7.3f} nats (se {scores.nll_se:.3f})  "
              f"ACC {100 * acc.expected:5.2f} % (pooled {100 * acc.pooled:5.2f} %)", flush=True)
    print(json.dumps({"checkpoint": args.checkpoint, "split": args.split, "chains": args.chains,
                      "ais_temperatures": args.ais_temperatures, "draws": args.draws, "results": results}))


if __name__ == "__main__":
    main()
