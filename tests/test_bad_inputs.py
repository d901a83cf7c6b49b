"""Messy collections: every kind of bad file is skipped by name with its reason, odd but
good files load exactly, and a collection with nothing usable ends in one clear error."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest
from conftest import chord_progression, make_midi, midi_bytes

from rnn_rbm.config import DataConfig
from rnn_rbm.data import sources
from rnn_rbm.data.dataset import load_dataset
from rnn_rbm.errors import BadMidiError, UserError
from rnn_rbm.music import midifile
from rnn_rbm.music.pianoroll import midi_to_roll

ROOT = Path(__file__).resolve().parents[1]
SCALE = [(60 + step, beat, beat + 1) for beat, step in enumerate([0, 2, 4, 5, 7, 9, 11, 12])]


def mido_bytes(tracks: list[list], ticks_per_beat: int = 480) -> bytes:
    midi = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    midi.tracks.extend(mido.MidiTrack(track) for track in tracks)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def scale_track(ticks_per_beat: int = 480) -> list:
    """SCALE as mido events: one note per quarter note."""
    events = []
    for pitch, _, _ in SCALE:
        events += [mido.Message("note_on", note=pitch, velocity=80),
                   mido.Message("note_off", note=pitch, time=ticks_per_beat)]
    return events


def with_metre(numerator: int, denominator: int) -> bytes:
    midi = make_midi(SCALE)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(numerator, denominator, 0.0))
    return midi_bytes(midi)


def with_tempo_map(changes: int) -> bytes:
    """SCALE under `changes` tempo changes (one every 7 ticks, 40 to 240 bpm)."""
    tempos = [mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(40 + (i * 37) % 200), time=0 if i == 0 else 7)
              for i in range(changes)]
    return mido_bytes([tempos, scale_track()])


def truncated() -> bytes:
    data = midi_bytes(chord_progression(0))
    return data[: len(data) * 2 // 3]


def corrupt() -> bytes:
    data = bytearray(midi_bytes(chord_progression(1)))
    data[20:24] = b"\x00\xff\x00\xf5"  # a meta event's length runs past the track
    return bytes(data)


def meta_only() -> bytes:
    meta = mido.MetaMessage
    return mido_bytes([[meta("track_name", name="nothing"), meta("set_tempo", tempo=500_000)]])


# name -> (bytes, a fragment of the reason it is skipped)
BAD_FILES = {
    "corrupt.mid": (corrupt(), "not a readable MIDI file"),
    "truncated.mid": (truncated(), "truncated?"),
    "no_notes.mid": (meta_only(), "no pitched notes"),
    "drums_only.mid": (midi_bytes(make_midi([], drums=[(36, 0, 1), (38, 1, 2)])), "no pitched notes"),
    "not_midi.mid": (b"%PDF-1.4 this is a document, not music", "MThd not found"),
    "zero_length.mid": (b"", "truncated?"),
    "smpte.mid": (b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\xe7\x28" + midi_bytes(make_midi(SCALE))[14:],
                  "no ticks per quarter note"),
    # A controller 2^28 - 1 ticks (over 3 days at 480 ticks a quarter, 120 bpm) after the music.
    "huge_delta.midi": (mido_bytes([scale_track() + [mido.Message("control_change", time=0x0FFFFFFF)]]),
                        "events as late as"),
}
# Odd but good: each must load, on the beat grid whatever its metre or tempo map says.
GOOD_FILES = {
    "metre_7_8.mid": with_metre(7, 8),
    "metre_5_4.mid": with_metre(5, 4),
    "tempo_map.mid": with_tempo_map(300),
    "off_the_piano.mid": midi_bytes(make_midi([(60, 0, 1), (12, 0, 1), (115, 1, 2), (127, 1, 2)])),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_each_bad_file_is_a_bad_midi_error_with_its_reason(name):
    data, reason = BAD_FILES[name]
    with pytest.raises(BadMidiError, match=reason.replace("?", r"\?")):
        midi_to_roll(data, 2)


@pytest.mark.parametrize("name", ["metre_7_8.mid", "metre_5_4.mid", "tempo_map.mid"])
def test_metre_and_tempo_map_leave_the_beat_grid_alone(name):
    plain, _ = midi_to_roll(midi_bytes(make_midi(SCALE)), 2)
    roll, _ = midi_to_roll(GOOD_FILES[name], 2)
    np.testing.assert_array_equal(roll, plain)
    assert roll.shape == (16, 88)


def test_hundreds_of_tempo_changes_are_really_there():
    midi = pretty_midi.PrettyMIDI(io.BytesIO(GOOD_FILES["tempo_map.mid"]))
    assert len(midi.get_tempo_changes()[0]) >= 250  # repeats of a tempo are merged


@pytest.fixture
def messy_folder(tmp_path: Path) -> Path:
    """Good pieces, odd-but-good ones, every bad kind, and the file system's own oddities."""
    folder = tmp_path / "messy"
    folder.mkdir()
    for i in range(4):
        (folder / f"piece_{i}.mid").write_bytes(midi_bytes(chord_progression(i)))
    for name, data in GOOD_FILES.items():
        (folder / name).write_bytes(data)
    for name, (data, _) in BAD_FILES.items():
        (folder / name).write_bytes(data)
    (folder / "folder.mid").mkdir()  # a folder named like a file is searched, not read
    (folder / "folder.mid" / "inner.mid").write_bytes(midi_bytes(chord_progression(9)))
    (folder / "broken_link.mid").symlink_to(folder / "nowhere.mid")
    os.mkfifo(folder / "pipe.mid")  # reading it would wait forever
    (folder / "notes.txt").write_text("not a MIDI name: never tried")
    return folder


