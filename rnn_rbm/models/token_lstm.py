"""Stacked LSTMs over tokens: the three popular LSTM recipes (music/tokens.py has their
representations), each a model of the registry with its own defaults (config.FAMILIES).

A token is one word from each field of its representation, given to the model as ids:
the "frame" of these models is float32 (batch, T, F), column f the id in field f. The
model reads a token as the sum of one embedding row per field, runs L LSTM layers of R
cells, an optional ReLU layer, and a softmax per field; the fields of one token are
independent given the past:

    x(t) = sum_f E[offset_f + id_f(t)]                     (E: (sum of field sizes, R))
    h_1(t) = LSTM_1(x(t)),  h_l(t) = LSTM_l(h_{l-1}(t))    (ops/lstm_cell.py)
    p(id_f(t+1) = k | past) = softmax_k(logits_f(h_L(t))),  logits = bo + relu(h_L Wd + bd) Wo

Dropout (training only) between the layers and before each dense layer, as in the recipes.
The state is [h_1, c_1, ..., h_L, c_L], float32 (batch, 2LR); the context of a step, h_L.
"""

from __future__ import annotations

import tensorflow as tf

from rnn_rbm.config import RunConfig, TrainConfig
from rnn_rbm.models.base import (FrameModel, chain_rows, contexts_before, flatten_steps, mean_nll,
                                  pad_for_recurrence)
from rnn_rbm.ops import bernoulli, categorical, lstm_cell


