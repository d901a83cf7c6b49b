"""An LSTM whose output layer gives every pitch of the next frame an independent Bernoulli:
the "RNN" row of Table 1 of Boulanger-Lewandowski et al. (ICML 2012), with the LSTM cell
(Hochreiter & Schmidhuber 1997, with a forget gate) of the later benchmark papers.

    gates(t) = v(t) Wx + h(t-1) Wh + b          (4 blocks of R: input, forget, cell, output)
    c(t) = f * c(t-1) + i * tanh(g),  h(t) = o * tanh(c(t))
    p(v_i(t) = 1 | v(<t)) = sigmoid(bo + h(t-1) Wo)_i

Glossary (V visible = pitches, R LSTM units): Wx (V, 4R), Wh (R, 4R), b (4R,) with the
forget block started at 1, Wo (R, V), bo (V,). The state is [h, c], float32 (batch, 2R); the
context of a step is h(t-1). The cell: ops/lstm_cell.py.
"""

from __future__ import annotations

import tensorflow as tf

from rnn_rbm.config import RunConfig, TrainConfig
from rnn_rbm.models.base import (FrameModel, ScoreSettings, chain_rows, contexts_before, flatten_steps, mean_nll,
                                  pad_for_recurrence)
from rnn_rbm.ops import bernoulli, lstm_cell


class Lstm(FrameModel):
    """An LSTM with independent Bernoulli outputs."""

    FAMILY = "lstm"
    DESCRIPTION = "an LSTM with independent Bernoulli outputs"

    def __init__(self, n_visible: int, n_recurrent: int, init_std: float, rng: tf.random.Generator,
                 dropout: float = 0.0):
        super().__init__(name="lstm")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), not {dropout}")
        self.dropout = dropout
        units = n_recurrent

        def weight(shape: tuple[int, int], name: str) -> tf.Variable:
            return tf.Variable(rng.normal(shape, stddev=init_std), name=name)

        self.Wx = weight((n_visible, 4 * units), "Wx")
        self.Wh = weight((units, 4 * units), "Wh")
        self.b = tf.Variable(lstm_cell.initial_bias(units), name="b")
        self.Wo = weight((units, n_visible), "Wo")
        self.bo = tf.Variable(tf.zeros([n_visible]), name="bo")

    @classmethod
    def from_config(cls, config: RunConfig, rng: tf.random.Generator) -> Lstm:
        return cls(config.data.num_pitches, config.model.n_recurrent, config.model.init_std, rng,
                   config.model.dropout)

    @property
    def n_visible(self) -> int:
        return int(self.bo.shape[0])

    @property
    def visible_bias(self) -> tf.Variable:
        # With h(0) = 0, the first frame's logits are bo alone.
        return self.bo

    @property
    def units(self) -> int:
        return int(self.Wh.shape[0])

    def initial_state(self, batch: int | tf.Tensor) -> tf.Tensor:
        """Returns: [h(0), c(0)] = 0, float32 (batch, 2R)."""
        return tf.zeros([batch, 2 * self.units])

    def rnn_step(self, state: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
        return lstm_cell.step(state, v, self.Wx, self.Wh, self.b)

    def context(self, state: tf.Tensor) -> tf.Tensor:
        return state[..., : self.units]

    def contexts(self, v: tf.Tensor) -> tf.Tensor:
        return contexts_before(self.context(self._states(v, self.initial_state(tf.shape(v)[0]))))

    def final_state(self, v: tf.Tensor, state0: tf.Tensor | None = None) -> tf.Tensor:
        state0 = self.initial_state(tf.shape(v)[0]) if state0 is None else state0
        return self._states(v, state0)[-1]

    def _states(self, v: tf.Tensor, state0: tf.Tensor) -> tf.Tensor:
        """Returns: the state after each frame of v (batch, T, V), time-major (T, batch, 2R)."""
        return lstm_cell.run(tf.transpose(v, [1, 0, 2]), state0, self.Wx, self.Wh, self.b)

    def _logits(self, context: tf.Tensor) -> tf.Tensor:
        return self.bo + tf.matmul(context, self.Wo)

    def loss(self, v: tf.Tensor, mask: tf.Tensor, train: TrainConfig, seed: tf.Tensor,
             row_offset: int | tf.Tensor = 0) -> tf.Tensor:
        """The negative log-likelihood per real frame, with `dropout` of the input frames' units
        and of the outputs h(t-1) on their way to the output layer dropped (Zaremba et al. 2014:
        not the recurrent connections). The dropped units are drawn like CD's chains (rows of
        `seed` from row_offset, models/base.chain_rows): a batch split between devices drops
        what it would drop whole."""
        if not self.dropout:
            return super().loss(v, mask, train, seed, row_offset)
        past, _ = pad_for_recurrence(self.training_past(v, mask, train, seed), mask)
        v, mask = pad_for_recurrence(v, mask)
        rows = tf.where(tf.reshape(chain_rows(mask), [-1]))[:, 0]
        frames = tf.gather(flatten_steps(v), rows)
        dropped = self._dropped(tf.gather(flatten_steps(past), rows), seed, 1, row_offset)
        v_dropped = tf.reshape(tf.scatter_nd(rows[:, tf.newaxis], dropped, tf.shape(flatten_steps(v), rows.dtype)),
                               tf.shape(v))
        h = self._dropped(tf.gather(flatten_steps(self.contexts(v_dropped)), rows), seed, 0, row_offset)
        weights = tf.gather(tf.reshape(mask, [-1]), rows)
        return mean_nll(bernoulli.log_prob(frames, self._logits(h)), weights)

    def _dropped(self, x: tf.Tensor, seed: tf.Tensor, stream: int, row_offset: int | tf.Tensor) -> tf.Tensor:
        """Returns: x (N, D) with each unit kept with probability 1 - dropout and scaled by its inverse."""
        return x * bernoulli.keep_mask(tf.shape(x)[0], x.shape[-1], self.dropout, seed, stream, row_offset)

    def frame_log_prob(self, v: tf.Tensor, context: tf.Tensor) -> tf.Tensor:
        return bernoulli.log_prob(v, self._logits(context))

    def given_log_prob(self, v: tf.Tensor, context: tf.Tensor, given: tf.Tensor,
                       settings: ScoreSettings, rng: tf.random.Generator) -> tuple[tf.Tensor, tf.Tensor]:
        """Exact: the pitches are independent given the context, so the given ones drop out."""
        return bernoulli.log_prob(v, self._logits(context), 1.0 - given), tf.zeros(tf.shape(v)[:1])

    def draw(self, context: tf.Tensor, gibbs_steps: int, seed: tf.Tensor, temperature: float = 1.0,
             held_mask: tf.Tensor | None = None, held_values: tf.Tensor | None = None) -> tf.Tensor:
        """Every pitch drawn at once, independently; gibbs_steps: unused."""
        return bernoulli.draw(self._logits(context), seed, 0, temperature, held_mask, held_values)
