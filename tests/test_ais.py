"""AIS against exact partition functions of RBMs small enough to enumerate (12 hidden units:
2^12 hidden states, each visible unit summed in closed form)."""

import numpy as np
import pytest
import tensorflow as tf

from rnn_rbm.ops import ais, rbm

V, H, FRAMES = 88, 12, 32


def music_like_rbm(seed: int, chord_weight: tuple[float, float], hidden_bias: float) -> tuple[np.ndarray, ...]:
    """An RBM shaped like one trained on piano rolls: each hidden unit switches on a chord
    (3 or 4 pitches with large positive weights, small negative weights elsewhere), notes are
    rare (visible biases near -4), hidden units need most of their chord to switch on (hidden
    biases near `hidden_bias`), and each of FRAMES frames has its own biases, as the RNN gives
    them.

    Returns: W float32 (V, H); bv float32 (FRAMES, V); bh float32 (FRAMES, H).
    """
    rng = np.random.default_rng(seed)
    low, high = chord_weight
    W = np.full((V, H), -0.3) + rng.normal(0.0, 0.2, (V, H))
    for j in range(H):
        root = rng.integers(30, 60)
        chord = root + np.array([0, 4, 7, 12])[: rng.integers(3, 5)]
        W[chord, j] = rng.uniform(low, high, len(chord))
    bv = -4.0 + rng.normal(0.0, 1.0, (FRAMES, V))
    bh = hidden_bias + rng.normal(0.0, 1.0, (FRAMES, H))
    return W.astype(np.float32), bv.astype(np.float32), bh.astype(np.float32)


_RNG = tf.random.Generator.from_seed(0)
_log_weights = tf.function(lambda W, bv, bh, b0, betas: ais.anneal(W, bv, bh, b0, betas, 32, _RNG)[0])


def estimate(W, bv, bh, temperatures: int, seed: int = 7, b0=None) -> ais.LogPartition:
    _RNG.reset_from_seed(seed)
    b0 = bv if b0 is None else b0
    return ais.summarise(_log_weights(W, bv, bh, b0, tf.constant(ais.linear_betas(temperatures))).numpy())


def exact(W, bv, bh) -> np.ndarray:
    return np.array([rbm.log_partition_exact(W, bv[i], bh[i]) for i in range(len(bv))])


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_exact_enumeration(seed):
    W, bv, bh = music_like_rbm(seed, chord_weight=(2.0, 3.5), hidden_bias=-5.5)
    got, truth = estimate(W, bv, bh, 1000), exact(W, bv, bh)
    error = got.log_z - truth
    assert abs(error.mean()) < 0.05  # what the per-frame log-likelihood averages
    assert np.abs(error).mean() < 0.05
    # The reported standard errors describe the real errors: few frames are off by over 3 of them.
    assert np.mean(np.abs(error) <= 3 * np.sqrt(got.variance) + 1e-3) >= 0.9


def test_base_of_the_data_rates_also_converges():
    W, bv, bh = music_like_rbm(0, chord_weight=(2.0, 3.5), hidden_bias=-5.5)
    rates = np.broadcast_to(np.float32(-4.0), bv.shape)
    assert abs((estimate(W, bv, bh, 1000, b0=rates).log_z - exact(W, bv, bh)).mean()) < 0.05


def test_more_temperatures_move_the_estimate_toward_the_exact_value():
    # Strong weights: the distribution is far from the base, few temperatures are not enough.
    W, bv, bh = music_like_rbm(1, chord_weight=(3.0, 5.0), hidden_bias=-6.0)
    truth = exact(W, bv, bh)
    estimates = [estimate(W, bv, bh, k) for k in (1, 10, 100, 1000)]
    errors = [(e.log_z - truth).mean() for e in estimates]
    # Too few temperatures underestimate log Z (Jensen: the mean weight is right, its log is
    # low on average); more close the gap (measured: about -3, -0.6 to -1.1, -0.05 to 0, 0).
    assert errors[0] < errors[1] - 1.0
    assert errors[1] < errors[2] - 0.3
    assert abs(errors[3]) < 0.05
    # and the chains agree better with more temperatures.
    spread = [np.sqrt(e.variance).mean() for e in estimates]
    assert spread[3] < spread[2] < spread[1]


