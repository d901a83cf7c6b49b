"""Finds the pieces of a data source and converts each to a piano roll.

Four kinds of source: "bach" (music21's chorales), the paper's four benchmark sets
shipped with the package (data/packaged.py: jsb, nottingham, musedata, piano_midi),
a folder of MIDI files, and a benchmark JSON file in the layout of the paper's data
sets (pieces of frames of MIDI pitches, with its own train/valid/test split). A file that cannot be
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

from rnn_rbm.config import DataConfig
from rnn_rbm.data import packaged
from rnn_rbm.errors import BadMidiError, UserError
from rnn_rbm.music import bach
from rnn_rbm.music.harmony import voice_bits
from rnn_rbm.music.keys import in_key
from rnn_rbm.music.midifile import read_midi
from rnn_rbm.music.pianoroll import MAX_STEPS, fit_pitches, midi_notes, notes_to_roll, require_music

log = logging.getLogger(__name__)

MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")
SPLITS = ("train", "valid", "test")
# Fewer files than this are converted in this process: starting workers costs more.
MIN_FILES_FOR_WORKERS = 16
# Largest benchmark JSON read: json.loads holds ~50 bytes per byte of file at worst (a list
# object per "[]"), so this bounds it to ~1.5 GB; the paper's largest set (MuseData) is
# under 10 MiB.
MAX_JSON_BYTES = 32 * 2**20
MAX_MIDI_PITCH = 127


@dataclass(frozen=True)
class Source:
    """Where the music comes from: kind is "bach", "benchmark" (a packaged set, by name),
    "folder" or "json"; or "bach_voices", the chorales with their four voices kept apart
    (data/chorales.py; not a --data)."""

    kind: str
    path: Path | None = None
    name: str = ""  # the packaged benchmark's name

    @property
    def label(self) -> str:
        """Returns: a short name for messages and cache files."""
        if self.kind == "benchmark":
            return self.name
        return self.kind if self.path is None else self.path.stem or "data"

    @property
    def frames_given(self) -> bool:
        """Whether the source holds frames already (a benchmark, packaged or a .json file,
        with its own split), rather than music to put on a grid."""
        return self.kind in ("benchmark", "json")


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
    """Reads a --data value: "bach", a packaged benchmark's name, a folder of MIDI files, or
    a benchmark .json file.

    Returns: the Source. Raises UserError for anything else.
    """
    if spec == "bach":
        return Source("bach")
    if spec in packaged.BENCHMARKS:
        return Source("benchmark", name=spec)
    path = Path(spec).expanduser()
    if path.is_dir():
        return Source("folder", path.resolve())
    if path.is_file() and path.suffix.lower() == ".json":
        return Source("json", path.resolve())
    if path.exists():
        raise UserError(f"--data {spec}: a file that is not .json; give a folder of MIDI files instead")
    raise UserError(
        f"--data {spec}: no such folder or file; use 'bach', {', '.join(packaged.BENCHMARKS)} "
        "(the paper's data sets), a folder of MIDI files, or a .json file of the same layout"
    )


def source_identity(source: Source) -> dict:
    """Returns: a JSON-able description that changes whenever the source's content may have."""
    if source.kind in ("bach", "bach_voices"):
        return {"music21": bach.corpus_version(), "files": [p.name for p in bach.chorale_paths()]}
    if source.kind == "json":
        return {"sha256": _sha256(source.path)}
    if source.kind == "benchmark":
        return {"sha256": packaged.BENCHMARKS[source.name].sha256}
    return {"files": [[str(p.relative_to(source.path)), *_size_and_time(p)] for p in midi_files(source.path)]}


