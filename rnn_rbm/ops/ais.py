"""Annealed importance sampling (AIS) of RBM partition functions, one RBM per frame.

Salakhutdinov & Murray, "On the quantitative analysis of deep belief networks"
(ICML 2008), section 4, with the hidden units summed out. For a target RBM with
weights W and biases bv, bh, and a base of independent visible units with
biases b0 (an RBM with W = 0), the intermediate distributions are

    p_k(v) ∝ f_k(v) = exp((1 - β_k) v.b0 + β_k v.bv) * prod_j (1 + exp(β_k (v.W_j + bh_j))),

0 = β_0 < β_1 < ... < β_K = 1: f_0 is the base (times 2^H) and f_K = exp(-F(v)),
F the RBM's free energy. A chain starts with an exact draw from the base and
moves, for k = 1..K-1, by one block Gibbs step (v -> h -> v) that leaves p_k
invariant; its importance weight is Z_0 * prod_k f_k(v_{k-1}) / f_{k-1}(v_{k-1}),
whose expectation is exactly Z. Every frame has its own biases (the RNN sets
them) and its own chains; all frames x chains are run at once. A chain's last
state with its weight is a properly weighted draw from the RBM: resampling the
chains by weight gives draws from it (`resample`), which a Gibbs chain from a
fixed start does not for a sharp RBM in any affordable number of steps.

log of the mean weight underestimates log Z on average (Jensen): a small number
of chains or temperatures gives an optimistic log-likelihood. The spread of a
frame's weights measures this; `LogPartition.variance` is its delta-method
variance, Var(w) / (M mean(w)^2) for M chains.

Shapes: W (V, H); bv, b0 (N, V); bh (N, H); N frames, M chains each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from rnn_rbm.ops import rbm


@dataclass
class LogPartition:
    """AIS estimates for N frames: log_z, float64 (N,), nats; variance, float64 (N,), nats^2,
    the delta-method variance of each log_z (0 when all chains agree)."""

    log_z: np.ndarray
    variance: np.ndarray


def linear_betas(num_temperatures: int) -> np.ndarray:
    """Returns: float32 (num_temperatures + 1,), 0 to 1 in equal steps (β_0 = 0, β_K = 1)."""
    if num_temperatures < 1:
        raise ValueError(f"num_temperatures must be at least 1, not {num_temperatures}")
    return np.linspace(0.0, 1.0, num_temperatures + 1, dtype=np.float32)


def anneal(
    W: tf.Tensor,
    bv: tf.Tensor,
    bh: tf.Tensor,
    b0: tf.Tensor,
    betas: tf.Tensor,
    num_chains: int,
    rng: tf.random.Generator,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Runs `num_chains` AIS chains per frame from the base with visible biases b0.

    betas: float32 (K + 1,), increasing from 0 to 1.
    Returns: (log importance weights, float32 (N, num_chains), nats: each exp(weight) is an
    unbiased estimate of the frame's Z; the chains' last states, float32 0/1
    (N, num_chains, V): with its weight, each is a properly weighted draw from the frame's
    RBM, E[w g(v)] = Z E_p[g(v)] for any g).
    """
    n_hidden = tf.shape(W)[1]
    # Row r is chain r % M of frame r // M: every row carries its frame's biases.
    bv_r, bh_r, b0_r = (tf.repeat(x, num_chains, axis=0) for x in (bv, bh, b0))
    shift = bv_r - b0_r
    v = tf.cast(rng.uniform(tf.shape(b0_r)) < tf.sigmoid(b0_r), tf.float32)
    log_w = tf.reduce_sum(tf.nn.softplus(b0_r), axis=1) + tf.cast(n_hidden, tf.float32) * math.log(2.0)
    num_steps = tf.shape(betas)[0] - 1

    def draw(logits: tf.Tensor, _stream: tf.Tensor) -> tf.Tensor:
        return tf.cast(rng.uniform(tf.shape(logits)) < tf.sigmoid(logits), tf.float32)

    for k in tf.range(1, num_steps + 1):
        beta, before = betas[k], betas[k - 1]
        drive = tf.matmul(v, W) + bh_r  # v.W_j + bh_j, the hidden units' input
        log_w += ((beta - before) * tf.reduce_sum(v * shift, axis=1)
                  + tf.reduce_sum(_softplus(beta * drive) - _softplus(before * drive), axis=1))
        # The last transition would not change any weight: skip it.
        if k < num_steps:
            # The Gibbs step of p_k: the RBM with weights beta W, hidden input beta (v.W + bh)
            # and visible bias (1 - beta) b0 + beta bv.
            v = rbm.gibbs_step(v, beta * W, (1.0 - beta) * b0_r + beta * bv_r, None, draw, k,
                               hidden_input=beta * drive)
    return tf.reshape(log_w, [-1, num_chains]), tf.reshape(v, [-1, num_chains, tf.shape(W)[0]])


