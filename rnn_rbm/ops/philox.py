"""Bernoulli draws from counter-based random bits, written so that XLA fuses them.

The Gibbs chains of CD-k and of generation draw hundreds of random numbers per
frame; on a CPU, TensorFlow's random kernels take longer than the matrix
products. Here the bits come from Philox4x32-10 (Salmon et al., "Parallel
random numbers: as easy as 1, 2, 3", SC 2011; TensorFlow's own CPU generator)
computed in plain integer ops: a pure function of (seed, stream, element), so
that inside an XLA-compiled function it runs as one fused loop with the
sigmoid and the comparison, the same seed gives the same draws whatever the
chunking or device split, and nothing needs state. tests/test_philox.py checks
the block function against Random123's published answers and against
TensorFlow's kernel.

A seed is uint32 (4,): words 0-1 are the Philox key, words 2-3 the high half of
the counter. Within one seed, `stream` (a Gibbs half-step, say) and the element's
row and column give every draw its own counter.
"""

from __future__ import annotations

import tensorflow as tf

# Philox4x32 multipliers and Weyl key increments (Random123, philox.h).
_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
ROUNDS = 10
# A draw is 24 random bits u, and the unit is 1 when u < p * 2**24: P(1) is p to within
# 2**-24, finer than TensorFlow's float32 uniform (23 bits).
_BITS = 24
_SCALE = float(2**_BITS)


def _u32(value: int) -> tf.Tensor:
    return tf.constant(value, tf.uint32)


def _mulhilo(a: tf.Tensor, multiplier: int) -> tuple[tf.Tensor, tf.Tensor]:
    product = tf.cast(a, tf.uint64) * tf.constant(multiplier, tf.uint64)
    return (tf.cast(tf.bitwise.right_shift(product, tf.constant(32, tf.uint64)), tf.uint32),
            tf.cast(product, tf.uint32))


def philox4x32(counter: tuple[tf.Tensor, ...], key: tuple[tf.Tensor, tf.Tensor]) -> tuple[tf.Tensor, ...]:
    """The Philox4x32-10 block function, elementwise over broadcastable uint32 tensors.

    counter: four uint32 tensors (the 128-bit counter, lowest word first); key: two uint32.
    Returns: four uint32 tensors of random words, the broadcast shape of the counter.
    """
    c0, c1, c2, c3 = counter
    k0, k1 = key
    xor = tf.bitwise.bitwise_xor
    for round_ in range(ROUNDS):
        hi0, lo0 = _mulhilo(c0, _M0)
        hi1, lo1 = _mulhilo(c2, _M1)
        c0, c1, c2, c3 = xor(xor(hi1, c1), k0), lo1, xor(xor(hi0, c3), k1), lo0
        if round_ < ROUNDS - 1:
            k0, k1 = k0 + _u32(_W0), k1 + _u32(_W1)
    return c0, c1, c2, c3


def new_seed(rng: tf.random.Generator) -> tf.Tensor:
    """Returns: a fresh seed drawn from `rng` (advancing it), uint32 (4,)."""
    return rng.uniform_full_int([4], tf.uint32)


def seed_of(rng: tf.random.Generator | tf.Tensor) -> tf.Tensor:
    """Returns: a seed (uint32 (4,)): one drawn from rng when it is a Generator, rng itself when
    it is already a seed."""
    return new_seed(rng) if isinstance(rng, tf.random.Generator) else rng


def substream(seed: tf.Tensor, index: int | tf.Tensor) -> tf.Tensor:
    """Returns: the seed of sub-stream `index` of `seed`, uint32 (4,): indices below 2**32
    never share a counter (word 2 of the counter is offset by the index)."""
    offset = tf.cast(index, tf.uint32)
    return tf.cast(seed, tf.uint32) + tf.stack([_u32(0), _u32(0), offset, _u32(0)])


def random_words(rows: int | tf.Tensor, cols: int, seed: tf.Tensor, stream: int | tf.Tensor,
                 row_offset: int | tf.Tensor = 0) -> tf.Tensor:
    """Random 32-bit words for a (rows, cols) array, a function of the seed, the stream and
    each element's row (counted from `row_offset`, a multiple of 4) and column only.

    Rows 4m..4m+3 of column j share the Philox block with counter m * cols + j, one word each:
    XLA then writes the four words of a block side by side instead of recomputing the block
    for each. (row_offset + rows) * cols must stay below 2**34.
    Returns: uint32 (rows, cols).
    """
    quads = (rows + 3) // 4
    first = tf.cast(row_offset, tf.uint32) // 4
    block = ((tf.cast(tf.range(quads), tf.uint32) + first)[:, tf.newaxis] * _u32(cols)
             + tf.cast(tf.range(cols), tf.uint32)[tf.newaxis, :])
    shape = tf.shape(block)
    seed = tf.cast(seed, tf.uint32)
    counter = (block, tf.fill(shape, tf.cast(stream, tf.uint32)), tf.fill(shape, seed[2]),
               tf.fill(shape, seed[3]))
    words = tf.stack(philox4x32(counter, (seed[0], seed[1])), axis=1)  # (quads, 4, cols)
    return tf.reshape(words, [4 * quads, cols])[:rows]


def bernoulli_logits(logits: tf.Tensor, seed: tf.Tensor, stream: int | tf.Tensor,
                     row_offset: int | tf.Tensor = 0) -> tf.Tensor:
    """Independent draws with P(1) = sigmoid(logits) (to within 2**-24).

    logits: float32 (rows, D) with D known when tracing.
    Returns: float32 0/1, the shape of logits.
    """
    words = random_words(tf.shape(logits)[0], logits.shape[-1], seed, stream, row_offset)
    u = tf.cast(tf.bitwise.right_shift(words, _u32(32 - _BITS)), tf.float32)
    return tf.cast(u < tf.sigmoid(logits) * _SCALE, logits.dtype)
