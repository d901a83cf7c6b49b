"""The RNN's loop over time, u(t) = tanh(drive(t) + u(t-1) Wuu), XLA-compiled, with its
back-propagation through time written out.

A loop of hundreds of tiny steps is dominated by the cost of running each op;
compiled by XLA it costs little. TensorFlow would differentiate the loop by
recording every step; the gradient here is a second compiled loop instead
(tests/test_model.py compares it with TensorFlow's). XLA compiles once per
shape: callers pad the time axis to a few lengths.
"""

from __future__ import annotations

import tensorflow as tf

# Callers pad each batch to a multiple of these steps and pieces, so that XLA meets a few
# shapes only.
TIME_QUANTUM = 64
BATCH_QUANTUM = 4


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
    u = _forward(*(tf.stop_gradient(x) for x in (drive, Wuu, u0)))

    def gradient(upstream: tf.Tensor):
        return _backward(u, Wuu, u0, upstream)

    return u, gradient


# reduce_retracing: one trace for all lengths; XLA still compiles each shape it meets.
@tf.function(jit_compile=True, reduce_retracing=True)
def _forward(drive: tf.Tensor, Wuu: tf.Tensor, u0: tf.Tensor) -> tf.Tensor:
    return tf.scan(lambda u, x: tf.tanh(x + tf.matmul(u, Wuu)), drive, initializer=u0)


@tf.function(jit_compile=True, reduce_retracing=True)
def _backward(u: tf.Tensor, Wuu: tf.Tensor, u0: tf.Tensor, upstream: tf.Tensor):
    """Back-propagation through time.

    With a(t) the pre-activation of u(t): dL/da(t) = (dL/du(t) from outside + dL/da(t+1)
    Wuu^T) (1 - u(t)^2); then dL/ddrive(t) = dL/da(t), dL/dWuu = sum_t u(t-1)^T dL/da(t),
    dL/du0 = dL/da(1) Wuu^T.
    Returns: (d drive (T, batch, R), d Wuu (R, R), d u0 (batch, R)).
    """
    def step(later: tf.Tensor, inputs: tuple[tf.Tensor, tf.Tensor]) -> tf.Tensor:
        outside, u_t = inputs
        return (outside + tf.matmul(later, Wuu, transpose_b=True)) * (1.0 - tf.square(u_t))

    d_pre = tf.scan(step, (upstream, u), initializer=tf.zeros_like(u0), reverse=True)
    previous = tf.concat([u0[tf.newaxis], u[:-1]], axis=0)
    width = tf.shape(u)[-1]
    d_Wuu = tf.matmul(tf.reshape(previous, [-1, width]), tf.reshape(d_pre, [-1, width]), transpose_a=True)
    return d_pre, d_Wuu, tf.matmul(d_pre[0], Wuu, transpose_b=True)
