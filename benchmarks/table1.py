"""Table 1 of Boulanger-Lewandowski, Bengio & Vincent (ICML 2012), from scratch.

    python benchmarks/table1.py [--datasets jsb nottingham] [--models rnn_rbm rnn_nade lstm]
                                [--work_dir table1_runs]
                                [--set SECTION.FIELD=VALUE ...] [--init CKPT] [--quiet]

For each data set and model: pretrains where the model has a pretraining step, trains
with the recommended settings (rnn_rbm.config.PRESETS, per model and data set; a data
set without its own gets a generic preset: validation every few epochs, best.ckpt,
plateau learning-rate schedule, early stopping), then measures best.ckpt on the test
split as rnn_rbm_evaluate.py does (log-likelihood per frame, exact or by AIS; expected
frame accuracy). With --init, one model on one data set starts from that checkpoint's
weights (a run's initial.ckpt: training settings tried without repeating the pretraining).
Prints a markdown table with the paper's figures beside ours, then one JSON line:
{"jsb": {"rnn_rbm": {"nll": .., "nll_se": .., "acc": .., "params": .., "train_seconds": .., ...},
...}, ...}. train_seconds counts pretraining and training with its validations; eval_seconds
the test measurement.

A data set is one of the paper's four, shipped with the package (jsb, nottingham, musedata,
piano_midi), or the path of any JSON file of their layout ({"train": [...], "valid": [...],
"test": [...]}, each piece a list of frames, each frame a list of MIDI pitches).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_rbm import quiet  # noqa: E402
from rnn_rbm.config import BENCHMARK_STEPS_PER_QUARTER, FAMILIES, Preset, preset, replace_section  # noqa: E402

# The paper's Table 1: log-likelihood per frame (nats) and expected frame accuracy, by the
# model it compares ours with. lstm: the paper's "RNN" row (independent outputs); rnn_nade:
# its RNN-NADE trained with Hessian-free optimisation.
PAPER = {"rnn_rbm": {"jsb": {"nll": 6.27, "acc": 0.3312}, "nottingham": {"nll": 2.39, "acc": 0.7540}},
         "rnn_nade": {"jsb": {"nll": 5.56, "acc": 0.3250}, "nottingham": {"nll": 2.31, "acc": 0.7150}},
         "lstm": {"jsb": {"nll": 8.71, "acc": 0.2850}, "nottingham": {"nll": 4.46, "acc": 0.6290}}}


def data_spec(name: str) -> str:
    """Returns: --datasets `name` as a data source: a packaged set's name, else the absolute path."""
    return name if name in BENCHMARK_STEPS_PER_QUARTER else str(Path(name).resolve())


def with_changes(base: Preset, changes: list[str]) -> Preset:
    """Applies --set changes such as "pretrain.epochs=30", "train.learning_rate=0.001",
    "epochs=80" (a value is read as JSON when it can be: numbers, true/false, else text).

    Returns: the changed Preset. Raises SystemExit on an unknown field.
    """
    config, epochs = base.run, base.epochs
    for change in changes:
        key, _, text = change.partition("=")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        section, _, name = key.rpartition(".")
        if not section and name == "epochs":
            epochs = int(value)
        elif section and hasattr(config, section) and hasattr(getattr(config, section), name):
            config = replace_section(config, section, **{name: value})
        elif not section and name in ("seed",):
            config = dataclasses.replace(config, **{name: value})
        else:
            sys.exit(f"error: --set {change}: no such setting (e.g. train.learning_rate=0.001, epochs=80)")
    return Preset(config, epochs)


def run(name: str, chosen: Preset, work_dir: Path, progress: bool, init: Path | None = None) -> dict:
    """Pretrains (where the model has a pretraining step; or starts from the weights of `init`),
    trains and measures one model on one data set with the settings `chosen`.

    Returns: {"nll", "nll_se", "log_z_over_known", "acc" (the paper's expected frame accuracy),
    "acc_se", "acc_pooled", "frames", "params", "epochs", "best_epoch",
    "train_seconds", "eval_seconds", "bernoulli_ll", "previous_frame_acc"}; nats per frame, seconds.
    """
    import tensorflow as tf

    from rnn_rbm.data.dataset import load_dataset
    from rnn_rbm.engine import checkpoint
    from rnn_rbm.engine.scoring import evaluate
    from rnn_rbm.engine.trainer import BEST_CHECKPOINT, TrainState, train
    from rnn_rbm.files import json_number
    from rnn_rbm.tasks.pretrain import start_frame_model

    config = chosen.run
    # A folder of this run's own: a best.ckpt left by an earlier run can never be scored.
    out = work_dir / Path(name).stem / config.model.family / time.strftime("%Y-%m-%d_%H%M%S")
    out.mkdir(parents=True, exist_ok=False)
    dataset = load_dataset(config.data_source, config.data, progress=progress)

    started = time.perf_counter()
    state = TrainState.create(config)
    if init is not None:
        checkpoint.restore(init, model=state.model)
    elif start_frame_model(state.model, dataset, config, state.tf_rng, progress):
        checkpoint.save(out / checkpoint.INITIAL_CHECKPOINT, config, model=state.model)
    history = train(state, dataset, config, chosen.epochs, out, progress=progress)
    train_seconds = time.perf_counter() - started

    if not any(r.get("best") for r in history):
        sys.exit(f"error: {name}: no validation figure was ever finite, so there is no best.ckpt to score")
    best = TrainState.create(config)
    checkpoint.restore(out / BEST_CHECKPOINT, model=best.model)
    result = evaluate(best.model, dataset.train, dataset.test, config.evaluate, best.tf_rng, progress)
    acc = result.accuracy
    # None where there is no such figure (an exact likelihood).
    return {"nll": result.nll, "nll_se": result.nll_se, "log_z_over_known": json_number(result.log_z_over_known),
            "acc": acc.expected, "acc_se": acc.expected_se, "acc_pooled": acc.pooled,
            "frames": result.frames, "params": int(sum(int(tf.size(v)) for v in best.model.trainable_variables)),
            "epochs": history[-1]["epoch"],
            "best_epoch": max((r["epoch"] for r in history if r.get("best")), default=None),
            "train_seconds": train_seconds, "eval_seconds": result.seconds,
            "bernoulli_ll": result.bernoulli_ll, "previous_frame_acc": result.previous_frame_acc}


