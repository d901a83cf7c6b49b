"""Pretraining: the frame distribution alone (the RBM's W, bv, bh by CD-k; the NADE's
W, V, bv, bh by its exact likelihood) on every training frame.

This is the initialisation the paper recommends before training the RNN-RBM and the
RNN-NADE; the recurrent weights keep their random start. With u(0) = 0 the distribution
trained here is exactly the model's for a piece's first frame.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_rbm.config import PretrainConfig
from rnn_rbm.data.dataset import pitch_log_odds
from rnn_rbm.models.base import FrameModel

log = logging.getLogger(__name__)

# Add-one smoothing of the pitch frequencies: a pitch never heard starts with a finite bias.
BIAS_SMOOTHING = 1.0


def set_visible_bias_from_data(model: FrameModel, frames: np.ndarray) -> None:
    """The visible bias (the RBM's and NADE's bv, the LSTM's bo) at log(p_i / (1 - p_i)), p_i
    how often pitch i sounds (Hinton's "practical guide" to RBMs): the model starts from the
    right note frequencies.

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
