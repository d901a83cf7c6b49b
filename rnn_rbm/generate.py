"""Drawing new music from a trained RNN-RBM and writing it as MIDI."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from rnn_rbm.config import DataConfig, GenerateConfig
from rnn_rbm.model import RnnRbm
from rnn_rbm.pianoroll import roll_to_midi


def generate(
    model: RnnRbm,
    config: GenerateConfig,
    rng: tf.random.Generator,
    primer: np.ndarray | None = None,
) -> np.ndarray:
    """Draws `config.num_samples` pieces of `config.num_steps` new frames at once.

    primer: optional roll, float32 (steps, V), time-major: read by the RNN first, and
    copied at the head of every sample, which continues it.
    Returns: float32 0/1, (num_samples, primer steps + num_steps, V), time-major.
    """
    count = config.num_samples
    u0 = model.initial_state(count)
    head = np.zeros((count, 0, model.W.shape[0]), dtype=np.float32)
    if primer is not None and len(primer):
        head = np.repeat(primer[np.newaxis].astype(np.float32), count, axis=0)
        u0 = model.final_state(tf.constant(head))
    sample = _compiled_sampler(model, config.gibbs_steps, rng)
    drawn = sample(u0, tf.constant(config.num_steps)).numpy()
    return np.concatenate([head, drawn], axis=1)


@functools.lru_cache(maxsize=8)
def _compiled_sampler(model: RnnRbm, gibbs_steps: int, rng: tf.random.Generator):
    """model.sample compiled by XLA (the frame loop then costs a few microseconds a step
    instead of tens), kept for later calls with the same model, steps and generator."""
    return tf.function(lambda u, steps: model.sample(u, steps, gibbs_steps, rng), jit_compile=True)


def write_samples(rolls: np.ndarray, out_dir: Path, data: DataConfig, config: GenerateConfig) -> list[Path]:
    """Writes each roll (samples, steps, V) as `<date>_<time>_<index>.mid` in out_dir;
    never overwrites an earlier run's file.

    Returns: the paths written, in sample order.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d_%H%M%S")
    digits = len(str(len(rolls)))
    names = [f"{stamp}_{i + 1:0{digits}d}.mid" for i in range(len(rolls))]
    suffix = 1
    while any((out_dir / n).exists() for n in names):
        suffix += 1
        names = [f"{stamp}-{suffix}_{i + 1:0{digits}d}.mid" for i in range(len(rolls))]
    paths = []
    for roll, name in zip(rolls, names):
        midi = roll_to_midi(roll, data.steps_per_quarter, config.tempo_bpm, data.lowest_pitch,
                            config.velocity)
        midi.write(str(out_dir / name))
        paths.append(out_dir / name)
    return paths

