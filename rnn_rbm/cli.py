"""Command lines of the entry points: the only place that reads argv. Each parses its flags
into settings and calls its task (rnn_rbm/tasks/), then prints what the task returned.

Flags are parsed before TensorFlow is imported, so a bad flag answers at once
(`--help` imports the models, to list each with its description). A UserError (bad file,
flag or checkpoint) ends in one line on stderr and exit code 2; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from rnn_rbm.config import (AIS_BASES, BENCHMARK_STEPS_PER_QUARTER, FAMILIES, KEYS, LR_SCHEDULES, NEGATIVE_STARTS,
                            OPTIMIZERS, OUT_OF_RANGE, SELECT_METRICS, GenerateConfig, Overrides, RunConfig)
from rnn_rbm.errors import RunInterrupted, UserError

log = logging.getLogger("rnn_rbm")

DEFAULT_CHECKPOINT_DIR = Path("parameter_checkpoints")
# Generation is a long chain of tiny operations (one frame of 88 x 150 at a time): split
# across threads, each waits for the slowest, and on a machine with any other load one
# sample was drawn up to 2.6x slower from run to run. One thread: as fast on an idle
# machine, and steady under load (experiments/2026-12-speed.md).
SAMPLER_THREADS = 1


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is less than {minimum}")
        return value
    return parse


def _real(allow_zero: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (value >= 0 if allow_zero else value > 0):  # also refuses nan
            raise argparse.ArgumentTypeError(f"{value} is {'negative' if allow_zero else 'not positive'}")
        return value
    return parse


_positive_float = _real(allow_zero=False)
_non_negative_float = _real(allow_zero=True)


def _share(text: str) -> float:
    """A share in [0, 1)."""
    value = _non_negative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{value} is not below 1")
    return value


def _open_share(text: str) -> float:
    """A share in (0, 1)."""
    value = _share(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not above 0")
    return value


@dataclass(frozen=True)
class Flag:
    """A flag that sets one setting: --NAME (the field's own name) sets SECTION.FIELD of the
    run's settings (GenerateConfig's for the section "generate"). Its help says what the
    setting does; the default it shows is read from the declaration of the setting, with
    each model's own where config.FAMILIES changes it, so that the two cannot disagree."""

    setting: str  # "section.field"
    help: str
    parse: Callable[[str], Any] | None = None  # None: the choices, which config declares
    choices: tuple[str, ...] | None = None

    @property
    def section(self) -> str:
        return self.setting.split(".")[0]

    @property
    def name(self) -> str:
        return self.setting.split(".")[1]


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def declared_default(setting: str) -> str:
    """Returns: the default of `setting` ("section.field") as --help says it, read from its
    declaration and from each model's own (config.FAMILIES), the default model's first:
    "default 15", or "default 0.25 for rnn_rbm; 0 for the others"."""
    section, name = setting.split(".")
    if section == "generate":
        return f"default {_shown(getattr(GenerateConfig(), name))}"
    base = getattr(getattr(RunConfig(), section), name)
    groups: dict[Any, list[str]] = {}
    for family, changes in FAMILIES.items():
        groups.setdefault(changes.get(section, {}).get(name, base), []).append(family)
    if len(groups) == 1:
        return f"default {_shown(base)}"
    parts = [f"{_shown(value)} for " + ("the others" if i == len(groups) - 1 else ", ".join(families))
             for i, (value, families) in enumerate(groups.items())]
    return "default " + "; ".join(parts)


def _add_flags(parser: argparse.ArgumentParser, flags: Sequence[Flag], prefix: str = "") -> None:
    """Adds each flag, its help ended by its declared default (after `prefix`, e.g. "the
    checkpoint's, else "); every flag's value is None unless given."""
    for flag in flags:
        parser.add_argument(f"--{flag.name}", type=flag.parse, choices=flag.choices,
                            help=f"{flag.help} ({prefix}{declared_default(flag.setting)})".replace("%", "%%"))


def _given(args: argparse.Namespace, flags: Sequence[Flag]) -> dict[str, Any]:
    """Returns: {field: value} of the flags given (None: not given, the base's value stays)."""
    return {flag.name: getattr(args, flag.name) for flag in flags}


