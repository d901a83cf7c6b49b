"""Measuring a trained model as Table 1 of Boulanger-Lewandowski et al. (2012) does: the
log-likelihood per frame and the expected frame accuracy, each frame read with the true past
(teacher forcing), by the scorer the model gives (`FrameModel.scorer`): exact where its
log-probability is (models/base.py's ExactScorer, the accuracy from exact draws of each frame),
estimated with its standard error where not (the RNN-RBM's AIS, models/rnn_rbm.py). Beside
them, the references of Table 1 (ops/bernoulli.py, ops/accuracy.py).

Rolls are time-major, (num_steps, num_pitches), float32 of 0/1.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Callable

import numpy as np
import tensorflow as tf

from rnn_rbm import seeding
from rnn_rbm.config import AIS_BASES, EvalConfig, RunConfig
from rnn_rbm.data.dataset import all_frames
from rnn_rbm.models.base import Evaluation, FrameModel, Scorer, Scores, ScoreSettings
from rnn_rbm.ops.bernoulli import base_rate_bias

log = logging.getLogger(__name__)

BASES = AIS_BASES


def known_frames(train_rolls: list[np.ndarray], limit: int = 0) -> np.ndarray:
    """Returns: the distinct frames of the training pieces, float32 0/1 (S, V) (JSB: 2,420;
    Nottingham: 1,252), the states whose part of each frame's Z is summed exactly; with a
    `limit`, only that many, the most frequent (ties in np.unique's order). Any set of states
    keeps the estimate unbiased (ais.summarise): the chains estimate the rest."""
    distinct, counts = np.unique(all_frames(train_rolls), axis=0, return_counts=True)
    if not limit or limit >= len(distinct):
        return distinct
    return distinct[np.sort(np.argsort(-counts, kind="stable")[:limit])]


def make_scorer(model: FrameModel, chains: int, temperatures: int, draws: int, batch_frames: int,
                rng: tf.random.Generator, base_bias: np.ndarray | None = None, known: np.ndarray | None = None,
                gibbs_steps: int = 25) -> Scorer:
    """Returns: the scorer of `model` (model.scorer): exact where its log-probability is (which
    draws with `gibbs_steps` if the model samples by a chain), estimated otherwise (AIS, with
    `chains`, `temperatures`, `batch_frames`, the base's visible bias and the known frames)."""
    return model.scorer(ScoreSettings(draws, chains, temperatures, batch_frames, lambda: (base_bias, known),
                                      gibbs_steps), rng)


def score(model: FrameModel, rolls: list[np.ndarray], chains: int, temperatures: int, draws: int, batch_frames: int,
          rng: tf.random.Generator, base_bias: np.ndarray | None = None, known: np.ndarray | None = None,
          progress: bool = True) -> Scores:
    """One-off `make_scorer(...)(rolls)`; see make_scorer for the arguments.

    Returns: the Scores of the split.
    """
    return make_scorer(model, chains, temperatures, draws, batch_frames, rng, base_bias, known)(rolls, progress)


def settings_of(config: EvalConfig, train_rolls: list[np.ndarray], quick: bool = False) -> ScoreSettings:
    """Returns: the ScoreSettings that `config` asks for: its full ones, or with `quick` the
    cheaper valid_* ones of the validation during training; the AIS reference built from
    `train_rolls` only when a model's scorer asks for it."""
    return ScoreSettings(config.valid_acc_draws if quick else config.acc_draws,
                         config.valid_ais_chains if quick else config.ais_chains,
                         config.valid_ais_temperatures if quick else config.ais_temperatures,
                         config.ais_batch_frames, functools.partial(ais_reference, config, train_rolls))


def make_validator(
    model: FrameModel, train_rolls: list[np.ndarray], valid_rolls: list[np.ndarray], config: EvalConfig,
    seed: int,
) -> Callable[[int], dict[str, float]]:
    """A validation that training can run every few epochs: log-likelihood and expected
    accuracy of the validation pieces (the first `valid_pieces`, or all; as the model reads
    them) with the cheaper `valid_*` settings, by the model's scorer, compiled once. Its draws
    come from a generator of its own, reset to (seed, epoch) at each call: validating changes
    nothing in training, and a resumed run validates as an unbroken one.

    Returns: a function epoch -> the model's figures (model.figures) named valid_*: for a
    frame model {"valid_nll": nats per frame, "valid_nll_se": nats, "valid_log_z_over_known":
    nats (see Scores), "valid_acc": the paper's expected frame accuracy, "valid_acc_tp_fp_fn",
    "valid_acc_pooled": in [0, 1], see ops/accuracy.py}; for a token model {"valid_nll": nats
    per token}.
    """
    rng = tf.random.Generator.from_seed(0)
    scorer = model.scorer(settings_of(config, train_rolls, quick=True), rng)
    valid_rolls = valid_rolls[: config.valid_pieces or None]

    def validate(epoch: int) -> dict[str, float]:
        rng.reset_from_seed(seeding.derived_seed(seed, seeding.VALIDATION, epoch))
        return {f"valid_{name}": value for name, value in model.figures(scorer(valid_rolls, progress=False)).items()}

    validate.compiled = scorer.compiled  # type: ignore[attr-defined]  # for tests that count traces
    return validate


def evaluate(
    model: FrameModel, train_pieces: list[np.ndarray], pieces: list[np.ndarray], config: RunConfig,
    rng: tf.random.Generator, progress: bool = True,
) -> Evaluation:
    """Measures `pieces` (a split, as the model reads it: model.read_split) with the full
    settings of config.evaluate, by the model's scorer.

    Returns: what the model reports of it (model.evaluation): for a frame model the Evaluation.
    """
    started = time.perf_counter()
    scores = model.scorer(settings_of(config.evaluate, train_pieces), rng)(pieces, progress)
    return model.evaluation(scores, train_pieces, pieces, config, time.perf_counter() - started)


def ais_reference(config: EvalConfig, train_rolls: list[np.ndarray]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """What an AIS scorer takes from the training split, as `config` asks: the base's visible
    bias and the known training frames. It depends on no weights: build it once for any number
    of scorings (ScoreSettings.reference calls it where a model's scorer asks).

    Returns: (base_bias, known), the last two arguments of make_scorer.
    """
    known = known_frames(train_rolls, config.ais_known_frames) if config.exact_training_frames else None
    return ais_base_bias(config, train_rolls), known


def ais_base_bias(config: EvalConfig, train_rolls: list[np.ndarray]) -> np.ndarray | None:
    """Returns: the AIS base's visible bias that config.ais_base asks for (None: each frame's own)."""
    if config.ais_base not in BASES:
        raise ValueError(f"ais_base must be one of {BASES}, not {config.ais_base!r}")
    return base_rate_bias(train_rolls, config.reference_smoothing) if config.ais_base == "data" else None
