import numpy as np
import tensorflow as tf

from rnn_rbm.config import PretrainConfig
from rnn_rbm.engine.pretrainer import pretrain, set_visible_bias_from_data
from rnn_rbm.models.rnn_rbm import RnnRbm


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
