"""Training the RNN-RBM: an explicit epoch loop around a compiled CD-k step.

The CD-k cost is a surrogate whose gradient is the CD-k estimate, not a
`loss(y, y_pred)`, so Keras' fit() does not apply. Every step of a batch of
whole pieces is trained at once (teacher forcing), gradients reaching the RNN
through time.

Everything a run needs to go on exactly where it stopped is checkpointed: the
weights, Adam's moments, the random generator, and the Progress below (the
epoch, the batch within it, the validation bookkeeping). Each epoch's piece
order is drawn from (seed, epoch), so a resumed run sees the same batches.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_rbm import checkpoint
from rnn_rbm.config import RunConfig
from rnn_rbm.data import Dataset, batches
from rnn_rbm.errors import RunInterrupted, UserError
from rnn_rbm.metrics_log import MetricsLog
from rnn_rbm.model import RnnRbm
from rnn_rbm.signals import sigint_requests

log = logging.getLogger(__name__)

# The validation monitor reads this many pieces per batch (forward only: larger is fine).
MONITOR_BATCH = 64
BEST_CHECKPOINT = "best.ckpt"
INTERRUPTED_CHECKPOINT = "interrupted.ckpt"


class Progress(tf.Module):
    """How far a run has got, as variables so that it is checkpointed with the weights."""

    def __init__(self):
        super().__init__(name="progress")
        self.epoch = tf.Variable(0, dtype=tf.int64)  # completed epochs
        self.batch = tf.Variable(0, dtype=tf.int64)  # batches done in epoch + 1 (after Ctrl-C)
        # Sums over those batches: cost * frames, gradient norm, batches.
        self.totals = tf.Variable(tf.zeros([3], tf.float64))
        # Best select_metric so far, sign-flipped so that lower is better.
        self.best = tf.Variable(math.inf, dtype=tf.float64)
        self.best_epoch = tf.Variable(0, dtype=tf.int64)
        self.since_best = tf.Variable(0, dtype=tf.int64)  # validations without improvement
        self.since_cut = tf.Variable(0, dtype=tf.int64)  # ... and without a learning-rate cut


@dataclass
class TrainState:
    """What a run trains and draws from; checkpointed together."""

    model: RnnRbm
    optimizer: tf.keras.optimizers.Optimizer
    tf_rng: tf.random.Generator
    progress: Progress

    @classmethod
    def create(cls, config: RunConfig) -> TrainState:
        """Returns: a fresh model (initialised from config.seed), Adam and Progress."""
        tf_rng = tf.random.Generator.from_seed(config.seed)
        model = RnnRbm.from_config(config, tf_rng)
        optimizer = tf.keras.optimizers.Adam(config.train.learning_rate)
        # Adam's moments exist before a restore, so that a resumed run gets them back at once.
        optimizer.build(model.trainable_variables)
        return cls(model, optimizer, tf_rng, Progress())

    def trackables(self) -> dict[str, object]:
        """Returns: the objects a training checkpoint holds, by name."""
        return {"model": self.model, "optimizer": self.optimizer, "rng": self.tf_rng,
                "progress": self.progress}


def make_train_step(state: TrainState, config: RunConfig) -> Callable:
    """Returns: a compiled function (v (B, T, V), mask (B, T)) -> (cost, gradient norm)
    that takes one CD-k step on the batch."""
    model, train = state.model, config.train
    variables = list(model.trainable_variables)
    batch_spec = [tf.TensorSpec([None, None, config.data.num_pitches], tf.float32),
                  tf.TensorSpec([None, None], tf.float32)]

    @tf.function(input_signature=batch_spec)
    def step(v: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            cost = model.cost(v, mask, train.cd_k, state.tf_rng, train.negative_start)
        gradients = tape.gradient(cost, variables)
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
        drawn = state.model.predict(v, config.train.monitor_gibbs_steps, state.tf_rng)
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


def accuracy_validator(state: TrainState, dataset: Dataset, config: RunConfig) -> Callable[[], dict]:
    """Returns: the default validation, () -> {"valid_acc": frame accuracy of one draw}."""
    monitor = make_monitor(state, config)
    return lambda: {"valid_acc": frame_accuracy(monitor, dataset.valid)}


def epoch_order(config: RunConfig, epoch: int) -> np.random.Generator:
    """Returns: the generator that orders epoch `epoch`'s batches; a function of the seed and
    the epoch alone, so that a resumed run sees the batches an unbroken one would."""
    return np.random.default_rng([config.seed, epoch])


def train(
    state: TrainState,
    dataset: Dataset,
    config: RunConfig,
    num_epochs: int,
    checkpoint_dir: Path,
    progress: bool = True,
    validate: Callable[[], dict[str, float]] | None = None,
) -> list[dict]:
    """Trains from where state.progress stands up to epoch `num_epochs`.

    Writes epoch_<N>.ckpt every config.train.checkpoint_every epochs and at the end (keeping
    the newest config.train.keep_last), best.ckpt whenever the validation figure named by
    config.train.select_metric improves, and one line per epoch to the log, to
    checkpoint_dir/metrics.jsonl and to TensorBoard. `validate` (default: the valid_acc
    monitor) runs every config.train.validate_every epochs; its figures join the record.
    Ctrl-C saves interrupted.ckpt after the current batch and raises RunInterrupted; a
    cost that is not finite raises UserError naming the epoch, leaving earlier checkpoints.

    Returns: one dict per epoch trained: run, epoch, cost (CD surrogate, nats per frame),
    grad_norm, learning_rate, seconds, frames_per_s, and the validation figures.
    """
    step = make_train_step(state, config)
    validate = validate or accuracy_validator(state, dataset, config)
    metrics = MetricsLog(checkpoint_dir)
    at = state.progress
    history: list[dict] = []
    with sigint_requests() as interrupted:
        for epoch in range(int(at.epoch.numpy()) + 1, num_epochs + 1):
            record = _train_epoch(state, step, dataset, config, epoch, checkpoint_dir, interrupted,
                                  progress)
            at.epoch.assign(epoch)
            at.batch.assign(0)
            at.totals.assign(tf.zeros([3], tf.float64))
            if epoch % config.train.validate_every == 0 or epoch == num_epochs:
                record.update(validate())
            stop = _after_validation(state, record, config, checkpoint_dir)
            metrics.write(record, num_epochs)
            history.append(record)
            asked_to_stop = interrupted()
            if epoch % config.train.checkpoint_every == 0 or epoch == num_epochs or stop or asked_to_stop:
                _save_epoch(state, config, checkpoint_dir, epoch)
            if asked_to_stop:
                raise RunInterrupted(f"interrupted after epoch {epoch}: saved "
                                     f"{checkpoint_dir / f'epoch_{epoch}.ckpt'}; go on with --resume")
            if stop:
                break
    metrics.close(history)
    return history


def _train_epoch(state: TrainState, step: Callable, dataset: Dataset, config: RunConfig, epoch: int,
                 checkpoint_dir: Path, interrupted: Callable[[], bool], progress: bool) -> dict:
    at = state.progress
    epoch_batches = list(batches(dataset.train, config.train.batch_size, epoch_order(config, epoch)))
    done = int(at.batch.numpy())  # non-zero when resuming after Ctrl-C
    totals = at.totals.numpy().copy()
    frames_here = 0.0
    started = time.perf_counter()
    bar = tqdm(epoch_batches[done:], desc=f"epoch {epoch}", unit="batch", leave=False,
               disable=None if progress else True)
    for index, (v, mask) in enumerate(bar, start=done):
        cost, norm = (float(x) for x in step(v, mask))
        if not (math.isfinite(cost) and math.isfinite(norm)):
            bar.close()
            raise UserError(_diverged(epoch, index, cost, norm, checkpoint_dir))
        frames = float(mask.sum())
        totals += (cost * frames, norm, 1)
        frames_here += frames
        if interrupted() and index + 1 < len(epoch_batches):
            bar.close()
            at.batch.assign(index + 1)
            at.totals.assign(totals)
            prefix = checkpoint.save(checkpoint_dir / INTERRUPTED_CHECKPOINT, config, **state.trackables())
            raise RunInterrupted(f"interrupted in epoch {epoch} after batch {index + 1} of "
                                 f"{len(epoch_batches)}: saved {prefix}; go on with --resume")
    bar.close()
    seconds = time.perf_counter() - started
    train_frames = sum(map(len, dataset.train))
    return {
        "run": None,  # filled in by MetricsLog
        "epoch": epoch,
        "cost": totals[0] / train_frames,
        "grad_norm": totals[1] / max(totals[2], 1),
        "learning_rate": float(state.optimizer.learning_rate.numpy()),
        "seconds": seconds,
        "frames_per_s": frames_here / seconds if seconds > 0 else float("nan"),
    }


def _diverged(epoch: int, index: int, cost: float, norm: float, checkpoint_dir: Path) -> str:
    saved = checkpoint.newest(checkpoint_dir)
    kept = f"the last good checkpoint is {saved}" if saved else "no checkpoint of this run was written"
    return (f"epoch {epoch}, batch {index + 1}: the cost became {cost} (gradient norm {norm}); "
            f"training stopped and {kept}. Try a lower --learning_rate")


def _after_validation(state: TrainState, record: dict, config: RunConfig, checkpoint_dir: Path) -> bool:
    """Keeps best.ckpt, cuts the learning rate on a plateau, decides on early stopping.

    Returns: whether to stop early.
    """
    train = config.train
    name = train.select_metric
    if not any(key.startswith("valid") for key in record):
        return False  # no validation this epoch
    if name not in record:
        raise UserError(f"--select_metric {name}: validation gives only "
                        f"{sorted(k for k in record if k.startswith('valid'))}")
    value = record[name]
    if value is None or not math.isfinite(value):
        return False  # no validation pieces: nothing to select by
    at = state.progress
    score = value if name.startswith("valid_nll") else -value
    if score < float(at.best.numpy()):
        at.best.assign(score)
        at.best_epoch.assign(record["epoch"])
        at.since_best.assign(0)
        at.since_cut.assign(0)
        checkpoint.save(checkpoint_dir / BEST_CHECKPOINT, config, **state.trackables())
        record["best"] = True
        return False
    at.since_best.assign_add(1)
    at.since_cut.assign_add(1)
    if train.lr_schedule == "plateau" and int(at.since_cut.numpy()) >= train.lr_plateau_patience:
        rate = state.optimizer.learning_rate
        lowered = max(float(rate.numpy()) * train.lr_plateau_factor, train.min_learning_rate)
        if lowered < float(rate.numpy()):
            rate.assign(lowered)
            log.info("no better %s for %d validations: learning rate now %.3g", name,
                     train.lr_plateau_patience, lowered)
        at.since_cut.assign(0)
    patience = train.early_stop_patience
    if patience and int(at.since_best.numpy()) >= patience:
        log.info("no better %s for %d validations: stopping at epoch %d; the best, epoch %d, is %s",
                 name, patience, record["epoch"], int(at.best_epoch.numpy()), checkpoint_dir / BEST_CHECKPOINT)
        return True
    return False


def _save_epoch(state: TrainState, config: RunConfig, checkpoint_dir: Path, epoch: int) -> None:
    prefix = checkpoint.save(checkpoint_dir / f"epoch_{epoch}.ckpt", config, **state.trackables())
    log.info("saved %s", prefix)
    # Superseded: this checkpoint got further than any Ctrl-C checkpoint of the run.
    checkpoint.remove(checkpoint_dir / INTERRUPTED_CHECKPOINT)
    keep = config.train.keep_last
    if keep:
        # Only checkpoints up to this epoch are this run's; later ones belong to another run.
        older = sorted(e for e in checkpoint.epoch_checkpoints(checkpoint_dir) if e <= epoch)
        for stale in older[:-keep]:
            checkpoint.remove(checkpoint_dir / f"epoch_{stale}.ckpt")
