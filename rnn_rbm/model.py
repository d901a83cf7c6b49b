"""The RNN-RBM of Boulanger-Lewandowski, Bengio & Vincent, "Modeling Temporal
Dependencies in High-Dimensional Sequences: Application to Polyphonic Music
Generation and Transcription", ICML 2012.

A recurrent network reads the music frame by frame; its state after frame t-1
sets the biases of the RBM that models frame t.

Glossary (paper's symbols; V visible = pitches, H hidden, R recurrent units):
    W    (V, H)  RBM weights, shared by every time step
    bv   (V,)    visible bias, bv(t) = bv + u(t-1) Wuv        (paper eq. 9)
    bh   (H,)    hidden bias,  bh(t) = bh + u(t-1) Wuh        (paper eq. 10)
    Wuv  (R, V)  RNN state -> visible bias
    Wuh  (R, H)  RNN state -> hidden bias
    Wvu  (V, R)  frame -> RNN state
    Wuu  (R, R)  RNN state -> RNN state
    bu   (R,)    RNN bias,     u(t) = tanh(bu + v(t) Wvu + u(t-1) Wuu)   (eq. 11)
    u(0) = 0: the first frame's RBM has biases bv, bh.

Rolls and batches are time-major: v is (batch, num_steps, V), float32 0/1.
Callers wrap the methods here in tf.function; the Gibbs chains and the recurrence
inside run XLA-compiled functions (cdk.py, recurrence.py).
"""

from __future__ import annotations

import tensorflow as tf

from rnn_rbm import cdk, philox, rbm, recurrence
from rnn_rbm.config import RunConfig


# Training and the validation monitor pad each batch to a multiple of these
# (see _pad_for_recurrence).
TIME_QUANTUM = 64
BATCH_QUANTUM = 4


