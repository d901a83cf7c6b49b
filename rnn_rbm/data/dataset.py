"""Data sets: find and convert (sources.py), cache (rollcache.py), split, batch.

Every roll here is time-major: shape (num_steps, num_pitches), float32 of 0/1,
column i = MIDI pitch lowest_pitch + i.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from rnn_rbm.config import DataConfig
from rnn_rbm.data import rollcache
from rnn_rbm.data.sources import Converted, Source, convert, resolve_source, source_identity
from rnn_rbm.errors import UserError

log = logging.getLogger(__name__)

# Batches are formed among this many batches' worth of shuffled pieces sorted by
# length: little padding, yet a different grouping every epoch.
BUCKET_BATCHES = 8


@dataclass
class Dataset:
    """Pieces by split; each roll float32 of 0/1, (num_steps, num_pitches), time-major."""

    label: str
    train: list[np.ndarray]
    valid: list[np.ndarray]
    test: list[np.ndarray] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # Notes outside the pitch range, moved by octaves into it or dropped (--out_of_range).
    notes_moved: int = 0
    notes_dropped: int = 0
    # The pieces' names by split, in the order of their rolls (empty where not known).
    names: dict[str, list[str]] = field(default_factory=dict)

    def summary(self) -> str:
        """Returns: one line with piece and frame counts per split, pieces skipped, and notes
        moved or dropped for lying outside the pitch range."""
        parts = [f"{name} {len(rolls)} pieces / {sum(map(len, rolls))} frames"
                 for name, rolls in (("train", self.train), ("valid", self.valid), ("test", self.test))
                 if rolls]
        extra = [f"{len(self.skipped)} skipped"] if self.skipped else []
        if self.notes_moved or self.notes_dropped:
            extra.append(f"notes outside the pitch range: {self.notes_moved} moved by octaves, "
                         f"{self.notes_dropped} dropped")
        return f"{self.label}: " + ", ".join(parts) + "".join(f"; {e}" for e in extra)


def load_dataset(
    spec: str,
    config: DataConfig,
    cache_dir: Path | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Dataset:
    """Loads --data `spec` ("bach", a MIDI folder or a benchmark .json), from the HDF5
    cache when its content and `config` are unchanged, else converting and caching it.

    Returns: the Dataset. Raises UserError when the source is unknown or holds no usable piece.
    """
    source, path = _cache_file(spec, config, cache_dir)
    converted = read_or_convert(source, path, config, workers, progress)
    _report(converted, spec, "pieces" if source.frames_given else "files")
    dataset = _split(converted, config.valid_fraction, source.label)
    if not dataset.train:
        raise UserError(f"--data {spec}: no usable piece to train on; see the messages above")
    return dataset


def read_or_convert(source: Source, path: Path, config: DataConfig, workers: int | None = None,
                    progress: bool = True) -> Converted:
    """Returns: `source`'s pieces from the cache file `path`, else converted and cached there
    (a cache that cannot be written is only a warning: it saves time, nothing else)."""
    converted = rollcache.read(path)
    if converted is not None:
        log.info("loaded %d pieces of %s from the cache %s", len(converted.rolls), source.label, path)
        for name, reason in converted.skipped:
            log.warning("skipped %s: %s", name, reason)
        return converted
    log.info("converting %s (cached afterwards in %s)", source.label, path)
    started = time.perf_counter()
    converted = convert(source, config, workers, progress)
    if converted.rolls:
        try:
            rollcache.write(path, converted)
        except OSError as exc:
            log.warning("could not write the cache %s (%s); continuing without it", path, exc.strerror or exc)
    log.info("converted %d pieces in %.1f s", len(converted.rolls), time.perf_counter() - started)
    return converted


@dataclass(frozen=True)
class Loading:
    """How a task reads its --data source: the roll cache's folder (None: $RNN_RBM_CACHE or
    ~/.cache/rnn_rbm), processes converting MIDI (None: all cores), progress bars or not."""

    cache_dir: Path | None = None
    workers: int | None = None
    progress: bool = True

    def load(self, spec: str, config: DataConfig) -> Dataset:
        """Returns: load_dataset(spec, config) read this way, its summary logged."""
        dataset = load_dataset(spec, config, self.cache_dir, self.workers, progress=self.progress)
        log.info("data %s", dataset.summary())
        return dataset


def load_cached(spec: str, config: DataConfig, cache_dir: Path | None = None) -> Dataset | None:
    """Loads --data `spec` from the HDF5 cache only, never converting (for figures that are
    worth a cache read but not a conversion).

    Returns: the Dataset, or None when the source is gone or not cached with these settings.
    """
    try:
        source, path = _cache_file(spec, config, cache_dir)
    except UserError:
        return None
    converted = rollcache.read(path)
    if converted is None or not converted.rolls:
        return None
    return _split(converted, config.valid_fraction, source.label)


def _cache_file(spec: str, config: DataConfig, cache_dir: Path | None) -> tuple[Source, Path]:
    """Returns: the source `spec` names and its cache file for `config`. Raises UserError
    when the source is unknown."""
    source = resolve_source(spec)
    return source, rollcache.cache_path(cache_dir or rollcache.default_cache_dir(), source,
                                        source_identity(source), config)


def _report(converted: Converted, spec: str, items: str) -> None:
    total = len(converted.rolls) + len(converted.skipped)
    if converted.skipped:
        log.warning("%d of %d %s of %s skipped, %d used", len(converted.skipped), total, items, spec,
                    len(converted.rolls))


def _split(converted: Converted, valid_fraction: float, label: str) -> Dataset:
    by_split: dict[str, list[np.ndarray]] = {"train": [], "valid": [], "test": []}
    names: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    unsplit = [i for i, s in enumerate(converted.splits) if s == "all"]
    held_out = set(validation_names([converted.names[i] for i in unsplit], valid_fraction))
    for name, roll, split in zip(converted.names, converted.rolls, converted.splits):
        if split == "all":
            split = "valid" if name in held_out else "train"
        by_split[split].append(roll.astype(np.float32))
        names[split].append(name)
    return Dataset(label, by_split["train"], by_split["valid"], by_split["test"], converted.skipped,
                   converted.notes_moved, converted.notes_dropped, names)


def validation_names(names: list[str], valid_fraction: float) -> list[str]:
    """Chooses the validation pieces by a hash of their names: the same files always
    give the same split, and adding a file moves few others.

    Returns: round(valid_fraction * len(names)) names (at least 1 when there are 2 or more).
    """
    if len(names) < 2 or valid_fraction <= 0:
        return []
    count = min(len(names) - 1, max(1, round(valid_fraction * len(names))))
    # surrogateescape: a file name that is not UTF-8 hashes by its own bytes (valid UTF-8 is unchanged).
    ranked = sorted(names, key=lambda n: hashlib.sha1(n.encode("utf-8", "surrogateescape")).hexdigest())
    return ranked[:count]


def all_frames(rolls: list[np.ndarray]) -> np.ndarray:
    """Returns: every frame of `rolls` stacked, float32 (total_steps, num_pitches)."""
    return np.concatenate(rolls).astype(np.float32)


def pitch_log_odds(frames: np.ndarray | list[np.ndarray], smoothing: float) -> np.ndarray:
    """log(p_i / (1 - p_i)) of each pitch's smoothed frequency, p_i = (count_i + s) / (frames + 2 s)
    (add-s smoothing: a pitch never or always heard keeps a finite log-odds).

    frames: (N, V) of 0/1, or rolls, each (steps, V): counted roll by roll, never stacked
    (MuseData's training frames stacked in float64 are 173 MB).
    Returns: float32 (V,).
    """
    parts = frames if isinstance(frames, list) else [frames]
    counts = sum(np.asarray(part).sum(axis=0, dtype=np.float64) for part in parts)
    p = (counts + smoothing) / (sum(len(part) for part in parts) + 2.0 * smoothing)
    return np.log(p / (1.0 - p)).astype(np.float32)


def pad_batch(rolls: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pads rolls to the longest.

    Returns: (v, float32 (batch, max_steps, num_pitches), zeros after each piece's end;
    mask, float32 (batch, max_steps), 1 on real frames).
    """
    steps = max(len(r) for r in rolls)
    v = np.zeros((len(rolls), steps, rolls[0].shape[1]), dtype=np.float32)
    mask = np.zeros((len(rolls), steps), dtype=np.float32)
    for i, roll in enumerate(rolls):
        v[i, : len(roll)] = roll
        mask[i, : len(roll)] = 1.0
    return v, mask


def batches(
    rolls: list[np.ndarray], batch_size: int, rng: np.random.Generator | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Groups pieces of similar length into padded batches; shuffled when `rng` is given,
    in length order otherwise.

    Yields: (v, float32 (batch, max_steps, num_pitches); mask, float32 (batch, max_steps)).
    """
    order = np.arange(len(rolls)) if rng is None else rng.permutation(len(rolls))
    window = batch_size * BUCKET_BATCHES if rng is not None else max(len(rolls), 1)
    groups = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: len(rolls[i]))
        groups += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    if rng is not None:
        groups = [groups[i] for i in rng.permutation(len(groups))]
    for group in groups:
        yield pad_batch([rolls[i] for i in group])