MESSY_SKIPPED = {**{name: reason for name, (_, reason) in BAD_FILES.items()},
                 "broken_link.mid": "cannot read it (No such file or directory)",
                 "pipe.mid": "not a regular file"}
MESSY_USED = 4 + len(GOOD_FILES) + 1


def test_messy_folder_skips_each_bad_file_by_name(messy_folder, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    dataset = load_dataset(str(messy_folder), DataConfig(valid_fraction=0.2), tmp_path / "cache", workers=1,
                           progress=False)
    assert len(dataset.train) + len(dataset.valid) == MESSY_USED
    skipped = dict(dataset.skipped)
    assert skipped.keys() == MESSY_SKIPPED.keys()
    for name, reason in MESSY_SKIPPED.items():
        assert reason in skipped[name]
        assert sum(line.startswith(f"skipped {name}: ") for line in caplog.messages) == 1
    assert f"{len(MESSY_SKIPPED)} of {len(MESSY_SKIPPED) + MESSY_USED} files" in caplog.text
    # off_the_piano.mid: 12 -> 24 and 115 -> 103 (127 -> 103 too, a duplicate of the same frame).
    assert (dataset.notes_moved, dataset.notes_dropped) == (3, 0)
    assert f"{len(MESSY_SKIPPED)} skipped; notes outside the pitch range: 3 moved by octaves, 0 dropped" \
        in dataset.summary()


def test_out_of_range_drop_is_counted(messy_folder, tmp_path):
    dataset = load_dataset(str(messy_folder), DataConfig(out_of_range="drop"), tmp_path / "cache", workers=1,
                           progress=False)
    assert (dataset.notes_moved, dataset.notes_dropped) == (0, 3)
    assert "0 moved by octaves, 3 dropped" in dataset.summary()


def test_messy_folder_in_worker_processes(messy_folder, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MIN_FILES_FOR_WORKERS", 1)
    serial = load_dataset(str(messy_folder), DataConfig(), tmp_path / "a", workers=1, progress=False)
    parallel = load_dataset(str(messy_folder), DataConfig(), tmp_path / "b", workers=2, progress=False)
    assert parallel.skipped == serial.skipped
    for a, b in zip(serial.train + serial.valid, parallel.train + parallel.valid):
        np.testing.assert_array_equal(a, b)


def test_file_names_that_are_not_utf8(tmp_path):
    """As a zip made on Windows leaves them: the names survive the cache and the split."""
    folder = tmp_path / "latin1"
    folder.mkdir()
    try:
        (folder / os.fsdecode(b"F\xfcr Elise.mid")).write_bytes(midi_bytes(chord_progression(0)))
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    (folder / os.fsdecode(b"b\xe4d.mid")).write_bytes(b"junk")
    (folder / "ok.mid").write_bytes(midi_bytes(chord_progression(1)))
    for _ in range(2):  # converted, then read back from the cache
        dataset = load_dataset(str(folder), DataConfig(valid_fraction=0.5), tmp_path / "cache", workers=1,
                               progress=False)
        assert (len(dataset.train), len(dataset.valid)) == (1, 1)
        assert [name for name, _ in dataset.skipped] == [os.fsdecode(b"b\xe4d.mid")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_unreadable_file_is_skipped(tmp_path):
    path = tmp_path / "secret.mid"
    path.write_bytes(midi_bytes(chord_progression(0)))
    path.chmod(0)
    try:
        with pytest.raises(BadMidiError, match="cannot read it .Permission denied"):
            midi_to_roll(path, 2)
    finally:
        path.chmod(0o600)


def test_file_larger_than_the_bound_is_not_read_whole(tmp_path, monkeypatch):
    path = tmp_path / "big.mid"
    path.write_bytes(midi_bytes(chord_progression(0)) + b"\x00" * 5000)
    monkeypatch.setattr(midifile, "MAX_MIDI_BYTES", 1000)
    with pytest.raises(BadMidiError, match="larger than"):
        midi_to_roll(path, 2)


@pytest.mark.parametrize("content, message", [
    (b"{not json", "not a readable JSON file"),
    (b"\xff\xfe\x00garbage", "not a readable JSON file"),
    (b"[" * 100_000 + b"]" * 100_000, "not a readable JSON file"),  # nested past the recursion limit
    (b"9" * 5000, "not a readable JSON file"),  # a number past Python's 4300 digits
    (json.dumps([1, 2]).encode(), "expected an object with a 'train' list"),
    (json.dumps({"valid": []}).encode(), "expected an object with a 'train' list"),
    (json.dumps({"train": {"0": [[60]]}}).encode(), "expected an object with a 'train' list"),
    (json.dumps({"train": [[[60]]], "valid": {"a": 1}}).encode(), "'valid' is a dict"),
    (json.dumps({"train": [[[60]], "x"]}).encode(), "train/1 is malformed: not a list of lists"),
    (json.dumps({"train": [[[60], 61]]}).encode(), "train/0 is malformed: not a list of lists"),
    (json.dumps({"train": [[[60.5]]]}).encode(), "60.5 is not a MIDI pitch"),
    (json.dumps({"train": [[["60"]]]}).encode(), '"60" is not a MIDI pitch'),
    (json.dumps({"train": [[[True]]]}).encode(), "true is not a MIDI pitch"),
    (json.dumps({"train": [[[None]]]}).encode(), "null is not a MIDI pitch"),
    (json.dumps({"train": [[[128]]]}).encode(), "128 is not a MIDI pitch"),
    (json.dumps({"train": [[[-1]]]}).encode(), "-1 is not a MIDI pitch"),
    (json.dumps({"train": [[[10**30]]]}).encode(), "is not a MIDI pitch"),
    (b'{"train": [[[1e400]]]}', "Infinity is not a MIDI pitch"),
    (b'{"train": [[[NaN]]]}', "NaN is not a MIDI pitch"),
    (json.dumps({"train": []}).encode(), "no usable piece to train on"),
    (json.dumps({"train": [[], []], "valid": [[[60]]]}).encode(), "no usable piece to train on"),
])
def test_malformed_benchmark_json_is_one_user_error(content, message, tmp_path):
    path = tmp_path / "bench.json"
    path.write_bytes(content)
    with pytest.raises(UserError, match="bench.json") as info:
        load_dataset(str(path), DataConfig(), tmp_path / "cache")
    assert message in str(info.value)


def test_json_piece_longer_than_the_bound(tmp_path, monkeypatch):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"train": [[[60]] * 11]}))
    monkeypatch.setattr(sources, "MAX_STEPS", 10)
    with pytest.raises(UserError, match="train/0 is malformed: 11 frames, more than the 10"):
        load_dataset(str(path), DataConfig(), tmp_path / "cache")


