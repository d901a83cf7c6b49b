"""Drawing new music from a trained model and writing it as MIDI, with a WAV and a
piano-roll PNG beside each file when asked."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_rbm import audio, philox, plots
from rnn_rbm.config import DataConfig, GenerateConfig
from rnn_rbm.guide import melody_clamp
from rnn_rbm.models.base import FrameModel
from rnn_rbm.pianoroll import roll_to_midi


def generate(
    model: FrameModel,
    config: GenerateConfig,
    rng: tf.random.Generator,
    primer: np.ndarray | None = None,
    melody: np.ndarray | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Draws `config.num_samples` pieces of `config.num_steps` new frames at once, at
    `config.temperature`, `config.chunk_steps` frames per compiled call (the RNN state
    carried across: the chunking does not change the music).

    primer: optional roll, float32 (steps, V), time-major: read by the RNN first, and
    copied at the head of every sample, which continues it.
    melody: optional roll (steps, V), time-major, at most one note per frame (see
    guide.top_voice): held in the new frames while the sampler fills in the rest
    (guide.melody_clamp says how; frames past its end are free).
    progress: show a bar of frames drawn (only on a terminal).
    Returns: float32 0/1, (num_samples, primer steps + num_steps, V), time-major.
    """
    count, chunk = config.num_samples, config.chunk_steps
    u = model.initial_state(count)
    head = np.zeros((count, 0, model.n_visible), dtype=np.float32)
    if primer is not None and len(primer):
        head = np.repeat(primer[np.newaxis].astype(np.float32), count, axis=0)
        u = model.final_state(tf.constant(head))
    sample = _compiled_sampler(model, config.gibbs_steps, config.temperature)
    seed = philox.new_seed(rng)  # one for the whole piece, whatever the chunks
    clamps = None
    if melody is not None:
        # Padded to whole chunks, so that every call has the same shapes and compiles once.
        padded = -(-config.num_steps // chunk) * chunk
        clamps = [c[np.newaxis] for c in melody_clamp(melody, padded)]
    drawn = []
    with tqdm(total=config.num_steps, desc="generating", unit="frame", leave=False,
              disable=None if progress else True) as bar:
        for start in range(0, config.num_steps, chunk):
            steps = min(chunk, config.num_steps - start)
            clamp = [] if clamps is None else [tf.constant(c[:, start:start + chunk]) for c in clamps]
            frames, u = sample(u, tf.constant(steps), seed, tf.constant(start), *clamp)
            drawn.append(frames.numpy())
            bar.update(steps)
    return np.concatenate([head, *drawn], axis=1)


@functools.lru_cache(maxsize=8)
def _compiled_sampler(model: FrameModel, gibbs_steps: int, temperature: float) -> Callable:
    """model.sample compiled by XLA (the frame loop then costs a few microseconds a step
    instead of tens), kept for later calls with the same model and settings.

    Returns: (u, steps, seed, first_step, *clamp) -> (frames, u after them).
    """
    def draw(u: tf.Tensor, steps: tf.Tensor, seed: tf.Tensor, first_step: tf.Tensor,
             *clamp: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return model.sample(u, steps, gibbs_steps, seed, temperature, *clamp, return_state=True,
                            first_step=first_step)

    return tf.function(draw, jit_compile=True)


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
