"""Generated pieces on disk: one MIDI file each, with a WAV and a piano-roll PNG beside it
when asked, named by run so that no run overwrites another."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnn_rbm.config import DataConfig, GenerateConfig
from rnn_rbm.music.guide import melody_clamp
from rnn_rbm.music.pianoroll import roll_to_midi
from rnn_rbm.outputs import audio, plots


def run_name(out_dir: Path) -> str:
    """Returns: `<date>_<time>` now, with `-2`, `-3`... added when a file of that name is
    already in out_dir, so that a run never overwrites an earlier one's files."""
    stamp = time.strftime("%Y-%m-%d_%H%M%S")
    name, suffix = stamp, 1
    while any(out_dir.glob(f"{name}_*")) or any(out_dir.glob(f"{name}.*")):
        suffix += 1
        name = f"{stamp}-{suffix}"
    return name


@dataclass(frozen=True)
class SampleFiles:
    """What one generated piece left on disk: its MIDI and, when asked, WAV and PNG."""

    midi: Path
    wav: Path | None = None
    png: Path | None = None


def write_samples(rolls: np.ndarray, out_dir: Path, data: DataConfig, config: GenerateConfig,
                  run: str | None = None, synth: audio.Synth | None = None, plot: bool = False,
                  primer_steps: int = 0, melody: np.ndarray | None = None) -> list[SampleFiles]:
    """Writes each roll (samples, steps, V) as `<run>_<index>.mid` in out_dir, and beside it
    `<run>_<index>.wav` when a synth is given and `<run>_<index>.png` when plot is set.

    run: the files' common name (default: a fresh run_name).
    primer_steps, melody: mark the primer's frames and the held melody notes in the PNG
    (melody: (steps, V) as given to generate, starting after the primer).
    Returns: the files written, in sample order.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    run = run or run_name(out_dir)
    digits = len(str(len(rolls)))
    steps = rolls.shape[1]
    clamped = None
    if melody is not None:
        clamped = np.zeros(rolls.shape[1:], dtype=np.float32)
        _, values = melody_clamp(melody, steps - primer_steps)
        clamped[primer_steps:] = values
    seconds = steps * 60.0 / config.tempo_bpm / data.steps_per_quarter
    written = []
    for i, roll in enumerate(rolls):
        stem = out_dir / f"{run}_{i + 1:0{digits}d}"
        midi = roll_to_midi(roll, data.steps_per_quarter, config.tempo_bpm, data.lowest_pitch, config.velocity)
        midi.write(str(stem.with_suffix(".mid")))
        wav = png = None
        if synth is not None:
            wav = audio.write_wav(stem.with_suffix(".wav"),
                                  audio.render(midi, seconds, synth, config.audio_sample_rate),
                                  config.audio_sample_rate)
        if plot:
            png = plots.piano_roll_png(stem.with_suffix(".png"), roll, data.steps_per_quarter,
                                       data.lowest_pitch, primer_steps, clamped, title=stem.name)
        written.append(SampleFiles(stem.with_suffix(".mid"), wav, png))
    return written
