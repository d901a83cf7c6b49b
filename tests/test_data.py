import json
import logging

import numpy as np
import pytest

from rnn_rbm.config import DataConfig
from rnn_rbm.data import packaged, rollcache, sources
from rnn_rbm.data.dataset import batches, load_dataset, pad_batch, validation_names
from rnn_rbm.errors import UserError
from rnn_rbm.music import bach
from rnn_rbm.music.pianoroll import notes_to_roll


def test_folder_skips_bad_files_by_name_and_splits(midi_folder, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    dataset = load_dataset(str(midi_folder), DataConfig(valid_fraction=0.25), tmp_path / "cache", workers=1,
                           progress=False)
    assert len(dataset.train) + len(dataset.valid) == 8
    assert len(dataset.valid) == 2
    assert dict(dataset.skipped).keys() == {"not_midi.mid", "drums_only.mid"}
    assert "not a readable MIDI file" in dict(dataset.skipped)["not_midi.mid"]
    assert "skipped not_midi.mid" in caplog.text and "2 of 10 files" in caplog.text
    for roll in dataset.train:
        assert roll.dtype == np.float32 and roll.shape[1] == 88 and set(np.unique(roll)) <= {0, 1}


def test_cache_is_reused_and_rebuilt_when_settings_change(midi_folder, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = load_dataset(str(midi_folder), DataConfig(), cache, workers=1, progress=False)

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again although the cache was valid")

    monkeypatch.setattr("rnn_rbm.data.dataset.convert", no_conversion)
    again = load_dataset(str(midi_folder), DataConfig(), cache, workers=1, progress=False)
    for a, b in zip(first.train, again.train):
        np.testing.assert_array_equal(a, b)
    assert again.skipped == first.skipped
    with pytest.raises(AssertionError, match="converted again"):
        load_dataset(str(midi_folder), DataConfig(steps_per_quarter=4), cache, workers=1, progress=False)
    (midi_folder / "piece_0.mid").write_bytes((midi_folder / "piece_1.mid").read_bytes())
    with pytest.raises(AssertionError, match="converted again"):
        load_dataset(str(midi_folder), DataConfig(), cache, workers=1, progress=False)


def test_damaged_cache_is_rebuilt_and_unwritable_cache_is_only_a_warning(midi_folder, tmp_path, caplog):
    cache = tmp_path / "cache"
    first = load_dataset(str(midi_folder), DataConfig(), cache, workers=1, progress=False)
    (path,) = cache.iterdir()
    path.write_bytes(path.read_bytes()[:1000])  # cut short, as by a full disk
    assert rollcache.read(path) is None
    again = load_dataset(str(midi_folder), DataConfig(), cache, workers=1, progress=False)
    assert len(again.train) == len(first.train) and rollcache.read(path) is not None
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be")
    caplog.set_level(logging.WARNING)
    third = load_dataset(str(midi_folder), DataConfig(), blocked / "cache", workers=1, progress=False)
    assert len(third.train) == len(first.train)
    assert "could not write the cache" in caplog.text


def test_parallel_conversion_matches_serial(midi_folder, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MIN_FILES_FOR_WORKERS", 1)
    serial = load_dataset(str(midi_folder), DataConfig(), tmp_path / "a", workers=1, progress=False)
    parallel = load_dataset(str(midi_folder), DataConfig(), tmp_path / "b", workers=2, progress=False)
    assert len(serial.train) == len(parallel.train)
    for a, b in zip(serial.train, parallel.train):
        np.testing.assert_array_equal(a, b)


def test_only_bad_files_is_one_clear_error(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.mid").write_bytes(b"junk")
    with pytest.raises(UserError, match="no usable piece"):
        load_dataset(str(folder), DataConfig(), tmp_path / "cache", workers=1, progress=False)


@pytest.mark.parametrize("spec, message", [("nonexistent_folder", "no such folder"), ("bach.txt", None)])
def test_unknown_data_is_a_user_error(spec, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if spec == "bach.txt":
        (tmp_path / spec).write_text("x")
        message = "not .json"
    with pytest.raises(UserError, match=message):
        load_dataset(spec, DataConfig(), tmp_path / "cache")


def test_benchmark_json_keeps_its_split(tmp_path):
    # A .json file of the benchmarks' layout, by path, reads as the packaged set of that content.
    text = packaged.read("jsb")
    (tmp_path / "chorales.json").write_bytes(text)
    dataset = load_dataset(str(tmp_path / "chorales.json"), DataConfig(), tmp_path, progress=False)
    assert (len(dataset.train), len(dataset.valid), len(dataset.test)) == (229, 76, 77)
    first = json.loads(text)["train"][0]
    assert dataset.train[0].shape == (len(first), 88)
    for t, frame in enumerate(first):
        assert sorted(np.nonzero(dataset.train[0][t])[0] + 21) == sorted(frame)
    named = load_dataset("jsb", DataConfig(), tmp_path, progress=False)
    for split in ("train", "valid", "test"):
        assert all(np.array_equal(a, b) for a, b in zip(getattr(named, split), getattr(dataset, split), strict=True))


@pytest.mark.parametrize("content", ["{not json", json.dumps([1, 2]), json.dumps({"train": [[[60], "x"]]}),
                                     json.dumps({"train": [[[60.5]]]})])
def test_malformed_benchmark_json_is_a_user_error(content, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(UserError, match="bad.json"):
        load_dataset(str(path), DataConfig(), tmp_path / "cache")


def test_validation_split_is_deterministic_and_stable():
    names = [f"song_{i}.mid" for i in range(50)]
    held = validation_names(names, 0.1)
    assert len(held) == 5 and validation_names(list(reversed(names)), 0.1) == held
    assert len(set(held) & set(validation_names(names + ["new.mid"], 0.1))) >= 4
    assert validation_names(["one.mid"], 0.5) == []


def test_batches_cover_every_piece_once_with_masks():
    rng = np.random.default_rng(0)
    rolls = [np.ones((n, 88), np.float32) for n in rng.integers(3, 30, size=21)]
    seen = 0
    for v, mask in batches(rolls, 4, np.random.default_rng(1)):
        assert v.shape[:2] == mask.shape and v.shape[0] <= 4
        np.testing.assert_array_equal(v[..., 0], mask)  # ones exactly on real frames
        seen += int(mask.sum())
    assert seen == sum(map(len, rolls))
    v, mask = pad_batch([np.ones((2, 88), np.float32), np.ones((5, 88), np.float32)])
    assert v.shape == (2, 5, 88) and mask.tolist() == [[1, 1, 0, 0, 0], [1] * 5]


def test_bach_chorale_keeps_four_voices():
    path = next(p for p in bach.chorale_paths() if p.name == "bwv1.6.mxl")  # adds horn parts
    roll, _ = notes_to_roll(bach.score_notes(path), steps_per_quarter=2)
    assert roll.shape[0] > 100
    sounding = roll.sum(axis=1)
    assert (sounding > 4).mean() < 0.02  # a divided voice at a cadence, no horn line
    assert 3.0 < sounding[sounding > 0].mean() <= 4.0
