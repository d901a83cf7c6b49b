"""How much can a model of music add to an acoustic model's note probabilities, and what holds
it back? (experiments/2026-12-figure5-noise.md)

    python experiments/transcription_prior.py ACOUSTIC PRIOR [PRIOR ...] [--pieces 20]
        [--alphas 0 0.25 0.5 1 2] [--candidates 5 7] [--modes frame step step_oracle]

On the first N valid pieces of the acoustic model's data set, rendered as its training audio
was (clean or with its noise), prints the frame accuracy (MIREX, pooled) of the threshold and
the HMM, then of each prior at each alpha and candidate count, decoded three ways:

    frame        the paper's product of experts, audio frame by audio frame, the history
                 built from the decoded frames (decoders.greedy: what benchmarks/figure5.py runs)
    step         one decision per symbolic step: the step's audio frames pool their evidence,
                 -sum_f log Pa_f(v) - alpha log Ps(v | history), the candidates the K notes
                 likeliest over the step (decoders.greedy with per_step, which benchmarks/figure5.py
                 --per_step runs; possible because a step's audio frames are known)
    step_oracle  as step, but the history is the true roll's: what the prior could add if no
                 decoding error ever reached its history
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnn_rbm import quiet  # noqa: E402


class TrueHistory:
    """A prior whose history is the true roll's steps, whatever was decoded: what it could add
    if no decoding error ever reached its history (mode step_oracle)."""

    def __init__(self, prior, true_steps: np.ndarray):
        self.prior, self.true_steps, self.exact = prior, true_steps, prior.exact

    def initial_state(self):
        return self.prior.initial_state(), 0

    def log_prob(self, state, candidates: np.ndarray) -> np.ndarray:
        return self.prior.log_prob(state[0], candidates)

    def advance(self, state, _decoded_step: np.ndarray):
        inner, step = state
        return self.prior.advance(inner, self.true_steps[step]), step + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("acoustic", type=Path)
    parser.add_argument("priors", type=Path, nargs="+")
    parser.add_argument("--pieces", type=int, default=20, help="the first N valid pieces (0: all)")
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.0, 0.25, 0.5, 1.0, 2.0])
    parser.add_argument("--candidates", type=int, nargs="+", default=[5, 7])
    parser.add_argument("--modes", nargs="+", default=["frame", "step", "step_oracle"],
                        choices=["frame", "step", "step_oracle"])
    args = parser.parse_args()
    quiet.setup(verbose=False, quiet=True)

    from rnn_rbm.data.dataset import Loading
    from rnn_rbm.engine.prior import load_prior
    from rnn_rbm.engine.transcriber import AcousticReader
    from rnn_rbm.tasks.figure5 import measure, split_audio
    from rnn_rbm.transcription.decoders import DecoderConfig, decode
    from rnn_rbm.transcription.features import frames_to_roll
    from rnn_rbm.transcription.priors import note_transitions
    from rnn_rbm.transcription.scoring import frame_scores

    reader = AcousticReader(args.acoustic)
    fps = reader.features.frames_per_step
    dataset = Loading(progress=False).load(reader.config.data_source, reader.config.data)
    valid = split_audio(reader, dataset, "valid", args.pieces, progress=False)
    transitions = note_transitions(dataset.train, fps)
    noise = reader.features.noise_snr_db
    print(f"{reader.config.data_source}, {'clean audio' if noise is None else f'pink noise at {noise:g} dB'}: "
          f"{len(valid.references)} valid pieces, {valid.frames} audio frames")
    for level in (0.3, 0.4, 0.5, 0.6):
        print(f"threshold {level}: {measure(valid, DecoderConfig('threshold', level=level), None, transitions, fps)['accuracy']:.4f}")
    for scaled in (True, False):
        print(f"hmm scaled={scaled}: {measure(valid, DecoderConfig('hmm', scaled=scaled), None, transitions, fps)['accuracy']:.4f}")
    for path in args.priors:
        prior = load_prior(path)
        for mode, alpha, k in itertools.product(args.modes, args.alphas, args.candidates):
            config = DecoderConfig("greedy", alpha=alpha, candidates=k, per_step=mode != "frame")
            if mode == "step_oracle":
                decoded = [decode(p, config, TrueHistory(prior, frames_to_roll(truth, fps)), frames_per_step=fps)
                           for p, truth in zip(valid.posteriors, valid.references)]
                figures = frame_scores(decoded, valid.references, valid.frame_seconds)
            else:
                figures = measure(valid, config, prior, transitions, fps)
            print(f"{path} {mode:11s} alpha {alpha:<5g} K {k}: accuracy {figures['accuracy']:.4f} "
                  f"precision {figures['precision']:.3f} recall {figures['recall']:.3f}", flush=True)


if __name__ == "__main__":
    main()
