"""Measuring a trained RNN-RBM as Table 1 of Boulanger-Lewandowski et al. (2012) does.

Both measures read each piece with the true past (teacher forcing): frame t is
scored under the RBM whose biases bv(t), bh(t) the RNN sets from frames < t.

- Log-likelihood per frame, nats, averaged over every frame of a split:
  log p(v_t) = -F_t(v_t) - log Z_t, F_t the free energy of frame t's RBM
  (exact) and log Z_t its log partition function, estimated by annealed
  importance sampling (rnn_rbm/ais.py), every frame's chains at once.
  The standard error is that of the AIS estimates alone (the frames are fixed):
  the frames' log Z estimates are independent, so their delta-method variances
  add: se = sqrt(sum_t Var(log Z_t)) / T.
- Expected frame-level accuracy (Bay et al. 2009): ACC = sum TP / sum (TP + FP + FN)
  over all frames, each frame's prediction a draw from its RBM (a Gibbs chain of
  `acc_gibbs_steps` steps from the all-zero frame, as in generation), computed for
  each of `acc_draws` independent draws of the whole split and averaged.

Rolls are time-major, (num_steps, num_pitches), float32 of 0/1.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_rbm import ais, rbm
from rnn_rbm.config import EvalConfig
from rnn_rbm.data import all_frames, batches, pad_batch
from rnn_rbm.model import RnnRbm

log = logging.getLogger(__name__)

# Pieces read by the RNN at once (forward only: memory is the only limit).
PIECES_PER_BATCH = 64
BASES = ("frame", "data")


@dataclass
class LogLikelihood:
    """Per-frame log-likelihoods of a split: log_p, float64 (frames,), nats, in the order of the
    pieces and their steps; variance, float64 (frames,), nats^2, the AIS variance of each."""

    log_p: np.ndarray
    variance: np.ndarray

    @property
    def nll(self) -> float:
        """Returns: the mean negative log-likelihood per frame, nats (positive)."""
        return float(-self.log_p.mean())

    @property
    def nll_se(self) -> float:
        """Returns: the standard error of `nll` from the AIS estimates, nats."""
        return float(math.sqrt(self.variance.sum()) / len(self.log_p))


def frame_biases(model: RnnRbm, rolls: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every real frame of `rolls` with the biases its RBM gets from the true past.

    Returns: (frames, float32 (T, V); bv(t), float32 (T, V); bh(t), float32 (T, H)), T the
    total number of frames, in piece order (not padded).
    """
    step_biases = tf.function(model.step_biases, input_signature=[tf.TensorSpec([None, None, None], tf.float32)])
    # Pieces of similar length share a batch (little padding), then go back to piece order.
    order = sorted(range(len(rolls)), key=lambda i: len(rolls[i]))
    pieces: list[tuple[np.ndarray, np.ndarray]] = [None] * len(rolls)  # type: ignore[list-item]
    for start in range(0, len(order), PIECES_PER_BATCH):
        group = order[start : start + PIECES_PER_BATCH]
        v, _ = pad_batch([rolls[i] for i in group])
        bv_t, bh_t = (x.numpy() for x in step_biases(tf.constant(v)))
        for row, i in enumerate(group):
            pieces[i] = (bv_t[row, : len(rolls[i])], bh_t[row, : len(rolls[i])])
    return (all_frames(rolls), np.concatenate([p[0] for p in pieces]), np.concatenate([p[1] for p in pieces]))


def base_rate_bias(train_rolls: list[np.ndarray], smoothing: float) -> np.ndarray:
    """Log-odds of each pitch's smoothed training frequency, p_i = (count_i + s) / (frames + 2 s).

    Returns: float32 (V,).
    """
    frames = all_frames(train_rolls)
    p = (frames.sum(axis=0) + smoothing) / (len(frames) + 2.0 * smoothing)
    return np.log(p / (1.0 - p)).astype(np.float32)


def log_likelihood(
    model: RnnRbm,
    rolls: list[np.ndarray],
    chains: int,
    temperatures: int,
    batch_frames: int,
    rng: tf.random.Generator,
    base_bias: np.ndarray | None = None,
    progress: bool = True,
) -> LogLikelihood:
    """log p(v_t) of every frame of `rolls` given its true past, log Z_t by AIS with
    `chains` chains per frame and `temperatures` intermediate distributions.

    base_bias: float32 (V,) visible biases of one AIS base for every frame; None gives each
    frame the base with its own visible bias bv(t).
    Returns: LogLikelihood over the frames of `rolls`, in piece order.
    """
    frames, bv_t, bh_t = frame_biases(model, rolls)
    betas = tf.constant(ais.linear_betas(temperatures))
    W = tf.convert_to_tensor(model.W)
    spec = tf.TensorSpec([None, None], tf.float32)

    @tf.function(input_signature=[spec, spec, spec])
    def run(bv: tf.Tensor, bh: tf.Tensor, b0: tf.Tensor) -> tf.Tensor:
        return ais.log_weights(W, bv, bh, b0, betas, chains, rng)

    log_z, variance = [], []
    starts = range(0, len(frames), batch_frames)
    for start in tqdm(starts, desc=f"AIS {chains} chains x {temperatures} temperatures", unit="batch",
                      leave=False, disable=None if progress else True):
        bv, bh = bv_t[start : start + batch_frames], bh_t[start : start + batch_frames]
        b0 = bv if base_bias is None else np.broadcast_to(base_bias, bv.shape)
        estimate = ais.summarise(run(bv, bh, b0).numpy())
        log_z.append(estimate.log_z)
        variance.append(estimate.variance)
    free = rbm.free_energy(tf.constant(frames), W, tf.constant(bv_t), tf.constant(bh_t)).numpy()
    return LogLikelihood(-free.astype(np.float64) - np.concatenate(log_z), np.concatenate(variance))


