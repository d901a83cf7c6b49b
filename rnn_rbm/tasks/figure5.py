"""Figure 5 of Boulanger-Lewandowski, Bengio & Vincent (2012): frame-level transcription
accuracy of an acoustic model alone, smoothed by a per-note HMM, and with a model of music as
its prior, on audio rendered from a data set's valid and test splits
(benchmarks/figure5.py runs it over the four sets).

For one data set: each split's rolls are played and analysed (data/audiocache.py, cached), the
acoustic model gives every audio frame's note probabilities (engine/transcriber.py), and every
decoder (transcription/decoders.py) is tuned on the valid split only, over the settings'
grids (threshold's level; the HMM's emissions and the weight of its chain; alpha and the candidate notes of the greedy
product of experts, for each prior; the beam's width at the greedy's best alpha and
candidates), then run once on the test split. Scores are MIREX's frame-level accuracy,
precision, recall and F, pooled over the audio frames of all pieces (transcription/scoring.py,
mir_eval), against each roll's steps repeated over their audio frames.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from rnn_rbm.data.audiocache import split_features
from rnn_rbm.data.dataset import Dataset
from rnn_rbm.outputs.recordtables import FIGURE5_PAPER as PAPER
from rnn_rbm.outputs.recordtables import FIGURE5_PAPER_REDUCTION as PAPER_REDUCTION
from rnn_rbm.transcription.audio import require_fluidsynth
from rnn_rbm.transcription.decoders import DecoderConfig, decode
from rnn_rbm.transcription.features import roll_to_frames
from rnn_rbm.transcription.priors import NoteTransitions, note_transitions
from rnn_rbm.transcription.scoring import frame_scores

if TYPE_CHECKING:  # TensorFlow's: not imported by the benchmark's flags, before quiet.setup
    from rnn_rbm.engine.prior import ModelPrior
    from rnn_rbm.engine.transcriber import AcousticReader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Figure5Settings:
    """The grids tuned on the valid split, and how many pieces of each split are decoded (the
    first N; 0: all)."""

    levels: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7)
    alphas: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)
    candidates: tuple[int, ...] = (5, 7)
    widths: tuple[int, ...] = (4, 10)
    valid_pieces: int = 0
    test_pieces: int = 0
    hmm_weights: tuple[float, ...] = (0.25, 0.5, 1.0)
    # Also the rows decided once per symbolic step (decoders.greedy's per_step): the acoustic
    # model alone so, and with each prior.
    per_step: bool = False


@dataclass(frozen=True)
class SplitAudio:
    """A split as the decoders see it: each piece's note probabilities and true notes, both
    (audio frames, 88), time-major."""

    posteriors: list[np.ndarray]
    references: list[np.ndarray]
    frame_seconds: float

    @property
    def frames(self) -> int:
        return int(sum(map(len, self.references)))


def split_audio(reader: AcousticReader, dataset: Dataset, split: str, pieces: int, progress: bool) -> SplitAudio:
    """Returns: the first `pieces` pieces (0: all) of `split`, played, analysed and read by the
    acoustic model."""
    rolls = getattr(dataset, split)[:pieces or None]
    features = reader.features
    spectra = split_features(rolls, dataset.label, split, features, require_fluidsynth(), progress=progress)
    return SplitAudio([reader.probabilities(spectrum) for spectrum in spectra],
                      [roll_to_frames(roll, features.frames_per_step) for roll in rolls], reader.frame_seconds)


def measure(audio: SplitAudio, config: DecoderConfig, prior: ModelPrior | None, transitions: NoteTransitions,
            frames_per_step: int) -> dict:
    """Decodes every piece of `audio` with `config`.

    Returns: {"accuracy", "precision", "recall", "f_measure"} in [0, 1] (frame_scores) and
    "seconds", the decoding's.
    """
    started = time.perf_counter()
    decoded = [decode(p, config, prior, transitions, frames_per_step) for p in audio.posteriors]
    seconds = time.perf_counter() - started
    return {**frame_scores(decoded, audio.references, audio.frame_seconds), "seconds": seconds}


def tune(valid: SplitAudio, grid: list[DecoderConfig], prior: ModelPrior | None, transitions: NoteTransitions,
         frames_per_step: int, what: str, progress: bool) -> tuple[DecoderConfig, list[dict]]:
    """Returns: the config of `grid` most accurate on the valid split (the first of ties), and
    every trial's settings and figures."""
    trials = []
    for config in tqdm(grid, desc=f"tuning {what}", unit="setting", leave=False, disable=None if progress else True):
        trials.append({"settings": dataclasses.asdict(config),
                       **measure(valid, config, prior, transitions, frames_per_step)})
    best = max(range(len(grid)), key=lambda i: (trials[i]["accuracy"], -i))
    return grid[best], trials


