"""Rows of frames in equal chunks, for the compiled per-frame functions (cdk.py, nade.py).

XLA compiles a function once per shape it meets and keeps every program in memory, and a
batch's count of real frames takes hundreds of values; chunks whose size is a multiple of a
quantum meet a handful of shapes, and a bound on the chunk's size bounds the memory one
chunk's intermediates take.
"""

from __future__ import annotations

import tensorflow as tf


def layout(rows: tf.Tensor, most: int, quantum: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Returns: (chunk size, number of chunks) for `rows` rows: as few chunks of at most
    `most` rows as hold them (one at least), of equal sizes rounded up to a multiple of
    `quantum` (so a chunk may pass `most` by less than a quantum)."""
    count = tf.maximum(_ceil_div(rows, most), 1)
    return _ceil_div(_ceil_div(rows, count), quantum) * quantum, count


def split(x: tf.Tensor, rows: tf.Tensor, size: tf.Tensor, count: tf.Tensor) -> tf.Tensor:
    """(rows, width), or (width,) shared by every row -> (count, size, width), the last
    chunk padded with zero rows."""
    width = x.shape[-1] if x.shape[-1] is not None else tf.shape(x)[-1]  # static where known
    padded = tf.pad(tf.broadcast_to(x, [rows, width]), [[0, count * size - rows], [0, 0]])
    return tf.reshape(padded, [count, size, width])


def join(chunks: tf.Tensor, rows: tf.Tensor) -> tf.Tensor:
    """(count, size, ...) -> the first `rows` of (count * size, ...)."""
    return tf.reshape(chunks, tf.concat([[-1], tf.shape(chunks)[2:]], axis=0))[:rows]


def _ceil_div(a: tf.Tensor, b: tf.Tensor | int) -> tf.Tensor:
    return (a + b - 1) // b
