"""The RNN-RBM of Boulanger-Lewandowski, Bengio & Vincent, "Modeling Temporal
Dependencies in High-Dimensional Sequences: Application to Polyphonic Music
Generation and Transcription", ICML 2012.

A recurrent network reads the music frame by frame; its state after frame t-1
sets the biases of the RBM that models frame t. The RNN and the biases it sets
are models/base.py's RecurrentBiases (glossary there); this module adds the RBM:
CD-k training, Gibbs sampling, and partition functions left to AIS (evaluate.py).

Rolls and batches are time-major: v is (batch, num_steps, V), float32 0/1.
Callers wrap the methods here in tf.function; the Gibbs chains and the recurrence
inside run XLA-compiled functions (cdk.py, recurrence.py).
"""

from __future__ import annotations

import math

import tensorflow as tf

from rnn_rbm.config import TrainConfig
from rnn_rbm.models.base import (SCHEDULED_SAMPLING_STREAMS, RecurrentBiases, chain_rows, flatten_steps,
                                 pad_for_recurrence)
from rnn_rbm.ops import cdk, philox, rbm

NEGATIVE_STARTS = ("data", "zeros", "mixed")
# The sub-stream of a training step's seed that chooses the mixed start of each chain: the
# chains draw from the seed itself, scheduled sampling from the streams before this one.
MIXED_START_STREAM = SCHEDULED_SAMPLING_STREAMS[-1] + 1


class RnnRbm(RecurrentBiases):
    """The RNN-RBM: an RBM over each frame whose biases the RNN sets."""

    FAMILY = "rnn_rbm"
    EXACT = False  # the RBM's partition function: estimated by AIS (evaluate.py)
    PRETRAINS = True

    def __init__(self, n_visible: int, n_hidden: int, n_recurrent: int, init_std: float,
                 rng: tf.random.Generator):
        super().__init__(n_visible, n_hidden, n_recurrent, init_std, rng, name="rnn_rbm")

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
        W = self.W
        # T = 1 leaves the graph as it was: the same seed gives exactly the same music.
        if temperature != 1:
            W, bv_t, bh_t = (x * (1.0 / temperature) for x in (W, bv_t, bh_t))
        return rbm.gibbs_chain(tf.zeros_like(bv_t), W, bv_t, bh_t, gibbs_steps, seed, held_mask=held_mask,
                               held_values=held_values)
