"""Does a model drift out of its key as a long piece goes on, or does it modulate? Scale
consistency (muspy's) in each successive window of 64 quarter notes of pieces drawn from
each checkpoint, by the window's place in the piece, and of the whole pieces.

    python experiments/key_windows.py CKPT [CKPT ...] [--num_samples 16] [--num_steps 1024] [--seed 0]

A key lost bit by bit would show as windows falling from the first to the last; windows
as high at the end as at the start, with the whole piece lower, is modulation. Prints one
line per checkpoint (experiments/2026-12-keys.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from rnn_rbm import quiet  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("checkpoints", nargs="+", metavar="CKPT")
    parser.add_argument("--num_samples", type=int, default=16)
    parser.add_argument("--num_steps", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    quiet.setup(quiet=True)

    import tensorflow as tf

    from rnn_rbm.config import GenerateConfig
    from rnn_rbm.engine import checkpoint
    from rnn_rbm.engine.sampling import draw_pieces
    from rnn_rbm.models import registry
    from rnn_rbm.music.samplestats import KEY_WINDOW_QUARTERS, Piece, scale_consistency

    settings = GenerateConfig(num_samples=args.num_samples, num_steps=args.num_steps)
    for prefix in args.checkpoints:
        config = checkpoint.load_config(prefix)
        rng = tf.random.Generator.from_seed(args.seed)
        model = registry.build(config, rng)
        checkpoint.restore(prefix, model=model)
        rolls = draw_pieces(model, config, settings, rng)[0]
        spq = config.data.steps_per_quarter
        size = KEY_WINDOW_QUARTERS * spq

        def consistency(roll: np.ndarray) -> float:
            return scale_consistency(Piece(roll > 0, spq, config.data.lowest_pitch))

        windows = [np.nanmean([consistency(r[s:s + size]) for r in rolls]) for s in range(0, args.num_steps, size)]
        whole = np.nanmean([consistency(r) for r in rolls])
        print(f"{prefix} ({config.model.family}, key {config.data.key}): windows in order "
              f"{' '.join(f'{w:.3f}' for w in windows)}; whole pieces {whole:.3f}", flush=True)


if __name__ == "__main__":
    main()
