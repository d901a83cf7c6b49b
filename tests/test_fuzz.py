"""Fuzzing the loaders: mutated MIDI bytes (tests/midi_mutations.py) and arbitrary JSON.

The MIDI run happens in a child process under a memory cap and a per-case timer,
so that a regression that allocates gigabytes or hangs fails here instead of
taking the machine down. Cases the long run (benchmarks/fuzz_long.py) found are
kept below as regression tests, built in memory.
"""

import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import midi_mutations
import pytest
from conftest import chord_progression, midi_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_rbm.config import DataConfig
from rnn_rbm.data import sources
from rnn_rbm.errors import BadMidiError, UserError
from rnn_rbm.music import midifile
from rnn_rbm.music.pianoroll import midi_to_roll

ROOT = Path(__file__).resolve().parents[1]
CI_CASES = 500


def test_mutated_midi_gives_a_roll_or_bad_midi_error(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fuzz_long.py"), "--cases", str(CI_CASES),
                             "--seed", "0", "--case_timeout", "20", "--save_dir", str(tmp_path), "--json",
                             "--record", str(tmp_path / "record.json")],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.stdout.strip(), result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["failures"] == {}, f"failing cases saved in {tmp_path}: {report['failures']}"
    assert result.returncode == 0, result.stderr
    assert report["cases"] == CI_CASES
    assert json.loads((tmp_path / "record.json").read_text())["results"] == report
    # Both outcomes are reached: the mutations are neither all harmless nor all fatal.
    assert report["outcomes"]["roll"] > CI_CASES // 20 and report["outcomes"]["rejected"] > CI_CASES // 2


def test_check_reports_an_exception_that_is_not_ours(monkeypatch):
    """The harness has teeth: without the checks before pretty_midi, a zero tempo divides by zero."""
    monkeypatch.setattr(midifile, "_check", lambda midi: None)
    assert midi_mutations.check(_with_tempo(0))[0].startswith("ZeroDivisionError")


def _with_tempo(tempo: int) -> bytes:
    """A one-note file whose tempo event says `tempo` microseconds per quarter note."""
    track = (b"\x00\xff\x51\x03" + tempo.to_bytes(3, "big") + b"\x00\x90\x3c\x40\x60\x80\x3c\x00"
             b"\x00\xff\x2f\x00")
    return _smf(480, [track])


def _smf(division: int, tracks: list[bytes], kind: int = 1) -> bytes:
    header = b"MThd" + struct.pack(">LHHH", 6, kind, len(tracks), division)
    return header + b"".join(b"MTrk" + struct.pack(">L", len(t)) + t for t in tracks)


NOTE = b"\x00\x90\x3c\x40\x60\x80\x3c\x00"  # middle C for 96 ticks
END = b"\x00\xff\x2f\x00"


