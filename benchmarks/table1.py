"""Table 1 of Boulanger-Lewandowski, Bengio & Vincent (ICML 2012), from scratch.

    python benchmarks/table1.py [--datasets jsb nottingham] [--data_dir ../shared/data]
                                [--work_dir table1_runs] [--set SECTION.FIELD=VALUE ...] [--quiet]

For each data set: pretrains the RBM, trains the RNN-RBM with the recommended
settings (rnn_rbm.config.PRESETS: validation by a quick AIS log-likelihood every
few epochs, best.ckpt, plateau learning-rate schedule, early stopping), then
measures best.ckpt on the test split as rnn_rbm_evaluate.py does (AIS
log-likelihood per frame, expected frame accuracy). Prints a markdown table with
the paper's figures beside ours, then one JSON line:
{"jsb": {"nll": .., "nll_se": .., "acc": .., "train_seconds": .., ...}, ...}.
train_seconds counts pretraining and training with its validations;
eval_seconds the test measurement.
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
from rnn_rbm.config import PRESETS, Preset, replace_section  # noqa: E402

# The paper's Table 1, RNN-RBM row: log-likelihood per frame (nats) and expected frame accuracy.
PAPER = {"jsb": {"nll": 6.27, "acc": 0.3312}, "nottingham": {"nll": 2.39, "acc": 0.7540}}
FILES = {"jsb": "jsb_chorales.json", "nottingham": "nottingham.json"}


def with_changes(preset: Preset, changes: list[str]) -> Preset:
    """Applies --set changes such as "pretrain.epochs=30", "train.learning_rate=0.001",
    "epochs=80" (a value is read as JSON when it can be: numbers, true/false, else text).

    Returns: the changed Preset. Raises SystemExit on an unknown field.
    """
    config, epochs = preset.run, preset.epochs
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


def run(name: str, preset: Preset, data: Path, work_dir: Path, progress: bool) -> dict:
    """Pretrains, trains and measures one data set with `preset`.

    Returns: {"nll", "nll_se", "log_z_over_known", "acc" (the paper's expected frame accuracy),
    "acc_se", "acc_pooled", "frames", "epochs", "best_epoch",
    "train_seconds", "eval_seconds", "bernoulli_ll"}; nats per frame, seconds.
    """
    import numpy as np

    from rnn_rbm import checkpoint
    from rnn_rbm.data import all_frames, load_dataset
    from rnn_rbm.evaluate import evaluate, make_validator
    from rnn_rbm.pretrain import pretrain
    from rnn_rbm.train import BEST_CHECKPOINT, TrainState, train

    config = dataclasses.replace(preset.run, data_source=str(data.resolve()))
    # A folder of this run's own: a best.ckpt left by an earlier run can never be scored.
    out = work_dir / name / time.strftime("%Y-%m-%d_%H%M%S")
    out.mkdir(parents=True, exist_ok=False)
    dataset = load_dataset(config.data_source, config.data, progress=progress)

    started = time.perf_counter()
    state = TrainState.create(config)
    pretrain(state.model, all_frames(dataset.train), config.pretrain, np.random.default_rng(config.seed),
             state.tf_rng, progress=progress)
    checkpoint.save(out / "initial.ckpt", config, model=state.model)
    validate = make_validator(state.model, dataset.train, dataset.valid, config.evaluate, config.seed)
    history = train(state, dataset, config, preset.epochs, out, progress=progress, validate=validate)
    train_seconds = time.perf_counter() - started

    if not any(r.get("best") for r in history):
        sys.exit(f"error: {name}: no validation figure was ever finite, so there is no best.ckpt to score")
    best = TrainState.create(config)
    checkpoint.restore(out / BEST_CHECKPOINT, model=best.model)
    result = evaluate(best.model, dataset.train, dataset.test, config.evaluate, best.tf_rng, progress)
    acc = result.accuracy
    return {"nll": result.nll, "nll_se": result.nll_se, "log_z_over_known": result.log_z_over_known,
            "acc": acc.expected, "acc_se": acc.expected_se, "acc_pooled": acc.pooled,
            "frames": result.frames, "epochs": history[-1]["epoch"],
            "best_epoch": max((r["epoch"] for r in history if r.get("best")), default=None),
            "train_seconds": train_seconds, "eval_seconds": result.seconds,
            "bernoulli_ll": result.bernoulli_ll}


def table(results: dict[str, dict]) -> str:
    """Returns: the markdown table, ours beside the paper's RNN-RBM."""
    lines = ["| data set | log-likelihood (paper) | log-likelihood (ours) | ACC % (paper) | ACC % (ours) "
             "| pooled ACC % (ours) | epochs (best) | train s | test eval s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        paper = PAPER[name]
        paper_acc = f"{100 * paper['acc']:.2f}" if paper["acc"] else "-"
        lines.append(f"| {name} | {-paper['nll']:.2f} | {-r['nll']:.2f} ± {r['nll_se']:.2f} | {paper_acc} | "
                     f"{100 * r['acc']:.2f} ± {100 * r['acc_se']:.2f} | {100 * r['acc_pooled']:.2f} | "
                     f"{r['epochs']} ({r['best_epoch']}) | "
                     f"{r['train_seconds']:.0f} | {r['eval_seconds']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(PRESETS), default=["jsb", "nottingham"])
    parser.add_argument("--data_dir", type=Path, default=ROOT.parent / "shared" / "data",
                        help="folder of jsb_chorales.json and nottingham.json (default ../shared/data)")
    parser.add_argument("--work_dir", type=Path, default=Path("table1_runs"),
                        help="checkpoints of each run go to a new folder WORK_DIR/<data set>/<date_time> "
                        "(default table1_runs)")
    parser.add_argument("--set", nargs="+", default=[], metavar="SECTION.FIELD=VALUE",
                        help="change a preset setting for every data set, e.g. train.learning_rate=0.001")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines or progress bars")
    quiet.add_verbose_flag(parser)
    args = parser.parse_args()
    quiet.setup(verbose=args.verbose, quiet=args.quiet)
    for name in args.datasets:
        if not (args.data_dir / FILES[name]).is_file():
            sys.exit(f"error: no {FILES[name]} in {args.data_dir}; give --data_dir")

    import tensorflow as tf

    results = {name: run(name, with_changes(PRESETS[name], args.set), args.data_dir / FILES[name],
                         args.work_dir, not args.quiet) for name in args.datasets}
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, {platform.processor() or '?'}; "
          f"TensorFlow {tf.__version__}, Python {platform.python_version()}")
    print(table(results))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
