"""rnn_rbm_evaluate.py's tasks: a checkpoint's Table 1 figures on a split of its data, and
the statistics of generated MIDI against a reference data set."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tensorflow as tf

from rnn_rbm.config import DataConfig, Overrides, RunConfig, replace_section
from rnn_rbm.data.dataset import Loading
from rnn_rbm.data.sources import convert_files, midi_files
from rnn_rbm.data.tokenized import run_representation, tokenized, uses_tokens
from rnn_rbm.engine import checkpoint
from rnn_rbm.engine.scoring import Evaluation, ExactScorer, evaluate
from rnn_rbm.errors import UserError
from rnn_rbm.files import json_number
from rnn_rbm.models import registry
from rnn_rbm.music import samplestats
from rnn_rbm.records import Record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenEvaluation:
    """A token model's figures on one split: frame measures are not defined for it."""

    nll: float  # nats per token, positive
    tokens: int
    fields: list[str]  # the representation's fields
    sizes: list[int]  # words per field
    unknown: int  # tokens holding a word the vocabulary lacks (read as <unk>)
    seconds: float


@dataclass(frozen=True)
class Measured:
    """A checkpoint's figures on one split, with what they were measured on and how."""

    evaluation: Evaluation | TokenEvaluation
    config: RunConfig  # the checkpoint's, with the data and seed used
    exact: bool  # the model's likelihood is exact (no AIS)
    split: str  # which pieces: "train", "valid" or "test"
    tokens: bool = False  # a token model: evaluation is a TokenEvaluation

    def figures(self) -> dict[str, Any]:
        """Returns: the figures as the command's JSON line and the run's record give them:
        nll (nats per frame, positive; for a token model token_nll, per token), nll_se, and for
        frame models acc (the paper's expected frame accuracy) with the other accuracies beside it,
        log_z_over_known, frames, and the references (uniform and independent-pitch
        log-likelihoods, the copy-previous-frame accuracy)."""
        result = self.evaluation
        if self.tokens:  # no frame measures: nll and acc are null, token_nll is per token
            return {"token_nll": result.nll, "tokens": result.tokens, "vocabulary": result.sizes,
                    "unknown": result.unknown, "nll": None, "acc": None}
        acc = result.accuracy
        return {"nll": result.nll, "nll_se": result.nll_se, "acc": acc.expected, "acc_se": acc.expected_se,
                "acc_tp_fp_fn": acc.tp_fp_fn, "acc_pooled": acc.pooled,
                "log_z_over_known": json_number(result.log_z_over_known), "frames": result.frames,
                "exact": self.exact, "uniform_ll": result.uniform_ll, "bernoulli_ll": result.bernoulli_ll,
                "previous_frame_acc": result.previous_frame_acc}


