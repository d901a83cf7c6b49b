"""Models by name: what `--model NAME` chooses, and what a checkpoint's config names
(`model.family`), so that generation and evaluation rebuild any model from it alone.

A model joins by one line in MODELS below (its defaults in config.FAMILIES), or, from a
module of its own outside the package, by `register` (a test's toy model, an experiment).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from rnn_rbm.config import FAMILIES, RunConfig
from rnn_rbm.errors import UserError
from rnn_rbm.models.acoustic import Acoustic
from rnn_rbm.models.base import FrameModel
from rnn_rbm.models.lstm import Lstm
from rnn_rbm.models.rnn import Rnn
from rnn_rbm.models.rnn_nade import RnnNade
from rnn_rbm.models.rnn_rbm import RnnRbm
from rnn_rbm.models.token_lstm import EventLstm, MelodyLstm, NoteLstm

MODELS: dict[str, type[FrameModel]] = {
    cls.FAMILY: cls for cls in (RnnRbm, RnnNade, Lstm, Rnn, NoteLstm, MelodyLstm, EventLstm, Acoustic)}
_REGISTERED: set[str] = set()  # the names `register` added


def register(cls: type[FrameModel], defaults: dict[str, dict[str, Any]] | None = None) -> type[FrameModel]:
    """Adds the model class `cls` under its FAMILY, with `defaults` as its config.FAMILIES entry
    (the sections and fields it changes from RunConfig's; None: none). Usable as a decorator.

    Returns: cls. Raises ValueError where the name is taken.
    """
    family = cls.FAMILY
    if family in MODELS or family in FAMILIES:
        raise ValueError(f"a model named {family!r} is registered already")
    MODELS[family] = cls
    FAMILIES[family] = dict(defaults or {})
    _REGISTERED.add(family)
    return cls


def unregister(family: str) -> None:
    """Removes the model that `register` added as `family` (the package's own stay)."""
    if family in _REGISTERED:
        _REGISTERED.discard(family)
        del MODELS[family], FAMILIES[family]


def model_class(family: str) -> type[FrameModel]:
    """Returns: the class registered as `family`; raises UserError for an unknown name."""
    try:
        return MODELS[family]
    except KeyError:
        raise UserError(f"unknown model {family!r}; the models are {', '.join(MODELS)}") from None


def build(config: RunConfig, rng: tf.random.Generator) -> FrameModel:
    """Returns: a freshly initialised model of config.model.family and the config's sizes."""
    return model_class(config.model.family).from_config(config, rng)


def descriptions() -> dict[str, str]:
    """Returns: each model's one-line description (its DESCRIPTION), by name: --help's list."""
    return {family: cls.DESCRIPTION for family, cls in MODELS.items()}
