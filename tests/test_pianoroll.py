import io

import mido
import numpy as np
import pretty_midi
import pytest
from conftest import make_midi, midi_bytes

from rnn_rbm.errors import BadMidiError
from rnn_rbm.music.pianoroll import NoteList, held_fraction, mean_polyphony, midi_to_roll, notes_to_roll, roll_to_midi


def expected_roll(steps: int, cells: list[tuple[int, int, int]], lowest: int = 21) -> np.ndarray:
    """cells: (pitch, first frame, end frame)."""
    roll = np.zeros((steps, 88), dtype=np.float32)
    for pitch, start, end in cells:
        roll[start:end, pitch - lowest] = 1
    return roll


def test_exact_roll_at_eighth_notes():
    midi = make_midi([(60, 0, 1), (64, 0.5, 2), (67, 1, 1.5), (21, 2, 2.5), (108, 2, 2.5)])
    roll, stats = midi_to_roll(midi_bytes(midi), steps_per_quarter=2)
    assert roll.dtype == np.float32 and roll.shape == (5, 88)
    np.testing.assert_array_equal(
        roll, expected_roll(5, [(60, 0, 2), (64, 1, 4), (67, 2, 3), (21, 4, 5), (108, 4, 5)]))
    assert stats.notes == 5 and stats.moved == 0 and stats.dropped == 0


def test_grid_follows_beats_not_seconds_across_tempo_changes():
    # Beat 0-1 at 120 bpm (0.5 s), then 60 bpm: the second note lasts 2 s but 2 beats.
    file = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=500_000, time=0),
        mido.Message("note_on", note=60, velocity=80, time=0),
        mido.Message("note_off", note=60, velocity=0, time=480),
        mido.MetaMessage("set_tempo", tempo=1_000_000, time=0),
        mido.Message("note_on", note=62, velocity=80, time=0),
        mido.Message("note_off", note=62, velocity=0, time=960),
    ])
    file.tracks.append(track)
    buffer = io.BytesIO()
    file.save(file=buffer)
    midi = pretty_midi.PrettyMIDI(io.BytesIO(buffer.getvalue()))
    assert midi.get_end_time() == pytest.approx(2.5)
    roll, _ = midi_to_roll(midi, steps_per_quarter=2)
    np.testing.assert_array_equal(roll, expected_roll(6, [(60, 0, 2), (62, 2, 6)]))


def test_short_notes_keep_one_frame_and_halves_round_up():
    notes = NoteList(onsets=np.array([0.0, 0.2, 0.75]), offsets=np.array([0.1, 0.3, 1.25]),
                     pitches=np.array([60, 62, 64]))
    roll, _ = notes_to_roll(notes, steps_per_quarter=2)
    # 0.0-0.1 -> frame 0; 0.2-0.3 -> frames [0, 1) after rounding, kept as frame 0;
    # 0.75-1.25 -> steps 1.5-2.5 -> [2, 3).
    np.testing.assert_array_equal(roll, expected_roll(3, [(60, 0, 1), (62, 0, 1), (64, 2, 3)]))


def test_drums_are_ignored():
    midi = make_midi([(60, 0, 1)], drums=[(36, 0, 4)])
    roll, _ = midi_to_roll(midi, steps_per_quarter=1)
    np.testing.assert_array_equal(roll, expected_roll(1, [(60, 0, 1)]))


def test_out_of_range_moved_by_octaves_or_dropped():
    midi = make_midi([(60, 0, 1), (12, 0, 1), (115, 0, 1)])
    moved, stats = midi_to_roll(midi, 1, out_of_range="octave")
    np.testing.assert_array_equal(moved, expected_roll(1, [(60, 0, 1), (24, 0, 1), (103, 0, 1)]))
    assert (stats.moved, stats.dropped) == (2, 0)
    dropped, stats = midi_to_roll(midi, 1, out_of_range="drop")
    np.testing.assert_array_equal(dropped, expected_roll(1, [(60, 0, 1)]))
    assert (stats.moved, stats.dropped) == (0, 2)


def test_round_trip_roll_midi_roll():
    rng = np.random.default_rng(0)
    roll = (rng.random((40, 88)) < 0.08).astype(np.float32)
    midi = roll_to_midi(roll, steps_per_quarter=4, tempo_bpm=90)
    back, _ = midi_to_roll(midi_bytes(midi), steps_per_quarter=4)
    last = np.nonzero(roll.any(axis=1))[0].max() + 1
    np.testing.assert_array_equal(back, roll[:last])


def test_roll_to_midi_joins_consecutive_frames():
    roll = expected_roll(6, [(60, 0, 3), (60, 4, 6), (64, 1, 2)])
    midi = roll_to_midi(roll, steps_per_quarter=2, tempo_bpm=120)
    notes = sorted((n.pitch, n.start, n.end) for n in midi.instruments[0].notes)
    assert notes == [(60, 0.0, 0.75), (60, 1.0, 1.5), (64, 0.25, 0.5)]
    assert midi.get_tempo_changes()[1][0] == pytest.approx(120)


@pytest.mark.parametrize("data, reason", [
    (b"", "not a readable MIDI file"),
    (b"MThd\x00\x00\x00\x06\x00\x01", "not a readable MIDI file"),
    (b"hello world, not midi", "not a readable MIDI file"),
])
def test_bad_bytes_raise_bad_midi_error(data, reason):
    with pytest.raises(BadMidiError, match=reason):
        midi_to_roll(data, 1)


def test_drums_only_is_reported():
    with pytest.raises(BadMidiError, match="no pitched notes"):
        midi_to_roll(midi_bytes(make_midi([], drums=[(36, 0, 1)])), 1)


def test_mean_polyphony_counts_sounding_frames_only():
    roll = expected_roll(5, [(60, 0, 2), (64, 0, 1), (67, 0, 1)])  # 3, 1, then three silent frames
    assert mean_polyphony([roll]) == pytest.approx(2.0)
    assert mean_polyphony(np.stack([roll, roll])) == pytest.approx(2.0)
    assert np.isnan(mean_polyphony([np.zeros((3, 88))]))


def test_held_fraction():
    roll = expected_roll(4, [(60, 0, 3), (64, 1, 2)])  # 60 held twice, released at 3; 64 released
    assert held_fraction([roll]) == pytest.approx(2 / 4)
    assert np.isnan(held_fraction([np.zeros((2, 88))]))
