"""Shared fixtures: tiny MIDI built in memory, and a tiny run configuration."""

from __future__ import annotations

import importlib.util
import io
import os
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def make_midi(notes: list[tuple[int, float, float]], tempo: float = 120.0, drums: list | None = None,
              resolution: int = 480) -> pretty_midi.PrettyMIDI:
    """notes: (pitch, start beat, end beat) in quarter notes at `tempo`."""
    midi = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=tempo)
    seconds = 60.0 / tempo
    piano = pretty_midi.Instrument(program=0)
    piano.notes = [pretty_midi.Note(90, p, s * seconds, e * seconds) for p, s, e in notes]
    midi.instruments.append(piano)
    if drums:
        kit = pretty_midi.Instrument(program=0, is_drum=True)
        kit.notes = [pretty_midi.Note(90, p, s * seconds, e * seconds) for p, s, e in drums]
        midi.instruments.append(kit)
    return midi


def midi_bytes(midi: pretty_midi.PrettyMIDI) -> bytes:
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def chord_progression(seed: int, bars: int = 8) -> pretty_midi.PrettyMIDI:
    """A little piece: triads of C major on each half note, with a melody in eighths."""
    rng = np.random.default_rng(seed)
    roots = [60, 65, 67, 57, 62]
    notes = []
    for bar in range(bars):
        root = int(rng.choice(roots))
        for beat in (0, 2):
            start = bar * 4 + beat
            notes += [(root - 12, start, start + 2), (root + 4 - 12, start, start + 2), (root + 7 - 12, start, start + 2)]
        for eighth in range(8):
            pitch = root + 12 + int(rng.choice([0, 2, 4, 5, 7]))
            notes.append((pitch, bar * 4 + eighth / 2, bar * 4 + eighth / 2 + 0.5))
    return make_midi(notes)


@pytest.fixture
def midi_folder(tmp_path: Path) -> Path:
    """Eight small good MIDI files and two bad ones."""
    folder = tmp_path / "midi"
    folder.mkdir()
    for i in range(8):
        chord_progression(i).write(str(folder / f"piece_{i}.mid"))
    (folder / "not_midi.mid").write_bytes(b"this is not a MIDI file at all")
    make_midi([], drums=[(36, 0, 1), (38, 1, 2)]).write(str(folder / "drums_only.mid"))
    return folder


def fluidsynth_or_skip() -> None:
    """Skips a test where FluidSynth cannot be imported, naming how to install it; under CI,
    where .ci/run installs it, fails instead."""
    from rnn_rbm.outputs import audio

    reason = audio.quiet_fluidsynth_import()
    if reason is not None:
        message = f"FluidSynth not usable here ({reason}): apt-get install libfluidsynth3 (or fluidsynth)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; .ci/run installs it, so under CI it must be there")
        pytest.skip(message)


def benchmark_script(name: str):
    """Returns: benchmarks/<name>.py imported as a module (the scripts are not a package)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
