"""Mutated MIDI bytes and the loader's contract, shared by tests/test_fuzz.py and
benchmarks/fuzz_long.py.

The contract: `pianoroll.midi_to_roll` (what folder conversion runs on every
file) gives a roll (float32 of 0/1, shape (steps, 88), 1 <= steps <= MAX_STEPS)
or raises the project's own UserError/BadMidiError; never another exception,
never a hang, never unbounded memory. `run` checks it case by case under a
per-case timer, in a process whose address space `limit_memory` caps, so that a
regression is reported instead of taking the machine down.
"""

from __future__ import annotations

import io
import random
import re
import resource
import signal
import struct
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import mido
import numpy as np

from rnn_rbm.errors import UserError
from rnn_rbm.music.pianoroll import MAX_STEPS, midi_to_roll

# Values that break naive parsers: zero, one, sign bits, all ones, near the limits of MIDI fields.
NASTY_U32 = (0, 1, 5, 6, 0x7F, 0x80, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)
NASTY_U16 = (0, 1, 0x7F, 0x80, 0x7FFF, 0x8000, 0xE250, 0xFFFF)


def _file(tracks: list[list[mido.Message | mido.MetaMessage]], ticks_per_beat: int = 480,
          kind: int = 1) -> bytes:
    midi = mido.MidiFile(type=kind, ticks_per_beat=ticks_per_beat)
    midi.tracks.extend(mido.MidiTrack(track) for track in tracks)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def _notes(pitches: list[int], step: int, channel: int = 0, length: int | None = None) -> list[mido.Message]:
    """Notes `step` ticks apart, each `length` long (default `step`); note_on with velocity 0
    as note off, as many writers do."""
    length = length or step
    events = []
    for pitch in pitches:
        events.append(mido.Message("note_on", channel=channel, note=pitch, velocity=80,
                                   time=step - length if events else 0))
        events.append(mido.Message("note_on", channel=channel, note=pitch, velocity=0, time=length))
    return events


def seed_files() -> list[bytes]:
    """Small well-formed MIDI files that between them use every kind of event the
    loader reads: tempo maps, odd metres, key signatures, running status, sysex,
    pitch bends, controllers, text, drums, notes off the piano, several tracks.

    Returns: the files' bytes.
    """
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    meta = mido.MetaMessage
    conductor = [meta("track_name", name="conductor"), meta("time_signature", numerator=7, denominator=8),
                 meta("key_signature", key="Eb"), meta("set_tempo", tempo=400_000)]
    conductor += [meta("set_tempo", tempo=300_000 + 997 * i, time=7) for i in range(300)]
    conductor += [meta("time_signature", numerator=5, denominator=4, time=120), meta("end_of_track", time=1)]
    chords = []
    for root in (48, 53, 55, 48):
        chords += [mido.Message("note_on", note=root + i, velocity=70) for i in (0, 4, 7)]
        chords += [mido.Message("note_off", note=root + i, time=240 if i == 0 else 0) for i in (0, 4, 7)]
    extras = [mido.Message("program_change", program=40), mido.Message("control_change", control=64, value=127),
              mido.Message("pitchwheel", pitch=-2000), mido.Message("sysex", data=[0x7E, 0x7F, 0x09, 0x01]),
              meta("lyrics", text="la"), meta("text", text="\u00e9t\u00e9"), meta("marker", text="A")]
    drums = _notes([36, 38, 42, 46], 120, channel=9)
    return [
        _file([_notes(scale, 240)]),
        _file([conductor, chords, extras + _notes(scale, 60, length=30), drums]),
        _file([[meta("set_tempo", tempo=600_000)] + _notes([5, 12, 20, 109, 120, 127, 60], 96)], ticks_per_beat=96,
              kind=0),
        _file([_notes(scale[::-1], 1)], ticks_per_beat=1),
        _file([drums]),
        _file([[meta("time_signature", numerator=5, denominator=4)] + _notes(scale * 3, 1000, length=999)],
              ticks_per_beat=32767),
    ]


