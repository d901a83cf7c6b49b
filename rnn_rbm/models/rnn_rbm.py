"""The RNN-RBM of Boulanger-Lewandowski, Bengio & Vincent, "Modeling Temporal
Dependencies in High-Dimensional Sequences: Application to Polyphonic Music
Generation and Transcription", ICML 2012.

A recurrent network reads the music frame by frame; its state after frame t-1
sets the biases of the RBM that models frame t. The RNN and the biases it sets
are models/base.py's RecurrentBiases (glossary there); this module adds the RBM:
CD-k training and pretraining, Gibbs sampling, and its likelihood, whose partition
functions are estimated by annealed importance sampling (AisScorer, below).

Rolls and batches are time-major: v is (batch, num_steps, V), float32 0/1.
Callers wrap the methods here in tf.function; the Gibbs chains and the recurrence
inside run XLA-compiled functions (cdk.py, recurrence.py).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_rbm.config import NEGATIVE_STARTS, EvalConfig, GenerateConfig, PretrainConfig, TrainConfig
from rnn_rbm.data.dataset import all_frames, pad_batch
from rnn_rbm.models.base import (SCHEDULED_SAMPLING_STREAMS, RecurrentBiases, Scores, ScoreSettings, chain_rows,
                                 flatten_steps, pad_for_recurrence, piece_batches)
from rnn_rbm.ops import accuracy, ais, cdk, philox, rbm

# The sub-stream of a training step's seed that chooses the mixed start of each chain: the
# chains draw from the seed itself, scheduled sampling from the streams before this one.
MIXED_START_STREAM = SCHEDULED_SAMPLING_STREAMS[-1] + 1
# frame_biases: padded frames whose biases are computed at once (its recurrence keeps little).
BIASES_FRAMES_PER_BATCH = 16384


class RnnRbm(RecurrentBiases):
    """The RNN-RBM: an RBM over each frame whose biases the RNN sets."""

    FAMILY = "rnn_rbm"
    DESCRIPTION = "the RNN-RBM, an RBM over each frame"
    EXACT = False  # the RBM's partition function: estimated by AIS (AisScorer)

    def __init__(self, n_visible: int, n_hidden: int, n_recurrent: int, init_std: float,
                 rng: tf.random.Generator):
        super().__init__(n_visible, n_hidden, n_recurrent, init_std, rng, name="rnn_rbm")

    @classmethod
    def pretraining(cls, pretrain: PretrainConfig) -> str:
        return f"CD-{pretrain.cd_k}"

    def describe_loss(self, train: TrainConfig) -> str:
        return f"CD-{train.cd_k}"

    def describe_drawing(self, settings: GenerateConfig) -> str:
        return f"{settings.gibbs_steps} Gibbs steps each"

    def describe_scoring(self, evaluate: EvalConfig) -> str:
        return (f"AIS {evaluate.ais_chains} chains x {evaluate.ais_temperatures} temperatures (base: "
                f"{evaluate.ais_base}), accuracy from {evaluate.acc_draws} draws")

    def scorer(self, settings: ScoreSettings, rng: tf.random.Generator) -> AisScorer:
        """Returns: the AIS scorer of the RNN-RBM's frames, with settings' chains, temperatures,
        draws and reference (base bias and known frames)."""
        return AisScorer(self, settings.chains, settings.temperatures, settings.draws, settings.batch_frames, rng,
                         *settings.reference())

    def pretrain_cost(self, frames: tf.Tensor, k: int, rng: tf.random.Generator) -> tf.Tensor:
        """CD-k of the RBM alone (the first frame's RBM), on frames (N, V).

        Returns: float32 scalar, nats per frame (a surrogate whose gradient is CD-k's).
        """
        return cdk.cd_cost(frames, self.W, self.bv, self.bh, k, rng)

    def pretrain_reconstruction_error(self, frames: tf.Tensor) -> tf.Tensor:
        """Returns: float32 scalar, the mean squared error of the RBM's one-step mean-field
        reconstruction of frames (N, V): how pretraining is usually watched (Hinton's guide)."""
        reconstruction = rbm.propdown(rbm.propup(frames, self.W, self.bh), self.W, self.bv)
        return tf.reduce_mean(tf.square(frames - reconstruction))

    def loss(self, v: tf.Tensor, mask: tf.Tensor, train: TrainConfig, seed: tf.Tensor,
             row_offset: int | tf.Tensor = 0) -> tf.Tensor:
        return self.cost(v, mask, train.cd_k, seed, train.negative_start, row_offset,
                         past=self.training_past(v, mask, train, seed), zeros_share=train.zeros_start_share)

    def cost(self, v: tf.Tensor, mask: tf.Tensor, k: int, rng: tf.random.Generator | tf.Tensor,
             negative_start: str = "data", row_offset: int | tf.Tensor = 0,
             past: tf.Tensor | None = None, zeros_share: float = TrainConfig.zeros_start_share) -> tf.Tensor:
        """CD-k cost of all steps of a batch at once, padding masked out.

        v: (batch, T, V); mask: (batch, T), 1 on real frames.
        negative_start: "data" starts each negative chain at the true frame (CD-k as in
        the paper); "zeros" at the all-zero frame, where generation starts its chains;
        "mixed" each chain at zeros with probability zeros_share, else at the true frame.
        rng: a Generator or a seed (philox.new_seed). The chains' draws are those of rows
        row_offset, row_offset + 1, ... of the seed (see `chain_rows`): a batch split
        between devices draws what it would draw whole.
        past: the frames the RNN reads, (batch, T, V) (default v; see `training_past`).
        Returns: float32 scalar, nats per frame (a surrogate whose gradient is CD-k's).
        """
        if negative_start not in NEGATIVE_STARTS:
            raise ValueError(f"negative_start must be one of {NEGATIVE_STARTS}, not {negative_start!r}")
        # Padding costs the RNN alone: the RBM work (most of the step) is done on the real
        # frames only.
        past, _ = pad_for_recurrence(v if past is None else past, mask)
        v, mask = pad_for_recurrence(v, mask)
        rows = tf.where(tf.reshape(chain_rows(mask), [-1]))[:, 0]
        frames = tf.gather(flatten_steps(v), rows)
        bv_t, bh_t = self.step_biases_from(tf.gather(flatten_steps(self.previous_states(past)), rows))
        seed = philox.seed_of(rng)
        start = None
        if negative_start == "zeros":
            start = tf.zeros_like(frames)
        elif negative_start == "mixed":
            # A frame's choice is its row's, so a batch split between devices chooses what it
            # would choose whole.
            if not 0 < zeros_share < 1:
                raise ValueError(f"zeros_share must be between 0 and 1 (exclusive), not {zeros_share}")
            logit = tf.fill(tf.shape(frames[:, :1]), math.log(zeros_share / (1.0 - zeros_share)))
            from_zeros = philox.bernoulli_logits(logit, philox.substream(seed, MIXED_START_STREAM), 0, row_offset)
            start = frames * (1.0 - from_zeros)
        weights = tf.gather(tf.reshape(mask, [-1]), rows)
        return cdk.cd_cost(frames, self.W, bv_t, bh_t, k, seed, weights=weights, v_start=start,
                           row_offset=row_offset)

    def predict(self, v: tf.Tensor, gibbs_steps: int, rng: tf.random.Generator | tf.Tensor,
                mask: tf.Tensor | None = None) -> tf.Tensor:
        """Draws each frame from the model given the true past: a Gibbs chain of
        `gibbs_steps` steps from the all-zero frame (as in generation), all frames' chains
        at once in cdk.py's compiled chain.

        mask: optional (batch, T), 1 on real frames: only those are drawn, the others are 0.
        Returns: float32 0/1 (batch, T, V).
        """
        shape = tf.shape(v)
        mask = tf.ones(shape[:2]) if mask is None else mask
        v, mask = pad_for_recurrence(v, mask)
        u_prev = flatten_steps(self.previous_states(v))
        rows = tf.where(tf.reshape(mask, [-1]) > 0)
        bv_t, bh_t = self.step_biases_from(tf.gather_nd(u_prev, rows))
        drawn = cdk.gibbs_chain(tf.zeros_like(bv_t), self.W, bv_t, bh_t, gibbs_steps, rng)
        drawn = tf.reshape(tf.scatter_nd(rows, drawn, tf.shape(flatten_steps(v), out_type=rows.dtype)), tf.shape(v))
        return drawn[:shape[0], :shape[1]]

    def draw(self, context: tf.Tensor, gibbs_steps: int, seed: tf.Tensor, temperature: float = 1.0,
             held_mask: tf.Tensor | None = None, held_values: tf.Tensor | None = None) -> tf.Tensor:
        """`gibbs_steps` Gibbs steps from the all-zero frame in the RBM that u(t-1) = context
        sets, its energy divided by `temperature`. A held unit starts at its value and is
        reset there after each v-sample, so the hidden units see it.

        Returns: float32 0/1 (N, V).
        """
        bv_t, bh_t = self.step_biases_from(context)
        return rbm.gibbs_chain(tf.zeros_like(bv_t), self.W, bv_t, bh_t, gibbs_steps, seed, held_mask=held_mask,
                               held_values=held_values, temperature=temperature)

    def frame_score(self, v: tf.Tensor, context: tf.Tensor) -> tf.Tensor:
        """-F(v) under the step's RBM: within one step log Z is the same for every frame."""
        return -rbm.free_energy(v, self.W, *self.step_biases_from(context))

    def given_log_prob(self, v: tf.Tensor, context: tf.Tensor, given: tf.Tensor,
                       settings: ScoreSettings, rng: tf.random.Generator) -> tuple[tf.Tensor, tf.Tensor]:
        """Estimated by AIS (settings.chains chains, settings.temperatures temperatures per
        frame). With the given units held, what is left of frame t's RBM is an RBM over the
        other units whose hidden biases take the held units' input, bh(t) + v_given W; held
        units get a visible bias of -CLAMPED (off in every chain, and in the base, so they add
        nothing to any weight), and log p = -F(v with the held units off) - log Z of that RBM."""
        bv_t, bh_t = self.step_biases_from(context)
        bh_given = bh_t + tf.matmul(v * given, self.W)
        bv_given = tf.where(given > 0, -CLAMPED, bv_t)
        log_w, _ = ais.anneal(self.W, bv_given, bh_given, bv_given, tf.constant(ais.linear_betas(settings.temperatures)),
                              settings.chains, rng)
        estimate = ais.summarise(log_w.numpy())
        free = rbm.free_energy(v * (1.0 - given), self.W, bv_given, bh_given)
        return -free - tf.constant(estimate.log_z, tf.float32), tf.constant(estimate.variance, tf.float32)


# The visible bias of a held unit in given_log_prob's RBM: exp(-CLAMPED) is 0 in float32.
CLAMPED = 1e4


# ---- the RNN-RBM's likelihood: one AIS run per frame ----
#
# Both of Table 1's measures read each piece with the true past: frame t is scored under the
# RBM that the model sets from frames < t, with biases bv(t), bh(t), and one annealed
# importance sampling run per frame (rnn_rbm/ops/ais.py; all frames x chains at once, in
# batches of frames) serves both:
#
# - Log-likelihood per frame, nats, averaged over every frame of a split:
#   log p(v_t) = -F_t(v_t) - log Z_t, F_t the free energy of frame t's RBM (exact) and log Z_t
#   the log of the mean AIS weight of its chains. Standard error: that of the AIS estimates
#   alone (the frames are fixed). The frames' estimates are independent, so their
#   delta-method variances add: se = sqrt(sum_t Var(w_t) / (M mean(w_t)^2)) / T, M chains,
#   T frames.
# - Expected frame-level accuracy (Bay et al. 2009), as the paper defines it (ops/accuracy.py):
#   each draw of a frame is one of its M chains' last states, chosen with probability
#   proportional to its importance weight (sampling-importance-resampling). Each of `draws`
#   draws of the whole split gives one figure; the estimate is their mean, its standard error
#   their spread (over resampling only: the chains are shared by the draws).


def frame_biases(step_biases: Callable, rolls: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every real frame of `rolls` with the biases its RBM gets from the true past.

    step_biases: the model's `step_biases`, compiled once by the caller.
    Returns: (frames, float32 (T, V); bv(t), float32 (T, V); bh(t), float32 (T, H)), T the
    total number of frames, in piece order (not padded).
    """
    # Pieces of similar length share a batch (little padding), then go back to piece order. At
    # most BIASES_FRAMES_PER_BATCH padded frames a batch: 64 of MuseData's longest pieces at once
    # held 950 MB (JSB's 64 pieces a batch stay as they were).
    order = sorted(range(len(rolls)), key=lambda i: len(rolls[i]))
    pieces: list[tuple[np.ndarray, np.ndarray]] = [None] * len(rolls)  # type: ignore[list-item]
    for batch in piece_batches([len(rolls[i]) for i in order], frames=BIASES_FRAMES_PER_BATCH):
        group = [order[b] for b in batch]
        v, _ = pad_batch([rolls[i] for i in group])
        bv_t, bh_t = (x.numpy() for x in step_biases(tf.constant(v)))
        for row, i in enumerate(group):
            pieces[i] = (bv_t[row, : len(rolls[i])], bh_t[row, : len(rolls[i])])
    return (all_frames(rolls), np.concatenate([p[0] for p in pieces]), np.concatenate([p[1] for p in pieces]))


class AisScorer:
    """Log-likelihood of every frame given its true past (log Z_t by AIS with `chains` chains
    per frame and `temperatures` intermediate distributions) and `draws` draws of every frame
    for the expected accuracy; compiled once, then called for any number of splits.

    base_bias: float32 (V,) visible biases of one AIS base for every frame; None gives each
    frame the base with its own visible bias bv(t).
    known: float32 0/1 (S, V) distinct frames whose part of every Z is summed exactly (the
    chains then estimate only the rest, see ais.summarise); None: AIS alone.
    rng: the generator the chains and draws use.
    """

    def __init__(self, model: RnnRbm, chains: int, temperatures: int, draws: int, batch_frames: int,
                 rng: tf.random.Generator, base_bias: np.ndarray | None = None,
                 known: np.ndarray | None = None):
        self.model, self.chains, self.temperatures, self.draws = model, chains, temperatures, draws
        self.batch_frames, self.base_bias = batch_frames, base_bias
        n_visible = int(model.W.shape[0])
        # No known states: an empty set, which leaves AIS alone.
        self.known = tf.constant(np.zeros((0, n_visible), np.float32) if known is None else known)
        betas = tf.constant(ais.linear_betas(temperatures))
        known_t, W = self.known, model.W
        matrix = tf.TensorSpec([None, None], tf.float32)
        self.step_biases = tf.function(model.step_biases, input_signature=[tf.TensorSpec([None, None, None],
                                                                                         tf.float32)])

        @tf.function(input_signature=[matrix, matrix, matrix])
        def run(bv: tf.Tensor, bh: tf.Tensor, b0: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
            log_w, states = ais.anneal(W, bv, bh, b0, betas, chains, rng)
            return log_w, states, ais.outside(states, known_t)

        @tf.function(input_signature=[matrix, matrix])
        def known_mass(bv: tf.Tensor, bh: tf.Tensor) -> tf.Tensor:
            return ais.known_minus_free_energy(W, bv, bh, known_t)

        @tf.function(input_signature=[matrix, tf.TensorSpec([None, chains], tf.float32),
                                      tf.TensorSpec([None, chains, n_visible], tf.float32),
                                      tf.TensorSpec([None, chains], tf.bool), matrix])
        def count(v, log_w, states, chain_outside, minus_free) -> tf.Tensor:
            drawn = ais.resample(log_w, states, draws, rng, chain_outside, known_t, minus_free)  # (N, draws, V)
            return accuracy.frame_counts(drawn, v[:, tf.newaxis, :])  # (N, draws, 3)

        @tf.function(input_signature=[matrix, matrix, matrix])
        def free_energy(v: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor) -> tf.Tensor:
            return rbm.free_energy(v, W, bv, bh)

        self.run, self.known_mass, self.count, self.free_energy = run, known_mass, count, free_energy
        self.compiled = [self.step_biases, run, known_mass, count, free_energy]

    def __call__(self, rolls: list[np.ndarray], progress: bool = True) -> Scores:
        """Returns: the Scores of the frames of `rolls` (pieces, each (steps, V), time-major)."""
        frames, bv_t, bh_t = frame_biases(self.step_biases, rolls)
        # Frames per exact sum over the known states: its (frames, S, H) tensor near 2^25 floats.
        exact_frames = max(1, 2**25 // max(1, len(self.known) * int(self.model.W.shape[1])))
        log_z, variance, over_known, counts = [], [], [], []
        starts = range(0, len(frames), self.batch_frames)
        for start in tqdm(starts, desc=f"AIS {self.chains} chains x {self.temperatures} temperatures",
                          unit="batch", leave=False, disable=None if progress else True):
            stop = min(start + self.batch_frames, len(frames))
            bv, bh = bv_t[start:stop], bh_t[start:stop]
            base = bv if self.base_bias is None else np.broadcast_to(self.base_bias, bv.shape)
            log_w, states, chain_outside = self.run(bv, bh, base)
            minus_free = tf.concat([self.known_mass(bv[i : i + exact_frames], bh[i : i + exact_frames])
                                    for i in range(0, stop - start, exact_frames)], axis=0)
            counts.append(self.count(frames[start:stop], log_w, states, chain_outside, minus_free).numpy())
            log_z_known = tf.reduce_logsumexp(minus_free, axis=1).numpy() if len(self.known) else None
            estimate = ais.summarise(log_w.numpy(), chain_outside.numpy(), log_z_known)
            log_z.append(estimate.log_z)
            variance.append(estimate.variance)
            over_known.append(estimate.log_z - log_z_known if log_z_known is not None
                              else np.full(stop - start, np.nan))
        free = self.free_energy(frames, bv_t, bh_t).numpy()
        return Scores(-free.astype(np.float64) - np.concatenate(log_z), np.concatenate(variance),
                      np.concatenate(counts).astype(np.float64), np.concatenate(over_known), exact=False)