PRETRAIN_FLAGS = (
    Flag("pretrain.epochs", "passes over the frames", _count(1)),
    Flag("pretrain.cd_k", "Gibbs steps of CD-k", _count(1)),
    Flag("pretrain.learning_rate", "Adam step size", _positive_float),
    Flag("pretrain.batch_size", "frames per update", _count(1)),
    Flag("pretrain.rnn_epochs", "then the RNN alone, trained this many epochs as an RNN with independent outputs, "
         "the paper's start for the RNN-RBM (0: it keeps its random start)", _count(0)),
    Flag("pretrain.rnn_learning_rate", "Adam step size of that RNN stage (0: rnn_rbm_train.py's --learning_rate)",
         _non_negative_float),
)
TRAIN_FLAGS = (
    Flag("train.checkpoint_every", "write a checkpoint every N epochs, and always at the end", _count(1)),
    Flag("train.keep_last", "epoch checkpoints to keep besides best.ckpt (0 keeps all)", _count(0)),
    Flag("train.cd_k", "Gibbs steps of CD-k", _count(1)),
    Flag("train.negative_start", "where CD-k's negative chains start: the all-zero frame, where generation "
         "starts (zeros), the true frame, as in the paper (data), or either at random (mixed)",
         choices=NEGATIVE_STARTS),
    Flag("train.zeros_start_share", "with --negative_start mixed: the share of the chains started at zeros, the "
         "others at the true frame", _open_share),
    Flag("train.scheduled_sampling", "share of the frames the recurrence reads in training that are the model's "
         "own draws given the true past, the rest true frames (0: teacher forcing only)", _share),
    Flag("train.learning_rate", "the optimizer's step size", _positive_float),
    Flag("train.optimizer", "adam, rmsprop, or sgd, the paper's plain gradient step (its rate then needs to be "
         "about 1000 times Adam's)", choices=tuple(OPTIMIZERS)),
    Flag("train.lr_schedule", "plateau: halve the learning rate after a few validations without improvement "
         "(lr_plateau_factor, lr_plateau_patience in the settings)", choices=LR_SCHEDULES),
    Flag("train.clip_norm", "clip the gradient's global norm (0 turns it off)", _non_negative_float),
    Flag("train.batch_size", "pieces per update", _count(1)),
    Flag("train.max_batch_frames", "a batch of more frames than this (padding included) is taken in groups of its "
         "pieces, their gradients summed into one update: bounded memory, the same update (0: never split)",
         _count(0)),
    Flag("train.validate_every", "epochs between validations, and always at the last epoch", _count(1)),
    Flag("train.select_metric", "the validation figure that picks best.ckpt, stops early and cuts the learning "
         "rate: valid_acc, the expected frame accuracy of the monitor's draws; valid_nll, the log-likelihood per "
         "frame (exact, or by a quick AIS)", choices=SELECT_METRICS),
    Flag("train.select_min_delta", "a validation is better only when it beats the best by more than this "
         "(twice the figure's measured noise)", _non_negative_float),
    Flag("train.early_stop_patience", "stop after N validations without improvement (0: never)", _count(0)),
)
EVALUATE_FLAGS = (
    Flag("evaluate.ais_chains", "AIS chains per frame", _count(2)),
    Flag("evaluate.ais_temperatures", "AIS intermediate distributions", _count(1)),
    Flag("evaluate.ais_base", "AIS base: independent pitches with each frame's own visible bias (frame) or with "
         "the training base rates (data)", choices=AIS_BASES),
    Flag("evaluate.ais_batch_frames", "frames whose AIS chains run together", _count(1)),
    Flag("evaluate.ais_known_frames", "distinct training frames summed exactly in every frame's Z, the most "
         "frequent first (0: all)", _count(0)),
    Flag("evaluate.acc_draws", "draws of every frame averaged in the accuracy (for the RNN-RBM, from its AIS "
         "chains, resampled by importance weight)", _count(1)),
)
GENERATE_FLAGS = (
    Flag("generate.num_samples", "pieces to write", _count(1)),
    Flag("generate.gibbs_steps", "Gibbs steps per frame, for models sampled by a chain", _count(1)),
    Flag("generate.temperature", "divides the RBM's energy, or the other models' logits, while sampling: 1 is "
         "the model as trained, above 1 wilder, below 1 tamer", _positive_float),
    Flag("generate.top_k", "token models: draw each word among the k likeliest only (0: among all)", _count(0)),
    Flag("generate.tempo_bpm", "quarter notes per minute in the MIDI", _positive_float),
)


def _old_name(parser: argparse.ArgumentParser, old: str, new: str, **kwargs) -> None:
    """Accepts flag `old` as `new` for one more release, with a one-line notice (not in --help)."""

    class Renamed(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            print(f"notice: {old} is now {new}; the old name goes in the next release", file=sys.stderr)
            setattr(namespace, self.dest, values)

    parser.add_argument(old, dest=new.lstrip("-"), action=Renamed, help=argparse.SUPPRESS, **kwargs)


def _settings_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="settings from a JSON file laid out as a run's "
                        "config.json (any part of it; a run's own config.json repeats its settings)")
    parser.add_argument("--set", nargs="+", default=[], metavar="SECTION.FIELD=VALUE", dest="changes",
                        help="change settings by name, after --config, e.g. train.cd_k=25 "
                        "evaluate.ais_chains=32 seed=1 (the names of config.json); a flag of its own wins")


