"""The compiled LSTM loop and its written-out back-propagation against TensorFlow's own."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from rnn_rbm.ops import lstm_cell, recurrence


# 150 steps: three compiled blocks, the last one part padding.
@pytest.mark.parametrize("T", [7, 150])
def test_compiled_loop_and_its_gradient_match_tensorflows(T):
    rng = np.random.default_rng(0)
    batch, D, R = 3, 4, 5
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


def test_the_compiled_loops_meet_one_length_whatever_the_sequences_length(monkeypatch):
    """XLA keeps a program for every shape it compiles: the loops see blocks of
    TIME_QUANTUM steps only, forward and backward, for a sequence of any length."""
    lengths = []
    for name in ("_forward", "_backward"):
        compiled = getattr(lstm_cell, name)

        def recording(*args, compiled=compiled):
            lengths.append(args[0].shape[0])
            return compiled(*args)

        monkeypatch.setattr(lstm_cell, name, recording)
    R = 2
    for T in (5, 64, 131):
        x = tf.ones([T, 1, 3])
        with tf.GradientTape() as tape:
            tape.watch(x)
            states = lstm_cell.run(x, tf.zeros([1, 2 * R]), tf.ones([3, 4 * R]), tf.ones([R, 4 * R]), tf.zeros([4 * R]))
        assert tape.gradient(states, x).shape == (T, 1, 3)
        assert states.shape == (T, 1, 2 * R)
    assert lengths and set(lengths) == {recurrence.TIME_QUANTUM}


def test_the_compiled_loops_meet_a_power_of_two_of_pieces(monkeypatch):
    """A scorer's batches take every count of pieces: the loops see 4, 8, 16, ... only."""
    pieces = []
    compiled = lstm_cell._forward

    def recording(*args):
        pieces.append(args[0].shape[1])
        return compiled(*args)

    monkeypatch.setattr(lstm_cell, "_forward", recording)
    R = 2
    for batch in (1, 4, 5, 9, 17):
        states = lstm_cell.run(tf.ones([3, batch, 3]), tf.zeros([batch, 2 * R]), tf.ones([3, 4 * R]),
                               tf.ones([R, 4 * R]), tf.zeros([4 * R]))
        assert states.shape == (3, batch, 2 * R)
    assert pieces == [4, 4, 8, 16, 32]
