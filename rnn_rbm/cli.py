"""Command lines of the three entry points: the only place that reads argv.

Flags are parsed before TensorFlow is imported, so `--help` and a bad flag
answer at once. A UserError (bad file, flag or checkpoint) ends in one line
on stderr and exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Callable, Sequence

from rnn_rbm.config import FAMILIES, GenerateConfig, RunConfig, family_config, replace_section
from rnn_rbm.errors import RunInterrupted, UserError

log = logging.getLogger("rnn_rbm")

DEFAULT_CHECKPOINT_DIR = Path("parameter_checkpoints")
# Generation is a long chain of tiny operations (one frame of 88 x 150 at a time): split
# across threads, each waits for the slowest, and on a machine with any other load one
# sample was drawn up to 2.6x slower from run to run. One thread: as fast on an idle
# machine, and steady under load (README, "Speed").
SAMPLER_THREADS = 1
INITIAL_CHECKPOINT = "initial.ckpt"


def _accuracy_validator(state, dataset, config):
    from rnn_rbm.train import accuracy_validator

    return accuracy_validator(state, dataset, config)


def _likelihood_validator(state, dataset, config):
    from rnn_rbm.evaluate import make_validator

    return make_validator(state.model, dataset.train, dataset.valid, config.evaluate, config.seed)


# --select_metric: the validation each one needs, (TrainState, Dataset, RunConfig) -> () -> figures.
VALIDATORS = {"valid_acc": _accuracy_validator, "valid_nll": _likelihood_validator}


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


def _common(parser: argparse.ArgumentParser, seed_default: str = "0, or the --init checkpoint's") -> None:
    parser.add_argument("--seed", type=_count(0), help=f"random seed (default {seed_default})")
    parser.add_argument("--quiet", action="store_true", help="only warnings and errors, no progress bars")
    parser.add_argument("--verbose", action="store_true", help="let TensorFlow's own log lines and Python's "
                        "warnings through (hidden by default)")


def _data_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="'bach' (music21's chorales, the default), a folder of MIDI "
                        "files, or a benchmark .json such as ../shared/data/jsb_chorales.json")
    parser.add_argument("--steps_per_quarter", type=_count(1), help="frames per quarter note "
                        "(default 2, eighth notes; 4 = sixteenths). For benchmark JSON: the length of its "
                        "frames, used when writing MIDI (JSB 1, Nottingham 2)")
    parser.add_argument("--out_of_range", choices=["octave", "drop"], help="notes outside the 88 keys: "
                        "move them by octaves into range (default) or drop them")
    parser.add_argument("--cache_dir", type=Path, help="where converted rolls are cached "
                        "(default $RNN_RBM_CACHE or ~/.cache/rnn_rbm)")
    parser.add_argument("--workers", type=_count(1), help="processes converting MIDI (default: all cores)")
    parser.add_argument("--checkpoint_dir", type=Path, default=DEFAULT_CHECKPOINT_DIR,
                        help=f"where checkpoints go (default {DEFAULT_CHECKPOINT_DIR})")


def _model_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=list(FAMILIES), help="which model: " + ", ".join(
                        f"{name} ({MODEL_HELP[name]})" for name in FAMILIES) + "; default rnn_rbm, or the "
                        "--init checkpoint's")
    parser.add_argument("--n_hidden", type=_count(1), help="hidden units of the RBM or NADE (default 150)")
    parser.add_argument("--n_recurrent", type=_count(1), help="RNN units (default 100; the LSTM's 200)")


MODEL_HELP = {"rnn_rbm": "the RNN-RBM, an RBM over each frame", "rnn_nade": "the RNN-NADE, a NADE over each "
              "frame, exact likelihood", "lstm": "an LSTM with independent Bernoulli outputs"}


def _run(main: Callable[[argparse.Namespace], None], parser: argparse.ArgumentParser,
         argv: Sequence[str] | None, intra_op_threads: int | None = None) -> None:
    args = parser.parse_args(argv)
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
    from rnn_rbm import distribute

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


def _load_data(args: argparse.Namespace, config: RunConfig):
    from rnn_rbm.data import load_dataset

    dataset = load_dataset(config.data_source, config.data, args.cache_dir, args.workers,
                           progress=not args.quiet)
    log.info("data %s", dataset.summary())
    return dataset


def _base_config(args: argparse.Namespace, base: RunConfig | None = None) -> RunConfig:
    config = base or RunConfig()
    config = replace_section(config, "data", steps_per_quarter=args.steps_per_quarter,
                             out_of_range=args.out_of_range)
    if args.data is not None:
        # Stored absolute, so that a later run from another folder finds the same files.
        source = args.data if args.data == "bach" else str(Path(args.data).expanduser().resolve())
        config = dataclasses.replace(config, data_source=source)
    if args.seed is not None:
        config = dataclasses.replace(config, seed=args.seed)
    return config


def pretrain_main(argv: Sequence[str] | None = None) -> None:
    """weight_initializations.py: CD-k pretraining of the RBM, writes initial.ckpt."""
    parser = argparse.ArgumentParser(prog="weight_initializations.py", description=
                                     "Pretrain the RBM (W, bv, bh) by CD-k on all training frames (with "
                                     "--model rnn_nade: the NADE by its likelihood); writes "
                                     "CHECKPOINT_DIR/initial.ckpt for rnn_rbm_train.py.")
    _data_flags(parser)
    _model_flags(parser)
    parser.add_argument("--epochs", type=_count(1), help="passes over the frames (default 10)")
    parser.add_argument("--cd_k", type=_count(1), help="Gibbs steps of CD-k (default 15)")
    parser.add_argument("--learning_rate", type=_positive_float, help="Adam step size (default 0.005)")
    parser.add_argument("--batch_size", type=_count(1), help="frames per update (default 128)")
    _common(parser, seed_default="0")

    def main(args: argparse.Namespace) -> None:
        from rnn_rbm.models import registry

        if not registry.model_class(args.model or "rnn_rbm").PRETRAINS:
            raise UserError(f"the {args.model} has no pretraining step: train it from the start with "
                            f"rnn_rbm_train.py N --model {args.model}")
        config = _base_config(args, family_config(args.model or "rnn_rbm"))
        config = replace_section(config, "model", n_hidden=args.n_hidden, n_recurrent=args.n_recurrent)
        config = replace_section(config, "pretrain", epochs=args.epochs, cd_k=args.cd_k,
                                 learning_rate=args.learning_rate, batch_size=args.batch_size)
        out_dir = _writable_dir(args.checkpoint_dir, "--checkpoint_dir")
        dataset = _load_data(args, config)

        import numpy as np
        import tensorflow as tf
        from rnn_rbm import checkpoint
        from rnn_rbm.data import all_frames
        from rnn_rbm.models import registry
        from rnn_rbm.pretrain import pretrain

        tf_rng = tf.random.Generator.from_seed(config.seed)
        model = registry.build(config, tf_rng)
        frames = all_frames(dataset.train)
        how = f"CD-{config.pretrain.cd_k}" if config.model.family == "rnn_rbm" else "exact likelihood"
        log.info("pretraining the %s's frame distribution on %d frames: %s, %d epochs", config.model.family,
                 len(frames), how, config.pretrain.epochs)
        pretrain(model, frames, config.pretrain, np.random.default_rng(config.seed), tf_rng,
                 progress=not args.quiet)
        prefix = checkpoint.save(out_dir / INITIAL_CHECKPOINT, config, model=model)
        print(prefix)

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
    parser.add_argument("--checkpoint_every", type=_count(1), help="write a checkpoint every N epochs "
                        "(default 10; always at the end)")
    parser.add_argument("--keep_last", type=_count(0), help="epoch checkpoints to keep besides best.ckpt "
                        "(default 3; 0 keeps all)")
    parser.add_argument("--cd_k", type=_count(1), help="Gibbs steps of CD-k (default 15)")
    parser.add_argument("--negative_start", choices=["data", "zeros"], help="where CD-k's negative "
                        "chains start: the all-zero frame, where generation starts (default), or the true "
                        "frame, as in the paper")
    parser.add_argument("--learning_rate", type=_positive_float, help="Adam step size (default 0.003)")
    parser.add_argument("--lr_schedule", choices=["constant", "plateau"], help="'plateau' halves the "
                        "learning rate after 5 validations without improvement (default constant)")
    parser.add_argument("--clip_norm", type=_non_negative_float, help="clip the gradient's global norm "
                        "(default 10; 0 turns it off)")
    parser.add_argument("--batch_size", type=_count(1), help="pieces per update (default 16)")
    parser.add_argument("--validate_every", type=_count(1), help="epochs between validations (default 5; always at the last epoch)")
    parser.add_argument("--select_metric", choices=sorted(VALIDATORS), help="the validation figure that "
                        "picks best.ckpt and drives early stopping (default valid_acc): valid_acc, the frame "
                        "accuracy of one draw; valid_nll, the log-likelihood per frame by a quick AIS (also "
                        "reports valid_acc)")
    parser.add_argument("--select_min_delta", type=_non_negative_float, help="a validation is better only "
                        "when it beats the best by more than this (default 0.003, twice valid_acc's measured "
                        "noise)")
    parser.add_argument("--early_stop_patience", type=_count(0), help="stop after N validations without "
                        "improvement (default 0: never)")
    parser.add_argument("--strategy", choices=["none", "mirrored", "multiworker"], default="none",
                        help="mirrored: split each batch across every GPU of this machine "
                        "(tf.distribute.MirroredStrategy); multiworker: across the processes that the "
                        "TF_CONFIG environment variable names, each running this same command "
                        "(tf.distribute.MultiWorkerMirroredStrategy; the chief, worker 0, writes the "
                        "checkpoints); default none")
    _common(parser)

    def main(args: argparse.Namespace) -> None:
        out_dir = _writable_dir(args.checkpoint_dir, "--checkpoint_dir")

        from rnn_rbm import distribute

        strategy = distribute.make_strategy(args.strategy)
        if distribute.is_chief(strategy):
            return _train(args, out_dir, strategy)
        import shutil
        import tempfile

        # The same run on a copy of the folder (its initial.ckpt, or the checkpoint to resume),
        # its files thrown away at the end: the chief writes the real ones.
        with tempfile.TemporaryDirectory(prefix="rnn_rbm_worker_") as scratch:
            shutil.copytree(out_dir, scratch, dirs_exist_ok=True)
            _train(args, Path(scratch), strategy)

    def _train(args: argparse.Namespace, out_dir: Path, strategy) -> None:
        from rnn_rbm import checkpoint, distribute
        from rnn_rbm.train import TrainState, train

        if args.resume:
            prefix, config = _resume_config(args, out_dir)
            epochs_done = checkpoint.progress(prefix)[0]
            if epochs_done >= args.num_epochs:
                log.info("%s is at epoch %d already: nothing to train (ask for more epochs)", prefix,
                         epochs_done)
                print(prefix)
                return
        else:
            config, init = _fresh_config(args, out_dir)
        dataset = _load_data(args, config)
        state = distribute.replicate(TrainState.create(config), config, strategy)
        if strategy is not None:
            log.info("each batch split between %d replicas (--strategy %s)", strategy.num_replicas_in_sync,
                     args.strategy)
        if args.resume:
            checkpoint.restore(prefix, **state.trackables())
            if args.learning_rate is not None:
                state.optimizer.learning_rate.assign(args.learning_rate)
            log.info("resuming %s at epoch %d", prefix, epochs_done + 1)
        elif init is not None:
            checkpoint.restore(init, model=state.model)
        else:
            from rnn_rbm.data import all_frames
            from rnn_rbm.pretrain import set_visible_bias_from_data

            # No pretraining: at least the note frequencies are right from the first step.
            set_visible_bias_from_data(state.model, all_frames(dataset.train))
        loss = f"CD-{config.train.cd_k}" if config.model.family == "rnn_rbm" else "exact likelihood"
        log.info("training the %s to epoch %d: %s, %d pieces per batch", config.model.family, args.num_epochs,
                 loss, config.train.batch_size)
        validate = VALIDATORS[config.train.select_metric](state, dataset, config)
        history = train(state, dataset, config, args.num_epochs, out_dir, progress=not args.quiet,
                        validate=validate)
        if history:
            print(out_dir / f"epoch_{history[-1]['epoch']}.ckpt")

    _run(main, parser, argv)


def _train_changes(args: argparse.Namespace) -> dict:
    return dict(cd_k=args.cd_k, negative_start=args.negative_start, learning_rate=args.learning_rate,
                lr_schedule=args.lr_schedule, clip_norm=args.clip_norm, batch_size=args.batch_size,
                select_min_delta=args.select_min_delta,
                checkpoint_every=args.checkpoint_every, keep_last=args.keep_last,
                validate_every=args.validate_every, select_metric=args.select_metric,
                early_stop_patience=args.early_stop_patience)


def _fresh_config(args: argparse.Namespace, out_dir: Path) -> tuple[RunConfig, Path | None]:
    """Returns: the config of a new run, and the checkpoint whose weights it starts from."""
    from rnn_rbm import checkpoint

    init = args.init or out_dir / INITIAL_CHECKPOINT
    base = None
    if checkpoint.exists(init) and args.init is None and args.model not in (None, checkpoint.load_config(init).model.family):
        log.info("%s holds a pretrained %s, not a %s: starting from random weights", init,
                 checkpoint.load_config(init).model.family, args.model)
    elif checkpoint.exists(init):
        held = checkpoint.load_config(init)
        _check_model_flags(args, held, init)
        # The weights fix the data and model settings; training settings are this run's own.
        base = RunConfig(data_source=held.data_source, data=held.data, model=held.model,
                         pretrain=held.pretrain, seed=held.seed)
        log.info("starting from %s (pretrained on %s)", init, base.data_source)
    elif args.init is not None:
        checkpoint.load_config(init)  # raises the clear "no checkpoint" error
    else:
        log.info("no %s: starting from random weights (run weight_initializations.py to pretrain)", init)
    earlier = checkpoint.newest(out_dir)
    if earlier is not None:
        log.warning("%s holds an earlier run (up to epoch %d); this one starts at epoch 1 and replaces "
                    "its checkpoints of the same names (--resume goes on with it instead)", out_dir,
                    checkpoint.progress(earlier)[0])
    if base is not None:
        # The family's training defaults, the pretrained weights' data and sizes.
        base = dataclasses.replace(family_config(base.model.family), data_source=base.data_source,
                                   data=base.data, model=base.model, pretrain=base.pretrain, seed=base.seed)
    config = _base_config(args, base or family_config(args.model or "rnn_rbm"))
    config = replace_section(config, "model", n_hidden=args.n_hidden, n_recurrent=args.n_recurrent)
    config = replace_section(config, "train", **_train_changes(args))
    return config, init if base is not None else None


def _resume_config(args: argparse.Namespace, out_dir: Path) -> tuple[Path, RunConfig]:
    """Returns: the newest checkpoint of the run in `out_dir` and the config to go on with:
    its own, with any training flags given on this command line."""
    from rnn_rbm import checkpoint

    if args.init is not None:
        raise UserError("--resume goes on from the newest checkpoint in --checkpoint_dir; "
                        "drop --init (or drop --resume to start a new run from --init)")
    prefix = checkpoint.newest(out_dir)
    if prefix is None:
        raise UserError(f"--resume: no training checkpoint in {out_dir}; start a run without --resume "
                        "(or point --checkpoint_dir at the run's folder)")
    held = checkpoint.load_config(prefix)
    _check_model_flags(args, held, prefix)
    given = {"--data": args.data, "--steps_per_quarter": args.steps_per_quarter,
             "--out_of_range": args.out_of_range, "--seed": args.seed}
    for flag, value in given.items():
        if value is not None:
            raise UserError(f"{flag}: a resumed run keeps the data and seed of {prefix}; drop the flag")
    changes = {k: v for k, v in _train_changes(args).items() if v is not None}
    for key, value in changes.items():
        log.info("resuming with --%s %s (was %s)", key, value, getattr(held.train, key))
    return prefix, replace_section(held, "train", **changes)


def _check_model_flags(args: argparse.Namespace, base: RunConfig, init: Path) -> None:
    for flag in ("model", "n_hidden", "n_recurrent"):
        wanted, held = getattr(args, flag), getattr(base.model, "family" if flag == "model" else flag)
        if wanted is not None and wanted != held:
            raise UserError(f"--{flag} {wanted}, but {init} has {held}; drop the flag, "
                            "or pretrain again with it")


def generate_main(argv: Sequence[str] | None = None) -> None:
    """rnn_rbm_generate.py: draws new MIDI from a checkpoint, with WAV, PNG and a results page."""
    defaults = GenerateConfig()
    parser = argparse.ArgumentParser(prog="rnn_rbm_generate.py", description=
                                     "Write new MIDI files drawn from a trained RNN-RBM, and "
                                     "OUT_DIR/index.html, a page of every run written there.")
    parser.add_argument("checkpoint", type=Path, metavar="CKPT",
                        help="checkpoint prefix, e.g. parameter_checkpoints/epoch_200.ckpt")
    parser.add_argument("--num_samples", type=_count(1), default=defaults.num_samples,
                        help=f"pieces to write (default {defaults.num_samples})")
    parser.add_argument("--num_steps", type=_count(1), help=f"new frames per piece (default: the "
                        f"--melody's length, else {defaults.num_steps})")
    parser.add_argument("--gibbs_steps", type=_count(1), default=defaults.gibbs_steps,
                        help=f"Gibbs steps per frame (default {defaults.gibbs_steps})")
    parser.add_argument("--temperature", type=_positive_float, default=defaults.temperature,
                        help="divides the RBM's energy while sampling: 1 is the model as trained "
                        "(default), above 1 wilder, below 1 tamer")
    parser.add_argument("--primer", type=Path, help="MIDI file to continue")
    parser.add_argument("--melody", type=Path, help="MIDI file to harmonise: its top voice is held "
                        "in every new frame, nothing sounds above it, the model fills in the rest")
    parser.add_argument("--tempo", type=_positive_float, default=defaults.tempo_bpm,
                        help=f"quarter notes per minute in the MIDI (default {defaults.tempo_bpm:g})")
    parser.add_argument("--audio", action="store_true", help="also write a WAV beside each MIDI "
                        "(FluidSynth where installed, see README)")
    parser.add_argument("--sound_font", type=Path, help="General MIDI .sf2 font for --audio "
                        "(default: the system's FluidR3_GM, else pretty_midi's own)")
    parser.add_argument("--plot", action="store_true", help="also write a piano-roll PNG beside each MIDI")
    parser.add_argument("--out_dir", type=Path, default=Path("results"), help="default results/")
    _common(parser, seed_default="a fresh one, printed so that it can be repeated")

    def main(args: argparse.Namespace) -> None:
        from rnn_rbm import audio, report

        out_dir = _writable_dir(args.out_dir, "--out_dir")
        report.check_page(out_dir)
        synth = None
        if args.audio:
            synth, notice = audio.find_synth(args.sound_font)
            if notice:
                log.warning("notice: %s", notice)
        elif args.sound_font is not None:
            raise UserError("--sound_font is for --audio; add --audio, or drop --sound_font")

        import tensorflow as tf
        from rnn_rbm import checkpoint
        from rnn_rbm.generate import generate, run_name, write_samples
        from rnn_rbm.guide import top_voice
        from rnn_rbm.models import registry
        from rnn_rbm.pianoroll import mean_polyphony

        config = checkpoint.load_config(args.checkpoint)
        primer = _read_roll(args.primer, "--primer", config)
        melody = _read_roll(args.melody, "--melody", config)
        if melody is not None:
            melody = top_voice(melody)
        num_steps = args.num_steps or (len(melody) if melody is not None else defaults.num_steps)
        settings = GenerateConfig(gibbs_steps=args.gibbs_steps, num_steps=num_steps,
                                  num_samples=args.num_samples, tempo_bpm=args.tempo,
                                  temperature=args.temperature)
        seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
        rng = tf.random.Generator.from_seed(seed)
        model = registry.build(config, rng)
        checkpoint.restore(args.checkpoint, model=model)
        how = "exact draws" if model.EXACT else f"{settings.gibbs_steps} Gibbs steps each"
        log.info("drawing %d x %d frames from the %s, %s, temperature %g, seed %d (--seed %d repeats it)",
                 settings.num_samples, settings.num_steps, config.model.family, how, settings.temperature, seed,
                 seed)
        rolls = generate(model, settings, rng, primer, melody, progress=not args.quiet)
        primer_steps = 0 if primer is None else len(primer)
        run = run_name(out_dir)
        if synth is not None:
            log.info("rendering WAV with %s", synth.describe())
        files = write_samples(rolls, out_dir, config.data, settings, run, synth, args.plot, primer_steps, melody)
        for sample in files:
            print(sample.midi)
        log.info("mean polyphony %.2f notes per sounding frame", mean_polyphony(rolls))
        record = _run_record(args, run, seed, settings, config, synth, files, rolls, primer_steps)
        _add_sample_stats(record, rolls[:, primer_steps:], config, out_dir, args.plot)
        report.write_manifest(out_dir, record)
        log.info("results page %s", report.rebuild_index(out_dir))

    _run(main, parser, argv, intra_op_threads=SAMPLER_THREADS)


def _finite_or_none(value: float) -> float | None:
    """Returns: value, or None (JSON null) where it is nan or infinite."""
    import math

    return value if math.isfinite(value) else None


def _read_roll(path: Path | None, flag: str, config: RunConfig):
    """Returns: the MIDI file at `path` as a roll on the checkpoint's grid (None without a path)."""
    if path is None:
        return None
    from rnn_rbm.pianoroll import midi_to_roll

    try:
        roll, _ = midi_to_roll(path, config.data.steps_per_quarter, config.data.lowest_pitch,
                               config.data.num_pitches, config.data.out_of_range)
    except UserError as exc:
        raise UserError(f"{flag} {path}: {exc}") from None
    return roll