def _record_flag(parser: argparse.ArgumentParser, where: str) -> None:
    parser.add_argument("--record", type=Path, metavar="FILE", help="where the run's record goes (its "
                        "settings, code revision, machine, seconds by phase and figures, as JSON; default "
                        f"{where})")


def _common(parser: argparse.ArgumentParser, seed_default: str = "0, or the --init checkpoint's") -> None:
    parser.add_argument("--seed", type=_count(0), help=f"random seed (default {seed_default})")
    parser.add_argument("--quiet", action="store_true", help="only warnings and errors, no progress bars")
    parser.add_argument("--verbose", action="store_true", help="let TensorFlow's own log lines and Python's "
                        "warnings through (hidden by default)")


def _data_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="'bach' (music21's chorales, the default), one of the paper's data "
                        f"sets shipped with the package ({'|'.join(BENCHMARK_STEPS_PER_QUARTER)}), a folder of "
                        "MIDI files, or a .json file of the benchmarks' layout")
    parser.add_argument("--steps_per_quarter", type=_count(1), help="frames per quarter note "
                        "(default 2, eighth notes; 4 = sixteenths). For a benchmark: the length of its "
                        "frames, used when writing MIDI (default: the packaged set's own, JSB 1, the others 2)")
    parser.add_argument("--out_of_range", choices=OUT_OF_RANGE, help="notes outside the 88 keys: move them "
                        f"by octaves into range (octave) or drop them ({declared_default('data.out_of_range')})")
    parser.add_argument("--key", choices=KEYS, help="the Bach default's and a MIDI folder's pieces: each moved "
                        "into C major or C minor, as the paper's data sets (c), or each in its own key (as_written) "
                        f"({declared_default('data.key')})")
    _cache_flags(parser)
    parser.add_argument("--checkpoint_dir", type=Path, default=DEFAULT_CHECKPOINT_DIR,
                        help=f"where checkpoints go (default {DEFAULT_CHECKPOINT_DIR})")


def _cache_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache_dir", type=Path, help="where converted rolls are cached "
                        "(default $RNN_RBM_CACHE or ~/.cache/rnn_rbm)")
    parser.add_argument("--workers", type=_count(1), help="processes converting MIDI (default: all cores)")


