"""Figure 5 of the paper: frame-level transcription accuracy of an acoustic model alone, with
HMM smoothing, and with a model of music as its prior, on audio rendered from each data set.

    python benchmarks/figure5.py [--datasets jsb nottingham musedata piano_midi]
        [--acoustic CKPT ...] [--priors CKPT ...] [--epochs 60] [--noise_snr_db DB] [--work_dir figure5_runs]
        [--levels ...] [--hmm_weights ...] [--alphas ...] [--candidates ...] [--widths ...]
        [--valid_pieces N] [--test_pieces N] [--out_dir results] [--publish]

Per set (rnn_rbm/tasks/figure5.py says what is measured and how it is tuned): the acoustic
model given by --acoustic for that set (each checkpoint goes to the set its config names), or
else one trained here (rnn_rbm_train.py's task, --model acoustic, in WORK_DIR/<set>/acoustic,
resumed when there; with --noise_snr_db, pink noise at that signal-to-noise ratio in all its
audio, in WORK_DIR/<set>/acoustic_snr<DB>). The valid and test audio are rendered as the acoustic
model's own training audio was (its checkpoint's features: clean or with its noise). The priors given by --priors for that set, or else every published model
of pretrained/<set>/. Every decoder is tuned on the valid split only, then measured on the test
split. Prints each set's rows beside the paper's, the issue's targets, then one JSON line;
draws the bars (--out_dir, default results/, figure5.png); writes a record (--record, default
results/figure5_<date_time>.record.json); --publish copies it to records/figure5/, named by its
sets and audio (e.g. jsb_snr10.json), where the docs take the newest of each set and audio.
FluidSynth is required (audio is rendered with it, never with sine tones).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_rbm import quiet, records  # noqa: E402
from rnn_rbm.config import BENCHMARK_STEPS_PER_QUARTER  # noqa: E402
from rnn_rbm.transcription import require_extra  # noqa: E402
from rnn_rbm.errors import UserError  # noqa: E402
from rnn_rbm.tasks.figure5 import PAPER, Figure5Settings  # noqa: E402


def by_data_set(prefixes: list[Path]) -> dict[str, list[Path]]:
    """Returns: the checkpoints grouped by the data set their config names."""
    from rnn_rbm.engine import checkpoint

    grouped: dict[str, list[Path]] = {}
    for prefix in prefixes:
        grouped.setdefault(checkpoint.load_config(prefix).data_source, []).append(prefix)
    return grouped


def acoustic_for(name: str, given: list[Path], epochs: int, noise_snr_db: float | None, work_dir: Path,
                 progress: bool, record) -> Path:
    """Returns: the acoustic model of set `name`: the one given, or one trained here (on audio
    with pink noise at `noise_snr_db`, None: clean)."""
    if len(given) > 1:
        raise UserError(f"--acoustic: {len(given)} checkpoints for {name}; give one per data set")
    if given:
        return given[0]
    from rnn_rbm.config import Overrides
    from rnn_rbm.data.dataset import Loading
    from rnn_rbm.engine import checkpoint
    from rnn_rbm.tasks.train import TrainRequest, train_task

    out_dir = work_dir / name / f"acoustic{audio_label(noise_snr_db)}"
    resume = checkpoint.newest(out_dir) is not None if out_dir.is_dir() else False
    noise = {} if resume or noise_snr_db is None else {"features.noise_snr_db": noise_snr_db}
    request = TrainRequest(epochs, out_dir, Overrides(data_source=None if resume else name,
                                                      family=None if resume else "acoustic", settings=noise),
                           resume=resume)
    train_task(request, Loading(progress=progress), record)
    return out_dir / "best.ckpt"


def audio_label(noise_snr_db: float | None) -> str:
    """Returns: how file names tell the audio apart: "" for clean, "_snr10" for noise at 10 dB."""
    return "" if noise_snr_db is None else f"_snr{noise_snr_db:g}"


def default_priors(name: str) -> list[Path]:
    """Returns: the published models of music of set `name` (pretrained/<name>/*)."""
    folder = ROOT / "pretrained" / name
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def print_set(name: str, result: dict, found: dict) -> None:
    paper = PAPER.get(name, {})
    matches = {"threshold 0.5": "threshold", "hmm": "hmm", "greedy + rnn_rbm": "rnn_rbm"}
    noise = result.get("noise_snr_db")
    audio = "clean audio" if noise is None else f"pink noise at {noise:g} dB SNR"
    print(f"\n{name}, {audio}: {result['pieces']['test']} test pieces, {result['frames']['test']} audio frames "
          f"({result['pieces']['valid']} valid pieces for tuning); frame accuracy %, pooled (MIREX)")
    print(f"{'row':24s} {'valid':>7s} {'test':>7s} {'prec':>7s} {'recall':>7s} {'F':>7s} {'paper':>7s}  tuned")
    for row in result["rows"]:
        test = row["test"]
        tuned = ", ".join(f"{k} {row['tuned'][k]}" for k in ("level", "scaled", "weight", "alpha", "candidates", "width")
                          if _shown(row["decoder"], k))
        mark = paper.get(matches.get(row["row"], ""), None)
        print(f"{row['row']:24s} {100 * row['valid']['accuracy']:7.1f} {100 * test['accuracy']:7.1f} "
              f"{100 * test['precision']:7.1f} {100 * test['recall']:7.1f} {100 * test['f_measure']:7.1f} "
              f"{'' if mark is None else f'{mark:.1f}':>7s}  {tuned} ({test['seconds']:.0f} s)")
    if found.get("prior") is None:
        print("targets: no prior was run")
        return
    print(f"targets ({found['prior']} prior, greedy): beats the HMM {_yes(found['prior_beats_hmm'])}; HMM beats the "
          f"tuned threshold {_yes(found['hmm_beats_threshold'])}; error reduction over the HMM "
          f"{100 * found['reduction']:.1f} % against the paper's {100 * (found['paper_reduction'] or 0):.0f} % "
          f"{_yes(found['reduction_met'])}; best prior {found['best_prior']}, best beam {found['best_beam']}")


def _shown(decoder: str, key: str) -> bool:
    return {"threshold": ("level",), "hmm": ("scaled", "weight"), "greedy": ("alpha", "candidates"),
            "beam": ("alpha", "candidates", "width")}[decoder].count(key) > 0


def _yes(value) -> str:
    return "n/a" if value is None else ("met" if value else "MISSED")


def main() -> None:
    defaults = Figure5Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(BENCHMARK_STEPS_PER_QUARTER),
                        choices=list(BENCHMARK_STEPS_PER_QUARTER), metavar="NAME")
    parser.add_argument("--acoustic", nargs="+", type=Path, default=[], metavar="CKPT",
                        help="acoustic models to use, one per data set (each goes to the set its config names)")
    parser.add_argument("--priors", nargs="+", type=Path, default=None, metavar="CKPT",
                        help="models of music as priors (each to its set); default every pretrained/<set>/ model")
    parser.add_argument("--epochs", type=int, default=60, help="epochs of an acoustic model trained here, at most "
                        "(it stops early on its valid split; default 60)")
    parser.add_argument("--noise_snr_db", type=float, default=None, metavar="DB",
                        help="train the acoustic models trained here on audio with pink noise at this "
                             "signal-to-noise ratio (dB), as a recording's room and hiss; default clean")
    parser.add_argument("--work_dir", type=Path, default=Path("figure5_runs"))
    parser.add_argument("--levels", nargs="+", type=float, default=list(defaults.levels))
    parser.add_argument("--hmm_weights", nargs="+", type=float, default=list(defaults.hmm_weights),
                        help="weights of the HMM's chain to tune (decoders.hmm)")
    parser.add_argument("--alphas", nargs="+", type=float, default=list(defaults.alphas))
    parser.add_argument("--candidates", nargs="+", type=int, default=list(defaults.candidates))
    parser.add_argument("--widths", nargs="+", type=int, default=list(defaults.widths))
    parser.add_argument("--per_step", action="store_true", help="also the rows decided once per symbolic step "
                        "on the pooled evidence of its audio frames: the acoustic model alone and each prior")
    parser.add_argument("--valid_pieces", type=int, default=0, help="tune on the first N valid pieces (0: all)")
    parser.add_argument("--test_pieces", type=int, default=0, help="measure the first N test pieces (0: all)")
    parser.add_argument("--out_dir", type=Path, default=Path("results"), help="where figure5.png goes")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or per-setting lines")
    parser.add_argument("--publish", action="store_true", help="copy the record to records/figure5/")
    records.add_record_flag(parser, "figure5")
    quiet.add_verbose_flag(parser)
    args = parser.parse_args()
    quiet.setup(verbose=args.verbose, quiet=args.quiet)
    try:
        require_extra()
        run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def run(args: argparse.Namespace) -> None:
    from rnn_rbm.data.dataset import Loading
    from rnn_rbm.engine.prior import load_prior
    from rnn_rbm.engine.transcriber import AcousticReader
    from rnn_rbm.outputs.plots import grouped_bars_png
    from rnn_rbm.tasks.figure5 import figure5_set, targets
    from rnn_rbm.transcription.audio import require_fluidsynth

    require_fluidsynth()  # one line, before any training, where FluidSynth is missing
    settings = Figure5Settings(tuple(args.levels), tuple(args.alphas), tuple(args.candidates), tuple(args.widths),
                               args.valid_pieces, args.test_pieces, tuple(args.hmm_weights), args.per_step)
    acoustic = by_data_set(args.acoustic)
    given_priors = by_data_set(args.priors) if args.priors is not None else None
    record = records.Record(settings={**dataclasses.asdict(settings), "datasets": args.datasets,
                                      "epochs": args.epochs, "noise_snr_db": args.noise_snr_db})
    progress = not args.quiet
    chart: dict[str, dict[str, float]] = {}
    for name in args.datasets:
        with record.phase(f"{name}_acoustic"):
            reader = AcousticReader(acoustic_for(name, acoustic.get(name, []), args.epochs, args.noise_snr_db,
                                                 args.work_dir, progress, records.Record()))
        priors = {}
        for prefix in (given_priors.get(name, []) if given_priors is not None else default_priors(name)):
            prior = load_prior(prefix)
            priors[prior.model.FAMILY] = prior
        with record.phase(f"{name}_decode"):
            dataset = Loading(progress=progress).load(name, reader.config.data)
            result = figure5_set(dataset, reader, priors, settings, progress)
        found = targets(name, result)
        record.results[name] = {**result, "targets": found, "acoustic": str(reader.prefix),
                                "noise_snr_db": reader.features.noise_snr_db,
                                "priors": {label: prior.label for label, prior in priors.items()}, "paper": PAPER.get(name)}
        print_set(name, record.results[name], found)
        ours = {f"ours: {row['row']}": 100 * row["test"]["accuracy"] for row in result["rows"]
                if row["row"] != "threshold"}
        chart[name] = {**{f"paper: {k}": v for k, v in PAPER.get(name, {}).items()}, **ours}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    png = grouped_bars_png(args.out_dir / "figure5.png", chart, "frame accuracy % (test)",
                           "Figure 5: transcription frame accuracy, the paper's and ours")
    record.results["chart"] = str(png)
    path = records.save(args.record, "figure5", record)
    if args.publish:
        noises = {record.results[name]["noise_snr_db"] for name in args.datasets}
        label = "_".join(args.datasets) + (audio_label(noises.pop()) if len(noises) == 1 else "_mixed_audio")
        records.publish(path, ROOT, f"figure5/{label}.json")
    print(f"\nbars in {png}; record in {path}")
    print(json.dumps({name: {"test_accuracy": {row["row"]: round(row["test"]["accuracy"], 4)
                                               for row in record.results[name]["rows"]},
                             "targets": record.results[name]["targets"]} for name in args.datasets}))


if __name__ == "__main__":
    main()
