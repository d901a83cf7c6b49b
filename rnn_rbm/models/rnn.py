"""The "RNN" row of Table 1 of Boulanger-Lewandowski, Bengio & Vincent (ICML 2012): the
RNN-RBM's own recurrence with independent Bernoulli outputs, trained by its exact likelihood.

    u(t) = tanh(bu + v(t) Wvu + u(t-1) Wuu),    u(0) = 0
    p(v_i(t) = 1 | v(<t)) = sigmoid(bv + u(t-1) Wuv)_i

The recurrence and the logits are models/base.py's TanhRnn (glossary there): the very RNN
that the RNN-RBM and the RNN-NADE read the music with, and that pretrain.rnn_epochs trains
alone before them. A frame is drawn all pitches at once.
"""

from __future__ import annotations

import tensorflow as tf

from rnn_rbm.config import RunConfig
from rnn_rbm.models.base import ScoreSettings, TanhRnn
from rnn_rbm.ops import bernoulli


class Rnn(TanhRnn):
    """The paper's tanh RNN with independent Bernoulli outputs."""

    FAMILY = "rnn"
    DESCRIPTION = "the paper's RNN: the RNN-RBM's tanh recurrence with independent Bernoulli outputs"

    def __init__(self, n_visible: int, n_recurrent: int, init_std: float, rng: tf.random.Generator):
        super().__init__(name="rnn")
        self.bv = tf.Variable(tf.zeros([n_visible]), name="bv")
        self.Wuv = self._weight((n_recurrent, n_visible), "Wuv", init_std, rng)
        self.Wvu = self._weight((n_visible, n_recurrent), "Wvu", init_std, rng)
        self.Wuu = self._weight((n_recurrent, n_recurrent), "Wuu", init_std, rng)
        self.bu = tf.Variable(tf.zeros([n_recurrent]), name="bu")

    @classmethod
    def from_config(cls, config: RunConfig, rng: tf.random.Generator) -> Rnn:
        return cls(config.data.num_pitches, config.model.n_recurrent, config.model.init_std, rng)

    def frame_log_prob(self, v: tf.Tensor, context: tf.Tensor) -> tf.Tensor:
        return bernoulli.log_prob(v, self.visible_logits(context))

    def given_log_prob(self, v: tf.Tensor, context: tf.Tensor, given: tf.Tensor,
                       settings: ScoreSettings, rng: tf.random.Generator) -> tuple[tf.Tensor, tf.Tensor]:
        """Exact: the pitches are independent given the context, so the given ones drop out."""
        return bernoulli.log_prob(v, self.visible_logits(context), 1.0 - given), tf.zeros(tf.shape(v)[:1])

    def draw(self, context: tf.Tensor, gibbs_steps: int, seed: tf.Tensor, temperature: float = 1.0,
             held_mask: tf.Tensor | None = None, held_values: tf.Tensor | None = None) -> tf.Tensor:
        """Every pitch drawn at once, independently; gibbs_steps: unused."""
        return bernoulli.draw(self.visible_logits(context), seed, 0, temperature, held_mask, held_values)
