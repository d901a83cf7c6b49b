"""The RBM's Gibbs chain and CD-k stated plainly, the tests' reference: every step written
out in a Python loop and run eagerly, the cost differentiated by TensorFlow. The package runs
one chain, compiled (rnn_rbm/ops/rbm.py's gibbs_chain, in cdk.py's chunks for CD-k); the
tests check that it draws exactly what this one draws for the same seed.

Shapes: v (N, V), W (V, H); bv (V,) or (N, V), bh (H,) or (N, H). Step i of a chain draws h
from the seed's stream 2i and v from 2i + 1, row r of v0 with the counters of row
row_offset + r (rnn_rbm/ops/philox.py).
"""

from __future__ import annotations

import tensorflow as tf

from rnn_rbm.ops import philox, rbm


def gibbs_chain(v0, W, bv, bh, k: int, rng, row_offset: int = 0, held_mask=None, held_values=None,
                temperature: float = 1.0) -> tf.Tensor:
    """k block Gibbs steps v -> h -> v from v0, one after the other. Units where held_mask is 1
    start at held_values and are put back there after each v-sample; the RBM's energy is
    divided by `temperature`.

    Returns: v after k steps, float32 0/1 (N, V).
    """
    seed = philox.seed_of(rng)
    W, bv, bh, v = (tf.convert_to_tensor(x, tf.float32) for x in (W, bv, bh, v0))
    if temperature != 1:
        W, bv, bh = (x * (1.0 / temperature) for x in (W, bv, bh))

    def hold(x):
        return x if held_mask is None else x * (1.0 - held_mask) + held_values * held_mask

    v = hold(v)
    for i in range(k):
        h = philox.bernoulli_logits(tf.matmul(v, W) + bh, seed, 2 * i, row_offset)
        v = hold(philox.bernoulli_logits(tf.matmul(h, W, transpose_b=True) + bv, seed, 2 * i + 1, row_offset))
    return v


def cd_cost(v, W, bv, bh, k: int, rng, weights=None, v_start=None) -> tf.Tensor:
    """CD-k surrogate cost: mean over frames of F(v) - F(v~), v~ from k Gibbs steps from v (or
    from `v_start` when given); its gradient is the CD-k estimate of the negative
    log-likelihood gradient. weights: optional (N,) per-frame weights (0 for padding).

    Returns: float32 scalar, nats per frame (not a log-likelihood).
    """
    # The chain's end is a sample, not a function of the parameters: CD-k does not
    # differentiate through the sampler.
    v_negative = tf.stop_gradient(gibbs_chain(v if v_start is None else v_start, W, bv, bh, k, rng))
    gap = rbm.free_energy(v, W, bv, bh) - rbm.free_energy(v_negative, W, bv, bh)
    if weights is None:
        return tf.reduce_mean(gap)
    return tf.reduce_sum(gap * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)
