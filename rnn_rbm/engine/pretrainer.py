"""Pretraining, as a model describes it: the frame distribution alone on every training
frame (model.pretrain_variables by model.pretrain_cost: the RBM's CD-k, the NADE's exact
likelihood), then, where asked (pretrain.rnn_epochs) and the model has one, the paper's RNN
alone with independent outputs (model.recurrence_variables, TanhRnn.independent_log_prob).

This is the initialisation the paper recommends before training the RNN-RBM and the
RNN-NADE. With u(0) = 0 the frame distribution trained here is exactly the model's for
a piece's first frame; without the second stage the recurrent weights keep their random
start.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_rbm.config import PretrainConfig, TrainConfig
from rnn_rbm.data.dataset import batches, pitch_log_odds
from rnn_rbm.models.base import BIAS_SMOOTHING, FrameModel, TanhRnn, mean_nll

log = logging.getLogger(__name__)


def set_visible_bias_from_data(model: FrameModel, frames: np.ndarray) -> None:
    """The visible bias (the RBM's and NADE's bv, the LSTM's bo) at log(p_i / (1 - p_i)), p_i
    how often pitch i sounds (Hinton's "practical guide" to RBMs): the model starts from the
    right note frequencies (FrameModel.start_from_data on the frames of whole pieces).

    frames: float32 (N, V) of 0/1.
    """
    model.visible_bias.assign(pitch_log_odds(frames, BIAS_SMOOTHING))


def pretrain(
    model: FrameModel,
    frames: np.ndarray,
    config: PretrainConfig,
    np_rng: np.random.Generator,
    tf_rng: tf.random.Generator,
    progress: bool = True,
) -> list[dict]:
    """Trains model.pretrain_variables() on model.pretrain_cost (CD-k for the RBM) on shuffled
    minibatches of frames.

    frames: float32 (N, V) of 0/1, every training frame.
    Returns: one dict per epoch: epoch, cost (CD surrogate, nats per frame),
    recon (the RBM's: mean squared error of a one-step mean-field reconstruction; nan for
    others), seconds.
    """
    set_visible_bias_from_data(model, frames)
    optimizer = tf.keras.optimizers.Adam(config.learning_rate)
    params = model.pretrain_variables()
    spec = tf.TensorSpec([None, model.n_visible], tf.float32)

    @tf.function(input_signature=[spec])
    def step(v: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            cost = model.pretrain_cost(v, config.cd_k, tf_rng)
        optimizer.apply_gradients(zip(tape.gradient(cost, params), params))
        error = model.pretrain_reconstruction_error(v)
        return cost, tf.constant(np.nan, tf.float32) if error is None else error

    history = []
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        order = np_rng.permutation(len(frames))
        starts = range(0, len(order), config.batch_size)
        totals = np.zeros(2)
        for start in tqdm(starts, desc=f"pretrain epoch {epoch}", unit="batch", leave=False,
                          disable=None if progress else True):
            batch = frames[order[start : start + config.batch_size]]
            totals += np.array([float(x) for x in step(batch)]) * len(batch)
        cost, recon = totals / len(frames)
        record = {"epoch": epoch, "cost": cost, "recon": recon, "seconds": time.perf_counter() - started}
        recon_text = f"  recon_mse {recon:.4f}" if np.isfinite(recon) else ""
        log.info("pretrain epoch %d/%d  cost %.4f%s  %.1f s", epoch, config.epochs, cost, recon_text,
                 record["seconds"])
        history.append(record)
    return history


def pretrain_recurrence(
    model: TanhRnn,
    train_rolls: list[np.ndarray],
    valid_rolls: list[np.ndarray],
    epochs: int,
    train: TrainConfig,
    np_rng: np.random.Generator,
    progress: bool = True,
    output_bias: tf.Variable | None = None,
) -> list[dict]:
    """Trains model.recurrence_variables() as an RNN with independent outputs (the paper's
    "RNN"), by the exact likelihood of model.independent_log_prob on batches of whole
    training pieces (train.batch_size pieces, Adam at train.learning_rate, gradients clipped
    at train.clip_norm or 1). The output bias of that RNN starts at the pitches' log-odds and
    is dropped afterwards (in the full model bv(t) = bv + u(t-1) Wuv, the RBM's own bv kept),
    unless the caller gives the variable (V,) to train as output_bias and keeps it.

    Returns: one dict per epoch: epoch, nll (training pieces, mean over the epoch's batches),
    valid_nll (exact, every validation frame; nan without validation pieces), seconds;
    nats per frame.
    """
    if output_bias is None:
        output_bias = tf.Variable(tf.zeros([model.n_visible]), name="rnn_output_bias")
    output_bias.assign(pitch_log_odds(list(train_rolls), BIAS_SMOOTHING))
    params = model.recurrence_variables() + [output_bias]
    optimizer = tf.keras.optimizers.Adam(train.learning_rate)
    clip = train.clip_norm if train.clip_norm > 0 else 1.0
    spec = [tf.TensorSpec([None, None, model.n_visible], tf.float32), tf.TensorSpec([None, None], tf.float32)]

    @tf.function(input_signature=spec)
    def step(v: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            cost = mean_nll(model.independent_log_prob(v, mask, output_bias), mask)
        gradients, _ = tf.clip_by_global_norm(tape.gradient(cost, params), clip)
        optimizer.apply_gradients(zip(gradients, params))
        return cost

    @tf.function(input_signature=spec)
    def summed_log_prob(v: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(model.independent_log_prob(v, mask, output_bias))

    def valid_nll() -> float:
        if not valid_rolls:
            return float("nan")
        total = sum(float(summed_log_prob(v, mask)) for v, mask in batches(valid_rolls, train.batch_size))
        return -total / sum(len(r) for r in valid_rolls)

    history = []
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        costs, frames = 0.0, 0.0
        for v, mask in tqdm(list(batches(train_rolls, train.batch_size, np_rng)), desc=f"RNN epoch {epoch}",
                            unit="batch", leave=False, disable=None if progress else True):
            costs += float(step(v, mask)) * mask.sum()
            frames += mask.sum()
        record = {"epoch": epoch, "nll": costs / frames, "valid_nll": valid_nll(),
                  "seconds": time.perf_counter() - started}
        log.info("pretrain RNN epoch %d/%d  nll %.4f  valid_nll %.4f (independent outputs)  %.1f s", epoch, epochs,
                 record["nll"], record["valid_nll"], record["seconds"])
        history.append(record)
    return history