def test_without_weights_one_step_is_exact():
    # W = 0: the base is the target itself, every weight equals Z.
    _, bv, bh = music_like_rbm(2, chord_weight=(2.0, 3.0), hidden_bias=-5.0)
    W = np.zeros((V, H), np.float32)
    got = estimate(W, bv, bh, 1)
    truth = np.logaddexp(0, bv).sum(1) + np.logaddexp(0, bh).sum(1)
    np.testing.assert_allclose(got.log_z, truth, rtol=1e-5)
    np.testing.assert_allclose(got.variance, 0.0, atol=1e-9)


def test_summarise_is_the_log_mean_weight_and_its_delta_method_variance():
    log_w = np.log(np.array([[1.0, 2.0, 3.0, 6.0], [5.0, 5.0, 5.0, 5.0]])) + 700.0  # exp would overflow
    got = ais.summarise(log_w)
    np.testing.assert_allclose(got.log_z, [np.log(3.0) + 700.0, np.log(5.0) + 700.0])
    # sample variance of (1, 2, 3, 6) is 14/3; / (4 chains * mean^2 = 36)
    np.testing.assert_allclose(got.variance, [14 / 3 / 36, 0.0], atol=1e-12)


def test_betas_run_from_zero_to_one():
    betas = ais.linear_betas(4)
    np.testing.assert_allclose(betas, [0.0, 0.25, 0.5, 0.75, 1.0])
    with pytest.raises(ValueError):
        ais.linear_betas(0)


def test_cheap_softplus_matches_softplus():
    x = tf.constant(np.linspace(-120.0, 120.0, 100001), tf.float32)
    np.testing.assert_allclose(ais._softplus(x).numpy(), tf.nn.softplus(x).numpy(), rtol=1e-6, atol=1e-6)


def test_resampled_chains_follow_the_rbm():
    # A small RBM whose 2^6 visible states can be listed: draws resampled from the AIS chains
    # by weight match the exact distribution.
    rng = np.random.default_rng(3)
    W = rng.normal(0.0, 1.5, (6, 4)).astype(np.float32)
    bv, bh = rng.normal(-1.0, 1.0, (1, 6)).astype(np.float32), rng.normal(0.0, 1.0, (1, 4)).astype(np.float32)
    every = np.array([[(i >> (5 - j)) & 1 for j in range(6)] for i in range(64)], np.float32)
    exact_p = np.exp(-rbm.free_energy(every, W, bv[0], bh[0]).numpy() - rbm.log_partition_exact(W, bv[0], bh[0]))
    _RNG.reset_from_seed(5)
    log_w, states = ais.anneal(W, bv, bh, bv, tf.constant(ais.linear_betas(20)), 4000, _RNG)
    drawn = ais.resample(log_w, states, 4000, _RNG).numpy()[0]  # (draws, 6)
    codes = (drawn @ (2 ** np.arange(5, -1, -1))).astype(int)
    empirical = np.bincount(codes, minlength=64) / len(codes)
    assert np.abs(empirical - exact_p).sum() / 2 < 0.05  # total variation; ~0.02 from noise


def test_resample_picks_by_weight():
    log_w = tf.constant([[0.0, 50.0, 0.0], [0.0, 0.0, 0.0]])
    states = tf.constant(np.arange(6, dtype=np.float32).reshape(2, 3, 1))
    drawn = ais.resample(log_w, states, 3000, tf.random.Generator.from_seed(0)).numpy()[..., 0]
    assert np.all(drawn[0] == 1.0)  # the one chain with all the weight
    assert sorted(np.unique(drawn[1])) == [3.0, 4.0, 5.0]
    assert np.all(np.abs(np.bincount(drawn[1].astype(int) - 3) / 3000 - 1 / 3) < 0.04)


def estimate_with_known(W, bv, bh, temperatures: int, known: np.ndarray, seed: int = 7) -> ais.LogPartition:
    _RNG.reset_from_seed(seed)
    log_w, states = ais.anneal(W, bv, bh, bv, tf.constant(ais.linear_betas(temperatures)), 32, _RNG)
    minus_free = ais.known_minus_free_energy(W, bv, bh, known).numpy().astype(np.float64)
    return ais.summarise(log_w.numpy(), ais.outside(states, known).numpy(), np.logaddexp.reduce(minus_free, axis=1))


