"""Models by name: what `--model NAME` chooses, and what a checkpoint's config names
(`model.family`), so that generation and evaluation rebuild any model from it alone."""

from __future__ import annotations

import tensorflow as tf

from rnn_rbm.config import RunConfig
from rnn_rbm.errors import UserError
from rnn_rbm.models.base import FrameModel
from rnn_rbm.models.lstm import Lstm
from rnn_rbm.models.rnn_nade import RnnNade
from rnn_rbm.models.rnn_rbm import RnnRbm
from rnn_rbm.models.token_lstm import EventLstm, MelodyLstm, NoteLstm

MODELS: dict[str, type[FrameModel]] = {
    cls.FAMILY: cls for cls in (RnnRbm, RnnNade, Lstm, NoteLstm, MelodyLstm, EventLstm)}


def model_class(family: str) -> type[FrameModel]:
    """Returns: the class registered as `family`; raises UserError for an unknown name."""
    try:
        return MODELS[family]
    except KeyError:
        raise UserError(f"unknown model {family!r}; the models are {', '.join(MODELS)}") from None


def build(config: RunConfig, rng: tf.random.Generator) -> FrameModel:
    """Returns: a freshly initialised model of config.model.family and the config's sizes."""
    return model_class(config.model.family).from_config(config, rng)
