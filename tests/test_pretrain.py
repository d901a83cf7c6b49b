import numpy as np
import tensorflow as tf

from rnn_rbm.config import DataConfig, ModelConfig, PretrainConfig, RunConfig, TrainConfig
from rnn_rbm.data.dataset import Dataset, pad_batch
from rnn_rbm.engine.pretrainer import pretrain, pretrain_recurrence, set_visible_bias_from_data
from rnn_rbm.models import registry
from rnn_rbm.models.rnn_rbm import RnnRbm
from rnn_rbm.tasks.pretrain import start_frame_model


def two_chords(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    chords = np.zeros((2, 12), np.float32)
    chords[0, [0, 4, 7]] = 1
    chords[1, [2, 5, 9]] = 1
    return chords[rng.integers(0, 2, count)]


def test_visible_bias_starts_at_the_log_odds_of_each_pitch():
    model = RnnRbm(12, 5, 3, 0.01, tf.random.Generator.from_seed(0))
    frames = two_chords(400)
    set_visible_bias_from_data(model, frames)
    p = 1 / (1 + np.exp(-model.bv.numpy()))
    # Add-one smoothing: (count + 1) / (frames + 2), so silent pitches get 1 / 402, not 0.
    np.testing.assert_allclose(p, (frames.sum(0) + 1) / (len(frames) + 2), rtol=1e-4)
    assert np.all(np.isfinite(model.bv.numpy()))


def test_pretraining_learns_the_frames():
    model = RnnRbm(12, 5, 3, 0.01, tf.random.Generator.from_seed(0))
    recurrent_before = model.Wuu.numpy().copy()
    history = pretrain(model, two_chords(400), PretrainConfig(epochs=6, cd_k=1, learning_rate=0.05, batch_size=20),
                       np.random.default_rng(0), tf.random.Generator.from_seed(1), progress=False)
    assert history[-1]["recon"] < 0.5 * history[0]["recon"]
    np.testing.assert_array_equal(model.Wuu.numpy(), recurrent_before)  # the RBM alone is trained


def alternating_pieces(count: int, length: int = 16) -> list[np.ndarray]:
    """Pieces that alternate the two chords: the next frame is the other chord, which only
    a recurrence can know."""
    first = np.zeros((2, 12), np.float32)
    first[0, [0, 4, 7]] = 1
    first[1, [2, 5, 9]] = 1
    return [first[(np.arange(length) + i) % 2] for i in range(count)]


def test_independent_log_prob_is_the_rnns_bernoulli_likelihood():
    model = RnnRbm(12, 5, 3, 0.3, tf.random.Generator.from_seed(0))
    pieces = alternating_pieces(2, 5)
    v, mask = pad_batch(pieces)
    mask[1, 3:] = 0  # a shorter second piece: its padding counts nothing
    bias = np.linspace(-1, 1, 12).astype(np.float32)
    got = model.independent_log_prob(tf.constant(v), tf.constant(mask), tf.constant(bias)).numpy()
    Wvu, Wuu, bu, Wuv = (x.numpy() for x in model.recurrence_variables())
    for b in range(2):
        u = np.zeros(3)
        for t in range(5):
            p = 1 / (1 + np.exp(-(bias + u @ Wuv)))
            expected = np.sum(np.log(np.where(v[b, t] > 0, p, 1 - p))) * mask[b, t]
            np.testing.assert_allclose(got[b, t], expected, rtol=1e-4, atol=1e-5)
            u = np.tanh(bu + v[b, t] @ Wvu + u @ Wuu)


def test_recurrence_pretraining_learns_what_follows_and_leaves_the_rbm_alone():
    model = RnnRbm(12, 5, 8, 0.01, tf.random.Generator.from_seed(0))
    rbm_before = [x.numpy().copy() for x in (model.W, model.bv, model.bh, model.Wuh)]
    pieces = alternating_pieces(8)
    history = pretrain_recurrence(model, pieces, pieces[:2], 60, TrainConfig(learning_rate=0.05, batch_size=4),
                                  np.random.default_rng(0), progress=False)
    # Frame by frame the chords are 50/50 (log 2 per pitch that differs, 6 of them): only the
    # recurrence can get below that, and the first frame's 50/50 stays.
    assert history[0]["valid_nll"] > 3.0
    assert history[-1]["valid_nll"] < 0.2 * 6 * np.log(2) + 0.1
    for before, after in zip(rbm_before, (model.W, model.bv, model.bh, model.Wuh)):
        np.testing.assert_array_equal(after.numpy(), before)


def test_the_rnn_stage_steps_at_its_own_rate_else_at_training_s():
    pieces = alternating_pieces(8)
    moved = {}
    for rnn_rate in (0.0, 0.05):
        config = RunConfig(data=DataConfig(num_pitches=12), model=ModelConfig(n_hidden=5, n_recurrent=8),
                           pretrain=PretrainConfig(epochs=1, rnn_epochs=5, rnn_learning_rate=rnn_rate),
                           train=TrainConfig(learning_rate=1e-6, batch_size=4))
        model = registry.build(config, tf.random.Generator.from_seed(0))
        before = model.Wuv.numpy().copy()
        start_frame_model(model, Dataset("alternating", pieces, pieces[:2]), config,
                          tf.random.Generator.from_seed(1), progress=False)
        moved[rnn_rate] = np.abs(model.Wuv.numpy() - before).max()
    # Adam moves each weight by about its step size per update (5 epochs x 2 batches).
    assert moved[0.0] < 1e-4 < 0.05 < moved[0.05]
