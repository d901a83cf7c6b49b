"""CD-k as training runs it: the one Gibbs chain (rbm.gibbs_chain) and the cost's gradient
computed together, XLA-compiled on chunks of frames; and the chain alone on the same
compiled chunks, for many frames at once (the validation monitor, scheduled sampling).

CD-k stated plainly (free energies and automatic differentiation, the chain written out
step by step) is the tests' reference (tests/plain_rbm.py); `cd_cost` here has the same
value, the same gradient and the same random draws (tests/test_cdk.py compares them). It
is faster because each chunk of frames runs its chain, both free energies and its share
of the gradient in one compiled function, where XLA fuses the elementwise work, and
CHAIN_PARALLEL chunks run at once. One compilation serves every batch of CHUNK_ROWS
frames or more, and every number of Gibbs steps.
"""

from __future__ import annotations

import tensorflow as tf

from rnn_rbm.ops import philox, rbm, rows as row_chunks

# XLA runs a chunk's elementwise work on one thread: CHAIN_PARALLEL chunks at once use
# the cores. Chunks of CHUNK_ROWS frames (a multiple of 4, see philox.random_words) waste
# little padding and keep the matrix products large enough to be efficient.
CHUNK_ROWS = 512
CHAIN_PARALLEL = 2
# Chunks are equal, a multiple of SMALL_QUANTUM rows (rows.layout): few compiled shapes.
SMALL_QUANTUM = 64


def gibbs_chain(v0: tf.Tensor, W: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor, k: int,
                rng: tf.random.Generator | tf.Tensor) -> tf.Tensor:
    """`rbm.gibbs_chain` run on compiled chunks of rows: the same draws (a row's draws do not
    depend on the other rows).

    bv, bh: (V,) / (H,) or per row (N, V) / (N, H).
    Returns: v after k steps, float32 0/1 (N, V).
    """
    v0 = tf.convert_to_tensor(v0, tf.float32)
    # The compiled CD chunk with zero weights: one compilation serves CD-k and sampling.
    return _run_chunks(v0, v0, bv, bh, tf.zeros([tf.shape(v0)[0]]), W, k, rng, 0)[4]


def cd_cost(
    v: tf.Tensor,
    W: tf.Tensor,
    bv: tf.Tensor,
    bh: tf.Tensor,
    k: int,
    rng: tf.random.Generator | tf.Tensor,
    weights: tf.Tensor | None = None,
    v_start: tf.Tensor | None = None,
    row_offset: int | tf.Tensor = 0,
) -> tf.Tensor:
    """CD-k surrogate cost: the weighted mean over frames of F(v) - F(v~), v~ after k Gibbs
    steps from v (or from `v_start`), held constant (its gradient is the CD-k estimate of the
    negative log-likelihood's).

    v: (N, V); bv, bh: (V,) / (H,) or per frame (N, V) / (N, H); weights: optional (N,).
    row_offset: a multiple of 4; the chains draw from rows row_offset... of the seed.
    Returns: float32 scalar, nats per frame; its gradient reaches W, bv and bh.
    """
    v = tf.convert_to_tensor(v, tf.float32)
    if weights is None:
        weights = tf.ones([tf.shape(v)[0]])
    scaled = weights / tf.maximum(tf.reduce_sum(weights), 1.0)
    start = v if v_start is None else v_start

    @tf.custom_gradient
    def cost(W: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor):
        W, bv, bh = (tf.stop_gradient(x) for x in (W, bv, bh))  # the gradient is computed below
        total, grad_W, grad_bv, grad_bh, _ = _run_chunks(v, start, bv, bh, scaled, W, k, rng, row_offset)

        def gradient(upstream: tf.Tensor):
            return upstream * grad_W, upstream * _per_bias(grad_bv, bv), upstream * _per_bias(grad_bh, bh)

        return total, gradient

    return cost(tf.convert_to_tensor(W), tf.convert_to_tensor(bv), tf.convert_to_tensor(bh))


def _run_chunks(v: tf.Tensor, v_start: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor, weight: tf.Tensor,
                W: tf.Tensor, k: int, rng: tf.random.Generator | tf.Tensor,
                row_offset: int | tf.Tensor) -> tuple[tf.Tensor, ...]:
    """Runs `_chunk` on every chunk of rows; weight (N,) already divided by the total.

    Returns: (sum of weighted gaps, dW (V, H), per-row dbv (N, V) and dbh (N, H), v~ (N, V)).
    """
    seed = philox.seed_of(rng)
    # Tensors, not variables: the compiled function is shared by every model.
    v, v_start, bv, bh, W = (tf.convert_to_tensor(x, tf.float32) for x in (v, v_start, bv, bh, W))
    rows = tf.shape(v)[0]
    n_visible, n_hidden = W.shape
    size, count = row_chunks.layout(rows, CHUNK_ROWS, SMALL_QUANTUM)
    steps = tf.convert_to_tensor(k, tf.int32)  # a tensor: CD-15 and 25-step sampling share the compilation
    parts = tf.map_fn(
        lambda a: _chunk(a[0], a[1], a[2], a[3], a[4], W, steps, seed, a[5]),
        tuple(row_chunks.split(x, rows, size, count) for x in (v, v_start, bv, bh, weight[:, tf.newaxis]))
        + (tf.range(count) * size + row_offset,),
        fn_output_signature=(tf.TensorSpec([], tf.float32), tf.TensorSpec([n_visible, n_hidden], tf.float32),
                             tf.TensorSpec([None, n_visible], tf.float32),
                             tf.TensorSpec([None, n_hidden], tf.float32),
                             tf.TensorSpec([None, n_visible], tf.float32)),
        parallel_iterations=CHAIN_PARALLEL)

    return (tf.reduce_sum(parts[0]), tf.reduce_sum(parts[1], axis=0),
            *(row_chunks.join(x, rows) for x in parts[2:]))


def _per_bias(per_row: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """The gradient of `bias`, (D,) (shared by all rows) or (N, D), from per-row gradients."""
    return tf.reduce_sum(per_row, axis=0) if bias.shape.rank == 1 else per_row


def _chunk_body(v: tf.Tensor, v_start: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor, weight: tf.Tensor,
                W: tf.Tensor, k: tf.Tensor, seed: tf.Tensor, row_offset: tf.Tensor) -> tuple[tf.Tensor, ...]:
    """One chunk: the chain, then the gap F(v) - F(v~) and its gradient, by hand.

    With x = vW + bh: dF/dbv = -v, dF/dbh = -sigmoid(x), dF/dW = -v^T sigmoid(x).
    weight: (C, 1), already divided by the batch's total weight.
    Returns: (weighted gap sum, dW (V, H), dbv per row (C, V), dbh per row (C, H), v~ (C, V)).
    """
    v_negative = rbm.gibbs_chain(v_start, W, bv, bh, k, seed, row_offset)
    x_positive, x_negative = tf.matmul(v, W) + bh, tf.matmul(v_negative, W) + bh
    gap = (tf.reduce_sum((v_negative - v) * bv, axis=1) + tf.reduce_sum(tf.nn.softplus(x_negative), axis=1)
           - tf.reduce_sum(tf.nn.softplus(x_positive), axis=1))
    positive, negative = tf.sigmoid(x_positive) * weight, tf.sigmoid(x_negative) * weight
    grad_W = tf.matmul(v_negative, negative, transpose_a=True) - tf.matmul(v, positive, transpose_a=True)
    return (tf.reduce_sum(gap * weight[:, 0]), grad_W, (v_negative - v) * weight, negative - positive,
            v_negative)


_chunk = tf.function(_chunk_body, jit_compile=True)
