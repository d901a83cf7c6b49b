"""The acoustic model of transcription (Boulanger-Lewandowski, Bengio & Vincent 2012, Section 7):
per audio frame, an independent probability for each of the 88 piano keys, read from the
log-CQT of the frame and of its neighbours (transcription/features.py).

    x(t)  = the standardised log-CQT frames t-c, ..., t+c laid end to end (features.stack_context)
    h1(t) = relu(x(t) W1 + b1),  h_l(t) = relu(h_{l-1}(t) W_l + b_l),  l = 2..L
    P(key i sounds in audio frame t) = sigmoid(h_L(t) Wo + bo)_i

Glossary (D = 3 x 88 CQT bins, c = features.context, H = model.n_hidden, L = model.layers,
P = 88 keys): W1 ((2c+1) D, H), W_l (H, H), b_l (H,), Wo (H, P), bo (P,); mean and scale (D,),
not trained, the training audio's mean and standard deviation of each bin. Dropout
(model.dropout) after each hidden layer, in training only.

Sizes. The paper's acoustic model is Nam, Ngiam, Lee & Slaney (ISMIR 2011): a network of two
hidden layers of a few hundred units on spectrogram frames with their neighbours, one output
per note. Here two hidden layers of 256 ReLU units (config.FAMILIES), trained from scratch by
the cross-entropy of all notes at once with Adam, where Nam et al. pretrained a DBN and trained
a classifier per note: what the benchmark measures is what the prior adds to an acoustic model
of the paper's strength, not a better acoustic model. About 410,000 weights.

What it reads. A data set's rolls are played on the General MIDI piano (data/audiocache.py,
cached) and each audio frame becomes one "frame" of the sequences the trainer batches, its
notes and its audio laid end to end:

    columns [0, P)        the notes sounding in the frame (the roll's step, repeated over its
                          frames_per_step audio frames: features.roll_to_frames), the targets
    column P              1 where the frame counts, 0 on the margins below
    columns [P + 1, ...)  its log-CQT bins (float16 in memory, float32 in every batch)

A piece is cut into sequences of CHUNK_FRAMES counted frames, each with `context` more frames of
the piece on either side (its margins, not counted): a network without memory needs no longer
sequences, and equal short ones make every batch full; with the margins every counted frame sees
exactly the neighbours stack_context gives it in the whole piece. Stacking happens inside the
network (`stacked`), not in the data: the stacked frames of Nottingham's training audio would
take 2 GB, the plain ones 0.5 GB. Its validation is the cross-entropy of the valid split's notes
(select_metric valid_nll) with the frame accuracy at threshold 0.5 beside it; it draws no pieces.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_rbm.config import EvalConfig, GenerateConfig, RunConfig, TrainConfig
from rnn_rbm.data.audiocache import split_features
from rnn_rbm.data.dataset import Dataset, pad_batch, pitch_log_odds
from rnn_rbm.errors import UserError
from rnn_rbm.models.base import BIAS_SMOOTHING, FrameModel, Scores, ScoreSettings, mean_nll, piece_batches
from rnn_rbm.ops import accuracy, bernoulli
from rnn_rbm.transcription.audio import require_fluidsynth
from rnn_rbm.transcription import require_extra
from rnn_rbm.transcription.features import LOWEST_PITCH, NUM_KEYS, roll_to_frames

log = logging.getLogger(__name__)

# Counted audio frames per training sequence (16 s at 16 frames a second).
CHUNK_FRAMES = 256
# A standard deviation below this (a bin that never sounds) is taken as this, so that the
# standardised input stays finite.
MIN_SCALE = 1e-3


class Acoustic(FrameModel):
    """Notes given audio: 88 independent Bernoulli outputs of a feed-forward network."""

    FAMILY = "acoustic"
    DESCRIPTION = ("transcription's acoustic model: 88 note probabilities per audio frame from its log-CQT, "
                   "trained on the data's rolls played through FluidSynth")
    STEPS = "audio frames"
    GENERATES = False

    def __init__(self, n_pitches: int, n_bins: int, context: int, n_hidden: int, layers: int, dropout: float,
                 init_std: float, rng: tf.random.Generator):
        super().__init__(name="acoustic")
        if layers < 1:
            raise ValueError(f"the acoustic model needs at least one hidden layer, not {layers}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), not {dropout}")
        self.n_pitches, self.n_bins, self.context, self.dropout = n_pitches, n_bins, context, dropout

        def weight(shape: tuple[int, int], name: str) -> tf.Variable:
            return tf.Variable(rng.normal(shape, stddev=init_std), name=name)

        sizes = [(2 * context + 1) * n_bins] + [n_hidden] * layers
        self.W = [weight((sizes[l], sizes[l + 1]), f"W{l + 1}") for l in range(layers)]
        self.b = [tf.Variable(tf.zeros([n_hidden]), name=f"b{l + 1}") for l in range(layers)]
        self.Wo = weight((n_hidden, n_pitches), "Wo")
        self.bo = tf.Variable(tf.zeros([n_pitches]), name="bo")
        self.mean = tf.Variable(tf.zeros([n_bins]), trainable=False, name="mean")
        self.scale = tf.Variable(tf.ones([n_bins]), trainable=False, name="scale")

    @classmethod
    def from_config(cls, config: RunConfig, rng: tf.random.Generator) -> Acoustic:
        m = config.model
        return cls(config.data.num_pitches, config.features.num_bins, config.features.context, m.n_hidden,
                   m.layers, m.dropout, m.init_std, rng)

    @property
    def n_visible(self) -> int:
        """The columns of one audio frame: its notes, whether it counts, its CQT bins."""
        return self.n_pitches + 1 + self.n_bins

    @property
    def visible_bias(self) -> tf.Variable:
        return self.bo

    # ---- the network ----

    def stacked(self, features: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
        """Each audio frame with `context` neighbours on either side, standardised: what
        features.stack_context gives each piece, for a padded batch.

        features: (batch, T, D) log-CQT frames; mask: (batch, T), 1 on each piece's frames (from
        the first; None: all), whose ends are repeated as stack_context repeats a piece's.
        Returns: float32 (batch, T, (2c + 1) D); row t holds frames t-c..t+c, time before frequency.
        """
        x = (tf.cast(features, tf.float32) - self.mean) / self.scale
        shape = tf.shape(x)
        lengths = shape[1] * tf.ones([shape[0]], tf.int32) if mask is None else \
            tf.cast(tf.reduce_sum(mask, axis=1), tf.int32)
        last = tf.maximum(lengths, 1)[:, tf.newaxis, tf.newaxis] - 1
        offsets = tf.range(-self.context, self.context + 1)
        rows = tf.minimum(tf.maximum(tf.range(shape[1])[tf.newaxis, :, tf.newaxis] + offsets, 0), last)
        windows = tf.gather(x, rows, batch_dims=1)  # (batch, T, 2c + 1, D)
        return tf.reshape(windows, [shape[0], shape[1], (2 * self.context + 1) * self.n_bins])

    def _logits(self, x: tf.Tensor, keep: list[tf.Tensor] | None = None) -> tf.Tensor:
        """Returns: the notes' logits (..., P) of stacked inputs x (..., (2c + 1) D); keep: each
        hidden layer's dropout multipliers (training), or None."""
        h = x
        for layer, (W, b) in enumerate(zip(self.W, self.b)):
            h = tf.nn.relu(tf.tensordot(h, W, axes=1) + b)
            if keep is not None:
                h = h * keep[layer]
        return tf.tensordot(h, self.Wo, axes=1) + self.bo

    def split_frames(self, v: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Returns: (notes (..., P), counted (...), features (..., D)) of frames v (..., n_visible)."""
        p = self.n_pitches
        return v[..., :p], v[..., p], v[..., p + 1:]

    def note_logits(self, features: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
        """Returns: float32 (batch, T, P), the logit of every key in every audio frame of
        log-CQT features (batch, T, D) (mask: as for `stacked`)."""
        return self._logits(self.stacked(features, mask))

    def note_probabilities(self, features: tf.Tensor) -> tf.Tensor:
        """What transcription reads: P(key i sounds in audio frame t) of one recording.

        features: (T, D) log-CQT frames (features.log_cqt with the model's FeatureConfig).
        Returns: float32 (T, P), column i = MIDI pitch 21 + i.
        """
        return tf.sigmoid(self.note_logits(features[tf.newaxis]))[0]

    # ---- the interface: no memory, notes given the audio ----

    def initial_state(self, batch: int | tf.Tensor) -> tf.Tensor:
        """Returns: float32 (batch, 0): the model has no memory."""
        return tf.zeros([batch, 0])

    def rnn_step(self, state: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
        return state

    def contexts(self, v: tf.Tensor) -> tf.Tensor:
        """Returns: the notes' logits of every audio frame of v (batch, T, n_visible), every
        row a frame of its piece (see `stacked`), float32 (batch, T, P)."""
        return self.note_logits(self.split_frames(v)[2])

    def final_state(self, v: tf.Tensor, state0: tf.Tensor | None = None) -> tf.Tensor:
        return self.initial_state(tf.shape(v)[0]) if state0 is None else state0

    def frame_log_prob(self, v: tf.Tensor, context: tf.Tensor) -> tf.Tensor:
        """Returns: log P(the notes of v | the audio), v (N, n_visible) or (N, P), context the
        logits (N, P); float32 (N,), nats."""
        return bernoulli.log_prob(v[:, :self.n_pitches], context)

    def draw(self, context: tf.Tensor, gibbs_steps: int, seed: tf.Tensor, temperature: float = 1.0,
             held_mask: tf.Tensor | None = None, held_values: tf.Tensor | None = None) -> tf.Tensor:
        """Returns: notes drawn from the logits context (N, P), float32 0/1 (N, P): the audio is
        given, not drawn."""
        return bernoulli.draw(context, seed, 0, temperature, held_mask, held_values)

    def loss(self, v: tf.Tensor, mask: tf.Tensor, train: TrainConfig, seed: tf.Tensor,
             row_offset: int | tf.Tensor = 0) -> tf.Tensor:
        """The cross-entropy of the notes per counted audio frame (margins and padding left
        out), with dropout after each hidden layer drawn from rows row_offset... of `seed`.

        Returns: float32 scalar, nats per audio frame (88 notes).
        """
        notes, counted, features = self.split_frames(v)
        x = self.stacked(features, mask)
        rows = tf.where(tf.reshape(mask * counted, [-1]) > 0)[:, 0]
        x = tf.gather(tf.reshape(x, [-1, tf.shape(x)[-1]]), rows)
        keep = None
        if self.dropout:
            count = tf.shape(rows)[0]
            keep = [bernoulli.keep_mask(count, int(W.shape[1]), self.dropout, seed, layer, row_offset)
                    for layer, W in enumerate(self.W)]
        log_p = bernoulli.log_prob(tf.gather(tf.reshape(notes, [-1, self.n_pitches]), rows), self._logits(x, keep))
        return mean_nll(log_p, tf.ones_like(log_p))

    def describe_loss(self, train: TrainConfig) -> str:
        return "cross-entropy of the 88 notes per audio frame"

    # ---- what it reads: audio frames rendered from the rolls ----

    @classmethod
    def prepare_training(cls, dataset: Dataset, config: RunConfig) -> tuple[Dataset, RunConfig]:
        """Returns: the training and validation pieces as audio frames (read_split), and the
        config as it is. Raises UserError for settings it cannot train with, or without FluidSynth."""
        require_extra()
        train = config.train
        if train.select_metric != "valid_nll":
            raise UserError(f"the acoustic model selects by valid_nll (its notes' cross-entropy), not "
                            f"{train.select_metric}")
        if train.image_every:
            raise UserError("the acoustic model draws no pieces to picture: set train.image_every=0")
        check_grid(config)
        return dataclasses.replace(dataset, train=cls.read_split(dataset, config, "train"),
                                   valid=cls.read_split(dataset, config, "valid"), test=[]), config

    @classmethod
    def read_split(cls, dataset: Dataset, config: RunConfig, split: str) -> list[np.ndarray]:
        """Returns: the pieces of `split` played and analysed (data/audiocache.py), cut into
        sequences of CHUNK_FRAMES counted audio frames with their margins, float16
        (frames, n_visible) each (the layout of the module docstring)."""
        check_grid(config)
        rolls = getattr(dataset, split)
        if not rolls:
            return []
        features = config.features
        features.hop  # noqa: B018  # raises UserError for a step the audio frames cannot share
        spectra = split_features(rolls, dataset.label, split, features, require_fluidsynth())
        return [chunk for roll, spectrum in zip(rolls, spectra)
                for chunk in audio_frames(roll, spectrum, features.frames_per_step, features.context)]

    def start_from_data(self, pieces: list[np.ndarray]) -> None:
        """Starts the input's standardisation at the training audio's mean and standard
        deviation of each bin, and the output bias at each note's log-odds (as the frame models
        start their visible bias), so that the first steps learn the music, not the scale."""
        frames = np.concatenate([piece[piece[:, self.n_pitches] > 0] for piece in pieces]).astype(np.float64)
        spectra = frames[:, self.n_pitches + 1:]
        self.mean.assign(spectra.mean(axis=0).astype(np.float32))
        self.scale.assign(np.maximum(spectra.std(axis=0), MIN_SCALE).astype(np.float32))
        self.bo.assign(pitch_log_odds(frames[:, :self.n_pitches], BIAS_SMOOTHING))

    # ---- its likelihood: the notes given the audio, and the accuracy of threshold 0.5 ----

    def scorer(self, settings: ScoreSettings, rng: tf.random.Generator) -> AcousticScorer:
        """Returns: the exact log-likelihood of every counted frame's notes, and the counts of
        the notes whose probability exceeds 0.5 (no draws: settings are not used)."""
        return AcousticScorer(self)

    def describe_scoring(self, evaluate: EvalConfig) -> str:
        return "exact likelihood of the notes given the audio, accuracy of threshold 0.5"

    def figures(self, scores: Scores) -> dict[str, float]:
        """Returns: {"nll": nats per audio frame, "acc": the frame accuracy of threshold 0.5,
        pooled over frames as MIREX (TP / (TP + FP + FN))}."""
        return {"nll": scores.nll, "acc": scores.accuracy.pooled}

    def evaluation(self, scores: Scores, train_pieces: list[np.ndarray], pieces: list[np.ndarray],
                   config: RunConfig, seconds: float) -> AcousticEvaluation:
        tp, fp, fn = scores.counts[:, 0].sum(axis=0)
        return AcousticEvaluation(scores.nll, float(scores.accuracy.pooled), _ratio(tp, tp + fp), _ratio(tp, tp + fn),
                                  len(scores.log_p), seconds)

    # ---- no drawing ----

    @classmethod
    def check_generation(cls, settings: GenerateConfig, melody: Path | None) -> None:
        raise UserError("the acoustic model transcribes audio and writes no music of its own: give it to "
                        "rnn_rbm_transcribe.py --acoustic, and generate with a model of music (rnn_rbm, ...)")


def check_grid(config: RunConfig) -> None:
    """Raises UserError unless the run's rolls are the 88 piano keys from A0, what the audio is
    rendered from and the CQT's bins are placed on."""
    if (config.data.num_pitches, config.data.lowest_pitch) != (NUM_KEYS, LOWEST_PITCH):
        raise UserError(f"the acoustic model reads the {NUM_KEYS} piano keys from MIDI pitch {LOWEST_PITCH}, "
                        f"not {config.data.num_pitches} from {config.data.lowest_pitch}")


def audio_frames(roll: np.ndarray, spectrum: np.ndarray, frames_per_step: int, context: int,
                 length: int = CHUNK_FRAMES) -> list[np.ndarray]:
    """One piece's audio frames in the acoustic model's layout (module docstring), cut into
    sequences of `length` counted frames, each with up to `context` frames of the piece before
    and after it, not counted.

    roll: (num_steps, P), time-major, 0/1; spectrum: (num_steps * frames_per_step, D), its log-CQT.
    Returns: float16 arrays (rows, P + 1 + D), in time order.
    """
    targets = roll_to_frames(roll, frames_per_step)
    if len(targets) != len(spectrum):
        raise ValueError(f"{len(targets)} audio frames of notes against {len(spectrum)} of audio")
    rows = np.concatenate([targets, np.ones((len(targets), 1), np.float32), spectrum], axis=1).astype(np.float16)
    width = targets.shape[1]
    chunks = []
    for start in range(0, len(rows), length):
        end = min(start + length, len(rows))
        low, high = max(0, start - context), min(len(rows), end + context)
        chunk = rows[low:high].copy()
        chunk[: start - low, width] = 0
        chunk[end - low:, width] = 0
        chunks.append(chunk)
    return chunks


class AcousticScorer:
    """The notes' exact log-likelihood in every counted audio frame, and the TP, FP, FN of the
    notes above probability 0.5, compiled once. Gives the Scores of a split (one "draw": the
    threshold's decision; variance 0, no log_z_over_known)."""

    def __init__(self, model: Acoustic):
        spec = [tf.TensorSpec([None, None, model.n_visible], tf.float32), tf.TensorSpec([None, None], tf.float32)]

        @tf.function(input_signature=spec)
        def run(v: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            notes, counted, features = model.split_frames(v)
            rows = tf.where(mask * counted > 0)
            logits = tf.gather_nd(model.note_logits(features, mask), rows)
            notes = tf.gather_nd(notes, rows)
            decided = tf.cast(logits > 0, tf.float32)
            return bernoulli.log_prob(notes, logits), accuracy.frame_counts(decided, notes)[:, tf.newaxis]

        self.run = run
        self.compiled = [run]

    def __call__(self, pieces: list[np.ndarray], progress: bool = True) -> Scores:
        """Returns: the Scores of the counted frames of `pieces` (audio frames in the acoustic
        model's layout), in order."""
        log_p, counts = [], []
        for batch in tqdm(piece_batches([len(p) for p in pieces]), desc="notes given audio", unit="batch",
                          leave=False, disable=None if progress else True):
            v, mask = pad_batch([pieces[i] for i in batch])
            got = self.run(tf.constant(v), tf.constant(mask))
            log_p.append(got[0].numpy())
            counts.append(got[1].numpy())
        log_p_all = np.concatenate(log_p or [np.zeros(0, np.float32)]).astype(np.float64)
        return Scores(log_p_all, np.zeros_like(log_p_all),
                      np.concatenate(counts or [np.zeros((0, 1, 3), np.float32)]).astype(np.float64),
                      np.full_like(log_p_all, np.nan))


def _ratio(part: float, whole: float) -> float:
    return float(part / whole) if whole else 0.0


@dataclass(frozen=True)
class AcousticEvaluation:
    """What rnn_rbm_evaluate.py reports of the acoustic model on one split: the notes given the
    audio, per audio frame."""

    nll: float  # nats per audio frame (88 notes), positive
    accuracy: float  # TP / (TP + FP + FN) of the notes above probability 0.5, pooled over frames (MIREX)
    precision: float
    recall: float
    frames: int  # audio frames measured
    seconds: float
    exact: bool = True

    def figures(self) -> dict[str, object]:
        """Returns: the figures as the evaluate command's JSON line and its record give them:
        nll (nats per audio frame), acc (threshold 0.5, pooled), precision, recall, frames."""
        return {"nll": self.nll, "acc": self.accuracy, "precision": self.precision, "recall": self.recall,
                "frames": self.frames, "exact": True}

    def lines(self) -> list[str]:
        """Returns: the lines the evaluate command prints before its JSON line."""
        return [f"log-likelihood of the notes per audio frame {-self.nll:8.3f} nats  (exact; {self.seconds:.0f} s)",
                f"frame accuracy, threshold 0.5     {100 * self.accuracy:8.2f} %  (TP / (TP + FP + FN) pooled over "
                f"frames, as MIREX; precision {100 * self.precision:.1f} %, recall {100 * self.recall:.1f} %)"]