def resample(
    log_w: tf.Tensor,
    states: tf.Tensor,
    draws: int,
    rng: tf.random.Generator,
    chain_outside: tf.Tensor | None = None,
    known: tf.Tensor | None = None,
    known_minus_free: tf.Tensor | None = None,
) -> tf.Tensor:
    """Sampling-importance-resampling: `draws` draws from each frame's RBM, each one of its
    chains' last states chosen with probability proportional to its weight (Gumbel-max). With
    known states, a draw is a known state s with probability exp(-F(s)) / Z and a chain's state
    outside them with probability w / (M Z), Z estimated as in `summarise`. The draws follow
    the RBM as the number of chains grows.

    log_w: (N, M); states: (N, M, V); chain_outside: bool (N, M); known: (S, V);
    known_minus_free: -F(s) of each frame's RBM, (N, S).
    Returns: float32 0/1 (N, draws, V).
    """
    chains = tf.shape(log_w)[1]
    mass = log_w - tf.math.log(tf.cast(chains, tf.float32))
    if known is not None:
        mass = tf.concat([tf.where(chain_outside, mass, -math.inf), known_minus_free], axis=1)
    shape = tf.stack([tf.shape(mass)[0], draws, tf.shape(mass)[1]])
    uniform = rng.uniform(shape, minval=1e-30, maxval=1.0)
    # One draw's Gumbel noise at a time, each reduced to its choice before the next: all at
    # once, their work held 270 MB more for 512 frames of Piano-midi.de.
    chosen_by_draw: list[tf.Tensor] = []
    for d in range(draws):
        with tf.control_dependencies(chosen_by_draw[-1:]):
            gumbel = -tf.math.log(-tf.math.log(uniform[:, d, :]))
            chosen_by_draw.append(tf.argmax(mass + gumbel, axis=-1, output_type=tf.int32))
    chosen = tf.stack(chosen_by_draw, axis=1)  # (N, draws)
    from_chains = tf.gather(states, tf.minimum(chosen, chains - 1), batch_dims=1)
    if known is None:
        return from_chains
    # Index M + s is known state s: gathered from `known` itself, never from a copy of it per
    # frame (N x S x V floats: 2.4 GB for 512 frames of Piano-midi.de's 13,212 known states).
    # One row more, so that the gather stands where there are no known states (then no index
    # reaches past the chains, and the row is never chosen).
    padded = tf.concat([known, tf.zeros([1, tf.shape(known)[1]], known.dtype)], axis=0)
    from_known = tf.gather(padded, tf.maximum(chosen - chains, 0))
    return tf.where((chosen < chains)[..., tf.newaxis], from_chains, from_known)


def known_minus_free_energy(W: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor, known: tf.Tensor) -> tf.Tensor:
    """-F(s) of every frame's RBM for each of the `known` states s, exactly: their part of
    Z is the sum of exp(-F(s)).

    known: float32 0/1 (S, V), distinct states.
    Returns: float32 (N, S), nats. Memory: an (N, S, H) tensor on the way.
    """
    drive = tf.matmul(known, W)[tf.newaxis] + bh[:, tf.newaxis, :]  # (N, S, H)
    return tf.matmul(bv, known, transpose_b=True) + tf.reduce_sum(_softplus(drive), axis=2)


# Known states compared with the chains at once in `outside`: its work holds N x M x this many
# floats (512 frames x 16 chains: 134 MB), where all of MuseData's 39,289 distinct training
# frames at once would hold 1.3 GB.
KNOWN_BLOCK = 4096


def outside(states: tf.Tensor, known: tf.Tensor) -> tf.Tensor:
    """Returns: bool (N, M), whether each chain's last state (N, M, V) is none of the `known`
    states (S, V), compared KNOWN_BLOCK known states at a time (S static; else all at once)."""
    notes = tf.reduce_sum(states, axis=2, keepdims=True)
    known_notes = tf.reduce_sum(known, axis=1)
    size = known.shape[0]
    found = tf.zeros(tf.shape(states)[:2], tf.bool)
    for start in range(0, size, KNOWN_BLOCK) if size is not None else [None]:
        block = slice(start, None if start is None else start + KNOWN_BLOCK)
        # One block after another: side by side, Piano-midi.de's four blocks held 500 MB.
        with tf.control_dependencies([found]):
            shared = tf.einsum("nmv,sv->nms", states, known[block])  # notes two frames share
        found |= tf.reduce_any((shared == notes) & (shared == known_notes[block]), axis=2)
    return ~found


def _softplus(x: tf.Tensor) -> tf.Tensor:
    """log(1 + e^x), as tf.nn.softplus, in cheaper operations: on two CPU cores AIS ran
    30-40 % faster with it. Above 15, x itself (too low by under 3.1e-7).

    Returns: float32, the shape of x.
    """
    return tf.maximum(x, tf.math.log1p(tf.exp(tf.minimum(x, 15.0))))


def summarise(log_w: np.ndarray, chain_outside: np.ndarray | None = None,
              log_z_known: np.ndarray | None = None) -> LogPartition:
    """Turns log weights (N, M) into log Z estimates: log of the mean weight per frame, and
    its delta-method variance Var(w) / (M mean(w)^2) with Var the sample variance
    (ddof 1; 0 for M = 1, where it cannot be measured).

    With a set of known states whose part of Z is summed exactly (log_z_known, (N,), the
    logsumexp of `known_minus_free_energy`), the chains estimate only the rest: Z = Z_known + mean(w 1[v outside]),
    chain_outside (N, M) bool from `outside`. Still unbiased (E[w g(v)] = Z E_p[g] with g the
    indicator of the other states), and exact to the extent the known states hold the mass.
    Returns: LogPartition of float64 (N,) arrays.
    """
    log_w = np.asarray(log_w, dtype=np.float64)
    chains = log_w.shape[1]
    known = np.full(len(log_w), -np.inf) if log_z_known is None else np.asarray(log_z_known, np.float64)
    counted = np.ones(log_w.shape, bool) if chain_outside is None else np.asarray(chain_outside, bool)
    top = np.maximum(np.where(counted, log_w, -np.inf).max(axis=1), known)
    top = np.where(np.isfinite(top), top, 0.0)[:, np.newaxis]
    scaled = np.where(counted, np.exp(log_w - top), 0.0)  # weights / the largest term: no overflow
    mean = np.exp(known - top[:, 0]) + scaled.mean(axis=1)
    log_z = top[:, 0] + np.log(mean)
    if chains < 2:
        return LogPartition(log_z, np.zeros_like(log_z))
    relative = scaled.var(axis=1, ddof=1) / mean**2
    return LogPartition(log_z, relative / chains)