def _run_record(args: argparse.Namespace, run: str, seed: int, settings: GenerateConfig, config: RunConfig,
                synth, files, rolls, primer_steps: int) -> dict:
    """Returns: the results page's record of one generation run (see report.write_manifest)."""
    import math
    import shlex
    import time

    from rnn_rbm.pianoroll import mean_polyphony

    command = ["python", "rnn_rbm_generate.py", str(args.checkpoint), "--seed", str(seed),
               "--num_samples", str(settings.num_samples), "--num_steps", str(settings.num_steps),
               "--gibbs_steps", str(settings.gibbs_steps), "--temperature", f"{settings.temperature:g}",
               "--tempo", f"{settings.tempo_bpm:g}"]
    for flag, path in (("--primer", args.primer), ("--melody", args.melody)):
        if path is not None:
            command += [flag, str(path)]
    samples = []
    for sample, roll in zip(files, rolls):
        polyphony = mean_polyphony([roll[primer_steps:]])
        samples.append({"midi": sample.midi.name, "wav": sample.wav and sample.wav.name,
                        "png": sample.png and sample.png.name, "frames": int(len(roll)),
                        "polyphony": round(polyphony, 2) if math.isfinite(polyphony) else None})
    return {"run": run, "created": time.strftime("%Y-%m-%d %H:%M:%S"), "checkpoint": str(args.checkpoint),
            "data": config.data_source, "seed": seed, "settings": dataclasses.asdict(settings),
            "primer": args.primer and str(args.primer), "melody": args.melody and str(args.melody),
            "synth": synth and synth.describe(), "command": shlex.join(command), "samples": samples}


