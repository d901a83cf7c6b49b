"""The neural autoregressive distribution estimator (Larochelle & Murray, AISTATS 2011) over
one frame, with its biases as arguments, as rbm.py does for the RBM: one piece of code for
the NADE alone (pretraining) and for the RNN-NADE, where every time step has its own biases.

    p(v) = prod_i p(v_i | v_<i),   p(v_i = 1 | v_<i) = sigmoid(bv_i + h_i . V_i),
    h_i = sigmoid(bh + sum_{j<i} v_j W_j)

Glossary (V visible units = pitches, in order from the lowest; H hidden units):
    W   (V, H)  visible unit j -> hidden pre-activations of every later unit
    V   (V, H)  hidden layer of unit i -> its conditional (the paper's V, one row per unit)
    bv  (V,) or (N, V)  visible biases;  bh  (H,) or (N, H)  hidden biases
"""

from __future__ import annotations

import tensorflow as tf

from rnn_rbm.ops import bernoulli, rows as row_chunks


def conditional_logits(v: tf.Tensor, W: tf.Tensor, V: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor) -> tf.Tensor:
    """The logit of p(v_i = 1 | v_<i) for every unit of every row at once.

    v: float32 0/1 (N, V). Memory: an (N, V, H) tensor of hidden layers.
    Returns: float32 (N, V).
    """
    pre = tf.expand_dims(bh, -2) + tf.cumsum(v[:, :, tf.newaxis] * W, axis=1, exclusive=True)
    return bv + tf.reduce_sum(tf.sigmoid(pre) * V, axis=-1)


def log_prob(v: tf.Tensor, W: tf.Tensor, V: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor) -> tf.Tensor:
    """log p(v), exact; differentiable in every input. Memory: the hidden layers of at most
    CHUNK_FRAMES rows at once when nothing records a gradient; a gradient keeps them all
    (training bounds its rows a step: train.max_batch_frames).

    Returns: float32 (N,), nats.
    """
    # Tensors, not variables: the compiled function is shared by every model.
    v, W, V, bv, bh = (tf.convert_to_tensor(x, tf.float32) for x in (v, W, V, bv, bh))
    rows = tf.shape(v)[0]
    size, count = row_chunks.layout(rows, CHUNK_FRAMES, ROW_QUANTUM)
    per_chunk = tf.map_fn(lambda c: _log_prob(c[0], W, V, c[1], c[2]),
                          tuple(row_chunks.split(x, rows, size, count) for x in (v, bv, bh)),
                          fn_output_signature=tf.float32)
    return row_chunks.join(per_chunk, rows)


# The (N, V, H) hidden layers are the largest tensors of any model here, 53 KB a row at
# 88 x 150: scoring 64 of Piano-midi.de's pieces at once would hold several GB of them.
CHUNK_FRAMES = 1024
ROW_QUANTUM = 64  # a chunk's rows are a multiple of this (rows.layout): few compiled shapes


# XLA fuses the (N, V, H) cumulative sum, sigmoid and product, forward and backward: 2.7 times
# faster than TensorFlow's kernels on 2,000 frames of 88 x 150 (CPU, measured with its gradient).
@tf.function(jit_compile=True, reduce_retracing=True)
def _log_prob(v: tf.Tensor, W: tf.Tensor, V: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor) -> tf.Tensor:
    return bernoulli.log_prob(v, conditional_logits(v, W, V, bv, bh))


def sample(W: tf.Tensor, V: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor, seed: tf.Tensor,
           temperature: float = 1.0, held_mask: tf.Tensor | None = None,
           held_values: tf.Tensor | None = None) -> tf.Tensor:
    """Draws the units one after another from the lowest, unit i from p(v_i | v_<i) with its
    logit divided by `temperature`; a held unit (held_mask 1) takes its value in held_values
    in its turn, so the units above it are drawn given it. Unit i draws from stream i of seed.

    bv: (N, V); bh: (N, H); held_mask, held_values: (N or 1, V) of 0/1.
    Returns: float32 0/1 (N, V).
    """
    n_visible = int(W.shape[0])
    rows = tf.shape(bv)[0]
    mask = tf.zeros([1, n_visible]) if held_mask is None else held_mask
    values = tf.zeros([1, n_visible]) if held_values is None else held_values

    def unit(i: tf.Tensor, pre: tf.Tensor, v: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        logit = bv[:, i] + tf.reduce_sum(tf.sigmoid(pre) * V[i], axis=-1)
        drawn = bernoulli.draw(logit[:, tf.newaxis], seed, i, temperature,
                               mask[:, i, tf.newaxis], values[:, i, tf.newaxis])
        v = v + drawn * tf.one_hot(i, n_visible)
        return i + 1, pre + drawn * W[i], v

    pre0 = tf.broadcast_to(bh, [rows, int(W.shape[1])])
    return tf.while_loop(lambda i, *_: i < n_visible, unit,
                         (tf.constant(0), pre0, tf.zeros([rows, n_visible])))[2]
