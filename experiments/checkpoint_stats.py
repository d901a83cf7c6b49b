"""What a few checkpoints write, quickly: one seed's pieces measured as
benchmarks/sample_quality.py measures them, one line per checkpoint, for comparing the
epochs of one run (epoch_N.ckpt) before a full three-seed sample_quality.py run.

    python experiments/checkpoint_stats.py runs/lstm/epoch_40.ckpt runs/lstm/epoch_60.ckpt [--num_steps 1024]

Prints per checkpoint the means over its pieces of the notes per sounding frame, the held
note ratio, the silent-frame share, the scale consistency (whole and in windows) and the
pitch range, whole and in windows of --window frames.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

MEASURES = ("polyphony", "held", "silent", "scale", "scale_local", "pitch_range")


def windowed_range(roll: np.ndarray, window: int, lowest_pitch: int) -> float:
    """The pitch range (samplestats.pitch_range) of each `window` frames of `roll` that sound,
    averaged."""
    from rnn_rbm.music import samplestats

    parts = [roll[a:a + window] > 0 for a in range(0, len(roll), window)]
    return float(np.mean([samplestats.pitch_range(samplestats.Piece(part, 1, lowest_pitch))
                          for part in parts if part.any()] or [np.nan]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--num_samples", type=int, default=16)
    parser.add_argument("--num_steps", type=int, default=1024)
    parser.add_argument("--window", type=int, default=128, help="frames of the windowed pitch range")
    args = parser.parse_args()
    from rnn_rbm import quiet

    quiet.setup(quiet=True)
    import sample_quality

    from rnn_rbm.config import GenerateConfig
    from rnn_rbm.engine import checkpoint
    from rnn_rbm.music import samplestats

    for prefix in args.checkpoints:
        started = time.perf_counter()
        data = checkpoint.load_config(prefix).data
        rolls, _ = sample_quality.draw(prefix, GenerateConfig(num_samples=args.num_samples,
                                                              num_steps=args.num_steps), 1)
        stats = samplestats.describe(rolls, data.steps_per_quarter, data.lowest_pitch)
        figures = {key: round(float(np.nanmean(stats.values[key])), 3) for key in MEASURES}
        figures[f"pitch_range_{args.window}"] = round(float(np.nanmean([windowed_range(r, args.window, data.lowest_pitch)
                                                                       for r in rolls])), 3)
        print(prefix, figures, f"{time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