def _model_flags(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = _ModelsHelp
    parser.add_argument("--model", choices=list(FAMILIES), help="which model (listed by _ModelsHelp)")
    parser.add_argument("--n_hidden", type=_count(1), help="hidden units of the RBM or NADE "
                        f"({declared_default('model.n_hidden')})")
    parser.add_argument("--n_recurrent", type=_count(1), help="recurrent units: the RNN's, or the LSTM's cells "
                        f"({declared_default('model.n_recurrent')})")


class _ModelsHelp(argparse.HelpFormatter):
    """--model's help lists every model with its one-line description, the DESCRIPTION of its
    class: a model joins --help by registering. The registry imports TensorFlow, so it is read
    only when the help is printed; flags are still parsed without it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.dest != "model":
            return super()._get_help_string(action)
        from rnn_rbm import quiet

        quiet.setup()
        from rnn_rbm.models import registry

        described = registry.descriptions()
        return ("which model: " + ", ".join(f"{name} ({described.get(name, '')})" for name in FAMILIES)
                + "; default rnn_rbm, or the --init checkpoint's").replace("%", "%%")


def _run(main: Callable[[argparse.Namespace], None], parser: argparse.ArgumentParser,
         argv: Sequence[str] | None, intra_op_threads: int | None = None) -> None:
    args = parser.parse_args(argv)
    args.command_line = [parser.prog, *(sys.argv[1:] if argv is None else argv)]
    from rnn_rbm import quiet

    try:
        quiet.setup(verbose=args.verbose, quiet=args.quiet, intra_op_threads=intra_op_threads,
                    before_devices=_multiworker_first if getattr(args, "strategy", None) == "multiworker" else None)
        main(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except RunInterrupted as exc:
        print(exc, file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


def _multiworker_first() -> None:
    from rnn_rbm.engine import distribute

    distribute.multiworker()


def _writable_dir(path: Path, flag: str) -> Path:
    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path}: is a file, not a folder; choose another folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{flag} {path}: cannot create it ({exc.strerror}); choose another folder") from None
    if not os.access(path, os.W_OK):
        raise UserError(f"{flag} {path}: not writable; choose another folder")
    return path


def _loading(args: argparse.Namespace):
    from rnn_rbm.data.dataset import Loading

    return Loading(args.cache_dir, args.workers, progress=not args.quiet)


def _data_source(args: argparse.Namespace) -> str | None:
    """Returns: --data, a path made absolute so that a later run from another folder finds the
    same files (None when not given)."""
    if args.data is None or args.data == "bach" or args.data in BENCHMARK_STEPS_PER_QUARTER:
        return args.data
    return str(Path(args.data).expanduser().resolve())


def _overrides(args: argparse.Namespace, **sections: dict) -> Overrides:
    """Returns: the data, seed and model settings of the command line (flags not given: None)."""
    from rnn_rbm.config import read_settings

    return Overrides(data_source=_data_source(args), steps_per_quarter=args.steps_per_quarter,
                     out_of_range=args.out_of_range, key=args.key, seed=args.seed, family=args.model,
                     n_hidden=args.n_hidden, n_recurrent=args.n_recurrent,
                     settings=read_settings(args.config, args.changes), **sections)


def _new_record(args: argparse.Namespace):
    from rnn_rbm.records import Record

    return Record(command=args.command_line)


def _write_record(record, args: argparse.Namespace, folder: Path, what: str) -> Path:
    """Writes the run's record to --record, or to a new FOLDER/WHAT_<date_time>.record.json.

    Returns: its path."""
    from rnn_rbm.records import stamped_path

    path = args.record or stamped_path(folder, what)
    try:
        record.write(path)
    except OSError as exc:
        raise UserError(f"--record {path}: cannot write the run's record ({exc.strerror}); its other "
                        "outputs are written") from None
    log.info("record of this run: %s", path)
    return path


def pretrain_main(argv: Sequence[str] | None = None) -> None:
    """weight_initializations.py: CD-k pretraining of the RBM, writes initial.ckpt."""
    parser = argparse.ArgumentParser(prog="weight_initializations.py", description=
                                     "Pretrain the RBM (W, bv, bh) by CD-k on all training frames (with "
                                     "--model rnn_nade: the NADE by its likelihood); writes "
                                     "CHECKPOINT_DIR/initial.ckpt for rnn_rbm_train.py.")
    _data_flags(parser)
    _model_flags(parser)
    _add_flags(parser, PRETRAIN_FLAGS)
    _settings_flags(parser)
    _record_flag(parser, "CHECKPOINT_DIR/pretrain_<date_time>.record.json")
    _common(parser, seed_default="0")

    def main(args: argparse.Namespace) -> None:
        out_dir = _writable_dir(args.checkpoint_dir, "--checkpoint_dir")
        from rnn_rbm.tasks.pretrain import pretrain_task

        overrides = _overrides(args, pretrain=_given(args, PRETRAIN_FLAGS))
        record = _new_record(args)
        print(pretrain_task(overrides, out_dir, _loading(args), record))
        _write_record(record, args, out_dir, "pretrain")

    _run(main, parser, argv)


def train_main(argv: Sequence[str] | None = None) -> None:
    """rnn_rbm_train.py: trains the RNN-RBM, writes epoch_<N>.ckpt and best.ckpt."""
    parser = argparse.ArgumentParser(prog="rnn_rbm_train.py", description=
                                     "Train the RNN-RBM by CD-k with back-propagation through time (or "
                                     "another --model on its loss). Starts from CHECKPOINT_DIR/initial.ckpt "
                                     "when it is there and holds the same model.")
    parser.add_argument("num_epochs", type=_count(1), metavar="NUM_EPOCHS",
                        help="the epoch to reach (with --resume, counting the epochs already done)")
    _data_flags(parser)
    _model_flags(parser)
    parser.add_argument("--init", type=Path, help="checkpoint to start from "
                        "(default CHECKPOINT_DIR/initial.ckpt when present)")
    parser.add_argument("--resume", action="store_true", help="go on exactly where the run in "
                        "CHECKPOINT_DIR stopped (its newest checkpoint, including after Ctrl-C), "
                        "with its settings")
    _add_flags(parser, TRAIN_FLAGS)
    parser.add_argument("--strategy", choices=["none", "mirrored", "multiworker"], default="none",
                        help="mirrored: split each batch across every GPU of this machine "
                        "(tf.distribute.MirroredStrategy); multiworker: across the processes that the "
                        "TF_CONFIG environment variable names, each running this same command "
                        "(tf.distribute.MultiWorkerMirroredStrategy; the chief, worker 0, writes the "
                        "checkpoints); default none")
    _settings_flags(parser)
    _record_flag(parser, "CHECKPOINT_DIR/train_<date_time>.record.json")
    _common(parser)

    def main(args: argparse.Namespace) -> None:
        out_dir = _writable_dir(args.checkpoint_dir, "--checkpoint_dir")
        from rnn_rbm.tasks.train import TrainRequest, train_task

        train = _given(args, TRAIN_FLAGS)
        request = TrainRequest(args.num_epochs, out_dir, _overrides(args, train=train), args.init, args.resume,
                               args.strategy)
        record = _new_record(args)
        newest = train_task(request, _loading(args), record)
        if newest is not None:
            print(newest)
            _write_record(record, args, out_dir, "train")

    _run(main, parser, argv)


def generate_main(argv: Sequence[str] | None = None) -> None:
    """rnn_rbm_generate.py: draws new MIDI from a checkpoint, with WAV, PNG and a results page."""
    defaults = GenerateConfig()
    parser = argparse.ArgumentParser(prog="rnn_rbm_generate.py", description=
                                     "Write new MIDI files drawn from a trained RNN-RBM, and "
                                     "OUT_DIR/index.html, a page of every run written there.")
    parser.add_argument("checkpoint", type=Path, metavar="CKPT",
                        help="checkpoint prefix, e.g. parameter_checkpoints/epoch_200.ckpt, or a folder: a published "
                        "model (pretrained/jsb/rnn_rbm) or a run's (its best.ckpt)")
    _add_flags(parser, GENERATE_FLAGS)
    _old_name(parser, "--tempo", "--tempo_bpm", type=_positive_float)
    parser.add_argument("--num_steps", type=_count(1), help=f"new frames per piece (default: the "
                        f"--melody's length, else {defaults.num_steps})")
    parser.add_argument("--primer", type=Path, help="MIDI file to continue (token models: default, a window "
                        "of a validation piece, named on the results page)")
    parser.add_argument("--melody", type=Path, help="MIDI file to harmonise: its top voice is held "
                        "in every new frame, nothing sounds above it, the model fills in the rest")
    parser.add_argument("--audio", action="store_true", help="also write a WAV beside each MIDI "
                        "(FluidSynth where installed, see README)")
    parser.add_argument("--sound_font", type=Path, help="General MIDI .sf2 font for --audio "
                        "(default: the system's FluidR3_GM, else pretty_midi's own)")
    parser.add_argument("--plot", action="store_true", help="also write a piano-roll PNG beside each MIDI")
    parser.add_argument("--out_dir", type=Path, default=Path("results"), help="default results/")
    _common(parser, seed_default="a fresh one, printed so that it can be repeated")

    def main(args: argparse.Namespace) -> None:
        out_dir = _writable_dir(args.out_dir, "--out_dir")
        from rnn_rbm.tasks.generate import GenerateRequest, generate_task

        settings = GenerateConfig(**{k: v for k, v in _given(args, GENERATE_FLAGS).items() if v is not None})
        request = GenerateRequest(args.checkpoint, out_dir, settings, args.num_steps, args.seed, args.primer,
                                  args.melody, args.audio, args.sound_font, args.plot)
        generated = generate_task(request, progress=not args.quiet)
        for sample in generated.files:
            print(sample.midi)
        log.info("results page %s", generated.page)

    _run(main, parser, argv, intra_op_threads=SAMPLER_THREADS)


def evaluate_main(argv: Sequence[str] | None = None) -> None:
    """rnn_rbm_evaluate.py: the paper's measures (log-likelihood per frame by AIS, expected
    frame accuracy) of a checkpoint on one split of its data."""
    from rnn_rbm.config import EvalConfig

    defaults = EvalConfig()
    parser = argparse.ArgumentParser(prog="rnn_rbm_evaluate.py", description=
                                     "Log-likelihood per frame (nats; partition functions by annealed "
                                     "importance sampling) and expected frame accuracy of a trained "
                                     "RNN-RBM, each frame given its true past, as in Table 1 of "
                                     "Boulanger-Lewandowski et al. (2012). The last line of output is "
                                     "one JSON object: nll (nats per frame, positive), nll_se, acc (the paper's expected "
                                     "frame accuracy), acc_tp_fp_fn, acc_pooled, log_z_over_known, frames and the "
                                     "references. With --samples instead of "
                                     "CKPT: statistics of generated MIDI against a reference data set.")
    parser.add_argument("checkpoint", type=Path, metavar="CKPT", nargs="?",
                        help="checkpoint prefix, e.g. parameter_checkpoints/best.ckpt, or a folder: a published "
                        "model (pretrained/jsb/rnn_rbm) or a run's (its best.ckpt)")
    parser.add_argument("--data", help="data to measure (default: the checkpoint's own), e.g. "
                        "nottingham, or a .json file of the benchmarks' layout")
    parser.add_argument("--split", choices=["train", "valid", "test"],
                        help="which pieces (default test, or the held-out valid split where the data has "
                        "none, as a MIDI folder or bach; as --reference: all its pieces where it has no test split)")
    _samples_flags(parser)
    parser.add_argument("--harmonise", action="store_true", help="instead of the paper's measures: harmonise "
                        "the soprano of every held-out Bach chorale and measure the other voices against Bach's, "
                        "beside Bach and a counting baseline (likelihood of the lower notes, voice accuracies, "
                        "voice leading; benchmarks/harmonisation.py does it for several checkpoints); for a "
                        "checkpoint trained on the Bach default")
    _add_flags(parser, EVALUATE_FLAGS, prefix="the checkpoint's own; ")
    for old, new, parse in (("--chains", "--ais_chains", _count(2)), ("--temperatures", "--ais_temperatures",
                            _count(1)), ("--base", "--ais_base", str), ("--batch_frames", "--ais_batch_frames",
                            _count(1)), ("--draws", "--acc_draws", _count(1))):
        _old_name(parser, old, new, type=parse)
    _cache_flags(parser)
    _settings_flags(parser)
    _record_flag(parser, "beside CKPT, evaluate_<split>_<date_time>.record.json")
    _common(parser, seed_default="0")

    def main(args: argparse.Namespace) -> None:
        if args.samples is not None or args.checkpoint is None:
            return _evaluate_samples(args)
        for flag in ("reference", "steps_per_quarter"):
            if getattr(args, flag) is not None:
                raise UserError(f"--{flag} is for --samples; a checkpoint is measured on its own grid "
                                "and on --data")
        if args.harmonise:
            return _harmonise(args)
        from rnn_rbm.tasks.evaluate import evaluate_task

        from rnn_rbm.config import read_settings

        settings = _given(args, EVALUATE_FLAGS)
        overrides = Overrides(data_source=_data_source(args), seed=args.seed,
                              settings=read_settings(args.config, args.changes))
        record = _new_record(args)
        measured = evaluate_task(args.checkpoint, args.split, overrides, settings, _loading(args), record)
        _print_evaluation(args, measured)
        from rnn_rbm.engine.checkpoint import resolve

        _write_record(record, args, resolve(args.checkpoint).parent, f"evaluate_{measured.split}")

    _run(main, parser, argv)


def transcribe_main(argv: Sequence[str] | None = None) -> None:
    """rnn_rbm_transcribe.py: recordings to MIDI by an acoustic model, alone or with a model of
    music as its prior (the paper's Section 7), with a picture of each and the results page."""
    from rnn_rbm.transcription.audio import MAX_AUDIO_SECONDS
    from rnn_rbm.transcription.decoders import DECODERS, DecoderConfig

    defaults = DecoderConfig()
    parser = argparse.ArgumentParser(prog="rnn_rbm_transcribe.py", description=
                                     "Transcribe recordings of piano music into MIDI: an acoustic model gives "
                                     "every note's probability in every audio frame, and a decoder chooses the "
                                     "notes, alone or weighing a model of music (the product of experts of "
                                     "Boulanger-Lewandowski et al. 2012, Section 7). Writes OUT_DIR/<run>_<name>.mid "
                                     "and .png, and the results page OUT_DIR/index.html.")
    parser.add_argument("audio", type=Path, nargs="+", metavar="AUDIO", help="recordings: WAV, FLAC, OGG or MP3, "
                        f"any sample rate, stereo mixed down, at most {MAX_AUDIO_SECONDS / 60:.0f} min each")
    parser.add_argument("--acoustic", type=Path, required=True, metavar="CKPT", help="the acoustic model: a "
                        "checkpoint of rnn_rbm_train.py N --model acoustic, or its folder")
    parser.add_argument("--prior", type=Path, metavar="CKPT", help="a model of music (rnn_rbm, rnn_nade, lstm, "
                        "rnn) as the prior of the greedy and beam decoders, e.g. pretrained/jsb/rnn_rbm")
    parser.add_argument("--decoder", choices=DECODERS, help="threshold: the acoustic model alone; hmm: each note "
                        "smoothed by a two-state HMM counted on the acoustic model's training music; greedy: the "
                        "paper's product of experts, frame after frame; beam: the same by beam search (default "
                        "greedy with --prior, else threshold)")
    parser.add_argument("--alpha", type=_non_negative_float, help=f"the prior's weight (default {defaults.alpha:g}; "
                        "0: the acoustic model alone)")
    parser.add_argument("--level", type=_open_share, help=f"threshold's level (default {defaults.level:g})")
    parser.add_argument("--hmm_weight", type=_non_negative_float, help="the weight of the HMM's chain against the "
                        f"acoustic model (default {defaults.weight:g}; 0: each frame alone; benchmarks/figure5.py "
                        "tunes it on a data set's valid split)")
    parser.add_argument("--candidates", type=_count(1), help="notes per audio frame whose subsets greedy and beam "
                        f"weigh, 2^K candidates (default {defaults.candidates}, the paper's)")
    parser.add_argument("--width", type=_count(1), help=f"beam's width (default {defaults.width})")
    parser.add_argument("--per_step", action="store_true", help="greedy and beam decide once per step of the "
                        "prior's music on the pooled evidence of its audio frames, rather than frame by frame "
                        "(the paper's); the step's frames must be known: a fixed --step_seconds")
    parser.add_argument("--step_seconds", type=_positive_float, help="the duration of one step of the prior's "
                        "music, a whole number of the acoustic model's audio frames (default: the acoustic "
                        "model's, as it was trained); the prior reads one frame of notes per step")
    parser.add_argument("--cache_dir", type=Path, help="where converted rolls are cached, for --decoder hmm "
                        "(default $RNN_RBM_CACHE or ~/.cache/rnn_rbm)")
    parser.add_argument("--out_dir", type=Path, default=Path("results"), help="default results/")
    parser.add_argument("--quiet", action="store_true", help="only warnings and errors, no progress bars")
    parser.add_argument("--verbose", action="store_true", help="let TensorFlow's own log lines and Python's "
                        "warnings through (hidden by default)")

    def main(args: argparse.Namespace) -> None:
        from rnn_rbm.transcription import require_extra

        require_extra()
        out_dir = _writable_dir(args.out_dir, "--out_dir")
        from rnn_rbm.data.dataset import Loading
        from rnn_rbm.tasks.transcribe import TranscribeRequest, transcribe_task

        # --per_step alone: the acoustic model alone, decided step by step (greedy with alpha 0).
        name = args.decoder or ("greedy" if args.prior is not None or args.per_step else "threshold")
        alpha = 0.0 if args.per_step and args.prior is None and args.alpha is None else args.alpha
        given = {"alpha": alpha, "level": args.level, "candidates": args.candidates, "width": args.width,
                 "weight": args.hmm_weight, "per_step": args.per_step or None}
        decoder = DecoderConfig(name=name, **{k: v for k, v in given.items() if v is not None})
        import shlex

        request = TranscribeRequest(args.audio, args.acoustic, out_dir, args.prior, decoder, args.step_seconds,
                                    command=shlex.join(["python", *args.command_line]))
        done = transcribe_task(request, Loading(args.cache_dir, progress=not args.quiet))
        for transcription in done.files:
            print(transcription.midi)
        log.info("results page %s", done.page)

    _run(main, parser, argv)


def _harmonise(args: argparse.Namespace) -> None:
    """rnn_rbm_evaluate.py CKPT --harmonise: the harmonisation table of one checkpoint (rows:
    Bach, the counting baseline, the checkpoint's), then one JSON line; a record beside CKPT."""
    import json

    from rnn_rbm.engine.checkpoint import resolve
    from rnn_rbm.outputs.recordtables import harmonisation
    from rnn_rbm.tasks.harmonise import HarmoniseSettings, harmonise_task

    for flag in ("data", "split", "reference", "samples"):
        if getattr(args, flag) is not None:
            raise UserError(f"--{flag} does not go with --harmonise, which reads the held-out Bach chorales")
    record = _new_record(args)
    settings = HarmoniseSettings(seed=args.seed if args.seed is not None else 0)
    record.settings = {**dataclasses.asdict(settings), "checkpoints": [str(args.checkpoint)]}
    harmonised = harmonise_task([str(args.checkpoint)], settings, record=record, progress=not args.quiet)
    record.results.update(harmonised.to_json())
    path = _write_record(record, args, resolve(args.checkpoint).parent, "harmonise")
    written = record.to_json()
    print(harmonisation([(str(path), written)]))
    print(json.dumps({k: written["results"][k] for k in ("chorales", "new_tunes", "rows", "targets")}))


def _samples_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--samples", nargs="+", type=Path, metavar="DIR_OR_FILE", help="measure these "
                        "MIDI files (or every MIDI file of these folders) instead of a checkpoint: notes per "
                        "frame, held notes, pitches, scale, empty beats, drift, each against --reference")
    parser.add_argument("--reference", help="with --samples: the data to compare with: 'bach' (default), a "
                        "folder of MIDI files or a benchmark .json")
    parser.add_argument("--steps_per_quarter", type=_count(1), help="with --samples: frames per quarter note "
                        "when reading MIDI (default 2); the model's own, e.g. 1 beside jsb_chorales.json")


