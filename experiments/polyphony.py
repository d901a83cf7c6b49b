"""Mean polyphony (notes sounding per non-silent frame) and held fraction (how often a
sounding note still sounds one frame later) of MIDI files, beside the Bach default's.

    python experiments/polyphony.py results/*.mid [--steps_per_quarter 2]

Prints one line per file, then one JSON line {"generated": .., "bach": .., "held": ..,
"bach_held": .., "files": ..}.

A one-off experiment, its question answered: the note is experiments/2026-12-first-command.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnn_rbm.config import DataConfig  # noqa: E402
from rnn_rbm.data.dataset import load_dataset  # noqa: E402
from rnn_rbm.errors import UserError  # noqa: E402
from rnn_rbm.music.pianoroll import held_fraction, mean_polyphony, midi_to_roll  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--steps_per_quarter", type=int, default=DataConfig().steps_per_quarter)
    args = parser.parse_args()
    rolls = []
    for path in args.files:
        try:
            roll, _ = midi_to_roll(path, args.steps_per_quarter)
        except UserError as exc:
            print(f"{path}: skipped ({exc})")
            continue
        rolls.append(roll)
        print(f"{path}: {mean_polyphony([roll]):.2f} notes per sounding frame, {len(roll)} frames")
    bach = load_dataset("bach", DataConfig(steps_per_quarter=args.steps_per_quarter), progress=False)
    pieces = bach.train + bach.valid
    result = {"generated": mean_polyphony(rolls), "bach": mean_polyphony(pieces),
              "held": held_fraction(rolls), "bach_held": held_fraction(pieces),
              "files": len(rolls), "steps_per_quarter": args.steps_per_quarter}
    print(f"mean polyphony: generated {result['generated']:.2f}, Bach chorales {result['bach']:.2f}")
    print(f"held into the next frame: generated {result['held']:.3f}, Bach chorales {result['bach_held']:.3f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
