"""Table 1 of Boulanger-Lewandowski, Bengio & Vincent (ICML 2012), from scratch, through the
same tasks as the commands.

    python benchmarks/table1.py [--datasets jsb nottingham musedata piano_midi] [--models rnn_rbm rnn_nade lstm]
                                [--work_dir table1_runs] [--config FILE] [--set SECTION.FIELD=VALUE ...]
                                [--epochs N] [--init CKPT] [--publish] [--quiet]
                                [--ray [ADDRESS]] [--ray_cpus_per_trial N]

For each data set and model, in a process of its own (so that the peak memory and the time
its record gives are its own) and a new folder WORK_DIR/<set>/<model>/<date_time>: pretrains
where the model has a pretraining step (weight_initializations.py's task), trains with the
recommended settings (rnn_rbm.config.PRESETS, per model and data set; a data set without its
own gets the JSB preset with its own frame length) as rnn_rbm_train.py's task does, then
measures best.ckpt on the test split as rnn_rbm_evaluate.py's task does (log-likelihood per
frame, exact or by AIS; the paper's expected frame accuracy), and the paper's reference rows
(random frames, Note 1-Gram, each frame as the one before it) by the same code. Each run
writes one record, record.json in its folder (settings, revision, machine, seconds by
phase, peak memory, figures); --publish also copies it to records/table1/<set>/<model>.json,
from which benchmarks/render_docs.py renders the published table, and publishes the model
(pretrained/<set>/<model>/: best.ckpt's weights and settings, with the record). --set and --config change
the preset for every run (--set epochs=N is kept as the old spelling of --epochs N). With
--init, one model on one data set starts from that checkpoint's weights instead of pretraining.

Prints one JSON line per run as it ends, then the table with the paper's figures beside ours.
A data set is one of the paper's four, shipped with the package, or the path of a JSON file
of their layout ({"train": [...], "valid": [...], "test": [...]}, each piece a list of
frames, each frame a list of MIDI pitches).

With --ray, the runs are trials of a sweep on Ray (an optional extra: pip install -e ".[sweep]"):
each (data set, model) is one call of run() below, in a Ray worker process of its own with
--ray_cpus_per_trial cores, quiet; on a new local Ray without ADDRESS, on the cluster at ADDRESS
with one ("auto": the one `ray start` began on this machine). The trials write the same records
in the same folders, and this process prints the same lines and table, and publishes. On a
cluster every node needs this project installed, and WORK_DIR, the data sets given as paths and
--init are taken as the same absolute paths on every node: shared storage, or each node keeps
its own run folders and this machine writes each record it is sent into the same place.
A trial whose worker or node is lost is not repeated: it is reported as failed, and the others
go on.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_rbm import quiet  # noqa: E402
from rnn_rbm.config import (BENCHMARK_STEPS_PER_QUARTER, FAMILIES, Overrides, RunConfig, apply_settings,  # noqa: E402
                            preset, read_settings)
from rnn_rbm.errors import UserError  # noqa: E402
from rnn_rbm.files import write_text_atomic  # noqa: E402

RECORD = "record.json"
# Draws of every test frame for the reference rows' expected accuracy: a standard error
# under 0.03 points on every set.
BASELINE_DRAWS = 100
NO_RAY = 'error: --ray needs Ray: pip install -e ".[sweep]"'


def data_spec(name: str) -> str:
    """Returns: --datasets `name` as a data source: a packaged set's name, else the absolute path."""
    return name if name in BENCHMARK_STEPS_PER_QUARTER else str(Path(name).resolve())


def flat_settings(config: RunConfig) -> dict:
    """Returns: every setting of `config` as "section.field" -> value (config.read_settings'
    form), so that Overrides(settings=...) rebuilds exactly `config` from any base."""
    flat = {}
    for key, value in dataclasses.asdict(config).items():
        if isinstance(value, dict):
            flat.update({f"{key}.{name}": v for name, v in value.items()})
        elif key != "format_version":
            flat[key] = value
    return flat


