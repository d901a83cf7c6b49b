"""The audio of a data set's rolls, as the acoustic model reads it: each piece rendered through
FluidSynth (transcription/audio.py) and turned into log-CQT frames (transcription/features.py),
cached in HDF5 because rendering and the CQT take minutes where reading takes a second.

One file per (pieces, feature settings, sound font): the log-CQT frames of all pieces stacked
into one (total_frames, num_bins) float16 array with each piece's length. float16 keeps a
log-magnitude to about 0.005 nats, far below what a note changes, at half the memory (Nottingham's
training audio is 700,000 frames). The key hashes the rolls themselves, so a data set whose pieces
change is rendered again. Written under a temporary name and renamed, as data/rollcache.py is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from pathlib import Path

import h5py
import numpy as np

from rnn_rbm.config import FeatureConfig
from rnn_rbm.data.rollcache import default_cache_dir
from rnn_rbm.data.sources import run_jobs
from rnn_rbm.files import replacing
from rnn_rbm.outputs.audio import Synth
from rnn_rbm.transcription.audio import add_pink_noise, render_roll
from rnn_rbm.transcription.features import log_cqt

log = logging.getLogger(__name__)

# Bump when rendering or the features change in a way the key cannot see.
CACHE_VERSION = 1


def cache_path(cache_dir: Path, label: str, split: str, rolls: list[np.ndarray], config: FeatureConfig,
               synth: Synth) -> Path:
    """Returns: the cache file of these pieces' audio features (`label`, `split` name it; the
    rolls' content, the feature settings and the sound font key it)."""
    digest = hashlib.sha256()
    for roll in rolls:
        _hash_roll(digest, roll)
    font = Path(synth.sound_font)
    key = json.dumps({"v": CACHE_VERSION, "rolls": digest.hexdigest(), "features": dataclasses.asdict(config),
                      "sound_font": [font.name, font.stat().st_size]}, sort_keys=True)
    return Path(cache_dir) / f"{label}-{split}-audio-{hashlib.sha256(key.encode()).hexdigest()[:16]}.h5"


def render_features(roll: np.ndarray, config: FeatureConfig, synth: Synth) -> np.ndarray:
    """One piece played on the General MIDI piano (with config.noise_snr_db's noise) and analysed.

    roll: (num_steps, 88), time-major, 0/1, column i = MIDI pitch 21 + i.
    Returns: float32 (num_steps * config.frames_per_step, config.num_bins), its log-CQT frames,
    frame t in step t // frames_per_step (features.log_cqt).
    """
    audio = render_roll(roll, config.step_seconds, config.sample_rate, synth)
    if config.noise_snr_db is not None:
        # Seeded by the piece itself: the same piece gets the same noise in any split or order.
        seed = int.from_bytes(_hash_roll(hashlib.sha256(), roll).digest()[:8], "little")
        audio = add_pink_noise(audio, config.noise_snr_db, seed)
    return log_cqt(audio, config)


def _render_piece(job: tuple[np.ndarray, FeatureConfig, Synth]) -> np.ndarray:
    """render_features of one (roll, config, synth), as float16: the job of a rendering worker."""
    return render_features(*job).astype(np.float16)


def _hash_roll(digest, roll: np.ndarray):
    """Feeds one roll (its shape, then its 0/1 cells) to `digest`; returns `digest`."""
    digest.update(np.asarray(roll.shape, np.int64).tobytes())
    digest.update(np.ascontiguousarray(roll, dtype=np.uint8).tobytes())
    return digest


def split_features(rolls: list[np.ndarray], label: str, split: str, config: FeatureConfig, synth: Synth,
                   cache_dir: Path | None = None, progress: bool = True, workers: int | None = None) -> list[np.ndarray]:
    """The log-CQT frames of every piece of a split, from the cache or rendered and cached.

    rolls: the split's pieces, each (num_steps, 88), time-major, 0/1.
    workers: processes rendering (None: one per core; FluidSynth and the CQT use one core each).
    Returns: one float16 array per piece, (num_steps * frames_per_step, num_bins). A cache that
    cannot be written is only a warning: it saves time, nothing else.
    """
    path = cache_path(cache_dir or default_cache_dir(), label, split, rolls, config, synth)
    cached = read(path)
    if cached is not None and [len(f) for f in cached] == [len(r) * config.frames_per_step for r in rolls]:
        log.info("audio features of %s %s (%d pieces) from the cache %s", label, split, len(rolls), path)
        return cached
    started = time.perf_counter()
    log.info("rendering %s %s (%d pieces, %.0f min of audio) with %s; cached afterwards in %s", label, split,
             len(rolls), sum(map(len, rolls)) * config.step_seconds / 60, synth.describe(), path)
    pieces = run_jobs(_render_piece, [(roll, config, synth) for roll in rolls], workers, progress,
                      f"rendering {split}", unit="piece")
    log.info("rendered and analysed %s %s in %.0f s", label, split, time.perf_counter() - started)
    try:
        write(path, pieces)
    except OSError as exc:
        log.warning("could not write the cache %s (%s); continuing without it", path, exc.strerror or exc)
    return pieces


def write(path: Path, pieces: list[np.ndarray]) -> None:
    """Stores `pieces` (each (frames, num_bins)) at `path` atomically (temporary file, then
    rename). Raises OSError when the cache folder cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    width = pieces[0].shape[1] if pieces else 0
    with replacing(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("features", data=np.concatenate(pieces) if pieces else np.zeros((0, width)),
                         dtype=np.float16, compression="lzf")
        f.create_dataset("lengths", data=np.array([len(p) for p in pieces], dtype=np.int64))


def read(path: Path) -> list[np.ndarray] | None:
    """Returns: the cached pieces (float16, each (frames, num_bins)), or None when the file is
    missing or unreadable (it is then rebuilt)."""
    if not path.exists():
        return None
    try:
        with h5py.File(path, "r") as f:
            frames = f["features"][()]
            lengths = f["lengths"][()]
    except (OSError, KeyError, ValueError, TypeError):
        return None
    if int(np.sum(lengths)) != len(frames):
        return None
    return list(np.split(frames, np.cumsum(lengths)[:-1])) if len(lengths) else []