def _sha256(path: Path) -> str:
    """Returns: the file's SHA-256, read in chunks (a huge file is refused later, by _read_json)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            for chunk in iter(lambda: file.read(2**20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise UserError(f"--data {path}: cannot read it ({exc.strerror})") from None
    return digest.hexdigest()


def _size_and_time(path: Path) -> tuple[int | None, int | None]:
    try:
        info = path.stat()
    except OSError:  # a broken link: converting it says why it is skipped
        return None, None
    return info.st_size, info.st_mtime_ns


def midi_files(folder: Path) -> list[Path]:
    """Lists what looks like MIDI below `folder` (any depth, by suffix, case-blind): every
    entry but folders, so that an unreadable file or a broken link is named and skipped
    rather than silently left out. A folder named like a MIDI file is searched.

    Returns: the paths, sorted.
    """
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and not p.is_dir())


def convert(source: Source, config: DataConfig, workers: int | None = None, progress: bool = True) -> Converted:
    """Converts every piece of `source` to a roll, skipping (and logging) unusable ones.

    Returns: Converted, rolls uint8 of 0/1, each (num_steps, config.num_pitches), time-major.
    """
    if source.kind == "json":
        return _convert_benchmark(_read_json(source.path), str(source.path), config)
    if source.kind == "benchmark":
        return _convert_benchmark(_parse_json(packaged.read(source.name), source.name), source.name, config)
    if source.kind in ("bach", "bach_voices"):
        paths = bach.chorale_paths()
        names = [p.name for p in paths]
    else:
        paths = midi_files(source.path)
        if not paths:
            raise UserError(f"--data {source.path}: no MIDI files (*.mid, *.midi) in this folder")
        names = [str(p.relative_to(source.path)) for p in paths]
    return convert_files(paths, names, config, workers, progress, source.kind, f"converting {source.label}")


def convert_files(paths: list[Path], names: list[str], config: DataConfig, workers: int | None = None,
                  progress: bool = True, kind: str = "folder", what: str = "reading MIDI") -> Converted:
    """Converts each MIDI file of `paths` (music21 scores where kind is "bach") to a roll,
    skipping and logging, by its name in `names`, each one that cannot be used.

    Returns: Converted, split "all", rolls uint8 of 0/1, each (num_steps, config.num_pitches), time-major.
    """
    out = Converted()
    jobs = [(kind, str(p), config) for p in paths]
    results = run_jobs(_convert_file, jobs, workers, progress, what)
    for name, (roll, moved, dropped, reason) in zip(names, results):
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
    """Runs in a worker: (kind, path, config) -> (roll or None, notes moved, dropped, reason skipped);
    for "bach_voices" the roll's values are voice_bits'."""
    kind, path, config = args
    grid = (config.steps_per_quarter, config.lowest_pitch, config.num_pitches, config.out_of_range)
    try:
        if kind == "bach_voices":  # the four voices moved together, by their chorale's key
            roll, stats = voice_bits(in_key(bach.voice_notes(path), config.key), *grid)
        else:
            notes = bach.score_notes(path) if kind == "bach" else midi_notes(read_midi(path))
            roll, stats = notes_to_roll(in_key([notes], config.key)[0], *grid)
        require_music(roll, stats)
    except BadMidiError as exc:
        return None, 0, 0, str(exc)
    return roll.astype(np.uint8), stats.moved, stats.dropped, ""


def run_jobs(job: Callable, items: list, workers: int | None, progress: bool, what: str,
             unit: str = "file") -> list:
    """Returns: [job(item) for item in items], in order, run by `workers` processes (None: one
    per core; in this process for fewer than MIN_FILES_FOR_WORKERS items), under a progress bar.
    `job` must be a module-level function and the items picklable."""
    workers = workers or os.cpu_count() or 1
    bar = dict(total=len(items), desc=what, unit=unit, disable=None if progress else True)
    if workers <= 1 or len(items) < MIN_FILES_FOR_WORKERS:
        return [job(item) for item in tqdm(items, **bar)]
    # spawn, not fork: the parent may already run TensorFlow's threads.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(tqdm(pool.map(job, items, chunksize=4), **bar))


def _convert_benchmark(raw: dict, where: str, config: DataConfig) -> Converted:
    """Converts a benchmark's pieces (checked by _parse_json); a malformed piece is a
    UserError naming the first fault (`where`: the --data given), and a piece without
    frames is skipped (it would be a sequence of length 0).

    Returns: Converted, rolls uint8 of 0/1, each (num_frames, config.num_pitches), time-major.
    """
    out = Converted()
    for split in SPLITS:
        for index, piece in enumerate(raw.get(split, [])):
            name = f"{split}/{index}"
            try:
                roll, moved, dropped = _frames_to_roll(piece, config)
            except ValueError as exc:
                raise UserError(f"--data {where}: piece {name} is malformed: {exc}; a piece is a list of "
                                "frames, a frame a list of MIDI pitches (docs/usage.md, Data)") from None
            if not len(roll):
                out.skipped.append((name, "no frames"))
                log.warning("skipped %s: no frames", name)
                continue
            out.names.append(name)
            out.rolls.append(roll)
            out.splits.append(split)
            out.notes_moved += moved
            out.notes_dropped += dropped
    return out


def _read_json(path: Path) -> dict:
    """Returns: the benchmark file's top-level object (_parse_json). Raises UserError when
    it cannot be read or is over MAX_JSON_BYTES."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise UserError(f"--data {path}: {size:,} bytes, over the {MAX_JSON_BYTES:,} a benchmark JSON "
                            "may have (the paper's largest set is under 10 MiB)")
        text = path.read_bytes()
    except OSError as exc:
        raise UserError(f"--data {path}: not a readable JSON file ({exc.strerror})") from None
    return _parse_json(text, str(path))


