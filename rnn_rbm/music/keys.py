"""A piece's key, and the piece moved into C.

The paper's four benchmark sets come with "each sequence transposed in C major or C
minor" (the authors' page). Music read as written is in every key, and a model of it must
tell the key from the notes so far; its recurrent state forgets, and over 1,024 frames the
models of the Bach default as written modulated or wrote out of key (issue 29: the RNN-RBM's
scale consistency 0.855 a piece, 0.891 in chorale-long windows; read in C, 0.889 and 0.926:
experiments/2026-12-keys.md). `DataConfig.key` "c" reads every piece of the Bach default
and of a MIDI folder as the paper's data: moved by the fewest semitones (at most six, up or
down) that put its key's tonic on C.

The key is music21's Krumhansl-Schmuckler key finder (Krumhansl 1990) on the piece's pitch
classes weighted by how long they sound.
"""

from __future__ import annotations

import numpy as np

from rnn_rbm.config import KEYS
from rnn_rbm.music.pianoroll import NoteList


def pitch_class_weights(parts: list[NoteList]) -> np.ndarray:
    """Returns: float64 (12,): quarter notes sounded per pitch class (0 = C) over all parts."""
    weights = np.zeros(12)
    for notes in parts:
        np.add.at(weights, np.asarray(notes.pitches, dtype=np.int64) % 12,
                  np.asarray(notes.offsets, dtype=np.float64) - np.asarray(notes.onsets, dtype=np.float64))
    return weights


def roll_pitch_class_weights(roll: np.ndarray, lowest_pitch: int = 21) -> np.ndarray:
    """Returns: float64 (12,): frames sounded per pitch class (0 = C) of a roll (T, V), time-major."""
    per_column = np.asarray(roll > 0, dtype=np.float64).sum(axis=0)
    weights = np.zeros(12)
    np.add.at(weights, (lowest_pitch + np.arange(len(per_column))) % 12, per_column)
    return weights


def find_key(weights: np.ndarray) -> tuple[int, str]:
    """The key by music21's Krumhansl-Schmuckler finder.

    weights: (12,) how long each pitch class sounds (0 = C).
    Returns: (tonic pitch class, 0 = C; "major" or "minor"); (0, "major") where nothing sounds.
    """
    if not np.any(np.asarray(weights) > 0):
        return 0, "major"
    from music21 import analysis, note, stream

    # The finder reads a stream; one note per pitch class, as long as that class sounds, is
    # the whole of what it weighs.
    summary = stream.Stream()
    for pitch_class, length in enumerate(weights):
        if length > 0:
            summary.append(note.Note(60 + pitch_class, quarterLength=float(length)))
    found = analysis.discrete.KrumhanslSchmuckler().getSolution(summary)
    return int(found.tonic.pitchClass), str(found.mode)


def tonic_shift(weights: np.ndarray) -> int:
    """The transposition that puts the key's tonic on C.

    weights: (12,) how long each pitch class sounds (0 = C).
    Returns: semitones in -5..6 (0 where nothing sounds).
    """
    tonic = find_key(weights)[0]
    return -tonic if tonic < 6 else 12 - tonic


def in_key(parts: list[NoteList], key: str) -> list[NoteList]:
    """The parts of one piece read in `key` (one of KEYS): as written, or all moved by the
    one shift that puts the key of their union on C.

    Returns: the parts, each a NoteList."""
    if key not in KEYS:
        raise ValueError(f"key must be one of {KEYS}, not {key!r}")
    shift = tonic_shift(pitch_class_weights(parts)) if key == "c" else 0
    return [NoteList(p.onsets, p.offsets, np.asarray(p.pitches, dtype=np.int64) + shift) for p in parts]


def shift_roll(roll: np.ndarray, shift: int) -> np.ndarray:
    """Returns: the roll (..., V) moved `shift` columns up (down where negative); notes moved
    past either end are lost."""
    out = np.zeros_like(roll)
    if shift >= 0:
        out[..., shift:] = roll[..., :roll.shape[-1] - shift]
    else:
        out[..., :shift] = roll[..., -shift:]
    return out