def test_known_states_summed_exactly_keep_the_estimate_unbiased_with_less_variance():
    W, bv, bh = music_like_rbm(1, chord_weight=(3.0, 5.0), hidden_bias=-6.0)
    bv = bv - 1.5  # notes as rare as in a trained model (visible biases near -5.5)
    truth = exact(W, bv, bh)
    # Known states: the distinct last states of an earlier run, as training frames would be;
    # they hold about 80 % of each Z here.
    _RNG.reset_from_seed(99)
    _, earlier = ais.anneal(W, bv, bh, bv, tf.constant(ais.linear_betas(300)), 32, _RNG)
    known = np.unique(earlier.numpy().reshape(-1, V), axis=0)
    plain, with_known = estimate(W, bv, bh, 30), estimate_with_known(W, bv, bh, 30, known)
    assert with_known.variance.mean() < plain.variance.mean() / 3  # measured: 4 to 10 times less
    assert abs((with_known.log_z - truth).mean()) < 0.1
    assert abs((estimate_with_known(W, bv, bh, 300, known).log_z - truth).mean()) < 0.03


def test_every_state_known_is_exact():
    rng = np.random.default_rng(4)
    W = rng.normal(0.0, 2.0, (6, 4)).astype(np.float32)
    bv, bh = rng.normal(-1.0, 1.0, (3, 6)).astype(np.float32), rng.normal(0.0, 1.0, (3, 4)).astype(np.float32)
    every = np.array([[(i >> (5 - j)) & 1 for j in range(6)] for i in range(64)], np.float32)
    got = estimate_with_known(W, bv, bh, 1, every)
    truth = [rbm.log_partition_exact(W, bv[i], bh[i]) for i in range(3)]
    np.testing.assert_allclose(got.log_z, truth, rtol=1e-5)
    np.testing.assert_allclose(got.variance, 0.0, atol=1e-12)


def test_resampling_with_known_states_follows_the_rbm():
    rng = np.random.default_rng(3)
    W = rng.normal(0.0, 1.5, (6, 4)).astype(np.float32)
    bv, bh = rng.normal(-1.0, 1.0, (1, 6)).astype(np.float32), rng.normal(0.0, 1.0, (1, 4)).astype(np.float32)
    every = np.array([[(i >> (5 - j)) & 1 for j in range(6)] for i in range(64)], np.float32)
    exact_p = np.exp(-rbm.free_energy(every, W, bv[0], bh[0]).numpy() - rbm.log_partition_exact(W, bv[0], bh[0]))
    known = every[::2]  # half the states summed exactly, the chains standing for the others
    _RNG.reset_from_seed(6)
    log_w, states = ais.anneal(W, bv, bh, bv, tf.constant(ais.linear_betas(20)), 4000, _RNG)
    drawn = ais.resample(log_w, states, 4000, _RNG, ais.outside(states, known), known,
                         ais.known_minus_free_energy(W, bv, bh, known)).numpy()[0]
    empirical = np.bincount((drawn @ (2 ** np.arange(5, -1, -1))).astype(int), minlength=64) / len(drawn)
    assert np.abs(empirical - exact_p).sum() / 2 < 0.05


def test_outside_is_the_same_in_blocks_of_known_states(monkeypatch):
    rng = np.random.default_rng(3)
    known = tf.constant((rng.random((37, 6)) < 0.5).astype(np.float32))
    states = tf.constant((rng.random((5, 4, 6)) < 0.5).astype(np.float32))
    states = tf.tensor_scatter_nd_update(states, [[0, 0], [4, 3]], tf.stack([known[0], known[36]]))
    whole = ais.outside(states, known).numpy()
    assert not whole[0, 0] and not whole[4, 3]  # known states are not outside
    truth = ~np.array([[any(np.array_equal(s, k) for k in known.numpy()) for s in row] for row in states.numpy()])
    np.testing.assert_array_equal(whole, truth)
    monkeypatch.setattr(ais, "KNOWN_BLOCK", 5)  # 8 blocks, the last of 2 states
    np.testing.assert_array_equal(ais.outside(states, known).numpy(), whole)


def test_resample_without_known_states_draws_from_the_chains():
    states = tf.constant([[[1.0, 0.0], [0.0, 1.0]]])
    log_w = tf.constant([[0.0, -50.0]])
    empty = tf.zeros([0, 2])
    drawn = ais.resample(log_w, states, 3, tf.random.Generator.from_seed(0), tf.constant([[True, True]]), empty,
                         tf.zeros([1, 0]))
    np.testing.assert_array_equal(drawn.numpy(), [[[1.0, 0.0]] * 3])  # the heavy chain, every time
