"""Drawing new music from a trained model: any model of the registry draws its pieces
(FrameModel.draw_pieces) with what generation lends it here, a Drawer: the model's sampler
compiled by XLA and run in chunks, and the frame loop, with a primer, a held melody and a
temperature (writing it: rnn_rbm/outputs/samples.py)."""

from __future__ import annotations

import functools
import logging
from typing import Callable

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_rbm.config import GenerateConfig, RunConfig
from rnn_rbm.models.base import FrameModel
from rnn_rbm.music.guide import melody_clamp
from rnn_rbm.ops import philox

log = logging.getLogger(__name__)


class Drawer:
    """What generation lends a model's draw_pieces (models/base.Drawing): `settings`' pieces
    drawn with draws from `rng`, a progress bar where `progress` (only on a terminal)."""

    def __init__(self, model: FrameModel, settings: GenerateConfig, rng: tf.random.Generator,
                 progress: bool = False):
        self.model, self.settings, self.rng, self.progress = model, settings, rng, progress

    def head(self, primer: np.ndarray | None) -> np.ndarray:
        """Returns: what every piece starts with, float32 (num_samples, primer steps, V): the
        primer repeated, or nothing."""
        count = self.settings.num_samples
        if primer is None or not len(primer):
            return np.zeros((count, 0, self.model.n_visible), dtype=np.float32)
        return np.repeat(primer[np.newaxis].astype(np.float32), count, axis=0)

    def chunks(self, head: np.ndarray) -> Callable[[int, list], np.ndarray]:
        """Returns: a function (steps, clamp) -> the next `steps` steps of every piece, float32
        (count, steps, V), drawn by the compiled sampler after the steps of `head` (count,
        steps, V), the state and the random stream carried from call to call."""
        model = self.model
        sample = _compiled_sampler(model, self.settings.gibbs_steps, self.settings.temperature)
        seed = philox.new_seed(self.rng)  # one for the whole piece, whatever the chunks
        at = {"u": model.final_state(tf.constant(head)) if head.shape[1] else model.initial_state(head.shape[0]),
              "start": 0}

        def next_chunk(steps: int, clamp: list) -> np.ndarray:
            frames, at["u"] = sample(at["u"], tf.constant(steps), seed, tf.constant(at["start"]), *clamp)
            at["start"] += steps
            return frames.numpy()

        return next_chunk

    def frames(self, primer: np.ndarray | None = None, melody: np.ndarray | None = None) -> np.ndarray:
        """Draws `num_samples` pieces of `num_steps` new frames at once, at `temperature`,
        `chunk_steps` frames per compiled call (the RNN state carried across: the chunking does
        not change the music).

        primer: optional roll, float32 (steps, V), time-major: read by the RNN first, and
        copied at the head of every sample, which continues it.
        melody: optional roll (steps, V), time-major, at most one note per frame (see
        guide.top_voice): held in the new frames while the sampler fills in the rest
        (guide.melody_clamp says how; frames past its end are free).
        Returns: float32 0/1, (num_samples, primer steps + num_steps, V), time-major.
        """
        config = self.settings
        chunk = config.chunk_steps
        head = self.head(primer)
        next_chunk = self.chunks(head)
        clamps = None
        if melody is not None:
            # Padded to whole chunks, so that every call has the same shapes and compiles once.
            padded = -(-config.num_steps // chunk) * chunk
            clamps = [c[np.newaxis] for c in melody_clamp(melody, padded)]
        drawn = []
        with tqdm(total=config.num_steps, desc="generating", unit="frame", leave=False,
                  disable=None if self.progress else True) as bar:
            for start in range(0, config.num_steps, chunk):
                steps = min(chunk, config.num_steps - start)
                clamp = [] if clamps is None else [tf.constant(c[:, start:start + chunk]) for c in clamps]
                drawn.append(next_chunk(steps, clamp))
                bar.update(steps)
        return np.concatenate([head, *drawn], axis=1)


def generate(
    model: FrameModel,
    config: GenerateConfig,
    rng: tf.random.Generator,
    primer: np.ndarray | None = None,
    melody: np.ndarray | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Draws frames from a frame model as Drawer.frames does (see there for the arguments).

    Returns: float32 0/1, (num_samples, primer steps + num_steps, V), time-major.
    """
    return Drawer(model, config, rng, progress).frames(primer, melody)


def draw_pieces(model: FrameModel, config: RunConfig, settings: GenerateConfig, rng: tf.random.Generator,
                primer: np.ndarray | None = None, melody: np.ndarray | None = None,
                progress: bool = False) -> tuple[np.ndarray, int]:
    """Draws pieces from any model of the registry, as the model draws them (model.draw_pieces:
    `generate` for the frame models; tokens written back as rolls for the token models,
    whose primer is token ids and who take no melody).

    Returns: (rolls, float32 0/1 (num_samples, primer frames + num_steps, V); the primer's frames).
    """
    return model.draw_pieces(Drawer(model, settings, rng, progress), config, primer, melody)


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
