"""MIDI events as words, the REMI way: a piano roll <-> miditok's REMI tokens (Bar,
Position, Pitch, Duration), the other vocabulary of the event_lstm model
(`--set tokens.representation=remi`; Huang & Yang 2020).

Where MIDILike (music/midi_events.py) opens a note with NoteOn and must remember to close
it with NoteOff, REMI writes a note once, its Pitch then its Duration, at a Position (a frame
of the bar) after the Bar it falls in: nothing is left to close. The grid is the roll's (one
tick per frame), bars of four quarter notes (rolls carry no time signature), no velocity
(rolls carry none). A note longer than the longest Duration (MAX_SHIFT_BEATS quarter notes)
is written as consecutive notes, which the roll joins again, so a roll comes back exactly.
"""

from __future__ import annotations

import miditok
import numpy as np

from rnn_rbm.music.midi_events import MAX_SHIFT_BEATS, check_grid, roll_tokens, score_roll, tokenizer_config

# Quarter notes in a bar: miditok's REMI without time-signature tokens counts 4/4 bars.
BAR_BEATS = 4


def remi_tokenizer(steps_per_quarter: int, lowest_pitch: int = 21, num_pitches: int = 88) -> miditok.REMI:
    """A REMI tokenizer on the roll's grid: Positions 0 .. BAR_BEATS * steps_per_quarter - 1,
    Durations 1 .. MAX_SHIFT_BEATS * steps_per_quarter frames, the roll's pitches, no
    velocity, and PAD. The same arguments always give the same vocabulary in the same order."""
    return miditok.REMI(tokenizer_config(steps_per_quarter, lowest_pitch, num_pitches, velocities=False))


def roll_to_remi(roll: np.ndarray, tokenizer: miditok.REMI, steps_per_quarter: int,
                 lowest_pitch: int = 21) -> list[str]:
    """The roll (num_steps, num_pitches), time-major, as REMI token strings in time order (a
    Bar for every bar up to the last note, empty ones included); an empty roll gives [].

    Raises ValueError when a sounding pitch is outside the tokenizer's pitch range.
    """
    return roll_tokens(roll, tokenizer, steps_per_quarter, lowest_pitch, longest=MAX_SHIFT_BEATS * steps_per_quarter)


def remi_to_roll(tokens: list[str], tokenizer: miditok.REMI, steps_per_quarter: int, lowest_pitch: int = 21,
                 num_pitches: int = 88) -> np.ndarray:
    """REMI token strings back to a roll, float32 (num_steps, num_pitches), time-major, at
    least one frame, ending with the last note. A Pitch with no Duration after it (the end of
    a drawn sequence) is left out; PAD is ignored. Raises ValueError for a tokenizer of
    another grid."""
    check_grid(tokenizer, steps_per_quarter)
    words = [t for t in tokens if not t.startswith("PAD")]
    while words and not words[-1].startswith("Duration_") and not words[-1].startswith("Bar_"):
        words.pop()  # a trailing Position or Pitch has no note yet
    if not any(w.startswith("Pitch_") for w in words):
        return np.zeros((1, num_pitches), np.float32)
    return score_roll(tokenizer.decode([miditok.TokSequence(tokens=words)]), lowest_pitch, num_pitches)


# ---- the grammar of a well-formed sequence: which words may come next ----
#
# A sequence starts with a Bar. After a Bar: another Bar (an empty bar) or a Position in it.
# After a Position: a Pitch. After a Pitch: its Duration. After a Duration: another Pitch at
# the same Position, a later Position of the bar, or a Bar. A Pitch only where no earlier note
# of that pitch still sounds (a roll cannot sound a pitch twice). Never PAD. The event_lstm
# applies this as a mask on its logits, in training and in generation alike.
KINDS = ("other", "bar", "position", "pitch", "duration")


