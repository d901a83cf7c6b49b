import numpy as np
import pytest
import tensorflow as tf

from rnn_rbm.config import GenerateConfig
from rnn_rbm.engine.sampling import generate
from rnn_rbm.models.rnn_rbm import RnnRbm
from rnn_rbm.ops import philox, recurrence

V, H, R = 12, 7, 5


def tiny_model(seed: int = 0) -> RnnRbm:
    # A large init scale so that every path of the recurrence visibly matters.
    return RnnRbm(V, H, R, init_std=0.5, rng=tf.random.Generator.from_seed(seed))


def random_rolls(batch: int, steps: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((batch, steps, V)) < 0.3).astype(np.float32)


def test_step_t_biases_see_only_frames_before_t():
    model = tiny_model()
    v = random_rolls(2, 9)
    bv, bh = (x.numpy() for x in model.step_biases(v))
    for t in (0, 4, 8):
        changed = v.copy()
        changed[:, t] = 1.0 - changed[:, t]
        bv2, bh2 = (x.numpy() for x in model.step_biases(changed))
        np.testing.assert_array_equal(bv2[:, : t + 1], bv[:, : t + 1])  # steps <= t unchanged
        np.testing.assert_array_equal(bh2[:, : t + 1], bh[:, : t + 1])
        if t + 1 < v.shape[1]:
            assert not np.allclose(bv2[:, t + 1], bv[:, t + 1])  # step t+1 reads frame t
            assert not np.allclose(bh2[:, t + 1], bh[:, t + 1])


def test_first_step_uses_the_plain_rbm_biases():
    model = tiny_model()
    bv, bh = model.step_biases(random_rolls(3, 4))
    np.testing.assert_allclose(bv[:, 0], np.broadcast_to(model.bv.numpy(), (3, V)))
    np.testing.assert_allclose(bh[:, 0], np.broadcast_to(model.bh.numpy(), (3, H)))


def test_recurrence_matches_step_by_step_loop():
    model = tiny_model()
    v = random_rolls(2, 6)
    u = model.initial_state(2)
    expected = []
    for t in range(6):
        expected.append(u.numpy())
        u = model.rnn_step(u, v[:, t])
    np.testing.assert_allclose(model.previous_states(v).numpy(), np.stack(expected, 1), atol=1e-6)
    np.testing.assert_allclose(model.final_state(v).numpy(), u.numpy(), atol=1e-6)


def test_every_parameter_receives_a_gradient():
    model = tiny_model()
    v = random_rolls(3, 8)
    mask = np.ones((3, 8), np.float32)
    with tf.GradientTape() as tape:
        cost = model.cost(v, mask, k=2, rng=tf.random.Generator.from_seed(1))
    gradients = tape.gradient(cost, model.trainable_variables)
    names = [var.name for var in model.trainable_variables]
    assert sorted(n.split(":")[0] for n in names) == sorted(["W", "bv", "bh", "Wuv", "Wuh", "Wvu", "Wuu", "bu"])
    for name, gradient in zip(names, gradients):
        assert gradient is not None, name
        assert np.abs(gradient.numpy()).max() > 0, name


def test_padding_does_not_change_the_cost():
    model = tiny_model()
    v = random_rolls(2, 10)
    mask = np.ones((2, 10), np.float32)
    mask[1, 6:] = 0
    junk = v.copy()
    junk[1, 6:] = 1.0 - junk[1, 6:]  # only padded frames differ
    clean = model.cost(v, mask, 3, tf.random.Generator.from_seed(4))
    dirty = model.cost(junk, mask, 3, tf.random.Generator.from_seed(4))
    assert clean.numpy() == pytest.approx(dirty.numpy(), rel=1e-6)