def real_files(folder: Path | None = None) -> list[bytes]:
    """Returns: the bytes of the small MIDI files music21 ships for its own tests (written
    by other tools), or of every *.mid in `folder`; empty when there are none."""
    if folder is None:
        try:
            import music21
        except ImportError:
            return []
        folder = Path(music21.__file__).parent / "midi" / "testPrimitive"
    return [p.read_bytes() for p in sorted(Path(folder).glob("*.mid"))]


def _vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _positions(data: bytes, marker: bytes) -> list[int]:
    found, start = [], data.find(marker)
    while start >= 0:
        found.append(start)
        start = data.find(marker, start + 1)
    return found


def mutate(data: bytes, rng: random.Random, seeds: list[bytes]) -> tuple[bytes, str]:
    """Applies one to three random mutations.

    Returns: (the mutated bytes, the names of the mutations applied, joined by '+').
    """
    out = bytearray(data)
    names = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        mutation = rng.choice(MUTATIONS)
        names.append(mutation.__name__.lstrip("_"))
        out = bytearray(mutation(bytes(out), rng, seeds))
    return bytes(out), "+".join(names)


def _flip_bits(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _set_bytes(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if out:
            out[rng.randrange(len(out))] = rng.choice((0x00, 0x7F, 0x80, 0xF0, 0xF7, 0xFF, rng.randrange(256)))
    return bytes(out)


def _truncate(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _insert_junk(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    at = rng.randrange(len(data) + 1)
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return data[:at] + junk + data[at:]


def _delete_span(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + data[at + rng.randint(1, 32):]


def _splice(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    other = rng.choice(seeds)
    return data[: rng.randrange(len(data) + 1)] + other[rng.randrange(len(other) + 1):]


def _repeat_span(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    """Repeats a short span many times: long tracks, many tempo changes, stacked notes."""
    at = rng.randrange(len(data) + 1)
    span = data[at : at + rng.randint(1, 16)]
    return data[:at] + span * rng.randint(2, 2000) + data[at:]


def _chunk_length(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    places = _positions(data, b"MThd") + _positions(data, b"MTrk")
    if not places:
        return data
    at = rng.choice(places) + 4
    return data[:at] + struct.pack(">L", rng.choice(NASTY_U32 + (rng.randrange(1 << 32),))) + data[at + 4:]


def _header_field(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    """Absurd format, track count or division (ticks per quarter, or SMPTE when the top bit is set)."""
    at = 8 + 2 * rng.randrange(3)
    if len(data) < at + 2:
        return data
    return data[:at] + struct.pack(">H", rng.choice(NASTY_U16 + (rng.randrange(1 << 16),))) + data[at + 2:]


def _huge_delta(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    """Replaces a one-byte delta time (a byte < 0x80 before a status byte) with a huge or
    overlong variable-length quantity."""
    places = [i for i in range(1, len(data)) if data[i] >= 0x80 and data[i - 1] < 0x80]
    if not places:
        return data
    at = rng.choice(places) - 1
    value = rng.choice((_vlq(0x0FFFFFFF), _vlq(1 << rng.randint(14, 27)), _vlq(rng.randrange(1 << 28)),
                        b"\xff" * rng.randint(4, 40) + b"\x7f", b"\x80" * rng.randint(4, 40) + b"\x00",
                        b"\xff" * rng.randint(1000, 20000) + b"\x01"))
    return data[:at] + value + data[at + 1:]


def _meta_value(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    """Absurd tempo, metre, key or meta length: zero, all ones, random."""
    choices = {b"\xff\x51\x03": 3, b"\xff\x58\x04": 4, b"\xff\x59\x02": 2, b"\xff\x2f\x00": 0}
    marker = rng.choice(list(choices))
    places = _positions(data, marker)
    if not places:
        return data
    at = rng.choice(places) + 3
    size = choices[marker]
    if rng.random() < 0.3:  # the length field itself
        length = rng.choice((_vlq(0x0FFFFFFF), _vlq(1_000_001), _vlq(rng.randrange(1 << 16)), b"\x00"))
        return data[: at - 1] + length + data[at:]
    value = bytes(rng.choice((0x00, 0xFF, rng.randrange(256))) for _ in range(size))
    return data[:at] + value + data[at + size:]


MUTATIONS = (_flip_bits, _set_bytes, _truncate, _insert_junk, _delete_span, _splice, _repeat_span,
             _chunk_length, _header_field, _huge_delta, _meta_value)


# Share of cases built by `random_file` rather than by mutating a seed.
GENERATED_SHARE = 0.3


class CaseTimeout(Exception):
    """One case ran past its time limit (raised by a SIGALRM timer)."""


def check(data: bytes, steps_per_quarter: int = 2) -> tuple[str, str]:
    """Runs the loader on `data` and checks the contract.

    Returns: (outcome, detail). The outcome is "roll" or "rejected" (detail: the reason,
    digits masked) when the contract holds; otherwise a failure kind, "<ExceptionType>
    at <file>:<line>" or "bad roll: <what>".
    """
    try:
        roll, _ = midi_to_roll(data, steps_per_quarter)
    except UserError as exc:
        return "rejected", re.sub(r"\d[\d,]*", "N", str(exc))[:80]
    except CaseTimeout:
        raise
    except Exception as exc:  # the contract under test: anything else is a failure to report
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}", str(exc)[:200]
    if not isinstance(roll, np.ndarray) or roll.dtype != np.float32 or roll.ndim != 2 or roll.shape[1] != 88:
        return "bad roll", f"{getattr(roll, 'dtype', type(roll))} {getattr(roll, 'shape', '')}"
    if not 1 <= len(roll) <= MAX_STEPS or not np.isin(roll, (0.0, 1.0)).all() or not roll.any():
        return "bad roll", f"{len(roll)} steps, values {np.unique(roll)[:4]}"
    return "roll", ""


@dataclass
class Report:
    """What a fuzz run found: outcomes per kind, reasons for rejection, one example per
    failure kind (mutations applied, detail, bytes), the slowest case (seconds, mutations, bytes)."""

    cases: int = 0
    outcomes: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    failures: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)
    slowest: tuple[float, str, bytes] = (0.0, "", b"")
    seconds: float = 0.0


def limit_memory(extra_bytes: int) -> int:
    """Caps this process's address space at its present size plus `extra_bytes`, so that a
    runaway allocation raises MemoryError instead of exhausting the machine (Linux).

    Returns: the cap, in bytes.
    """
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    cap = pages * resource.getpagesize() + extra_bytes
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    return cap


def _alarm(signum, frame):
    raise CaseTimeout


def run(seeds: list[bytes], cases: int, seed: int, seconds: float = float("inf"),
        case_timeout: float = 10.0) -> Report:
    """Checks `cases` mutated files (or until `seconds` have passed), each under a
    `case_timeout` second timer (SIGALRM: call from the main thread).

    Returns: the Report; a case that hangs counts as failure "timeout".
    """
    rng = random.Random(seed)
    report = Report()
    previous = signal.signal(signal.SIGALRM, _alarm)
    started = time.perf_counter()
    try:
        while report.cases < cases and time.perf_counter() - started < seconds:
            if rng.random() < GENERATED_SHARE:
                data, how = random_file(rng), "random_file"
            else:
                data, how = mutate(rng.choice(seeds), rng, seeds)
            case_started = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, case_timeout)
            try:
                outcome, detail = check(data)
            except CaseTimeout:
                outcome, detail = "timeout", f"over {case_timeout} s"
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            took = time.perf_counter() - case_started
            report.cases += 1
            report.outcomes[outcome] += 1
            if outcome == "rejected":
                report.reasons[detail] += 1
            elif outcome != "roll":
                report.failures.setdefault(outcome, (how, detail, data))
            if took > report.slowest[0]:
                report.slowest = (took, how, data)
    finally:
        signal.signal(signal.SIGALRM, previous)
    report.seconds = time.perf_counter() - started
    return report


def _random_event(rng: random.Random, junk: float, pitches: list[int]) -> bytes:
    """One encodable event (without its delta) with arbitrary values: notes (of `pitches`,
    so that ons and offs meet), controllers, pitch bends, sysex, and meta events, a share
    `junk` of them with any payload (zero tempo, 0/0 metre, bad keys)."""
    kind = rng.random()
    channel = rng.choice((0, 0, 0, 9, rng.randrange(16)))
    if kind < 0.6:
        status = rng.choice((0x90, 0x90, 0x80)) | channel
        return bytes((status, rng.choice(pitches), rng.choice((0, 64, 127, rng.randrange(128)))))
    if kind < 0.6:
        status = rng.choice((0xA0, 0xB0, 0xE0)) | channel
        return bytes((status, rng.randrange(128), rng.randrange(128)))
    if kind < 0.65:
        return bytes((rng.choice((0xC0, 0xD0)) | channel, rng.randrange(128)))
    if kind < 0.7:
        data = bytes(rng.randrange(128) for _ in range(rng.randrange(20))) + b"\xf7"
        return b"\xf0" + _vlq(len(data)) + data
    if rng.random() < junk:  # any meta type, any payload
        payload = bytes(rng.choice((0, 0xFF, rng.randrange(256))) for _ in range(rng.randrange(12)))
        meta_type = rng.choice((0x51, 0x58, 0x59, 0x54, 0x20, rng.randrange(128)))
        return bytes((0xFF, meta_type)) + _vlq(len(payload)) + payload
    meta_type, payload = rng.choice((
        (0x51, rng.randrange(1, 1 << 24).to_bytes(3, "big")),  # tempo, any but zero
        (0x51, rng.randrange(200_000, 1_500_000).to_bytes(3, "big")),
        (0x58, bytes((rng.randint(1, 32), rng.randint(0, 6), 24, 8))),  # metre n/2^d
        (0x59, bytes((rng.randint(-7, 7) & 0xFF, rng.randint(0, 1)))),  # key
        (0x01, b"text"), (0x03, b"name"), (0x05, b"la"), (0x2F, b""),
    ))
    return bytes((0xFF, meta_type)) + _vlq(len(payload)) + payload


def random_file(rng: random.Random) -> bytes:
    """A file whose chunks and events are framed as the standard says but whose values are
    arbitrary: division, deltas up to the largest a 4-byte number holds, event contents.

    Returns: the file's bytes.
    """
    junk = rng.choice((0.0, 0.0, 0.001, 0.05))  # share of meta events with arbitrary payloads
    # Deltas: mostly 0 or musical; in some files a share of huge ones (up to 2^28 - 1).
    huge = rng.choice((0.0, 0.0, 0.0005, 0.01, 0.2))
    pitches = rng.sample(range(128), rng.choice((1, 3, 8, 30)))
    tracks = []
    for _ in range(rng.choice((1, 1, 2, 3, rng.randint(0, 40)))):
        body = bytearray()
        for _ in range(rng.choice((0, 1, 5, 50, rng.randint(0, 3000)))):
            if rng.random() < huge:
                delta = rng.choice((rng.randrange(1 << 28), 0x0FFFFFFF, rng.randrange(1 << 14, 1 << 21)))
            else:
                delta = rng.choice((0, 0, 0, 1, 60, 120, 240, 480, rng.randrange(1000)))
            body += _vlq(delta) + _random_event(rng, junk, pitches)
        if rng.random() < 0.9:
            body += b"\x00\xff\x2f\x00"  # end of track
        tracks.append(b"MTrk" + struct.pack(">L", len(body)) + bytes(body))
    if rng.random() < 0.1:
        division = rng.choice(NASTY_U16)
    else:
        division = rng.choice((1, 24, 96, 480, 960, 32767, rng.randint(1, 0x7FFF)))
    header = struct.pack(">4sLHHH", b"MThd", 6, rng.choice((0, 1, 1, 2)), len(tracks), division)
    return header + b"".join(tracks)
