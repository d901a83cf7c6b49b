"""Bach's chorales from the corpus that music21 ships (no download): the default data.

Scores are read with music21 and handed to `pianoroll.notes_to_roll` in
quarter-note units, so the Bach default and MIDI folders share one quantiser.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnn_rbm.errors import BadMidiError
from rnn_rbm.music.pianoroll import NoteList

# Score formats of the corpus; its ".rntxt" files are harmonic analyses, not notes.
SCORE_SUFFIXES = (".mxl", ".xml", ".krn")
# The chorales' four voices, as the corpus names them. A few scores add horns, trumpets,
# timpani or continuo; those parts are left out, as in the paper's JSB Chorales.
VOICES = ("Soprano", "Alto", "Tenor", "Bass")


def chorale_paths() -> list[Path]:
    """Returns: the paths of every Bach score in music21's corpus, sorted by name."""
    from music21 import corpus

    paths = [Path(p) for p in corpus.getComposer("bach")]
    return sorted((p for p in paths if p.suffix in SCORE_SUFFIXES), key=lambda p: p.name)


def corpus_version() -> str:
    """Returns: music21's version string (a new corpus may change the pieces)."""
    import music21

    return str(music21.__version__)


def score_notes(path: str | Path) -> NoteList:
    """Reads one score's four voices (all its parts if it does not name them); tied notes
    become one note, grace notes are left out.

    Returns: NoteList with onsets/offsets in quarter notes from the start of the score.
    Raises BadMidiError when music21 cannot read the file.
    """
    score = _parse(path)
    voices = _voice_parts(score)
    return _note_list(_notes(voices if voices is not None else list(score.parts)))


def voice_notes(path: str | Path) -> list[NoteList]:
    """Reads one chorale's four voices kept apart, as score_notes reads them together.

    Returns: four NoteLists, soprano, alto, tenor, bass (onsets/offsets in quarter notes).
    Raises BadMidiError when music21 cannot read the file or the score does not name the
    four voices.
    """
    voices = _voice_parts(_parse(path))
    if voices is None:
        raise BadMidiError(f"not four voices named {', '.join(VOICES)}")
    return [_note_list(_notes([part])) for part in voices]


def _parse(path: str | Path):
    """Returns: the music21 score at `path`, ties merged. Raises BadMidiError."""
    from music21 import converter

    try:
        # forceSource: music21 would otherwise keep its own pickle cache of parsed scores.
        return converter.parse(str(path), forceSource=True).stripTies()
    except Exception as exc:  # music21 raises many unrelated types for unreadable scores
        raise BadMidiError(f"music21 could not read it ({type(exc).__name__}: {exc})") from None


def _voice_parts(score) -> list | None:
    """Returns: the score's parts named as VOICES, in that order, or None unless all four are there."""
    named = {part.partName: part for part in score.parts if part.partName in VOICES}
    return [named[name] for name in VOICES] if len(named) == len(VOICES) else None


def _note_list(elements: list) -> NoteList:
    """Returns: the NoteList of music21 notes and chords (every pitch of a chord a note)."""
    onsets, offsets, pitches = [], [], []
    for element in elements:
        length = float(element.quarterLength)
        if element.duration.isGrace or length <= 0:
            continue
        onset = float(element.offset)
        for pitch in element.pitches:
            onsets.append(onset)
            offsets.append(onset + length)
            pitches.append(pitch.midi)
    return NoteList(
        onsets=np.asarray(onsets, dtype=np.float64),
        offsets=np.asarray(offsets, dtype=np.float64),
        pitches=np.asarray(pitches, dtype=np.int64),
    )


def _notes(parts: list) -> list:
    """Returns: the notes and chords of `parts`, each with its offset in the whole score."""
    return [element for part in parts for element in part.flatten().notes]
