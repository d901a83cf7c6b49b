"""Text tables of the statistics of generated music (rnn_rbm/music/samplestats.py): one per
measure for one set of samples against a reference, and one row per model."""

from __future__ import annotations

import math

from rnn_rbm.music.samplestats import DENSE_NOTES, MEASURES, Report

# Columns of the table of models: the measures the targets are about, then the rest.
MODEL_COLUMNS = ("polyphony", "held", "silent", "pitch_range", "pitch_classes", "pc_entropy", "scale", "scale_local",
                 "empty_beats")


def number(value: float) -> str:
    """Returns: value with 3 decimals below 10 and 1 from there (shares and counts alike
    readable), '-' where undefined."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def comparison_table(result: Report, reference_label: str | None = None) -> str:
    """One line per measure: the samples' mean and sd over pieces, the reference's, their
    overlapping area, and each set's means over the first and the last quarter of its pieces.

    Returns: the table as text (no trailing newline).
    """
    width = max(len(m.label) for m in MEASURES)
    head = (f"{'measure':<{width}}  {'samples':>15}  {'reference':>15}  {'overlap':>7}  "
            f"{'drift (first -> last quarter)':>19}")
    lines = [head]
    for row in result.rows:
        drift = f"{number(row.first)} -> {number(row.last)}"
        if result.reference is not None:
            drift += f"  (reference {number(row.ref_first)} -> {number(row.ref_last)})"
        lines.append(f"{row.label:<{width}}  {number(row.mean) + ' ± ' + number(row.sd):>15}  "
                     f"{_mean_sd(row.ref_mean, row.ref_sd):>15}  {number(row.overlap):>7}  {drift}")
    samples = result.samples
    lines.append(f"samples: {samples.pieces} pieces, {samples.frames} frames; frames above "
                 f"{DENSE_NOTES} notes: {_percent(samples.dense_max)} in the densest piece, "
                 f"{_percent(samples.dense_overall)} of all")
    if result.reference is not None:
        ref = result.reference
        lines.append(f"reference{f' ({reference_label})' if reference_label else ''}: {ref.pieces} pieces, "
                     f"{ref.frames} frames; frames above {DENSE_NOTES} notes: {_percent(ref.dense_max)} in the "
                     f"densest piece, {_percent(ref.dense_overall)} of all")
    lines.append("overlap: the overlapping area of the two sets' densities over pieces (Yang & Lerch 2020; "
                 "1 = indistinguishable, 0 = disjoint)")
    return "\n".join(lines)


def models_table(reference: dict, reference_label: str, models: list[tuple[str, dict, list[str]]],
                 extra_head: list[str] = ()) -> str:
    """A Markdown table: the reference's row (means over its pieces), then one row per model
    (means over its samples, each with its overlap with the reference in brackets); the
    dense-frame share as the densest piece's and all frames', and the drift of the notes
    per sounding frame from the first to the last quarter of the pieces.

    reference: a Report.to_json() of any model against this reference (its ref_* figures).
    models: (label, its Report.to_json(), cells for `extra_head`, columns after the label).
    Returns: the table as text (no trailing newline).
    """
    labels = {m.key: m.label for m in MEASURES}
    before, after = MODEL_COLUMNS[:2], MODEL_COLUMNS[2:]
    head = (["", *extra_head, "pieces", *(labels[k] for k in before), f"above {DENSE_NOTES} notes: densest piece / all",
             *(labels[k] for k in after), "notes per sounding frame, first -> last quarter"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def row(label: str, extra: list[str], pieces: int, dense: tuple, cells: dict[str, str], drift: tuple) -> str:
        values = [label, *extra, str(pieces), *(cells[k] for k in before),
                  f"{_percent(dense[0])} / {_percent(dense[1])}", *(cells[k] for k in after),
                  f"{number(drift[0])} -> {number(drift[1])}"]
        return "| " + " | ".join(values) + " |"

    measures = reference["measures"]
    lines.append(row(f"({reference_label})", [""] * len(extra_head), reference["reference_pieces"],
                     (reference["reference_dense_max"], reference["reference_dense_overall"]),
                     {k: number(measures.get(k, {}).get("ref_mean")) for k in MODEL_COLUMNS},
                     (measures["polyphony"]["ref_first"], measures["polyphony"]["ref_last"])))
    for label, result, extra in models:
        # a record older than a measure has none of it: "-"
        measures = {k: {"mean": None, "overlap": None, **result["measures"].get(k, {})} for k in MODEL_COLUMNS}
        lines.append(row(label, extra, result["pieces"], (result["dense_max"], result["dense_overall"]),
                         {k: f"{number(measures[k]['mean'])} ({number(measures[k]['overlap'])})" for k in MODEL_COLUMNS},
                         (measures["polyphony"]["first"], measures["polyphony"]["last"])))
    return "\n".join(lines)


def _mean_sd(mean: float, sd: float) -> str:
    return "-" if not math.isfinite(mean) else f"{number(mean)} ± {number(sd)}"


def _percent(share: float | None) -> str:
    return "-" if share is None or not math.isfinite(share) else f"{100 * share:.2f} %"
