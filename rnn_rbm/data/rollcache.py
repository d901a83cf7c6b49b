"""HDF5 cache of converted rolls, keyed by the source's content and the data settings.

One file per (source, settings): all rolls stacked into one (total_steps,
num_pitches) uint8 array, with each piece's length, name and split. The file is
written under a temporary name and renamed, so an interrupted conversion never
leaves a half cache behind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import h5py
import numpy as np

from rnn_rbm.config import DataConfig
from rnn_rbm.data.sources import Converted, Source
from rnn_rbm.files import replacing

# Bump when conversion changes in a way the key cannot see.
CACHE_VERSION = 2


def default_cache_dir() -> Path:
    """Returns: $RNN_RBM_CACHE, else $XDG_CACHE_HOME/rnn_rbm, else ~/.cache/rnn_rbm."""
    if os.environ.get("RNN_RBM_CACHE"):
        return Path(os.environ["RNN_RBM_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rnn_rbm"


def cache_path(cache_dir: Path, source: Source, identity: dict, config: DataConfig) -> Path:
    """Returns: the cache file for this source content and these settings."""
    settings = dataclasses.asdict(config)
    settings.pop("valid_fraction")  # the split is made after loading, not cached
    if source.frames_given:
        settings.pop("steps_per_quarter")  # benchmark frames come as given,
        settings.pop("key")  # in C already
    key = json.dumps({"v": CACHE_VERSION, "kind": source.kind, "id": identity, "settings": settings},
                     sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(cache_dir) / f"{source.label}-{digest}.h5"


def write(path: Path, converted: Converted) -> None:
    """Stores `converted` at `path` atomically (temporary file, then rename). Raises OSError
    when the cache folder cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    num_pitches = converted.rolls[0].shape[1] if converted.rolls else 0
    frames = np.concatenate(converted.rolls) if converted.rolls else np.zeros((0, num_pitches))
    with replacing(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("frames", data=frames.astype(np.uint8), compression="lzf")
        f.create_dataset("lengths", data=np.array([len(r) for r in converted.rolls], dtype=np.int64))
        f.create_dataset("names", data=_encoded(converted.names), dtype=h5py.string_dtype("ascii"))
        f.create_dataset("splits", data=_encoded(converted.splits), dtype=h5py.string_dtype("ascii"))
        f.attrs["skipped"] = json.dumps(converted.skipped)
        f.attrs["notes_moved"] = converted.notes_moved
        f.attrs["notes_dropped"] = converted.notes_dropped


def read(path: Path) -> Converted | None:
    """Returns: the cached pieces (rolls uint8, (num_steps, num_pitches), time-major),
    or None when the file is missing or unreadable (it is then rebuilt)."""
    if not path.exists():
        return None
    try:
        with h5py.File(path, "r") as f:
            frames = f["frames"][()]
            lengths = f["lengths"][()]
            names = [_decoded(n) for n in f["names"][()]]
            splits = [_decoded(s) for s in f["splits"][()]]
            skipped = [tuple(item) for item in json.loads(f.attrs["skipped"])]
            moved, dropped = int(f.attrs["notes_moved"]), int(f.attrs["notes_dropped"])
    except (OSError, KeyError, ValueError, TypeError):  # not HDF5, or not laid out as written
        return None
    if not len(names) == len(splits) == len(lengths) or int(np.sum(lengths)) != len(frames):
        return None
    rolls = np.split(frames, np.cumsum(lengths)[:-1]) if len(lengths) else []
    return Converted(names, list(rolls), splits, skipped, moved, dropped)


def _encoded(texts: list[str]) -> np.ndarray:
    """Returns: `texts` as UTF-8 bytes (object array). File names that are not UTF-8 (a zip
    made on Windows) reach Python as lone surrogates; surrogateescape gives their bytes back."""
    return np.array([t.encode("utf-8", "surrogateescape") for t in texts], dtype=object)


def _decoded(text: bytes | str) -> str:
    return text.decode("utf-8", "surrogateescape") if isinstance(text, bytes) else text
