"""Stateless maths of a binary RBM whose biases are arguments.

Energy E(v, h) = -v.bv - h.bh - v.W.h, with v in {0,1}^V and h in {0,1}^H.
Because the biases are passed in, and may carry a leading batch dimension
(one bias vector per frame), the same functions serve pretraining (one RBM)
and the RNN-RBM, where every time step has its own biases.

Shapes: v (N, V), h (N, H), W (V, H); bv is (V,) or (N, V), bh is (H,) or (N, H).
Units are drawn with Philox bits (philox.py), a function of a seed, a stream and
the unit's row and column. This is the plain statement of the maths; cdk.py runs
the same chains and CD-k compiled, for training.
"""

from __future__ import annotations

import itertools
from typing import Callable

import numpy as np
import tensorflow as tf

from rnn_rbm.ops import bernoulli, philox


def free_energy(v: tf.Tensor, W: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor) -> tf.Tensor:
    """F(v) = -log sum_h exp(-E(v, h)).

    Returns: float32 (N,), nats.
    """
    return -tf.reduce_sum(v * bv, axis=-1) - tf.reduce_sum(tf.nn.softplus(tf.matmul(v, W) + bh), axis=-1)


def propup(v: tf.Tensor, W: tf.Tensor, bh: tf.Tensor) -> tf.Tensor:
    """Returns: p(h = 1 | v), float32 (N, H)."""
    return tf.sigmoid(tf.matmul(v, W) + bh)


def propdown(h: tf.Tensor, W: tf.Tensor, bv: tf.Tensor) -> tf.Tensor:
    """Returns: p(v = 1 | h), float32 (N, V)."""
    return tf.sigmoid(tf.matmul(h, W, transpose_b=True) + bv)


# A chain's source of bits: (logits, stream) -> float32 0/1 of the logits' shape, each unit 1
# with probability sigmoid(logit). Step i of a chain draws h from stream 2i and v from 2i + 1.
Draw = Callable[[tf.Tensor, "int | tf.Tensor"], tf.Tensor]


def philox_draw(seed: tf.Tensor, row_offset: int | tf.Tensor = 0) -> Draw:
    """Returns: the Draw of Philox bits (philox.py) of `seed`, row r of a draw taking the
    counters of row row_offset + r, so that a row's draws do not depend on the other rows."""
    return lambda logits, stream: philox.bernoulli_logits(logits, seed, stream, row_offset)


def gibbs_step(v: tf.Tensor, W: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor | None, draw: Draw, step: int | tf.Tensor,
               hidden_input: tf.Tensor | None = None) -> tf.Tensor:
    """One block Gibbs step v -> h -> v: the transition of every chain of the project
    (gibbs_chain; AIS's tempered chains, ais.py, take it in the RBM with weights beta W).

    hidden_input: v W + bh where the caller has computed it already (bh is then unused).
    Returns: the new v, float32 0/1 (N, V).
    """
    h = draw(tf.matmul(v, W) + bh if hidden_input is None else hidden_input, 2 * step)
    return draw(tf.matmul(h, W, transpose_b=True) + bv, 2 * step + 1)


def gibbs_chain(
    v0: tf.Tensor, W: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor, k: int, rng: tf.random.Generator | tf.Tensor,
    row_offset: int | tf.Tensor = 0, held_mask: tf.Tensor | None = None, held_values: tf.Tensor | None = None,
) -> tf.Tensor:
    """k steps (an int, or an int32 tensor) of block Gibbs sampling v -> h -> v from v0: the
    one chain of the project (CD-k's negative phase, generation, the validation monitor).

    rng: a Generator (one seed is drawn from it) or a seed from `philox.new_seed`. Step i
    uses the seed's streams 2i (h) and 2i + 1 (v), and row r of v0 the counters of row
    row_offset + r: the draws of a row do not depend on the other rows, so a chain split
    into chunks (cdk.py) draws exactly what the whole one would.
    held_mask, held_values: optional (N or 1, V) of 0/1: the visible units where the mask is 1
    start at their value and are reset there after each v-sample, so the hidden units see
    them and the free units are drawn given them (harmonisation).
    Returns: v after k steps, float32 0/1 (N, V).
    """
    seed = philox.seed_of(rng)
    draw = philox_draw(seed, row_offset)

    def step(i: tf.Tensor, v: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return i + 1, bernoulli.hold(gibbs_step(v, W, bv, bh, draw, i), held_mask, held_values)

    # A loop op, not k unrolled copies: XLA compiles it in a few seconds instead of tens.
    start = bernoulli.hold(v0, held_mask, held_values)
    return tf.while_loop(lambda i, _: i < k, step, (tf.constant(0), start))[1]


def cd_cost(
    v: tf.Tensor,
    W: tf.Tensor,
    bv: tf.Tensor,
    bh: tf.Tensor,
    k: int,
    rng: tf.random.Generator,
    weights: tf.Tensor | None = None,
    v_start: tf.Tensor | None = None,
) -> tf.Tensor:
    """CD-k surrogate cost: mean over frames of F(v) - F(v~), v~ from k Gibbs steps from v
    (or from `v_start` when given).

    Its gradient is the CD-k estimate of the negative log-likelihood gradient.
    weights: optional (N,) per-frame weights (0 for padding).
    Returns: float32 scalar, nats per frame (not a log-likelihood).
    """
    # The chain's end is a sample, not a function of the parameters: CD-k does not
    # differentiate through the sampler.
    v_negative = tf.stop_gradient(gibbs_chain(v if v_start is None else v_start, W, bv, bh, k, rng))
    gap = free_energy(v, W, bv, bh) - free_energy(v_negative, W, bv, bh)
    if weights is None:
        return tf.reduce_mean(gap)
    return tf.reduce_sum(gap * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)


def log_partition_exact(W: np.ndarray, bv: np.ndarray, bh: np.ndarray) -> float:
    """log Z by enumerating the hidden states (2^H of them; for H up to about 20):
    log Z = logsumexp_h [ h.bh + sum_i softplus(bv_i + W_i.h) ].

    Returns: float, nats.
    """
    W, bv, bh = (np.asarray(a, dtype=np.float64) for a in (W, bv, bh))
    hidden = np.array(list(itertools.product((0.0, 1.0), repeat=W.shape[1])))
    terms = hidden @ bh + np.logaddexp(0.0, hidden @ W.T + bv).sum(axis=1)
    top = terms.max()
    return float(top + np.log(np.exp(terms - top).sum()))
