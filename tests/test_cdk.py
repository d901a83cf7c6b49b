"""The compiled Gibbs chain and CD-k (rnn_rbm/ops/cdk.py, rbm.gibbs_chain under XLA) against
the plain statement of both (tests/plain_rbm.py): the same draws for the same seed, the same
cost and gradient; and what CD-k's gradient means, on a tiny RBM whose states are listed."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from rnn_rbm.ops import cdk, rbm
from tests import plain_rbm

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
    plain = plain_rbm.gibbs_chain(v, W, bv, bh, 4, seed).numpy()
    np.testing.assert_array_equal(cdk.gibbs_chain(v, W, bv, bh, 4, seed).numpy(), plain)
    # The chain itself, compiled by XLA as generation runs it.
    compiled = tf.function(lambda *x: rbm.gibbs_chain(*x, 4, seed), jit_compile=True)
    np.testing.assert_array_equal(compiled(v, W, bv, bh).numpy(), plain)


def test_compiled_chain_holds_units_and_takes_a_temperature_as_the_plain_one():
    W, bv, bh, v, _ = problem(12, per_row=True, seed=1)
    seed = tf.constant([2, 7, 1, 8], tf.uint32)
    held_mask = tf.constant([[0, 1, 0, 0, 1, 0]], tf.float32)
    held_values = tf.constant([[0, 1, 0, 0, 0, 0]], tf.float32)
    for temperature in (1.0, 0.7, 3.0):
        plain = plain_rbm.gibbs_chain(tf.zeros_like(v), W, bv, bh, 5, seed, held_mask=held_mask,
                                      held_values=held_values, temperature=temperature).numpy()
        compiled = tf.function(lambda W, bv, bh: rbm.gibbs_chain(
            tf.zeros_like(v), W, bv, bh, 5, seed, held_mask=held_mask, held_values=held_values,
            temperature=temperature), jit_compile=True)(W, bv, bh).numpy()
        np.testing.assert_array_equal(compiled, plain)
        np.testing.assert_array_equal(plain[:, [1, 4]], np.broadcast_to([[1, 0]], (12, 2)))


def test_the_same_chain_in_rows_of_its_own_draws_what_it_draws_whole():
    # A row's draws depend on its row alone: a chain split between devices draws what it would whole.
    W, bv, bh, v, _ = problem(16, per_row=True, seed=2)
    seed = tf.constant([1, 2, 3, 4], tf.uint32)
    whole = plain_rbm.gibbs_chain(v, W, bv, bh, 3, seed).numpy()
    tail = plain_rbm.gibbs_chain(v[8:], W, bv[8:], bh[8:], 3, seed, row_offset=8).numpy()
    np.testing.assert_array_equal(tail, whole[8:])


@pytest.mark.parametrize("per_row, start", [(True, "zeros"), (False, "data")])
def test_cd_cost_and_gradient_match_the_plain_formula(small_chunks, per_row, start):
    W, bv, bh, v, weights = problem(21, per_row)
    seed = tf.constant([2, 7, 1, 8], tf.uint32)
    v_start = tf.zeros_like(v) if start == "zeros" else None
    results = []
    for cd_cost in (plain_rbm.cd_cost, cdk.cd_cost):
        with tf.GradientTape() as tape:
            cost = cd_cost(v, W, bv, bh, 3, seed, weights=tf.constant(weights), v_start=v_start)
        results.append([cost.numpy()] + [g.numpy() for g in tape.gradient(cost, [W, bv, bh])])
    for plain, compiled in zip(*results):
        np.testing.assert_allclose(compiled, plain, rtol=1e-5, atol=1e-6)
    assert np.abs(results[1][1]).max() > 0  # a real gradient, not two zeros


# CD-k's meaning, on the compiled cost the package trains with: a tiny RBM, every state listed.

@pytest.fixture
def tiny_rbm():
    rng = np.random.default_rng(1)
    return (rng.normal(0, 1.0, (5, 4)).astype(np.float32), rng.normal(0, 1.0, 5).astype(np.float32),
            rng.normal(0, 1.0, 4).astype(np.float32))


def all_states(n: int) -> np.ndarray:
    return np.array(list(itertools.product((0.0, 1.0), repeat=n)), dtype=np.float64)


def test_cd_gradient_is_positive_minus_negative_statistics(tiny_rbm):
    W, bv, bh = (tf.Variable(a) for a in tiny_rbm)
    v = tf.constant(all_states(5)[[3, 9, 17, 30]], tf.float32)
    v_negative = rbm.gibbs_chain(v, W, bv, bh, 3, tf.random.Generator.from_seed(5))
    with tf.GradientTape() as tape:
        cost = cdk.cd_cost(v, W, bv, bh, 3, tf.random.Generator.from_seed(5))
    grad_W, grad_bv, grad_bh = tape.gradient(cost, [W, bv, bh])

    def stats(x):
        p = rbm.propup(x, W, bh).numpy()
        return x.numpy().T @ p / len(v), x.numpy().mean(0), p.mean(0)

    pos, neg = stats(v), stats(v_negative)
    np.testing.assert_allclose(grad_W.numpy(), -(pos[0] - neg[0]), atol=1e-6)
    np.testing.assert_allclose(grad_bv.numpy(), -(pos[1] - neg[1]), atol=1e-6)
    np.testing.assert_allclose(grad_bh.numpy(), -(pos[2] - neg[2]), atol=1e-6)


def test_masked_frames_do_not_count(tiny_rbm):
    W, bv, bh = tiny_rbm
    v = tf.constant(all_states(5)[[1, 2, 3, 4]], tf.float32)
    weights = tf.constant([1.0, 1.0, 0.0, 0.0])
    masked = cdk.cd_cost(v, W, bv, bh, 2, tf.random.Generator.from_seed(3), weights=weights)
    # Same draws for the first two rows: the uniform noise is drawn for the full batch both times.
    v_negative = rbm.gibbs_chain(v, W, bv, bh, 2, tf.random.Generator.from_seed(3))
    gap = rbm.free_energy(v, W, bv, bh) - rbm.free_energy(v_negative, W, bv, bh)
    assert masked.numpy() == pytest.approx(gap.numpy()[:2].mean(), rel=1e-6)


def test_negative_chain_can_start_elsewhere(tiny_rbm):
    W, bv, bh = tiny_rbm
    v = tf.constant(all_states(5)[[7, 21, 30]], tf.float32)
    zeros = tf.zeros_like(v)
    cost = cdk.cd_cost(v, W, bv, bh, 2, tf.random.Generator.from_seed(8), v_start=zeros)
    v_negative = rbm.gibbs_chain(zeros, W, bv, bh, 2, tf.random.Generator.from_seed(8))
    expected = rbm.free_energy(v, W, bv, bh) - rbm.free_energy(v_negative, W, bv, bh)
    assert cost.numpy() == pytest.approx(expected.numpy().mean(), rel=1e-6)
