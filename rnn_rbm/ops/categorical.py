"""One word out of a vocabulary given its logits: the output layer of the token models.

Shapes: logits (N, K), float32; ids (N,), int32.
"""

from __future__ import annotations

import tensorflow as tf

from rnn_rbm.ops import philox

_BITS = 24  # uniforms on a grid of 2**-24, strictly inside (0, 1)


def log_prob(ids: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Returns: log softmax(logits)[id] of each row, float32 (N,), nats (<= 0)."""
    return -tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ids, logits=logits)


def draw(logits: tf.Tensor, seed: tf.Tensor, stream: int | tf.Tensor = 0, temperature: float = 1.0,
         top_k: int = 0) -> tf.Tensor:
    """Draws one id per row from softmax(logits / temperature), among the top_k likeliest
    only when top_k > 0 (ties at the k-th logit all stay), by the Gumbel-max trick on Philox
    uniforms: the draw is a function of the seed, the stream and the row.

    logits: (N, K), K known when tracing.
    Returns: int32 (N,).
    """
    scaled = logits if temperature == 1 else logits / temperature
    if 0 < top_k < logits.shape[-1]:
        kth = tf.math.top_k(scaled, k=top_k).values[:, -1:]
        scaled = tf.where(scaled >= kth, scaled, tf.fill(tf.shape(scaled), -float("inf")))
    words = philox.random_words(tf.shape(logits)[0], logits.shape[-1], seed, stream)
    u = (tf.cast(tf.bitwise.right_shift(words, tf.constant(32 - _BITS, tf.uint32)), tf.float32) + 0.5) / 2.0**_BITS
    gumbel = -tf.math.log(-tf.math.log(u))
    return tf.cast(tf.argmax(scaled + gumbel, axis=-1), tf.int32)
