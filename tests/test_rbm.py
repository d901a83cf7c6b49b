import itertools

import numpy as np
import pytest
import tensorflow as tf

from rnn_rbm.ops import rbm

V, H = 5, 4


@pytest.fixture
def tiny_rbm():
    rng = np.random.default_rng(1)
    return (rng.normal(0, 1.0, (V, H)).astype(np.float32), rng.normal(0, 1.0, V).astype(np.float32),
            rng.normal(0, 1.0, H).astype(np.float32))


def all_states(n: int) -> np.ndarray:
    return np.array(list(itertools.product((0.0, 1.0), repeat=n)), dtype=np.float64)


def energy(v, h, W, bv, bh):
    return -(v @ bv) - (h @ bh) - v @ W @ h


def test_free_energy_matches_enumeration(tiny_rbm):
    W, bv, bh = tiny_rbm
    visible, hidden = all_states(V), all_states(H)
    brute = np.array([-np.log(sum(np.exp(-energy(v, h, W, bv, bh)) for h in hidden)) for v in visible])
    got = rbm.free_energy(tf.constant(visible, tf.float32), W, bv, bh).numpy()
    np.testing.assert_allclose(got, brute, rtol=1e-5, atol=1e-5)


def test_per_frame_biases_broadcast(tiny_rbm):
    W, bv, bh = tiny_rbm
    v = all_states(V)[:3].astype(np.float32)
    shift_v, shift_h = np.arange(3 * V).reshape(3, V) * 0.1, np.arange(3 * H).reshape(3, H) * 0.1
    batched = rbm.free_energy(v, W, (bv + shift_v).astype(np.float32), (bh + shift_h).astype(np.float32))
    one_by_one = [rbm.free_energy(v[i : i + 1], W, (bv + shift_v[i]).astype(np.float32),
                                  (bh + shift_h[i]).astype(np.float32)).numpy()[0] for i in range(3)]
    np.testing.assert_allclose(batched.numpy(), one_by_one, rtol=1e-6)


def test_conditionals_match_enumeration(tiny_rbm):
    W, bv, bh = tiny_rbm
    visible, hidden = all_states(V), all_states(H)
    for v in visible[::5]:
        weights = np.array([np.exp(-energy(v, h, W, bv, bh)) for h in hidden])
        p_h = (weights[:, None] * hidden).sum(0) / weights.sum()
        got = rbm.propup(tf.constant(v[None], tf.float32), W, bh).numpy()[0]
        np.testing.assert_allclose(got, p_h, rtol=1e-5)
    for h in hidden[::3]:
        weights = np.array([np.exp(-energy(v, h, W, bv, bh)) for v in visible])
        p_v = (weights[:, None] * visible).sum(0) / weights.sum()
        got = rbm.propdown(tf.constant(h[None], tf.float32), W, bv).numpy()[0]
        np.testing.assert_allclose(got, p_v, rtol=1e-5)


def test_log_partition_matches_full_enumeration(tiny_rbm):
    W, bv, bh = tiny_rbm
    total = sum(np.exp(-energy(v, h, W, bv, bh)) for v in all_states(V) for h in all_states(H))
    assert rbm.log_partition_exact(W, bv, bh) == pytest.approx(np.log(total), rel=1e-9)


def test_gibbs_chain_samples_the_model_distribution(tiny_rbm):
    W, bv, bh = (a * 0.5 for a in tiny_rbm)  # milder weights: the chain mixes in a few steps
    visible = all_states(V)
    exact = np.exp(-rbm.free_energy(tf.constant(visible, tf.float32), W, bv, bh).numpy()
                   - rbm.log_partition_exact(W, bv, bh))
    chains = 20000
    rng = tf.random.Generator.from_seed(7)
    drawn = rbm.gibbs_chain(tf.zeros([chains, V]), W, bv, bh, k=30, rng=rng).numpy()
    codes = drawn @ (2 ** np.arange(V)[::-1])
    empirical = np.bincount(codes.astype(int), minlength=2**V) / chains
    assert np.abs(empirical - exact).sum() < 0.05  # total variation ~ 0.01 expected from noise
