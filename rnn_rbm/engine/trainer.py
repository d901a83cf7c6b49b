"""Training any model of the registry: an explicit epoch loop around a compiled step on
the model's loss.

The RNN-RBM's loss is CD-k's surrogate, whose gradient is the CD-k estimate, not a
`loss(y, y_pred)`, so Keras' fit() does not apply. Every step of a batch of
whole pieces is trained at once (teacher forcing), gradients reaching the RNN
through time.

Everything a run needs to go on exactly where it stopped is checkpointed: the
weights, Adam's moments, the random generator, and the Progress below (the
epoch, the batch within it, the validation bookkeeping). Each epoch's piece
order is drawn from (seed, epoch), so a resumed run sees the same batches.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from rnn_rbm import seeding
from rnn_rbm.config import OPTIMIZERS, GenerateConfig, RunConfig
from rnn_rbm.data.dataset import Dataset, batches
from rnn_rbm.engine import checkpoint, distribute
from rnn_rbm.engine.metrics_log import MetricsLog
from rnn_rbm.engine.sampling import draw_pieces
from rnn_rbm.engine.scoring import make_validator
from rnn_rbm.engine.signals import sigint_requests
from rnn_rbm.errors import RunInterrupted, UserError
from rnn_rbm.models import registry
from rnn_rbm.models.base import FrameModel, chain_rows
from rnn_rbm.ops import accuracy, philox
from rnn_rbm.outputs import plots

log = logging.getLogger(__name__)

# The validation monitor reads this many pieces per batch: as many as training, so that
# its batches have the shapes that training compiled already.
MONITOR_BATCH = 16
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

    model: FrameModel
    optimizer: tf.keras.optimizers.Optimizer
    tf_rng: tf.random.Generator
    progress: Progress
    # Set by distribute.replicate: the model and optimizer are then mirrored by it.
    strategy: tf.distribute.Strategy | None = None

    @classmethod
    def create(cls, config: RunConfig) -> TrainState:
        """Returns: a fresh model (initialised from config.seed), its optimizer and Progress."""
        tf_rng = tf.random.Generator.from_seed(config.seed)
        model = registry.build(config, tf_rng)
        if config.train.optimizer not in OPTIMIZERS:
            raise UserError(f"train.optimizer must be one of {', '.join(OPTIMIZERS)}, not {config.train.optimizer!r}")
        optimizer = getattr(tf.keras.optimizers, OPTIMIZERS[config.train.optimizer])(config.train.learning_rate)
        # Adam's moments exist before a restore, so that a resumed run gets them back at once.
        optimizer.build(model.trainable_variables)
        return cls(model, optimizer, tf_rng, Progress())

    def trackables(self) -> dict[str, object]:
        """Returns: the objects a training checkpoint holds, by name."""
        return {"model": self.model, "optimizer": self.optimizer, "rng": self.tf_rng,
                "progress": self.progress}


def make_train_step(state: TrainState, config: RunConfig) -> Callable:
    """Returns: a function (v (B, T, V), mask (B, T)) -> (cost, gradient norm) that takes one
    step on the model's loss over the batch: split across replicas under state.strategy, and
    on one device, where the batch holds more than train.max_batch_frames padded frames, over
    groups of its pieces in turn, whose gradients are summed before the one update."""
    model, train = state.model, config.train
    variables = list(model.trainable_variables)
    batch_spec = [tf.TensorSpec([None, None, model.n_visible], tf.float32), tf.TensorSpec([None, None], tf.float32)]

    def cost_and_gradients(v: tf.Tensor, mask: tf.Tensor, seed: tf.Tensor,
                           row_offset: tf.Tensor | int = 0) -> tuple[tf.Tensor, list[tf.Tensor]]:
        with tf.GradientTape() as tape:
            cost = model.loss(v, mask, train, seed, row_offset)
        return cost, tape.gradient(cost, variables)

    def update(cost: tf.Tensor, gradients: list[tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        norm = tf.linalg.global_norm(gradients)
        if train.clip_norm > 0:
            gradients, _ = tf.clip_by_global_norm(gradients, train.clip_norm, use_norm=norm)
        state.optimizer.apply_gradients(zip(gradients, variables))
        return cost, norm

    @tf.function(input_signature=batch_spec)
    def whole_step(v: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        seed = philox.new_seed(state.tf_rng)
        if state.strategy is None:
            return update(*cost_and_gradients(v, mask, seed))
        return update(*distribute.split_batch(state.strategy, cost_and_gradients, v, mask, seed))

    if state.strategy is not None or train.max_batch_frames <= 0:
        return whole_step

    @tf.function(input_signature=batch_spec + [tf.TensorSpec([4], tf.uint32), tf.TensorSpec([], tf.int32),
                                               tf.TensorSpec([], tf.float32)])
    def group_gradients(v: tf.Tensor, mask: tf.Tensor, seed: tf.Tensor, row_offset: tf.Tensor,
                        weight: tf.Tensor) -> tuple[tf.Tensor, list[tf.Tensor]]:
        cost, gradients = cost_and_gradients(v, mask, seed, row_offset)
        return cost * weight, [tf.convert_to_tensor(g) * weight for g in gradients]

    @tf.function
    def summed_update(costs: list[tf.Tensor], gradients: list[list[tf.Tensor]]) -> tuple[tf.Tensor, tf.Tensor]:
        return update(tf.add_n(costs), [tf.add_n(list(g)) for g in zip(*gradients)])

    def step(v: np.ndarray, mask: np.ndarray) -> tuple[tf.Tensor, tf.Tensor]:
        v, mask = np.asarray(v), np.asarray(mask)
        groups = batch_groups(mask, train.max_batch_frames)
        if len(groups) == 1:
            return whole_step(v, mask)
        seed = philox.new_seed(state.tf_rng)
        total = max(float(mask.sum()), 1.0)
        results = [group_gradients(v[part, :steps], mask[part, :steps], seed, tf.constant(offset, tf.int32),
                                   tf.constant(float(mask[part].sum()) / total))
                   for part, steps, offset in groups]
        return summed_update([cost for cost, _ in results], [gradients for _, gradients in results])

    return step


def batch_groups(mask: np.ndarray, max_frames: int) -> list[tuple[slice, int, int]]:
    """The groups of consecutive pieces of a batch that a step takes in turn so that none
    holds more than `max_frames` frames, padding included (a piece longer than that alone),
    each group cut to its own longest piece.

    mask: (batch, T), 1 on each piece's real steps, which come first.
    Returns: [(pieces, steps, row_offset)]: the group's slice of the pieces, its steps, and
    where its pieces' rows of random draws begin among those of the whole batch
    (models/base.chain_rows), so that the group draws what it would draw in the whole batch.
    One group when the whole batch fits.
    """
    lengths = [int(n) for n in mask.sum(axis=1)]
    if len(lengths) * mask.shape[1] <= max_frames:
        return [(slice(0, len(lengths)), mask.shape[1], 0)]
    quads = np.pad(mask, [[0, 0], [0, -mask.shape[1] % 4]])
    rows = tf.reduce_sum(tf.cast(chain_rows(tf.constant(quads, tf.float32)), tf.int32), axis=1).numpy()
    groups, start = [], 0
    while start < len(lengths):
        end = start + 1
        while end < len(lengths) and (end + 1 - start) * max(lengths[start:end + 1]) <= max_frames:
            end += 1
        groups.append((slice(start, end), max(max(lengths[start:end]), 1), int(rows[:start].sum())))
        start = end
    return groups


def make_monitor(model: FrameModel, config: RunConfig, rng: tf.random.Generator) -> Callable:
    """Returns: a compiled function (v (B, T, V), mask (B, T)) -> float32 (frames, 3), the
    true positives, false positives and false negatives of each real frame (in batch order)
    drawn from the model given the true past, with draws from `rng`."""
    batch_spec = [tf.TensorSpec([None, None, model.n_visible], tf.float32), tf.TensorSpec([None, None], tf.float32)]

    @tf.function(input_signature=batch_spec)
    def counts(v: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        drawn = model.predict(v, config.train.monitor_gibbs_steps, rng, mask)
        return tf.gather_nd(accuracy.frame_counts(drawn, v), tf.where(mask > 0))

    return counts


def accuracy_validator(state: TrainState, dataset: Dataset, config: RunConfig) -> Callable[[int], dict]:
    """The default validation: each validation frame drawn `config.evaluate.valid_acc_draws`
    times from the model given the true past (Gibbs chains of `monitor_gibbs_steps` from the
    all-zero frame, as in generation), from a generator of its own reset to (seed, epoch).

    Returns: a function epoch -> {"valid_acc": the paper's expected frame accuracy,
    "valid_acc_pooled": sum TP / sum (TP + FP + FN)} (rnn_rbm/ops/accuracy.py), in [0, 1].
    """
    rng = tf.random.Generator.from_seed(0)
    monitor = make_monitor(state.model, config, rng)
    valid_batches = list(batches(dataset.valid, MONITOR_BATCH))

    def validate(epoch: int) -> dict:
        rng.reset_from_seed(seeding.derived_seed(config.seed, seeding.VALIDATION, epoch))
        draws = [np.concatenate([monitor(v, mask).numpy() for v, mask in valid_batches] or [np.zeros((0, 3))])
                 for _ in range(config.evaluate.valid_acc_draws)]
        scores = accuracy.summarise(np.stack(draws, axis=1))
        return {"valid_acc": scores.expected, "valid_acc_pooled": scores.pooled}

    validate.compiled = [monitor]  # type: ignore[attr-defined]  # for tests that count traces
    return validate


def likelihood_validator(state: TrainState, dataset: Dataset, config: RunConfig) -> Callable[[int], dict]:
    """Returns: scoring.make_validator on the validation pieces, by the model's scorer: per
    epoch valid_nll (the exact figure, or a quick AIS), and where the model has them
    valid_nll_se, valid_acc, valid_acc_pooled (a token model: valid_nll alone, per token)."""
    return make_validator(state.model, dataset.train, dataset.valid, config.evaluate, config.seed)


# --select_metric: the validation each figure needs.
VALIDATORS: dict[str, Callable[[TrainState, Dataset, RunConfig], Callable[[int], dict]]] = {
    "valid_acc": accuracy_validator, "valid_nll": likelihood_validator}


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
    validate: Callable[[int], dict[str, float]] | None = None,
) -> list[dict]:
    """Trains from where state.progress stands up to epoch `num_epochs`.

    Writes epoch_<N>.ckpt every config.train.checkpoint_every epochs and at the end (keeping
    the newest config.train.keep_last), best.ckpt whenever the validation figure named by
    config.train.select_metric improves, and one line per epoch to the log, to
    checkpoint_dir/metrics.jsonl and to TensorBoard. `validate` (default: the one of
    VALIDATORS that config.train.select_metric names) runs every config.train.validate_every
    epochs, given the epoch; its figures join the record, with seconds_validating, the time
    it took.
    Ctrl-C saves interrupted.ckpt after the current batch and raises RunInterrupted; a
    cost that is not finite raises UserError naming the epoch, leaving earlier checkpoints.

    Returns: one dict per epoch trained: run, epoch, cost (CD surrogate, nats per frame),
    grad_norm, learning_rate, seconds (the training steps), frames_per_s, the validation
    figures with seconds_validating, and seconds_saving (best and epoch checkpoints, the log, the
    TensorBoard picture).
    """
    step = make_train_step(state, config)
    validate = validate or VALIDATORS[config.train.select_metric](state, dataset, config)
    metrics = MetricsLog(checkpoint_dir)
    at = state.progress
    history: list[dict] = []
    started = time.perf_counter()
    with sigint_requests() as interrupted, _closing(metrics):
        for epoch in range(int(at.epoch.numpy()) + 1, num_epochs + 1):
            record = _train_epoch(state, step, dataset, config, epoch, checkpoint_dir, interrupted,
                                  progress)
            at.epoch.assign(epoch)
            at.batch.assign(0)
            at.totals.assign(tf.zeros([3], tf.float64))
            if epoch % config.train.validate_every == 0 or epoch == num_epochs:
                validation_started = time.perf_counter()
                record.update(validate(epoch))
                record["seconds_validating"] = time.perf_counter() - validation_started
            saving_started = time.perf_counter()
            stop = _after_validation(state, record, config, checkpoint_dir)
            metrics.write(record, num_epochs)
            history.append(record)
            if config.train.image_every and (epoch % config.train.image_every == 0 or epoch == num_epochs):
                metrics.image("generated", _drawn_image(state.model, config, epoch), epoch)
            asked_to_stop = interrupted()
            if epoch % config.train.checkpoint_every == 0 or epoch == num_epochs or stop or asked_to_stop:
                _save_epoch(state, config, checkpoint_dir, epoch)
            record["seconds_saving"] = time.perf_counter() - saving_started
            if asked_to_stop:
                _log_totals(history, time.perf_counter() - started)
                raise RunInterrupted(f"interrupted after epoch {epoch}: saved "
                                     f"{checkpoint_dir / f'epoch_{epoch}.ckpt'}; go on with --resume")
            if stop:
                break
    if history:
        _log_totals(history, time.perf_counter() - started)
    return history


def _log_totals(history: list[dict], wall: float) -> None:
    """Logs one line: the wall clock of the epochs trained here, and how it divides."""
    training = sum(r["seconds"] for r in history)
    validation = sum(r.get("seconds_validating", 0.0) for r in history)
    saving = sum(r.get("seconds_saving", 0.0) for r in history)
    log.info("epochs %d-%d: %.0f s wall clock; training %.0f s, validation %.0f s, checkpoints, logs "
             "and pictures %.0f s, other %.0f s", history[0]["epoch"], history[-1]["epoch"], wall, training,
             validation, saving, max(wall - training - validation - saving, 0.0))


@contextlib.contextmanager
def _closing(metrics: MetricsLog) -> Iterator[None]:
    """Closes the metrics log however training ends, so that curves.png shows an
    interrupted or diverged run too."""
    try:
        yield
    finally:
        curves = metrics.close()
        if curves is not None:
            log.info("curves in %s", curves)


def _drawn_image(model: FrameModel, config: RunConfig, epoch: int) -> np.ndarray:
    """Returns: uint8 (1, H, W, 3) picture of a piece drawn now by the compiled sampler of
    generation, from a generator of its own (seeded by seed and epoch) so that training's
    random stream, and resuming, are untouched."""
    rng = tf.random.Generator.from_seed(seeding.derived_seed(config.seed, seeding.IMAGES, epoch))
    settings = GenerateConfig(num_samples=1, num_steps=config.train.image_steps,
                              gibbs_steps=config.train.monitor_gibbs_steps)
    return plots.summary_image(draw_pieces(model, config, settings, rng)[0][0], config.data.lowest_pitch)


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
    if score < float(at.best.numpy()) - train.select_min_delta:
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
