"""Acoustic features aligned to symbolic steps, and the step <-> audio-frame mapping.

Every symbolic step lasts `step_seconds` and is cut into `frames_per_step` audio frames of
`hop` samples each, so audio frame t covers samples [t * hop, (t + 1) * hop) and belongs to
step t // frames_per_step: frames and steps align exactly, with no tempo tracking.

The features are a log-magnitude constant-Q transform (librosa) with 3 bins per semitone
over the 88 piano keys (264 bins, the middle bin of each group of three on the key's
pitch), as Sigtia, Benetos & Dixon (2016, "An end-to-end neural network for polyphonic
piano music transcription") use: a bin between two keys lets the acoustic model tell a
note from a neighbour's partial and from a detuned recording (a user's piano is rarely at
A440), which one bin per key cannot. The cost is longer filters in the bass (about 1.9 s
for A0 at Q = 51), which `filter_scale` shortens.
"""

from __future__ import annotations

import warnings

import numpy as np

# FeatureConfig is a section of every run's settings (config.py), so that the acoustic model's
# checkpoint carries it; re-exported here, where it is used.
from rnn_rbm.config import NUM_KEYS, FeatureConfig, hop_length  # noqa: F401

LOWEST_PITCH = 21  # MIDI pitch of roll column 0 and of the lowest CQT key (A0)


def log_cqt(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Log-magnitude CQT of mono audio, one row per audio frame.

    audio: float mono samples at config.sample_rate, shape (n,).
    Frame t is centred on the middle of samples [t * hop, (t + 1) * hop) (module docstring),
    so that it describes its own slice of the step rather than straddling two frames.

    Returns: float32, shape (n // hop, config.num_bins), natural log of (|CQT| + log_floor);
    column j is at MIDI pitch 21 + (j - (bins_per_semitone - 1) / 2) / bins_per_semitone,
    so the middle bin of columns [b * i, b * (i + 1)) is key i (b = bins_per_semitone).
    """
    import librosa  # imported here so that the decoders can use this module without loading librosa

    hop = config.hop
    audio = np.asarray(audio, dtype=np.float32)
    num_frames = len(audio) // hop
    if num_frames == 0:
        return np.zeros((0, config.num_bins), dtype=np.float32)
    bins = config.bins_per_semitone
    # The lowest bin sits (bins - 1) / 2 bins below A0, so that the middle bin of each key's group is on the key.
    fmin = librosa.midi_to_hz(LOWEST_PITCH) * 2.0 ** (-(bins - 1) / 2 / (12 * bins))
    # librosa centres frame t on sample t * hop; starting half a hop late centres it on its own slice.
    shifted = audio[hop // 2:]
    with warnings.catch_warnings():
        # On audio shorter than a bass filter librosa warns that it pads with zeros, which is right here.
        warnings.filterwarnings("ignore", message="n_fft=.* is too large for input signal")
        magnitude = np.abs(librosa.cqt(shifted, sr=config.sample_rate, hop_length=hop, fmin=fmin,
                                       n_bins=config.num_bins, bins_per_octave=12 * bins,
                                       filter_scale=config.filter_scale, tuning=0.0))
    # Centred frames number 1 + len(shifted) // hop >= num_frames; the surplus reaches past the audio.
    return np.log(magnitude.T[:num_frames] + config.log_floor).astype(np.float32)


def stack_context(features: np.ndarray, context: int) -> np.ndarray:
    """Each frame with `context` neighbours on either side, edge frames repeated at the ends.

    features: (num_frames, num_bins).
    Returns: same dtype, shape (num_frames, (2 * context + 1) * num_bins); row t is frames
    t - context, ..., t + context (clamped to [0, num_frames - 1]) laid end to end.
    """
    features = np.asarray(features)
    num_frames, num_bins = features.shape
    if context == 0 or num_frames == 0:
        return features.reshape(num_frames, (2 * context + 1) * num_bins)
    padded = np.pad(features, ((context, context), (0, 0)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * context + 1, axis=0)
    # windows is (num_frames, num_bins, 2c + 1): put time before frequency in each row.
    return np.ascontiguousarray(windows.transpose(0, 2, 1)).reshape(num_frames, -1)


def roll_to_frames(roll: np.ndarray, frames_per_step: int) -> np.ndarray:
    """Per-audio-frame targets of a roll: each step repeated for its audio frames.

    roll: (num_steps, num_pitches), time-major, 0/1 (column i = MIDI pitch 21 + i).
    Returns: float32 of 0/1, shape (num_steps * frames_per_step, num_pitches).
    """
    return np.repeat(np.asarray(roll, dtype=np.float32), frames_per_step, axis=0)


def frames_to_roll(frames: np.ndarray, frames_per_step: int) -> np.ndarray:
    """Symbolic steps from decoded audio frames by the paper's rule (Section 7): a note
    sounds in a step if it is on in at least half of that step's audio frames.

    frames: (num_frames, num_pitches), time-major, nonzero = on. A last step with fewer
    than frames_per_step frames is judged on the frames it has.
    Returns: float32 of 0/1, shape (ceil(num_frames / frames_per_step), num_pitches).
    """
    frames = np.asarray(frames) > 0
    num_frames, num_pitches = frames.shape
    num_steps = -(-num_frames // frames_per_step)
    padded = np.zeros((num_steps * frames_per_step, num_pitches), dtype=np.int64)
    padded[:num_frames] = frames
    on = padded.reshape(num_steps, frames_per_step, num_pitches).sum(axis=1)
    present = np.full(num_steps, frames_per_step, dtype=np.int64)
    if num_steps:
        present[-1] = num_frames - (num_steps - 1) * frames_per_step
    return (2 * on >= present[:, None]).astype(np.float32)