def _parse_json(text: bytes, where: str) -> dict:
    """Returns: the benchmark's top-level object, checked to hold only lists under the
    split names. Raises UserError naming `where` (the --data given) otherwise."""
    try:
        raw = json.loads(text)
    # ValueError: bad JSON, bad UTF-8, or a number of thousands of digits; RecursionError:
    # brackets nested thousands deep.
    except (ValueError, RecursionError) as exc:
        raise UserError(f"--data {where}: not a readable JSON file ({str(exc)[:200] or type(exc).__name__})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("train"), list):
        raise UserError(f"--data {where}: expected an object with a 'train' list of pieces "
                        "(docs/usage.md, Data)")
    for split in SPLITS:
        if not isinstance(raw.get(split, []), list):
            raise UserError(f"--data {where}: '{split}' is a {type(raw[split]).__name__}, not a list of pieces")
    return raw


def _is_pitch(value: object) -> bool:
    # bool is an int to Python, not a pitch to anyone; whole floats (60.0) are accepted. The
    # range comes first: float() of a 400-digit int overflows.
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= MAX_MIDI_PITCH
            and float(value).is_integer())


def _shown(value: object) -> str:
    try:
        return json.dumps(value)[:40]
    except ValueError:  # an int too long to print
        return "a number of thousands of digits"


def _frames_to_roll(piece: object, config: DataConfig) -> tuple[np.ndarray, int, int]:
    """Returns: (roll, uint8 (len(piece), num_pitches); notes moved; notes dropped).
    Raises ValueError saying what is wrong with the piece."""
    if not isinstance(piece, list) or not all(isinstance(frame, list) for frame in piece):
        raise ValueError("not a list of lists")
    if len(piece) > MAX_STEPS:
        raise ValueError(f"{len(piece)} frames, more than the {MAX_STEPS} a piece may have")
    flat = [pitch for frame in piece for pitch in frame]
    for pitch in flat:
        if not _is_pitch(pitch):
            raise ValueError(f"{_shown(pitch)} is not a MIDI pitch (a whole number 0..{MAX_MIDI_PITCH})")
    steps = np.repeat(np.arange(len(piece)), [len(frame) for frame in piece])
    raw = np.asarray(flat, dtype=np.int64)
    pitches, keep = fit_pitches(raw, config.lowest_pitch, config.num_pitches, config.out_of_range)
    roll = np.zeros((len(piece), config.num_pitches), dtype=np.uint8)
    roll[steps[keep], pitches[keep] - config.lowest_pitch] = 1
    return roll, int(np.sum(keep & (pitches != raw))), int(np.sum(~keep))
