"""weight_initializations.py's task: pretrain a model's frame distribution, write initial.ckpt."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import tensorflow as tf

from rnn_rbm.config import Overrides, RunConfig, family_config
from rnn_rbm.data.dataset import Dataset, Loading, all_frames
from rnn_rbm.engine import checkpoint
from rnn_rbm.engine.pretrainer import pretrain, pretrain_recurrence
from rnn_rbm.errors import UserError
from rnn_rbm.models import registry
from rnn_rbm.models.base import FrameModel
from rnn_rbm.records import Record

log = logging.getLogger(__name__)


def pretrain_task(overrides: Overrides, out_dir: Path, loading: Loading, record: Record | None = None) -> Path:
    """Pretrains the model `overrides.chosen_family` (default rnn_rbm) on every training frame
    of its data, with the family's defaults and the given settings. `record` (if given) gets
    the settings, the seconds of loading and pretraining, and the last epoch's figures.

    Returns: the prefix of out_dir/initial.ckpt, which rnn_rbm_train.py starts from.
    Raises UserError for a family without a pretraining step.
    """
    record = record or Record()
    family = overrides.chosen_family or "rnn_rbm"
    config = overrides.apply(family_config(family))
    if registry.model_class(family).pretraining(config.pretrain) is None:
        raise UserError(f"the {family} has no pretraining step: train it from the start with "
                        f"rnn_rbm_train.py N --model {family}")
    record.settings = dataclasses.asdict(config)
    with record.phase("load_data"):
        dataset = loading.load(config.data_source, config.data)
    tf_rng = tf.random.Generator.from_seed(config.seed)
    model = registry.build(config, tf_rng)
    with record.phase("pretrain"):
        record.results.update(start_frame_model(model, dataset, config, tf_rng, loading.progress))
        prefix = checkpoint.save(out_dir / checkpoint.INITIAL_CHECKPOINT, config, model=model)
    record.results["checkpoint"] = str(prefix)
    return prefix


def start_frame_model(model: FrameModel, dataset: Dataset, config: RunConfig, tf_rng: tf.random.Generator,
                      progress: bool) -> dict:
    """The start of a run from scratch: pretraining where the model has a step for it
    (model.pretraining) and config.pretrain.epochs asks for it; otherwise its start from the
    data (model.start_from_data: the visible bias at the training frames' note frequencies, so
    that they are right from the first step).

    Returns: {} where it did not pretrain, else {"pretrain": the last epoch's figures, and
    "rnn_pretrain": the RNN stage's where it ran}.
    """
    how = model.pretraining(config.pretrain)
    if how is None or not config.pretrain.epochs:
        model.start_from_data(dataset.train)
        return {}
    frames = all_frames(dataset.train)
    log.info("pretraining the %s's frame distribution on %d frames: %s, %d epochs", config.model.family,
             len(frames), how, config.pretrain.epochs)
    np_rng = np.random.default_rng(config.seed)
    done = {"pretrain": pretrain(model, frames, config.pretrain, np_rng, tf_rng, progress=progress)[-1]}
    if config.pretrain.rnn_epochs:
        if not model.recurrence_variables():
            raise UserError(f"pretrain.rnn_epochs: the {config.model.family} has no RNN of the paper's to pretrain")
        log.info("pretraining the RNN alone with independent outputs: %d epochs", config.pretrain.rnn_epochs)
        done["rnn_pretrain"] = pretrain_recurrence(model, dataset.train, dataset.valid, config.pretrain.rnn_epochs,
                                                   config.pretrain.rnn_stage(config.train), np_rng, progress)[-1]
    return done
