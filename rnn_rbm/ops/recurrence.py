"""The RNN's loop over time, u(t) = tanh(drive(t) + u(t-1) Wuu), XLA-compiled, with its
back-propagation through time written out; and the chunked driver every recurrence of the
project runs its compiled loops through (lstm_cell.py too).

A loop of hundreds of tiny steps is dominated by the cost of running each op;
compiled by XLA it costs little. TensorFlow would differentiate the loop by
recording every step; the gradient here is a second compiled loop instead
(tests/test_model.py compares it with TensorFlow's). XLA compiles once per
shape, and each compiled shape stays in memory (about 30 MB for a 400-unit LSTM's pair of
loops): a loop compiled for every length it met held 6 GB after 30 epochs of MuseData's
pieces. So the compiled loops run TIME_QUANTUM steps at a time, the state carried from one
call to the next: one shape for any length.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

# The compiled loops' length (a sequence runs as a series of them). The loops run a power of
# two of at least BATCH_QUANTUM pieces, whatever the caller's count, so that XLA meets a few
# shapes only (a scorer's batches take every count of pieces up to 64).
TIME_QUANTUM = 64
BATCH_QUANTUM = 4


def forward_in_chunks(chunk: Callable[..., tf.Tensor], drive: tf.Tensor, state0: tf.Tensor,
                      *weights: tf.Tensor) -> tf.Tensor:
    """A loop over time from state0, as a series of compiled calls of TIME_QUANTUM steps.

    chunk(drive block (TIME_QUANTUM, pieces, D), *weights, state before the block) -> the
    block's states (TIME_QUANTUM, pieces, S). drive: (T, batch, D), any T and batch (empty
    steps and pieces are appended and their states cut off: a step cannot reach the ones
    before it, nor a piece another).
    Returns: (T, batch, S).
    """
    batch = tf.shape(drive)[1]
    drive, state0 = _padded(drive, batch), _padded(state0[tf.newaxis], batch)[0]
    # The initial "block before the first" ends in state0.
    before_first = tf.repeat(state0[tf.newaxis], TIME_QUANTUM, axis=0)
    states = tf.scan(lambda before, block: _like(chunk(block, *weights, before[-1]), before), _blocks(drive),
                     initializer=before_first)
    return _unblock(states, tf.shape(drive)[0])[:, :batch]


def reverse_in_chunks(chunk: Callable[..., tf.Tensor], sequences: tuple[tf.Tensor, ...], start: tf.Tensor,
                      *weights: tf.Tensor) -> tf.Tensor:
    """A loop backwards in time (back-propagation through time), as a series of compiled
    calls of TIME_QUANTUM steps, last block first.

    chunk(*blocks of `sequences`, *weights, carry) -> the block's carries (TIME_QUANTUM,
    pieces, C), where carry is the first carry of the block after it (`start` after the last
    block). sequences: each (T, batch, ...); the steps and pieces appended are zeros, which
    the callers' loops turn into zero carries.
    Returns: the carries (T, batch, C).
    """
    batch = tf.shape(start)[0]
    start = _padded(start[tf.newaxis], batch)[0]
    after_last = tf.repeat(start[tf.newaxis], TIME_QUANTUM, axis=0)
    carries = tf.scan(lambda after, blocks: _like(chunk(*blocks, *weights, after[0]), after),
                      tuple(_blocks(_padded(s, batch)) for s in sequences), initializer=after_last, reverse=True)
    return _unblock(carries, tf.shape(sequences[0])[0])[:, :batch]


def _padded(x: tf.Tensor, batch: tf.Tensor) -> tf.Tensor:
    """(T, batch, ...) with empty pieces appended up to the loops' count: the next power of
    two, at least BATCH_QUANTUM."""
    sizes = tf.constant([BATCH_QUANTUM * 2**k for k in range(24)])
    pieces = tf.reduce_min(tf.where(sizes >= batch, sizes, sizes[-1]))
    return tf.pad(x, [[0, 0], [0, pieces - batch]] + [[0, 0]] * (len(x.shape) - 2))


def _like(x: tf.Tensor, known: tf.Tensor) -> tf.Tensor:
    """x with the static shape of `known` (a compiled loop is traced for any shape and
    forgets it; a loop's carry must keep it)."""
    x.set_shape(known.shape)
    return x


def _blocks(x: tf.Tensor) -> tf.Tensor:
    """(T, ...) -> (ceil(T / TIME_QUANTUM), TIME_QUANTUM, ...), zero-padded."""
    x = tf.pad(x, [[0, -tf.shape(x)[0] % TIME_QUANTUM]] + [[0, 0]] * (len(x.shape) - 1))
    return tf.reshape(x, tf.concat([[-1, TIME_QUANTUM], tf.shape(x)[1:]], axis=0))


def _unblock(x: tf.Tensor, steps: tf.Tensor) -> tf.Tensor:
    """(blocks, TIME_QUANTUM, ...) -> the first `steps` of (blocks * TIME_QUANTUM, ...)."""
    return tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], axis=0))[:steps]


