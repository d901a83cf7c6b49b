"""Independent binary units given their logits: the output layer of the LSTM and of the
RNN, each conditional of the NADE (one unit at a time), and the reference distributions of
Table 1 (every pitch a fair coin; every pitch at its training frequency).

Shapes: v and logits (N, D), float32; v of 0/1.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from rnn_rbm.data.dataset import all_frames, pitch_log_odds
from rnn_rbm.ops import philox


def log_prob(v: tf.Tensor, logits: tf.Tensor, units: tf.Tensor | None = None) -> tf.Tensor:
    """log p(v) = sum_i log sigmoid((2 v_i - 1) logit_i), each unit a Bernoulli; with
    `units` (0/1, broadcastable to v), the sum over the units where it is 1 only.

    Returns: float32 (N,), nats (<= 0).
    """
    # softplus(-x) = -log sigmoid(x), stable for large |x|.
    terms = tf.nn.softplus(-(2.0 * v - 1.0) * logits)
    return -tf.reduce_sum(terms if units is None else terms * units, axis=-1)


def draw(logits: tf.Tensor, seed: tf.Tensor, stream: int | tf.Tensor = 0, temperature: float = 1.0,
         held_mask: tf.Tensor | None = None, held_values: tf.Tensor | None = None) -> tf.Tensor:
    """Draws every unit with P(1) = sigmoid(logit / temperature), then sets the units where
    held_mask is 1 to held_values: the units are independent, so the free ones are then
    exactly drawn given the held ones.

    logits: (N, D), D known when tracing; held_mask, held_values: (N or 1, D) of 0/1.
    Returns: float32 0/1 (N, D).
    """
    scaled = logits if temperature == 1 else logits / temperature
    v = philox.bernoulli_logits(scaled, seed, stream)
    return hold(v, held_mask, held_values)


def hold(v: tf.Tensor, held_mask: tf.Tensor | None, held_values: tf.Tensor | None) -> tf.Tensor:
    """Returns: v with the units where held_mask is 1 replaced by held_values (v when no mask)."""
    if held_mask is None:
        return v
    return v * (1.0 - held_mask) + held_values * held_mask


def keep_mask(rows: int | tf.Tensor, cols: int, rate: float, seed: tf.Tensor, stream: int | tf.Tensor,
              row_offset: int | tf.Tensor = 0) -> tf.Tensor:
    """Dropout's multipliers: each unit kept with probability 1 - rate and scaled by its
    inverse (inverted dropout), drawn from rows row_offset... of the seed's `stream`.

    Returns: float32 (rows, cols) of 0 and 1 / (1 - rate).
    """
    keep_logit = tf.fill([rows, cols], math.log((1.0 - rate) / rate))
    return philox.bernoulli_logits(keep_logit, seed, stream, row_offset) / (1.0 - rate)


def uniform_log_likelihood(num_pitches: int) -> float:
    """Returns: log p of any frame when every one of the 2^V frames is equally likely,
    -V log 2 nats (-61.00 for 88 keys)."""
    return -num_pitches * math.log(2.0)


def base_rate_bias(train_rolls: list[np.ndarray], smoothing: float) -> np.ndarray:
    """Returns: the log-odds of each pitch's smoothed training frequency (data.pitch_log_odds),
    float32 (V,)."""
    return pitch_log_odds(list(train_rolls), smoothing)


def bernoulli_log_likelihood(train_rolls: list[np.ndarray], rolls: list[np.ndarray], smoothing: float) -> float:
    """Mean log-likelihood per frame of `rolls` under independent pitches whose probabilities
    are the smoothed training frequencies (`base_rate_bias`).

    Returns: float, nats per frame.
    """
    bias = base_rate_bias(train_rolls, smoothing)
    return float(tf.reduce_mean(log_prob(all_frames(rolls), bias[np.newaxis])))
