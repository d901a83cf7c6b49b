"""The paper's "RNN" row: the RNN-RBM's own recurrence with independent outputs, trained
by its exact likelihood (the stage `weight_initializations.py --rnn_epochs` runs), and
measured on the test split like Table 1.

    python benchmarks/independent_rnn.py [--data jsb|nottingham|PATH.json] [--epochs 40] [--draws 50]

Pitch i of frame t sounds with probability sigmoid(c_i + u(t-1) Wuv_i), independently.
Prints the test log-likelihood per frame (exact), the expected frame accuracy as the
paper defines it (each frame drawn --draws times), the accuracy of the per-pitch
majority vote (probability above 1/2: no draws), the accuracy of forecasting each frame
as the one before it, the paper's figures for this model, and one JSON line. The model
class is the paper's own, so its accuracy at a given likelihood says what the paper's
accuracy measure gives on these files.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_rbm import quiet  # noqa: E402

quiet.setup(verbose="--verbose" in sys.argv[1:])

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rnn_rbm.config import BENCHMARK_STEPS_PER_QUARTER, preset  # noqa: E402
from rnn_rbm.data.dataset import load_dataset, pad_batch  # noqa: E402
from rnn_rbm.engine.pretrainer import pretrain_recurrence  # noqa: E402
from rnn_rbm.engine.scoring import previous_frame_accuracy  # noqa: E402
from rnn_rbm.models import registry  # noqa: E402
from rnn_rbm.models.base import flatten_steps, mean_nll  # noqa: E402
from rnn_rbm.ops import accuracy, bernoulli, philox  # noqa: E402

# The paper's Table 1, row "RNN" (log-likelihood per frame, expected accuracy).
PAPER = {"jsb": (-8.71, 0.2846), "nottingham": (-4.46, 0.6293)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="jsb", help="jsb, nottingham, musedata, piano_midi or a benchmark JSON file")
    parser.add_argument("--epochs", type=int, default=40, help="passes over the training pieces (default 40)")
    parser.add_argument("--draws", type=int, default=50, help="draws of each test frame (default 50)")
    parser.add_argument("--seed", type=int, default=0)
    quiet.add_verbose_flag(parser)
    args = parser.parse_args()
    name = args.data if args.data in BENCHMARK_STEPS_PER_QUARTER else Path(args.data).stem
    spec = args.data if args.data in BENCHMARK_STEPS_PER_QUARTER else str(Path(args.data).resolve())
    config = dataclasses.replace(preset("rnn_rbm", spec).run, seed=args.seed)
    dataset = load_dataset(config.data_source, config.data, progress=False)
    model = registry.build(config, tf.random.Generator.from_seed(args.seed))
    output_bias = tf.Variable(tf.zeros([model.n_visible]))
    started = time.perf_counter()
    history = pretrain_recurrence(model, dataset.train, dataset.valid, args.epochs,
                                  config.pretrain.rnn_stage(config.train), np.random.default_rng(args.seed),
                                  progress=True, output_bias=output_bias)
    seconds = time.perf_counter() - started

    v, mask = pad_batch(dataset.test)
    test_nll = float(mean_nll(model.independent_log_prob(v, mask, output_bias), mask))
    real = tf.where(tf.reshape(mask, [-1]) > 0)[:, 0]
    frames = tf.gather(flatten_steps(tf.constant(v)), real)
    logits = tf.gather(flatten_steps(model.independent_logits(tf.constant(v), output_bias)), real)
    seed = philox.new_seed(tf.random.Generator.from_seed(args.seed + 1))
    counts = np.stack([accuracy.frame_counts(bernoulli.draw(logits, seed, d), frames).numpy()
                       for d in range(args.draws)], axis=1)  # (frames, draws, 3)
    expected = accuracy.summarise(counts)
    majority = tf.cast(logits > 0, tf.float32)
    majority_acc = float(accuracy.per_frame(accuracy.frame_counts(majority, frames).numpy()).mean())
    previous = previous_frame_accuracy(dataset.test)

    paper = PAPER.get(name)
    print(f"{name}: the RNN with independent outputs ({model.n_recurrent} tanh units), {args.epochs} epochs "
          f"({seconds:.0f} s); validation log-likelihood {-history[-1]['valid_nll']:.3f} nats per frame")
    print(f"test log-likelihood per frame   {-test_nll:8.3f} nats (exact)" +
          (f"   paper {paper[0]:.2f}" if paper else ""))
    print(f"expected frame accuracy         {100 * expected.expected:8.2f} %    (se {100 * expected.expected_se:.2f}, "
          f"{args.draws} draws a frame)" + (f"   paper {100 * paper[1]:.2f} %" if paper else ""))
    print(f"pooled frame accuracy           {100 * expected.pooled:8.2f} %")
    print(f"majority vote (p > 1/2)         {100 * majority_acc:8.2f} %    (no draws)")
    print(f"each frame as the one before it {100 * previous:8.2f} %")
    print(json.dumps({"data": name, "epochs": args.epochs, "test_nll": test_nll, "acc": expected.expected,
                      "acc_se": expected.expected_se, "acc_pooled": expected.pooled, "majority_acc": majority_acc,
                      "previous_frame_acc": previous, "valid_nll": history[-1]["valid_nll"], "seconds": seconds}))


if __name__ == "__main__":
    main()
