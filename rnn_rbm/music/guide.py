"""Guided generation: a melody whose notes the sampler must keep (numpy only).

A melody is the top voice of a MIDI file: in every frame, the highest pitch
sounding there (a one-line file is its own top voice; of a chorale, the
soprano). While the model draws the other notes, the melody's note is clamped
on and every pitch above it clamped off, so that the melody stays the top voice
of the result. In frames where the melody rests nothing is clamped.

Rolls are time-major, `(num_steps, num_pitches)`, float32 of 0/1, column `i`
= MIDI pitch `lowest_pitch + i`.
"""

from __future__ import annotations

import numpy as np


def top_voice(roll: np.ndarray) -> np.ndarray:
    """Keeps the highest sounding pitch of every frame.

    roll: (num_steps, num_pitches), time-major, nonzero = sounding.
    Returns: float32 0/1, the shape of roll, at most one note per frame.
    """
    active = np.asarray(roll) > 0
    melody = np.zeros(active.shape, dtype=np.float32)
    sounding = active.any(axis=1)
    highest = active.shape[1] - 1 - np.argmax(active[:, ::-1], axis=1)
    melody[np.nonzero(sounding)[0], highest[sounding]] = 1.0
    return melody


def melody_clamp(melody: np.ndarray, num_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Which units to hold, and at what, for `num_steps` generated frames under a melody.

    melody: (steps, num_pitches), time-major, at most one note per frame (see top_voice).
    Frames past the melody's end are free; a melody longer than num_steps is cut.
    Returns: (mask, values), each float32 0/1 of shape (num_steps, num_pitches), time-major:
    mask 1 on the melody's note and every pitch above it, values 1 on the melody's note.
    """
    melody = np.asarray(melody) > 0
    if (melody.sum(axis=1) > 1).any():
        raise ValueError("melody has frames with more than one note; take its top_voice first")
    length = min(len(melody), num_steps)
    mask = np.zeros((num_steps, melody.shape[1]), dtype=np.float32)
    values = np.zeros_like(mask)
    values[:length] = melody[:length]
    # Cumulative sum along pitch: 1 from the melody's note upwards, 0 below and in rests.
    mask[:length] = np.cumsum(melody[:length], axis=1) > 0
    return mask, values
