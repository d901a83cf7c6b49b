"""MIDI <-> binary piano roll (numpy and pretty_midi only, no TensorFlow).

A roll is time-major: shape `(num_steps, num_pitches)`, float32 of 0/1, and
column `i` is MIDI pitch `lowest_pitch + i`. A frame (one row) lasts a quarter
note divided by `steps_per_quarter`. Frames are laid on the MIDI's own beat
grid: note times are read in ticks, which count quarter notes whatever the
tempo map says, so tempo changes do not shift the grid.

A binary roll cannot tell a held note from the same note struck again on the
next frame; like the paper's data, roll -> MIDI joins consecutive active
frames of a pitch into one note.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi

from rnn_rbm.config import OUT_OF_RANGE
from rnn_rbm.errors import BadMidiError
from rnn_rbm.music.midifile import MAX_STEPS, read_midi


@dataclass(frozen=True)
class NoteList:
    """Notes in quarter-note units: onsets, offsets (float64, shape (n,)) and MIDI pitches (int)."""

    onsets: np.ndarray
    offsets: np.ndarray
    pitches: np.ndarray


@dataclass(frozen=True)
class RollStats:
    """What `notes_to_roll` did with notes outside the pitch range."""

    notes: int = 0
    moved: int = 0
    dropped: int = 0


def fit_pitches(
    pitches: np.ndarray, lowest_pitch: int, num_pitches: int, out_of_range: str
) -> tuple[np.ndarray, np.ndarray]:
    """Brings pitches into `[lowest_pitch, lowest_pitch + num_pitches)`.

    out_of_range: "octave" moves each stray pitch by whole octaves to the nearest
    octave inside the range (pitches a range narrower than an octave cannot hold
    are dropped); "drop" discards it.

    Returns: (new pitches, int64 of shape (n,); keep mask, bool of shape (n,)).
    """
    if out_of_range not in OUT_OF_RANGE:
        raise ValueError(f"out_of_range must be one of {OUT_OF_RANGE}, not {out_of_range!r}")
    pitches = np.asarray(pitches, dtype=np.int64)
    highest = lowest_pitch + num_pitches - 1
    if out_of_range == "octave":
        below = pitches < lowest_pitch
        above = pitches > highest
        pitches = pitches.copy()
        pitches[below] += 12 * -((pitches[below] - lowest_pitch) // 12)
        pitches[above] -= 12 * -((highest - pitches[above]) // 12)
    keep = (pitches >= lowest_pitch) & (pitches <= highest)
    return pitches, keep


def notes_to_roll(
    notes: NoteList,
    steps_per_quarter: int,
    lowest_pitch: int = 21,
    num_pitches: int = 88,
    out_of_range: str = "octave",
) -> tuple[np.ndarray, RollStats]:
    """Quantises notes onto a grid of `steps_per_quarter` frames per quarter note.

    Each onset and offset goes to the nearest frame boundary (halves round up);
    a note shorter than half a frame still gets the frame it starts in, so no
    note is lost. The roll ends with the last note.

    Returns: (roll, float32 of 0/1, shape (num_steps, num_pitches), time-major,
    column i = MIDI pitch lowest_pitch + i; RollStats).
    """
    pitches, keep = fit_pitches(notes.pitches, lowest_pitch, num_pitches, out_of_range)
    moved = int(np.sum(keep & (pitches != np.asarray(notes.pitches))))
    starts = np.floor(np.asarray(notes.onsets) * steps_per_quarter + 0.5).astype(np.int64)
    ends = np.floor(np.asarray(notes.offsets) * steps_per_quarter + 0.5).astype(np.int64)
    ends = np.maximum(ends, starts + 1)
    stats = RollStats(notes=len(pitches), moved=moved, dropped=int(np.sum(~keep)))
    starts, ends, pitches = starts[keep], ends[keep], pitches[keep]
    if starts.size and (starts.min() < 0 or ends.max() > MAX_STEPS):
        raise BadMidiError(
            f"note times outside 0..{MAX_STEPS} frames (corrupt timing or a piece too long)"
        )
    num_steps = int(ends.max()) if ends.size else 0
    roll = np.zeros((num_steps, num_pitches), dtype=np.float32)
    columns = pitches - lowest_pitch
    for start, end, column in zip(starts, ends, columns):
        roll[start:end, column] = 1.0
    return roll, stats


def midi_notes(midi: pretty_midi.PrettyMIDI) -> NoteList:
    """Collects every pitched note (drum tracks are ignored) in quarter-note units.

    Returns: NoteList with onsets/offsets in quarter notes from the start of the file.
    """
    starts, ends, pitches = [], [], []
    for instrument in midi.instruments:
        if instrument.is_drum:
            continue
        for note in instrument.notes:
            starts.append(note.start)
            ends.append(note.end)
            pitches.append(note.pitch)
    ticks_per_quarter = float(midi.resolution)
    if ticks_per_quarter <= 0:
        raise BadMidiError("the header gives no ticks per quarter note (SMPTE timing is not supported)")
    to_quarters = np.vectorize(lambda t: midi.time_to_tick(t) / ticks_per_quarter, otypes=[np.float64])
    return NoteList(
        onsets=to_quarters(np.asarray(starts, dtype=np.float64)) if starts else np.zeros(0),
        offsets=to_quarters(np.asarray(ends, dtype=np.float64)) if ends else np.zeros(0),
        pitches=np.asarray(pitches, dtype=np.int64),
    )


def require_music(roll: np.ndarray, stats: RollStats) -> None:
    """Raises BadMidiError, with the reason, when a converted piece holds no note to learn from."""
    if stats.notes == 0:
        raise BadMidiError("no pitched notes (empty, or drums only)")
    if not roll.any():
        raise BadMidiError(f"no note inside the pitch range ({stats.dropped} dropped)")


def midi_to_roll(
    source: str | Path | bytes | pretty_midi.PrettyMIDI,
    steps_per_quarter: int,
    lowest_pitch: int = 21,
    num_pitches: int = 88,
    out_of_range: str = "octave",
) -> tuple[np.ndarray, RollStats]:
    """Reads a MIDI file (path, bytes or PrettyMIDI) into a binary roll.

    Returns: (roll, float32 of 0/1, shape (num_steps, num_pitches), time-major,
    column i = MIDI pitch lowest_pitch + i; RollStats). Raises BadMidiError when
    the file is unreadable or holds no pitched note in range.
    """
    midi = source if isinstance(source, pretty_midi.PrettyMIDI) else read_midi(source)
    roll, stats = notes_to_roll(midi_notes(midi), steps_per_quarter, lowest_pitch, num_pitches, out_of_range)
    require_music(roll, stats)
    return roll, stats


def note_spans(roll: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The notes of a roll: each run of consecutive active frames of a pitch is one note.

    roll: (num_steps, num_pitches), time-major, nonzero = sounding.
    Returns: (columns, first frames, frames one past the last), int arrays of one entry per
    note, sorted by column, then by time.
    """
    active = np.asarray(roll) > 0
    padded = np.zeros((active.shape[0] + 2, active.shape[1]), dtype=np.int8)
    padded[1:-1] = active
    # Transposed so that nonzero() lists each pitch's onsets and offsets in time order: they pair up.
    changes = np.diff(padded, axis=0).T  # +1 where a note starts, -1 one past where it ends
    columns, starts = np.nonzero(changes == 1)
    _, ends = np.nonzero(changes == -1)
    return columns, starts, ends


