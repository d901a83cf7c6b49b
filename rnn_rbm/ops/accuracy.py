"""Frame-level accuracy of Bay, Ehmann & Downie (ISMIR 2009), as Boulanger-Lewandowski,
Bengio & Vincent (ICML 2012) report it in their Table 1.

For one frame with true notes v and predicted notes v^ (both 0/1 over the pitches):

    TP = sum v v^,   FP = sum (1 - v) v^,   FN = sum v (1 - v^)

The paper's measure (`per_frame`): the author's page asks for "the accuracy as in Bay et al.
(2009), [which] takes into account insertions, misses and replacement errors", where a wrong
note in place of a right one is one error (a replacement), not a miss and an insertion:

    Acc(t) = N_correct / max(N_reference, N_system) = TP / (TP + max(FP, FN)),
    1 when the truth and the prediction are both silent (the frame is predicted exactly).

This form, not the one below, reproduces the paper's own baseline rows (Random, Note 1-Gram:
rnn_rbm/engine/baselines.py). Counting a replacement as two errors instead gives

    TP / (TP + FP + FN)     (`per_frame_tp_fp_fn`; 1 when both are silent),

which reads lower: truth {60, 64, 67} against {60, 64, 69} scores 2/3 above and 2/4 here.

The paper's "expected frame-level accuracy" is, for each time step, the expectation of
Acc(t) over the model's distribution of the frame given the true past, then the average of
that expectation over the time steps: `expected`. The same average of TP / (TP + FP + FN) is
`tp_fp_fn`. Pooling the counts of all frames first, sum TP / sum (TP + FP + FN) (MIREX's
multiple-F0 frame accuracy), weights busy frames more: `pooled`. All are estimated from
draws: each draw of every frame gives one figure, and the estimate is the mean over draws.

Counts are float arrays whose last axis holds (TP, FP, FN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from rnn_rbm.data.dataset import all_frames


def frame_counts(drawn: tf.Tensor, truth: tf.Tensor) -> tf.Tensor:
    """TP, FP and FN of each frame.

    drawn, truth: float32 0/1 of the same shape (..., V), predicted and true notes.
    Returns: float32 (..., 3), the counts over the pitch axis.
    """
    return tf.stack([tf.reduce_sum(drawn * truth, axis=-1),
                     tf.reduce_sum(drawn * (1.0 - truth), axis=-1),
                     tf.reduce_sum((1.0 - drawn) * truth, axis=-1)], axis=-1)


def per_frame(counts: np.ndarray) -> np.ndarray:
    """The paper's Acc(t) of each frame from its counts (..., 3): TP / (TP + max(FP, FN)).

    Returns: float64 (...), in [0, 1]; 1 where TP + FP + FN = 0.
    """
    counts = np.asarray(counts, dtype=np.float64)
    tp = counts[..., 0]
    return _ratio(tp, tp + np.maximum(counts[..., 1], counts[..., 2]))


def per_frame_tp_fp_fn(counts: np.ndarray) -> np.ndarray:
    """TP / (TP + FP + FN) of each frame from its counts (..., 3): a replacement counts twice.

    Returns: float64 (...), in [0, 1]; 1 where TP + FP + FN = 0.
    """
    counts = np.asarray(counts, dtype=np.float64)
    return _ratio(counts[..., 0], counts.sum(axis=-1))


def _ratio(tp: np.ndarray, total: np.ndarray) -> np.ndarray:
    # total is 0 only when nothing is true and nothing claimed: an exact prediction.
    return np.where(total > 0, tp / np.maximum(total, 1.0), 1.0)


@dataclass(frozen=True)
class Accuracy:
    """A split's accuracies, each the mean over draws with its standard error over draws
    (0 for one draw), in [0, 1]: expected, the paper's measure (mean over frames of
    TP / (TP + max(FP, FN))); tp_fp_fn, the mean over frames of TP / (TP + FP + FN); pooled,
    sum TP / sum (TP + FP + FN) over all frames."""

    expected: float
    expected_se: float
    tp_fp_fn: float
    tp_fp_fn_se: float
    pooled: float
    pooled_se: float


class Tally:
    """The sums behind a split's accuracies, added frames by frames, so that the counts of
    every frame in every draw need not be held at once (100 draws of MuseData's 64,339 test
    frames: 154 MB of counts, and as much again for each figure taken from them)."""

    def __init__(self) -> None:
        self.frames = 0
        # Each over the frames so far, per draw: the paper's Acc(t), TP / (TP + FP + FN), and
        # the (TP, FP, FN) counts.
        self.sums: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def add(self, counts: np.ndarray) -> None:
        """counts: (frames, draws, 3), TP, FP, FN of each frame in each draw."""
        counts = np.asarray(counts, dtype=np.float64)
        if counts.shape[0] == 0:
            return
        sums = (per_frame(counts).sum(axis=0), per_frame_tp_fp_fn(counts).sum(axis=0), counts.sum(axis=0))
        self.sums = sums if self.sums is None else tuple(a + b for a, b in zip(self.sums, sums))
        self.frames += counts.shape[0]

    def result(self) -> Accuracy:
        """Returns: the Accuracy of the frames added (nan figures when there are none)."""
        if self.sums is None:
            return Accuracy(*[math.nan] * 6)
        # Each (draws,): each draw's figure over the frames.
        expected, tp_fp_fn = self.sums[0] / self.frames, self.sums[1] / self.frames
        pooled = per_frame_tp_fp_fn(self.sums[2])
        return Accuracy(float(expected.mean()), _se(expected), float(tp_fp_fn.mean()), _se(tp_fp_fn),
                        float(pooled.mean()), _se(pooled))


def summarise(counts: np.ndarray) -> Accuracy:
    """The split's accuracies from the counts of every frame in every draw.

    counts: (frames, draws, 3), TP, FP, FN of each frame in each draw.
    Returns: the Accuracy (nan figures when there are no frames).
    """
    tally = Tally()
    tally.add(counts)
    return tally.result()


def _se(per_draw: np.ndarray) -> float:
    draws = len(per_draw)
    return float(per_draw.std(ddof=1) / math.sqrt(draws)) if draws > 1 else 0.0


def previous_frame_accuracy(rolls: list[np.ndarray]) -> float:
    """The paper's frame accuracy of predicting each frame as the true frame before it (the
    first frame of a piece as silence): the trivial forecast a model should beat. Exact, no draws.

    Returns: float in [0, 1], the mean over every frame of `rolls`.
    """
    frames = all_frames(rolls)
    before = all_frames([np.concatenate([np.zeros_like(r[:1]), r[:-1]]) for r in rolls])
    return float(per_frame(frame_counts(before, frames).numpy()).mean())