def _add_sample_stats(record: dict, rolls, config: RunConfig, out_dir: Path, plot: bool) -> None:
    """Adds to a generation run's record the statistics of its generated frames (rolls:
    (samples, steps, V), primer left out) against the checkpoint's training pieces when the
    roll cache holds them (a conversion would cost more than the generation), and with
    `plot` a picture of them, one panel per measure."""
    from rnn_rbm import plots, samplestats
    from rnn_rbm.data import load_cached

    dataset = load_cached(config.data_source, config.data)
    reference = dataset.train if dataset is not None and dataset.train else None
    result = samplestats.report(rolls, reference, config.data.steps_per_quarter, config.data.lowest_pitch)
    label = f"{dataset.label}, training pieces" if reference else None
    if reference is None:
        log.info("sample statistics without a reference: %s is not in the roll cache", config.data_source)
    record["sample_stats"] = {**result.to_json(), "reference": label}
    for sample, values in zip(record["samples"], result.pieces_json()):
        sample["stats"] = values
    if plot:
        labels = {m.key: m.label for m in samplestats.MEASURES}
        title = f"run {record['run']}" + (f", against {label}" if label else "")
        png = plots.measure_histograms_png(out_dir / f"{record['run']}_stats.png", result.samples.values, labels,
                                           result.reference and result.reference.values, title)
        record["stats_png"] = png.name


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
                                     "frame accuracy), acc_pooled, log_z_over_known, frames. With --samples instead of "
                                     "CKPT: statistics of generated MIDI against a reference data set.")
    parser.add_argument("checkpoint", type=Path, metavar="CKPT", nargs="?",
                        help="checkpoint prefix, e.g. parameter_checkpoints/best.ckpt")
    parser.add_argument("--data", help="data to measure (default: the checkpoint's own), e.g. "
                        "../shared/data/nottingham.json")
    parser.add_argument("--split", choices=["train", "valid", "test"],
                        help="which pieces (default test; a MIDI folder or bach has train and valid only; "
                        "as --reference: all its pieces where it has no test split)")
    _samples_flags(parser)
    parser.add_argument("--chains", type=_count(2), default=defaults.ais_chains,
                        help=f"AIS chains per frame (default {defaults.ais_chains})")
    parser.add_argument("--temperatures", type=_count(1), default=defaults.ais_temperatures,
                        help=f"AIS intermediate distributions (default {defaults.ais_temperatures})")
    parser.add_argument("--base", choices=["frame", "data"], default=defaults.ais_base,
                        help="AIS base: independent pitches with each frame's own visible bias (default) "
                        "or with the training base rates")
    parser.add_argument("--batch_frames", type=_count(1), default=defaults.ais_batch_frames,
                        help=f"frames whose AIS chains run together (default {defaults.ais_batch_frames})")
    parser.add_argument("--draws", type=_count(1), default=defaults.acc_draws,
                        help="draws of every frame (from its AIS chains, resampled by importance weight) "
                        f"averaged in the accuracy (default {defaults.acc_draws})")
    parser.add_argument("--cache_dir", type=Path, help="where converted rolls are cached "
                        "(default $RNN_RBM_CACHE or ~/.cache/rnn_rbm)")
    parser.add_argument("--workers", type=_count(1), help="processes converting MIDI (default: all cores)")
    _common(parser, seed_default="0")

    def main(args: argparse.Namespace) -> None:
        if args.samples is not None or args.checkpoint is None:
            return _evaluate_samples(args)
        for flag in ("reference", "steps_per_quarter"):
            if getattr(args, flag) is not None:
                raise UserError(f"--{flag} is for --samples; a checkpoint is measured on its own grid "
                                "and on --data")
        args.split = args.split or "test"

        import json
        import math

        import tensorflow as tf
        from rnn_rbm import checkpoint
        from rnn_rbm.evaluate import evaluate
        from rnn_rbm.models import registry

        held = checkpoint.load_config(args.checkpoint)
        config = dataclasses.replace(held, seed=0) if args.seed is None else held
        args.steps_per_quarter = args.out_of_range = None  # frames as the checkpoint's data settings make them
        config = _base_config(args, config)
        settings = dataclasses.replace(
            config.evaluate, ais_chains=args.chains, ais_temperatures=args.temperatures, ais_base=args.base,
            ais_batch_frames=args.batch_frames, acc_draws=args.draws)
        dataset = _load_data(args, config)
        rolls = getattr(dataset, args.split)
        if not rolls:
            raise UserError(f"--data {config.data_source} has no {args.split} pieces; "
                            "choose another --split")
        rng = tf.random.Generator.from_seed(config.seed)
        model = registry.build(config, rng)
        checkpoint.restore(args.checkpoint, model=model)
        how = ("exact likelihood" if model.EXACT else f"AIS {settings.ais_chains} chains x "
               f"{settings.ais_temperatures} temperatures (base: {settings.ais_base})")
        log.info("measuring %d %s frames of the %s: %s, accuracy from %d draws", sum(map(len, rolls)),
                 args.split, config.model.family, how, settings.acc_draws)
        result = evaluate(model, dataset.train, rolls, settings, rng, progress=not args.quiet)
        print(f"{args.checkpoint} on {config.data_source}, {args.split} split, {result.frames} frames")
        acc = result.accuracy
        how = "exact" if model.EXACT else f"AIS {settings.ais_chains} chains x {settings.ais_temperatures} temperatures"
        print(f"log-likelihood per frame   {-result.nll:8.3f} nats  (se {result.nll_se:.3f}; {how}, "
              f"{result.seconds:.0f} s)")
        if math.isfinite(result.log_z_over_known):
            print(f"  mean log(Z / Z of the known training frames) {result.log_z_over_known:.4f} nats: the share "
                  "of Z the chains found outside them (near 0: nll_se cannot see what they missed)")
        print(f"expected frame accuracy    {100 * acc.expected:8.2f} %     (se {100 * acc.expected_se:.2f}; "
              f"the paper's: each frame's expected TP / (TP + FP + FN), averaged over frames; "
              f"{settings.acc_draws} draws " + ("of each frame" if model.EXACT else "resampled from the AIS chains")
              + ")")
        print(f"pooled frame accuracy      {100 * acc.pooled:8.2f} %     (se {100 * acc.pooled_se:.2f}; "
              "sum TP / sum (TP + FP + FN) over all frames)")
        print(f"reference: uniform frames  {result.uniform_ll:8.3f} nats")
        print(f"reference: independent pitches fitted on train {result.bernoulli_ll:8.3f} nats "
              f"(add-{settings.reference_smoothing:g} smoothing)")
        print(json.dumps({"nll": result.nll, "nll_se": result.nll_se, "acc": acc.expected,
                          "acc_pooled": acc.pooled, "log_z_over_known": _finite_or_none(result.log_z_over_known),
                          "frames": result.frames}))

    _run(main, parser, argv)


