"""Frame-level accuracy of Bay, Ehmann & Downie (ISMIR 2009), as Boulanger-Lewandowski,
Bengio & Vincent (ICML 2012) report it in their Table 1.

For one frame with true notes v and predicted notes v^ (both 0/1 over the pitches):

    TP = sum v v^,   FP = sum (1 - v) v^,   FN = sum v (1 - v^)
    Acc(t) = TP / (TP + FP + FN),  1 when the truth and the prediction are both silent
    (nothing to find and nothing claimed: the frame is predicted exactly).

The paper's "expected frame-level accuracy" is, for each time step, the expectation of
Acc(t) over the model's distribution of the frame given the true past, then the average
of that expectation over the time steps: `expected`. Pooling the counts of all frames
first, sum TP / sum (TP + FP + FN), weights busy frames more and reads lower on this
music; it is reported beside as `pooled`. Both are estimated from draws: each draw of
every frame gives one figure, and the estimate is the mean over draws.

Counts are float arrays whose last axis holds (TP, FP, FN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf


def frame_counts(drawn: tf.Tensor, truth: tf.Tensor) -> tf.Tensor:
    """TP, FP and FN of each frame.

    drawn, truth: float32 0/1 of the same shape (..., V), predicted and true notes.
    Returns: float32 (..., 3), the counts over the pitch axis.
    """
    return tf.stack([tf.reduce_sum(drawn * truth, axis=-1),
                     tf.reduce_sum(drawn * (1.0 - truth), axis=-1),
                     tf.reduce_sum((1.0 - drawn) * truth, axis=-1)], axis=-1)


def per_frame(counts: np.ndarray) -> np.ndarray:
    """Acc(t) of each frame from its counts (..., 3).

    Returns: float64 (...), in [0, 1]; 1 where TP + FP + FN = 0.
    """
    counts = np.asarray(counts, dtype=np.float64)
    tp, errors = counts[..., 0], counts[..., 1] + counts[..., 2]
    total = tp + errors
    return np.where(total > 0, tp / np.maximum(total, 1.0), 1.0)


@dataclass(frozen=True)
class Accuracy:
    """A split's accuracies, each the mean over draws with its standard error over draws
    (0 for one draw): expected, the paper's measure; pooled, sum TP / sum (TP + FP + FN)."""

    expected: float
    expected_se: float
    pooled: float
    pooled_se: float


def summarise(counts: np.ndarray) -> Accuracy:
    """The split's accuracies from the counts of every frame in every draw.

    counts: (frames, draws, 3), TP, FP, FN of each frame in each draw.
    Returns: the Accuracy (nan figures when there are no frames).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.shape[0] == 0:
        return Accuracy(math.nan, math.nan, math.nan, math.nan)
    expected = per_frame(counts).mean(axis=0)  # (draws,): each draw's mean over frames
    pooled = per_frame(counts.sum(axis=0))  # (draws,)
    return Accuracy(float(expected.mean()), _se(expected), float(pooled.mean()), _se(pooled))


def _se(per_draw: np.ndarray) -> float:
    draws = len(per_draw)
    return float(per_draw.std(ddof=1) / math.sqrt(draws)) if draws > 1 else 0.0
