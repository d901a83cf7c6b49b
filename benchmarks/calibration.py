"""Is the model's frame given the true past as dense and as sustained as the music?

    python benchmarks/calibration.py parameter_checkpoints/epoch_150.ckpt [--gibbs_steps 25]

Draws every validation frame from the RBM that the true past sets (as the
`valid_acc` monitor does) and compares with the true frames: mean polyphony,
and how often a note sounding in the true previous frame sounds in the drawn
(or true) frame. Prints a summary, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnn_rbm import quiet, records  # noqa: E402

# Before TensorFlow is imported: its chatter stays out unless asked for.
quiet.setup(verbose="--verbose" in sys.argv[1:])

import tensorflow as tf  # noqa: E402

from rnn_rbm.engine import checkpoint  # noqa: E402
from rnn_rbm.data.dataset import load_dataset, pad_batch  # noqa: E402
from rnn_rbm.models import registry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--gibbs_steps", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    quiet.add_verbose_flag(parser)
    records.add_record_flag(parser, "calibration")
    args = parser.parse_args()
    record = records.Record(settings={"benchmark": vars(args)})
    config = checkpoint.load_config(args.checkpoint)
    rng = tf.random.Generator.from_seed(args.seed)
    model = registry.build(config, rng)
    checkpoint.restore(args.checkpoint, model=model)
    dataset = load_dataset(config.data_source, config.data, progress=False)
    v, mask = pad_batch(dataset.valid)
    drawn = model.predict(v, args.gibbs_steps, rng).numpy() > 0
    real = mask[:, 1:] > 0
    before = (v[:, :-1] > 0) & real[..., None]
    result = {"frames": int(mask.sum())}
    for name, frames in (("drawn", drawn), ("true", v > 0)):
        now = frames[:, 1:] & real[..., None]
        result[f"{name}_polyphony"] = float(now.sum() / real.sum())
        result[f"{name}_held"] = float((before & now).sum() / before.sum())
    print(f"{result['frames']} validation frames of {config.data_source}, {args.gibbs_steps} Gibbs steps")
    print(f"notes per frame: drawn {result['drawn_polyphony']:.2f}, true {result['true_polyphony']:.2f}")
    print(f"P(note sounds | it sounded in the true previous frame): drawn {result['drawn_held']:.3f}, "
          f"true {result['true_held']:.3f}")
    print(json.dumps(result))
    record.results = result
    print(f"record {records.save(args.record, 'calibration', record)}", file=sys.stderr)


if __name__ == "__main__":
    main()