class RnnRbm(tf.Module):
    """The RNN-RBM's parameters and the recurrence that sets each step's RBM biases."""

    def __init__(self, n_visible: int, n_hidden: int, n_recurrent: int, init_std: float,
                 rng: tf.random.Generator):
        super().__init__(name="rnn_rbm")

        def weight(shape: tuple[int, int], name: str) -> tf.Variable:
            return tf.Variable(rng.normal(shape, stddev=init_std), name=name)

        def bias(size: int, name: str) -> tf.Variable:
            return tf.Variable(tf.zeros([size]), name=name)

        self.W = weight((n_visible, n_hidden), "W")
        self.bv = bias(n_visible, "bv")
        self.bh = bias(n_hidden, "bh")
        self.Wuv = weight((n_recurrent, n_visible), "Wuv")
        self.Wuh = weight((n_recurrent, n_hidden), "Wuh")
        self.Wvu = weight((n_visible, n_recurrent), "Wvu")
        self.Wuu = weight((n_recurrent, n_recurrent), "Wuu")
        self.bu = bias(n_recurrent, "bu")

    @classmethod
    def from_config(cls, config: RunConfig, rng: tf.random.Generator) -> RnnRbm:
        """Returns: a freshly initialised model of the config's sizes."""
        return cls(config.data.num_pitches, config.model.n_hidden, config.model.n_recurrent,
                   config.model.init_std, rng)

    @property
    def n_recurrent(self) -> int:
        return int(self.bu.shape[0])

    def rbm_parameters(self) -> list[tf.Variable]:
        """Returns: [W, bv, bh], the variables of the RBM alone (what pretraining trains)."""
        return [self.W, self.bv, self.bh]

    def initial_state(self, batch: int | tf.Tensor) -> tf.Tensor:
        """Returns: u(0) = 0, float32 (batch, R)."""
        return tf.zeros([batch, self.n_recurrent])

    def rnn_step(self, u_prev: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
        """u(t) = tanh(bu + v(t) Wvu + u(t-1) Wuu).

        Returns: float32 (batch, R).
        """
        return tf.tanh(self.bu + tf.matmul(v, self.Wvu) + tf.matmul(u_prev, self.Wuu))

    def rbm_biases(self, u_prev: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The biases of frame t's RBM from the RNN state u(t-1), shape (..., R).

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

    def final_state(self, v: tf.Tensor, u0: tf.Tensor | None = None) -> tf.Tensor:
        """Returns: u(T) after reading all frames of v (batch, T, V), float32 (batch, R)."""
        return self.rnn_step(self.previous_states(v, u0)[:, -1], v[:, -1])

    def step_biases(self, v: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The RBM biases of every step of v (batch, T, V), each set from the true past.

        Returns: (bv(t), float32 (batch, T, V); bh(t), float32 (batch, T, H)).
        """
        return self.rbm_biases(self.previous_states(v))

    def cost(self, v: tf.Tensor, mask: tf.Tensor, k: int, rng: tf.random.Generator | tf.Tensor,
             negative_start: str = "data", row_offset: int | tf.Tensor = 0) -> tf.Tensor:
        """CD-k cost of all steps of a batch at once, padding masked out.

        v: (batch, T, V); mask: (batch, T), 1 on real frames.
        negative_start: "data" starts each negative chain at the true frame (CD-k as in
        the paper); "zeros" at the all-zero frame, where generation starts its chains.
        rng: a Generator or a seed (philox.new_seed). The chains' draws are those of rows
        row_offset, row_offset + 1, ... of the seed (see `chain_rows`): a batch split
        between devices draws what it would draw whole.
        Returns: float32 scalar, nats per frame (a surrogate whose gradient is CD-k's).
        """
        if negative_start not in ("data", "zeros"):
            raise ValueError(f"negative_start must be 'data' or 'zeros', not {negative_start!r}")
        # Padding costs the RNN alone: the RBM work (most of the step) is done on the real
        # frames only.
        v, mask = _pad_for_recurrence(v, mask)
        rows = tf.where(tf.reshape(chain_rows(mask), [-1]))[:, 0]
        frames = tf.gather(_frames(v), rows)
        bv_t, bh_t = self.rbm_biases(tf.gather(_frames(self.previous_states(v)), rows))
        start = tf.zeros_like(frames) if negative_start == "zeros" else None
        weights = tf.gather(tf.reshape(mask, [-1]), rows)
        return cdk.cd_cost(frames, self.W, bv_t, bh_t, k, rng, weights=weights, v_start=start,
                           row_offset=row_offset)

    def predict(self, v: tf.Tensor, gibbs_steps: int, rng: tf.random.Generator,
                mask: tf.Tensor | None = None) -> tf.Tensor:
        """Draws each frame from the model given the true past: a Gibbs chain of
        `gibbs_steps` steps from the all-zero frame (as in generation).

        mask: optional (batch, T), 1 on real frames: only those are drawn, the others are 0.
        Returns: float32 0/1 (batch, T, V).
        """
        shape = tf.shape(v)
        mask = tf.ones(shape[:2]) if mask is None else mask
        v, mask = _pad_for_recurrence(v, mask)
        u_prev = _frames(self.previous_states(v))
        rows = tf.where(tf.reshape(mask, [-1]) > 0)
        bv_t, bh_t = self.rbm_biases(tf.gather_nd(u_prev, rows))
        drawn = cdk.gibbs_chain(tf.zeros_like(bv_t), self.W, bv_t, bh_t, gibbs_steps, rng)
        drawn = tf.reshape(tf.scatter_nd(rows, drawn, tf.shape(_frames(v), out_type=rows.dtype)), tf.shape(v))
        return drawn[:shape[0], :shape[1]]

    def sample(self, u0: tf.Tensor, num_steps: tf.Tensor, gibbs_steps: int,
               rng: tf.random.Generator | tf.Tensor, temperature: float = 1.0,
               clamp_mask: tf.Tensor | None = None, clamp_values: tf.Tensor | None = None,
               return_state: bool = False,
               first_step: int | tf.Tensor = 0) -> tf.Tensor | tuple[tf.Tensor, tf.Tensor]:
        """Generates frame after frame: frame t by `gibbs_steps` Gibbs steps from the
        all-zero frame in the RBM that u(t-1) sets, then u(t) from the drawn frame.

        u0: (batch, R) state to start from (zeros, or after a primer).
        temperature: a Python float > 0 dividing the RBM's energy (1: the model as trained).
        clamp_mask, clamp_values: optional float32 0/1 (batch or 1, num_steps, V). Where the
            mask is 1 the visible unit is held at its value in every frame's chain: it starts
            there and is reset there after each v-sample, so the hidden units see it.
        return_state: also return u after the last frame, to carry on from it.
        rng: a Generator (one seed is drawn from it) or a seed (philox.new_seed); frame t
            draws from sub-stream first_step + t of the seed, so a piece drawn in chunks
            from one seed (first_step = frames before the chunk) is the piece drawn at once.
        Returns: float32 0/1 (batch, num_steps, V); with return_state, also u, float32 (batch, R).
        """
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, not {temperature}")
        # T = 1 leaves the graph as it was: the same seed gives exactly the same music.
        scale = None if temperature == 1 else 1.0 / temperature
        W = self.W if scale is None else self.W * scale
        frames = tf.TensorArray(tf.float32, size=num_steps)
        u = u0
        seed = philox.new_seed(rng) if isinstance(rng, tf.random.Generator) else rng
        for t in tf.range(num_steps):
            bv_t, bh_t = self.rbm_biases(u)
            if scale is not None:
                bv_t, bh_t = bv_t * scale, bh_t * scale
            stream = philox.substream(seed, first_step + t)
            if clamp_mask is None:
                v = rbm.gibbs_chain(tf.zeros_like(bv_t), W, bv_t, bh_t, gibbs_steps, stream)
            else:
                v = _clamped_chain(W, bv_t, bh_t, clamp_mask[:, t], clamp_values[:, t], gibbs_steps, stream)
            frames = frames.write(t, v)
            u = self.rnn_step(u, v)
        drawn = tf.transpose(frames.stack(), [1, 0, 2])
        return (drawn, u) if return_state else drawn


def _clamped_chain(W: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor, mask: tf.Tensor, values: tf.Tensor,
                   k: int, seed: tf.Tensor) -> tf.Tensor:
    """k Gibbs steps from the all-zero frame with the units where mask is 1 held at `values`
    (mask, values: (N or 1, V)), so that the free units are drawn given them. Draws as
    rbm.gibbs_chain does from `seed` (philox.new_seed).

    Returns: v after k steps, float32 0/1 (N, V).
    """
    def hold(v: tf.Tensor) -> tf.Tensor:
        return v * (1.0 - mask) + values * mask

    def step(i: tf.Tensor, v: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        h = rbm.sample_h_given_v(v, W, bh, seed, 2 * i)
        return i + 1, hold(rbm.sample_v_given_h(h, W, bv, seed, 2 * i + 1))

    return tf.while_loop(lambda i, _: i < k, step, (tf.constant(0), hold(tf.zeros_like(bv))))[1]


def _pad_for_recurrence(v: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Pads a batch with empty steps to a multiple of TIME_QUANTUM and empty pieces to a
    multiple of BATCH_QUANTUM: the compiled recurrence then meets a few shapes only.

    Returns: (v, (batch', T', V); mask, (batch', T')), zeros where padded.
    """
    extra = [[0, -tf.shape(v)[0] % BATCH_QUANTUM], [0, -tf.shape(v)[1] % TIME_QUANTUM]]
    return tf.pad(v, extra + [[0, 0]]), tf.pad(mask, extra)


def chain_rows(mask: tf.Tensor) -> tf.Tensor:
    """Which steps of a batch get a CD chain: each piece's real steps, rounded up to a
    multiple of 4 with (masked) padding steps, so that every piece starts at a multiple of
    4 in the random stream (philox.random_words shares a block between 4 rows).

    mask: (batch, T), 1 on real steps, T a multiple of 4.
    Returns: bool (batch, T).
    """
    quads = tf.reduce_max(tf.reshape(mask, [tf.shape(mask)[0], -1, 4]), axis=2) > 0
    return tf.reshape(tf.repeat(quads, 4, axis=1), tf.shape(mask))


def _frames(x: tf.Tensor) -> tf.Tensor:
    """(batch, T, D) -> (batch * T, D): every step becomes one row of the RBM maths."""
    return tf.reshape(x, [-1, tf.shape(x)[-1]])
