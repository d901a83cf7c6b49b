"""Four-part harmony measured against Bach: voices, accuracies, voice leading, ranges, the
tune a chorale sets, and a counting harmoniser (numpy and music21; no TensorFlow).

A chorale's voices are an int array (4, T): soprano, alto, tenor, bass, each frame a MIDI
pitch or REST. A model writes a roll, not voices: its voices are found by sorting
(`assign_voices`), the given soprano on top and the notes below it, highest first, as alto
and tenor, the lowest as bass. Sorted voices cannot cross, so a model's crossings are 0 by
construction; Bach's are counted on his own voices.

Rolls are time-major, `(num_steps, num_pitches)`, 0/1, column `i` = MIDI pitch
`lowest_pitch + i`.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from rnn_rbm.music.keys import find_key, roll_pitch_class_weights
from rnn_rbm.music.pianoroll import NoteList, RollStats, notes_to_roll

VOICES = ("soprano", "alto", "tenor", "bass")
REST = -1
# The ranges taught for four-part writing (Aldwell & Schachter, Harmony and Voice Leading):
# soprano C4-G5, alto G3-D5, tenor C3-G4, bass E2-C4, MIDI pitches, inclusive.
RANGES = ((60, 79), (55, 74), (48, 67), (40, 60))
# What voice leading counts, in music21's VoiceLeadingQuartet terms.
FAULTS = ("parallel_fifths", "parallel_octaves", "hidden_fifths", "hidden_octaves", "crossings", "overlaps")


def voice_bits(voices: list[NoteList], steps_per_quarter: int, lowest_pitch: int = 21, num_pitches: int = 88,
               out_of_range: str = "octave") -> tuple[np.ndarray, RollStats]:
    """Quantises each voice's notes as pianoroll.notes_to_roll does, onto one roll that keeps
    them apart: its value at a frame and pitch has bit i set where voice i sounds the pitch
    (so a unison keeps both voices). The roll > 0 is the chorale's usual roll.

    voices: the four NoteLists (bach.voice_notes).
    Returns: (uint8 (T, num_pitches), time-major, T the last note's end; RollStats summed).
    """
    rolls, total = [], RollStats()
    for voice in voices:
        roll, stats = notes_to_roll(voice, steps_per_quarter, lowest_pitch, num_pitches, out_of_range)
        rolls.append(roll)
        total = RollStats(total.notes + stats.notes, total.moved + stats.moved, total.dropped + stats.dropped)
    bits = np.zeros((max(map(len, rolls)), num_pitches), dtype=np.uint8)
    for index, roll in enumerate(rolls):
        bits[: len(roll)] |= (roll > 0).astype(np.uint8) << index
    return bits, total


def unpack_voice_bits(bits: np.ndarray) -> np.ndarray:
    """Returns: float32 0/1 (4, T, V): each voice's roll from voice_bits' roll (T, V)."""
    bits = np.asarray(bits, dtype=np.uint8)
    return np.stack([((bits >> index) & 1).astype(np.float32) for index in range(len(VOICES))])


def voice_pitches(voice_rolls: np.ndarray, lowest_pitch: int = 21) -> np.ndarray:
    """The pitch of each voice in every frame.

    voice_rolls: (4, T, V), one time-major roll per voice (a voice's rare double stop keeps
    its highest note).
    Returns: int64 (4, T), MIDI pitches, REST where a voice is silent.
    """
    active = np.asarray(voice_rolls) > 0
    highest = active.shape[2] - 1 - np.argmax(active[:, :, ::-1], axis=2)
    return np.where(active.any(axis=2), highest + lowest_pitch, REST).astype(np.int64)


def voices_roll(voices: np.ndarray, num_pitches: int = 88, lowest_pitch: int = 21) -> np.ndarray:
    """Returns: float32 0/1 (T, num_pitches), time-major: every voice's note (unisons merge)."""
    voices = np.asarray(voices)
    roll = np.zeros((voices.shape[1], num_pitches), dtype=np.float32)
    for voice in voices:
        sounding = np.nonzero(voice != REST)[0]
        roll[sounding, voice[sounding] - lowest_pitch] = 1.0
    return roll


def soprano_roll(soprano: np.ndarray, num_pitches: int = 88, lowest_pitch: int = 21) -> np.ndarray:
    """Returns: float32 0/1 (T, num_pitches), time-major: the soprano alone (a melody for
    guide.melody_clamp)."""
    return voices_roll(np.asarray(soprano)[np.newaxis], num_pitches, lowest_pitch)


def given_units(soprano: np.ndarray, num_pitches: int = 88, lowest_pitch: int = 21) -> np.ndarray:
    """The units a harmonisation is given: the soprano's note and every pitch above it
    (off), in frames where the soprano sounds; guide.melody_clamp holds the same units.

    Returns: float32 0/1 (T, num_pitches), time-major.
    """
    soprano = np.asarray(soprano)
    columns = np.arange(num_pitches) + lowest_pitch
    return ((soprano[:, np.newaxis] != REST) & (columns >= soprano[:, np.newaxis])).astype(np.float32)


def assign_voices(roll: np.ndarray, soprano: np.ndarray, lowest_pitch: int = 21) -> np.ndarray:
    """A written roll's voices under a given soprano: the notes below the soprano, highest
    first, are alto and tenor, the lowest of them the bass (one note below: a bass alone;
    two: alto and bass; more than three: the middle ones beyond the tenor are left out).
    Where the soprano rests, the highest note sounding takes its place.

    roll: (T, V), time-major; soprano: int (T,), MIDI pitches or REST.
    Returns: int64 (4, T), MIDI pitches or REST.
    """
    roll = np.asarray(roll) > 0
    voices = np.full((4, len(roll)), REST, dtype=np.int64)
    for t, frame in enumerate(roll):
        pitches = np.nonzero(frame)[0][::-1] + lowest_pitch  # highest first
        top = soprano[t] if soprano[t] != REST else (pitches[0] if len(pitches) else REST)
        voices[0, t] = top
        below = pitches[pitches < top] if top != REST else pitches[:0]
        if len(below):
            voices[3, t] = below[-1]
        if len(below) >= 2:
            voices[1, t] = below[0]
        if len(below) >= 3:
            voices[2, t] = below[1]
    return voices


@dataclass
class Agreement:
    """How far written voices agree with Bach's, in counts (summed over chorales by `add`).

    matched, sounding: per lower voice (alto, tenor, bass): frames where Bach's voice sounds
    and the written voice has his pitch, and frames where his voice sounds.
    pc_matched, frames: frames whose pitch-class set is Bach's, of the frames where he sounds.
    four, written: the written frames with exactly four notes, of those with any note.
    """

    matched: np.ndarray = field(default_factory=lambda: np.zeros(3, np.int64))
    sounding: np.ndarray = field(default_factory=lambda: np.zeros(3, np.int64))
    pc_matched: int = 0
    frames: int = 0
    four: int = 0
    written: int = 0

    def add(self, other: Agreement) -> Agreement:
        return Agreement(self.matched + other.matched, self.sounding + other.sounding,
                         self.pc_matched + other.pc_matched, self.frames + other.frames,
                         self.four + other.four, self.written + other.written)

    def figures(self) -> dict[str, float]:
        """Returns: percentages: each lower voice's accuracy, theirs pooled, the pitch-class
        set matches, the four-note frames."""
        share = lambda a, b: 100.0 * a / b if b else float("nan")  # noqa: E731
        out = {f"{name}_accuracy": share(m, s) for name, m, s in zip(VOICES[1:], self.matched, self.sounding)}
        out["lower_accuracy"] = share(self.matched.sum(), self.sounding.sum())
        out["pitch_class_match"] = share(self.pc_matched, self.frames)
        out["four_notes"] = share(self.four, self.written)
        return out


def agreement(written: np.ndarray, written_roll: np.ndarray, bach: np.ndarray, bach_roll: np.ndarray) -> Agreement:
    """Compares one harmonisation with Bach's.

    written, bach: int (4, T) voices (REST where silent); written_roll, bach_roll: (T, V)
    time-major rolls of the same frames.
    Returns: the Agreement's counts.
    """
    lower_written, lower_bach = np.asarray(written)[1:], np.asarray(bach)[1:]
    sounding = lower_bach != REST
    matched = sounding & (lower_written == lower_bach)
    classes = lambda roll: _pitch_classes(np.asarray(roll) > 0)  # noqa: E731
    bach_pcs, written_pcs = classes(bach_roll), classes(written_roll)
    bach_frames = np.asarray(bach_roll).sum(axis=1) > 0
    notes = (np.asarray(written_roll) > 0).sum(axis=1)
    return Agreement(matched.sum(axis=1), sounding.sum(axis=1),
                     int(np.sum(bach_frames & (bach_pcs == written_pcs).all(axis=1))), int(bach_frames.sum()),
                     int(np.sum(notes == 4)), int(np.sum(notes > 0)))


def _pitch_classes(active: np.ndarray) -> np.ndarray:
    """Returns: bool (T, 12), the pitch classes sounding in each frame (column 0 = C), for a
    roll whose column 0 is A0 (MIDI 21)."""
    folded = np.zeros((len(active), 12), dtype=bool)
    for column in range(active.shape[1]):
        folded[:, (column + 21) % 12] |= active[:, column]
    return folded


@functools.lru_cache(maxsize=None)
def _quartet_faults(upper_from: int, upper_to: int, lower_from: int, lower_to: int) -> tuple[bool, ...]:
    """Returns: for one voice pair moving between two frames, whether each of FAULTS occurs,
    as music21's VoiceLeadingQuartet judges (cached: chorales repeat the same motions)."""
    from music21 import note, voiceLeading

    quartet = voiceLeading.VoiceLeadingQuartet(note.Note(upper_from), note.Note(upper_to),
                                               note.Note(lower_from), note.Note(lower_to))
    return (quartet.parallelFifth(), quartet.parallelUnisonOrOctave(), quartet.hiddenFifth(),
            quartet.hiddenOctave(), quartet.voiceCrossing(), quartet.voiceOverlap())


def transition_faults(before: np.ndarray, after: np.ndarray) -> list[tuple[bool, ...]]:
    """The voice-pair transitions between two frames of four voices, and each one's faults.

    A transition is a pair of voices (six pairs) in which both voices sound in both frames,
    at least one of them moving.
    before, after: int (4,), MIDI pitches or REST, soprano first.
    Returns: for each transition, whether each of FAULTS occurs (music21's judgement).
    """
    found = []
    for upper in range(4):
        for lower in range(upper + 1, 4):
            pitches = (int(before[upper]), int(after[upper]), int(before[lower]), int(after[lower]))
            if REST in pitches or (pitches[0] == pitches[1] and pitches[2] == pitches[3]):
                continue
            found.append(_quartet_faults(*pitches))
    return found


def parallel(before: np.ndarray, after: np.ndarray) -> bool:
    """Returns: whether any two of the four voices move in parallel fifths or octaves
    (unisons included) from `before` to `after` (int (4,), MIDI pitches or REST)."""
    return any(faults[0] or faults[1] for faults in transition_faults(before, after))


def voice_leading(voices: np.ndarray) -> dict[str, int]:
    """Counts the voice-leading faults of four voices over time, with music21
    (transition_faults between each two consecutive frames).

    voices: int (4, T), MIDI pitches or REST.
    Returns: {"transitions": n, and a count for each of FAULTS}.
    """
    voices = np.asarray(voices)
    counts = dict.fromkeys(("transitions",) + FAULTS, 0)
    for t in range(1, voices.shape[1]):
        for faults in transition_faults(voices[:, t - 1], voices[:, t]):
            counts["transitions"] += 1
            for name, fault in zip(FAULTS, faults):
                counts[name] += int(fault)
    return counts


def out_of_range(voices: np.ndarray) -> tuple[int, int]:
    """Notes outside their voice's RANGES: a note is a run of frames at one pitch.

    Returns: (notes out of range, notes), summed over the four voices.
    """
    outside = total = 0
    for voice, (low, high) in zip(np.asarray(voices), RANGES):
        starts = np.nonzero((voice != REST) & np.concatenate([[True], voice[1:] != voice[:-1]]))[0]
        total += len(starts)
        outside += int(np.sum((voice[starts] < low) | (voice[starts] > high)))
    return outside, total


def tune(soprano: np.ndarray, notes: int = 12) -> tuple[int, ...]:
    """What identifies the hymn tune a chorale sets, whatever its key and rhythm: the
    intervals, in semitones, between the first `notes` notes of its soprano (repeated
    pitches merged, rests skipped).

    soprano: int (T,), MIDI pitches or REST.
    """
    pitches = [int(p) for p in np.asarray(soprano) if p != REST]
    merged = [p for i, p in enumerate(pitches) if i == 0 or p != pitches[i - 1]]
    return tuple(np.diff(merged[:notes]).tolist())


def key_of(roll: np.ndarray, lowest_pitch: int = 21) -> tuple[int, str]:
    """The key of a piece by music21's Krumhansl-Schmuckler analysis of how long each pitch
    class sounds (keys.find_key).

    roll: (T, V), time-major.
    Returns: (tonic pitch class, 0 = C; "major" or "minor").
    """
    return find_key(roll_pitch_class_weights(roll, lowest_pitch))


@dataclass
class CountingHarmoniser:
    """The counting baseline: under each soprano note, the set of lower notes (as intervals
    below the soprano) most often found under that soprano degree of the key in the training
    chorales. Its likelihood of a lower set mixes those counts with independent notes at
    each interval below the soprano (weight `mix` on the counts), so that no set has
    probability 0.
    """

    chords: dict = field(default_factory=lambda: defaultdict(Counter))
    offsets: np.ndarray = field(default_factory=lambda: np.zeros(128))
    frames: int = 0
    mix: float = 0.9

    @staticmethod
    def context(soprano_pitch: int, key: tuple[int, str]) -> tuple[str, int]:
        return key[1], (soprano_pitch - key[0]) % 12

    @staticmethod
    def lower_set(frame: np.ndarray, soprano_pitch: int, lowest_pitch: int = 21) -> frozenset:
        """Returns: the intervals below the soprano, semitones, of a frame's notes under it."""
        pitches = np.nonzero(np.asarray(frame) > 0)[0] + lowest_pitch
        return frozenset(int(soprano_pitch - p) for p in pitches if p < soprano_pitch)

    def count(self, roll: np.ndarray, soprano: np.ndarray, key: tuple[int, str], lowest_pitch: int = 21) -> None:
        """Adds one training chorale: its roll (T, V), soprano (T,), key."""
        for frame, pitch in zip(np.asarray(roll), np.asarray(soprano)):
            if pitch == REST:
                continue
            below = self.lower_set(frame, int(pitch), lowest_pitch)
            self.chords[self.context(int(pitch), key)][below] += 1
            for offset in below:
                self.offsets[offset] += 1
            self.frames += 1

    def harmonise(self, soprano: np.ndarray, key: tuple[int, str], num_pitches: int = 88,
                  lowest_pitch: int = 21) -> np.ndarray:
        """Returns: float32 0/1 (T, num_pitches), time-major: the soprano and, under each of
        its notes, the most frequent lower set of its context (nothing where unseen)."""
        roll = soprano_roll(soprano, num_pitches, lowest_pitch)
        for t, pitch in enumerate(np.asarray(soprano)):
            seen = self.chords.get(self.context(int(pitch), key)) if pitch != REST else None
            if seen:
                for offset in seen.most_common(1)[0][0]:
                    column = int(pitch) - offset - lowest_pitch
                    if 0 <= column < num_pitches:
                        roll[t, column] = 1.0
        return roll

    def log_prob(self, frame: np.ndarray, soprano_pitch: int, key: tuple[int, str], lowest_pitch: int = 21) -> float:
        """Returns: log p(the frame's notes below the soprano | soprano, key), nats."""
        below = self.lower_set(frame, soprano_pitch, lowest_pitch)
        # Independent notes at each interval below the soprano, down to the lowest pitch.
        rates = (self.offsets[1:soprano_pitch - lowest_pitch + 1] + 0.5) / (self.frames + 1.0)
        on = np.zeros(len(rates), dtype=bool)
        on[[o - 1 for o in below if o - 1 < len(rates)]] = True
        independent = float(np.sum(np.where(on, np.log(rates), np.log1p(-rates))))
        seen = self.chords.get(self.context(soprano_pitch, key), Counter())
        total = sum(seen.values())
        counted = seen[below] / total if total else 0.0
        return float(np.logaddexp(np.log(self.mix) + np.log(counted) if counted else -np.inf,
                                  np.log1p(-self.mix) + independent))
