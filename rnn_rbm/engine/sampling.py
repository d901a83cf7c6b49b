"""Drawing new music from a trained model: any model of the registry, with a primer, a held
melody and a temperature (writing it: rnn_rbm/outputs/samples.py)."""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_rbm.config import GenerateConfig
from rnn_rbm.models.base import FrameModel
from rnn_rbm.music.guide import melody_clamp
from rnn_rbm.ops import philox


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
