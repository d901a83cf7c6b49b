"""MIDI events as words: a piano roll <-> miditok's MIDILike tokens (NoteOn, NoteOff,
Velocity and TimeShift), the vocabulary of the event_lstm model.

The roll's grid is the tokenizer's: its time division is `steps_per_quarter` ticks per
quarter note, so one tick is one frame and a roll goes to a symusic Score (and back)
without any rounding. A note is a run of active frames of one pitch (a roll cannot show a
re-struck note); it becomes NoteOn_p, Velocity_127 at its first frame and NoteOff_p at the
frame after its last. Rolls carry no velocity, so there is one velocity bin and every
NoteOn is followed by the same Velocity token.

miditok decodes leniently but with quirks that matter for what a model writes: it drops
a note that is never closed, takes the value of whatever token follows a NoteOn as its
velocity (and drops the note when that value is not a number), and stops at a NoteOn
that ends the sequence. `events_to_roll` therefore tidies a sequence into the shape
miditok writes before handing it over (see there).
"""

from __future__ import annotations

import miditok
import numpy as np
from symusic import Note, Score, Track

from rnn_rbm.errors import UserError
from rnn_rbm.music.pianoroll import note_spans

# The longest TimeShift, in quarter notes; a longer gap is written as several shifts.
# Two 4/4 bars covers most rests in one token and keeps the vocabulary small
# (8 * steps_per_quarter shifts).
MAX_SHIFT_BEATS = 8


def events_tokenizer(steps_per_quarter: int, lowest_pitch: int = 21, num_pitches: int = 88) -> miditok.MIDILike:
    """A MIDILike tokenizer on the roll's grid.

    Time shifts are whole frames: 1 to MAX_SHIFT_BEATS * steps_per_quarter frames (beat
    resolution steps_per_quarter over beats 0..MAX_SHIFT_BEATS); a longer gap becomes
    several shifts. Pitches are the roll's columns, lowest_pitch .. lowest_pitch +
    num_pitches - 1. One velocity bin (rolls carry no velocity). No tempo, time
    signature, program, rest, chord, pedal, pitch-bend or drum tokens; the only special
    token is miditok's mandatory PAD_None. The same arguments always give the same
    vocabulary in the same order (a checkpoint rebuilds it from them).
    """
    return miditok.MIDILike(tokenizer_config(steps_per_quarter, lowest_pitch, num_pitches, velocities=True))


def tokenizer_config(steps_per_quarter: int, lowest_pitch: int, num_pitches: int,
                     velocities: bool) -> miditok.TokenizerConfig:
    """The settings of a miditok tokenizer on the roll's grid (events_tokenizer's, and REMI's
    in music/remi.py): times in whole frames up to MAX_SHIFT_BEATS quarter notes, the roll's
    pitches, one velocity bin where `velocities` (none otherwise), nothing else but PAD."""
    if steps_per_quarter < 1:
        raise ValueError(f"steps_per_quarter must be at least 1, not {steps_per_quarter}")
    highest = lowest_pitch + num_pitches - 1
    if not 0 <= lowest_pitch <= highest <= 127:
        raise ValueError(f"pitches {lowest_pitch}..{highest} are not MIDI pitches (0..127)")
    return miditok.TokenizerConfig(
        # Both ends included (miditok's own default, (21, 109), spans 89 keys).
        pitch_range=(lowest_pitch, highest),
        beat_res={(0, MAX_SHIFT_BEATS): steps_per_quarter},
        num_velocities=1,
        special_tokens=["PAD"],  # miditok adds PAD whatever is asked; nothing else is used
        use_velocities=velocities,
        use_chords=False,
        use_rests=False,
        use_tempos=False,
        use_time_signatures=False,
        use_sustain_pedals=False,
        use_pitch_bends=False,
        use_control_changes=False,
        use_programs=False,
        use_pitch_intervals=False,
        # On by default: it would add DrumOn/DrumOff tokens for every drum pitch.
        use_pitchdrum_tokens=False,
    )


def vocabulary(tokenizer: miditok.MIDILike) -> list[str]:
    """The tokenizer's token strings in id order (index = id): what a checkpoint stores."""
    words = sorted(tokenizer.vocab, key=tokenizer.vocab.get)
    assert [tokenizer.vocab[w] for w in words] == list(range(len(words))), "miditok ids are not 0..n-1"
    return words


def _never_closed(tokens: list[str]) -> set[int]:
    """Returns: the indices of the NoteOn tokens that no later NoteOff closes (a NoteOff
    closes the oldest open note of its pitch, as miditok pairs them)."""
    open_notes: dict[str, list[int]] = {}
    for index, token in enumerate(tokens):
        kind, _, value = token.partition("_")
        if kind == "NoteOn":
            open_notes.setdefault(value, []).append(index)
        elif kind == "NoteOff" and open_notes.get(value):
            open_notes[value].pop(0)
    return {index for indices in open_notes.values() for index in indices}


