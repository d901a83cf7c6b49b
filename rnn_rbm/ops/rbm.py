"""Stateless maths of a binary RBM whose biases are arguments.

Energy E(v, h) = -v.bv - h.bh - v.W.h, with v in {0,1}^V and h in {0,1}^H.
Because the biases are passed in, and may carry a leading batch dimension
(one bias vector per frame), the same functions serve pretraining (one RBM)
and the RNN-RBM, where every time step has its own biases.

Shapes: v (N, V), h (N, H), W (V, H); bv is (V,) or (N, V), bh is (H,) or (N, H).
Units are drawn with Philox bits (philox.py), a function of a seed, a stream and
the unit's row and column. `gibbs_chain` is the one Gibbs chain of the project: it
holds units and takes a temperature, and runs inside compiled functions only
(generation's XLA loop; CD-k and the monitor's draws in cdk.py's compiled chunks).
The plain statement of the chain and of CD-k, written out step by step, is the
tests' reference (tests/plain_rbm.py), which the compiled chain is checked against.
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
    temperature: float = 1.0,
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
    temperature: a Python float > 0: the chain samples the RBM whose energy is divided by it
    (above 1 flatter, below 1 sharper).
    Returns: v after k steps, float32 0/1 (N, V).
    """
    # T = 1 leaves the graph as it was: the same seed gives exactly the same music.
    if temperature != 1:
        W, bv, bh = (x * (1.0 / temperature) for x in (W, bv, bh))
    seed = philox.seed_of(rng)
    draw = philox_draw(seed, row_offset)

    def step(i: tf.Tensor, v: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return i + 1, bernoulli.hold(gibbs_step(v, W, bv, bh, draw, i), held_mask, held_values)

    # A loop op, not k unrolled copies: XLA compiles it in a few seconds instead of tens.
    start = bernoulli.hold(v0, held_mask, held_values)
    return tf.while_loop(lambda i, _: i < k, step, (tf.constant(0), start))[1]


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
