"""rnn_rbm_evaluate.py's tasks: a checkpoint's Table 1 figures on a split of its data, and
the statistics of generated MIDI against a reference data set."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tensorflow as tf

from rnn_rbm.config import DataConfig, Overrides, RunConfig, replace_section
from rnn_rbm.data.dataset import Loading
from rnn_rbm.data.sources import convert_files, midi_files
from rnn_rbm.engine import checkpoint
from rnn_rbm.engine.scoring import evaluate
from rnn_rbm.errors import UserError
from rnn_rbm.models import registry
from rnn_rbm.models.base import Evaluation
from rnn_rbm.music import samplestats
from rnn_rbm.records import Record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Measured:
    """A checkpoint's figures on one split, with what they were measured on and how."""

    # What the model reports (FrameModel.evaluation): a frame model's Evaluation, or another
    # model's own (a token model's, per token) with the same `figures` and `exact`.
    evaluation: Any
    config: RunConfig  # the checkpoint's, with the data and seed used
    split: str  # which pieces: "train", "valid" or "test"

    @property
    def exact(self) -> bool:
        """Whether the model's likelihood is exact (no AIS)."""
        return self.evaluation.exact

    @property
    def tokens(self) -> bool:
        """Whether the figures are not a frame model's (Evaluation) but per token."""
        return not isinstance(self.evaluation, Evaluation)

    def figures(self) -> dict[str, Any]:
        """Returns: the figures as the command's JSON line and the run's record give them:
        nll (nats per frame, positive; for a token model token_nll, per token), nll_se, and for
        frame models acc (the paper's expected frame accuracy) with the other accuracies beside it,
        log_z_over_known, frames, and the references (uniform and independent-pitch
        log-likelihoods, the copy-previous-frame accuracy)."""
        return self.evaluation.figures()


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
        pieces = model.read_split(dataset, config, split)
        log.info("measuring %d %s %s of the %s: %s", sum(map(len, pieces)), split, model.STEPS, config.model.family,
                 model.describe_scoring(config.evaluate))
        measured = Measured(evaluate(model, dataset.train, pieces, config, rng, progress=loading.progress),
                            config, split)
    record.results.update(measured.figures())
    return measured


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
