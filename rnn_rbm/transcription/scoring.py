"""Frame-level transcription scores, as MIREX multiple-F0 estimation reports them.

Bay, Ehmann & Downie (ISMIR 2009): over all frames of all pieces pooled, with TP, FP and
FN the notes decoded and sounding, decoded and silent, missed,

    accuracy  = TP / (TP + FP + FN)      (the paper's Figure 5)
    precision = TP / (TP + FP)
    recall    = TP / (TP + FN)
    F         = 2 precision recall / (precision + recall)

frame_scores computes them with mir_eval.multipitch (pitches as frequencies, matched
within half a semitone); bay_accuracy counts directly on the rolls, a check on the
conversion. A score of a denominator 0 is 0, as mir_eval has it.
"""

from __future__ import annotations

import warnings

import numpy as np

from rnn_rbm.transcription.features import LOWEST_PITCH


def _pairs(decoded, reference) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pieces as (decoded, reference) bool rolls of equal length, the shorter padded with
    silence: a frame the decoder did not produce counts as decoded silent."""
    if isinstance(decoded, np.ndarray) and decoded.ndim == 2:
        decoded, reference = [decoded], [reference]
    if len(decoded) != len(reference) or not len(decoded):
        raise ValueError(f"{len(decoded)} decoded pieces against {len(reference)} references: "
                         "need as many, and at least one")
    pairs = []
    for est, ref in zip(decoded, reference):
        est, ref = np.asarray(est) > 0, np.asarray(ref) > 0
        if est.shape[1] != ref.shape[1]:
            raise ValueError(f"decoded rolls have {est.shape[1]} pitches, references {ref.shape[1]}")
        length = max(len(est), len(ref))
        pairs.append(tuple(np.pad(roll, ((0, length - len(roll)), (0, 0))) for roll in (est, ref)))
    return pairs


def counts(decoded, reference) -> tuple[int, int, int]:
    """Pooled true positives, false positives and false negatives of note-frames.

    decoded, reference: one roll each, or equally long lists of rolls (one per piece), each
    (num_frames, num_pitches), time-major, nonzero = sounding.
    Returns: (TP, FP, FN), ints.
    """
    tp = fp = fn = 0
    for est, ref in _pairs(decoded, reference):
        tp += int((est & ref).sum())
        fp += int((est & ~ref).sum())
        fn += int((~est & ref).sum())
    return tp, fp, fn


def bay_accuracy(decoded, reference) -> float:
    """Frame-level accuracy of Bay et al. (2009) pooled over frames and pieces: TP / (TP + FP + FN).

    decoded, reference: as for counts.
    Returns: float in [0, 1]; 0 when both are silent throughout (as mir_eval).
    """
    tp, fp, fn = counts(decoded, reference)
    return tp / (tp + fp + fn) if tp + fp + fn else 0.0


def roll_to_multipitch(roll: np.ndarray, frame_seconds: float,
                       lowest_pitch: int = LOWEST_PITCH) -> tuple[np.ndarray, list[np.ndarray]]:
    """A roll as mir_eval's multipitch time series.

    roll: (num_frames, num_pitches), time-major, nonzero = sounding, column i = MIDI pitch
    lowest_pitch + i.
    Returns: (times, float64 of shape (num_frames,), frame t at t * frame_seconds; frequencies,
    one float64 array of Hz per frame, of the pitches sounding in it).
    """
    import mir_eval

    on = np.asarray(roll) > 0
    times = np.arange(len(on)) * float(frame_seconds)
    return times, [mir_eval.util.midi_to_hz(lowest_pitch + np.flatnonzero(row)).astype(np.float64) for row in on]


def frame_scores(decoded, reference, frame_seconds: float) -> dict[str, float]:
    """MIREX frame-level scores with mir_eval.multipitch, pooled over frames and pieces.

    decoded, reference: one roll each, or equally long lists of rolls (one per piece), each
    (num_frames, num_pitches), time-major, nonzero = sounding, column i = MIDI pitch 21 + i;
    a shorter roll of a pair is padded with silence.
    frame_seconds: the duration of one row (a symbolic step, or an audio frame); it sets
    mir_eval's time stamps and does not change the scores.

    Mir_eval's per-frame counts are taken piece by piece and pooled with its own
    compute_accuracy, so that many pieces never exceed its 30000 s limit on time stamps.

    Returns: {"accuracy", "precision", "recall", "f_measure"}, floats in [0, 1].
    """
    import mir_eval.multipitch as multipitch

    n_ref, n_est, true_positives = [], [], []
    for est, ref in _pairs(decoded, reference):
        ref_times, ref_freqs = roll_to_multipitch(ref, frame_seconds)
        est_times, est_freqs = roll_to_multipitch(est, frame_seconds)
        multipitch.validate(ref_times, ref_freqs, est_times, est_freqs)
        ref_midi = multipitch.frequencies_to_midi(ref_freqs)
        est_midi = multipitch.frequencies_to_midi(est_freqs)
        n_ref.append(multipitch.compute_num_freqs(ref_midi))
        n_est.append(multipitch.compute_num_freqs(est_midi))
        true_positives.append(multipitch.compute_num_true_positives(ref_midi, est_midi))
    with warnings.catch_warnings():
        # mir_eval warns when every frame is silent; the score of 0 says so already.
        warnings.simplefilter("ignore")
        precision, recall, accuracy = multipitch.compute_accuracy(
            np.concatenate(true_positives), np.concatenate(n_ref), np.concatenate(n_est))
    f_measure = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": float(accuracy), "precision": float(precision), "recall": float(recall),
            "f_measure": float(f_measure)}