def test_huge_benchmark_json_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"train": [[[60]]]}))
    monkeypatch.setattr(sources, "MAX_JSON_BYTES", 10)
    with pytest.raises(UserError, match=r"bench.json: 1\d bytes, over the 10 a benchmark JSON may have"):
        load_dataset(str(path), DataConfig(), tmp_path / "cache")


def test_json_pieces_without_frames_are_skipped_and_out_of_range_counted(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"train": [[[60, 12]], [], [[115], [60.0]]], "test": [[]]}))
    dataset = load_dataset(str(path), DataConfig(), tmp_path / "cache")
    assert [len(r) for r in dataset.train] == [1, 2] and dataset.test == []
    assert dataset.skipped == [("train/1", "no frames"), ("test/0", "no frames")]
    assert (dataset.notes_moved, dataset.notes_dropped) == (2, 0)


def run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, RNN_RBM_CACHE=str(cwd / "cache"), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(ROOT / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_training_on_a_messy_folder_names_every_bad_file(messy_folder, tmp_path):
    result = run("rnn_rbm_train.py", "1", "--data", str(messy_folder), "--n_hidden", "8", "--n_recurrent", "4",
                 "--cd_k", "1", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name, reason in MESSY_SKIPPED.items():
        assert f"skipped {name}: " in result.stderr and reason in result.stderr
    assert f"{len(MESSY_SKIPPED)} of {len(MESSY_SKIPPED) + MESSY_USED} files" in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_json_is_one_line_and_exit_2(tmp_path):
    # A folder with nothing usable: tests/test_cli.py::test_folder_of_only_bad_files.
    data = tmp_path / "bad.json"
    data.write_text('{"train": [[[60]], [[61, "C#"]]]}')
    result = run("weight_initializations.py", "--data", str(data), "--quiet", cwd=tmp_path)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and 'piece train/1 is malformed: "C#" is not a MIDI pitch' in errors[0]
    assert "Traceback" not in result.stderr
