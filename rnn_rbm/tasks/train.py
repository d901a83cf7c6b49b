"""rnn_rbm_train.py's task: a new run (from initial.ckpt, --init or random weights) or a
resumed one, on one process or under a tf.distribute strategy."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rnn_rbm.config import Overrides, RunConfig, family_config, replace_section
from rnn_rbm.data.dataset import Loading
from rnn_rbm.engine import checkpoint, distribute
from rnn_rbm.engine.trainer import TrainState, train
from rnn_rbm.errors import UserError
from rnn_rbm.models import registry
from rnn_rbm.records import Record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainRequest:
    """What a training command asks for."""

    num_epochs: int  # the epoch to reach, counting those a resumed run has done
    out_dir: Path  # the run's checkpoints, metrics.jsonl and TensorBoard files
    overrides: Overrides = field(default_factory=Overrides)
    init: Path | None = None  # weights to start from (default out_dir/initial.ckpt when there)
    resume: bool = False  # go on with the run in out_dir, with its settings
    strategy: str = "none"  # "none", "mirrored" or "multiworker" (distribute.make_strategy)


def train_task(request: TrainRequest, loading: Loading, record: Record | None = None) -> Path | None:
    """Trains as `request` asks. Under --strategy multiworker every process runs this; only
    the chief (worker 0) writes to out_dir, the others to a copy thrown away at the end.
    `record` (if given) gets the run's settings, the seconds of loading, training and (part
    of training) validation, and the figures of its last and best epochs.

    Returns: the run's newest checkpoint (None on a worker other than the chief, and where
    no epoch was trained).
    """
    record = record or Record()
    request.out_dir.mkdir(parents=True, exist_ok=True)
    strategy = distribute.make_strategy(request.strategy)
    if distribute.is_chief(strategy):
        return _train(request, request.out_dir, strategy, loading, record)
    # The same run on a copy of the folder (its initial.ckpt, or the checkpoint to resume):
    # every worker must read what the chief reads.
    with tempfile.TemporaryDirectory(prefix="rnn_rbm_worker_") as scratch:
        shutil.copytree(request.out_dir, scratch, dirs_exist_ok=True)
        _train(request, Path(scratch), strategy, loading, record)
    return None


def summarise_history(history: list[dict], select_metric: str) -> dict:
    """Returns: a training run's figures for its record: epochs (the last reached), best_epoch
    (of best.ckpt; None where no validation was finite), best (that epoch's figures), last (the
    last epoch's), and the seconds of validation and of saving."""
    best = [r for r in history if r.get("best")]
    return {"epochs": history[-1]["epoch"] if history else None,
            "epochs_trained": len(history),
            "select_metric": select_metric,
            "best_epoch": best[-1]["epoch"] if best else None,
            "best": best[-1] if best else None,
            "last": history[-1] if history else None,
            "seconds_validating": sum(r.get("seconds_validating", 0.0) for r in history),
            "seconds_saving": sum(r.get("seconds_saving", 0.0) for r in history)}


def _train(request: TrainRequest, out_dir: Path, strategy, loading: Loading, record: Record) -> Path | None:
    if request.resume:
        prefix, config = resume_config(request, out_dir)
        epochs_done = checkpoint.progress(prefix)[0]
        if epochs_done >= request.num_epochs:
            log.info("%s is at epoch %d already: nothing to train (ask for more epochs)", prefix, epochs_done)
            return prefix
    else:
        config, init = fresh_config(request, out_dir)
    with record.phase("load_data"):
        dataset = loading.load(config.data_source, config.data)
    # The data as the model reads it (a token model: its vocabulary fitted, the pieces as words).
    dataset, config = registry.model_class(config.model.family).prepare_training(dataset, config)
    state = distribute.replicate(TrainState.create(config), config, strategy)
    if strategy is not None:
        log.info("each batch split between %d replicas (--strategy %s)", strategy.num_replicas_in_sync,
                 request.strategy)
    if request.resume:
        checkpoint.restore(prefix, **state.trackables())
        learning_rate = request.overrides.given_train().get("learning_rate")
        if learning_rate is not None:
            state.optimizer.learning_rate.assign(learning_rate)
        log.info("resuming %s at epoch %d", prefix, epochs_done + 1)
    elif init is not None:
        checkpoint.restore(init, model=state.model)
    else:
        # No pretrained weights: the pitch frequencies, at least, start right.
        state.model.start_from_data(dataset.train)
    log.info("training the %s to epoch %d: %s, %d pieces per batch", config.model.family, request.num_epochs,
             state.model.describe_loss(config.train), config.train.batch_size)
    record.settings = dataclasses.asdict(config)
    with record.phase("train"):
        history = train(state, dataset, config, request.num_epochs, out_dir, progress=loading.progress)
    record.results.update(summarise_history(history, config.train.select_metric))
    record.phases["validation"] = record.results["seconds_validating"]  # a part of "train"
    return out_dir / f"epoch_{history[-1]['epoch']}.ckpt" if history else None


def fresh_config(request: TrainRequest, out_dir: Path) -> tuple[RunConfig, Path | None]:
    """Returns: the config of a new run, and the checkpoint whose weights it starts from (None:
    random weights). The weights fix the data and model settings; training settings are this
    run's own."""
    given = request.overrides
    init = request.init or out_dir / checkpoint.INITIAL_CHECKPOINT
    # A missing --init is the user's mistake (load_config names it); a missing default is not.
    held = checkpoint.load_config(init) if request.init is not None or checkpoint.exists(init) else None
    base = None
    if held is None:
        log.info("no %s: starting from random weights (run weight_initializations.py to pretrain)", init)
    elif request.init is None and given.chosen_family not in (None, held.model.family):
        log.info("%s holds a pretrained %s, not a %s: starting from random weights", init,
                 held.model.family, given.chosen_family)
    else:
        check_model_settings(given, held, init)
        # The family's training defaults, the pretrained weights' data, sizes and vocabulary.
        base = dataclasses.replace(family_config(held.model.family), data_source=held.data_source,
                                   data=held.data, model=held.model, tokens=held.tokens, pretrain=held.pretrain,
                                   seed=held.seed)
        log.info("starting from %s (pretrained on %s)", init, base.data_source)
    earlier = checkpoint.newest(out_dir)
    if earlier is not None:
        log.warning("%s holds an earlier run (up to epoch %d); this one starts at epoch 1 and replaces "
                    "its checkpoints of the same names (--resume goes on with it instead)", out_dir,
                    checkpoint.progress(earlier)[0])
    config = given.apply(base or family_config(given.chosen_family or "rnn_rbm"))
    return config, init if base is not None else None


def resume_config(request: TrainRequest, out_dir: Path) -> tuple[Path, RunConfig]:
    """Returns: the newest checkpoint of the run in `out_dir` and the config to go on with:
    its own, with the training settings given in the request."""
    given = request.overrides
    if request.init is not None:
        raise UserError("--resume goes on from the newest checkpoint in --checkpoint_dir; "
                        "drop --init (or drop --resume to start a new run from --init)")
    prefix = checkpoint.newest(out_dir)
    if prefix is None:
        raise UserError(f"--resume: no training checkpoint in {out_dir}; start a run without --resume "
                        "(or point --checkpoint_dir at the run's folder)")
    held = checkpoint.load_config(prefix)
    check_model_settings(given, held, prefix)
    fixed = {"--data": given.data_source, "--steps_per_quarter": given.steps_per_quarter,
             "--out_of_range": given.out_of_range, "--seed": given.seed}
    for flag, value in fixed.items():
        if value is not None:
            raise UserError(f"{flag}: a resumed run keeps the data and seed of {prefix}; drop the flag")
    changes = given.given_train()
    for key, value in changes.items():
        log.info("resuming with --%s %s (was %s)", key, value, getattr(held.train, key))
    return prefix, replace_section(held, "train", **changes)


def check_model_settings(given: Overrides, held: RunConfig, source: Path) -> None:
    """Raises UserError where `given` asks for another model than the checkpoint `source` holds."""
    for flag, wanted, has in (("model", given.chosen_family, held.model.family),
                              ("n_hidden", given.n_hidden, held.model.n_hidden),
                              ("n_recurrent", given.n_recurrent, held.model.n_recurrent)):
        if wanted is not None and wanted != has:
            raise UserError(f"--{flag} {wanted}, but {source} has {has}; drop the flag, "
                            "or pretrain again with it")