def _shift_frames(value: str, steps_per_quarter: int) -> int:
    """Returns: the frames of a TimeShift token's value "beats.positions.resolution"."""
    beats, positions, resolution = (int(part) for part in value.split("."))
    return beats * steps_per_quarter + positions * steps_per_quarter // resolution


def check_grid(tokenizer: miditok.MusicTokenizer, steps_per_quarter: int) -> None:
    # One tick per frame is what makes the conversion exact; another grid would resample.
    if tokenizer.time_division != steps_per_quarter:
        raise ValueError(f"the tokenizer was built for {tokenizer.time_division} steps per quarter, "
                         f"not {steps_per_quarter}")


def roll_to_events(roll: np.ndarray, tokenizer: miditok.MIDILike, steps_per_quarter: int,
                   lowest_pitch: int = 21) -> list[str]:
    """The roll (num_steps, num_pitches), time-major, nonzero = sounding, as MIDILike token
    strings in time order; an empty roll gives []. Silence after the last note is not
    written (MIDILike has no token for it), so it does not come back from events_to_roll.

    Raises ValueError when a sounding pitch is outside the tokenizer's pitch range
    (miditok would drop it without a word).
    """
    return roll_tokens(roll, tokenizer, steps_per_quarter, lowest_pitch)


def roll_tokens(roll: np.ndarray, tokenizer: miditok.MusicTokenizer, steps_per_quarter: int, lowest_pitch: int = 21,
                longest: int | None = None) -> list[str]:
    """The roll's notes (note_spans: a run of active frames of a pitch is one note) encoded by
    `tokenizer` from a one-track symusic Score of one tick per frame; a note longer than
    `longest` frames becomes consecutive notes of at most that many (which a roll joins
    again). Returns the token strings, [] for an empty roll.

    Raises ValueError when a sounding pitch is outside the tokenizer's pitch range (miditok
    would drop it without a word).
    """
    check_grid(tokenizer, steps_per_quarter)
    if np.ndim(roll) != 2:
        raise ValueError(f"a roll is (num_steps, num_pitches), not shape {np.shape(roll)}")
    columns, onsets, offsets = note_spans(roll)
    if len(onsets) == 0:
        return []
    pitches = lowest_pitch + columns
    low, high = tokenizer.config.pitch_range
    if pitches.min() < low or pitches.max() > high:
        raise ValueError(f"the roll sounds pitches {pitches.min()}..{pitches.max()}, outside the "
                         f"tokenizer's {low}..{high}")
    if longest is not None:
        pieces = [(start, min(start + longest, off), p) for on, off, p in zip(onsets, offsets, pitches)
                  for start in range(int(on), int(off), longest)]
        onsets, offsets, pitches = (np.array(x, dtype=np.int64) for x in zip(*pieces))

    track = Track(name="piano", program=0, is_drum=False)
    velocity = int(tokenizer.velocities[0]) if len(tokenizer.velocities) else 100
    # Sorted by onset then pitch: miditok keeps the notes' order within a tick, and a fixed
    # order makes the same roll always give the same words.
    for n in np.lexsort((pitches, onsets)):
        track.notes.append(Note(int(onsets[n]), int(offsets[n] - onsets[n]), int(pitches[n]), velocity))
    score = Score(steps_per_quarter)
    score.tracks.append(track)
    return list(tokenizer.encode(score)[0].tokens)  # one TokSequence per track (no Program tokens)


def score_roll(score: Score, lowest_pitch: int = 21, num_pitches: int = 88) -> np.ndarray:
    """A decoded Score's notes on the roll's grid (one tick per frame), float32 (num_steps,
    num_pitches), time-major, at least one frame, ending with the last note; a note of no
    length still sounds one frame."""
    notes = [(n.time, max(n.end, n.time + 1), n.pitch - lowest_pitch) for track in score.tracks for n in track.notes]
    end = max((stop for _, stop, _ in notes), default=1)
    roll = np.zeros((max(end, 1), num_pitches), np.float32)
    for start, stop, column in notes:
        if 0 <= column < num_pitches:  # the tokenizer's range is the roll's; this only guards a mismatch
            roll[start:stop, column] = 1.0
    return roll