def accuracy_counts(
    model: RnnRbm, rolls: list[np.ndarray], gibbs_steps: int, rng: tf.random.Generator
) -> np.ndarray:
    """One draw of every frame of `rolls` given its true past (Gibbs chain of `gibbs_steps`
    steps from the all-zero frame), compared with the true frame.

    Returns: float64 (3,), the split's totals of true positives, false positives, false negatives.
    """
    spec = tf.TensorSpec([None, None, None], tf.float32)

    @tf.function(input_signature=[spec, tf.TensorSpec([None, None], tf.float32)])
    def counts(v: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        drawn = model.predict(v, gibbs_steps, rng)
        weight = mask[..., tf.newaxis]
        return tf.stack([tf.reduce_sum(drawn * v * weight), tf.reduce_sum(drawn * (1 - v) * weight),
                         tf.reduce_sum((1 - drawn) * v * weight)])

    totals = np.zeros(3)
    for v, mask in batches(rolls, PIECES_PER_BATCH):
        totals += counts(v, mask).numpy()
    return totals


def expected_accuracy(
    model: RnnRbm, rolls: list[np.ndarray], gibbs_steps: int, draws: int, rng: tf.random.Generator
) -> tuple[float, float]:
    """Frame-level accuracy (Bay et al. 2009) of frames drawn given the true past, averaged
    over `draws` independent draws of the whole split.

    Returns: (mean accuracy in [0, 1]; its standard error over draws, 0 for one draw).
    """
    scores = []
    for _ in range(draws):
        tp, fp, fn = accuracy_counts(model, rolls, gibbs_steps, rng)
        scores.append(tp / max(tp + fp + fn, 1.0))
    spread = float(np.std(scores, ddof=1) / math.sqrt(draws)) if draws > 1 else 0.0
    return float(np.mean(scores)), spread


def uniform_log_likelihood(num_pitches: int) -> float:
    """Returns: log p of any frame when every one of the 2^V frames is equally likely,
    -V log 2 nats (-61.00 for 88 keys)."""
    return -num_pitches * math.log(2.0)


def bernoulli_log_likelihood(train_rolls: list[np.ndarray], rolls: list[np.ndarray], smoothing: float) -> float:
    """Mean log-likelihood per frame of `rolls` under independent pitches whose probabilities
    are the smoothed training frequencies (`base_rate_bias`).

    Returns: float, nats per frame.
    """
    bias = base_rate_bias(train_rolls, smoothing).astype(np.float64)
    frames = all_frames(rolls).astype(np.float64)
    # log sigmoid(b) for a sounding pitch, log sigmoid(-b) for a silent one.
    return float(-np.logaddexp(0.0, -(2.0 * frames - 1.0) * bias).sum(axis=1).mean())


def make_validator(
    model: RnnRbm, train_rolls: list[np.ndarray], valid_rolls: list[np.ndarray], config: EvalConfig,
    rng: tf.random.Generator,
) -> Callable[[], dict[str, float]]:
    """A validation that training can run every few epochs: the AIS log-likelihood and the
    expected accuracy of the validation pieces, with the cheaper `valid_*` settings.

    Returns: a function () -> {"valid_nll": nats per frame, "valid_nll_se": nats,
    "valid_acc": in [0, 1]}.
    """
    base_bias = _base_bias(config, train_rolls)

    def validate() -> dict[str, float]:
        likelihood = log_likelihood(model, valid_rolls, config.valid_ais_chains, config.valid_ais_temperatures,
                                    config.ais_batch_frames, rng, base_bias, progress=False)
        accuracy, _ = expected_accuracy(model, valid_rolls, config.acc_gibbs_steps, config.valid_acc_draws, rng)
        return {"valid_nll": likelihood.nll, "valid_nll_se": likelihood.nll_se, "valid_acc": accuracy}

    return validate


@dataclass
class Evaluation:
    """What rnn_rbm_evaluate.py reports about one split."""

    nll: float  # nats per frame, positive
    nll_se: float  # nats, AIS standard error
    acc: float  # expected frame accuracy in [0, 1]
    acc_se: float  # over draws
    frames: int
    uniform_ll: float  # nats per frame (negative)
    bernoulli_ll: float  # nats per frame (negative)
    seconds_nll: float
    seconds_acc: float


def evaluate(
    model: RnnRbm, train_rolls: list[np.ndarray], rolls: list[np.ndarray], config: EvalConfig,
    rng: tf.random.Generator, progress: bool = True,
) -> Evaluation:
    """Measures `rolls` (a split) with the full settings of `config`.

    Returns: the Evaluation.
    """
    started = time.perf_counter()
    likelihood = log_likelihood(model, rolls, config.ais_chains, config.ais_temperatures,
                                config.ais_batch_frames, rng, _base_bias(config, train_rolls), progress)
    middle = time.perf_counter()
    acc, acc_se = expected_accuracy(model, rolls, config.acc_gibbs_steps, config.acc_draws, rng)
    return Evaluation(likelihood.nll, likelihood.nll_se, acc, acc_se, len(likelihood.log_p),
                      uniform_log_likelihood(int(model.W.shape[0])),
                      bernoulli_log_likelihood(train_rolls, rolls, config.reference_smoothing),
                      middle - started, time.perf_counter() - middle)


def _base_bias(config: EvalConfig, train_rolls: list[np.ndarray]) -> np.ndarray | None:
    if config.ais_base not in BASES:
        raise ValueError(f"ais_base must be one of {BASES}, not {config.ais_base!r}")
    return base_rate_bias(train_rolls, config.reference_smoothing) if config.ais_base == "data" else None
