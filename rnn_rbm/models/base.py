"""What every model of piano-roll sequences fills in, so that one training loop, one
generation path and one evaluation serve them all.

A model factorises a piece as p(v(1..T)) = prod_t p(v(t) | v(<t)): a recurrent state
summarises the true past, and a distribution over one frame reads it. Generation,
the validation monitor and the evaluation call only the methods of FrameModel. What
differs between models is decided here, by the model: its likelihood (exact, or estimated
with a standard error: `scorer`), its pretraining (`pretraining`), what it reads (frames,
or tokens: `prepare_training`, `read_split`, `start_from_data`) and how it draws whole
pieces (`draw_pieces`). Every one of them has the frame models' default below, so a new
model of frames fills in only the methods that raise NotImplementedError.

Rolls and batches are time-major: v is (batch, num_steps, V), float32 0/1, column i the
pitch lowest_pitch + i.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar, Protocol

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_rbm.config import EvalConfig, GenerateConfig, PretrainConfig, RunConfig, TrainConfig
from rnn_rbm.data.dataset import Dataset, pad_batch, pitch_log_odds
from rnn_rbm.errors import UserError
from rnn_rbm.files import json_number
from rnn_rbm.ops import accuracy, bernoulli, philox, recurrence

# The compiled recurrences and the monitors pad each batch to a multiple of these (ops/recurrence.py).
TIME_QUANTUM = recurrence.TIME_QUANTUM
# Sub-streams of a training step's seed for scheduled sampling's draws and its choice of
# frames. The costs draw from the seed itself, never from a sub-stream: no draw is shared.
SCHEDULED_SAMPLING_STREAMS = (1 << 20, (1 << 20) + 1)
# Add-one smoothing of the pitch frequencies the visible bias starts at: a pitch never heard
# starts with a finite bias.
BIAS_SMOOTHING = 1.0
# Pieces a scorer reads at once (forward only: memory is the only limit).
PIECES_PER_BATCH = 64
# and, for a recurrence over long pieces (the exact scorer's; the acoustic model's audio frames),
# at most this many padded frames (pieces x the longest's steps).
FRAMES_PER_BATCH = 4096


class FrameModel(tf.Module):
    """The interface. Subclasses set FAMILY (its name in the registry) and DESCRIPTION (its
    line in --help), and fill in the methods that raise NotImplementedError; the other
    methods have the frame models' defaults and are overridden where a model differs."""

    FAMILY: ClassVar[str]
    DESCRIPTION: ClassVar[str] = ""
    # Whether frame_log_prob is the exact log-probability (the contract's tests check it by
    # enumeration); a model whose likelihood is estimated says so through its `scorer`.
    EXACT: ClassVar[bool] = True
    # What one step of its sequences is, in messages ("frames", or "tokens").
    STEPS: ClassVar[str] = "frames"
    # Whether it models music, frame after frame (False: notes given audio, the acoustic model
    # of transcription, which draws no pieces, has no past to read and serves as no prior).
    GENERATES: ClassVar[bool] = True
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
        when EXACT, otherwise not available (the model's `scorer` estimates it)."""
        raise NotImplementedError

    def frame_score(self, v: tf.Tensor, context: tf.Tensor) -> tf.Tensor:
        """log p(v | context) up to a constant of the context: ranks the frames of one step
        (a decoder's candidates). Default: frame_log_prob, for the exact models.

        Returns: float32 (N,) for the rows of v (N, V) and context (N, C), nats.
        """
        return self.frame_log_prob(v, context)

    def given_log_prob(self, v: tf.Tensor, context: tf.Tensor, given: tf.Tensor,
                       settings: ScoreSettings, rng: tf.random.Generator) -> tuple[tf.Tensor, tf.Tensor]:
        """log p(the units of v where `given` is 0 | the units where it is 1, context): what a
        harmonisation scores, the lower voices given the soprano's units (music/harmony.given_units).

        v, given: float32 0/1 (N, V); context (N, C); settings, rng: for a model that estimates
        it (the RNN-RBM's AIS: settings.chains, settings.temperatures; exact models ignore both).
        Returns: (float32 (N,), nats; float32 (N,), the estimate's variance, 0 where exact).
        Raises NotImplementedError where the model cannot condition a frame on part of it.
        """
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
        """The bias of every pitch when the state is its initial one (training from scratch
        and pretraining start it at the log-odds of each pitch's frequency), float32 (V,)."""
        raise NotImplementedError

    def describe_loss(self, train: TrainConfig) -> str:
        """Returns: what `loss` minimises, for the log (default: "exact likelihood")."""
        return "exact likelihood"

    # ---- pretraining (weight_initializations.py): none by default ----

    @classmethod
    def pretraining(cls, pretrain: PretrainConfig) -> str | None:
        """Returns: what pretraining the frame distribution alone minimises, for the log
        ("CD-15", "exact likelihood"), or None for a model without a pretraining step (the
        default): then pretrain_variables and pretrain_cost are never called."""
        return None

    def pretrain_variables(self) -> list[tf.Variable]:
        """Returns: the variables pretraining trains (models with a `pretraining`)."""
        raise NotImplementedError

    def pretrain_cost(self, frames: tf.Tensor, k: int, rng: tf.random.Generator) -> tf.Tensor:
        """The cost of the frame distribution alone, as it is for a piece's first frame, on a
        batch of frames (N, V) (models with a `pretraining`; k: Gibbs steps where it uses a chain).

        Returns: float32 scalar, nats per frame.
        """
        raise NotImplementedError

    def pretrain_reconstruction_error(self, frames: tf.Tensor) -> tf.Tensor | None:
        """A pretraining figure beside the cost, where the model has one.

        Returns: float32 scalar, or None (the default: no such figure).
        """
        return None

    def recurrence_variables(self) -> list[tf.Variable]:
        """Returns: what pretrain.rnn_epochs trains, the paper's RNN alone with independent
        outputs (TanhRnn's `independent_log_prob`); [] (the default): the model has no such RNN."""
        return []

    # ---- what it reads: rolls (token models override these) ----

    @classmethod
    def prepare_training(cls, dataset: Dataset, config: RunConfig) -> tuple[Dataset, RunConfig]:
        """Returns: the training data as the model reads it, and the run's config with what it
        learnt from the data (a vocabulary). Default: the rolls as they are, the config as it is.
        Raises UserError for settings the model cannot train with."""
        return dataset, config

    @classmethod
    def read_split(cls, dataset: Dataset, config: RunConfig, split: str) -> list[np.ndarray]:
        """Returns: the pieces of `split` ("train", "valid" or "test") as the model of `config`
        reads them (default: the rolls, each float32 (steps, V), time-major)."""
        return getattr(dataset, split)

    def start_from_data(self, pieces: list[np.ndarray]) -> None:
        """Starts a model trained from scratch where the training pieces (as it reads them) say:
        by default the visible bias at log(p_i / (1 - p_i)), p_i how often pitch i sounds
        (Hinton's "practical guide" to RBMs), so that the note frequencies are right from the
        first step."""
        self.visible_bias.assign(pitch_log_odds(list(pieces), BIAS_SMOOTHING))

    # ---- its likelihood: how a split is scored ----

    def scorer(self, settings: ScoreSettings, rng: tf.random.Generator) -> Scorer:
        """Returns: the function that scores a split's pieces, compiled once (default: exact,
        ExactScorer, each frame drawn settings.draws times for the accuracy)."""
        return ExactScorer(self, settings.draws, settings.gibbs_steps, rng)

    def describe_scoring(self, evaluate: EvalConfig) -> str:
        """Returns: how `scorer` measures, for the log."""
        return f"exact likelihood, accuracy from {evaluate.acc_draws} draws"

    def figures(self, scores: Scores) -> dict[str, float]:
        """Returns: the figures of a split's Scores, by name (validation prefixes them with
        "valid_"): nll (nats per frame), nll_se, log_z_over_known, acc (the paper's expected
        frame accuracy), acc_tp_fp_fn, acc_pooled."""
        acc = scores.accuracy
        return {"nll": scores.nll, "nll_se": scores.nll_se, "log_z_over_known": scores.mean_log_z_over_known,
                "acc": acc.expected, "acc_tp_fp_fn": acc.tp_fp_fn, "acc_pooled": acc.pooled}

    def evaluation(self, scores: Scores, train_pieces: list[np.ndarray], pieces: list[np.ndarray],
                   config: RunConfig, seconds: float) -> Evaluation:
        """Returns: what rnn_rbm_evaluate.py reports of the Scores of `pieces` (a split, as
        read_split gives it), with the references fitted on `train_pieces`."""
        return Evaluation(scores.nll, scores.nll_se, scores.mean_log_z_over_known, scores.accuracy,
                          len(scores.log_p), bernoulli.uniform_log_likelihood(self.n_visible),
                          bernoulli.bernoulli_log_likelihood(train_pieces, pieces,
                                                             config.evaluate.reference_smoothing),
                          seconds, accuracy.previous_frame_accuracy(pieces), scores.exact)

    # ---- its drawing: generation ----

    @classmethod
    def check_generation(cls, settings: GenerateConfig, melody: Path | None) -> None:
        """Raises UserError for generation settings the model does not take (a frame model:
        --top_k, which is for words)."""
        if settings.top_k:
            raise UserError(f"--top_k is for the token models; the {cls.FAMILY} draws whole frames "
                            "(--temperature shapes them)")

    def describe_drawing(self, settings: GenerateConfig) -> str:
        """Returns: how `draw` draws a frame, for the log (default: "exact draws")."""
        return "exact draws"

    def read_primer(self, roll: np.ndarray | None, path: Path | None, config: RunConfig,
                    seed: int) -> tuple[np.ndarray | None, str | None]:
        """Returns: (what the model reads first: the --primer roll (steps, V), or None; what
        the primer was, for the run's record)."""
        return roll, path and str(path)

    def draw_pieces(self, drawing: Drawing, config: RunConfig, primer: np.ndarray | None = None,
                    melody: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Draws drawing.settings.num_samples pieces of drawing.settings.num_steps new frames
        with what generation lends (engine/sampling.py: the compiled sampler in chunks, and the
        frame loop, which the frame models use as it is).

        primer: what read_primer gave; melody: a roll (steps, V) whose top voice is held.
        Returns: (rolls, float32 0/1 (num_samples, primer frames + num_steps, V); the primer's frames).
        """
        return drawing.frames(primer, melody), 0 if primer is None else len(primer)

    # ---- written once, for every model ----

    def log_prob(self, v: tf.Tensor, mask: tf.Tensor, past: tf.Tensor | None = None) -> tf.Tensor:
        """log p(v(t) | v(<t)) of every frame of a batch (models whose frame_log_prob is exact).

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


class TanhRnn(FrameModel):
    """The paper's RNN (Boulanger-Lewandowski et al. 2012, eq. 11), written once for the models
    that read the music through it, with the visible bias it sets (eq. 9):

        u(t) = tanh(bu + v(t) Wvu + u(t-1) Wuu),    bv(t) = bv + u(t-1) Wuv,    u(0) = 0

    Glossary (V visible = pitches, R recurrent units): Wvu (V, R), Wuu (R, R), bu (R,),
    Wuv (R, V), bv (V,). The state is u, and the context of a step is u(t-1) itself. A
    subclass creates these weights in its __init__ (with `_weight`, in the order its random
    draws have always had), beside those of its frame distribution.
    """

    bv: tf.Variable
    Wuv: tf.Variable
    Wvu: tf.Variable
    Wuu: tf.Variable
    bu: tf.Variable

    @staticmethod
    def _weight(shape: tuple[int, int], name: str, init_std: float, rng: tf.random.Generator) -> tf.Variable:
        return tf.Variable(rng.normal(shape, stddev=init_std), name=name)

    @property
    def n_visible(self) -> int:
        return int(self.bv.shape[0])

    @property
    def n_recurrent(self) -> int:
        return int(self.bu.shape[0])

    @property
    def visible_bias(self) -> tf.Variable:
        return self.bv

    def initial_state(self, batch: int | tf.Tensor) -> tf.Tensor:
        """Returns: u(0) = 0, float32 (batch, R)."""
        return tf.zeros([batch, self.n_recurrent])

    def rnn_step(self, u_prev: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
        """u(t) = tanh(bu + v(t) Wvu + u(t-1) Wuu).

        Returns: float32 (batch, R).
        """
        return tf.tanh(self.bu + tf.matmul(v, self.Wvu) + tf.matmul(u_prev, self.Wuu))

    def visible_logits(self, u_prev: tf.Tensor, output_bias: tf.Tensor | None = None) -> tf.Tensor:
        """bv(t) = bv + u(t-1) Wuv from the RNN state u(t-1), shape (..., R); with output_bias
        (V,), that bias in place of bv.

        Returns: float32 (..., V).
        """
        return (self.bv if output_bias is None else output_bias) + tf.tensordot(u_prev, self.Wuv, axes=1)

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
        return self.visible_logits(self.contexts(v), output_bias)

    def independent_log_prob(self, v: tf.Tensor, mask: tf.Tensor, output_bias: tf.Tensor) -> tf.Tensor:
        """log p(v(t) | v(<t)) of every frame under `independent_logits`.

        v: (batch, T, V); mask: (batch, T), 1 on real frames; output_bias: (V,).
        Returns: float32 (batch, T), nats; 0 where mask is 0.
        """
        return bernoulli.log_prob(v, self.independent_logits(v, output_bias)) * mask


class RecurrentBiases(TanhRnn):
    """A frame distribution with weights W (V, H) and biases bv, bh whose per-step values the
    tanh RNN sets (Boulanger-Lewandowski et al. 2012): the RNN-RBM and the RNN-NADE.

    Glossary (paper's symbols; V visible = pitches, H hidden, R recurrent units), with
    TanhRnn's Wvu, Wuu, bu:
        W    (V, H)  frame distribution's weights, shared by every time step
        bv   (V,)    visible bias, bv(t) = bv + u(t-1) Wuv        (paper eq. 9)
        bh   (H,)    hidden bias,  bh(t) = bh + u(t-1) Wuh        (paper eq. 10)
        Wuv  (R, V)  RNN state -> visible bias
        Wuh  (R, H)  RNN state -> hidden bias
        u(0) = 0: the first frame's distribution has biases bv, bh.
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

    @classmethod
    def from_config(cls, config: RunConfig, rng: tf.random.Generator) -> RecurrentBiases:
        return cls(config.data.num_pitches, config.model.n_hidden, config.model.n_recurrent,
                   config.model.init_std, rng)

    def pretrain_variables(self) -> list[tf.Variable]:
        """Returns: [W, bv, bh] (and any other weights of the frame distribution alone)."""
        return [self.W, self.bv, self.bh]

    def step_biases_from(self, u_prev: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The biases of frame t's distribution from the RNN state u(t-1), shape (..., R).

        Returns: (bv(t), float32 (..., V); bh(t), float32 (..., H)).
        """
        return self.visible_logits(u_prev), self.bh + tf.tensordot(u_prev, self.Wuh, axes=1)

    def step_biases(self, v: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The biases of every step of v (batch, T, V), each set from the true past.

        Returns: (bv(t), float32 (batch, T, V); bh(t), float32 (batch, T, H)).
        """
        return self.step_biases_from(self.previous_states(v))


def piece_batches(lengths: list[int], pieces: int = PIECES_PER_BATCH, frames: int = FRAMES_PER_BATCH) -> list[list[int]]:
    """Cuts pieces, in the order given, into consecutive batches of at most `pieces` pieces
    and `frames` padded frames (pieces x the longest's length; a longer piece goes alone).

    lengths: each piece's steps. Returns: the batches, as lists of piece indices.
    """
    batches: list[list[int]] = []
    longest = 0
    for index, length in enumerate(lengths):
        if batches and len(batches[-1]) < pieces and (len(batches[-1]) + 1) * max(longest, length) <= frames:
            batches[-1].append(index)
            longest = max(longest, length)
        else:
            batches.append([index])
            longest = length
    return batches


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
    """Pads a batch with empty steps to a multiple of TIME_QUANTUM: room for `chain_rows`,
    which rounds each piece's steps up to a multiple of 4, and few shapes for the steps' frame
    maths. (The compiled recurrence pads the count of pieces itself.)

    Returns: (v, (batch, T', V); mask, (batch, T')), zeros where padded.
    """
    extra = [[0, 0], [0, -tf.shape(v)[1] % TIME_QUANTUM]]
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


# ---- what the engine gets from a model's `scorer`, and lends its `draw_pieces` ----

@dataclass(frozen=True)
class ScoreSettings:
    """How a split is scored: `draws` draws of every frame for the expected accuracy (0: none),
    and for a model whose likelihood is estimated (the RNN-RBM's AIS) its `chains` per frame,
    `temperatures`, `batch_frames` frames whose chains run together, and `reference()`, the
    base's visible bias and the known frames (scoring.ais_reference; called only by a model
    that needs them). gibbs_steps: the chain of a model that draws by one (exact draws ignore it)."""

    draws: int
    chains: int = 0
    temperatures: int = 0
    batch_frames: int = 0
    reference: Callable[[], tuple[np.ndarray | None, np.ndarray | None]] = lambda: (None, None)
    gibbs_steps: int = 25


@dataclass
class Scores:
    """A split's figures. log_p, float64 (T,), nats, each frame's log-likelihood in piece order;
    variance, float64 (T,), nats^2, the estimate's variance of each (0 where exact); counts,
    float64 (T, draws, 3), each frame's true positives, false positives and false negatives in
    each draw; log_z_over_known, float64 (T,), nats, log(Z estimate / Z of the known states)
    of each frame (0 when AIS found no mass outside them; nan without known states); exact:
    whether log_p is exact."""

    log_p: np.ndarray
    variance: np.ndarray
    counts: np.ndarray
    log_z_over_known: np.ndarray
    exact: bool = True

    @property
    def nll(self) -> float:
        """Returns: the mean negative log-likelihood per frame, nats (positive)."""
        return float(-self.log_p.mean())

    @property
    def nll_se(self) -> float:
        """Returns: the standard error of `nll` from the estimates (AIS), nats; 0 when exact."""
        return float(math.sqrt(self.variance.sum()) / len(self.log_p))

    @property
    def accuracy(self) -> accuracy.Accuracy:
        """Returns: the expected frame accuracy (the paper's), TP / (TP + FP + FN) and the pooled
        one, over draws."""
        return accuracy.summarise(self.counts)

    @property
    def mean_log_z_over_known(self) -> float:
        """Returns: the mean over frames of log(Z estimate / Z known), nats: how much of the
        estimated Z lies outside the known training frames. Near 0, the chains found almost
        nothing else, and nll_se, which measures only the spread of what they found, says
        little about the mass they may have missed."""
        return float(np.mean(self.log_z_over_known))


# A model's scorer: (pieces, each (steps, V), time-major; progress) -> their Scores. Its
# `compiled` attribute lists its tf.functions (for tests that count traces).
Scorer = Callable[..., Scores]


class ExactScorer:
    """Exact log-likelihood of every frame given its true past, and `draws` exact draws of
    every frame for the expected accuracy (none with draws 0: the token models, whose
    "frames" are words), for a model whose frame_log_prob is exact; compiled once. Gives the
    Scores of a split (variance 0, no log_z_over_known)."""

    def __init__(self, model: FrameModel, draws: int, gibbs_steps: int, rng: tf.random.Generator):
        self.model, self.draws, self.gibbs_steps, self.rng = model, draws, gibbs_steps, rng
        batch_spec = [tf.TensorSpec([None, None, model.n_visible], tf.float32), tf.TensorSpec([None, None], tf.float32)]

        @tf.function(input_signature=batch_spec)
        def rows(v: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            """The real frames of a padded batch and the context before each, piece after piece."""
            real = tf.where(mask > 0)
            return tf.gather_nd(v, real), tf.gather_nd(model.contexts(v), real)

        self.rows = rows
        # A context's shape past (batch, time), the model's own: read from one frame.
        self.measure = self._measure(model.contexts(tf.zeros([1, 1, model.n_visible])).shape[2:])
        self.compiled = [rows, self.measure]

    def _measure(self, context_shape: tf.TensorShape) -> Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
        """Compiles, for contexts of `context_shape` (one frame's), the log-probability of each
        frame and the counts of its `draws` exact draws."""
        model, draws, gibbs_steps, rng = self.model, self.draws, self.gibbs_steps, self.rng

        @tf.function(input_signature=[tf.TensorSpec([None, model.n_visible], tf.float32),
                                      tf.TensorSpec([None, *context_shape], tf.float32)])
        def measure(frames: tf.Tensor, contexts: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            log_p = model.frame_log_prob(frames, contexts)
            if not draws:
                return log_p, tf.zeros([tf.shape(frames)[0], 0, 3])
            seed = philox.new_seed(rng)
            # One draw after another, each reduced to its counts before the next starts: drawn
            # side by side, their work held 440 MB more for 64 of MuseData's pieces.
            counts: list[tf.Tensor] = []
            for d in range(draws):
                with tf.control_dependencies(counts[-1:]):
                    counts.append(accuracy.frame_counts(model.draw(contexts, gibbs_steps, philox.substream(seed, d)),
                                                        frames))
            return log_p, tf.stack(counts, axis=1)  # (N, draws, 3)

        return measure

    def __call__(self, rolls: list[np.ndarray], progress: bool = True) -> Scores:
        """Returns: the Scores of the frames of `rolls` (pieces, each (steps, V), time-major),
        in piece order."""
        log_p, counts = [], []
        # Batches of PIECES_PER_BATCH pieces, as the published figures were measured: the draws
        # for the accuracy come from one seed per batch, each frame from its row in the batch,
        # so other batches would draw other frames. The recurrence, whose padded states are
        # what costs memory (64 of MuseData's pieces padded to its longest: 5.4 GB), runs on
        # at most FRAMES_PER_BATCH padded frames at a time; the rows join in piece order,
        # so the draws are the same.
        starts = range(0, len(rolls), PIECES_PER_BATCH)
        for start in tqdm(starts, desc="exact likelihood", unit="batch", leave=False,
                          disable=None if progress else True):
            group = rolls[start : start + PIECES_PER_BATCH]
            parts = [self.rows(*(tf.constant(x) for x in pad_batch([group[i] for i in batch])))
                     for batch in piece_batches([len(p) for p in group], frames=FRAMES_PER_BATCH)]
            frames, contexts = (tf.concat([part[i] for part in parts], axis=0) for i in (0, 1))
            del parts  # joined: the contexts of 64 of MuseData's pieces are 100 MB a copy
            got = self.measure(frames, contexts)
            log_p.append(got[0].numpy())
            counts.append(got[1].numpy())
        log_p_all = np.concatenate(log_p).astype(np.float64)
        return Scores(log_p_all, np.zeros_like(log_p_all), np.concatenate(counts).astype(np.float64),
                      np.full_like(log_p_all, np.nan))


@dataclass(frozen=True)
class Evaluation:
    """What rnn_rbm_evaluate.py reports about one split of a frame model."""

    nll: float  # nats per frame, positive
    nll_se: float  # nats, the estimate's standard error (0 when exact)
    log_z_over_known: float  # nats, mean log(Z estimate / Z known); nan without known states
    accuracy: accuracy.Accuracy  # expected (the paper's), TP / (TP + FP + FN) and pooled frame accuracy
    frames: int
    uniform_ll: float  # nats per frame (negative)
    bernoulli_ll: float  # nats per frame (negative)
    seconds: float
    previous_frame_acc: float  # the accuracy of forecasting each frame as the one before it
    exact: bool = True  # the likelihood is exact (no AIS)

    def figures(self) -> dict[str, object]:
        """Returns: the figures as the evaluate command's JSON line and its record give them:
        nll (nats per frame, positive), nll_se, acc (the paper's expected frame accuracy) with
        the other accuracies beside it, log_z_over_known, frames, exact, and the references
        (uniform and independent-pitch log-likelihoods, the copy-previous-frame accuracy)."""
        acc = self.accuracy
        return {"nll": self.nll, "nll_se": self.nll_se, "acc": acc.expected, "acc_se": acc.expected_se,
                "acc_tp_fp_fn": acc.tp_fp_fn, "acc_pooled": acc.pooled,
                "log_z_over_known": json_number(self.log_z_over_known), "frames": self.frames,
                "exact": self.exact, "uniform_ll": self.uniform_ll, "bernoulli_ll": self.bernoulli_ll,
                "previous_frame_acc": self.previous_frame_acc}


class Drawing(Protocol):
    """What generation (engine/sampling.py) lends a model's `draw_pieces`."""

    settings: GenerateConfig  # how many pieces, how long, how drawn
    progress: bool  # show a bar (only on a terminal)

    def head(self, primer: np.ndarray | None) -> np.ndarray:
        """Returns: what every piece starts with, float32 (num_samples, primer steps, V)."""

    def chunks(self, head: np.ndarray) -> Callable[[int, list], np.ndarray]:
        """Returns: (steps, clamp) -> the next `steps` steps of every piece after `head`,
        drawn by the model's compiled sampler, its state and random stream carried."""

    def frames(self, primer: np.ndarray | None, melody: np.ndarray | None) -> np.ndarray:
        """Returns: the pieces drawn frame after frame (engine/sampling.generate)."""
