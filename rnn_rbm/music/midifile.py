"""Reads a MIDI file into pretty_midi without trusting it.

Files come from anywhere, so every bound is checked before the costly step it
protects: the size before mido parses, the header, tempos and timing after
mido and before pretty_midi, which allocates one float per tick up to the
file's last event. Anything unusable raises BadMidiError with the reason.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from pathlib import Path

import mido
import numpy as np
import pretty_midi

from rnn_rbm.errors import BadMidiError

# Longest piece accepted, in frames: bounds memory on files with absurd note times
# (two hours of sixteenth notes at 120 bpm is 57,600 frames).
MAX_STEPS = 200_000
# Largest file read. mido builds a Python object per event: the worst 4 MiB files (one
# event per 2 or 3 bytes) took 40-60 s and peaked at 600 MiB RSS (2 loaded cores).
# Real pieces typically take tens to hundreds of KB.
MAX_MIDI_BYTES = 4 * 2**20
# Longest run of bytes >= 0x80. mido decodes a variable-length number of n such bytes by
# shifting a growing integer, O(n^2): 80 KB took 0.7 s, so a 4 MiB run would take about
# half an hour. The standard allows 4 (data bytes are < 0x80); only text in a meta event
# has long runs, and no real lyric holds 16 KiB of non-ASCII bytes without a space.
MAX_HIGH_BYTE_RUN = 16_384
# The standard's largest delta time (a 4-byte variable-length number).
MAX_DELTA_TICKS = 0x0FFFFFFF
# pretty_midi's own MAX_TICK (its tick array takes 8 bytes a tick): it refuses a file with
# an event this late or later, with a message about itself.
MAX_TICKS = 10**7

# What mido and pretty_midi raise on malformed data (KeySignatureError: found by fuzzing).
_PARSE_ERRORS = (OSError, EOFError, ValueError, KeyError, IndexError, TypeError, mido.KeySignatureError)


def read_midi(source: str | Path | bytes) -> pretty_midi.PrettyMIDI:
    """Parses a MIDI file (path or raw bytes).

    Returns: the PrettyMIDI object. Raises BadMidiError with the reason when the
    data cannot be read or is not usable MIDI (see the bounds above).
    """
    data = source if isinstance(source, bytes) else _read_bytes(Path(source))
    if len(data) > MAX_MIDI_BYTES:
        raise BadMidiError(f"larger than {MAX_MIDI_BYTES // 2**20} MiB, far beyond a piece of music")
    if _longest_high_run(data) > MAX_HIGH_BYTE_RUN:
        raise BadMidiError(f"not a MIDI file (over {MAX_HIGH_BYTE_RUN} bytes >= 0x80 in a row)")
    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except _PARSE_ERRORS as exc:
        raise BadMidiError(f"not a readable MIDI file ({_reason(exc)})") from None
    _check(midi)
    try:
        with warnings.catch_warnings():
            # pretty_midi warns about tempo events on non-zero tracks, common and harmless here.
            warnings.simplefilter("ignore")
            return pretty_midi.PrettyMIDI(mido_object=midi)
    except _PARSE_ERRORS as exc:
        raise BadMidiError(f"not a readable MIDI file ({_reason(exc)})") from None


def _read_bytes(path: Path) -> bytes:
    """Returns: at most MAX_MIDI_BYTES + 1 bytes of the regular file at `path`."""
    try:
        # A FIFO or device would block open() or never end: only regular files are read.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise BadMidiError("not a regular file")
        with open(path, "rb") as file:
            return file.read(MAX_MIDI_BYTES + 1)
    except OSError as exc:
        raise BadMidiError(f"cannot read it ({exc.strerror or _reason(exc)})") from None


def _longest_high_run(data: bytes) -> int:
    """Returns: the length of the longest run of bytes >= 0x80 in `data`."""
    high = np.frombuffer(data, dtype=np.uint8) >= 0x80
    edges = np.diff(np.concatenate(([False], high, [False])).astype(np.int8))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    return int((ends - starts).max()) if starts.size else 0


def _check(midi: mido.MidiFile) -> None:
    """Drops empty tracks and raises BadMidiError where pretty_midi would divide by zero,
    allocate beyond the bounds, or fail without a reason."""
    if midi.ticks_per_beat <= 0:  # mido reads the division as signed: SMPTE timing is negative
        raise BadMidiError("the header gives no ticks per quarter note (SMPTE or zero timing is not supported)")
    midi.tracks = [track for track in midi.tracks if track]
    if not midi.tracks:
        raise BadMidiError("no tracks")
    last_tick = 0
    for track in midi.tracks:
        tick = 0
        for message in track:
            if message.time > MAX_DELTA_TICKS:
                raise BadMidiError("a delta time longer than the standard allows (corrupt timing)")
            if message.type == "set_tempo" and message.tempo <= 0:
                raise BadMidiError("a tempo of zero microseconds per quarter note (corrupt)")
            tick += message.time
        last_tick = max(last_tick, tick)
    quarters = last_tick / midi.ticks_per_beat
    # At one frame per quarter note or more, a piece of over MAX_STEPS quarter notes cannot fit.
    if quarters > MAX_STEPS or last_tick >= MAX_TICKS:
        raise BadMidiError(f"events as late as quarter note {quarters:,.0f} ({last_tick:,} ticks): "
                           "corrupt timing, or a piece too long")


def _reason(exc: BaseException) -> str:
    """Returns: the parser's message, short; with the type where the message alone is a bare key or index."""
    if isinstance(exc, EOFError):
        return "it ends in the middle of an event or chunk: truncated?"
    text = str(exc).strip()[:200]
    if not text:
        return type(exc).__name__
    return f"{type(exc).__name__}: {text}" if isinstance(exc, LookupError) else text
