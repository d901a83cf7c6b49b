"""Tables of published figures, rendered from committed run records (rnn_rbm/records.py).

README.md and docs/ hold blocks between `<!-- rendered: NAME -->` and
`<!-- end rendered: NAME -->`; benchmarks/render_docs.py fills each from the records under
records/ with the renderer of that NAME here, and tests/test_records.py fails when a
block and its records disagree. benchmarks/table1.py prints the same table for its own
runs, from the same function.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Callable

from rnn_rbm import records

# The paper's Table 1 (Boulanger-Lewandowski, Bengio & Vincent 2012): log-likelihood per
# frame (nats, higher is better) / expected frame accuracy (%), by data set.
PAPER_ROWS = {
    "Random": {"piano_midi": (-61.00, 3.35), "nottingham": (-61.00, 4.53), "musedata": (-61.00, 3.74),
               "jsb": (-61.00, 4.42)},
    "Note 1-Gram": {"piano_midi": (None, 5.80), "nottingham": (None, 19.87), "musedata": (None, 7.72),
                    "jsb": (None, 15.25)},
    "RNN (SGD)": {"piano_midi": (-8.37, 19.33), "nottingham": (-4.46, 62.93), "musedata": (-8.13, 23.25),
                  "jsb": (-8.71, 28.46)},
    "RNN (HF)": {"piano_midi": (-7.66, 23.34), "nottingham": (-3.89, 66.64), "musedata": (-7.19, 30.49),
                 "jsb": (-8.58, 29.41)},
    "RTRBM": {"piano_midi": (-7.36, 22.99), "nottingham": (-2.62, 75.01), "musedata": (-6.35, 30.85),
              "jsb": (-6.35, 30.17)},
    "RNN-RBM": {"piano_midi": (-7.09, 28.92), "nottingham": (-2.39, 75.40), "musedata": (-6.01, 34.02),
                "jsb": (-6.27, 33.12)},
    "RNN-NADE (SGD)": {"piano_midi": (-7.48, 20.69), "nottingham": (-2.91, 64.95), "musedata": (-6.74, 24.91),
                       "jsb": (-5.83, 32.11)},
    "RNN-NADE (HF)": {"piano_midi": (-7.05, 23.42), "nottingham": (-2.31, 71.50), "musedata": (-5.60, 32.60),
                      "jsb": (-5.56, 32.50)},
}
# Which of the paper's rows each of our models is compared with.
PAPER_ROW_OF = {"rnn_rbm": "RNN-RBM", "rnn_nade": "RNN-NADE (HF)", "lstm": "RNN (HF)", "rnn": "RNN (SGD)",
                "Random": "Random", "Note 1-Gram": "Note 1-Gram"}
DATASET_ORDER = ("piano_midi", "nottingham", "musedata", "jsb")
DATASET_TITLES = {"piano_midi": "Piano-midi.de", "nottingham": "Nottingham", "musedata": "MuseData",
                  "jsb": "JSB Chorales"}
MODEL_ORDER = ("rnn_rbm", "rnn_nade", "lstm", "rnn")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def _provenance(runs: list[tuple[str, dict]]) -> str:
    """Returns: "Machine: ... Code: ..." naming the machines and code revisions of the records."""
    machines = sorted({f"{r['machine']['cores']} cores, {r['machine']['processor']}" for _, r in runs})
    commits = sorted({(r["revision"]["commit"] or "?")[:10] + (" (modified)" if r["revision"]["dirty"] else "")
                      for _, r in runs})
    return f"Machine: {'; '.join(machines)}. Code: {', '.join(commits)}."


def _paper(row: str, dataset: str) -> tuple[str, str]:
    """Returns: the paper's (log-likelihood, ACC %) of `row` on `dataset`, as text ("-" where none)."""
    ll, acc = PAPER_ROWS.get(row, {}).get(dataset, (None, None))
    return (f"{ll:.2f}" if ll is not None else "-"), (f"{acc:.2f}" if acc is not None else "-")