def run(dataset: str, family: str, config: RunConfig, epochs: int, work_dir: Path, progress: bool,
        init: Path | None = None, command: list[str] | None = None) -> tuple[Path, dict]:
    """Pretrains (where the model has a pretraining step and config.pretrain.epochs asks; or
    starts from the weights of `init`), trains to `epochs` and measures best.ckpt on the test
    split, through the commands' own tasks, recording it all.

    Returns: (the record's path, the record as written).
    """
    import numpy as np

    from rnn_rbm.data.dataset import Loading
    from rnn_rbm.engine.baselines import baseline_rows
    from rnn_rbm.engine.trainer import BEST_CHECKPOINT
    from rnn_rbm.models import registry
    from rnn_rbm.records import Record
    from rnn_rbm.tasks.evaluate import evaluate_task
    from rnn_rbm.tasks.pretrain import pretrain_task
    from rnn_rbm.tasks.train import TrainRequest, train_task

    # A folder of this run's own: a best.ckpt left by an earlier run can never be scored.
    out = work_dir / Path(dataset).stem / family / time.strftime("%Y-%m-%d_%H%M%S")
    out.mkdir(parents=True, exist_ok=False)
    loading = Loading(progress=progress)
    record = Record(command=command or list(sys.argv))
    given = Overrides(settings=flat_settings(config))
    pretrains = registry.model_class(family).pretraining(config.pretrain) is not None
    if init is None and config.pretrain.epochs and pretrains:
        pretrain_task(given, out, loading, record)
    train_task(TrainRequest(epochs, out, given, init=init), loading, record)
    trained = record.settings
    if record.results.get("best_epoch") is None:
        raise UserError(f"{dataset}, {family}: no validation figure was ever finite, so there is no best.ckpt "
                        "to score")
    evaluate_task(out / BEST_CHECKPOINT, "test", Overrides(), {}, loading, record)
    # The run's settings are training's; the measurement's are its evaluate section and seed.
    record.settings = {**trained, "evaluate": record.settings["evaluate"]}
    # Every run has a process of its own (run_alone, a Ray trial, or a command of one run): its
    # peak memory is its own.
    record.results.update(dataset=Path(dataset).stem, model=family, own_process=True)
    with record.phase("baselines"):
        data = loading.load(config.data_source, config.data)
        record.results["baselines"] = baseline_rows(data.train, data.test, config.evaluate.reference_smoothing,
                                                    np.random.default_rng(config.seed), BASELINE_DRAWS)
    return record.write(out / RECORD), json.loads((out / RECORD).read_text())


def publish(path: Path, record: dict) -> Path:
    """Copies a run's record to records/table1/<set>/<model>.json, where the published table
    is rendered from, and its best checkpoint's model (weights and settings only) with the
    same record to pretrained/<set>/<model>/, the model published with the code.

    Returns: the published record's path.
    """
    from rnn_rbm.engine import checkpoint

    dataset, model = record["results"]["dataset"], record["results"]["model"]
    target = ROOT / "records" / "table1" / dataset / f"{model}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    folder = ROOT / "pretrained" / dataset / model
    checkpoint.export(record["results"]["checkpoint"], folder / checkpoint.MODEL_CHECKPOINT)
    shutil.copyfile(path, folder / "record.json")
    return target


def report(path: Path, record: dict, publishing: bool) -> None:
    """Publishes a finished run's record where asked, and prints its JSON line."""
    if publishing:
        print(f"published {publish(path, record).relative_to(ROOT)}", file=sys.stderr)
    # Each result as soon as it is there: a long run cut short keeps what it measured.
    print(json.dumps({"record": str(path), **record["results"]}), flush=True)


def trial(dataset: str, family: str, config: RunConfig, epochs: int, work_dir: Path, init: Path | None,
          command: list[str], threads: int) -> tuple[Path, dict]:
    """One (data set, model) of a --ray sweep, in a Ray worker process: run() as --quiet runs
    it, with TensorFlow splitting an operation over the trial's `threads` cores (not over every
    core of a node that other trials share). Quiet from the start: Ray forwards what its workers
    print to the sweep's terminal.

    Returns: run()'s (the record's path on the worker's machine, the record).
    """
    quiet.setup(quiet=True, intra_op_threads=threads)
    return run(dataset, family, config, epochs, work_dir, False, init, command)


