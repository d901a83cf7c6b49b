"""Data sets as token sequences, for the token models (music/tokens.py has the
representations): the rolls of every split encoded with the run's vocabulary, fitted on the
training pieces when the run has none yet."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from rnn_rbm.config import RunConfig, replace_section
from rnn_rbm.data.dataset import Dataset
from rnn_rbm.errors import UserError
from rnn_rbm.music.tokens import Representation, representation, representation_class

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")


def run_representation(config: RunConfig) -> Representation:
    """Returns: the representation a token model's config holds, with its vocabulary."""
    return representation(config.tokens.representation, config.tokens.vocabulary, config.data)


def fit_vocabulary(dataset: Dataset, config: RunConfig) -> RunConfig:
    """Returns: `config` with its representation's vocabulary, fitted on the training pieces
    when it has none (a new run) and kept as it is otherwise."""
    if config.tokens.vocabulary:
        return config
    name = config.tokens.representation
    fitted = representation_class(name).fit(dataset.train, config.data)
    log.info("%s vocabulary: %s", name, ", ".join(f"{field} {size}" for field, size in
                                                  zip(fitted.FIELDS, fitted.sizes)))
    return replace_section(config, "tokens", vocabulary=fitted.vocabulary)


def tokenized(dataset: Dataset, config: RunConfig, splits: tuple[str, ...] = SPLITS) -> Dataset:
    """The dataset with every piece of `splits` as its token ids, float32 (N, F) (what the
    token models read), the other splits empty. Words the vocabulary lacks become <unk>
    (counted in the log); a piece the representation cannot encode, or that gives no token,
    is skipped and named.

    Returns: a new Dataset; raises UserError when the training split is asked for and no
    piece of it is left.
    """
    encoder = run_representation(config)
    by_split: dict[str, list[np.ndarray]] = {}
    names: dict[str, list[str]] = {}
    skipped = list(dataset.skipped)
    unknown = total = 0
    for split in SPLITS:
        rolls = getattr(dataset, split) if split in splits else []
        labels = dataset.names.get(split) or [f"{split} piece {i + 1}" for i in range(len(rolls))]
        by_split[split], names[split] = [], []
        for label, roll in zip(labels, rolls):
            try:
                ids = encoder.encode(roll, unknown="unk")
            except (UserError, ValueError) as exc:
                skipped.append((label, f"cannot be written as {encoder.NAME} tokens ({exc})"))
                log.warning("skipped %s: cannot be written as %s tokens (%s)", label, encoder.NAME, exc)
                continue
            if not len(ids):
                skipped.append((label, f"gives no {encoder.NAME} token"))
                log.warning("skipped %s: gives no %s token", label, encoder.NAME)
                continue
            if split != "train":
                unknown += encoder.count_unknown(ids)
                total += len(ids)
            by_split[split].append(ids.astype(np.float32))
            names[split].append(label)
    if "train" in splits and not by_split["train"]:
        raise UserError(f"no training piece can be written as {encoder.NAME} tokens")
    if unknown:
        log.info("%d of %d held-out tokens (%.1f %%) hold a word the vocabulary lacks: read as <unk>",
                 unknown, total, 100.0 * unknown / total)
    return dataclasses.replace(dataset, train=by_split["train"], valid=by_split["valid"], test=by_split["test"],
                               skipped=skipped, names=names)
