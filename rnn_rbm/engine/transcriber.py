"""The acoustic model of a checkpoint as transcription reads it: a recording's note
probabilities, audio frame by audio frame (models/acoustic.py), compiled once.

A symbolic step of the prior may last any whole number of the model's audio frames, whose
length (the hop) was fixed when it was trained: `frames_per_step` says how many a step of a
given duration holds, or why none fits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from rnn_rbm.config import RunConfig
from rnn_rbm.engine import checkpoint
from rnn_rbm.errors import UserError
from rnn_rbm.models import registry
from rnn_rbm.transcription.features import log_cqt


class AcousticReader:
    """Note probabilities of recordings by the acoustic model of a checkpoint."""

    def __init__(self, prefix: str | Path):
        """Raises UserError for a missing checkpoint, or one that holds a model of music."""
        config = checkpoint.load_config(prefix)
        if registry.model_class(config.model.family).GENERATES:
            raise UserError(f"--acoustic {prefix}: holds the {config.model.family}, a model of music; give an "
                            "acoustic model (rnn_rbm_train.py N --model acoustic --data SET), or give this one "
                            "as --prior")
        self.prefix = Path(prefix)
        self.config: RunConfig = config
        self.features = config.features
        model = registry.build(config, tf.random.Generator.from_seed(config.seed))
        checkpoint.restore(prefix, model=model)
        self.model = model
        self._probabilities = tf.function(model.note_probabilities,
                                          input_signature=[tf.TensorSpec([None, self.features.num_bins], tf.float32)])

    @property
    def frame_seconds(self) -> float:
        """The duration of one audio frame, seconds (the hop the model was trained with)."""
        return self.features.hop / self.features.sample_rate

    def frames_per_step(self, step_seconds: float | None = None) -> int:
        """Returns: the audio frames in a symbolic step of `step_seconds` (None: the model's own
        step). Raises UserError when the step is not a whole number of the model's audio frames."""
        if step_seconds is None:
            return self.features.frames_per_step
        exact = step_seconds / self.frame_seconds
        count = int(round(exact))
        if count < 1 or abs(exact - count) > 1e-6 * exact:
            raise UserError(f"--step_seconds {step_seconds:g}: the acoustic model's audio frames last "
                            f"{self.frame_seconds:g} s, and a step must hold a whole number of them (e.g. "
                            f"{self.features.step_seconds:g}, as it was trained)")
        return count

    def posteriors(self, audio: np.ndarray) -> np.ndarray:
        """audio: float mono samples at the model's sample rate (transcription.audio.load_audio).

        Returns: float32 (num_frames, 88), P(key i sounds in audio frame t), column i = MIDI
        pitch 21 + i, frame t covering samples [t * hop, (t + 1) * hop).
        """
        return self.probabilities(log_cqt(audio, self.features))

    def probabilities(self, spectrum: np.ndarray) -> np.ndarray:
        """spectrum: (num_frames, num_bins) log-CQT frames with the model's FeatureConfig
        (features.log_cqt, or data/audiocache.py's cached ones).

        Returns: float32 (num_frames, 88), as `posteriors`.
        """
        return self._probabilities(np.asarray(spectrum, np.float32)).numpy()