class TokenLstm(FrameModel):
    """A stacked LSTM with a softmax over the words of each field."""

    EXACT = True
    PRETRAINS = False
    TOKENS = True

    def __init__(self, sizes: list[int], units: int, layers: int, dense_units: int, dropout: float,
                 init_std: float, rng: tf.random.Generator):
        super().__init__(name=self.FAMILY)
        if not sizes or min(sizes) < 1:
            raise ValueError(f"every field needs at least one word, not sizes {sizes}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), not {dropout}")
        self.sizes = list(sizes)
        self.dropout = dropout
        self.layers = layers
        self._offsets = tf.constant([sum(sizes[:f]) for f in range(len(sizes))], tf.int32)

        def weight(shape: tuple[int, int], name: str) -> tf.Variable:
            return tf.Variable(rng.normal(shape, stddev=init_std), name=name)

        self.E = weight((sum(sizes), units), "E")
        self.Wx = [weight((units, 4 * units), f"Wx{l}") for l in range(layers)]
        self.Wh = [weight((units, 4 * units), f"Wh{l}") for l in range(layers)]
        self.b = [tf.Variable(lstm_cell.initial_bias(units), name=f"b{l}") for l in range(layers)]
        top = dense_units or units
        self.Wd = weight((units, dense_units), "Wd") if dense_units else None
        self.bd = tf.Variable(tf.zeros([dense_units]), name="bd") if dense_units else None
        self.Wo = weight((top, sum(sizes)), "Wo")
        self.bo = tf.Variable(tf.zeros([sum(sizes)]), name="bo")

    @classmethod
    def from_config(cls, config: RunConfig, rng: tf.random.Generator) -> TokenLstm:
        sizes = [len(words) for words in config.tokens.vocabulary]
        if not sizes:
            raise ValueError("a token model needs its vocabulary (config.tokens.vocabulary)")
        m = config.model
        return cls(sizes, m.n_recurrent, m.layers, m.dense_units, m.dropout, m.init_std, rng)

    @property
    def n_visible(self) -> int:
        """The fields of a token (one id each)."""
        return len(self.sizes)

    @property
    def units(self) -> int:
        return int(self.E.shape[1])

    @property
    def visible_bias(self) -> tf.Variable:
        return self.bo

    def initial_state(self, batch: int | tf.Tensor) -> tf.Tensor:
        """Returns: every layer's [h(0), c(0)] = 0, float32 (batch, 2LR)."""
        return tf.zeros([batch, 2 * self.layers * self.units])

    def _embed(self, ids: tf.Tensor) -> tf.Tensor:
        """Returns: the input of ids (..., F) (ids as float), float32 (..., R)."""
        rows = tf.cast(ids, tf.int32) + self._offsets
        return tf.reduce_sum(tf.gather(self.E, rows), axis=-2)

    def rnn_step(self, state: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
        states = tf.split(state, self.layers, axis=-1)
        x, new = self._embed(v), []
        for layer in range(self.layers):
            new.append(lstm_cell.step(states[layer], x, self.Wx[layer], self.Wh[layer], self.b[layer]))
            x = new[-1][..., : self.units]
        return tf.concat(new, axis=-1)

    def context(self, state: tf.Tensor) -> tf.Tensor:
        return state[..., (2 * self.layers - 2) * self.units:(2 * self.layers - 1) * self.units]

    def _states(self, v: tf.Tensor, state0: tf.Tensor, keep: list[tf.Tensor] | None = None) -> tf.Tensor:
        """Runs the layers one after the other over the whole of v (batch, T, F): each layer's
        input products for every step at once (lstm_cell.run). keep: dropout multipliers of
        the inputs of layers 2..L, each time-major (T, batch, R), or None.

        Returns: the state after each token, time-major (T, batch, 2LR).
        """
        x = tf.transpose(self._embed(v), [1, 0, 2])
        starts = tf.split(state0, self.layers, axis=-1)
        states = []
        for layer in range(self.layers):
            if layer and keep is not None:
                x = x * keep[layer - 1]
            states.append(lstm_cell.run(x, starts[layer], self.Wx[layer], self.Wh[layer], self.b[layer]))
            x = states[-1][..., : self.units]
        return tf.concat(states, axis=-1)

    def contexts(self, v: tf.Tensor) -> tf.Tensor:
        return contexts_before(self.context(self._states(v, self.initial_state(tf.shape(v)[0]))))

    def final_state(self, v: tf.Tensor, state0: tf.Tensor | None = None) -> tf.Tensor:
        state0 = self.initial_state(tf.shape(v)[0]) if state0 is None else state0
        return self._states(v, state0)[-1]

    def _logits(self, context: tf.Tensor, keep_dense: tf.Tensor | None = None) -> list[tf.Tensor]:
        """Returns: each field's logits (N, size_f) from contexts (N, R)."""
        h = context
        if self.Wd is not None:
            h = tf.nn.relu(tf.matmul(h, self.Wd) + self.bd)
            if keep_dense is not None:
                h = h * keep_dense
        return tf.split(self.bo + tf.matmul(h, self.Wo), self.sizes, axis=-1)

    def frame_log_prob(self, v: tf.Tensor, context: tf.Tensor, keep_dense: tf.Tensor | None = None) -> tf.Tensor:
        ids = tf.cast(v, tf.int32)
        return tf.add_n([categorical.log_prob(ids[:, f], logits)
                         for f, logits in enumerate(self._logits(context, keep_dense))])

    def loss(self, v: tf.Tensor, mask: tf.Tensor, train: TrainConfig, seed: tf.Tensor,
             row_offset: int | tf.Tensor = 0) -> tf.Tensor:
        """The negative log-likelihood per real token, with dropout (training only) on the
        inputs of layers 2..L, on h_L and on the ReLU layer's output. The units of h_L and of
        the ReLU layer are dropped like CD's chains draw (rows of `seed` from row_offset): a
        batch split between devices drops what it would drop whole; those between the layers
        are drawn for every padded step, so a split batch drops other ones there."""
        if not self.dropout:
            return super().loss(v, mask, train, seed, row_offset)
        past, _ = pad_for_recurrence(self.training_past(v, mask, train, seed), mask)
        v, mask = pad_for_recurrence(v, mask)
        shape = tf.shape(v)
        steps = shape[0] * shape[1]
        # Multipliers for every step of every piece (rows as flatten_steps orders them), turned
        # time-major so that the scan reads its step's.
        keep = [tf.transpose(tf.reshape(bernoulli.keep_mask(steps, self.units, self.dropout, seed, 2 + l, row_offset),
                                        [shape[0], shape[1], -1]), [1, 0, 2])
                for l in range(self.layers - 1)]
        states = self._states(past, self.initial_state(shape[0]), keep)
        rows = tf.where(tf.reshape(chain_rows(mask), [-1]))[:, 0]
        count = tf.shape(rows)[0]
        contexts = tf.gather(flatten_steps(contexts_before(self.context(states))), rows)
        contexts = contexts * bernoulli.keep_mask(count, self.units, self.dropout, seed, 0, row_offset)
        keep_dense = (bernoulli.keep_mask(count, int(self.Wd.shape[1]), self.dropout, seed, 1, row_offset)
                      if self.Wd is not None else None)
        log_p = self.frame_log_prob(tf.gather(flatten_steps(v), rows), contexts, keep_dense)
        return mean_nll(log_p, tf.gather(tf.reshape(mask, [-1]), rows))

    def draw(self, context: tf.Tensor, gibbs_steps: int, seed: tf.Tensor, temperature: float = 1.0,
             held_mask: tf.Tensor | None = None, held_values: tf.Tensor | None = None) -> tf.Tensor:
        """Each field's word drawn from its softmax at `temperature`, among the `top_k`
        likeliest when set; gibbs_steps: unused. A held field (held_mask (N or 1, F) 1) takes
        its id from held_values: the fields are independent given the past, so the others
        are then drawn exactly given it.

        Returns: the ids as float32 (N, F).
        """
        ids = tf.stack([tf.cast(categorical.draw(logits, seed, f, temperature, self.top_k), tf.float32)
                        for f, logits in enumerate(self._logits(context))], axis=1)
        return bernoulli.hold(ids, held_mask, held_values)


class NoteLstm(TokenLstm):
    """Notes and chords as words (music/tokens.NoteWords)."""

    FAMILY = "note_lstm"


class MelodyLstm(TokenLstm):
    """One voice, a token per frame (music/tokens.Melody)."""

    FAMILY = "melody_lstm"


class EventLstm(TokenLstm):
    """MIDI events as words (music/tokens.MidiEvents, miditok's MIDILike)."""

    FAMILY = "event_lstm"
