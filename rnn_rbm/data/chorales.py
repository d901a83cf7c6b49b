"""Bach's chorales with their four voices kept apart, split as the Bach default is: the
answer key of the harmonisation benchmark (tasks/harmonise.py). Converted once and cached
in HDF5 beside the default's rolls (data/rollcache.py, values music/harmony.voice_bits').
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnn_rbm.config import DataConfig
from rnn_rbm.data import rollcache
from rnn_rbm.data.dataset import load_dataset, read_or_convert
from rnn_rbm.data.sources import Source, source_identity
from rnn_rbm.music import harmony


@dataclass
class Chorale:
    """One chorale: its file's name; split, "train" or "valid" as in the Bach default;
    voices, int64 (4, T), soprano, alto, tenor, bass, MIDI pitches or harmony.REST; roll,
    float32 0/1 (T, V), time-major, all four voices as the Bach default reads them."""

    name: str
    split: str
    voices: np.ndarray
    roll: np.ndarray

    @property
    def soprano(self) -> np.ndarray:
        return self.voices[0]


def load_chorales(config: DataConfig, cache_dir: Path | None = None, workers: int | None = None,
                  progress: bool = True) -> list[Chorale]:
    """Reads every chorale of music21's corpus that names its four voices, on the grid of
    `config`, each in the split the Bach default gives it (a chorale the default holds out
    is held out here). Scores without four named voices are left out.

    Returns: the chorales, in the corpus's order.
    """
    source = Source("bach_voices")
    cache = rollcache.cache_path(cache_dir or rollcache.default_cache_dir(), source, source_identity(source), config)
    converted = read_or_convert(source, cache, config, workers, progress)
    held_out = set(load_dataset("bach", config, cache_dir, workers, progress).names["valid"])
    chorales = []
    for name, bits in zip(converted.names, converted.rolls):
        rolls = harmony.unpack_voice_bits(bits)
        chorales.append(Chorale(name, "valid" if name in held_out else "train",
                                harmony.voice_pitches(rolls, config.lowest_pitch),
                                (np.asarray(bits) > 0).astype(np.float32)))
    return chorales
