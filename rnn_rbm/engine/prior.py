"""A frame model of the registry as transcription's symbolic prior: the decoders'
transcription.priors.Prior, read from a checkpoint.

    state            the model's recurrent state after the symbolic frames decoded so far
    log_prob(s, c)   model.frame_score(c, context(s)): the exact log-probability for the rnn,
                     lstm and rnn_nade; for the rnn_rbm minus the free energy, which is its
                     log-probability up to the step's log Z, the same for every candidate of a
                     state (exact = False: the beam search renormalises over the candidates)
    advance(s, f)    model.rnn_step(s, f)

The decoders call log_prob once per audio frame and state and advance once per symbolic step,
thousands of times a recording: both are compiled once (tf.function with fixed signatures, so
never traced again) and states stay TensorFlow tensors, which are values: advance returns a
new one and the old one stays as it was, as the beam search needs.

Frames and candidates are time-major rows, float32 0/1, column i = MIDI pitch 21 + i.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from rnn_rbm.config import RunConfig
from rnn_rbm.engine import checkpoint
from rnn_rbm.errors import UserError
from rnn_rbm.models import registry
from rnn_rbm.models.base import FrameModel
from rnn_rbm.transcription.features import LOWEST_PITCH, NUM_KEYS


class ModelPrior:
    """A model of music frames as a Prior (transcription/priors.py) of the decoders."""

    def __init__(self, model: FrameModel, label: str = ""):
        """model: a frame model of the 88 keys from A0 (check_prior tells a user's mistake
        apart); label: how messages and records name it (its checkpoint)."""
        self.model = model
        self.label = label or model.FAMILY
        self.exact = bool(model.EXACT)
        width = model.n_visible
        self._initial = model.initial_state(1)
        state_spec = tf.TensorSpec(self._initial.shape, tf.float32)

        @tf.function(input_signature=[state_spec, tf.TensorSpec([None, width], tf.float32)])
        def score(state: tf.Tensor, candidates: tf.Tensor) -> tf.Tensor:
            contexts = tf.repeat(model.context(state), tf.shape(candidates)[0], axis=0)
            return model.frame_score(candidates, contexts)

        @tf.function(input_signature=[state_spec, tf.TensorSpec([width], tf.float32)])
        def advance(state: tf.Tensor, frame: tf.Tensor) -> tf.Tensor:
            return model.rnn_step(state, frame[tf.newaxis])

        self._score, self._advance = score, advance
        self.compiled = [score, advance]  # for tests that count traces

    def initial_state(self) -> tf.Tensor:
        """Returns: the state before any frame, float32 (1, S)."""
        return self._initial

    def log_prob(self, state: tf.Tensor, candidates: np.ndarray) -> np.ndarray:
        """candidates: float32 0/1, (num_candidates, 88).

        Returns: float64 (num_candidates,), nats: log P(candidate | history) (up to the state's
        log Z where `exact` is False).
        """
        return self._score(state, np.asarray(candidates, np.float32)).numpy().astype(np.float64)

    def advance(self, state: tf.Tensor, frame: np.ndarray) -> tf.Tensor:
        """Returns: the state after `frame` (float32 0/1, (88,)), a new tensor."""
        return self._advance(state, np.asarray(frame, np.float32))


def check_prior(config: RunConfig, source: str | Path) -> None:
    """Raises UserError (one line naming `source`) unless the checkpoint's model can serve as a
    prior: a model of music frames (not tokens, not the acoustic model) on the 88 keys from A0."""
    cls = registry.model_class(config.model.family)
    if not cls.GENERATES:
        raise UserError(f"--prior {source}: holds the {config.model.family}, a model of notes given audio; "
                        "give a model of music (rnn_rbm, rnn_nade, lstm, rnn)")
    if cls.STEPS != "frames":
        raise UserError(f"--prior {source}: the {config.model.family} reads {cls.STEPS}, not frames of notes; "
                        "give a frame model (rnn_rbm, rnn_nade, lstm, rnn)")
    grid = (config.data.num_pitches, config.data.lowest_pitch)
    if grid != (NUM_KEYS, LOWEST_PITCH):
        raise UserError(f"--prior {source}: trained on {grid[0]} pitches from MIDI pitch {grid[1]}, not on the "
                        f"{NUM_KEYS} piano keys from {LOWEST_PITCH} that transcription decodes; train it with "
                        "the default data settings")


def load_prior(prefix: str | Path) -> ModelPrior:
    """Reads a checkpoint of a frame model as a prior.

    Returns: the ModelPrior. Raises UserError for a missing or unreadable checkpoint, or one
    whose model cannot be a prior (check_prior).
    """
    config = checkpoint.load_config(prefix)
    check_prior(config, prefix)
    model = registry.build(config, tf.random.Generator.from_seed(config.seed))
    checkpoint.restore(prefix, model=model)
    return ModelPrior(model, str(prefix))
