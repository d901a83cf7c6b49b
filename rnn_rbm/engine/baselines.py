"""The reference rows of Table 1 of Boulanger-Lewandowski, Bengio & Vincent (ICML 2012),
measured by the code that measures the models (rnn_rbm/ops/accuracy.py, ops/bernoulli.py):

- Random: every pitch on with probability 1/2, independently: log p(v) = -V log 2 for any
  frame (-61.00 nats for 88 keys).
- Note 1-Gram: independent pitches, each on with its smoothed frequency in the training
  frames (bernoulli.base_rate_bias), the same for every frame.
- Copy previous frame: each frame forecast as the true frame before it (silence before a
  piece's first); one forecast, no distribution, so no log-likelihood (nan). Not in the paper.

The expected accuracies of the two distributions are estimated from `draws` draws of every
frame (numpy, from the generator passed in), each draw scored as a model's is
(accuracy.summarise); their standard error is that over draws.

Rolls are time-major, (num_steps, num_pitches), float32 of 0/1.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from rnn_rbm.data.dataset import all_frames
from rnn_rbm.ops import accuracy, bernoulli

RANDOM, NOTE_1_GRAM, PREVIOUS_FRAME = "Random", "Note 1-Gram", "Copy previous frame"
# Uniform draws held in memory at once, float32: 16 MiB (at 64 MiB, with their comparisons,
# the reference rows raised a run's peak by 100 MiB).
DRAWN_PER_CHUNK = 2**22


def independent_pitch_counts(p: np.ndarray, frames: np.ndarray, draws: int,
                             rng: np.random.Generator) -> Iterator[np.ndarray]:
    """TP, FP and FN of `draws` draws of independent pitches against each true frame, a chunk
    of frames at a time (the draws of a chunk held at once: DRAWN_PER_CHUNK).

    p: float (V,), each pitch's probability of being on, the same for every frame.
    frames: (T, V) of 0/1, the true frames. rng: the generator of the draws.
    Yields: float64 (n, draws, 3), the counts of each frame of the chunk in each draw
    (accuracy.frame_counts), frames in order.
    """
    p = np.asarray(p, np.float32)
    truth = np.asarray(frames) > 0
    step = max(1, DRAWN_PER_CHUNK // max(1, draws * len(p)))
    for start in range(0, len(truth), step):
        true = truth[start : start + step, np.newaxis, :]  # (n, 1, V)
        drawn = rng.random((len(true), draws, len(p)), dtype=np.float32) < p  # (n, draws, V)
        hits = np.count_nonzero(drawn & true, axis=-1)
        yield np.stack([hits, np.count_nonzero(drawn, axis=-1) - hits, np.count_nonzero(true, axis=-1) - hits],
                       axis=-1).astype(np.float64)


def independent_pitch_row(nll: float, p: np.ndarray, rolls: list[np.ndarray], draws: int,
                          rng: np.random.Generator) -> dict[str, float]:
    """One row for a distribution of independent pitches with probabilities p (V,) and log-likelihood
    per frame -nll, its accuracies from `draws` draws of every frame of `rolls`.

    Returns: {"nll": nats per frame (positive), "acc": the paper's expected frame accuracy,
    "acc_se": its standard error over draws, "acc_tp_fp_fn": mean TP / (TP + FP + FN),
    "acc_pooled": sum TP / sum (TP + FP + FN)}; accuracies in [0, 1].
    """
    tally = accuracy.Tally()
    for counts in independent_pitch_counts(p, all_frames(rolls), draws, rng):
        tally.add(counts)
    acc = tally.result()
    return {"nll": nll, "acc": acc.expected, "acc_se": acc.expected_se, "acc_tp_fp_fn": acc.tp_fp_fn,
            "acc_pooled": acc.pooled}


def baseline_rows(train_rolls: list[np.ndarray], rolls: list[np.ndarray], smoothing: float,
                  rng: np.random.Generator, draws: int) -> dict[str, dict[str, float]]:
    """The reference rows measured on `rolls` (a split), the Note 1-Gram fitted on `train_rolls`
    with add-`smoothing` counts (EvalConfig.reference_smoothing); `draws` draws of every frame
    from `rng` for each expected accuracy (100 draws of JSB's 4,725 test frames: se ~0.02 points).

    Returns: {RANDOM, NOTE_1_GRAM, PREVIOUS_FRAME: a row as independent_pitch_row gives it};
    the previous-frame row is exact (acc_se 0) and has only "acc" (the others nan).
    """
    num_pitches = rolls[0].shape[1]
    one_gram = 1.0 / (1.0 + np.exp(-bernoulli.base_rate_bias(train_rolls, smoothing).astype(np.float64)))
    return {
        RANDOM: independent_pitch_row(-bernoulli.uniform_log_likelihood(num_pitches), np.full(num_pitches, 0.5),
                                      rolls, draws, rng),
        NOTE_1_GRAM: independent_pitch_row(-bernoulli.bernoulli_log_likelihood(train_rolls, rolls, smoothing),
                                           one_gram, rolls, draws, rng),
        PREVIOUS_FRAME: {"nll": math.nan, "acc": accuracy.previous_frame_accuracy(rolls), "acc_se": 0.0,
                         "acc_tp_fp_fn": math.nan, "acc_pooled": math.nan},
    }
