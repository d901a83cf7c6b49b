"""Stacked LSTMs over tokens: the three popular LSTM recipes (music/tokens.py has their
representations), each a model of the registry with its own defaults (config.FAMILIES).

A token is one word from each field of its representation, given to the model as ids:
the "frame" of these models is float32 (batch, T, F), column f the id in field f. The
model reads a token as the sum of one embedding row per field, runs L LSTM layers of R
cells, an optional ReLU layer, and a softmax per field; the fields of one token are
independent given the past:

    x(t) = sum_f E[offset_f + id_f(t)]                     (E: (sum of field sizes, R))
    h_1(t) = LSTM_1(x(t)),  h_l(t) = LSTM_l(h_{l-1}(t))    (ops/lstm_cell.py)
    p(id_f(t+1) = k | past, id_<f(t+1)) = softmax_k(logits_f(h_L(t)) + sum_{g<f} C_gf[id_g(t+1), k]),
    logits = bo + relu(h_L Wd + bd) Wo

A token's fields are drawn in order, each given the state and the fields before it (C_gf,
one table per pair of fields, zero at the start): drawn independently, the note words'
duration and advance did not agree (7.5 % of drawn notes were followed by a gap before the
next word, 0.5 % in Bach's; each gap a silent frame).

Dropout (training only) between the layers and before each dense layer, as in the recipes.
The state is [h_1, c_1, ..., h_L, c_L], float32 (batch, 2LR); the context of a step, h_L.

What reading tokens changes is here too, behind the interface: a run fits its vocabulary on
the training pieces and reads every split as token ids (data/tokenized.py); the likelihood is
per token, with no frame accuracy; generation reads a token primer and draws tokens until the
pieces, written back as rolls, are long enough.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_rbm.config import EvalConfig, GenerateConfig, RunConfig, TrainConfig
from rnn_rbm.data.dataset import Dataset, load_cached
from rnn_rbm.data.tokenized import fit_vocabulary, run_representation, tokenized
from rnn_rbm.errors import UserError
from rnn_rbm.models.base import (Drawing, ExactScorer, FrameModel, Scores, ScoreSettings, chain_rows,
                                 contexts_before, flatten_steps, mean_nll, pad_for_recurrence)
from rnn_rbm.music.tokens import Representation
from rnn_rbm.ops import bernoulli, categorical, lstm_cell

log = logging.getLogger(__name__)

# Generation stops a piece that has not reached its frames after this many tokens a frame.
MAX_TOKENS_PER_FRAME = 16


class TokenLstm(FrameModel):
    """A stacked LSTM with a softmax over the words of each field."""

    STEPS = "tokens"

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
        # C[f][g]: how field g's word moves field f's logits (f > g); none for one field.
        self.C = [[tf.Variable(tf.zeros([sizes[g], sizes[f]]), name=f"C{g}{f}") for g in range(f)]
                  for f in range(len(sizes))]

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
        """Returns: each field's logits (N, size_f) from contexts (N, R or more: a model may
        carry more of its state in the context than h_L, which comes first), before the
        fields of the same token move them (`_given`)."""
        h = context[..., : self.units]
        if self.Wd is not None:
            h = tf.nn.relu(tf.matmul(h, self.Wd) + self.bd)
            if keep_dense is not None:
                h = h * keep_dense
        return tf.split(self.bo + tf.matmul(h, self.Wo), self.sizes, axis=-1)

    def _given(self, logits: tf.Tensor, field: int, ids: tf.Tensor) -> tf.Tensor:
        """Returns: field `field`'s logits (N, size) moved by the words ids (N, >= field) of
        the fields before it."""
        for g, table in enumerate(self.C[field]):
            logits = logits + tf.gather(table, ids[:, g])
        return logits

    def frame_log_prob(self, v: tf.Tensor, context: tf.Tensor, keep_dense: tf.Tensor | None = None) -> tf.Tensor:
        ids = tf.cast(v, tf.int32)
        return tf.add_n([categorical.log_prob(ids[:, f], self._given(logits, f, ids))
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
        # Dropout on h_L only, not on what else a model's context carries (EventLstm's grammar).
        contexts = tf.concat([contexts[:, : self.units] * bernoulli.keep_mask(count, self.units, self.dropout, seed,
                                                                               0, row_offset),
                              contexts[:, self.units:]], axis=-1)
        keep_dense = (bernoulli.keep_mask(count, int(self.Wd.shape[1]), self.dropout, seed, 1, row_offset)
                      if self.Wd is not None else None)
        log_p = self.frame_log_prob(tf.gather(flatten_steps(v), rows), contexts, keep_dense)
        return mean_nll(log_p, tf.gather(tf.reshape(mask, [-1]), rows))

    def draw(self, context: tf.Tensor, gibbs_steps: int, seed: tf.Tensor, temperature: float = 1.0,
             held_mask: tf.Tensor | None = None, held_values: tf.Tensor | None = None) -> tf.Tensor:
        """Each field's word drawn in turn from its softmax given the fields before it, at
        `temperature`, among the `top_k` likeliest when set; gibbs_steps: unused. A held field
        (held_mask (N or 1, F) 1) takes its id from held_values, and the fields after it are
        drawn given it.

        Returns: the ids as float32 (N, F).
        """
        drawn = []
        for f, logits in enumerate(self._logits(context)):
            before = tf.cast(tf.stack(drawn, axis=1), tf.int32) if drawn else None
            word = tf.cast(categorical.draw(self._given(logits, f, before) if f else logits, seed, f, temperature,
                                            self.top_k), tf.float32)
            if held_mask is not None:
                word = bernoulli.hold(word, held_mask[:, f], held_values[:, f])
            drawn.append(word)
        return tf.stack(drawn, axis=1)

    # ---- what it reads: token ids ----

    @classmethod
    def prepare_training(cls, dataset: Dataset, config: RunConfig) -> tuple[Dataset, RunConfig]:
        """Returns: the data as token ids, float32 (N, F) a piece, and the config with the
        vocabulary (fitted on the training pieces when it has none: a new run). Raises
        UserError unless the run selects by valid_nll: words have no frame accuracy."""
        if config.train.select_metric != "valid_nll":
            raise UserError(f"the {cls.FAMILY} reads tokens: it selects by valid_nll (nats per token), "
                            f"not {config.train.select_metric}")
        config = fit_vocabulary(dataset, config)
        return tokenized(dataset, config), config

    @classmethod
    def read_split(cls, dataset: Dataset, config: RunConfig, split: str) -> list[np.ndarray]:
        """Returns: the pieces of `split` as token ids of the run's vocabulary, float32 (N, F) each."""
        return getattr(tokenized(dataset, config, (split,)), split)

    def start_from_data(self, pieces: list[np.ndarray]) -> None:
        """Nothing: the output layer's words are not pitches; the weights keep their random start."""

    # ---- its likelihood: per token, no frame accuracy ----

    def scorer(self, settings: ScoreSettings, rng: tf.random.Generator) -> ExactScorer:
        """Returns: the exact log-likelihood of every token, without draws (words have no frame accuracy)."""
        return ExactScorer(self, 0, 0, rng)

    def describe_scoring(self, evaluate: EvalConfig) -> str:
        return "exact likelihood"

    def figures(self, scores: Scores) -> dict[str, float]:
        """Returns: {"nll": nats per token}."""
        return {"nll": scores.nll}

    def evaluation(self, scores: Scores, train_pieces: list[np.ndarray], pieces: list[np.ndarray],
                   config: RunConfig, seconds: float) -> TokenEvaluation:
        encoder = run_representation(config)
        unknown = sum(encoder.count_unknown(ids) for ids in pieces)
        return TokenEvaluation(scores.nll, int(sum(map(len, pieces))), list(encoder.FIELDS), encoder.sizes,
                               unknown, seconds)

    # ---- its drawing: tokens, written back as rolls ----

    @classmethod
    def check_generation(cls, settings: GenerateConfig, melody: Path | None) -> None:
        if melody is not None:
            raise UserError(f"--melody holds notes in the frames of a frame model, and the {cls.FAMILY} "
                            "draws words: harmonise its piece with a frame model instead, e.g. "
                            f"rnn_rbm_generate.py parameter_checkpoints/best.ckpt --melody {melody}")

    def describe_drawing(self, settings: GenerateConfig) -> str:
        return "exact draws" + (f", top {settings.top_k} words" if settings.top_k else "")

    def read_primer(self, roll: np.ndarray | None, path: Path | None, config: RunConfig,
                    seed: int) -> tuple[np.ndarray | None, str | None]:
        """What a token model reads first: the --primer file's tokens, or else a window of
        config.tokens.primer_tokens tokens of a validation piece chosen by the seed (from the roll
        cache: none when the data is not cached, and generation starts from nothing).

        Returns: (token ids (N, F) or None; what the primer was, for the run's record).
        Raises UserError when the --primer file holds words the vocabulary lacks.
        """
        representation = run_representation(config)
        if roll is not None:
            try:
                return representation.encode(roll), str(path)
            except UserError as exc:
                raise UserError(f"--primer {path}: {exc}") from None
        window = config.tokens.primer_tokens
        dataset = load_cached(config.data_source, config.data) if window else None
        if dataset is None or not dataset.valid:
            log.info("no primer: the model starts from nothing (%s)", "its primer_tokens is 0" if not window else
                     f"{config.data_source} is not in the roll cache")
            return None, None
        choose = np.random.default_rng([seed, 1])
        index = int(choose.integers(len(dataset.valid)))
        ids = representation.encode(dataset.valid[index], unknown="unk")
        start = int(choose.integers(max(1, len(ids) - window + 1)))
        name = dataset.names["valid"][index]
        label = f"{name} (validation piece), tokens {start + 1}-{min(len(ids), start + window)}"
        log.info("primer: %s", label)
        return ids[start:start + window], label

    def draw_pieces(self, drawing: Drawing, config: RunConfig, primer: np.ndarray | None = None,
                    melody: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Draws tokens with the run's representation (draw_tokens), each word among the
        settings' top_k likeliest (0: all). melody: not taken (check_generation)."""
        self.top_k = drawing.settings.top_k
        return draw_tokens(drawing, run_representation(config), primer)


@dataclass(frozen=True)
class TokenEvaluation:
    """A token model's figures on one split: frame measures are not defined for it."""

    nll: float  # nats per token, positive
    tokens: int
    fields: list[str]  # the representation's fields
    sizes: list[int]  # words per field
    unknown: int  # tokens holding a word the vocabulary lacks (read as <unk>)
    seconds: float
    exact: bool = True

    def figures(self) -> dict[str, object]:
        """Returns: the figures as the evaluate command's JSON line and its record give them:
        token_nll (nats per token), tokens, vocabulary (words per field), unknown; no frame
        measures, so nll and acc are null."""
        return {"token_nll": self.nll, "tokens": self.tokens, "vocabulary": self.sizes,
                "unknown": self.unknown, "nll": None, "acc": None}


def draw_tokens(drawing: Drawing, representation: Representation,
                primer: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Draws drawing.settings.num_samples pieces from a token model, `chunk_steps` tokens per
    compiled call, until each piece written back as a roll has `num_steps` new frames, and cuts
    it there: every model's pieces are then as long, in frames.

    primer: optional token ids (N, F), read first; its frames head every piece.
    Returns: (rolls, float32 0/1 (num_samples, primer frames + num_steps, V), time-major;
    the primer's frames).
    """
    config = drawing.settings
    count, chunk = config.num_samples, config.chunk_steps
    head = drawing.head(primer)
    primer_frames = len(representation.decode(head[0])) if head.shape[1] else 0
    wanted = primer_frames + config.num_steps
    next_chunk = drawing.chunks(head)
    tokens = [head]
    drawn_count, checked = head.shape[1], 0
    rolls: list[np.ndarray | None] = [None] * count
    # A model that never moves time on (advances of 0, no time shifts) must still end.
    most = head.shape[1] + MAX_TOKENS_PER_FRAME * config.num_steps
    with tqdm(total=config.num_steps, desc="generating", unit="frame", leave=False,
              disable=None if drawing.progress else True) as bar:
        while any(r is None for r in rolls) and drawn_count < most:
            tokens.append(next_chunk(chunk, []))
            drawn_count += chunk
            # Written back only every quarter more tokens: decoding each chunk would cost
            # the square of the piece's length (thousands of MIDI events per piece).
            if drawn_count - checked < max(chunk, checked // 4) and drawn_count < most:
                continue
            checked = drawn_count
            drawn = np.concatenate(tokens, axis=1)
            reached = wanted
            for i in range(count):
                if rolls[i] is None:
                    roll = representation.decode(drawn[i])
                    rolls[i] = roll if len(roll) >= wanted else None
                    reached = min(reached, len(roll))
            bar.update(max(0, reached - primer_frames - bar.n))
    short = [i for i, r in enumerate(rolls) if r is None]
    if short:
        log.warning("%d of %d pieces reached fewer than %d frames in %d tokens: padded with silence",
                    len(short), count, wanted, most)
        drawn = np.concatenate(tokens, axis=1)
        for i in short:
            rolls[i] = representation.decode(drawn[i])
    out = np.zeros((count, wanted, representation.data.num_pitches), np.float32)
    for i, roll in enumerate(rolls):
        out[i, :min(wanted, len(roll))] = roll[:wanted]
    return out, primer_frames


class NoteLstm(TokenLstm):
    """Notes and chords as words (music/tokens.NoteWords)."""

    FAMILY = "note_lstm"
    DESCRIPTION = "stacked LSTMs over notes and chords as words"


class MelodyLstm(TokenLstm):
    """One voice, a token per frame (music/tokens.Melody)."""

    FAMILY = "melody_lstm"
    DESCRIPTION = "an LSTM over one voice, a pitch or rest per frame"


class EventLstm(TokenLstm):
    """MIDI events as words (music/tokens.MidiEvents, miditok's MIDILike), drawn only where they
    make sense: its softmax is over the words the grammar allows after the words so far
    (midi_events.allowed_words: the Velocity after a NoteOn, a NoteOn only for a silent pitch,
    a NoteOff only for a sounding one, any TimeShift), in training and in generation alike, so
    its likelihood stays normalised and its draws cannot pile notes up. What the grammar needs
    of the past (the pitches sounding, whether the last word was a NoteOn) rides in the state
    after the LSTMs' and in the context after h_L: (batch, 2LR + P + 1)."""

    FAMILY = "event_lstm"
    DESCRIPTION = "an LSTM over MIDI events as words (miditok), only well-formed sequences"
    grammar: EventGrammar | None = None

    @classmethod
    def from_config(cls, config: RunConfig, rng: tf.random.Generator) -> EventLstm:
        model = super().from_config(config, rng)
        model.grammar = (RemiGrammar.of(config.tokens.vocabulary, config.data)
                         or EventGrammar.of(config.tokens.vocabulary, config.data.lowest_pitch, config.data.num_pitches))
        return model

    def _grammar_width(self) -> int:
        return 0 if self.grammar is None else self.grammar.width

    def initial_state(self, batch: int | tf.Tensor) -> tf.Tensor:
        """Returns: the LSTMs' zero state, then the grammar's before any word."""
        if self.grammar is None:
            return super().initial_state(batch)
        return tf.concat([super().initial_state(batch), self.grammar.initial(batch)], axis=-1)

    def rnn_step(self, state: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
        if self.grammar is None:
            return super().rnn_step(state, v)
        lstm = 2 * self.layers * self.units
        return tf.concat([super().rnn_step(state[..., :lstm], v), self.grammar.step(state[..., lstm:], v)], axis=-1)

    def context(self, state: tf.Tensor) -> tf.Tensor:
        lstm = 2 * self.layers * self.units
        return tf.concat([super().context(state[..., :lstm]), state[..., lstm:]], axis=-1)

    def _states(self, v: tf.Tensor, state0: tf.Tensor, keep: list[tf.Tensor] | None = None) -> tf.Tensor:
        """The LSTMs' states after each token, each followed by the grammar's (time-major)."""
        lstm = 2 * self.layers * self.units
        states = super()._states(v, state0[..., :lstm], keep)
        if self.grammar is None:
            return states
        return tf.concat([states, tf.transpose(self.grammar.run(state0[..., lstm:], v), [1, 0, 2])], axis=-1)

    def _logits(self, context: tf.Tensor, keep_dense: tf.Tensor | None = None) -> list[tf.Tensor]:
        logits = super()._logits(context, keep_dense)
        if self.grammar is None:
            return logits
        return [self.grammar.masked(logits[0], context[..., self.units:])]


class Grammar:
    """Which words may come next, for batches in TensorFlow: a state of `width` floats that
    each word moves on (`step`, and `run` over whole sequences), and the words it allows."""

    # A word the grammar forbids gets this added to its logit: probability exp(-1e9) = 0,
    # yet a padded step's word (masked out of the loss) still has a finite log-probability.
    FORBIDDEN = -1e9
    width: int

    def initial(self, batch: int | tf.Tensor) -> tf.Tensor:
        """Returns: the state before the first word, (batch, width)."""
        return tf.zeros([batch, self.width])

    def step(self, state: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def run(self, state0: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
        """Returns: the state after each word of v (batch, T, 1), (batch, T, width)."""
        states = tf.scan(self.step, tf.transpose(v, [1, 0, 2]), initializer=state0)
        return tf.transpose(states, [1, 0, 2])

    def allowed(self, state: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def masked(self, logits: tf.Tensor, state: tf.Tensor) -> tf.Tensor:
        return logits + (1.0 - self.allowed(state)) * self.FORBIDDEN


class EventGrammar(Grammar):
    """midi_events' grammar in TensorFlow, for batches. Its state: the pitches sounding (P)
    and whether the last word was a NoteOn (1), float32 0/1 (..., P + 1)."""

    def __init__(self, kinds: np.ndarray, columns: np.ndarray, num_pitches: int):
        from rnn_rbm.music.midi_events import WORD_KINDS

        kind = {name: (kinds == WORD_KINDS.index(name)).astype(np.float32) for name in WORD_KINDS}
        pitch = np.zeros((len(kinds), num_pitches), np.float32)
        pitch[np.nonzero(columns >= 0)[0], columns[columns >= 0]] = 1.0
        self.width = num_pitches + 1
        self.on = tf.constant(pitch * kind["note_on"][:, np.newaxis])  # (W, P)
        self.off = tf.constant(pitch * kind["note_off"][:, np.newaxis])
        self.is_on, self.is_velocity, self.is_shift = (tf.constant(kind[k]) for k in ("note_on", "velocity",
                                                                                         "time_shift"))

    @classmethod
    def of(cls, vocabulary: list[list[str]], lowest_pitch: int, num_pitches: int) -> EventGrammar | None:
        """Returns: the grammar of a vocabulary of MIDI events (one field, with time shifts),
        None for any other (a test's toy vocabulary)."""
        from rnn_rbm.music.midi_events import word_kinds

        if len(vocabulary) != 1 or not any(w.startswith("TimeShift_") for w in vocabulary[0]):
            return None
        return cls(*word_kinds(vocabulary[0], lowest_pitch, num_pitches), num_pitches)

    def step(self, state: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
        """Returns: the state after the words v (batch, 1) (ids as float)."""
        ids = tf.cast(v[..., 0], tf.int32)
        sounding = tf.clip_by_value(state[..., :-1] + tf.gather(self.on, ids) - tf.gather(self.off, ids), 0.0, 1.0)
        return tf.concat([sounding, tf.gather(self.is_on, ids)[..., tf.newaxis]], axis=-1)

    def run(self, state0: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
        """Returns: the state after each word of v (batch, T, 1), (batch, T, P + 1). A
        well-formed sequence opens and closes each pitch in turn, so the pitches sounding are
        the running sum of NoteOns less NoteOffs."""
        ids = tf.cast(v[..., 0], tf.int32)
        change = tf.gather(self.on, ids) - tf.gather(self.off, ids)
        sounding = tf.clip_by_value(state0[:, tf.newaxis, :-1] + tf.cumsum(change, axis=1), 0.0, 1.0)
        return tf.concat([sounding, tf.gather(self.is_on, ids)[..., tf.newaxis]], axis=-1)

    def allowed(self, state: tf.Tensor) -> tf.Tensor:
        """Returns: float32 0/1 (N, W), the words that may follow (midi_events.allowed_words)."""
        sounding, after = state[..., :-1], state[..., -1:]
        free = tf.matmul(1.0 - sounding, self.on, transpose_b=True) + tf.matmul(sounding, self.off, transpose_b=True)
        return after * self.is_velocity + (1.0 - after) * (self.is_shift + free)


class RemiGrammar(Grammar):
    """remi's grammar in TensorFlow, for batches. Its state, float32 (..., 2P + 6): the frame
    each pitch's latest note ends (P), the pitch waiting for its Duration (P, one-hot), the
    frame of the last Position (1), the first frame of the bar (1; one bar before the first
    Bar at the start), and the kind of the last word (4, one-hot: bar, position, pitch,
    duration; none before the first)."""

    def __init__(self, kinds: np.ndarray, values: np.ndarray, num_pitches: int, bar_frames: int):
        from rnn_rbm.music.remi import KINDS

        kind = {name: (kinds == KINDS.index(name)).astype(np.float32) for name in KINDS}
        pitch = np.zeros((len(kinds), num_pitches), np.float32)
        rows = np.nonzero((kinds == KINDS.index("pitch")) & (values >= 0))[0]
        pitch[rows, values[rows]] = 1.0
        self.pitches, self.bar_frames = num_pitches, float(bar_frames)
        self.width = 2 * num_pitches + 6
        self.pitch = tf.constant(pitch)  # (W, P)
        self.kinds = tf.constant(np.stack([kind[k] for k in KINDS[1:]], axis=1))  # (W, 4)
        self.is_bar, self.is_position, self.is_pitch, self.is_duration = (tf.constant(kind[k]) for k in KINDS[1:])
        self.position = tf.constant(np.where(kinds == KINDS.index("position"), values, 0).astype(np.float32))
        self.duration = tf.constant(np.where(kinds == KINDS.index("duration"), values, 0).astype(np.float32))
        self.in_bar = tf.constant(kind["position"] * (values < bar_frames))  # positions the bar holds

    @classmethod
    def of(cls, vocabulary: list[list[str]], data) -> RemiGrammar | None:
        """Returns: the grammar of a REMI vocabulary (one field, with Bar and Position words),
        None for any other."""
        from rnn_rbm.music.remi import BAR_BEATS, word_kinds

        if len(vocabulary) != 1 or "Bar_None" not in vocabulary[0]:
            return None
        return cls(*word_kinds(vocabulary[0], data.steps_per_quarter, data.lowest_pitch, data.num_pitches),
                   data.num_pitches, BAR_BEATS * data.steps_per_quarter)

    def _parts(self, state: tf.Tensor) -> tuple[tf.Tensor, ...]:
        P = self.pitches
        return state[..., :P], state[..., P:2 * P], state[..., 2 * P], state[..., 2 * P + 1], state[..., 2 * P + 2:]

    def initial(self, batch: int | tf.Tensor) -> tf.Tensor:
        """Returns: nothing sounding or waiting, at frame 0, one bar before the first, no word yet."""
        zeros = tf.zeros([batch, self.width])
        return zeros + tf.one_hot(2 * self.pitches + 1, self.width) * -self.bar_frames

    def step(self, state: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
        """Returns: the state after the words v (batch, 1) (ids as float)."""
        ids = tf.cast(v[..., 0], tf.int32)
        ends, waiting, now, bar, last = self._parts(state)
        is_bar, is_position = tf.gather(self.is_bar, ids), tf.gather(self.is_position, ids)
        is_pitch, is_duration = tf.gather(self.is_pitch, ids), tf.gather(self.is_duration, ids)
        bar = bar + is_bar * self.bar_frames
        moved = is_bar * bar + is_position * (bar + tf.gather(self.position, ids))
        now_after = moved + (1.0 - is_bar - is_position) * now
        end = (now + tf.gather(self.duration, ids))[..., tf.newaxis]
        ends = ends + is_duration[..., tf.newaxis] * waiting * tf.nn.relu(end - ends)
        waiting = is_pitch[..., tf.newaxis] * tf.gather(self.pitch, ids) + (
            1.0 - is_pitch - is_duration)[..., tf.newaxis] * waiting
        kind = tf.gather(self.kinds, ids)
        last = kind + (1.0 - tf.reduce_sum(kind, axis=-1, keepdims=True)) * last
        return tf.concat([ends, waiting, now_after[..., tf.newaxis], bar[..., tf.newaxis], last], axis=-1)

    def allowed(self, state: tf.Tensor) -> tf.Tensor:
        """Returns: float32 0/1 (N, W), the words that may follow (remi.allowed_words)."""
        ends, _, now, bar, last = self._parts(state)
        start = 1.0 - tf.reduce_sum(last, axis=-1, keepdims=True)
        after_bar, after_position, after_pitch, after_duration = tf.split(last, 4, axis=-1)
        # a Pitch word's pitch's end (0 for other words), against the present frame
        ended = tf.matmul(ends, self.pitch, transpose_b=True) <= now[..., tf.newaxis]
        free = self.is_pitch * tf.reduce_sum(self.pitch, axis=1) * tf.cast(ended, tf.float32)
        later = self.in_bar * tf.cast(bar[..., tf.newaxis] + self.position > now[..., tf.newaxis], tf.float32)
        return (start * self.is_bar + after_bar * (self.is_bar + self.in_bar) + after_position * free
                + after_pitch * self.is_duration + after_duration * (free + later + self.is_bar))
