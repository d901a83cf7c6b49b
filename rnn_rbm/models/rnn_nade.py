"""The RNN-NADE (Boulanger-Lewandowski, Bengio & Vincent, ICML 2012, section 4): the RNN
of the RNN-RBM sets, at every step, the biases of a NADE over the frame (nade.py) instead
of an RBM's. Its log-probability is exact, and a frame is drawn one pitch after another.

The NADE's order is from the highest pitch down: a melody held in the top voice (and the
silence above it, guide.melody_clamp) then comes first, and every pitch below is drawn
given it, so harmonising a tune is exact conditioning, not just holding notes.

Glossary: models/base.py's RecurrentBiases (W, bv, bh, Wuv, Wuh, Wvu, Wuu, bu), and
    V  (V, H)  the NADE's hidden layer of pitch i -> its conditional, one row per pitch
Rows of W, V and columns of bv are by pitch, lowest first, as everywhere; the NADE reads
them reversed (`_top_down`).
"""

from __future__ import annotations

import tensorflow as tf

from rnn_rbm.config import PretrainConfig, RunConfig
from rnn_rbm.models.base import RecurrentBiases, ScoreSettings
from rnn_rbm.ops import bernoulli, nade


class RnnNade(RecurrentBiases):
    """A NADE over each frame whose biases the RNN sets."""

    FAMILY = "rnn_nade"
    DESCRIPTION = "the RNN-NADE, a NADE over each frame, exact likelihood"

    def __init__(self, n_visible: int, n_hidden: int, n_recurrent: int, init_std: float,
                 rng: tf.random.Generator):
        super().__init__(n_visible, n_hidden, n_recurrent, init_std, rng, name="rnn_nade")
        self.V = self._weight((n_visible, n_hidden), "V", init_std, rng)

    @classmethod
    def from_config(cls, config: RunConfig, rng: tf.random.Generator) -> RnnNade:
        return cls(config.data.num_pitches, config.model.n_hidden, config.model.n_recurrent,
                   config.model.init_std, rng)

    @classmethod
    def pretraining(cls, pretrain: PretrainConfig) -> str:
        return "exact likelihood"

    def pretrain_variables(self) -> list[tf.Variable]:
        return [self.W, self.V, self.bv, self.bh]

    def pretrain_cost(self, frames: tf.Tensor, k: int, rng: tf.random.Generator) -> tf.Tensor:
        """The NADE alone (the first frame's), exact negative log-likelihood of frames (N, V).

        Returns: float32 scalar, nats per frame.
        """
        return -tf.reduce_mean(self._log_prob(frames, self.bv, self.bh))

    def frame_log_prob(self, v: tf.Tensor, context: tf.Tensor) -> tf.Tensor:
        return self._log_prob(v, *self.step_biases_from(context))

    def _log_prob(self, v: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor) -> tf.Tensor:
        return nade.log_prob(_top_down(v), _top_down_rows(self.W), _top_down_rows(self.V), _top_down(bv), bh)

    def given_log_prob(self, v: tf.Tensor, context: tf.Tensor, given: tf.Tensor,
                       settings: ScoreSettings, rng: tf.random.Generator) -> tuple[tf.Tensor, tf.Tensor]:
        """Exact where the given units come first in the NADE's order (from the highest pitch
        down, as a soprano and the pitches above it do): the sum of the other units' own
        conditionals. Raises InvalidArgumentError for a given set that is not such a prefix."""
        given_down = _top_down(given)
        tf.debugging.assert_equal(tf.reduce_all(given_down[:, 1:] <= given_down[:, :-1]), True,
                                  message="the given units must be the highest pitches of the frame")
        bv_t, bh_t = self.step_biases_from(context)
        logits = nade.conditional_logits(_top_down(v), _top_down_rows(self.W), _top_down_rows(self.V),
                                         _top_down(bv_t), bh_t)
        return bernoulli.log_prob(_top_down(v), logits, 1.0 - given_down), tf.zeros(tf.shape(v)[:1])

    def draw(self, context: tf.Tensor, gibbs_steps: int, seed: tf.Tensor, temperature: float = 1.0,
             held_mask: tf.Tensor | None = None, held_values: tf.Tensor | None = None) -> tf.Tensor:
        """Draws pitch after pitch from the highest (nade.sample); held pitches take their
        values in their turn, and the pitches below are drawn given them. gibbs_steps: unused
        (the draw is exact)."""
        bv_t, bh_t = self.step_biases_from(context)
        held = [None if x is None else _top_down(x) for x in (held_mask, held_values)]
        drawn = nade.sample(_top_down_rows(self.W), _top_down_rows(self.V), _top_down(bv_t), bh_t, seed,
                            temperature, *held)
        return _top_down(drawn)


def _top_down(by_pitch: tf.Tensor) -> tf.Tensor:
    """Returns: frames or visible biases (..., V) with the highest pitch first; its own inverse."""
    return tf.reverse(by_pitch, [-1])


def _top_down_rows(weights: tf.Tensor) -> tf.Tensor:
    """Returns: W or V (V, H) with the highest pitch's row first."""
    return tf.reverse(weights, [0])