def sweep(chosen: dict[tuple[str, str], tuple[RunConfig, int]], address: str, cpus_per_trial: int, work_dir: Path,
          init: Path | None, publishing: bool) -> tuple[list[tuple[str, dict]], list[tuple[str, str]]]:
    """Runs each (data set, model) of `chosen` as one Ray task of `cpus_per_trial` CPUs: on the
    Ray this process already joined, else on the cluster at `address`, else ("") on a new local
    one, stopped at the end. Reports each run as it ends (report()); a record written on
    another machine is also written here, at the same path.

    Returns: ((record path, record) of each run that ended, (data set, model) of each that ended
    in a UserError, which the others outlive). Raises UserError where the trials cannot start.
    """
    import ray
    from ray.exceptions import RayError, RayTaskError

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address or None, logging_level=logging.WARNING,
                 **({} if address else {"include_dashboard": False}))
    try:
        if not address and cpus_per_trial > ray.cluster_resources().get("CPU", 0):
            raise UserError(f"--ray_cpus_per_trial {cpus_per_trial}: this machine's Ray has "
                            f"{ray.cluster_resources().get('CPU', 0):.0f} CPUs")
        # max_calls=1: a worker process of its own per trial, so its TensorFlow, its memory and
        # its record's peak memory are its own. max_retries=0: a trial whose worker died (out
        # of memory, its node lost) is reported, not started again from scratch unasked.
        remote = ray.remote(num_cpus=cpus_per_trial, max_calls=1, max_retries=0)(trial)
        command = list(sys.argv)
        pending = {remote.remote(name, family, config, epochs, work_dir, init, command, cpus_per_trial): (name, family)
                   for (name, family), (config, epochs) in chosen.items()}
        print(f"{len(pending)} trials on Ray, {cpus_per_trial} CPUs each, "
              f"{ray.cluster_resources().get('CPU', 0):.0f} CPUs in all", file=sys.stderr)
        done, failed = [], []
        while pending:
            (ready,), _ = ray.wait(list(pending), num_returns=1)
            name, family = pending.pop(ready)
            try:
                path, record = ray.get(ready)
            except RayError as error:
                if isinstance(error, RayTaskError) and not isinstance(error.cause, UserError):
                    raise  # a bug
                lost = f"its worker was lost ({str(error).splitlines()[0]})"
                why = error.cause if isinstance(error, RayTaskError) else lost
                print(f"error: {Path(name).stem} {family}: {why}", file=sys.stderr)
                failed.append((name, family))
                continue
            if not path.exists():  # the trial's node does not share WORK_DIR with this machine
                path.parent.mkdir(parents=True, exist_ok=True)
                write_text_atomic(path, json.dumps(record, indent=2, sort_keys=True, allow_nan=False) + "\n")
            report(path, record, publishing)
            done.append((str(path), record))
    finally:
        if started_here:
            ray.shutdown()
    return done, failed


def chosen_settings(family: str, dataset: str, settings: dict, epochs: int | None) -> tuple[RunConfig, int]:
    """Returns: the preset of `family` on `dataset` with --config/--set `settings`, and the
    epochs to train (--epochs, else the preset's)."""
    recommended = preset(family, data_spec(dataset))
    return apply_settings(recommended.run, settings), epochs or recommended.epochs