def _print_evaluation(args: argparse.Namespace, measured) -> None:
    """Prints a checkpoint's figures (tasks.evaluate.Measured) as a few lines, then one JSON line."""
    import json
    import math

    result, config, chosen = measured.evaluation, measured.config, measured.config.evaluate
    if hasattr(result, "lines"):  # a model that says its own figures (the acoustic model: notes given audio)
        print(f"{args.checkpoint} on {config.data_source}, {measured.split} split, {result.frames} audio frames")
        print("\n".join(result.lines()))
        print(json.dumps(measured.figures()))
        return
    if measured.tokens:
        print(f"{args.checkpoint} on {config.data_source}, {measured.split} split, {result.tokens} "
              f"{config.tokens.representation} tokens")
        print(f"log-likelihood per token   {-result.nll:8.3f} nats  (exact; {result.seconds:.0f} s)")
        print(f"vocabulary                 {' x '.join(map(str, result.sizes))} words "
              f"({', '.join(result.fields)}); {result.unknown} tokens hold a word it lacks (read as <unk>)")
        print(f"frame log-likelihood and accuracy: not defined for the {config.model.family}, a model of "
              "tokens, not of frames")
        print(json.dumps(measured.figures()))
        return
    acc = result.accuracy
    print(f"{args.checkpoint} on {config.data_source}, {measured.split} split, {result.frames} frames")
    how = "exact" if measured.exact else f"AIS {chosen.ais_chains} chains x {chosen.ais_temperatures} temperatures"
    print(f"log-likelihood per frame   {-result.nll:8.3f} nats  (se {result.nll_se:.3f}; {how}, "
          f"{result.seconds:.0f} s)")
    if math.isfinite(result.log_z_over_known):
        print(f"  mean log(Z / Z of the known training frames) {result.log_z_over_known:.4f} nats: the share "
              "of Z the chains found outside them (near 0: nll_se cannot see what they missed)")
    print(f"expected frame accuracy    {100 * acc.expected:8.2f} %     (se {100 * acc.expected_se:.2f}; "
          f"the paper's: each frame's expected TP / (TP + max(FP, FN)), averaged over frames; "
          f"{chosen.acc_draws} draws " + ("of each frame" if measured.exact else "resampled from the AIS chains")
          + ")")
    print(f"TP / (TP + FP + FN)        {100 * acc.tp_fp_fn:8.2f} %     (se {100 * acc.tp_fp_fn_se:.2f}; "
          "each frame's, averaged over frames: a wrong note counts twice)")
    print(f"pooled frame accuracy      {100 * acc.pooled:8.2f} %     (se {100 * acc.pooled_se:.2f}; "
          "sum TP / sum (TP + FP + FN) over all frames, as MIREX)")
    print(f"reference: uniform frames  {result.uniform_ll:8.3f} nats")
    print(f"reference: independent pitches fitted on train {result.bernoulli_ll:8.3f} nats "
          f"(add-{chosen.reference_smoothing:g} smoothing)")
    print(f"reference: each frame forecast as the one before it: accuracy {100 * result.previous_frame_acc:.2f} %")
    print(json.dumps(measured.figures()))


