"""The compiled LSTM loop and its written-out back-propagation against TensorFlow's own."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from rnn_rbm.ops import lstm_cell


def test_compiled_loop_and_its_gradient_match_tensorflows():
    rng = np.random.default_rng(0)
    T, batch, D, R = 7, 3, 4, 5
    x = tf.constant(rng.normal(size=(T, batch, D)), tf.float32)
    state0 = tf.constant(rng.normal(size=(batch, 2 * R)) * 0.5, tf.float32)
    Wx = tf.Variable(rng.normal(size=(D, 4 * R)) * 0.5, dtype=tf.float32)
    Wh = tf.Variable(rng.normal(size=(R, 4 * R)) * 0.5, dtype=tf.float32)
    b = tf.Variable(rng.normal(size=(4 * R,)) * 0.5, dtype=tf.float32)
    weights = tf.constant(rng.normal(size=(T, batch, 2 * R)), tf.float32)  # a loss reading h and c

    def plain(x, state0):
        return tf.scan(lambda s, xt: lstm_cell.step(s, xt, Wx, Wh, b), x, initializer=state0)

    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, state0])
        compiled = lstm_cell.run(x, state0, Wx, Wh, b)
        reference = plain(x, state0)
        loss_compiled = tf.reduce_sum(compiled * weights)
        loss_reference = tf.reduce_sum(reference * weights)
    np.testing.assert_allclose(compiled.numpy(), reference.numpy(), atol=1e-5)
    for got, want in zip(tape.gradient(loss_compiled, [x, state0, Wx, Wh, b]),
                         tape.gradient(loss_reference, [x, state0, Wx, Wh, b])):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4, rtol=1e-4)


def test_the_state_width_stays_known_when_traced_for_any_shape():
    R = 3

    @tf.function(input_signature=[tf.TensorSpec([None, None, 2], tf.float32)])
    def states(x):
        out = lstm_cell.run(x, tf.zeros([tf.shape(x)[1], 2 * R]), tf.ones([2, 4 * R]), tf.ones([R, 4 * R]),
                            tf.zeros([4 * R]))
        assert out.shape[-1] == 2 * R  # what a dropout mask or an output layer is built from
        return out

    assert states(tf.zeros([5, 2, 2])).shape == (5, 2, 2 * R)
