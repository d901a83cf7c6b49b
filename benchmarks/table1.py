"""Table 1 of Boulanger-Lewandowski, Bengio & Vincent (ICML 2012), from scratch, through the
same tasks as the commands.

    python benchmarks/table1.py [--datasets jsb nottingham musedata piano_midi] [--models rnn_rbm rnn_nade lstm]
                                [--work_dir table1_runs] [--config FILE] [--set SECTION.FIELD=VALUE ...]
                                [--epochs N] [--init CKPT] [--publish] [--quiet]

For each data set and model, in a new folder WORK_DIR/<set>/<model>/<date_time>: pretrains
where the model has a pretraining step (weight_initializations.py's task), trains with the
recommended settings (rnn_rbm.config.PRESETS, per model and data set; a data set without its
own gets the JSB preset with its own frame length) as rnn_rbm_train.py's task does, then
measures best.ckpt on the test split as rnn_rbm_evaluate.py's task does (log-likelihood per
frame, exact or by AIS; the paper's expected frame accuracy), and the paper's reference rows
(random frames, Note 1-Gram, each frame as the one before it) by the same code. Each run
writes one record, record.json in its folder (settings, revision, machine, seconds by
phase, peak memory, figures); --publish also copies it to records/table1/<set>/<model>.json,
from which benchmarks/render_docs.py renders the published table. --set and --config change
the preset for every run (--set epochs=N is kept as the old spelling of --epochs N). With
--init, one model on one data set starts from that checkpoint's weights instead of pretraining.

Prints one JSON line per run as it ends, then the table with the paper's figures beside ours.
A data set is one of the paper's four, shipped with the package, or the path of a JSON file
of their layout ({"train": [...], "valid": [...], "test": [...]}, each piece a list of
frames, each frame a list of MIDI pitches).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_rbm import quiet  # noqa: E402
from rnn_rbm.config import (BENCHMARK_STEPS_PER_QUARTER, FAMILIES, Overrides, RunConfig, apply_settings,  # noqa: E402
                            preset, read_settings)
from rnn_rbm.errors import UserError  # noqa: E402

RECORD = "record.json"
# Draws of every test frame for the reference rows' expected accuracy: a standard error
# under 0.03 points on every set.
BASELINE_DRAWS = 100


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
    if init is None and config.pretrain.epochs and registry.model_class(family).PRETRAINS:
        pretrain_task(given, out, loading, record)
    train_task(TrainRequest(epochs, out, given, init=init), loading, record)
    trained = record.settings
    if record.results.get("best_epoch") is None:
        raise UserError(f"{dataset}, {family}: no validation figure was ever finite, so there is no best.ckpt "
                        "to score")
    evaluate_task(out / BEST_CHECKPOINT, "test", Overrides(), {}, loading, record)
    # The run's settings are training's; the measurement's are its evaluate section and seed.
    record.settings = {**trained, "evaluate": record.settings["evaluate"]}
    record.results.update(dataset=Path(dataset).stem, model=family)
    with record.phase("baselines"):
        data = loading.load(config.data_source, config.data)
        record.results["baselines"] = baseline_rows(data.train, data.test, config.evaluate.reference_smoothing,
                                                    np.random.default_rng(config.seed), BASELINE_DRAWS)
    return record.write(out / RECORD), json.loads((out / RECORD).read_text())


def publish(path: Path, record: dict) -> Path:
    """Copies a run's record to records/table1/<set>/<model>.json, where the published table
    is rendered from. Returns: the published path."""
    target = ROOT / "records" / "table1" / record["results"]["dataset"] / f"{record['results']['model']}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    return target


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
    quiet.add_verbose_flag(parser)
    args = parser.parse_args()
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
    except UserError as error:
        sys.exit(f"error: {error}")

    from rnn_rbm.outputs.recordtables import table1

    quiet.setup(verbose=args.verbose, quiet=args.quiet)
    done = []
    for (name, family), (config, run_epochs) in chosen.items():
        try:
            path, record = run(name, family, config, run_epochs, args.work_dir, not args.quiet, args.init)
        except UserError as error:
            sys.exit(f"error: {error}")
        done.append((str(path), record))
        if args.publish:
            print(f"published {publish(path, record).relative_to(ROOT)}", file=sys.stderr)
        # Each result as soon as it is there: a long run cut short keeps what it measured.
        print(json.dumps({"record": str(path), **record["results"]}), flush=True)
    print(table1(done))


if __name__ == "__main__":
    main()
