"""What each model writes when it runs on its own, against its data: the statistics of
rnn_rbm/music/samplestats.py for pieces drawn from each checkpoint, beside the data set's own.

    python benchmarks/sample_quality.py CKPT [CKPT ...] [--data D] [--split S]
        [--num_samples 16] [--num_steps 1024] [--seeds 3] [--gibbs_steps 25] [--temperature 1]

Draws num_samples pieces of num_steps frames with each of `--seeds` seeds (0, 1, ...) from
each checkpoint, and prints the machine and the settings, one table (the reference split of
the data, then one row per checkpoint: means over pieces, each with its overlapping area
with the reference in brackets), the issue-13 targets met or not, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnn_rbm import quiet  # noqa: E402
from rnn_rbm.config import GenerateConfig  # noqa: E402

# Issue 13's targets for pieces of 1024 frames: no piece with more than 3 % of its frames
# above 8 notes, under 0.5 % of all frames, and the notes per sounding frame and the held
# note ratio close to the data's.
TARGETS = {"dense_max": 0.03, "dense_overall": 0.005, "polyphony": 0.2, "held": 0.03}


def draw(prefix: str, settings: GenerateConfig, seeds: int) -> tuple[list, float]:
    """Returns: (the pieces drawn with seeds 0 .. seeds-1, each (num_steps, V); seconds taken)."""
    import tensorflow as tf

    from rnn_rbm.engine import checkpoint
    from rnn_rbm.engine.sampling import draw_pieces
    from rnn_rbm.models import registry

    config = checkpoint.load_config(prefix)
    rolls, started = [], time.perf_counter()
    for seed in range(seeds):
        rng = tf.random.Generator.from_seed(seed)
        model = registry.build(config, rng)
        checkpoint.restore(prefix, model=model)
        rolls += list(draw_pieces(model, config, settings, rng)[0])
    return rolls, time.perf_counter() - started


def targets(result) -> dict[str, bool]:
    """Returns: for each of TARGETS, whether the samples meet it."""
    rows = {r.key: r for r in result.rows}
    return {
        "dense_max": result.samples.dense_max <= TARGETS["dense_max"],
        "dense_overall": result.samples.dense_overall < TARGETS["dense_overall"],
        "polyphony": abs(rows["polyphony"].mean - rows["polyphony"].ref_mean) <= TARGETS["polyphony"],
        "held": abs(rows["held"].mean - rows["held"].ref_mean) <= TARGETS["held"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("checkpoints", nargs="+", metavar="CKPT")
    parser.add_argument("--data", help="reference data (default: the first checkpoint's own)")
    parser.add_argument("--split", choices=["train", "valid", "test"],
                        help="reference split (default: test where the data has one, else all pieces)")
    parser.add_argument("--num_samples", type=int, default=16)
    parser.add_argument("--num_steps", type=int, default=1024)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--gibbs_steps", type=int, default=GenerateConfig().gibbs_steps)
    parser.add_argument("--temperature", type=float, default=GenerateConfig().temperature)
    args = parser.parse_args()
    quiet.setup(quiet=True)

    import tensorflow as tf

    from rnn_rbm.data.dataset import load_dataset
    from rnn_rbm.engine import checkpoint
    from rnn_rbm.music import samplestats
    from rnn_rbm.outputs import statstable

    configs = [checkpoint.load_config(prefix) for prefix in args.checkpoints]
    data = configs[0].data
    if any(c.data != data for c in configs):
        sys.exit("the checkpoints were trained on different grids (data settings); measure them apart")
    settings = GenerateConfig(num_samples=args.num_samples, num_steps=args.num_steps,
                              gibbs_steps=args.gibbs_steps, temperature=args.temperature)
    spec = args.data or configs[0].data_source
    dataset = load_dataset(spec, data, progress=False)
    reference, split = samplestats.reference_pieces(dataset, args.split)
    reference_label = f"{dataset.label}, {split}"

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.processor() or platform.system()}; "
          f"TensorFlow {tf.__version__}, Python {platform.python_version()}")
    print(f"settings: {args.num_samples} samples x {args.num_steps} frames x {args.seeds} seeds per checkpoint, "
          f"{args.gibbs_steps} Gibbs steps per frame, temperature {args.temperature:g}, {data.steps_per_quarter} frames per quarter note; "
          f"reference {reference_label} ({len(reference)} pieces)")
    ref_stats = samplestats.describe(reference, data.steps_per_quarter, data.lowest_pitch)
    models, record = [], {"reference": reference_label, "settings": vars(args), "models": {}}
    for prefix in args.checkpoints:
        rolls, seconds = draw(prefix, settings, args.seeds)
        mine = samplestats.describe(rolls, data.steps_per_quarter, data.lowest_pitch)
        result = samplestats.Report(mine, ref_stats, samplestats.compare(mine, ref_stats))
        models.append((prefix, result))
        met = targets(result)
        record["models"][prefix] = {**result.to_json(), "targets_met": met, "generate_s": round(seconds, 1)}
        print(f"{prefix}: drew {len(rolls)} pieces in {seconds:.0f} s")
    print()
    print(statstable.models_table(ref_stats, reference_label, models))
    print()
    print(f"targets: densest piece <= {100 * TARGETS['dense_max']:g} % of frames above "
          f"{samplestats.DENSE_NOTES} notes, all pieces < {100 * TARGETS['dense_overall']:g} %, notes per "
          f"sounding frame within {TARGETS['polyphony']} of the data's, held note ratio within {TARGETS['held']}")
    for prefix, _ in models:
        met = record["models"][prefix]["targets_met"]
        print(f"  {prefix}: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in met.items()))
    print(json.dumps(record, default=lambda v: None if isinstance(v, float) and math.isnan(v) else str(v)))


if __name__ == "__main__":
    main()