def roll_to_midi(
    roll: np.ndarray,
    steps_per_quarter: int,
    tempo_bpm: float = 100.0,
    lowest_pitch: int = 21,
    velocity: int = 80,
    program: int = 0,
) -> pretty_midi.PrettyMIDI:
    """Writes a roll as one piano track; consecutive active frames of a pitch become one note.

    roll: shape (num_steps, num_pitches), time-major, nonzero = sounding.
    Returns: a PrettyMIDI at `tempo_bpm` quarter notes per minute (frame length
    60 / tempo_bpm / steps_per_quarter seconds).
    """
    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo_bpm)
    piano = pretty_midi.Instrument(program=program, name="RNN-RBM")
    frame_seconds = 60.0 / tempo_bpm / steps_per_quarter
    for column, start, end in zip(*note_spans(roll)):
        piano.notes.append(
            pretty_midi.Note(
                velocity=velocity,
                pitch=int(lowest_pitch + column),
                start=float(start * frame_seconds),
                end=float(end * frame_seconds),
            )
        )
    piano.notes.sort(key=lambda n: (n.start, n.pitch))
    midi.instruments.append(piano)
    return midi


def notes_per_frame(rolls: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """How many notes sound in each frame of `rolls` (each (steps, V), time-major, nonzero =
    sounding), frames of all rolls one after another.

    Returns: int64, shape (total steps,).
    """
    if not len(rolls):
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([(np.asarray(r) > 0).reshape(-1, np.shape(r)[-1]).sum(axis=1) for r in rolls])


def mean_polyphony(rolls: list[np.ndarray] | np.ndarray) -> float:
    """Notes sounding per non-silent frame, over all frames of `rolls` (each (steps, V)).

    Returns: float (nan when every frame is silent).
    """
    counts = notes_per_frame(rolls)
    sounding = counts[counts > 0]
    return float(sounding.mean()) if sounding.size else float("nan")


def held_fraction(rolls: list[np.ndarray] | np.ndarray) -> float:
    """How often a sounding note still sounds in the next frame, over all `rolls` (each
    (steps, V), time-major): P(on at t+1 | on at t).

    Returns: float in [0, 1] (nan when no note sounds before a piece's last frame).
    """
    held = sounding = 0
    for roll in rolls:
        now, after = np.asarray(roll)[:-1] > 0, np.asarray(roll)[1:] > 0
        held += int((now & after).sum())
        sounding += int(now.sum())
    return held / sounding if sounding else float("nan")