def check_init(init: Path, config: RunConfig) -> None:
    """Raises UserError unless `init` is a checkpoint of the model `config` trains."""
    from rnn_rbm.engine import checkpoint

    held = checkpoint.load_config(init)
    if held.model != config.model:
        raise UserError(f"--init {init} holds {held.model}, not the {config.model} of these settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["jsb", "nottingham"], metavar="NAME",
                        help="data sets: jsb, nottingham, musedata, piano_midi (shipped with the package), or "
                        "the path of a .json file of their layout (default jsb nottingham)")
    parser.add_argument("--models", nargs="+", choices=list(FAMILIES), default=["rnn_rbm"],
                        help="models to train and measure (default rnn_rbm)")
    parser.add_argument("--work_dir", type=Path, default=Path("table1_runs"),
                        help="each run goes to a new folder WORK_DIR/<data set>/<model>/<date_time> "
                        "(default table1_runs)")
    parser.add_argument("--config", metavar="FILE", help="settings from a JSON file laid out as a run's "
                        "config.json, over every preset")
    parser.add_argument("--set", nargs="+", default=[], metavar="SECTION.FIELD=VALUE", dest="changes",
                        help="change a preset setting for every run, e.g. train.learning_rate=0.001")
    parser.add_argument("--epochs", type=int, help="epochs to train at most (default: the preset's)")
    parser.add_argument("--init", type=Path, metavar="CKPT", help="start from this checkpoint's weights "
                        "instead of pretraining (e.g. a run's initial.ckpt, to try training settings without "
                        "repeating the pretraining); one data set and one model")
    parser.add_argument("--publish", action="store_true", help="copy each run's record to "
                        "records/table1/<set>/<model>.json (then: python benchmarks/render_docs.py)")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines or progress bars")
    parser.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                        help="run each data set and model as one trial on Ray: on a new local Ray without "
                        "ADDRESS, on the Ray cluster at ADDRESS with one (needs pip install -e \".[sweep]\")")
    parser.add_argument("--ray_cpus_per_trial", type=int, default=min(2, os.cpu_count() or 1), metavar="N",
                        help="CPUs each --ray trial holds and TensorFlow uses (default 2, or 1 on a one-core "
                        "machine)")
    # A run of a command of several runs, in a process of its own (run_alone): the data set and
    # model, and the command's own arguments for the record.
    parser.add_argument("--alone", nargs=2, metavar=("SET", "MODEL"), help=argparse.SUPPRESS)
    parser.add_argument("--command", nargs=argparse.REMAINDER, default=[], help=argparse.SUPPRESS)
    quiet.add_verbose_flag(parser)
    args = parser.parse_args()
    if args.alone:
        args.datasets, args.models = [args.alone[0]], [args.alone[1]]
    changes = [c for c in args.changes if not c.startswith("epochs=")]
    epochs = args.epochs or next((int(c.partition("=")[2]) for c in args.changes if c.startswith("epochs=")), None)
    try:
        for name in args.datasets:
            if name not in BENCHMARK_STEPS_PER_QUARTER and not Path(name).is_file():
                raise UserError(f"--datasets {name}: not one of {', '.join(BENCHMARK_STEPS_PER_QUARTER)} "
                                "and no such .json file")
        settings = read_settings(args.config, changes)
        chosen = {(name, family): chosen_settings(family, name, settings, epochs)
                  for name in args.datasets for family in args.models}
        if args.init is not None:
            if len(chosen) > 1:
                raise UserError("--init starts one model on one data set: give one --datasets and one --models")
            check_init(args.init, next(iter(chosen.values()))[0])
        if args.ray_cpus_per_trial < 1:
            raise UserError(f"--ray_cpus_per_trial {args.ray_cpus_per_trial}: give 1 or more")
    except UserError as error:
        sys.exit(f"error: {error}")
    if args.ray is not None:
        try:
            import ray  # noqa: F401
        except ImportError:
            print(NO_RAY, file=sys.stderr)
            sys.exit(2)

    from rnn_rbm.outputs.recordtables import table1

    quiet.setup(verbose=args.verbose, quiet=args.quiet)
    if args.ray is not None:
        # Absolute: a worker's folder is not necessarily this one.
        init = args.init.resolve() if args.init is not None else None
        try:
            done, failed = sweep(chosen, args.ray, args.ray_cpus_per_trial, args.work_dir.resolve(), init,
                                 args.publish)
        except UserError as error:
            sys.exit(f"error: {error}")
        except KeyboardInterrupt:  # Ray stops a driver's tasks when it ends; what ended is printed above
            print("interrupted: the runs that had not ended are stopped", file=sys.stderr)
            sys.exit(130)
        print(table1(done))
        if failed:
            named = [f"{Path(name).stem} {family}" for name, family in chosen if (name, family) in failed]
            sys.exit(f"error: {len(failed)} of {len(chosen)} runs failed (above): {', '.join(named)}")
        return
    if args.alone:
        (name, family), (config, run_epochs) = next(iter(chosen.items()))
        try:
            path, _ = run(name, family, config, run_epochs, args.work_dir, not args.quiet, args.init,
                          command=[sys.argv[0], *args.command])
        except UserError as error:
            sys.exit(f"error: {error}")
        print(json.dumps({"record": str(path)}))
        return
    done = []
    for (name, family), (config, run_epochs) in chosen.items():
        if len(chosen) == 1:
            try:
                path, record = run(name, family, config, run_epochs, args.work_dir, not args.quiet, args.init)
            except UserError as error:
                sys.exit(f"error: {error}")
        else:
            path, record = run_alone(name, family)
        report(path, record, args.publish)
        done.append((str(path), record))
    print(table1(done))


def run_alone(dataset: str, family: str) -> tuple[Path, dict]:
    """run() of one (data set, model) of this command in a fresh process of its own, so that
    the record's peak memory and its whole run are that run's alone (a process's peak only
    grows). It prints what run() prints; its error ends this command with the same status.

    Returns: (the record's path, the record)."""
    command = [sys.executable, str(Path(__file__).resolve()), *sys.argv[1:], "--alone", dataset, family,
               "--command", *sys.argv[1:]]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    last = ""
    try:
        for line in child.stdout:
            if last:
                print(last, end="", flush=True)
            last = line
        child.wait()
    except KeyboardInterrupt:  # the run saves where it is (Ctrl-C reaches it too) and says so
        child.wait()
        sys.exit(130)
    if child.returncode != 0:
        print(last, end="", flush=True)
        sys.exit(child.returncode)
    path = Path(json.loads(last)["record"])
    return path, json.loads(path.read_text())


if __name__ == "__main__":
    main()
