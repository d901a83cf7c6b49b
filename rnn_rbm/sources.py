"""Finds the pieces of a data source and converts each to a piano roll.

Three kinds of source: "bach" (music21's chorales), a folder of MIDI files, and
a benchmark JSON file in the layout of the paper's data sets (pieces of frames
of MIDI pitches, with its own train/valid/test split). A file that cannot be
used is skipped and reported with its reason; it never stops the others.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from tqdm import tqdm

from rnn_rbm import bach
from rnn_rbm.config import DataConfig
from rnn_rbm.errors import BadMidiError, UserError
from rnn_rbm.pianoroll import fit_pitches, midi_notes, notes_to_roll, read_midi, require_music

log = logging.getLogger(__name__)

MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")
SPLITS = ("train", "valid", "test")
# Fewer files than this are converted in this process: starting workers costs more.
MIN_FILES_FOR_WORKERS = 16


@dataclass(frozen=True)
class Source:
    """Where the music comes from: kind is "bach", "folder" or "json"."""

    kind: str
    path: Path | None = None

    @property
    def label(self) -> str:
        """Returns: a short name for messages and cache files."""
        return "bach" if self.path is None else self.path.stem or "data"


@dataclass
class Converted:
    """Pieces of a source: names, rolls (uint8 of 0/1, shape (num_steps, num_pitches),
    time-major) and split labels ("train"/"valid"/"test", or "all" where the source
    has no split of its own)."""

    names: list[str] = field(default_factory=list)
    rolls: list[np.ndarray] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes_moved: int = 0
    notes_dropped: int = 0


def resolve_source(spec: str) -> Source:
    """Reads a --data value: "bach", a folder of MIDI files, or a benchmark .json file.

    Returns: the Source. Raises UserError for anything else.
    """
    if spec == "bach":
        return Source("bach")
    path = Path(spec).expanduser()
    if path.is_dir():
        return Source("folder", path.resolve())
    if path.is_file() and path.suffix.lower() == ".json":
        return Source("json", path.resolve())
    if path.exists():
        raise UserError(f"--data {spec}: a file that is not .json; give a folder of MIDI files instead")
    raise UserError(
        f"--data {spec}: no such folder or file; use 'bach', a folder of MIDI files, "
        "or a benchmark .json such as ../shared/data/jsb_chorales.json"
    )


def source_identity(source: Source) -> dict:
    """Returns: a JSON-able description that changes whenever the source's content may have."""
    if source.kind == "bach":
        return {"music21": bach.corpus_version(), "files": [p.name for p in bach.chorale_paths()]}
    if source.kind == "json":
        return {"sha256": hashlib.sha256(source.path.read_bytes()).hexdigest()}
    return {"files": [[str(p.relative_to(source.path)), p.stat().st_size, p.stat().st_mtime_ns]
                      for p in midi_files(source.path)]}


def midi_files(folder: Path) -> list[Path]:
    """Returns: the MIDI files below `folder` (any depth, by suffix, case-blind), sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in MIDI_SUFFIXES)


def convert(source: Source, config: DataConfig, workers: int | None = None, progress: bool = True) -> Converted:
    """Converts every piece of `source` to a roll, skipping (and logging) unusable ones.

    Returns: Converted, rolls uint8 of 0/1, each (num_steps, config.num_pitches), time-major.
    """
    if source.kind == "json":
        return _convert_benchmark(source.path, config)
    if source.kind == "bach":
        paths, root = bach.chorale_paths(), None
    else:
        paths, root = midi_files(source.path), source.path
        if not paths:
            raise UserError(f"--data {source.path}: no MIDI files (*.mid, *.midi) in this folder")
    out = Converted()
    jobs = [(source.kind, str(p), config) for p in paths]
    results = _run_jobs(_convert_file, jobs, workers, progress, f"converting {source.label}")
    for path, (roll, moved, dropped, reason) in zip(paths, results):
        name = path.name if root is None else str(path.relative_to(root))
        if roll is None:
            out.skipped.append((name, reason))
            log.warning("skipped %s: %s", name, reason)
            continue
        out.names.append(name)
        out.rolls.append(roll)
        out.splits.append("all")
        out.notes_moved += moved
        out.notes_dropped += dropped
    return out


def _convert_file(args: tuple[str, str, DataConfig]) -> tuple[np.ndarray | None, int, int, str]:
    """Runs in a worker: (kind, path, config) -> (roll or None, notes moved, dropped, reason skipped)."""
    kind, path, config = args
    try:
        notes = bach.score_notes(path) if kind == "bach" else midi_notes(read_midi(path))
        roll, stats = notes_to_roll(notes, config.steps_per_quarter, config.lowest_pitch,
                                    config.num_pitches, config.out_of_range)
        require_music(roll, stats)
    except BadMidiError as exc:
        return None, 0, 0, str(exc)
    return roll.astype(np.uint8), stats.moved, stats.dropped, ""


def _run_jobs(job: Callable, items: list, workers: int | None, progress: bool, what: str) -> Iterable:
    workers = workers or os.cpu_count() or 1
    bar = dict(total=len(items), desc=what, unit="file", disable=None if progress else True)
    if workers <= 1 or len(items) < MIN_FILES_FOR_WORKERS:
        return [job(item) for item in tqdm(items, **bar)]
    # spawn, not fork: the parent may already run TensorFlow's threads.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(tqdm(pool.map(job, items, chunksize=4), **bar))


def _convert_benchmark(path: Path, config: DataConfig) -> Converted:
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"--data {path}: not a readable JSON file ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("train"), list):
        raise UserError(f"--data {path}: expected an object with a 'train' list of pieces "
                        "(see ../shared/data/README.md)")
    out = Converted()
    for split in SPLITS:
        for index, piece in enumerate(raw.get(split, [])):
            name = f"{split}/{index}"
            try:
                roll, moved, dropped = _frames_to_roll(piece, config)
            except (TypeError, ValueError) as exc:
                raise UserError(f"--data {path}: piece {name} is malformed ({exc}); "
                                "a piece is a list of frames, a frame a list of MIDI pitches") from None
            out.names.append(name)
            out.rolls.append(roll)
            out.splits.append(split)
            out.notes_moved += moved
            out.notes_dropped += dropped
    return out


def _frames_to_roll(piece: list, config: DataConfig) -> tuple[np.ndarray, int, int]:
    if not isinstance(piece, list) or not all(isinstance(frame, list) for frame in piece):
        raise TypeError("not a list of lists")
    steps = np.repeat(np.arange(len(piece)), [len(frame) for frame in piece])
    flat = [pitch for frame in piece for pitch in frame]
    if not all(isinstance(p, (int, float)) and float(p).is_integer() for p in flat):
        raise ValueError("a pitch is not a whole number")
    raw = np.asarray(flat, dtype=np.int64)
    pitches, keep = fit_pitches(raw, config.lowest_pitch, config.num_pitches, config.out_of_range)
    roll = np.zeros((len(piece), config.num_pitches), dtype=np.uint8)
    roll[steps[keep], pitches[keep] - config.lowest_pitch] = 1
    return roll, int(np.sum(keep & (pitches != raw))), int(np.sum(~keep))
