"""Measuring a trained model as Table 1 of Boulanger-Lewandowski et al. (2012) does.

Both measures read each piece with the true past (teacher forcing): frame t is
scored under the distribution that the model sets from frames < t. A model with
an exact log-probability (FrameModel.EXACT) is scored exactly, and its expected
accuracy comes from exact draws of each frame (ExactScorer). For the RNN-RBM,
frame t's RBM has biases bv(t), bh(t), and one annealed importance sampling run
per frame (rnn_rbm/ops/ais.py; all frames x chains at once, in batches of frames)
serves both measures (Scorer):

- Log-likelihood per frame, nats, averaged over every frame of a split:
  log p(v_t) = -F_t(v_t) - log Z_t, F_t the free energy of frame t's RBM
  (exact) and log Z_t the log of the mean AIS weight of its chains.
  Standard error: that of the AIS estimates alone (the frames are fixed). The
  frames' estimates are independent, so their delta-method variances add:
  se = sqrt(sum_t Var(w_t) / (M mean(w_t)^2)) / T, M chains, T frames.
- Expected frame-level accuracy (Bay et al. 2009), as the paper defines it: for
  each frame the expectation of TP / (TP + max(FP, FN)) over its RBM, then the mean
  over frames (rnn_rbm/ops/accuracy.py; the mean of TP / (TP + FP + FN) and the pooled
  sum TP / sum (TP + FP + FN) beside it). Each draw of a frame is one of its M
  chains' last states, chosen with probability proportional to its importance
  weight (sampling-importance-resampling). Each of `draws` draws of the whole
  split gives one figure; the estimate is their mean, its standard error their
  spread (over resampling only: the chains are shared by the draws).

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

from rnn_rbm import seeding
from rnn_rbm.config import EvalConfig
from rnn_rbm.data.dataset import all_frames, pad_batch, pitch_log_odds
from rnn_rbm.models.base import FrameModel
from rnn_rbm.ops import accuracy, ais, bernoulli, philox, rbm

log = logging.getLogger(__name__)

# Pieces read by the RNN at once (forward only: memory is the only limit).
PIECES_PER_BATCH = 64
BASES = ("frame", "data")


@dataclass
class Scores:
    """A split's figures. log_p, float64 (T,), nats, each frame's log-likelihood in piece order;
    variance, float64 (T,), nats^2, the AIS variance of each; counts, float64 (T, draws, 3),
    each frame's true positives, false positives and false negatives in each draw;
    log_z_over_known, float64 (T,), nats, log(Z estimate / Z of the known states) of each
    frame (0 when AIS found no mass outside them; nan without known states)."""

    log_p: np.ndarray
    variance: np.ndarray
    counts: np.ndarray
    log_z_over_known: np.ndarray

    @property
    def nll(self) -> float:
        """Returns: the mean negative log-likelihood per frame, nats (positive)."""
        return float(-self.log_p.mean())

    @property
    def nll_se(self) -> float:
        """Returns: the standard error of `nll` from the AIS estimates, nats."""
        return float(math.sqrt(self.variance.sum()) / len(self.log_p))

    @property
    def accuracy(self) -> accuracy.Accuracy:
        """Returns: the expected frame accuracy (the paper's), TP / (TP + FP + FN) and the pooled
        one, over draws."""
        return accuracy.summarise(self.counts)

    @property
    def mean_log_z_over_known(self) -> float:
        """Returns: the mean over frames of log(Z estimate / Z known), nats: how much of the
        estimated Z lies outside the known training frames. Near 0, the chains found almost
        nothing else, and nll_se, which measures only the spread of what they found, says
        little about the mass they may have missed."""
        return float(np.mean(self.log_z_over_known))


def frame_biases(step_biases: Callable, rolls: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every real frame of `rolls` with the biases its RBM gets from the true past.

    step_biases: the model's `step_biases`, compiled once by the caller.
    Returns: (frames, float32 (T, V); bv(t), float32 (T, V); bh(t), float32 (T, H)), T the
    total number of frames, in piece order (not padded).
    """
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
    """Returns: the log-odds of each pitch's smoothed training frequency (data.pitch_log_odds),
    float32 (V,)."""
    return pitch_log_odds(all_frames(train_rolls), smoothing)


def known_frames(train_rolls: list[np.ndarray]) -> np.ndarray:
    """Returns: the distinct frames of the training pieces, float32 0/1 (S, V) (JSB: 2,420;
    Nottingham: 1,252), the states whose part of each frame's Z is summed exactly."""
    return np.unique(all_frames(train_rolls), axis=0)


class Scorer:
    """Log-likelihood of every frame given its true past (log Z_t by AIS with `chains` chains
    per frame and `temperatures` intermediate distributions) and `draws` draws of every frame
    for the expected accuracy; compiled once, then called for any number of splits.

    base_bias: float32 (V,) visible biases of one AIS base for every frame; None gives each
    frame the base with its own visible bias bv(t).
    known: float32 0/1 (S, V) distinct frames whose part of every Z is summed exactly (the
    chains then estimate only the rest, see ais.summarise); None: AIS alone.
    rng: the generator the chains and draws use.
    model: one whose frames are RBMs (the RNN-RBM): it has W and step_biases.
    """

    def __init__(self, model: FrameModel, chains: int, temperatures: int, draws: int, batch_frames: int,
                 rng: tf.random.Generator, base_bias: np.ndarray | None = None,
                 known: np.ndarray | None = None):
        self.model, self.chains, self.temperatures, self.draws = model, chains, temperatures, draws
        self.batch_frames, self.base_bias = batch_frames, base_bias
        n_visible = int(model.W.shape[0])
        # No known states: an empty set, which leaves AIS alone.
        self.known = tf.constant(np.zeros((0, n_visible), np.float32) if known is None else known)
        betas = tf.constant(ais.linear_betas(temperatures))
        known_t, W = self.known, model.W
        matrix = tf.TensorSpec([None, None], tf.float32)
        self.step_biases = tf.function(model.step_biases, input_signature=[tf.TensorSpec([None, None, None],
                                                                                         tf.float32)])

        @tf.function(input_signature=[matrix, matrix, matrix])
        def run(bv: tf.Tensor, bh: tf.Tensor, b0: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
            log_w, states = ais.anneal(W, bv, bh, b0, betas, chains, rng)
            return log_w, states, ais.outside(states, known_t)

        @tf.function(input_signature=[matrix, matrix])
        def known_mass(bv: tf.Tensor, bh: tf.Tensor) -> tf.Tensor:
            return ais.known_minus_free_energy(W, bv, bh, known_t)

        @tf.function(input_signature=[matrix, tf.TensorSpec([None, chains], tf.float32),
                                      tf.TensorSpec([None, chains, n_visible], tf.float32),
                                      tf.TensorSpec([None, chains], tf.bool), matrix])
        def count(v, log_w, states, chain_outside, minus_free) -> tf.Tensor:
            drawn = ais.resample(log_w, states, draws, rng, chain_outside, known_t, minus_free)  # (N, draws, V)
            return accuracy.frame_counts(drawn, v[:, tf.newaxis, :])  # (N, draws, 3)

        @tf.function(input_signature=[matrix, matrix, matrix])
        def free_energy(v: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor) -> tf.Tensor:
            return rbm.free_energy(v, W, bv, bh)

        self.run, self.known_mass, self.count, self.free_energy = run, known_mass, count, free_energy
        self.compiled = [self.step_biases, run, known_mass, count, free_energy]

    def __call__(self, rolls: list[np.ndarray], progress: bool = True) -> Scores:
        """Returns: the Scores of the frames of `rolls` (pieces, each (steps, V), time-major)."""
        frames, bv_t, bh_t = frame_biases(self.step_biases, rolls)
        # Frames per exact sum over the known states: its (frames, S, H) tensor near 2^25 floats.
        exact_frames = max(1, 2**25 // max(1, len(self.known) * int(self.model.W.shape[1])))
        log_z, variance, over_known, counts = [], [], [], []
        starts = range(0, len(frames), self.batch_frames)
        for start in tqdm(starts, desc=f"AIS {self.chains} chains x {self.temperatures} temperatures",
                          unit="batch", leave=False, disable=None if progress else True):
            stop = min(start + self.batch_frames, len(frames))
            bv, bh = bv_t[start:stop], bh_t[start:stop]
            base = bv if self.base_bias is None else np.broadcast_to(self.base_bias, bv.shape)
            log_w, states, chain_outside = self.run(bv, bh, base)
            minus_free = tf.concat([self.known_mass(bv[i : i + exact_frames], bh[i : i + exact_frames])
                                    for i in range(0, stop - start, exact_frames)], axis=0)
            counts.append(self.count(frames[start:stop], log_w, states, chain_outside, minus_free).numpy())
            log_z_known = tf.reduce_logsumexp(minus_free, axis=1).numpy() if len(self.known) else None
            estimate = ais.summarise(log_w.numpy(), chain_outside.numpy(), log_z_known)
            log_z.append(estimate.log_z)
            variance.append(estimate.variance)
            over_known.append(estimate.log_z - log_z_known if log_z_known is not None
                              else np.full(stop - start, np.nan))
        free = self.free_energy(frames, bv_t, bh_t).numpy()
        return Scores(-free.astype(np.float64) - np.concatenate(log_z), np.concatenate(variance),
                      np.concatenate(counts).astype(np.float64), np.concatenate(over_known))


class ExactScorer:
    """Exact log-likelihood of every frame given its true past, and `draws` exact draws of
    every frame for the expected accuracy (none with draws 0: the token models, whose
    "frames" are words), for a model whose frame_log_prob is exact;
    compiled once. Called like Scorer, it gives the same Scores (AIS variance 0, no
    log_z_over_known)."""

    def __init__(self, model: FrameModel, draws: int, gibbs_steps: int, rng: tf.random.Generator):
        self.model = model
        batch_spec = [tf.TensorSpec([None, None, model.n_visible], tf.float32), tf.TensorSpec([None, None], tf.float32)]

        @tf.function(input_signature=batch_spec)
        def run(v: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            rows = tf.where(mask > 0)
            frames = tf.gather_nd(v, rows)
            contexts = tf.gather_nd(model.contexts(v), rows)
            log_p = model.frame_log_prob(frames, contexts)
            if not draws:
                return log_p, tf.zeros([tf.shape(frames)[0], 0, 3])
            seed = philox.new_seed(rng)
            drawn = tf.stack([model.draw(contexts, gibbs_steps, philox.substream(seed, d)) for d in range(draws)],
                             axis=1)  # (N, draws, V)
            return log_p, accuracy.frame_counts(drawn, frames[:, tf.newaxis, :])

        self.run = run
        self.compiled = [run]

    def __call__(self, rolls: list[np.ndarray], progress: bool = True) -> Scores:
        """Returns: the Scores of the frames of `rolls` (pieces, each (steps, V), time-major),
        in piece order."""
        log_p, counts = [], []
        starts = range(0, len(rolls), PIECES_PER_BATCH)
        for start in tqdm(starts, desc="exact likelihood", unit="batch", leave=False,
                          disable=None if progress else True):
            v, mask = pad_batch(rolls[start : start + PIECES_PER_BATCH])
            got = self.run(tf.constant(v), tf.constant(mask))
            log_p.append(got[0].numpy())
            counts.append(got[1].numpy())
        log_p_all = np.concatenate(log_p).astype(np.float64)
        return Scores(log_p_all, np.zeros_like(log_p_all), np.concatenate(counts).astype(np.float64),
                      np.full_like(log_p_all, np.nan))


def make_scorer(model: FrameModel, chains: int, temperatures: int, draws: int, batch_frames: int,
                rng: tf.random.Generator, base_bias: np.ndarray | None = None, known: np.ndarray | None = None,
                gibbs_steps: int = 25) -> Scorer | ExactScorer:
    """Returns: the scorer of `model`: exact where its log-probability is (ExactScorer, which
    draws with `gibbs_steps` if the model samples by a chain), AIS otherwise (Scorer, with the
    other arguments)."""
    if model.EXACT:
        return ExactScorer(model, draws, gibbs_steps, rng)
    return Scorer(model, chains, temperatures, draws, batch_frames, rng, base_bias, known)


def score(model: FrameModel, rolls: list[np.ndarray], chains: int, temperatures: int, draws: int, batch_frames: int,
          rng: tf.random.Generator, base_bias: np.ndarray | None = None, known: np.ndarray | None = None,
          progress: bool = True) -> Scores:
    """One-off `make_scorer(...)(rolls)`; see Scorer for the arguments.

    Returns: the Scores of the split.
    """
    return make_scorer(model, chains, temperatures, draws, batch_frames, rng, base_bias, known)(rolls, progress)


def uniform_log_likelihood(num_pitches: int) -> float:
    """Returns: log p of any frame when every one of the 2^V frames is equally likely,
    -V log 2 nats (-61.00 for 88 keys)."""
    return -num_pitches * math.log(2.0)


def bernoulli_log_likelihood(train_rolls: list[np.ndarray], rolls: list[np.ndarray], smoothing: float) -> float:
    """Mean log-likelihood per frame of `rolls` under independent pitches whose probabilities
    are the smoothed training frequencies (`base_rate_bias`).

    Returns: float, nats per frame.
    """
    bias = base_rate_bias(train_rolls, smoothing)
    return float(tf.reduce_mean(bernoulli.log_prob(all_frames(rolls), bias[np.newaxis])))


def previous_frame_accuracy(rolls: list[np.ndarray]) -> float:
    """The paper's frame accuracy of predicting each frame as the true frame before it (the
    first frame of a piece as silence): the trivial forecast a model should beat. Exact, no draws.

    Returns: float in [0, 1], the mean over every frame of `rolls`.
    """
    frames = all_frames(rolls)
    before = all_frames([np.concatenate([np.zeros_like(r[:1]), r[:-1]]) for r in rolls])
    return float(accuracy.per_frame(accuracy.frame_counts(before, frames).numpy()).mean())


def make_validator(
    model: FrameModel, train_rolls: list[np.ndarray], valid_rolls: list[np.ndarray], config: EvalConfig,
    seed: int,
) -> Callable[[int], dict[str, float]]:
    """A validation that training can run every few epochs: log-likelihood and expected
    accuracy of the validation pieces (the first `valid_pieces`, or all) with the cheaper
    `valid_*` AIS settings, compiled once. Its draws come from a generator of its own, reset
    to (seed, epoch) at each call: validating changes nothing in training, and a resumed run
    validates as an unbroken one.

    Returns: a function epoch -> {"valid_nll": nats per frame, "valid_nll_se": nats,
    "valid_log_z_over_known": nats (see Scores), "valid_acc": the paper's expected frame
    accuracy, "valid_acc_tp_fp_fn", "valid_acc_pooled": in [0, 1], see ops/accuracy.py}.
    """
    rng = tf.random.Generator.from_seed(0)
    scorer = make_scorer(model, config.valid_ais_chains, config.valid_ais_temperatures, config.valid_acc_draws,
                         config.ais_batch_frames, rng, *ais_reference(config, train_rolls, model.EXACT))
    valid_rolls = valid_rolls[: config.valid_pieces or None]

    def validate(epoch: int) -> dict[str, float]:
        rng.reset_from_seed(seeding.derived_seed(seed, seeding.VALIDATION, epoch))
        scores = scorer(valid_rolls, progress=False)
        acc = scores.accuracy
        return {"valid_nll": scores.nll, "valid_nll_se": scores.nll_se,
                "valid_log_z_over_known": scores.mean_log_z_over_known, "valid_acc": acc.expected,
                "valid_acc_tp_fp_fn": acc.tp_fp_fn, "valid_acc_pooled": acc.pooled}

    validate.compiled = scorer.compiled  # type: ignore[attr-defined]  # for tests that count traces
    return validate


@dataclass
class Evaluation:
    """What rnn_rbm_evaluate.py reports about one split."""

    nll: float  # nats per frame, positive
    nll_se: float  # nats, AIS standard error
    log_z_over_known: float  # nats, mean log(Z estimate / Z known); nan without known states
    accuracy: accuracy.Accuracy  # expected (the paper's), TP / (TP + FP + FN) and pooled frame accuracy
    frames: int
    uniform_ll: float  # nats per frame (negative)
    bernoulli_ll: float  # nats per frame (negative)
    seconds: float
    previous_frame_acc: float  # the accuracy of forecasting each frame as the one before it


def evaluate(
    model: FrameModel, train_rolls: list[np.ndarray], rolls: list[np.ndarray], config: EvalConfig,
    rng: tf.random.Generator, progress: bool = True,
) -> Evaluation:
    """Measures `rolls` (a split) with the full settings of `config`.

    Returns: the Evaluation.
    """
    started = time.perf_counter()
    scores = score(model, rolls, config.ais_chains, config.ais_temperatures, config.acc_draws,
                   config.ais_batch_frames, rng, *ais_reference(config, train_rolls, model.EXACT), progress=progress)
    return Evaluation(scores.nll, scores.nll_se, scores.mean_log_z_over_known, scores.accuracy,
                      len(scores.log_p), uniform_log_likelihood(model.n_visible),
                      bernoulli_log_likelihood(train_rolls, rolls, config.reference_smoothing),
                      time.perf_counter() - started, previous_frame_accuracy(rolls))


def ais_reference(config: EvalConfig, train_rolls: list[np.ndarray],
                  exact_model: bool = False) -> tuple[np.ndarray | None, np.ndarray | None]:
    """What the AIS scorer takes from the training split, as `config` asks: the base's visible
    bias and the known training frames (none for a model whose likelihood is exact, which
    needs no AIS). It depends on no weights: build it once for any number of scorings.

    Returns: (base_bias, known), the last two arguments of make_scorer.
    """
    known = known_frames(train_rolls) if config.exact_training_frames and not exact_model else None
    return ais_base_bias(config, train_rolls), known


def ais_base_bias(config: EvalConfig, train_rolls: list[np.ndarray]) -> np.ndarray | None:
    """Returns: the AIS base's visible bias that config.ais_base asks for (None: each frame's own)."""
    if config.ais_base not in BASES:
        raise ValueError(f"ais_base must be one of {BASES}, not {config.ais_base!r}")
    return base_rate_bias(train_rolls, config.reference_smoothing) if config.ais_base == "data" else None