def states(drive: tf.Tensor, Wuu: tf.Tensor, u0: tf.Tensor) -> tf.Tensor:
    """u(t) = tanh(drive(t) + u(t-1) Wuu) for t = 1..T from u(0) = u0.

    drive: float32 (T, batch, R), time-major; Wuu: (R, R); u0: (batch, R).
    Returns: u(1..T), float32 (T, batch, R); differentiable in all three inputs.
    """
    # Tensors, not variables: the compiled functions are shared by every model.
    return _states(*(tf.convert_to_tensor(x, tf.float32) for x in (drive, Wuu, u0)))


@tf.custom_gradient
def _states(drive: tf.Tensor, Wuu: tf.Tensor, u0: tf.Tensor):
    # stop_gradient: a tape would otherwise ask the compiled loop for its intermediates.
    u = forward_in_chunks(_forward, *(tf.stop_gradient(x) for x in (drive, u0, Wuu)))

    def gradient(upstream: tf.Tensor):
        """Back-propagation through time.

        With a(t) the pre-activation of u(t): dL/da(t) = (dL/du(t) from outside + dL/da(t+1)
        Wuu^T) (1 - u(t)^2); then dL/ddrive(t) = dL/da(t), dL/dWuu = sum_t u(t-1)^T dL/da(t),
        dL/du0 = dL/da(1) Wuu^T.
        Returns: (d drive (T, batch, R), d Wuu (R, R), d u0 (batch, R)).
        """
        d_pre = reverse_in_chunks(_backward, (upstream, u), tf.zeros_like(u0), Wuu)
        previous = tf.concat([u0[tf.newaxis], u[:-1]], axis=0)
        width = tf.shape(u)[-1]
        d_Wuu = tf.matmul(tf.reshape(previous, [-1, width]), tf.reshape(d_pre, [-1, width]), transpose_a=True)
        return d_pre, d_Wuu, tf.matmul(d_pre[0], Wuu, transpose_b=True)

    return u, gradient


# reduce_retracing: one trace for every batch size; XLA compiles each shape it meets.
@tf.function(jit_compile=True, reduce_retracing=True)
def _forward(drive: tf.Tensor, Wuu: tf.Tensor, u0: tf.Tensor) -> tf.Tensor:
    return tf.scan(lambda u, x: tf.tanh(x + tf.matmul(u, Wuu)), drive, initializer=u0)


@tf.function(jit_compile=True, reduce_retracing=True)
def _backward(upstream: tf.Tensor, u: tf.Tensor, Wuu: tf.Tensor, later: tf.Tensor) -> tf.Tensor:
    """dL/da over one block, from `later`, dL/da of the step after it. Returns: (T, batch, R)."""
    def step(later: tf.Tensor, inputs: tuple[tf.Tensor, tf.Tensor]) -> tf.Tensor:
        outside, u_t = inputs
        return (outside + tf.matmul(later, Wuu, transpose_b=True)) * (1.0 - tf.square(u_t))

    return tf.scan(step, (upstream, u), initializer=later, reverse=True)
