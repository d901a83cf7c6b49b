"""Drawing new music from a trained model: any model of the registry, with a primer, a held
melody and a temperature (writing it: rnn_rbm/outputs/samples.py)."""

from __future__ import annotations

import functools
import logging
from typing import Callable

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_rbm.config import GenerateConfig, RunConfig
from rnn_rbm.data.tokenized import run_representation
from rnn_rbm.models.base import FrameModel
from rnn_rbm.music.guide import melody_clamp
from rnn_rbm.music.tokens import Representation
from rnn_rbm.ops import philox

log = logging.getLogger(__name__)

# generate_tokens stops a piece that has not reached its frames after this many tokens a frame.
MAX_TOKENS_PER_FRAME = 16


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
    head = _head(model, count, primer)
    next_chunk = _chunk_drawer(model, config, rng, head)
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
            drawn.append(next_chunk(steps, clamp))
            bar.update(steps)
    return np.concatenate([head, *drawn], axis=1)


def draw_pieces(model: FrameModel, config: RunConfig, settings: GenerateConfig, rng: tf.random.Generator,
                primer: np.ndarray | None = None, melody: np.ndarray | None = None,
                progress: bool = False) -> tuple[np.ndarray, int]:
    """Draws pieces from any model of the registry: `generate` for the frame models,
    `generate_tokens` with the run's representation for the token models (primer: their
    token ids; melody: frame models only).

    Returns: (rolls, float32 0/1 (num_samples, primer frames + num_steps, V); the primer's frames).
    """
    if model.TOKENS:
        model.top_k = settings.top_k
        return generate_tokens(model, run_representation(config), settings, rng, primer, progress)
    rolls = generate(model, settings, rng, primer, melody, progress=progress)
    return rolls, 0 if primer is None else len(primer)


def generate_tokens(
    model: FrameModel,
    representation: Representation,
    config: GenerateConfig,
    rng: tf.random.Generator,
    primer: np.ndarray | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, int]:
    """Draws `config.num_samples` pieces from a token model, `config.chunk_steps` tokens per
    compiled call, until each piece written back as a roll has `config.num_steps` new frames,
    and cuts it there: every model's pieces are then as long, in frames.

    primer: optional token ids (N, F), read first; its frames head every piece.
    Returns: (rolls, float32 0/1 (num_samples, primer frames + num_steps, V), time-major;
    the primer's frames).
    """
    count, chunk = config.num_samples, config.chunk_steps
    head = _head(model, count, primer)
    primer_frames = len(representation.decode(head[0])) if head.shape[1] else 0
    wanted = primer_frames + config.num_steps
    next_chunk = _chunk_drawer(model, config, rng, head)
    tokens = [head]
    drawn_count, checked = head.shape[1], 0
    rolls: list[np.ndarray | None] = [None] * count
    # A model that never moves time on (advances of 0, no time shifts) must still end.
    most = head.shape[1] + MAX_TOKENS_PER_FRAME * config.num_steps
    with tqdm(total=config.num_steps, desc="generating", unit="frame", leave=False,
              disable=None if progress else True) as bar:
        while any(r is None for r in rolls) and drawn_count < most:
            tokens.append(next_chunk(chunk, []))
            drawn_count += chunk
            # Written back only every quarter more tokens: decoding each chunk would cost
            # the square of the piece's length (thousands of MIDI events per piece).
            if drawn_count - checked < max(chunk, checked // 4) and drawn_count < most:
                continue
            checked = drawn_count
            drawn = np.concatenate(tokens, axis=1)
            reached = wanted
            for i in range(count):
                if rolls[i] is None:
                    roll = representation.decode(drawn[i])
                    rolls[i] = roll if len(roll) >= wanted else None
                    reached = min(reached, len(roll))
            bar.update(max(0, reached - primer_frames - bar.n))
    short = [i for i, r in enumerate(rolls) if r is None]
    if short:
        log.warning("%d of %d pieces reached fewer than %d frames in %d tokens: padded with silence",
                    len(short), count, wanted, most)
        drawn = np.concatenate(tokens, axis=1)
        for i in short:
            rolls[i] = representation.decode(drawn[i])
    out = np.zeros((count, wanted, representation.data.num_pitches), np.float32)
    for i, roll in enumerate(rolls):
        out[i, :min(wanted, len(roll))] = roll[:wanted]
    return out, primer_frames


def _head(model: FrameModel, count: int, primer: np.ndarray | None) -> np.ndarray:
    """Returns: what every piece starts with, float32 (count, primer steps, V): the primer
    repeated, or nothing."""
    if primer is None or not len(primer):
        return np.zeros((count, 0, model.n_visible), dtype=np.float32)
    return np.repeat(primer[np.newaxis].astype(np.float32), count, axis=0)


def _chunk_drawer(model: FrameModel, config: GenerateConfig, rng: tf.random.Generator,
                  head: np.ndarray) -> Callable[[int, list], np.ndarray]:
    """Returns: a function (steps, clamp) -> the next `steps` frames of every piece, float32
    (count, steps, V), drawn by the compiled sampler after the frames of `head` (count,
    steps, V), the state and the random stream carried from call to call."""
    sample = _compiled_sampler(model, config.gibbs_steps, config.temperature)
    seed = philox.new_seed(rng)  # one for the whole piece, whatever the chunks
    at = {"u": model.final_state(tf.constant(head)) if head.shape[1] else model.initial_state(head.shape[0]),
          "start": 0}

    def next_chunk(steps: int, clamp: list) -> np.ndarray:
        frames, at["u"] = sample(at["u"], tf.constant(steps), seed, tf.constant(at["start"]), *clamp)
        at["start"] += steps
        return frames.numpy()

    return next_chunk


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