def _evaluate_samples(args: argparse.Namespace) -> None:
    """rnn_rbm_evaluate.py --samples: statistics of generated MIDI against a reference data set,
    a table and one JSON line."""
    if args.samples is None:
        raise UserError("nothing to measure: give a checkpoint (CKPT) to evaluate a model, or --samples "
                        "DIR_OR_FILE ... to measure generated MIDI")
    if args.checkpoint is not None:
        raise UserError(f"--samples measures MIDI files, {args.checkpoint} is a model: give one of the two")
    if args.data is not None:
        raise UserError("--data is for a checkpoint; with --samples, give the data to compare with as --reference")
    import json

    from rnn_rbm.outputs import statstable
    from rnn_rbm.tasks.evaluate import samples_task

    measured = samples_task(args.samples, args.reference or "bach", args.split, args.steps_per_quarter,
                            _loading(args))
    skipped = f", {len(measured.skipped)} skipped" if measured.skipped else ""
    print(f"{measured.pieces} pieces from --samples{skipped}, against {measured.reference_label}; "
          f"{measured.steps_per_quarter} frames per quarter note")
    print(statstable.comparison_table(measured.report, measured.reference_label))
    print(json.dumps({**measured.report.to_json(), "reference": measured.reference_label,
                      "skipped": [name for name, _ in measured.skipped]}))
