"""The LSTM cell (Hochreiter & Schmidhuber 1997, with a forget gate), written out once for
every LSTM of the project (models/lstm.py, models/token_lstm.py):

    gates(t) = x(t) Wx + h(t-1) Wh + b          (4 blocks of R: input, forget, cell, output)
    c(t) = f * c(t-1) + i * tanh(g),  h(t) = o * tanh(c(t))

It is written out rather than taken from Keras: the variables then live where the
checkpoint, the tf.distribute mirroring and the compiled sampler of every other model
expect them, and the same lines serve training and generation.
"""

from __future__ import annotations

import tensorflow as tf

from rnn_rbm.ops import recurrence


def initial_bias(units: int) -> tf.Tensor:
    """Returns: b (4R,) with the forget block at 1 (Gers et al. 2000: the cell keeps its
    memory at first) and the rest at 0."""
    return tf.concat([tf.zeros([units]), tf.ones([units]), tf.zeros([2 * units])], 0)


def step(state: tf.Tensor, x: tf.Tensor, Wx: tf.Tensor, Wh: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """One step of the cell.

    state: [h(t-1), c(t-1)], float32 (batch, 2R); x: the input (batch, D); Wx (D, 4R),
    Wh (R, 4R), b (4R,).
    Returns: [h(t), c(t)], float32 (batch, 2R).
    """
    return advance(state, tf.matmul(x, Wx) + b, Wh)


def advance(state: tf.Tensor, drive: tf.Tensor, Wh: tf.Tensor) -> tf.Tensor:
    """One step of the cell from its input term drive = x(t) Wx + b (batch, 4R), computed
    beforehand: a layer run over a whole sequence then does that product for every step at
    once, and the loop only the recurrent one.

    Returns: [h(t), c(t)], float32 (batch, 2R).
    """
    h, c = tf.split(state, 2, axis=-1)
    i, f, g, o = tf.split(drive + tf.matmul(h, Wh), 4, axis=-1)
    c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
    return tf.concat([tf.sigmoid(o) * tf.tanh(c), c], axis=-1)


def run(x: tf.Tensor, state0: tf.Tensor, Wx: tf.Tensor, Wh: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """The cell over a whole sequence: the input products of every step at once, then the
    loop over time XLA-compiled, with its back-propagation through time a second compiled
    loop (a loop of hundreds of tiny steps is otherwise dominated by the cost of running each
    op; see recurrence.py). tests/test_lstm_cell.py compares both with TensorFlow's.

    x: time-major inputs (T, batch, D); state0: (batch, 2R).
    Returns: the state after each step, time-major (T, batch, 2R).
    """
    drive = tf.tensordot(x, Wx, axes=1) + b
    states = _states(*(tf.convert_to_tensor(t, tf.float32) for t in (drive, Wh, state0)))
    # The compiled loop is traced for any shape: give callers back the width they know.
    states.set_shape(x.shape[:2].concatenate(state0.shape[-1:]))
    return states


@tf.custom_gradient
def _states(drive: tf.Tensor, Wh: tf.Tensor, state0: tf.Tensor):
    # stop_gradient: a tape would otherwise ask the compiled loop for its intermediates.
    states = recurrence.forward_in_chunks(_forward, *(tf.stop_gradient(t) for t in (drive, state0, Wh)))

    def gradient(upstream: tf.Tensor):
        """Back-propagation through time. With a(t) = drive(t) + h(t-1) Wh split into the
        gates' pre-activations and dh, dc the loss's derivatives by h(t), c(t) (from outside
        and from step t+1):
            dc += dh o (1 - tanh(c)^2);  da = [dc g i(1-i), dc c(t-1) f(1-f), dc i (1-g^2), dh tanh(c) o(1-o)]
            to step t-1: dh = da Wh^T, dc = dc f;  dWh = sum_t h(t-1)^T da(t);  d drive(t) = da(t).
        Returns: (d drive (T, batch, 4R), d Wh (R, 4R), d state0 (batch, 2R)).
        """
        previous = tf.concat([state0[tf.newaxis], states[:-1]], axis=0)
        units = tf.shape(state0)[-1] // 2
        # A carry: [dh, dc] handed to the step before, and da of its own step.
        carries = recurrence.reverse_in_chunks(_backward, (upstream, drive, previous, states),
                                               tf.zeros([tf.shape(state0)[0], 6 * units]), Wh)
        d_drive = carries[..., 2 * units:]
        h_previous = previous[..., :units]
        d_Wh = tf.matmul(tf.reshape(h_previous, [-1, units]), tf.reshape(d_drive, [-1, 4 * units]),
                         transpose_a=True)
        return d_drive, d_Wh, carries[0, :, :2 * units]

    return states, gradient


# reduce_retracing: one trace for every batch size; XLA compiles each shape it meets.
@tf.function(jit_compile=True, reduce_retracing=True)
def _forward(drive: tf.Tensor, Wh: tf.Tensor, state0: tf.Tensor) -> tf.Tensor:
    return tf.scan(lambda state, d: advance(state, d, Wh), drive, initializer=state0)


@tf.function(jit_compile=True, reduce_retracing=True)
def _backward(upstream: tf.Tensor, drive: tf.Tensor, previous: tf.Tensor, states: tf.Tensor, Wh: tf.Tensor,
              later: tf.Tensor) -> tf.Tensor:
    """The carries of one block, from `later`, the first carry of the block after it.
    Returns: (T, batch, 6R)."""
    def step(carry: tf.Tensor, inputs: tuple[tf.Tensor, ...]) -> tf.Tensor:
        outside, d, before, after = inputs
        dh_later, dc_later, _ = tf.split(carry, [tf.shape(before)[-1] // 2] * 2 + [-1], axis=-1)
        h_prev, c_prev = tf.split(before, 2, axis=-1)
        _, c = tf.split(after, 2, axis=-1)
        dh_out, dc_out = tf.split(outside, 2, axis=-1)
        i, f, g, o = tf.split(d + tf.matmul(h_prev, Wh), 4, axis=-1)
        i, f, g, o = tf.sigmoid(i), tf.sigmoid(f), tf.tanh(g), tf.sigmoid(o)
        tanh_c = tf.tanh(c)
        dh = dh_out + dh_later
        dc = dc_out + dc_later + dh * o * (1.0 - tf.square(tanh_c))
        da = tf.concat([dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f), dc * i * (1.0 - tf.square(g)),
                        dh * tanh_c * o * (1.0 - o)], axis=-1)
        return tf.concat([tf.matmul(da, Wh, transpose_b=True), dc * f, da], axis=-1)

    return tf.scan(step, (upstream, drive, previous, states), initializer=later, reverse=True)
