"""Training the RNN-RBM: an explicit epoch loop around a compiled CD-k step.

The CD-k cost is a surrogate whose gradient is the CD-k estimate, not a
`loss(y, y_pred)`, so Keras' fit() does not apply. Every step of a batch of
whole pieces is trained at once (teacher forcing), gradients reaching the RNN
through time.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_rbm import checkpoint, distribute, philox
from rnn_rbm.config import RunConfig
from rnn_rbm.data import Dataset, batches
from rnn_rbm.model import RnnRbm

log = logging.getLogger(__name__)

# The validation monitor reads this many pieces per batch: as many as training, so that
# its batches have the shapes that training compiled already.
MONITOR_BATCH = 16


@dataclass
class TrainState:
    """What a run trains and draws from; checkpointed together."""

    model: RnnRbm
    optimizer: tf.keras.optimizers.Optimizer
    tf_rng: tf.random.Generator
    epoch: tf.Variable  # last completed epoch
    # Set by distribute.replicate: the model and optimizer are then mirrored by it.
    strategy: tf.distribute.Strategy | None = None


def make_train_step(state: TrainState, config: RunConfig) -> Callable:
    """Returns: a compiled function (v (B, T, V), mask (B, T)) -> (cost, gradient norm)
    that takes one CD-k step on the batch (split across replicas under state.strategy)."""
    model, train = state.model, config.train
    variables = list(model.trainable_variables)
    batch_spec = [tf.TensorSpec([None, None, config.data.num_pitches], tf.float32),
                  tf.TensorSpec([None, None], tf.float32)]

    def cost_and_gradients(v: tf.Tensor, mask: tf.Tensor, seed: tf.Tensor,
                           row_offset: tf.Tensor | int = 0) -> tuple[tf.Tensor, list[tf.Tensor]]:
        with tf.GradientTape() as tape:
            cost = model.cost(v, mask, train.cd_k, seed, train.negative_start, row_offset)
        return cost, tape.gradient(cost, variables)

    @tf.function(input_signature=batch_spec)
    def step(v: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        seed = philox.new_seed(state.tf_rng)
        if state.strategy is None:
            cost, gradients = cost_and_gradients(v, mask, seed)
        else:
            cost, gradients = distribute.split_batch(state.strategy, cost_and_gradients, v, mask, seed)
        norm = tf.linalg.global_norm(gradients)
        if train.clip_norm > 0:
            gradients, _ = tf.clip_by_global_norm(gradients, train.clip_norm, use_norm=norm)
        state.optimizer.apply_gradients(zip(gradients, variables))
        return cost, norm

    return step


def make_monitor(state: TrainState, config: RunConfig) -> Callable:
    """Returns: a compiled function (v, mask) -> (true positives, false positives, false
    negatives) of frames drawn from the model given the true past."""
    batch_spec = [tf.TensorSpec([None, None, config.data.num_pitches], tf.float32),
                  tf.TensorSpec([None, None], tf.float32)]

    @tf.function(input_signature=batch_spec)
    def counts(v: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        drawn = state.model.predict(v, config.train.monitor_gibbs_steps, state.tf_rng, mask)
        weight = mask[..., tf.newaxis]
        return tf.stack([tf.reduce_sum(drawn * v * weight),
                         tf.reduce_sum(drawn * (1 - v) * weight),
                         tf.reduce_sum((1 - drawn) * v * weight)])

    return counts


def frame_accuracy(monitor: Callable, rolls: list[np.ndarray]) -> float:
    """Frame-level accuracy (Bay et al. 2009) of one draw per frame given the true past:
    sum TP / sum (TP + FP + FN) over all frames of `rolls`.

    Returns: float in [0, 1] (nan when `rolls` is empty).
    """
    totals = np.zeros(3)
    for v, mask in batches(rolls, MONITOR_BATCH):
        totals += monitor(v, mask).numpy()
    tp, fp, fn = totals
    return float(tp / (tp + fp + fn)) if totals.any() else float("nan")


def train(
    state: TrainState,
    dataset: Dataset,
    config: RunConfig,
    num_epochs: int,
    checkpoint_dir: Path,
    np_rng: np.random.Generator,
    progress: bool = True,
) -> list[dict]:
    """Trains from epoch state.epoch + 1 to `num_epochs`, writing epoch_<N>.ckpt every
    config.train.checkpoint_every epochs and at the end, and one line per epoch to the
    log, to checkpoint_dir/metrics.jsonl and to TensorBoard (checkpoint_dir/logs/<run>), where
    <run> is the run's start time, also stored in each metrics line to tell runs apart.

    Returns: one dict per epoch: run, epoch, cost (CD surrogate, nats per frame), valid_acc,
    grad_norm, seconds, frames_per_s.
    """
    step = make_train_step(state, config)
    monitor = make_monitor(state, config)
    run = time.strftime("%Y-%m-%d_%H%M%S")
    writer = tf.summary.create_file_writer(str(checkpoint_dir / "logs" / run))
    train_frames = sum(map(len, dataset.train))
    history = []
    for epoch in range(int(state.epoch.numpy()) + 1, num_epochs + 1):
        started = time.perf_counter()
        totals = np.zeros(3)  # cost * frames, gradient norm, batches
        epoch_batches = list(batches(dataset.train, config.train.batch_size, np_rng))
        for v, mask in tqdm(epoch_batches, desc=f"epoch {epoch}", unit="batch", leave=False,
                            disable=None if progress else True):
            cost, norm = step(v, mask)
            totals += (float(cost) * mask.sum(), float(norm), 1)
        seconds = time.perf_counter() - started
        record = {
            "run": run,
            "epoch": epoch,
            "cost": totals[0] / train_frames,
            "valid_acc": frame_accuracy(monitor, dataset.valid),
            "grad_norm": totals[1] / totals[2],
            "seconds": seconds,
            "frames_per_s": train_frames / seconds,
        }
        state.epoch.assign(epoch)
        _record(record, num_epochs, checkpoint_dir, writer)
        history.append(record)
        if epoch % config.train.checkpoint_every == 0 or epoch == num_epochs:
            prefix = checkpoint.save(checkpoint_dir / f"epoch_{epoch}.ckpt", config, model=state.model,
                                     optimizer=state.optimizer, rng=state.tf_rng, epoch=state.epoch)
            log.info("saved %s", prefix)
    return history


def _record(record: dict, num_epochs: int, checkpoint_dir: Path, writer) -> None:
    accuracy = record["valid_acc"]
    monitor = f"valid_acc {100 * accuracy:.2f}%" if np.isfinite(accuracy) else "no validation pieces"
    log.info("epoch %d/%d  cost %.4f  %s  %.1f s (%.0f frames/s)", record["epoch"], num_epochs,
             record["cost"], monitor, record["seconds"], record["frames_per_s"])
    # JSON has no NaN: a missing monitor is written as null.
    finite = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in record.items()}
    with open(checkpoint_dir / "metrics.jsonl", "a") as f:
        f.write(json.dumps(finite) + "\n")
    with writer.as_default(step=record["epoch"]):
        for key in ("cost", "valid_acc", "grad_norm", "frames_per_s"):
            if finite[key] is not None:
                tf.summary.scalar(key, record[key])
    writer.flush()