def _samples_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--samples", nargs="+", type=Path, metavar="DIR_OR_FILE", help="measure these "
                        "MIDI files (or every MIDI file of these folders) instead of a checkpoint: notes per "
                        "frame, held notes, pitches, scale, empty beats, drift, each against --reference")
    parser.add_argument("--reference", help="with --samples: the data to compare with: 'bach' (default), a "
                        "folder of MIDI files or a benchmark .json")
    parser.add_argument("--steps_per_quarter", type=_count(1), help="with --samples: frames per quarter note "
                        "when reading MIDI (default 2); the model's own, e.g. 1 beside jsb_chorales.json")


def _evaluate_samples(args: argparse.Namespace) -> None:
    """rnn_rbm_evaluate.py --samples: statistics of generated MIDI against a reference data set,
    a table and one JSON line."""
    import json

    from rnn_rbm import samplestats, statstable
    from rnn_rbm.config import DataConfig
    from rnn_rbm.data import load_dataset
    from rnn_rbm.sources import convert_files, midi_files

    if args.samples is None:
        raise UserError("nothing to measure: give a checkpoint (CKPT) to evaluate a model, or --samples "
                        "DIR_OR_FILE ... to measure generated MIDI")
    if args.checkpoint is not None:
        raise UserError(f"--samples measures MIDI files, {args.checkpoint} is a model: give one of the two")
    if args.data is not None:
        raise UserError("--data is for a checkpoint; with --samples, give the data to compare with as --reference")
    data = DataConfig(steps_per_quarter=args.steps_per_quarter or DataConfig().steps_per_quarter)
    paths = []
    for given in args.samples:
        if not given.exists() and not given.is_symlink():
            raise UserError(f"--samples {given}: no such file or folder")
        paths += midi_files(given) if given.is_dir() else [given]
    read = convert_files(paths, [str(p) for p in paths], data, args.workers, progress=not args.quiet)
    if not read.rolls:
        raise UserError(f"--samples {' '.join(map(str, args.samples))}: no usable MIDI file"
                        f"{' (see the messages above)' if read.skipped else ''}")
    reference_spec = args.reference or "bach"
    dataset = load_dataset(reference_spec, data, args.cache_dir, args.workers, progress=not args.quiet)
    reference, split = samplestats.reference_pieces(dataset, args.split)
    if not reference:
        raise UserError(f"--reference {reference_spec} has no {args.split} pieces; choose another --split")
    result = samplestats.report(read.rolls, reference, data.steps_per_quarter, data.lowest_pitch)
    label = f"{dataset.label}, {split}"
    skipped = f", {len(read.skipped)} skipped" if read.skipped else ""
    print(f"{len(read.rolls)} pieces from --samples{skipped}, against {label}; "
          f"{data.steps_per_quarter} frames per quarter note")
    print(statstable.comparison_table(result, label))
    print(json.dumps({**result.to_json(), "reference": label, "skipped": [name for name, _ in read.skipped]}))