def evaluate_task(checkpoint_prefix: Path, split: str | None, overrides: Overrides, settings: dict[str, Any],
                  loading: Loading, record: Record | None = None) -> Measured:
    """Measures the checkpoint's model on `split` ("train", "valid" or "test"; None: test
    where the data has a test split, else the held-out valid split) of its own data or of
    overrides.data_source, with the checkpoint's evaluation settings changed by
    `settings` (EvalConfig fields; None keeps one). Draws are seeded by overrides.seed, or 0.
    `record` (if given) gets the settings, the seconds of loading and measuring, and the figures.

    Raises UserError for a missing checkpoint or an empty split.
    """
    record = record or Record()
    held = checkpoint.load_config(checkpoint_prefix)
    config = overrides.data_and_seed(dataclasses.replace(held, seed=0))
    config = replace_section(config, "evaluate", **settings)
    record.settings = dataclasses.asdict(config)
    with record.phase("load_data"):
        dataset = loading.load(config.data_source, config.data)
    if split is None:
        split = "test" if dataset.test else "valid"
        if split == "valid":
            log.info("%s has no test split: measuring its held-out pieces (the valid split)", dataset.label)
    rolls = getattr(dataset, split)
    if not rolls:
        raise UserError(f"--data {config.data_source} has no {split} pieces; choose another --split")
    rng = tf.random.Generator.from_seed(config.seed)
    model = registry.build(config, rng)
    checkpoint.restore(checkpoint_prefix, model=model)
    record.results.update(checkpoint=str(checkpoint_prefix), split=split,
                          parameters=int(sum(int(tf.size(v)) for v in model.trainable_variables)))
    with record.phase("evaluate"):
        if uses_tokens(config):
            measured = _evaluate_tokens(model, config, dataset, split, loading.progress)
        else:
            chosen = config.evaluate
            how = ("exact likelihood" if model.EXACT else f"AIS {chosen.ais_chains} chains x "
                   f"{chosen.ais_temperatures} temperatures (base: {chosen.ais_base})")
            log.info("measuring %d %s frames of the %s: %s, accuracy from %d draws", sum(map(len, rolls)), split,
                     config.model.family, how, chosen.acc_draws)
            measured = Measured(evaluate(model, dataset.train, rolls, chosen, rng, progress=loading.progress),
                                config, model.EXACT, split)
    record.results.update(measured.figures())
    return measured


def _evaluate_tokens(model, config: RunConfig, dataset, split: str, progress: bool) -> Measured:
    """A token model's exact log-likelihood per token of a split."""
    encoder = run_representation(config)
    sequences = getattr(tokenized(dataset, config, (split,)), split)
    unknown = sum(encoder.count_unknown(ids) for ids in sequences)
    log.info("measuring %d %s tokens of the %s: exact likelihood", sum(map(len, sequences)), split,
             config.model.family)
    started = time.perf_counter()
    scores = ExactScorer(model, 0, 0, tf.random.Generator.from_seed(config.seed))(sequences, progress=progress)
    result = TokenEvaluation(scores.nll, int(sum(map(len, sequences))), list(encoder.FIELDS), encoder.sizes, unknown,
                             time.perf_counter() - started)
    return Measured(result, config, True, split, tokens=True)


@dataclass(frozen=True)
class SampleMeasures:
    """Statistics of generated pieces against a reference set."""

    report: samplestats.Report
    reference_label: str  # the data set and which of its pieces
    pieces: int  # generated pieces read
    steps_per_quarter: int  # frames per quarter note they were read with
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, why) of each unusable one


def samples_task(samples: list[Path], reference: str, split: str | None, steps_per_quarter: int | None,
                 loading: Loading) -> SampleMeasures:
    """Reads generated MIDI (files, or every MIDI file in folders) on a grid of
    `steps_per_quarter` frames per quarter note and compares it with the `split` pieces
    (default: see samplestats.reference_pieces) of --data `reference`.

    Raises UserError when a path is missing, nothing is usable, or the split is empty.
    """
    data = DataConfig(steps_per_quarter=steps_per_quarter or DataConfig().steps_per_quarter)
    paths = []
    for given in samples:
        if not given.exists() and not given.is_symlink():
            raise UserError(f"--samples {given}: no such file or folder")
        paths += midi_files(given) if given.is_dir() else [given]
    read = convert_files(paths, [str(p) for p in paths], data, loading.workers, progress=loading.progress)
    if not read.rolls:
        raise UserError(f"--samples {' '.join(map(str, samples))}: no usable MIDI file"
                        f"{' (see the messages above)' if read.skipped else ''}")
    dataset = loading.load(reference, data)
    pieces, which = samplestats.reference_pieces(dataset, split)
    if not pieces:
        raise UserError(f"--reference {reference} has no {split} pieces; choose another --split")
    result = samplestats.report(read.rolls, pieces, data.steps_per_quarter, data.lowest_pitch)
    return SampleMeasures(result, f"{dataset.label}, {which}", len(read.rolls), data.steps_per_quarter,
                          list(read.skipped))
