import numpy as np
import pytest
import tensorflow as tf

from rnn_rbm.ops import cdk, rbm

V, H = 6, 5


@pytest.fixture
def small_chunks(monkeypatch):
    # Several chunks and a padded last one, with few frames.
    monkeypatch.setattr(cdk, "CHUNK_ROWS", 8)
    monkeypatch.setattr(cdk, "SMALL_QUANTUM", 4)


def problem(rows: int, per_row: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    W = tf.Variable(rng.normal(0, 1.0, (V, H)).astype(np.float32))
    bv = tf.Variable(rng.normal(0, 1.0, (rows, V) if per_row else V).astype(np.float32))
    bh = tf.Variable(rng.normal(0, 1.0, (rows, H) if per_row else H).astype(np.float32))
    v = (rng.random((rows, V)) < 0.4).astype(np.float32)
    weights = (rng.random(rows) < 0.7).astype(np.float32)
    return W, bv, bh, v, weights


def test_compiled_chain_draws_what_the_plain_chain_draws(small_chunks):
    W, bv, bh, v, _ = problem(21, per_row=True)
    seed = tf.constant([3, 1, 4, 1], tf.uint32)
    plain = rbm.gibbs_chain(v, W, bv, bh, 4, seed).numpy()
    np.testing.assert_array_equal(cdk.gibbs_chain(v, W, bv, bh, 4, seed).numpy(), plain)


@pytest.mark.parametrize("per_row, start", [(True, "zeros"), (False, "data")])
def test_cd_cost_and_gradient_match_the_plain_formula(small_chunks, per_row, start):
    W, bv, bh, v, weights = problem(21, per_row)
    seed = tf.constant([2, 7, 1, 8], tf.uint32)
    v_start = tf.zeros_like(v) if start == "zeros" else None
    results = []
    for cd_cost in (rbm.cd_cost, cdk.cd_cost):
        with tf.GradientTape() as tape:
            cost = cd_cost(v, W, bv, bh, 3, seed, weights=tf.constant(weights), v_start=v_start)
        results.append([cost.numpy()] + [g.numpy() for g in tape.gradient(cost, [W, bv, bh])])
    for plain, compiled in zip(*results):
        np.testing.assert_allclose(compiled, plain, rtol=1e-5, atol=1e-6)
    assert np.abs(results[1][1]).max() > 0  # a real gradient, not two zeros
