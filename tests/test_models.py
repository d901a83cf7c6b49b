"""The contract every registered model keeps, run over the registry, and each model's own
exact checks (the NADE and the LSTM against brute-force enumeration and numpy)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from rnn_rbm.config import FAMILIES, family_config, replace_section
from rnn_rbm.engine import checkpoint
from rnn_rbm.models import base, registry
from rnn_rbm.models.base import ExactScorer
from rnn_rbm.models.token_lstm import TokenLstm
from rnn_rbm.ops import nade, philox

V, H, R = 5, 4, 3
# The models of music; the acoustic model of transcription (notes given audio, no past, no
# pieces) keeps its own contract in tests/test_transcribe.py.
MUSIC_FAMILIES = sorted(name for name in registry.MODELS if registry.MODELS[name].GENERATES)
EXACT_FAMILIES = [name for name in MUSIC_FAMILIES if registry.MODELS[name].EXACT]


def tiny_config(family: str):
    config = replace_section(family_config(family), "data", num_pitches=V)
    if issubclass(registry.MODELS[family], TokenLstm):
        # V fields of two words each: every 0/1 roll is a sequence of tokens, and the contract's
        # checks by enumeration of all 0/1 frames cover every token.
        config = replace_section(config, "tokens", vocabulary=[["no", "yes"]] * V)
        config = replace_section(config, "model", layers=2, dense_units=3, dropout=0.2)
    return replace_section(config, "model", n_hidden=H, n_recurrent=R, init_std=0.5)


def tiny(family: str, seed: int = 0):
    return registry.build(tiny_config(family), tf.random.Generator.from_seed(seed))


def random_rolls(batch: int, steps: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((batch, steps, V)) < 0.4).astype(np.float32)


ALL_FRAMES = np.array(list(itertools.product([0.0, 1.0], repeat=V)), np.float32)  # (2^V, V)


def test_the_registry_and_the_flags_name_the_same_models():
    assert set(registry.MODELS) == set(FAMILIES)
    assert registry.model_class("rnn_rbm").FAMILY == "rnn_rbm"


@pytest.mark.parametrize("family", MUSIC_FAMILIES)
def test_loss_is_finite_and_reaches_every_variable(family):
    model = tiny(family)
    v = tf.constant(random_rolls(2, 9))
    mask = tf.constant(np.array([[1.0] * 9, [1.0] * 5 + [0.0] * 4], np.float32))
    with tf.GradientTape() as tape:
        loss = model.loss(v, mask, tiny_config(family).train, philox.new_seed(tf.random.Generator.from_seed(1)))
    assert np.isfinite(float(loss))
    gradients = tape.gradient(loss, model.trainable_variables)
    for variable, gradient in zip(model.trainable_variables, gradients):
        assert gradient is not None and float(tf.norm(gradient)) > 0, variable.name


@pytest.mark.parametrize("family", MUSIC_FAMILIES)
def test_context_of_step_t_sees_only_frames_before_t(family):
    model = tiny(family)
    v = random_rolls(2, 8)
    contexts = model.contexts(tf.constant(v)).numpy()
    t = 4
    changed = v.copy()
    changed[:, t] = 1.0 - changed[:, t]
    contexts2 = model.contexts(tf.constant(changed)).numpy()
    np.testing.assert_array_equal(contexts2[:, : t + 1], contexts[:, : t + 1])
    assert not np.allclose(contexts2[:, t + 1], contexts[:, t + 1])


@pytest.mark.parametrize("family", MUSIC_FAMILIES)
def test_generation_state_follows_the_teacher_forced_contexts(family):
    # The recurrence is written once: stepping it frame by frame gives the contexts of training.
    model = tiny(family)
    v = tf.constant(random_rolls(2, 6))
    state = model.initial_state(2)
    stepped = []
    for t in range(6):
        stepped.append(model.context(state))
        state = model.rnn_step(state, v[:, t])
    np.testing.assert_allclose(np.stack(stepped, axis=1), model.contexts(v).numpy(), atol=1e-5)
    np.testing.assert_allclose(state.numpy(), model.final_state(v).numpy(), atol=1e-5)


@pytest.mark.parametrize("family", EXACT_FAMILIES)
def test_log_prob_sums_to_one_over_every_frame(family):
    model = tiny(family)
    context = model.contexts(tf.constant(random_rolls(1, 3)))[0]  # three different contexts
    for c in context:
        log_p = model.frame_log_prob(ALL_FRAMES, tf.repeat(c[tf.newaxis], len(ALL_FRAMES), axis=0))
        assert float(tf.reduce_sum(tf.exp(log_p))) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("family", EXACT_FAMILIES)
def test_draws_follow_the_log_prob(family):
    model = tiny(family)
    context = model.contexts(tf.constant(random_rolls(1, 3)))[0, 2:3]
    draws = 20000
    drawn = model.draw(tf.repeat(context, draws, axis=0), 1, philox.new_seed(tf.random.Generator.from_seed(5)))
    codes = (drawn.numpy() @ (2 ** np.arange(V)[::-1])).astype(int)
    seen = np.bincount(codes, minlength=2**V) / draws
    expected = np.exp(model.frame_log_prob(ALL_FRAMES, tf.repeat(context, len(ALL_FRAMES), axis=0)).numpy())
    # Within 4.5 binomial standard errors for every one of the 32 frames.
    np.testing.assert_array_less(np.abs(seen - expected), 4.5 * np.sqrt(expected * (1 - expected) / draws) + 1e-3)


@pytest.mark.parametrize("family", MUSIC_FAMILIES)
def test_a_sample_keeps_its_held_units_and_the_same_seed_repeats_it(family):
    model = tiny(family)
    steps = 7
    mask = np.zeros((1, steps, V), np.float32)
    mask[:, :, [1, 3]] = 1.0
    values = np.zeros((1, steps, V), np.float32)
    values[:, ::2, 1] = 1.0

    def draw(seed: int) -> np.ndarray:
        return model.sample(model.initial_state(3), tf.constant(steps), 5, tf.random.Generator.from_seed(seed),
                            clamp_mask=tf.constant(mask), clamp_values=tf.constant(values)).numpy()

    first = draw(0)
    assert first.shape == (3, steps, V)
    np.testing.assert_array_equal(first[:, :, [1, 3]], np.broadcast_to(values[:, :, [1, 3]], (3, steps, 2)))
    np.testing.assert_array_equal(draw(0), first)
    assert not np.array_equal(draw(1), first)


@pytest.mark.parametrize("family", MUSIC_FAMILIES)
def test_checkpoint_round_trip_rebuilds_the_same_model(family, tmp_path):
    config = tiny_config(family)
    model = tiny(family, seed=3)
    prefix = checkpoint.save(tmp_path / "m.ckpt", config, model=model)
    held = checkpoint.load_config(prefix)
    assert held.model.family == family
    rebuilt = registry.build(held, tf.random.Generator.from_seed(99))
    checkpoint.restore(prefix, model=rebuilt)
    assert type(rebuilt) is type(model)
    for a, b in zip(model.trainable_variables, rebuilt.trainable_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

    def sample(m):
        return m.sample(m.initial_state(2), tf.constant(5), 3, tf.random.Generator.from_seed(7)).numpy()

    np.testing.assert_array_equal(sample(rebuilt), sample(model))


@pytest.mark.parametrize("family", EXACT_FAMILIES)
def test_exact_scorer_gives_the_log_prob_of_every_real_frame(family):
    model = tiny(family)
    rolls = [random_rolls(1, 6, seed=1)[0], random_rolls(1, 3, seed=2)[0]]
    scores = ExactScorer(model, draws=3, gibbs_steps=1, rng=tf.random.Generator.from_seed(0))(rolls, progress=False)
    expected = np.concatenate([model.log_prob(tf.constant(r[np.newaxis]), tf.ones([1, len(r)])).numpy()[0]
                               for r in rolls])
    np.testing.assert_allclose(scores.log_p, expected, rtol=1e-5)
    assert scores.counts.shape == (9, 3, 3)
    assert np.all(scores.variance == 0)


@pytest.mark.parametrize("family", EXACT_FAMILIES)
def test_exact_scorer_draws_the_same_whatever_the_recurrences_batches(family, monkeypatch):
    """The recurrence runs on a few padded frames at a time (memory); the draws are each frame's
    row in its batch of PIECES_PER_BATCH pieces, so the scores do not move."""
    model = tiny(family)
    rolls = [random_rolls(1, n, seed=n)[0] for n in (7, 3, 9, 5, 4)]

    def scores():
        return ExactScorer(model, draws=4, gibbs_steps=1, rng=tf.random.Generator.from_seed(3))(rolls, progress=False)

    whole = scores()
    monkeypatch.setattr(base, "FRAMES_PER_BATCH", 10)  # one or two pieces at a time
    assert len(base.piece_batches([len(r) for r in rolls], frames=base.FRAMES_PER_BATCH)) >= 3
    cut = scores()
    np.testing.assert_allclose(cut.log_p, whole.log_p, rtol=1e-6)
    np.testing.assert_array_equal(cut.counts, whole.counts)
    assert whole.counts.std() > 0  # the draws differ between frames: a change of rows would show


def test_nade_conditionals_match_a_plain_loop():
    rng = np.random.default_rng(0)
    W, Vw = rng.normal(size=(V, H)).astype(np.float32), rng.normal(size=(V, H)).astype(np.float32)
    bv, bh = rng.normal(size=(2, V)).astype(np.float32), rng.normal(size=(2, H)).astype(np.float32)
    v = random_rolls(1, 2)[0]
    got = nade.log_prob(v, W, Vw, bv, bh).numpy()

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    for n in range(2):
        total = 0.0
        for i in range(V):
            h = sigmoid(bh[n] + v[n, :i] @ W[:i])
            p = sigmoid(bv[n, i] + h @ Vw[i])
            total += np.log(p if v[n, i] else 1 - p)
        assert got[n] == pytest.approx(total, rel=1e-5)


def test_nade_in_chunks_gives_the_same_log_prob_and_gradient(monkeypatch):
    """Past CHUNK_FRAMES rows the NADE goes through in chunks: the same figures as one pass,
    shared and per-row biases alike."""
    rng = np.random.default_rng(1)
    rows = 23
    W, Vw = (tf.constant(rng.normal(size=(V, H)), tf.float32) for _ in range(2))
    v = tf.constant(rng.random((rows, V)) < 0.3, tf.float32)
    for bv, bh in ((rng.normal(size=V), rng.normal(size=H)), (rng.normal(size=(rows, V)), rng.normal(size=(rows, H)))):
        bv, bh = tf.constant(bv, tf.float32), tf.constant(bh, tf.float32)
        results = []
        for chunk in (rows, 5):  # one pass; five chunks of 5 rows, the last with 2 of padding
            monkeypatch.setattr(nade, "CHUNK_FRAMES", chunk)
            with tf.GradientTape() as tape:
                tape.watch([W, Vw, bv, bh])
                log_p = nade.log_prob(v, W, Vw, bv, bh)
                total = tf.reduce_sum(log_p * tf.range(1.0, rows + 1.0))
            results.append([log_p] + tape.gradient(total, [W, Vw, bv, bh]))
        assert results[0][0].shape == (rows,)
        for whole, chunked in zip(*results):
            np.testing.assert_allclose(chunked.numpy(), whole.numpy(), rtol=1e-4, atol=1e-4)


def test_rnn_nade_draws_from_the_top_so_the_pitches_below_a_held_one_see_it():
    model = tiny("rnn_nade")
    context = tf.zeros([4000, R])
    mask = tf.constant([[0, 0, 1, 0, 0]], tf.float32)
    seed = philox.new_seed(tf.random.Generator.from_seed(2))
    free = model.draw(context, 1, seed).numpy()
    held = model.draw(context, 1, seed, 1.0, mask, mask).numpy()
    np.testing.assert_array_equal(held[:, 3:], free[:, 3:])  # the pitches above: drawn before it, unchanged
    assert np.all(held[:, 2] == 1)
    # Below it: drawn from p(v_0, v_1 | v_2 = 1, v_3, v_4), which the held draws follow.
    rows = free[:, 3:] @ [2, 1]  # condition on each setting of the two pitches above
    for above in range(4):
        chosen = rows == above
        if chosen.sum() < 300:
            continue
        probe = np.zeros((4, V), np.float32)
        probe[:, 2] = 1
        probe[:, 3:] = [above >> 1, above & 1]
        probe[:, :2] = [[0, 0], [0, 1], [1, 0], [1, 1]]
        p = np.exp(model.frame_log_prob(probe, tf.zeros([4, R])).numpy())
        expected = p / p.sum()
        seen = np.bincount((held[chosen, :2] @ [2, 1]).astype(int), minlength=4) / chosen.sum()
        np.testing.assert_array_less(np.abs(seen - expected), 4.5 * np.sqrt(expected * (1 - expected) / chosen.sum()) + 1e-3)


def test_lstm_step_matches_numpy():
    model = tiny("lstm")
    v = random_rolls(2, 1)[:, 0]
    state = np.random.default_rng(1).normal(size=(2, 2 * R)).astype(np.float32)
    h, c = state[:, :R], state[:, R:]
    z = v @ model.Wx.numpy() + h @ model.Wh.numpy() + model.b.numpy()
    i, f, g, o = np.split(z, 4, axis=1)

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    c2 = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    expected = np.concatenate([sigmoid(o) * np.tanh(c2), c2], axis=1)
    np.testing.assert_allclose(model.rnn_step(tf.constant(state), tf.constant(v)).numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("family", MUSIC_FAMILIES)
def test_scheduled_sampling_reads_the_models_own_draws_on_a_share_of_the_real_frames(family):
    model = tiny(family)
    v = tf.constant(random_rolls(16, 64, seed=3))
    mask = np.ones((16, 64), np.float32)
    mask[1, 40:] = 0.0
    mask = tf.constant(mask)
    seed = philox.new_seed(tf.random.Generator.from_seed(5))
    teacher = replace_section(tiny_config(family), "train", scheduled_sampling=0.0).train
    assert model.training_past(v, mask, teacher, seed) is v  # share 0: teacher forcing, unchanged

    train = replace_section(tiny_config(family), "train", scheduled_sampling=0.5).train
    past = model.training_past(v, mask, train, seed).numpy()
    np.testing.assert_array_equal(past, model.training_past(v, mask, train, seed).numpy())  # same seed
    chosen = base.scheduled_choice(mask, 0.5, seed).numpy()
    assert not chosen[1, 40:].any()  # padding is never chosen
    # About half the real frames are chosen (1,000 of them: off by more than 0.08 is over 5 s.d.).
    assert abs(chosen[mask.numpy() > 0].mean() - 0.5) < 0.08
    drawn = model.predict(v, train.monitor_gibbs_steps, philox.substream(seed, base.SCHEDULED_SAMPLING_STREAMS[0]),
                          tf.constant(chosen)).numpy()
    # The chosen frames are the model's own draws given the true past, the others the true frames.
    np.testing.assert_array_equal(past, np.where(chosen[:, :, np.newaxis] > 0, drawn, v.numpy()))
    assert np.any(past != v.numpy())

    with tf.GradientTape() as tape:
        loss = model.loss(v, mask, train, seed)
    assert np.isfinite(float(loss))
    assert float(loss) != float(model.loss(v, mask, teacher, seed))  # the context changed
    gradients = tape.gradient(loss, model.trainable_variables)
    assert all(g is not None and float(tf.norm(g)) > 0 for g in gradients)
