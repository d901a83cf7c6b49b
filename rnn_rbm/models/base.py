"""What every model of piano-roll sequences fills in, so that one training loop, one
generation path and one evaluation serve them all.

A model factorises a piece as p(v(1..T)) = prod_t p(v(t) | v(<t)): a recurrent state
summarises the true past, and a distribution over one frame reads it. Generation,
the validation monitor and the evaluation call only the methods of FrameModel.

Rolls and batches are time-major: v is (batch, num_steps, V), float32 0/1, column i the
pitch lowest_pitch + i.
"""

from __future__ import annotations

import math
from typing import ClassVar

import tensorflow as tf

from rnn_rbm.config import RunConfig, TrainConfig
from rnn_rbm.ops import bernoulli, philox, recurrence

# The compiled recurrences and the monitors pad each batch to a multiple of these (ops/recurrence.py).
TIME_QUANTUM, BATCH_QUANTUM = recurrence.TIME_QUANTUM, recurrence.BATCH_QUANTUM
# Sub-streams of a training step's seed for scheduled sampling's draws and its choice of
# frames. The costs draw from the seed itself, never from a sub-stream: no draw is shared.
SCHEDULED_SAMPLING_STREAMS = (1 << 20, (1 << 20) + 1)


class FrameModel(tf.Module):
    """The interface. Subclasses set FAMILY (its name in the registry), EXACT (whether
    frame_log_prob is the exact log-probability; otherwise evaluation estimates it),
    PRETRAINS (whether weight_initializations.py applies) and TOKENS, and fill in the methods
    that raise NotImplementedError."""

    FAMILY: ClassVar[str]
    EXACT: ClassVar[bool] = True
    PRETRAINS: ClassVar[bool] = False
    # Token models (models/token_lstm.py) read token ids, not rolls: music/tokens.py turns
    # rolls into their tokens and back.
    TOKENS: ClassVar[bool] = False
    # Generation's --top_k, for models that draw words (0: every word).
    top_k: int = 0

    @classmethod
    def from_config(cls, config: RunConfig, rng: tf.random.Generator) -> FrameModel:
        """Returns: a freshly initialised model of the config's sizes, weights drawn from rng."""
        raise NotImplementedError

    @property
    def n_visible(self) -> int:
        """The units of a frame (pitches)."""
        raise NotImplementedError

    def initial_state(self, batch: int | tf.Tensor) -> tf.Tensor:
        """Returns: the state before the first frame, float32 (batch, S)."""
        raise NotImplementedError

    def rnn_step(self, state: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
        """Returns: the state after reading frame v (batch, V), float32 (batch, S)."""
        raise NotImplementedError

    def context(self, state: tf.Tensor) -> tf.Tensor:
        """Returns: what the next frame's distribution reads of the state, float32 (..., C)."""
        return state

    def contexts(self, v: tf.Tensor) -> tf.Tensor:
        """Runs the recurrence over the true frames of v (batch, T, V) (teacher forcing).

        Returns: the context of every step, float32 (batch, T, C): entry t has seen frames < t only.
        """
        raise NotImplementedError

    def final_state(self, v: tf.Tensor, state0: tf.Tensor | None = None) -> tf.Tensor:
        """Returns: the state after reading all frames of v (batch, T, V), float32 (batch, S)."""
        raise NotImplementedError

    def draw(self, context: tf.Tensor, gibbs_steps: int, seed: tf.Tensor, temperature: float = 1.0,
             held_mask: tf.Tensor | None = None, held_values: tf.Tensor | None = None) -> tf.Tensor:
        """Draws one frame per row of context (N, C), from seed (philox.new_seed); units where
        held_mask (N or 1, V) is 1 take their held_values and the others are drawn given them.
        temperature > 0 flattens (above 1) or sharpens (below 1) the distribution;
        gibbs_steps is for models sampled by a Markov chain (others ignore it).

        Returns: float32 0/1 (N, V).
        """
        raise NotImplementedError

    def frame_log_prob(self, v: tf.Tensor, context: tf.Tensor) -> tf.Tensor:
        """Returns: log p(v | context) of each row of v (N, V), float32 (N,), nats; exact
        when EXACT, otherwise not available (evaluation estimates it)."""
        raise NotImplementedError

    def loss(self, v: tf.Tensor, mask: tf.Tensor, train: TrainConfig, seed: tf.Tensor,
             row_offset: int | tf.Tensor = 0) -> tf.Tensor:
        """The cost of a batch whose gradient training follows, weighted mean over the real frames.

        v: (batch, T, V); mask: (batch, T), 1 on real frames; seed: philox.new_seed, for models
        whose cost draws (their draws those of rows row_offset... of the seed, so that a batch
        split between devices draws what it would draw whole).
        Returns: float32 scalar, nats per frame. Default: the exact negative log-likelihood.
        """
        return mean_nll(self.log_prob(v, mask, self.training_past(v, mask, train, seed)), mask)

    @property
    def visible_bias(self) -> tf.Variable:
        """The bias of every pitch when the state is its initial one (pretraining starts it at
        the log-odds of each pitch's frequency), float32 (V,)."""
        raise NotImplementedError

    def pretrain_variables(self) -> list[tf.Variable]:
        """Returns: the variables pretraining trains (models with PRETRAINS)."""
        raise NotImplementedError

    def pretrain_cost(self, frames: tf.Tensor, k: int, rng: tf.random.Generator) -> tf.Tensor:
        """The cost of the frame distribution alone, as it is for a piece's first frame, on a
        batch of frames (N, V) (models with PRETRAINS; k: Gibbs steps where it uses a chain).

        Returns: float32 scalar, nats per frame.
        """
        raise NotImplementedError

    def pretrain_reconstruction_error(self, frames: tf.Tensor) -> tf.Tensor | None:
        """A pretraining figure beside the cost, where the model has one.

        Returns: float32 scalar, or None (the default: no such figure).
        """
        return None

    # ---- written once, for every model ----

    def log_prob(self, v: tf.Tensor, mask: tf.Tensor, past: tf.Tensor | None = None) -> tf.Tensor:
        """log p(v(t) | v(<t)) of every frame of a batch (EXACT models).

        v: (batch, T, V); mask: (batch, T), 1 on real frames.
        past: the frames the recurrence reads, (batch, T, V) (default v; see `training_past`).
        Returns: float32 (batch, T), nats; 0 where mask is 0.
        """
        shape = tf.shape(v)
        contexts = self.contexts(v if past is None else past)
        flat = self.frame_log_prob(flatten_steps(v), flatten_steps(contexts))
        return tf.reshape(flat, shape[:2]) * mask

    def training_past(self, v: tf.Tensor, mask: tf.Tensor, train: TrainConfig, seed: tf.Tensor) -> tf.Tensor:
        """The frames the recurrence reads in training: the true frames, with a share
        train.scheduled_sampling of them (each real frame independently) replaced by the
        model's own draw given the true past (`predict`, as many Gibbs steps as the monitor,
        no gradient through the draw). With share 0 the graph is teacher forcing's, unchanged.

        v: (batch, T, V); mask: (batch, T), 1 on real frames; seed: the training step's
        philox.new_seed (its sub-streams SCHEDULED_SAMPLING_STREAMS are used; unlike the
        costs' draws, these are not split by row between devices).
        Returns: float32 0/1 (batch, T, V).
        """
        share = train.scheduled_sampling
        if not share:
            return v
        chosen = scheduled_choice(mask, share, seed)
        # Only the chosen frames are drawn (predict's mask): the chains cost `share` of a full pass.
        drawn = tf.stop_gradient(self.predict(v, train.monitor_gibbs_steps,
                                              philox.substream(seed, SCHEDULED_SAMPLING_STREAMS[0]), chosen))
        return tf.where(chosen[:, :, tf.newaxis] > 0, drawn, v)

    def predict(self, v: tf.Tensor, gibbs_steps: int, rng: tf.random.Generator | tf.Tensor,
                mask: tf.Tensor | None = None) -> tf.Tensor:
        """Draws each frame from the model given the true past.

        mask: optional (batch, T), 1 on real frames: only those are drawn, the others are 0.
        rng: a Generator (one seed is drawn from it) or a seed.
        Returns: float32 0/1 (batch, T, V).
        """
        shape = tf.shape(v)
        mask = tf.ones(shape[:2]) if mask is None else mask
        seed = philox.seed_of(rng)
        rows = tf.where(tf.reshape(mask, [-1]) > 0)
        contexts = tf.gather_nd(flatten_steps(self.contexts(v)), rows)
        drawn = self.draw(contexts, gibbs_steps, seed)
        return tf.reshape(tf.scatter_nd(rows, drawn, tf.shape(flatten_steps(v), out_type=rows.dtype)), shape)

    def sample(self, u0: tf.Tensor, num_steps: tf.Tensor, gibbs_steps: int,
               rng: tf.random.Generator | tf.Tensor, temperature: float = 1.0,
               clamp_mask: tf.Tensor | None = None, clamp_values: tf.Tensor | None = None,
               return_state: bool = False,
               first_step: int | tf.Tensor = 0) -> tf.Tensor | tuple[tf.Tensor, tf.Tensor]:
        """Generates frame after frame: frame t drawn given the state after frame t-1, then the
        state moved on by the drawn frame.

        u0: (batch, S) state to start from (initial_state, or after a primer).
        temperature: a Python float > 0 (1: the model as trained).
        clamp_mask, clamp_values: optional float32 0/1 (batch or 1, num_steps, V): units held
            at their values in every frame (the others drawn given them).
        return_state: also return the state after the last frame, to carry on from it.
        rng: a Generator (one seed is drawn from it) or a seed (philox.new_seed); frame t
            draws from sub-stream first_step + t of the seed, so a piece drawn in chunks
            from one seed (first_step = frames before the chunk) is the piece drawn at once.
        Returns: float32 0/1 (batch, num_steps, V); with return_state, also the state.
        """
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, not {temperature}")
        frames = tf.TensorArray(tf.float32, size=num_steps)
        u = u0
        seed = philox.seed_of(rng)
        for t in tf.range(num_steps):
            stream = philox.substream(seed, first_step + t)
            held = (None, None) if clamp_mask is None else (clamp_mask[:, t], clamp_values[:, t])
            v = self.draw(self.context(u), gibbs_steps, stream, temperature, *held)
            frames = frames.write(t, v)
            u = self.rnn_step(u, v)
        drawn = tf.transpose(frames.stack(), [1, 0, 2])
        return (drawn, u) if return_state else drawn


class RecurrentBiases(FrameModel):
    """A frame distribution with weights W (V, H) and biases bv, bh whose per-step values a
    tanh RNN sets (Boulanger-Lewandowski et al. 2012): the RNN-RBM and the RNN-NADE.

    Glossary (paper's symbols; V visible = pitches, H hidden, R recurrent units):
        W    (V, H)  frame distribution's weights, shared by every time step
        bv   (V,)    visible bias, bv(t) = bv + u(t-1) Wuv        (paper eq. 9)
        bh   (H,)    hidden bias,  bh(t) = bh + u(t-1) Wuh        (paper eq. 10)
        Wuv  (R, V)  RNN state -> visible bias
        Wuh  (R, H)  RNN state -> hidden bias
        Wvu  (V, R)  frame -> RNN state
        Wuu  (R, R)  RNN state -> RNN state
        bu   (R,)    RNN bias,     u(t) = tanh(bu + v(t) Wvu + u(t-1) Wuu)   (eq. 11)
        u(0) = 0: the first frame's distribution has biases bv, bh.
    The state is u, and the context of a step is u(t-1) itself.
    """

    def __init__(self, n_visible: int, n_hidden: int, n_recurrent: int, init_std: float,
                 rng: tf.random.Generator, name: str):
        super().__init__(name=name)
        self.W = self._weight((n_visible, n_hidden), "W", init_std, rng)
        self.bv = tf.Variable(tf.zeros([n_visible]), name="bv")
        self.bh = tf.Variable(tf.zeros([n_hidden]), name="bh")
        self.Wuv = self._weight((n_recurrent, n_visible), "Wuv", init_std, rng)
        self.Wuh = self._weight((n_recurrent, n_hidden), "Wuh", init_std, rng)
        self.Wvu = self._weight((n_visible, n_recurrent), "Wvu", init_std, rng)
        self.Wuu = self._weight((n_recurrent, n_recurrent), "Wuu", init_std, rng)
        self.bu = tf.Variable(tf.zeros([n_recurrent]), name="bu")

    @staticmethod
    def _weight(shape: tuple[int, int], name: str, init_std: float, rng: tf.random.Generator) -> tf.Variable:
        return tf.Variable(rng.normal(shape, stddev=init_std), name=name)

    @classmethod
    def from_config(cls, config: RunConfig, rng: tf.random.Generator) -> RecurrentBiases:
        return cls(config.data.num_pitches, config.model.n_hidden, config.model.n_recurrent,
                   config.model.init_std, rng)

    @property
    def n_visible(self) -> int:
        return int(self.W.shape[0])

    @property
    def n_recurrent(self) -> int:
        return int(self.bu.shape[0])

    @property
    def visible_bias(self) -> tf.Variable:
        return self.bv

    def pretrain_variables(self) -> list[tf.Variable]:
        """Returns: [W, bv, bh] (and any other weights of the frame distribution alone)."""
        return [self.W, self.bv, self.bh]

    def initial_state(self, batch: int | tf.Tensor) -> tf.Tensor:
        """Returns: u(0) = 0, float32 (batch, R)."""
        return tf.zeros([batch, self.n_recurrent])

    def rnn_step(self, u_prev: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
        """u(t) = tanh(bu + v(t) Wvu + u(t-1) Wuu).

        Returns: float32 (batch, R).
        """
        return tf.tanh(self.bu + tf.matmul(v, self.Wvu) + tf.matmul(u_prev, self.Wuu))

    def step_biases_from(self, u_prev: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The biases of frame t's distribution from the RNN state u(t-1), shape (..., R).

        Returns: (bv(t), float32 (..., V); bh(t), float32 (..., H)).
        """
        return (self.bv + tf.tensordot(u_prev, self.Wuv, axes=1),
                self.bh + tf.tensordot(u_prev, self.Wuh, axes=1))

    def previous_states(self, v: tf.Tensor, u0: tf.Tensor | None = None) -> tf.Tensor:
        """Runs the RNN over the true frames (teacher forcing).

        v: (batch, T, V). u0: (batch, R) state before the first frame (zeros if None).
        Returns: u(t-1) for t = 1..T, float32 (batch, T, R): entry t has seen frames < t only.
        """
        batch = tf.shape(v)[0]
        u0 = self.initial_state(batch) if u0 is None else u0
        # The input term of every step at once; the loop only does the recurrent product.
        drive = self.bu + tf.tensordot(tf.transpose(v, [1, 0, 2]), self.Wvu, axes=1)  # (T, batch, R)
        states = recurrence.states(drive, self.Wuu, u0)
        previous = tf.concat([u0[tf.newaxis], states[:-1]], axis=0)
        return tf.transpose(previous, [1, 0, 2])

    def contexts(self, v: tf.Tensor) -> tf.Tensor:
        shape = tf.shape(v)
        padded, _ = pad_for_recurrence(v, tf.zeros(shape[:2]))
        return self.previous_states(padded)[:shape[0], :shape[1]]

    def final_state(self, v: tf.Tensor, state0: tf.Tensor | None = None) -> tf.Tensor:
        return self.rnn_step(self.previous_states(v, state0)[:, -1], v[:, -1])

    def recurrence_variables(self) -> list[tf.Variable]:
        """Returns: the RNN's weights and the map from its state to the visible bias, what
        pretraining the recurrence trains (pretrainer.pretrain_recurrence)."""
        return [self.Wvu, self.Wuu, self.bu, self.Wuv]

    def independent_logits(self, v: tf.Tensor, output_bias: tf.Tensor) -> tf.Tensor:
        """The RNN alone with independent outputs (the paper's "RNN"): pitch i of frame t sounds
        with probability sigmoid(output_bias_i + u(t-1) Wuv_i), u read from the true past.

        v: (batch, T, V); output_bias: (V,). Returns: float32 (batch, T, V), the logits.
        """
        return output_bias + tf.tensordot(self.contexts(v), self.Wuv, axes=1)

    def independent_log_prob(self, v: tf.Tensor, mask: tf.Tensor, output_bias: tf.Tensor) -> tf.Tensor:
        """log p(v(t) | v(<t)) of every frame under `independent_logits`.

        v: (batch, T, V); mask: (batch, T), 1 on real frames; output_bias: (V,).
        Returns: float32 (batch, T), nats; 0 where mask is 0.
        """
        return bernoulli.log_prob(v, self.independent_logits(v, output_bias)) * mask

    def step_biases(self, v: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The biases of every step of v (batch, T, V), each set from the true past.

        Returns: (bv(t), float32 (batch, T, V); bh(t), float32 (batch, T, H)).
        """
        return self.step_biases_from(self.previous_states(v))


def mean_nll(log_p: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Returns: the negative log-likelihood per real frame, -sum(log_p weights) / sum(weights)
    (of at least one frame), float32 scalar; log_p and weights of one shape, weights 1 on real
    frames."""
    return -tf.reduce_sum(log_p * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)


def contexts_before(after: tf.Tensor) -> tf.Tensor:
    """The context before each step from the context after each: shifted one step later, the
    first step's all zero (the initial state's).

    after: time-major (T, batch, C). Returns: (batch, T, C).
    """
    return tf.transpose(tf.concat([tf.zeros_like(after[:1]), after[:-1]], axis=0), [1, 0, 2])


def scheduled_choice(mask: tf.Tensor, share: float, seed: tf.Tensor) -> tf.Tensor:
    """Which real frames scheduled sampling replaces: each with probability `share`, drawn
    from sub-stream SCHEDULED_SAMPLING_STREAMS[1] of `seed`.

    mask: (batch, T), 1 on real frames. Returns: float32 0/1 (batch, T), 0 where mask is 0.
    """
    shape = tf.shape(mask)
    logit = tf.fill([shape[0] * shape[1], 1], math.log(share / (1.0 - share)))
    chosen = philox.bernoulli_logits(logit, philox.substream(seed, SCHEDULED_SAMPLING_STREAMS[1]), 0)
    return tf.reshape(chosen, shape) * tf.cast(mask > 0, tf.float32)


def pad_for_recurrence(v: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Pads a batch with empty steps to a multiple of TIME_QUANTUM and empty pieces to a
    multiple of BATCH_QUANTUM: the compiled recurrence then meets a few shapes only.

    Returns: (v, (batch', T', V); mask, (batch', T')), zeros where padded.
    """
    extra = [[0, -tf.shape(v)[0] % BATCH_QUANTUM], [0, -tf.shape(v)[1] % TIME_QUANTUM]]
    return tf.pad(v, extra + [[0, 0]]), tf.pad(mask, extra)


def flatten_steps(x: tf.Tensor) -> tf.Tensor:
    """(batch, T, D) -> (batch * T, D): every step becomes one row of the frame maths."""
    return tf.reshape(x, [-1, tf.shape(x)[-1]])


def chain_rows(mask: tf.Tensor) -> tf.Tensor:
    """Which steps of a batch get a row of random draws (CD chains, dropout): each piece's real steps, rounded up to a
    multiple of 4 with (masked) padding steps, so that every piece starts at a multiple of
    4 in the random stream (philox.random_words shares a block between 4 rows).

    mask: (batch, T), 1 on real steps, T a multiple of 4.
    Returns: bool (batch, T).
    """
    quads = tf.reduce_max(tf.reshape(mask, [tf.shape(mask)[0], -1, 4]), axis=2) > 0
    return tf.reshape(tf.repeat(quads, 4, axis=1), tf.shape(mask))