def _sort_key(record: dict) -> tuple:
    data, model = record["results"].get("dataset"), record["results"].get("model")
    return (DATASET_ORDER.index(data) if data in DATASET_ORDER else len(DATASET_ORDER), data or "",
            MODEL_ORDER.index(model) if model in MODEL_ORDER else len(MODEL_ORDER), model or "")


def table1(runs: list[tuple[str, dict]]) -> str:
    """The paper's Table 1 beside ours: per data set, each model's test log-likelihood (± its
    standard error) and expected frame accuracy (the paper's, with TP/(TP+FP+FN) and the
    pooled one beside it), the paper's figure of the row it compares with, and what the run
    took; then the reference rows (random frames, independent pitches at their training
    frequencies, each frame forecast as the one before it), computed by the same code.

    runs: (where the record is, for its link; the record) of benchmarks/table1.py runs.
    Returns: markdown text.
    """
    if not runs:
        return "No published Table 1 records yet: `python benchmarks/table1.py --publish` makes them."
    lines = ["| data set | model | log-likelihood | paper | ACC % | paper | TP/(TP+FP+FN) % | pooled % "
             "| parameters | epochs (best) | whole run | peak memory of its process | record |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    by_set: dict[str, list[tuple[str, dict]]] = {}
    for link, record in sorted(runs, key=lambda run: _sort_key(run[1])):
        by_set.setdefault(record["results"]["dataset"], []).append((link, record))
    for dataset, entries in by_set.items():
        title = DATASET_TITLES.get(dataset, dataset)
        for link, record in entries:
            r = record["results"]
            paper_ll, paper_acc = _paper(PAPER_ROW_OF.get(r["model"], ""), dataset)
            se = f" ± {r['nll_se']:.3f}" if r.get("nll_se") else ""
            lines.append(
                f"| {title} | `{r['model']}` | {-r['nll']:.3f}{se} | {paper_ll} | {100 * r['acc']:.2f} | {paper_acc} "
                f"| {100 * r['acc_tp_fp_fn']:.2f} | {100 * r['acc_pooled']:.2f} | {r['parameters']:,} "
                f"| {r['epochs']} ({r['best_epoch']}) | {_duration(record['wall_seconds'])} "
                f"| {_peak_memory(record)} | [{Path(link).name}]({link}) |")
        baselines = entries[-1][1]["results"].get("baselines", {})
        for name, row in sorted(baselines.items(), key=lambda item: list(PAPER_ROWS).index(item[0])
                                if item[0] in PAPER_ROWS else len(PAPER_ROWS)):
            paper_ll, paper_acc = _paper(PAPER_ROW_OF.get(name, ""), dataset)
            ll = f"{-row['nll']:.3f}" if row.get("nll") is not None else "-"
            tp = f"{100 * row['acc_tp_fp_fn']:.2f}" if row.get("acc_tp_fp_fn") is not None else "-"
            pooled = f"{100 * row['acc_pooled']:.2f}" if row.get("acc_pooled") is not None else "-"
            lines.append(f"| {title} | {name} | {ll} | {paper_ll} | {100 * row['acc']:.2f} | {paper_acc} | {tp} "
                         f"| {pooled} | | | | | |")
    lines += ["", f"{_provenance(runs)} Each row is one run of "
              "`python benchmarks/table1.py` from scratch (its record gives the whole command, the settings and "
              "the seconds by phase); the whole run counts pretraining, training with its validations and the "
              "test measurement. Reference rows: the paper's Random and Note 1-Gram, and each frame forecast as "
              "the one before it, by the same code."]
    return "\n".join(lines)


# Issue 25's targets for a Table 1 run: on Piano-midi.de and MuseData a likelihood at least the
# paper's row's and the whole run within these minutes (JSB's and Nottingham's figures are to be
# held as they were); everywhere a peak of at most 2 GB (10^9 bytes).
TABLE1_MINUTES = {"piano_midi": 45, "musedata": 90}
TABLE1_MEMORY_BYTES = 2e9


def table1_misses(record: dict) -> list[str]:
    """Returns: the targets a Table 1 run misses, each with its figure ([] where all are met)."""
    r = record["results"]
    paper_ll = PAPER_ROWS.get(PAPER_ROW_OF.get(r["model"], ""), {}).get(r["dataset"], (None, None))[0]
    misses = []
    if r["dataset"] in TABLE1_MINUTES and paper_ll is not None and -r["nll"] < paper_ll:
        misses.append(f"likelihood by {paper_ll + r['nll']:.2f}")
    minutes = TABLE1_MINUTES.get(r["dataset"])
    if minutes is not None and record["wall_seconds"] > 60 * minutes:
        misses.append(f"time ({_duration(record['wall_seconds'])} > {minutes} min)")
    if record["peak_memory_mib"] * 2**20 > TABLE1_MEMORY_BYTES:
        misses.append(f"memory ({record['peak_memory_mib'] * 2**20 / 1e9:.2f} GB > 2)")
    return misses


def table1_summary(runs: list[tuple[str, dict]]) -> str:
    """Table 1 cut to the README: each model's row (log-likelihood and the paper's accuracy
    beside the paper's, the whole run, the peak memory) and the targets it misses; the
    reference rows and the other columns are on the results page.

    Returns: markdown text.
    """
    if not runs:
        return table1(runs)
    lines = ["| data set | model | log-likelihood | paper | ACC % | paper | whole run | peak memory | targets missed |",
             "|---|---|---|---|---|---|---|---|---|"]
    for link, record in sorted(runs, key=lambda run: _sort_key(run[1])):
        r = record["results"]
        paper_ll, paper_acc = _paper(PAPER_ROW_OF.get(r["model"], ""), r["dataset"])
        se = f" ± {r['nll_se']:.3f}" if r.get("nll_se") else ""
        lines.append(f"| {DATASET_TITLES.get(r['dataset'], r['dataset'])} | [`{r['model']}`]({link}) "
                     f"| {-r['nll']:.3f}{se} | {paper_ll} | {100 * r['acc']:.2f} | {paper_acc} "
                     f"| {_duration(record['wall_seconds'])} | {_peak_memory(record)} "
                     f"| {', '.join(table1_misses(record)) or 'none'} |")
    lines += ["", f"{_provenance(runs)} Each row one run of `python benchmarks/table1.py` from scratch; targets: "
              "on Piano-midi.de the paper's likelihood and the whole run within 45 minutes (on MuseData 90; JSB's and "
              "Nottingham's figures held as they were), everywhere at most 2 GB of memory. The reference rows, the other accuracies and every record: "
              "[results](docs/results.md#table-1-the-papers-comparison)."]
    return "\n".join(lines)


def _peak_memory(record: dict) -> str:
    """Returns: a Table 1 run's peak memory; for a run that shared its process with the runs
    before it (benchmarks/table1.py before each run had a process of its own), marked as that
    process's, an upper bound of its own."""
    peak = f"{record['peak_memory_mib'] / 1024:.1f} GiB"
    if record["results"].get("own_process"):
        return peak
    words = record["command"].split()

    def listed(flag: str) -> list[str]:
        after = words[words.index(flag) + 1:] if flag in words else []
        return list(itertools.takewhile(lambda word: not word.startswith("--"), after))

    # The command's runs in the order it made them: data set after data set, model after model.
    order = [(Path(name).stem, model) for name in listed("--datasets") for model in listed("--models")]
    here = (record["results"]["dataset"], record["results"]["model"])
    shared = "--ray" not in words and here in order and order.index(here) > 0
    return f"{peak}, with the runs before it" if shared else peak


def commands_cost(runs: list[tuple[str, dict]]) -> str:
    """Returns: one sentence with the wall time of each of the README's two commands, from the
    records of benchmarks/readme_commands.py."""
    timed = {record["results"]["which"]: (link, record) for link, record in sorted(runs, key=lambda r: r[1]["started"])}
    if not timed:
        return "(Not timed yet: `python benchmarks/readme_commands.py --publish` times them.)"
    names = {"main": "the first (set-up, pretraining, training, four pieces)", "tests": "the second (set-up, tests)"}
    parts = [f"{names[which]} {_duration(record['results']['seconds'])} ([record]({link}))"
             for which, (link, record) in sorted(timed.items())]
    machine = next(iter(timed.values()))[1]["machine"]
    return (f"Wall clock from a fresh clone, downloads included, on {machine['cores']} CPU cores "
            f"({machine['processor']}): {'; '.join(parts)}; timed by `python benchmarks/readme_commands.py`.")


SAMPLE_MODEL_ORDER = ("rnn_rbm", "rnn_nade", "lstm", "rnn", "note_lstm", "melody_lstm", "event_lstm")


def _training(results: dict) -> list[str]:
    """Returns: the cells of how a sampled checkpoint was trained: epochs (best), the wall
    time of its pretraining and training commands, and its best validation figure."""
    runs = results.get("training") or {}
    train = runs.get("train")
    if train is None:
        return ["-", "-", "-"]
    seconds = sum(run["wall_seconds"] for run in runs.values())
    best = (train["results"].get("best") or {}).get(train["results"]["select_metric"])
    metric = train["results"]["select_metric"]
    figure = "-" if best is None else (f"{metric} {100 * best:.1f} %" if "acc" in metric else f"{metric} {best:.3f}")
    return [f"{train['results']['epochs']} ({train['results']['best_epoch']})", _duration(seconds), figure]


def sample_quality(runs: list[tuple[str, dict]]) -> str:
    """What each model writes, beside its data: per checkpoint, the statistics of
    rnn_rbm/music/samplestats.py of its pieces (means over pieces, with each one's overlap
    with the data's in brackets), how it was trained, and whether it meets the long-piece
    targets, from benchmarks/sample_quality.py records.

    Returns: markdown text.
    """
    from rnn_rbm.outputs.statstable import models_table

    if not runs:
        return ("No published sample-quality records yet: `python benchmarks/sample_quality.py CKPT --publish` "
                "makes them.")
    runs = sorted(runs, key=lambda run: (SAMPLE_MODEL_ORDER.index(run[1]["results"]["model"])
                                         if run[1]["results"]["model"] in SAMPLE_MODEL_ORDER else 99,
                                         run[1]["results"]["model"]))
    models = []
    for link, record in runs:
        r = record["results"]
        met = r["targets_met"]
        targets = "all" if all(met.values()) else "missed: " + ", ".join(k for k, ok in met.items() if not ok)
        models.append((f"`{r['model']}`", r["report"], [*_training(r), targets, f"[{Path(link).name}]({link})"]))
    first = runs[0][1]
    table = models_table(first["results"]["report"], first["results"]["reference"], models,
                         ["epochs (best)", "training", "validation", "long-piece targets", "record"])
    generate = first["settings"]["generate"]
    top = next((record["results"]["top_voice"] for _, record in runs if "top_voice" in record["results"]), None)
    melody = ""
    if top is not None:
        # Records from before the top voices were joined at the samples' length have no
        # per-piece figure: their figures are piece by piece.
        if "pitch_range_per_piece" in top:
            measured = (f"over as many frames as a sample: its pieces' top voices joined in order and cut at "
                        f"{generate['num_steps']:,} frames, pitch range {top['pitch_range']:.1f} semitones "
                        f"({top['pitch_range_per_piece']:.1f} within one piece)")
        else:
            measured = f"piece by piece: pitch range {top['pitch_range']:.1f} semitones"
        melody = (f" A one-voice model's targets are the data's top voice's, {measured}, "
                  f"silent-frame share {top['silent']:.3f}.")
    return (f"{table}\n\n{generate['num_samples']} pieces x {generate['num_steps']} frames x "
            f"{first['settings']['seeds']} seeds per model. {_provenance(runs)} Training: the wall time of the checkpoint's own pretraining and training "
            f"commands, from their records.{melody}")


def baselines(runs: list[tuple[str, dict]]) -> str:
    """The paper's reference rows against ours on each data set's test split (our accuracy
    code on Random and Note 1-Gram, and the copy-previous forecast the paper does not give),
    from the newest benchmarks/baselines.py record.

    Returns: markdown text.
    """
    if not runs:
        return "No published baselines record yet: `python benchmarks/baselines.py --publish` makes it."
    link, record = max(runs, key=lambda run: run[1]["started"])
    lines = ["| data set | Random ACC % | paper | Note 1-Gram ACC % | paper | Note 1-Gram log-likelihood "
             "| each frame as the one before it, ACC % |", "|---|---|---|---|---|---|---|"]
    for dataset in DATASET_ORDER:
        rows = record["results"].get(dataset)
        if rows is None:
            continue
        random, gram = rows["Random"], rows["Note 1-Gram"]
        lines.append(f"| {DATASET_TITLES[dataset]} | {100 * random['acc']:.2f} | {_paper('Random', dataset)[1]} "
                     f"| {100 * gram['acc']:.2f} | {_paper('Note 1-Gram', dataset)[1]} | {-gram['nll']:.3f} "
                     f"| {100 * rows['Copy previous frame']['acc']:.2f} |")
    settings = record["settings"]
    return "\n".join(lines) + (f"\n\n{settings['draws']} draws of every test frame, seed {settings['seed']} "
                               f"([record]({link}), `python benchmarks/baselines.py`).")


# Figure 5 of the paper (transcription), frame accuracy %, read from its bars (issue 26): the
# acoustic model alone at threshold 0.5, with HMM smoothing, with the RNN-RBM as its prior.
FIGURE5_PAPER = {"piano_midi": {"threshold": 58.4, "hmm": 59.5, "rnn_rbm": 60.8},
                 "nottingham": {"threshold": 70.6, "hmm": 71.4, "rnn_rbm": 77.1},
                 "musedata": {"threshold": 35.1, "hmm": 30.6, "rnn_rbm": 44.7},
                 "jsb": {"threshold": 71.7, "hmm": 72.0, "rnn_rbm": 80.6}}
# The paper's relative error reduction of the RNN-RBM prior over the HMM, (acc_prior - acc_hmm) /
# (100 - acc_hmm), rounded down as the issue states the targets.
FIGURE5_PAPER_REDUCTION = {"piano_midi": 0.03, "nottingham": 0.20, "musedata": 0.20, "jsb": 0.31}
# Which of the paper's bars each of our rows is compared with.
FIGURE5_PAPER_ROW = {"threshold 0.5": "threshold", "hmm": "hmm", "greedy + rnn_rbm": "rnn_rbm"}


def _figure5_sets(runs: list[tuple[str, dict]]) -> list[tuple[str, str, str, dict, dict]]:
    """Each (data set, audio) of the Figure 5 records, from the newest record that measured it.

    Returns: [(dataset, audio, link, record, result)] in the paper's order of the sets, clean
    audio before noisy; audio is "clean" or "noise N dB" (the acoustic model's training audio,
    which its valid and test audio copy).
    """
    newest: dict[tuple[str, float], tuple[str, dict, dict]] = {}
    for link, record in sorted(runs, key=lambda run: run[1]["started"]):
        for dataset in DATASET_ORDER:
            result = record["results"].get(dataset)
            if isinstance(result, dict):
                noise = result.get("noise_snr_db")
                newest[dataset, float("inf") if noise is None else noise] = (link, record, result)
    return [(dataset, "clean" if noise == float("inf") else f"noise {noise:g} dB", *newest[dataset, noise])
            for dataset, noise in sorted(newest, key=lambda key: (DATASET_ORDER.index(key[0]), -key[1]))]


def _figure5_provenance(sets: list[tuple[str, str, str, dict, dict]]) -> str:
    """Returns: each record's sets, size, whole time and link, then the machines and code."""
    by_link: dict[str, tuple[dict, list[str]]] = {}
    for dataset, audio, link, record, result in sets:
        by_link.setdefault(link, (record, []))[1].append(
            f"{DATASET_TITLES[dataset]} ({audio}) {result['pieces']['test']} test pieces, "
            f"{result['frames']['test']} audio frames")
    runs = [f"{'; '.join(parts)}: [record]({link}), whole run {_duration(record['wall_seconds'])}"
            for link, (record, parts) in by_link.items()]
    return (". ".join(runs) + f". {_provenance([(link, record) for link, (record, _) in by_link.items()])} "
            "`python benchmarks/figure5.py` (its record names the flags).")


def figure5(runs: list[tuple[str, dict]]) -> str:
    """Our Figure 5 beside the paper's, from the newest benchmarks/figure5.py record of each data
    set and audio: every decoder's test accuracy (tuned on valid), the paper's bar where it has
    one, and the targets.

    Returns: markdown text.
    """
    if not runs:
        return "No published Figure 5 record yet: `python benchmarks/figure5.py --publish` makes it."
    met = {True: "met", False: "missed", None: "n/a"}
    lines = ["| data set | audio | decoder | test accuracy % | paper | precision % | recall % | F % | tuned on valid |",
             "|---|---|---|---|---|---|---|---|---|"]
    verdicts = []
    sets = _figure5_sets(runs)
    for dataset, audio, _, _, result in sets:
        for row in result["rows"]:
            test, tuned = row["test"], row["tuned"]
            paper = FIGURE5_PAPER[dataset].get(FIGURE5_PAPER_ROW.get(row["row"], ""))
            shown = {k: tuned[k] for k in ("level", "scaled", "weight", "alpha", "candidates", "width")
                     if k in tuned and (row["decoder"], k) in (("threshold", "level"), ("hmm", "scaled"), ("hmm", "weight"),
                                                               ("greedy", "alpha"), ("greedy", "candidates"),
                                                               ("beam", "alpha"), ("beam", "candidates"),
                                                               ("beam", "width"), ("step", "alpha"),
                                                               ("step", "candidates"))}
            lines.append(f"| {DATASET_TITLES[dataset]} | {audio} | {row['row']} | {100 * test['accuracy']:.1f} | "
                         f"{'-' if paper is None else f'{paper:.1f}'} | {100 * test['precision']:.1f} | "
                         f"{100 * test['recall']:.1f} | {100 * test['f_measure']:.1f} | "
                         + ", ".join(f"{k} {v}" for k, v in shown.items()) + " |")
        found = result["targets"]
        if found.get("prior") is not None:
            verdicts.append(f"{DATASET_TITLES[dataset]} ({audio}): the {found['prior']} prior beats the HMM: "
                            f"{met[found['prior_beats_hmm']]}; the HMM beats the threshold: "
                            f"{met[found['hmm_beats_threshold']]}; error reduction over the HMM "
                            f"{100 * found['reduction']:.1f} % against the paper's "
                            f"{100 * (found['paper_reduction'] or 0):.0f} % ({met[found['reduction_met']]}).")
    return "\n".join(lines + ["", *verdicts, "", _figure5_provenance(sets)])


# The harmonisation table's columns: (figure key, heading, digits).
HARMONY_COLUMNS = (("log_likelihood", "log-likelihood of the lower notes", 3), ("alto_accuracy", "alto %", 1),
                   ("tenor_accuracy", "tenor %", 1), ("bass_accuracy", "bass %", 1),
                   ("lower_accuracy", "lower voices %", 1), ("pitch_class_match", "pitch-class sets %", 1),
                   ("four_notes", "four-note frames %", 1), ("parallel_fifths_per_100", "parallel 5ths", 2),
                   ("parallel_octaves_per_100", "parallel 8ves", 2), ("hidden_fifths_per_100", "hidden 5ths", 2),
                   ("hidden_octaves_per_100", "hidden 8ves", 2), ("crossings_per_100", "crossings", 2),
                   ("overlaps_per_100", "overlaps", 2), ("out_of_range", "notes out of range %", 1),
                   ("polyphony", "notes per sounding frame", 2), ("scale", "scale consistency", 3))


def harmonisation(runs: list[tuple[str, dict]]) -> str:
    """The harmonisation benchmark's table (benchmarks/harmonisation.py), from its newest
    record: every row on all held-out chorales, then the main figures on those whose tune is
    new, then the targets.

    Returns: markdown text.
    """
    if not runs:
        return "No published harmonisation record yet: `python benchmarks/harmonisation.py CKPT ... --publish` makes it."
    link, record = max(runs, key=lambda run: run[1]["started"])
    results = record["results"]

    def cell(figures: dict, key: str, digits: int) -> str:
        value = figures.get(key)
        if value is None:
            return "-"
        se = figures.get(f"{key}_se")
        return f"{value:.{digits}f}" + (f" ± {se:.{digits}f}" if se else "")

    def table(which: str, columns: tuple) -> list[str]:
        lines = ["| | " + " | ".join(heading for _, heading, _ in columns) + " | seconds |",
                 "|---" * (len(columns) + 2) + "|"]
        for row in results["rows"]:
            if not row["figures"]:
                lines.append(f"| {row['label']} | {row['note']} |" + " |" * len(columns))
                continue
            lines.append(f"| {row['label']} | " + " | ".join(cell(row[which], k, d) for k, _, d in columns)
                         + f" | {row['seconds']:.0f} |")
        return lines

    targets = results["targets"]
    met = {True: "met", False: "missed"}
    best = targets["best"]
    verdicts = ", ".join(f"{key} {met[ok]}" for key, ok in targets["rows"].get(best, {}).items())
    settings = record["settings"]
    lines = [f"All {results['chorales']} held-out chorales (voice-leading faults per 100 voice-pair transitions):", "",
             *table("figures", HARMONY_COLUMNS), "",
             f"The {results['new_tunes']} of them whose tune no training chorale sets:", "",
             *table("new_tunes", HARMONY_COLUMNS[:6]), "",
             f"Targets (against the counting baseline and Bach): the best model row by lower-voice accuracy, "
             f"{best}: {verdicts or 'none measured'}; all together **{met[targets['met']]}**.", "",
             f"{settings['draws']} harmonisations drawn per chorale; consensus of {settings['candidates']} draws a "
             f"step; the RNN-RBM's likelihood by AIS, {settings['ais_chains']} chains x "
             f"{settings['ais_temperatures']} temperatures; seed {settings['seed']}. "
             f"{_provenance([(link, record)])} Whole run {_duration(record['wall_seconds'])} "
             f"([record]({link}), `python benchmarks/harmonisation.py`)."]
    return "\n".join(lines)


def harmonisation_summary(runs: list[tuple[str, dict]]) -> str:
    """The harmonisation table cut to the README: every row that wrote something, on all
    held-out chorales, with the likelihood, the accuracies and the parallels; the targets.

    Returns: markdown text.
    """
    if not runs:
        return harmonisation(runs)
    link, record = max(runs, key=lambda run: run[1]["started"])
    columns = [c for c in HARMONY_COLUMNS if c[0] in ("log_likelihood", "lower_accuracy", "bass_accuracy",
                                                        "pitch_class_match", "parallel_fifths_per_100",
                                                        "parallel_octaves_per_100")]
    lines = ["| | " + " | ".join(heading for _, heading, _ in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    # Bach, the baseline, and each checkpoint's row with the best lower-voice accuracy.
    best: dict[str, dict] = {}
    for row in record["results"]["rows"]:
        if row["figures"]:
            key = row["label"].split(",")[0]
            if key not in best or row["figures"]["lower_accuracy"] > best[key]["figures"]["lower_accuracy"]:
                best[key] = row
    for row in best.values():
        if row["figures"]:
            lines.append(f"| {row['label']} | " + " | ".join(
                "-" if row["figures"].get(k) is None else f"{row['figures'][k]:.{d}f}" for k, _, d in columns) + " |")
    targets = record["results"]["targets"]
    missed = [k for k, ok in targets["rows"].get(targets["best"], {}).items() if not ok]
    verdict = "all met" if not missed else "missed: " + ", ".join(missed)
    return "\n".join(lines + ["", f"Targets for the best row, {targets['best']}: {verdict}. Every column, the "
                               f"new tunes and the token models: [results](docs/results.md#harmonisation-judged-against-bach) "
                               f"([record]({link}))."])


def _best_prior(result: dict) -> str:
    """Returns: the most accurate prior on the test split, greedy and beam, e.g. "91.2 (lstm;
    beam 91.2)", or "-" where no prior was run."""
    best = {}
    for row in result["rows"]:
        if row["decoder"] in ("greedy", "beam"):
            best.setdefault(row["prior"], {})[row["decoder"]] = 100 * row["test"]["accuracy"]
    if not best:
        return "-"
    prior = max(best, key=lambda name: best[name].get("greedy", 0.0))
    beam = best[prior].get("beam")
    return f"{best[prior]['greedy']:.1f} ({prior}" + ("" if beam is None else f"; beam {beam:.1f}") + ")"


def figure5_summary(runs: list[tuple[str, dict]]) -> str:
    """Figure 5 cut to the README: per data set and audio, the acoustic model alone, with the
    HMM and with the RNN-RBM prior beside the paper's bars, and the error reduction against the
    paper's.

    Returns: markdown text.
    """
    if not runs:
        return figure5(runs)
    lines = ["| data set | audio | alone % | paper | HMM % | paper | RNN-RBM prior % | paper | error reduction over the HMM | paper "
             "| best prior % |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    links = []
    for dataset, audio, link, _, result in _figure5_sets(runs):
        test = {row["row"]: 100 * row["test"]["accuracy"] for row in result["rows"]}
        paper, found = FIGURE5_PAPER[dataset], result["targets"]
        prior = test.get("greedy + rnn_rbm")
        lines.append(f"| {DATASET_TITLES[dataset]} | {audio} | {test['threshold 0.5']:.1f} | {paper['threshold']} | "
                     f"{test['hmm']:.1f} | {paper['hmm']} | {'-' if prior is None else f'{prior:.1f}'} | "
                     f"{paper['rnn_rbm']} | {100 * found.get('reduction', float('nan')):.1f} % | "
                     f"{100 * (found['paper_reduction'] or 0):.0f} % | {_best_prior(result)} |")
        links += [link] if link not in links else []
    records = ", ".join(f"[{Path(link).stem}]({link})" for link in links)
    return "\n".join(lines + ["", f"Every decoder and prior: [results](docs/results.md#transcription-the-papers-figure-5) "
                               f"(records: {records})."])


RENDERERS: dict[str, tuple[str, Callable[[list[tuple[str, dict]]], str]]] = {
    "baselines": ("baselines", baselines),
    "table1": ("table1", table1),
    "table1_summary": ("table1", table1_summary),
    "commands_cost": ("commands", commands_cost),
    "sample_quality": ("sample_quality", sample_quality),
    "harmonisation": ("harmonisation", harmonisation),
    "figure5": ("figure5", figure5),
    "harmonisation_summary": ("harmonisation", harmonisation_summary),
    "figure5_summary": ("figure5", figure5_summary),
}
BLOCK = re.compile(r"(<!-- rendered: (?P<name>[a-z0-9_]+) -->\n)(?P<body>.*?)(<!-- end rendered: (?P=name) -->)",
                   re.S)


def published(root: Path, folder: str, relative_to: Path) -> list[tuple[str, dict]]:
    """Returns: (link from the folder `relative_to`, record) of every record under
    root/records/folder, in path order."""
    paths = sorted((root / "records" / folder).rglob("*.json"))
    return [(Path(_relative(path, relative_to)).as_posix(), records.load(path)) for path in paths]


def _relative(path: Path, start: Path) -> str:
    import os

    return os.path.relpath(path, start)


def render(text: str, root: Path, document: Path) -> str:
    """Returns: `text` (the markdown file `document` of the repository at `root`) with every
    rendered block filled anew from the records. Raises KeyError for an unknown block name."""

    def fill(match: re.Match) -> str:
        folder, renderer = RENDERERS[match["name"]]
        body = renderer(published(root, folder, document.parent)).rstrip("\n") + "\n"
        return f"{match.group(1)}{body}{match.group(4)}"

    return BLOCK.sub(fill, text)