def check_init(init: Path, chosen: Preset) -> None:
    """Exits with one clear message unless `init` is a checkpoint of the model `chosen` trains."""
    from rnn_rbm.engine import checkpoint
    from rnn_rbm.errors import UserError

    try:
        held = checkpoint.load_config(init)
    except UserError as error:
        sys.exit(f"error: --init: {error}")
    if held.model != chosen.run.model:
        sys.exit(f"error: --init {init} holds {held.model}, not the {chosen.run.model} of these settings")


def table(results: dict[str, dict[str, dict]]) -> str:
    """Returns: the markdown table, each model beside the paper's figure for it, and under
    each data set the accuracy of forecasting each frame as the one before it."""
    lines = ["| data set | model | log-likelihood (paper) | log-likelihood (ours) | ACC % (paper) | ACC % (ours) "
             "| pooled ACC % (ours) | parameters | epochs (best) | train s | test eval s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, models in results.items():
        for family, r in models.items():
            paper = PAPER[family].get(name)
            paper_ll = f"{-paper['nll']:.2f}" if paper else "-"
            paper_acc = f"{100 * paper['acc']:.2f}" if paper else "-"
            lines.append(f"| {name} | {family} | {paper_ll} | {-r['nll']:.2f} ± {r['nll_se']:.2f} | {paper_acc} | "
                         f"{100 * r['acc']:.2f} ± {100 * r['acc_se']:.2f} | {100 * r['acc_pooled']:.2f} | "
                         f"{r['params']:,} | {r['epochs']} ({r['best_epoch']}) | "
                         f"{r['train_seconds']:.0f} | {r['eval_seconds']:.0f} |")
        # The trivial forecast beside them: any model should beat it.
        previous = next(iter(models.values())).get("previous_frame_acc")
        if previous is not None:
            lines.append(f"| {name} | each frame forecast as the one before it | - | - | - | {100 * previous:.2f} "
                         "| | | | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["jsb", "nottingham"], metavar="NAME",
                        help="data sets: jsb, nottingham, musedata, piano_midi (shipped with the package), or "
                        "the path of a .json file of their layout (default jsb nottingham)")
    parser.add_argument("--models", nargs="+", choices=list(FAMILIES), default=["rnn_rbm"],
                        help="models to train and measure (default rnn_rbm)")
    parser.add_argument("--work_dir", type=Path, default=Path("table1_runs"),
                        help="checkpoints of each run go to a new folder WORK_DIR/<data set>/<model>/<date_time> "
                        "(default table1_runs)")
    parser.add_argument("--set", nargs="+", default=[], metavar="SECTION.FIELD=VALUE",
                        help="change a preset setting for every data set, e.g. train.learning_rate=0.001")
    parser.add_argument("--init", type=Path, metavar="CKPT", help="start from this checkpoint's weights "
                        "instead of pretraining (e.g. a run's initial.ckpt, to try training settings without "
                        "repeating the pretraining); one data set and one model")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines or progress bars")
    quiet.add_verbose_flag(parser)
    args = parser.parse_args()
    quiet.setup(verbose=args.verbose, quiet=args.quiet)
    for name in args.datasets:
        if name not in BENCHMARK_STEPS_PER_QUARTER and not Path(name).is_file():
            sys.exit(f"error: --datasets {name}: not one of {', '.join(BENCHMARK_STEPS_PER_QUARTER)} "
                     "and no such .json file")
    if args.init is not None:
        if len(args.datasets) * len(args.models) > 1:
            sys.exit("error: --init starts one model on one data set: give one --datasets and one --models")
        check_init(args.init, with_changes(preset(args.models[0], args.datasets[0]), args.set))

    import tensorflow as tf

    results: dict[str, dict[str, dict]] = {}
    for name in args.datasets:
        for family in args.models:
            results.setdefault(name, {})[family] = run(
                name, with_changes(preset(family, data_spec(name)), args.set), args.work_dir,
                not args.quiet, args.init)
            # Each result as soon as it is there: a long run cut short keeps what it measured.
            print(json.dumps({"dataset": name, "model": family, **results[name][family]}), flush=True)
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, {platform.processor() or '?'}; "
          f"TensorFlow {tf.__version__}, Python {platform.python_version()}")
    print(table(results))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