def figure5_set(dataset: Dataset, reader: AcousticReader, priors: dict[str, ModelPrior], settings: Figure5Settings,
                progress: bool = True) -> dict:
    """Figure 5's rows on one data set: every decoder tuned on its valid split, measured on its test split.

    priors: label -> prior (a model of music trained on this data set).
    Returns: {"rows": [{"row", "decoder", "prior", "tuned": settings, "valid": figures, "test":
    figures}], "frames": {"valid", "test"}, "pieces": {"valid", "test"}, "frame_seconds"}.
    """
    fps = reader.features.frames_per_step
    valid = split_audio(reader, dataset, "valid", settings.valid_pieces, progress)
    test = split_audio(reader, dataset, "test", settings.test_pieces, progress)
    transitions = note_transitions(dataset.train, fps)
    log.info("%s: %d valid and %d test audio frames; tuning on valid, measuring on test", dataset.label,
             valid.frames, test.frames)
    plans: list[tuple[str, str, str | None, list[DecoderConfig]]] = [
        ("threshold 0.5", "threshold", None, [DecoderConfig("threshold", level=0.5)]),
        ("threshold", "threshold", None, [DecoderConfig("threshold", level=x) for x in settings.levels]),
        ("hmm", "hmm", None, [DecoderConfig("hmm", scaled=s, weight=w)
                              for s, w in itertools.product((True, False), settings.hmm_weights)]),
    ]
    rows = []

    def run(row: str, decoder: str, label: str | None, grid: list[DecoderConfig]) -> DecoderConfig:
        prior = priors.get(label) if label else None
        best, trials = tune(valid, grid, prior, transitions, fps, row, progress)
        figures = measure(test, best, prior, transitions, fps)
        chosen = next(t for t in trials if t["settings"] == dataclasses.asdict(best))
        rows.append({"row": row, "decoder": decoder, "prior": label, "tuned": dataclasses.asdict(best),
                     "valid": {k: v for k, v in chosen.items() if k != "settings"}, "test": figures,
                     "trials": len(trials)})
        log.info("%s %s: valid %.1f %%, test %.1f %% (%s)", dataset.label, row, 100 * chosen["accuracy"],
                 100 * figures["accuracy"], ", ".join(f"{k} {v}" for k, v in dataclasses.asdict(best).items()
                                                      if k in ("level", "alpha", "candidates", "width", "scaled", "weight")))
        return best

    for plan in plans:
        run(*plan)
    for label in priors:
        greedy = run(f"greedy + {label}", "greedy", label,
                     [DecoderConfig("greedy", alpha=a, candidates=k)
                      for a, k in itertools.product(settings.alphas, settings.candidates)])
        run(f"beam + {label}", "beam", label,
            [dataclasses.replace(greedy, name="beam", width=w) for w in settings.widths])
    if settings.per_step:
        run("per step alone", "step", None, [DecoderConfig("greedy", alpha=0.0, candidates=k, per_step=True)
                                             for k in settings.candidates])
        for label in priors:
            run(f"per step + {label}", "step", label,
                [DecoderConfig("greedy", alpha=a, candidates=k, per_step=True)
                 for a, k in itertools.product(settings.alphas, settings.candidates)])
    return {"rows": rows, "frames": {"valid": valid.frames, "test": test.frames},
            "pieces": {"valid": len(valid.references), "test": len(test.references)},
            "frame_seconds": reader.frame_seconds}


def targets(name: str, result: dict) -> dict:
    """The issue's targets on one set's test accuracies: the RNN-RBM prior (greedy) beats the HMM,
    which beats the tuned threshold; the prior's relative error reduction over the HMM reaches the
    paper's. Where no rnn_rbm prior was run, the best greedy prior stands in (named).

    Returns: {"prior": the prior judged, "reduction": float, "paper_reduction", "prior_beats_hmm",
    "hmm_beats_threshold", "reduction_met", "best_prior", "best_beam"}.
    """
    test = {row["row"]: row["test"]["accuracy"] for row in result["rows"]}
    greedy = {row["prior"]: row["test"]["accuracy"] for row in result["rows"] if row["decoder"] == "greedy"}
    beam = {row["prior"]: row["test"]["accuracy"] for row in result["rows"] if row["decoder"] == "beam"}
    judged = "rnn_rbm" if "rnn_rbm" in greedy else (max(greedy, key=greedy.get) if greedy else None)
    hmm, threshold = test["hmm"], test["threshold"]
    found = {"prior": judged, "paper_reduction": PAPER_REDUCTION.get(name),
             "hmm_beats_threshold": hmm > threshold,
             "best_prior": max(greedy, key=greedy.get) if greedy else None,
             "best_beam": max(beam, key=beam.get) if beam else None}
    if judged is not None:
        reduction = (greedy[judged] - hmm) / (1.0 - hmm) if hmm < 1 else 0.0
        found.update(reduction=reduction, prior_beats_hmm=greedy[judged] > hmm,
                     reduction_met=None if found["paper_reduction"] is None else reduction >= found["paper_reduction"])
    return found
