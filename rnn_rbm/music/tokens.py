"""Pieces as sequences of words: the representation step of the token models.

Every data source becomes piano rolls first (data/); a representation turns a roll into a
sequence of tokens and back. A token is one word from each of the representation's
fields (one field, or several predicted side by side), stored as ids: int32 (N, F), row n
the ids of token n, column f an index into vocabulary[f]. Decoding gives a roll on the
same grid, so everything downstream (MIDI, WAV, pictures, sample statistics) treats a
token model's music as any other's.

    note_words   the "notes and chords as words" recipe: one token per group of notes
                 that start together and last as long; fields chord (its pitch names,
                 or "rest"), duration and advance (frames to the next token's onset)
    melody       the "one voice" recipe: one token per frame, the top voice's pitch or
                 "rest" (the rule --melody uses: music/guide.top_voice)
    midi_events  the "MIDI events as words" recipe: miditok's MIDILike note-on, note-off,
                 velocity and time-shift tokens (music/midi_events.py)
    remi         the same music as miditok's REMI bar, position, pitch and duration tokens
                 (music/remi.py): a note written once, with its length

What a roll cannot say (a note struck again at once), no representation here says either.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pretty_midi

from rnn_rbm.config import DataConfig
from rnn_rbm.errors import UserError
from rnn_rbm.music.guide import top_voice
from rnn_rbm.music.pianoroll import note_spans

UNKNOWN = "<unk>"
REST = "rest"


class UnknownWords(UserError):
    """Words that the vocabulary lacks (a primer, at generation time)."""


class Representation:
    """Rolls <-> token ids. Subclasses set NAME and FIELDS and fill in `_words` (roll ->
    words, a list of tuples of one word per field) and `_roll` (words -> roll); a
    vocabulary fitted to data (FITTED) or fixed by the grid (`fixed_vocabulary`)."""

    NAME: ClassVar[str]
    FIELDS: ClassVar[tuple[str, ...]]
    FITTED: ClassVar[bool] = False  # the vocabulary comes from the training pieces

    def __init__(self, vocabulary: list[list[str]], data: DataConfig):
        if len(vocabulary) != len(self.FIELDS):
            raise UserError(f"a {self.NAME} vocabulary has {len(self.FIELDS)} fields, not {len(vocabulary)}")
        self.vocabulary = [list(words) for words in vocabulary]
        self.data = data
        self._ids = [{word: i for i, word in enumerate(words)} for words in self.vocabulary]

    @classmethod
    def fit(cls, rolls: list[np.ndarray], data: DataConfig) -> Representation:
        """Returns: the representation with its vocabulary: the words of `rolls` (each field's
        sorted by how often it occurs, most often first, after the fixed words) for FITTED
        representations, otherwise the fixed one."""
        if not cls.FITTED:
            return cls(cls.fixed_vocabulary(data), data)
        counts: list[dict[str, int]] = [{} for _ in cls.FIELDS]
        probe = cls([[] for _ in cls.FIELDS], data)
        for roll in rolls:
            for token in probe._words(roll):
                for count, word in zip(counts, token):
                    count[word] = count.get(word, 0) + 1
        vocabulary = []
        for fixed, count in zip(cls.fixed_vocabulary(data), counts):
            found = sorted((w for w in count if w not in fixed), key=lambda w: (-count[w], w))
            vocabulary.append(fixed + found)
        return cls(vocabulary, data)

    @classmethod
    def fixed_vocabulary(cls, data: DataConfig) -> list[list[str]]:
        """Returns: per field, the words every vocabulary has, first."""
        raise NotImplementedError

    @property
    def sizes(self) -> list[int]:
        """Words per field."""
        return [len(words) for words in self.vocabulary]

    def encode(self, roll: np.ndarray, unknown: str = "error") -> np.ndarray:
        """The roll (steps, V), time-major, as token ids.

        unknown: "error" raises UnknownWords naming words the vocabulary lacks; "unk" maps
        them to the field's <unk> (where it has one).
        Returns: int32 (N, F).
        """
        tokens = self._words(roll)
        ids = np.zeros((len(tokens), len(self.FIELDS)), np.int32)
        missing: set[str] = set()
        for n, token in enumerate(tokens):
            for f, word in enumerate(token):
                found = self._ids[f].get(word)
                if found is None:
                    found = self._ids[f].get(UNKNOWN) if unknown == "unk" else None
                    if found is None:
                        missing.add(word)
                        continue
                ids[n, f] = found
        if missing:
            listed = ", ".join(sorted(missing)[:8]) + (" ..." if len(missing) > 8 else "")
            raise UnknownWords(f"{len(missing)} words not in the model's {self.NAME} vocabulary: {listed}")
        return ids

    def count_unknown(self, ids: np.ndarray) -> int:
        """Returns: how many tokens of ids (N, F) (encoded with unknown="unk") hold a word the
        vocabulary lacks: those with <unk> in a field (no piece's word is "<unk>" itself)."""
        ids = np.asarray(ids).astype(np.int64).reshape(-1, len(self.FIELDS))
        unknown = np.array([self._ids[f].get(UNKNOWN, -1) for f in range(len(self.FIELDS))])
        return int(np.any(ids == unknown, axis=1).sum())

    def decode(self, ids: np.ndarray) -> np.ndarray:
        """Returns: the roll of token ids (N, F), float32 (steps, V), time-major, at least one frame."""
        ids = np.asarray(ids).astype(np.int64).reshape(-1, len(self.FIELDS))
        for f, size in enumerate(self.sizes):
            if ids.size and (ids[:, f].min() < 0 or ids[:, f].max() >= size):
                raise UserError(f"token ids outside the {self.NAME} vocabulary's field {self.FIELDS[f]}")
        words = [tuple(self.vocabulary[f][i] for f, i in enumerate(row)) for row in ids]
        roll = self._roll(words)
        return roll if len(roll) else np.zeros((1, self.data.num_pitches), np.float32)

    def words(self, ids: np.ndarray) -> list[str]:
        """Returns: each token of ids (N, F) as text, its fields joined by "|" (for people)."""
        return ["|".join(self.vocabulary[f][i] for f, i in enumerate(row)) for row in np.asarray(ids, np.int64)]

    def _words(self, roll: np.ndarray) -> list[tuple[str, ...]]:
        raise NotImplementedError

    def _roll(self, words: list[tuple[str, ...]]) -> np.ndarray:
        raise NotImplementedError

    def _empty(self, steps: int) -> np.ndarray:
        return np.zeros((steps, self.data.num_pitches), np.float32)

    def _name(self, column: int) -> str:
        return pretty_midi.note_number_to_name(self.data.lowest_pitch + int(column))

    def _column(self, name: str) -> int | None:
        """Returns: the roll column of a pitch name, None when it is outside the roll."""
        column = pretty_midi.note_name_to_number(name) - self.data.lowest_pitch
        return column if 0 <= column < self.data.num_pitches else None


def note_runs(roll: np.ndarray, longest: int) -> list[tuple[int, int, int]]:
    """The notes of a roll, each run of active frames of a pitch cut into pieces of at
    most `longest` frames (they join again when written back: a roll cannot re-strike).

    Returns: (onset frame, column, frames) of each piece, sorted by onset then column.
    """
    runs = []
    for column, start, end in zip(*note_spans(roll)):
        for onset in range(start, end, longest):
            runs.append((int(onset), int(column), int(min(longest, end - onset))))
    return sorted(runs)


class NoteWords(Representation):
    """Notes and chords as words, with their length and the time to the next word (the
    "Classical Piano Composer" recipe, whose words had neither: every note the same length,
    evenly spaced, rests lost). Notes that start together and last as long are one word
    (chord: pitch names joined by "."); notes starting together with different lengths are
    several words, all but the last with advance 0. Lengths and advances are whole frames
    up to MAX_FRAMES: a longer note is written as several (they join again), a longer
    silence as several "rest" words."""

    NAME = "note_words"
    FIELDS = ("chord", "duration", "advance")
    FITTED = True
    MAX_FRAMES = 16

    @classmethod
    def fixed_vocabulary(cls, data: DataConfig) -> list[list[str]]:
        frames = [str(n) for n in range(cls.MAX_FRAMES + 1)]
        return [[UNKNOWN, REST], frames, list(frames)]

    def _words(self, roll: np.ndarray) -> list[tuple[str, ...]]:
        groups: dict[tuple[int, int], list[int]] = {}
        for onset, column, frames in note_runs(roll, self.MAX_FRAMES):
            groups.setdefault((onset, frames), []).append(column)
        onsets = sorted({onset for onset, _ in groups})
        tokens: list[tuple[str, ...]] = []
        now = 0  # where the next word starts
        for index, onset in enumerate(onsets):
            self._rest(tokens, now, onset)
            here = sorted((frames, columns) for (start, frames), columns in groups.items() if start == onset)
            following = onsets[index + 1] if index + 1 < len(onsets) else len(roll)
            advance = min(self.MAX_FRAMES, following - onset)
            for position, (frames, columns) in enumerate(here):
                last = position == len(here) - 1
                tokens.append((".".join(self._name(c) for c in sorted(columns)), str(frames),
                               str(advance if last else 0)))
            now = onset + advance
        self._rest(tokens, now, len(roll))
        return tokens

    def _rest(self, tokens: list[tuple[str, ...]], now: int, until: int) -> None:
        """Appends "rest" words that advance from frame `now` to `until`."""
        while now < until:
            step = min(self.MAX_FRAMES, until - now)
            tokens.append((REST, "0", str(step)))
            now += step

    def _roll(self, words: list[tuple[str, ...]]) -> np.ndarray:
        notes = []
        now = end = 0
        for chord, duration, advance in words:
            frames = int(duration)
            if chord not in (REST, UNKNOWN) and frames > 0:
                for name in chord.split("."):
                    column = self._column(name)
                    if column is not None:
                        notes.append((now, column, frames))
                end = max(end, now + frames)
            now += int(advance)
        roll = self._empty(max(now, end))
        for onset, column, frames in notes:
            roll[onset:onset + frames, column] = 1.0
        return roll


class Melody(Representation):
    """One voice, one token per frame (the midi-rnn recipe): the pitch name of the top voice
    (music/guide.top_voice, the rule of --melody) or "rest". A pitch sounding in consecutive
    frames is one held note when written back.

    The pitches are those the training pieces' top voices use (FITTED), not every key: with
    all 88, the softmax gave the keys no tune ever reaches a little probability each, about
    one frame in 300 drew one (Bach's sopranos span MIDI 40-81; draws reached 21-107, some at
    the first frame), and the LSTM, reading an embedding it never trained, wandered on from
    there. A pitch the vocabulary lacks reads as <unk> and is written back as a rest."""

    NAME = "melody"
    FIELDS = ("pitch",)
    FITTED = True

    @classmethod
    def fixed_vocabulary(cls, data: DataConfig) -> list[list[str]]:
        return [[UNKNOWN, REST]]

    def _words(self, roll: np.ndarray) -> list[tuple[str, ...]]:
        voice = top_voice(np.asarray(roll))
        sounding = voice.any(axis=1)
        columns = voice.argmax(axis=1)
        return [(self._name(c) if s else REST,) for c, s in zip(columns, sounding)]

    def _roll(self, words: list[tuple[str, ...]]) -> np.ndarray:
        roll = self._empty(len(words))
        for t, (word,) in enumerate(words):
            column = None if word in (REST, UNKNOWN) else self._column(word)
            if column is not None:
                roll[t, column] = 1.0
        return roll


class MiditokWords(Representation):
    """One field of miditok tokens, the vocabulary fixed by the grid. Subclasses name their
    codec: (the tokenizer for a grid, roll -> words, words -> roll)."""

    FIELDS = ("event",)

    @staticmethod
    def _codec() -> tuple:
        raise NotImplementedError

    def __init__(self, vocabulary: list[list[str]], data: DataConfig):
        super().__init__(vocabulary, data)
        make, self._encode, self._decode = self._codec()
        self._tokenizer = make(data.steps_per_quarter, data.lowest_pitch, data.num_pitches)

    @classmethod
    def fixed_vocabulary(cls, data: DataConfig) -> list[list[str]]:
        from rnn_rbm.music.midi_events import vocabulary

        return [vocabulary(cls._codec()[0](data.steps_per_quarter, data.lowest_pitch, data.num_pitches))]

    def _words(self, roll: np.ndarray) -> list[tuple[str, ...]]:
        return [(word,) for word in self._encode(roll, self._tokenizer, self.data.steps_per_quarter,
                                                 self.data.lowest_pitch)]

    def _roll(self, words: list[tuple[str, ...]]) -> np.ndarray:
        return self._decode([w for (w,) in words], self._tokenizer, self.data.steps_per_quarter,
                            self.data.lowest_pitch, self.data.num_pitches)


class MidiEvents(MiditokWords):
    """MIDI events as words (the deep-improvisation recipe): miditok's MIDILike tokens
    (music/midi_events.py)."""

    NAME = "midi_events"

    @staticmethod
    def _codec() -> tuple:
        from rnn_rbm.music import midi_events  # miditok is loaded only by the models that need it

        return midi_events.events_tokenizer, midi_events.roll_to_events, midi_events.events_to_roll


class Remi(MiditokWords):
    """MIDI events the REMI way (Huang & Yang 2020): miditok's Bar, Position, Pitch and
    Duration tokens, each note written once with its length (music/remi.py)."""

    NAME = "remi"

    @staticmethod
    def _codec() -> tuple:
        from rnn_rbm.music import remi

        return remi.remi_tokenizer, remi.roll_to_remi, remi.remi_to_roll


REPRESENTATIONS: dict[str, type[Representation]] = {cls.NAME: cls for cls in (NoteWords, Melody, MidiEvents, Remi)}


def representation_class(name: str) -> type[Representation]:
    """Returns: the representation called `name`; raises UserError for an unknown one."""
    if name not in REPRESENTATIONS:
        raise UserError(f"unknown representation {name!r}; the representations are {', '.join(REPRESENTATIONS)}")
    return REPRESENTATIONS[name]


def representation(name: str, vocabulary: list[list[str]], data: DataConfig) -> Representation:
    """Returns: the representation `name` with a stored vocabulary (a checkpoint's)."""
    return representation_class(name)(vocabulary, data)
