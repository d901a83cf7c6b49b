"""Where CD-k's negative chains start, measured: the paper's "data" against "zeros".

    python experiments/negative_start.py [--epochs 80] [--samples 16] [--data bach]

Pretrains one RBM, then trains the RNN-RBM from it once per variant and draws
`--samples` pieces of 128 frames with one seed. Prints, per variant: the
validation monitor (valid_acc), mean polyphony of the drawn pieces (Bach: 3.95
at eighth notes), how often a sounding note is held into the next frame, and
the mean polyphony of the last quarter of each piece (drift towards clusters),
then one JSON line with all figures and the machine.

A one-off experiment, its question answered: the note is experiments/2026-11-negative-start.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from rnn_rbm import quiet  # noqa: E402

# Before TensorFlow is imported: its chatter stays out unless asked for.
quiet.setup(verbose="--verbose" in sys.argv[1:])

import tensorflow as tf  # noqa: E402

from rnn_rbm.config import GenerateConfig, RunConfig, replace_section  # noqa: E402
from rnn_rbm.data.dataset import all_frames, load_dataset  # noqa: E402
from rnn_rbm.engine.sampling import generate  # noqa: E402
from rnn_rbm.models.rnn_rbm import RnnRbm  # noqa: E402
from rnn_rbm.music.pianoroll import held_fraction, mean_polyphony  # noqa: E402
from rnn_rbm.engine.pretrainer import pretrain  # noqa: E402
from rnn_rbm.engine.trainer import TrainState, train  # noqa: E402

VARIANTS = [("data", 0.001, 8), ("data", 0.003, 16), ("zeros", 0.003, 16)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--data", default="bach")
    quiet.add_verbose_flag(parser)
    args = parser.parse_args()
    base = dataclasses.replace(RunConfig(), data_source=args.data)
    dataset = load_dataset(args.data, base.data, progress=False)
    initial = RnnRbm.from_config(base, tf.random.Generator.from_seed(base.seed))
    pretrain(initial, all_frames(dataset.train), base.pretrain, np.random.default_rng(0),
             tf.random.Generator.from_seed(0), progress=False)
    results = {}
    for start, rate, batch in VARIANTS:
        config = replace_section(base, "train", negative_start=start, learning_rate=rate, batch_size=batch)
        state = TrainState.create(config)
        model = state.model
        for target, source in zip(model.trainable_variables, initial.trainable_variables):
            target.assign(source)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            history = train(state, dataset, config, args.epochs, Path(folder), progress=False)
        seconds = time.perf_counter() - started
        drawn = generate(model, GenerateConfig(num_samples=args.samples), tf.random.Generator.from_seed(7))
        name = f"{start} lr={rate} batch={batch}"
        results[name] = {
            "valid_acc": history[-1]["valid_acc"],
            "polyphony": mean_polyphony(drawn),
            "polyphony_last_quarter": mean_polyphony(drawn[:, -drawn.shape[1] // 4 :]),
            "held": held_fraction(drawn),
            "train_seconds": seconds,
        }
    print(f"\n{args.epochs} epochs from one pretrained RBM, {args.samples} pieces of 128 frames, seed 7\n")
    print("| negative chains from | valid_acc | polyphony | last quarter | held | train s |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['valid_acc']:.3f} | {r['polyphony']:.2f} | {r['polyphony_last_quarter']:.2f} "
              f"| {r['held']:.2f} | {r['train_seconds']:.0f} |")
    print(f"| (training data) | | {mean_polyphony(dataset.train):.2f} | | {held_fraction(dataset.train):.2f} | |")
    print(json.dumps({"epochs": args.epochs, "data": args.data, "machine": platform.processor() or platform.machine(),
                      "cores": os.cpu_count(),
                      "results": results}))


if __name__ == "__main__":
    main()