def events_to_roll(tokens: list[str], tokenizer: miditok.MIDILike, steps_per_quarter: int,
                   lowest_pitch: int = 21, num_pitches: int = 88) -> np.ndarray:
    """Token strings back to a roll, float32 (num_steps, num_pitches), time-major, at least
    one frame; it ends with the last note (trailing silence is not kept).

    What a model writes need not be what the tokenizer writes, so the sequence is tidied
    before miditok decodes it:
    - a NoteOff with no open note of its pitch is ignored;
    - a NoteOn never closed is closed at the end of the sequence (the time the last
      TimeShift reaches), or at the last event before it would sound longer than
      MAX_SHIFT_BEATS quarter notes, whichever comes first;
    - Velocity tokens are ignored and the one velocity is put after every NoteOn (miditok
      reads the token after a NoteOn as its velocity, whatever it is);
    - special tokens (PAD_None) are ignored.
    A note that starts and ends at the same time still sounds for one frame. Notes of a
    pitch that overlap (a NoteOn of a sounding pitch; NoteOffs close the oldest first, as
    miditok does) merge in the roll, which cannot re-strike.

    Raises UserError naming the strings that are not in the tokenizer's vocabulary.
    """
    check_grid(tokenizer, steps_per_quarter)
    unknown = sorted({t for t in tokens if t not in tokenizer.vocab})
    if unknown:
        listed = ", ".join(repr(t) for t in unknown[:8]) + (" ..." if len(unknown) > 8 else "")
        raise UserError(f"{len(unknown)} token(s) not in the MIDI-events vocabulary: {listed}")

    velocity = f"Velocity_{int(tokenizer.velocities[0])}"
    longest_open = MAX_SHIFT_BEATS * steps_per_quarter
    unclosed = _never_closed(tokens)
    tidy: list[str] = []
    open_notes: dict[str, list[tuple[int, bool]]] = {}  # pitch -> (onset, never closed) of its open notes
    now = 0
    for index, token in enumerate(tokens):
        kind, _, value = token.partition("_")
        if kind == "NoteOn":
            tidy += [token, velocity]
            open_notes.setdefault(value, []).append((now, index in unclosed))
        elif kind == "NoteOff" and open_notes.get(value):
            tidy.append(token)
            open_notes[value].pop(0)
        elif kind == "TimeShift":
            shift = _shift_frames(value, steps_per_quarter)
            # A note the model never closes would sound to the end of the piece, and a few
            # such notes make a dense cluster of the rest: it ends at the last event before
            # it would pass MAX_SHIFT_BEATS quarter notes. (Never-closed notes are the newest
            # of their pitch: closing the oldest first, nothing else closes them.)
            for pitch, notes in open_notes.items():
                while notes and notes[-1][1] and now + shift - notes[-1][0] > longest_open:
                    tidy.append(f"NoteOff_{pitch}")
                    notes.pop()
            tidy.append(token)
            now += shift
    tidy += [f"NoteOff_{value}" for value, notes in open_notes.items() for _ in notes]

    if not any(t.startswith("NoteOn_") for t in tidy):
        return np.zeros((1, num_pitches), np.float32)
    return score_roll(tokenizer.decode([miditok.TokSequence(tokens=tidy)]), lowest_pitch, num_pitches)


# ---- the grammar of a well-formed sequence: which words may come next ----
#
# The codec writes every note as NoteOn_p, Velocity, ..., NoteOff_p, and a roll cannot sound
# a pitch twice at once. So after a NoteOn only the Velocity may follow; otherwise a NoteOn
# only for a silent pitch, a NoteOff only for a sounding one, or any TimeShift; never PAD.
# The event_lstm applies this as a mask on its logits, in training and in generation, so that
# its probabilities are over the words that make sense where they are drawn.
WORD_KINDS = ("other", "note_on", "note_off", "velocity", "time_shift")


def word_kinds(vocabulary: list[str], lowest_pitch: int = 21, num_pitches: int = 88) -> tuple[np.ndarray, np.ndarray]:
    """What each word is, for the grammar.

    vocabulary: the token strings in id order (`vocabulary(tokenizer)`).
    Returns: (kind, int64 (W,), an index of WORD_KINDS; column, int64 (W,), the roll column
    of a NoteOn's or NoteOff's pitch, -1 for other words and for pitches outside the roll).
    """
    kinds = np.zeros(len(vocabulary), np.int64)
    columns = np.full(len(vocabulary), -1, np.int64)
    names = {"NoteOn": "note_on", "NoteOff": "note_off", "Velocity": "velocity", "TimeShift": "time_shift"}
    for index, word in enumerate(vocabulary):
        kind, _, value = word.partition("_")
        kinds[index] = WORD_KINDS.index(names.get(kind, "other"))
        if kind in ("NoteOn", "NoteOff") and 0 <= int(value) - lowest_pitch < num_pitches:
            columns[index] = int(value) - lowest_pitch
    return kinds, columns


def allowed_words(sounding: np.ndarray, after_note_on: bool, kinds: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The words that may come next, given the pitches sounding (bool (num_pitches,)) and
    whether the last word was a NoteOn (the numpy statement of the grammar; the event_lstm's
    mask computes the same in TensorFlow, and a test holds them together).

    Returns: bool (W,).
    """
    if after_note_on:
        return kinds == WORD_KINDS.index("velocity")
    is_sounding = np.where(columns >= 0, np.asarray(sounding)[np.maximum(columns, 0)], False)
    return ((kinds == WORD_KINDS.index("time_shift"))
            | ((kinds == WORD_KINDS.index("note_on")) & (columns >= 0) & ~is_sounding)
            | ((kinds == WORD_KINDS.index("note_off")) & is_sounding))