def test_same_seed_same_sample_and_shapes():
    model = tiny_model()
    settings = GenerateConfig(num_samples=3, num_steps=7, gibbs_steps=4)
    first = generate(model, settings, tf.random.Generator.from_seed(11))
    again = generate(model, settings, tf.random.Generator.from_seed(11))
    other = generate(model, settings, tf.random.Generator.from_seed(12))
    assert first.shape == (3, 7, V) and first.dtype == np.float32
    assert set(np.unique(first)) <= {0.0, 1.0}
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_primer_is_kept_and_conditions_the_continuation():
    model = tiny_model()
    primer = random_rolls(1, 5)[0]
    settings = GenerateConfig(num_samples=2, num_steps=4, gibbs_steps=3)
    drawn = generate(model, settings, tf.random.Generator.from_seed(2), primer=primer)
    assert drawn.shape == (2, 9, V)
    np.testing.assert_array_equal(drawn[:, :5], np.stack([primer, primer]))
    plain = generate(model, settings, tf.random.Generator.from_seed(2))
    assert not np.array_equal(drawn[:, 5:], plain)


def test_unknown_negative_start_is_refused():
    with pytest.raises(ValueError, match="negative_start"):
        tiny_model().cost(random_rolls(1, 3), np.ones((1, 3), np.float32), 1,
                          tf.random.Generator.from_seed(0), negative_start="zero")


# 9 steps: one compiled block; 140: three, the last one part padding.
@pytest.mark.parametrize("T", [9, 140])
def test_compiled_recurrence_gradient_matches_tensorflows(T):
    rng = np.random.default_rng(3)
    drive, u0 = (tf.constant(rng.normal(0, 1, s).astype(np.float32)) for s in ((T, 2, R), (2, R)))
    Wuu = tf.constant(rng.normal(0, 0.5, (R, R)).astype(np.float32))
    weights = tf.constant(rng.normal(0, 1, (T, 2, R)).astype(np.float32))

    def loss(states_fn):
        with tf.GradientTape() as tape:
            tape.watch([drive, Wuu, u0])
            value = tf.reduce_sum(weights * states_fn(drive, Wuu, u0))
        return [value] + tape.gradient(value, [drive, Wuu, u0])

    plain = loss(lambda d, w, u: tf.scan(lambda prev, x: tf.tanh(x + tf.matmul(prev, w)), d, initializer=u))
    for got, expected in zip(loss(recurrence.states), plain):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-4, atol=1e-6)


def test_same_seed_same_cost_and_gradients():
    model = tiny_model()
    v = random_rolls(3, 11)
    mask = np.ones((3, 11), np.float32)
    mask[2, 7:] = 0

    def run(seed):
        with tf.GradientTape() as tape:
            cost = model.cost(v, mask, 3, tf.random.Generator.from_seed(seed), negative_start="zeros")
        return [cost.numpy()] + [g.numpy() for g in tape.gradient(cost, model.trainable_variables)]

    first, again, other = run(6), run(6), run(7)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert first[0] != other[0]


def test_predict_draws_only_the_real_frames():
    model = tiny_model()
    v = random_rolls(3, 6)
    mask = np.ones((3, 6), np.float32)
    mask[1, 2:] = 0
    drawn = model.predict(v, 4, tf.random.Generator.from_seed(2), mask).numpy()
    assert drawn.shape == v.shape and set(np.unique(drawn)) <= {0.0, 1.0}
    assert not drawn[1, 2:].any() and drawn[1, :2].any() and drawn[[0, 2]].any()


def test_mixed_negative_start_is_half_data_half_zeros():
    model = tiny_model()
    # Strong weights: one Gibbs step remembers where it started.
    model.W.assign(tf.random.stateless_normal(model.W.shape, [1, 2], stddev=3.0))
    v = random_rolls(4, 12)
    mask = np.ones((4, 12), np.float32)
    SEEDS = 128

    def costs(start):
        return np.array([float(model.cost(v, mask, 1, philox.new_seed(tf.random.Generator.from_seed(s)),
                                          negative_start=start)) for s in range(SEEDS)])

    data, zeros, mixed = costs("data"), costs("zeros"), costs("mixed")
    assert abs(data.mean() - zeros.mean()) > 5 * (data.std() + zeros.std()) / np.sqrt(SEEDS)
    # Each chain starts at its frame or at zeros, one or the other at random: on average the
    # cost is halfway between the two.
    se = np.sqrt((mixed.var() + (data.var() + zeros.var()) / 4) / SEEDS)
    assert abs(mixed.mean() - (data.mean() + zeros.mean()) / 2) < 4 * se
    again = model.cost(v, mask, 1, philox.new_seed(tf.random.Generator.from_seed(0)), negative_start="mixed")
    assert float(again) == mixed[0]