def word_kinds(vocabulary: list[str], steps_per_quarter: int, lowest_pitch: int = 21,
               num_pitches: int = 88) -> tuple[np.ndarray, np.ndarray]:
    """What each word is, for the grammar.

    vocabulary: the token strings in id order (`midi_events.vocabulary(remi_tokenizer(...))`).
    Returns: (kind, int64 (W,), an index of KINDS; value, int64 (W,): a Position's frame in
    the bar, a Pitch's roll column (-1 outside the roll), a Duration's frames, 0 otherwise).
    """
    kinds = np.zeros(len(vocabulary), np.int64)
    values = np.zeros(len(vocabulary), np.int64)
    names = {"Bar": "bar", "Position": "position", "Pitch": "pitch", "Duration": "duration"}
    for index, word in enumerate(vocabulary):
        kind, _, value = word.partition("_")
        kinds[index] = KINDS.index(names.get(kind, "other"))
        if kind == "Position":
            values[index] = int(value)
        elif kind == "Pitch":
            column = int(value) - lowest_pitch
            values[index] = column if 0 <= column < num_pitches else -1
        elif kind == "Duration":
            beats, positions, resolution = (int(part) for part in value.split("."))
            values[index] = beats * steps_per_quarter + positions * steps_per_quarter // resolution
    return kinds, values


def allowed_words(last_kind: int, now: int, bar_start: int, ends: np.ndarray, kinds: np.ndarray, values: np.ndarray,
                  bar_frames: int) -> np.ndarray:
    """The words that may come next (the numpy statement of the grammar; the event_lstm's
    mask computes the same in TensorFlow, and a test holds them together).

    last_kind: the index in KINDS of the last word (KINDS.index("other") before the first);
    now: the frame of the last Position (of the last Bar after a Bar); bar_start: the first
    frame of the current bar; ends: int (num_pitches,), the frame each pitch's latest note
    ends (0 if none); bar_frames: frames in a bar.
    Returns: bool (W,).
    """
    is_kind = {name: kinds == KINDS.index(name) for name in KINDS}
    pitch = is_kind["pitch"] & (values >= 0)
    free = pitch & (np.asarray(ends)[np.where(pitch, values, 0)] <= now)
    later = is_kind["position"] & (bar_start + values > now) & (values < bar_frames)
    kind = KINDS[last_kind]
    if kind == "other":
        return is_kind["bar"]
    if kind == "bar":
        return is_kind["bar"] | (is_kind["position"] & (values < bar_frames))
    if kind == "position":
        return free
    if kind == "pitch":
        return is_kind["duration"]
    return free | later | is_kind["bar"]  # after a Duration


def replay(words: list[str], vocabulary: list[str], steps_per_quarter: int, lowest_pitch: int = 21,
           num_pitches: int = 88) -> list[np.ndarray]:
    """The grammar's answer before each word of `words` and after the last: allowed_words
    of the state each prefix leaves. Returns: a list of len(words) + 1 bool (W,) arrays."""
    kinds, values = word_kinds(vocabulary, steps_per_quarter, lowest_pitch, num_pitches)
    ids = {w: i for i, w in enumerate(vocabulary)}
    bar_frames = BAR_BEATS * steps_per_quarter
    last, now, bar, pending = KINDS.index("other"), 0, -bar_frames, -1
    ends = np.zeros(num_pitches, np.int64)
    out = []
    for word in words:
        out.append(allowed_words(last, now, bar, ends, kinds, values, bar_frames))
        i = ids[word]
        kind = KINDS[kinds[i]]
        if kind == "bar":
            bar += bar_frames
            now = bar
        elif kind == "position":
            now = bar + values[i]
        elif kind == "pitch":
            pending = values[i]
        elif kind == "duration" and pending >= 0:
            ends[pending] = max(ends[pending], now + values[i])
            pending = -1
        if kind != "other":
            last = kinds[i]
    out.append(allowed_words(last, now, bar, ends, kinds, values, bar_frames))
    return out
