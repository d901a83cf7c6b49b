"""The paper's four data sets as the package ships them: the same content as the reference
copies beside the project (where there are some), named by --data, checked on every read."""

import gzip
import json
from importlib import resources

import numpy as np
import pytest

from conftest import SHARED_DATA
from rnn_rbm.config import BENCHMARK_STEPS_PER_QUARTER, Overrides, RunConfig
from rnn_rbm.data import packaged
from rnn_rbm.data.dataset import load_dataset
from rnn_rbm.data.sources import resolve_source
from rnn_rbm.errors import UserError

REFERENCE_FILES = {"jsb": "jsb_chorales.json", "nottingham": "nottingham.json", "musedata": "musedata.json",
                   "piano_midi": "piano_midi_de.json"}
# Pieces per split, from the reference copies' README (the paper's own splits).
SPLIT_SIZES = {"jsb": (229, 76, 77), "nottingham": (694, 173, 170), "musedata": (524, 135, 124),
               "piano_midi": (87, 12, 25)}


def test_every_packaged_set_has_its_frame_length_and_reference():
    assert set(packaged.BENCHMARKS) == set(BENCHMARK_STEPS_PER_QUARTER) == set(REFERENCE_FILES)


@pytest.mark.parametrize("name", sorted(REFERENCE_FILES))
def test_packaged_copy_is_the_reference_file(name):
    reference = SHARED_DATA / REFERENCE_FILES[name]
    if not reference.is_file():
        pytest.skip(f"no reference copy at {reference} (a user's clone has none)")
    assert packaged.read(name) == reference.read_bytes()


@pytest.mark.parametrize("name", sorted(REFERENCE_FILES))
def test_packaged_copy_has_the_papers_splits(name):
    raw = json.loads(packaged.read(name))
    assert tuple(len(raw[split]) for split in ("train", "valid", "test")) == SPLIT_SIZES[name]


def test_a_name_loads_the_packaged_set_with_its_split(tmp_path):
    assert resolve_source("nottingham").label == "nottingham"
    dataset = load_dataset("jsb", RunConfig().data, tmp_path, progress=False)
    assert (len(dataset.train), len(dataset.valid), len(dataset.test)) == SPLIT_SIZES["jsb"]
    first = json.loads(packaged.read("jsb"))["test"][0]
    assert [sorted(np.nonzero(frame)[0] + 21) for frame in dataset.test[0]] == [sorted(f) for f in first]


def test_a_name_sets_the_sets_frame_length():
    assert Overrides(data_source="jsb").data_and_seed(RunConfig()).data.steps_per_quarter == 1
    assert Overrides(data_source="musedata").data_and_seed(RunConfig()).data.steps_per_quarter == 2
    assert Overrides(data_source="jsb", steps_per_quarter=4).data_and_seed(RunConfig()).data.steps_per_quarter == 4


def test_a_damaged_copy_is_named_not_used(monkeypatch, tmp_path):
    entry = packaged.BENCHMARKS["jsb"]
    monkeypatch.setitem(packaged.BENCHMARKS, "jsb", packaged.Benchmark(entry.file, "0" * 64, entry.title))
    with pytest.raises(UserError, match="jsb: the packaged copy is damaged"):
        load_dataset("jsb", RunConfig().data, tmp_path, progress=False)


def test_the_packaged_sets_are_small_gzip_files():
    files = [resources.files("rnn_rbm.data").joinpath("packaged", entry.file).read_bytes()
             for entry in packaged.BENCHMARKS.values()]
    assert all(gzip.decompress(data)[:1] == b"{" for data in files)
    assert sum(map(len, files)) < 2**20  # all four under 1 MiB