# Faults of the loader before this file's fixes, each as the smallest file that shows it:
# [fuzz] found by the mutation loop, [read] found reading mido and pretty_midi. "Was" says
# what main gave before.
@pytest.mark.parametrize("data, reason", [
    # [fuzz] 9 flats. Was: mido's KeySignatureError, uncaught.
    (_smf(480, [b"\x00\xff\x59\x02\xf7\x00" + NOTE + END]), "Could not decode key"),
    # [fuzz] A division of 0 ticks per quarter note. Was: ZeroDivisionError in pretty_midi.
    (_smf(0, [NOTE + END]), "no ticks per quarter note"),
    # [read, then fuzz] A tempo of 0, at the start or later. Was: ZeroDivisionError in pretty_midi.
    (_with_tempo(0), "a tempo of zero"),
    (_smf(480, [NOTE + b"\x10\xff\x51\x03\x00\x00\x00" + NOTE + END]), "a tempo of zero"),
    # [read] SMPTE timing (top bit of the division set), which mido reads as negative ticks.
    # Was: skipped, but for "Note end time must be greater than start time".
    (_smf(0xE250, [NOTE + END]), "no ticks per quarter note"),
    # [read] A run of 0xff read as one variable-length delta: mido's decoding is quadratic in
    # its length (measured 20 KB: 0.06 s, 80 KB: 0.7 s; so 1 MB about 2 minutes). Was:
    # skipped after 0.06 s here, stalled for minutes on a megabyte.
    (_smf(480, [b"\xff" * 20_000 + b"\x00" + NOTE[1:] + END]), "in a row"),
    # [read] An overlong (5-byte) delta. Was: skipped, for pretty_midi's "largest tick".
    (_smf(480, [b"\x8f\xff\xff\xff\x7f" + NOTE[1:] + END]), "delta time longer than the standard"),
    # [read] An event 2^28 ticks in. Was: the same, in pretty_midi's words.
    (_smf(480, [NOTE + b"\xff\xff\xff\x7f\xff\x2f\x00"]), "events as late as quarter note"),
    # [read] At 1 tick per quarter, an event 2^20 quarter notes (over 100 hours) in: as
    # corrupt as the case above, which a fine division put beyond pretty_midi's 10^7 ticks,
    # but this one was accepted, its tick array sized by the stray event.
    (_smf(1, [NOTE + b"\xc0\x80\x00\x80\x3c\x00" + END]), "events as late as quarter note"),
    # [fuzz] A time signature of 0/4. Was and is: skipped (pretty_midi's TimeSignature refuses it).
    (_smf(480, [b"\x00\xff\x58\x04\x00\x02\x18\x08" + NOTE + END]), "numerator"),
    # [read] No track, or only empty ones. Was: skipped, for "max() arg is an empty sequence".
    (_smf(480, []), "no tracks"),
    (_smf(480, [b"", b""]), "no tracks"),
])
def test_found_cases_are_bad_midi_errors(data, reason):
    with pytest.raises(BadMidiError, match=reason):
        midi_to_roll(data, 2)


def test_empty_tracks_beside_music_are_ignored():
    # Was: the whole file skipped (pretty_midi takes max() over each track's events).
    roll, _ = midi_to_roll(_smf(96, [b"", NOTE + END, b""]), 2)
    assert roll.shape == (2, 88) and roll[:, 60 - 21].tolist() == [1, 1]


def test_size_bound_is_checked_before_parsing(monkeypatch, tmp_path):
    data = midi_bytes(chord_progression(0))
    monkeypatch.setattr(midifile, "MAX_MIDI_BYTES", len(data) - 1)
    with pytest.raises(BadMidiError, match="larger than"):
        midi_to_roll(data, 2)
    (tmp_path / "a.mid").write_bytes(data)
    with pytest.raises(BadMidiError, match="larger than"):
        midi_to_roll(tmp_path / "a.mid", 2)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-300, 300) | st.floats(allow_nan=True) | st.text(max_size=3),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(
        st.sampled_from(["train", "valid", "test", "other"]), children, max_size=4),
    max_leaves=40)
# Mostly the right shape, so that the checks deep inside a piece are reached too.
PITCHES = st.integers(-5, 140) | st.sampled_from([60.0, 60.5, True, None, "60", 10**30, 1e300, float("inf")])
PIECES = st.lists(st.lists(st.lists(PITCHES, max_size=4), max_size=5), max_size=4)
BENCHMARKS = JSON_VALUES | st.fixed_dictionaries({"train": PIECES}, optional={"valid": PIECES | JSON_VALUES})


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(BENCHMARKS)
def test_any_json_gives_rolls_or_a_user_error(value):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.json"
        path.write_text(json.dumps(value))
        try:
            converted = sources.convert(sources.Source("json", path), DataConfig())
        except UserError as exc:
            assert str(path) in str(exc)
            return
    for roll in converted.rolls:
        assert roll.dtype.kind == "u" and roll.ndim == 2 and roll.shape[1] == 88 and len(roll) >= 1
        assert set(roll.ravel().tolist()) <= {0, 1}
    assert len(converted.rolls) == len(converted.names) == len(converted.splits)
