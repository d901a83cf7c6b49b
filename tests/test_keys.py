"""Keys: music21's key finder on pitch-class weights, pieces moved into C with their voices
together, the setting through data loading and old configs, and a melody harmonised in its
own key."""

import json

import numpy as np
import pytest
from conftest import make_midi

from rnn_rbm.config import DataConfig, RunConfig
from rnn_rbm.data.dataset import load_dataset
from rnn_rbm.music import keys
from rnn_rbm.music.pianoroll import NoteList

MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10]  # natural minor


def scale_notes(tonic: int, steps: list[int], octave: int = 60) -> NoteList:
    """The scale from `tonic`, tonic and fifth held twice as long (how a key sounds)."""
    pitches = [octave + tonic + s for s in steps]
    lengths = [2.0 if s in (0, 7) else 1.0 for s in steps]
    onsets = np.cumsum([0.0] + lengths[:-1])
    return NoteList(onsets, onsets + np.asarray(lengths), np.asarray(pitches))


@pytest.mark.parametrize("tonic, steps, shift", [(0, MAJOR, 0), (2, MAJOR, -2), (6, MAJOR, 6), (7, MAJOR, 5),
                                                 (9, MINOR, 3), (4, MINOR, -4), (11, MAJOR, 1)])
def test_the_tonic_goes_to_c_the_nearest_way(tonic, steps, shift):
    notes = scale_notes(tonic, steps)
    assert keys.tonic_shift(keys.pitch_class_weights([notes])) == shift
    moved = keys.in_key([notes], "c")[0]
    assert keys.tonic_shift(keys.pitch_class_weights([moved])) == 0
    assert np.array_equal(moved.pitches - notes.pitches, np.full(len(notes.pitches), shift))
    assert keys.in_key([notes], "as_written")[0].pitches.tolist() == notes.pitches.tolist()


def test_silence_stays_and_an_unknown_key_setting_is_refused():
    assert keys.tonic_shift(np.zeros(12)) == 0
    with pytest.raises(ValueError, match="key must be one of"):
        keys.in_key([scale_notes(0, MAJOR)], "d")


def test_voices_move_together_by_their_union_key():
    # a D-major chorale whose bass alone spells only D and A: each voice alone could read
    # another key, together they are D major and move by -2 as one
    upper = scale_notes(2, MAJOR, octave=72)
    bass = NoteList(np.array([0.0, 4.0]), np.array([4.0, 8.0]), np.array([50, 45]))
    moved = keys.in_key([upper, bass], "c")
    assert [m.pitches.tolist() for m in moved] == [(upper.pitches - 2).tolist(), [48, 43]]


def test_rolls_weigh_and_shift_like_notes():
    roll = np.zeros((3, 88), dtype=np.float32)
    roll[:, 62 - 21] = 1  # D4 for three frames
    roll[0, 21 - 21] = 1  # and the lowest key
    weights = keys.roll_pitch_class_weights(roll)
    assert weights[2] == 3 and weights[9] == 1 and weights.sum() == 4
    up, down = keys.shift_roll(roll, 2), keys.shift_roll(roll, -2)
    assert up[:, 64 - 21].all() and up[0, 23 - 21] == 1 and up.sum() == 4
    assert down[:, 60 - 21].all() and down.sum() == 3  # the lowest key fell off the keyboard
    assert np.array_equal(keys.shift_roll(roll, 0), roll)


def test_a_folder_is_read_in_c_unless_asked_as_written(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_RBM_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "midi"
    folder.mkdir()
    for i, tonic in enumerate((2, 7, 9)):  # D, G and A major
        notes = scale_notes(tonic, MAJOR)
        make_midi(list(zip(notes.pitches.tolist(), notes.onsets, notes.offsets))).write(str(folder / f"{i}.mid"))
    for key, shifts in (("c", [0, 0, 0]), ("as_written", [-2, 5, 3])):
        data = load_dataset(str(folder), DataConfig(key=key, valid_fraction=0.0), progress=False)
        found = sorted(keys.tonic_shift(keys.roll_pitch_class_weights(r)) for r in data.train)
        assert found == sorted(shifts)


def test_a_config_from_before_the_setting_reads_its_pieces_as_written():
    raw = json.loads(RunConfig().to_json())
    assert raw["data"]["key"] == "c"  # the default
    del raw["data"]["key"]
    assert RunConfig.from_json(json.dumps(raw)).data.key == "as_written"
