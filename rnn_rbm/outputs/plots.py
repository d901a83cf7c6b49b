"""Pictures: piano rolls (PNG, and images for TensorBoard) and training curves (PNG).

matplotlib draws on its Agg canvas directly (no pyplot, no global state, no screen).
Rolls are time-major, `(num_steps, num_pitches)`, float32 of 0/1, column `i` =
MIDI pitch `lowest_pitch + i`; images put high pitches at the top.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterable

import numpy as np
import pretty_midi
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

# Colours (RGB) of a piano roll's cells: background rows of white and black keys, and
# notes by where they come from.
WHITE_KEY_ROW = (255, 255, 255)
BLACK_KEY_ROW = (234, 235, 240)
GENERATED = (31, 78, 160)
PRIMER = (150, 150, 150)
MELODY = (222, 110, 20)
_BLACK_KEYS = {1, 3, 6, 8, 10}  # pitch classes of the black keys (C = 0)


def roll_image(roll: np.ndarray, lowest_pitch: int = 21, primer_steps: int = 0,
               clamped: np.ndarray | None = None, scale: int = 1) -> np.ndarray:
    """Paints a roll: one pixel per frame and pitch (times `scale`), pitch rising upwards,
    notes coloured as primer (the first primer_steps frames), melody (where `clamped`,
    (num_steps, num_pitches), is nonzero) or generated.

    Returns: uint8 RGB, shape (num_pitches * scale, num_steps * scale, 3): row 0 is the
    highest pitch, column 0 the first frame.
    """
    active = np.asarray(roll) > 0
    steps, pitches = active.shape
    classes = (lowest_pitch + np.arange(pitches)) % 12
    image = np.empty((steps, pitches, 3), dtype=np.uint8)
    image[:] = np.where(np.isin(classes, list(_BLACK_KEYS))[:, None], BLACK_KEY_ROW, WHITE_KEY_ROW)
    source = np.zeros((steps, 1), dtype=bool)
    source[:primer_steps] = True
    held = np.zeros_like(active) if clamped is None else np.asarray(clamped) > 0
    image[active] = GENERATED
    image[active & held] = MELODY
    image[active & source] = PRIMER
    image = np.ascontiguousarray(image.transpose(1, 0, 2)[::-1])  # (pitch, time), high on top
    if scale > 1:
        image = image.repeat(scale, axis=0).repeat(scale, axis=1)
    return image


def summary_image(roll: np.ndarray, lowest_pitch: int = 21, primer_steps: int = 0,
                  scale: int = 3) -> np.ndarray:
    """A roll as one image for `tf.summary.image(name, summary_image(roll), step)`
    (scaled up: TensorBoard shows images at their own size, and 88 rows are small).

    Returns: uint8 RGB, shape (1, num_pitches * scale, num_steps * scale, 3).
    """
    return roll_image(roll, lowest_pitch, primer_steps, scale=scale)[np.newaxis]


def _pitch_window(active: np.ndarray, lowest_pitch: int) -> tuple[int, int]:
    """The MIDI pitches to show: the ones used, 2 semitones either side, at least an octave
    and a half (C3 to F#4 when the roll is silent)."""
    used = np.nonzero(active.any(axis=0))[0]
    if used.size == 0:
        low, high = 48, 66
    else:
        low, high = lowest_pitch + int(used.min()) - 2, lowest_pitch + int(used.max()) + 2
        if high - low < 18:
            middle = (low + high) // 2
            low, high = middle - 9, middle + 9
    return max(low, lowest_pitch), min(high, lowest_pitch + active.shape[1] - 1)


def piano_roll_png(path: Path, roll: np.ndarray, steps_per_quarter: int, lowest_pitch: int = 21,
                   primer_steps: int = 0, clamped: np.ndarray | None = None,
                   title: str | None = None) -> Path:
    """Draws a roll as a PNG: pitch upwards with note names at every C (at every natural
    note when fewer than two Cs show), time in beats (quarter notes), primer, melody and
    generated notes in their own colours, a line where the primer ends.

    roll: (num_steps, num_pitches), time-major; clamped: optional, same shape.
    Returns: path.
    """
    active = np.asarray(roll) > 0
    steps = active.shape[0]
    low, high = _pitch_window(active, lowest_pitch)
    image = roll_image(roll, lowest_pitch, primer_steps, clamped)
    top_row = lowest_pitch + active.shape[1] - 1
    image = image[top_row - high: top_row - low + 1]
    beats = steps / steps_per_quarter
    fig = Figure(figsize=(min(max(3 + 0.12 * beats, 6), 24), min(max(1.5 + 0.08 * (high - low), 3), 8)),
                 dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(image, aspect="auto", interpolation="nearest",
              extent=(0, max(beats, 1e-9), low - 0.5, high + 0.5))
    pitches = range(low, high + 1)
    named = [p for p in pitches if p % 12 == 0]
    if len(named) < 2:
        named = [p for p in pitches if p % 12 not in _BLACK_KEYS]
    ax.set_yticks(named, [pretty_midi.note_number_to_name(p) for p in named])
    ax.set_yticks(list(pitches), minor=True)
    ax.tick_params(axis="y", which="minor", length=2)
    ax.set_xlabel("time (beats)")
    ax.set_ylabel("pitch")
    ax.grid(axis="x", color="#888888", linewidth=0.4, alpha=0.5)
    legend = []
    if primer_steps > 0:
        ax.axvline(primer_steps / steps_per_quarter, color="black", linewidth=1.0)
        legend.append(Patch(color=np.divide(PRIMER, 255), label="primer"))
    if clamped is not None and (np.asarray(clamped) > 0).any():
        legend.append(Patch(color=np.divide(MELODY, 255), label="melody (held)"))
    if legend:
        legend.append(Patch(color=np.divide(GENERATED, 255), label="generated"))
        ax.legend(handles=legend, loc="upper right", fontsize="small", framealpha=0.9)
    if title:
        ax.set_title(title, fontsize="medium")
    fig.savefig(path, format="png")
    return Path(path)


def read_metrics(path: Path) -> list[dict]:
    """Reads a training run's metrics.jsonl (one JSON object per line; blank lines skipped).

    Returns: the epoch records, in file order.
    """
    with open(path) as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _curve_keys(records: Iterable[dict]) -> list[str]:
    """cost, then every valid_* metric, then the learning rate, as far as any record has them."""
    keys = {k for r in records for k, v in r.items() if _finite(v)}
    valid = sorted(k for k in keys if k.startswith("valid_"))
    return [k for k in ("cost", *valid, "learning_rate") if k in keys]


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def training_curves_png(records: list[dict], path: Path, title: str | None = None) -> Path:
    """Draws cost and validation curves against the epoch, one panel per metric (cost,
    each valid_* key, learning_rate when present) and one line per run (records' "run").
    None or non-finite values are left out; a metric measured every few epochs is drawn
    through the epochs that have it.

    records: dicts with at least "epoch"; as train() returns or metrics.jsonl holds.
    Returns: path.
    """
    keys = _curve_keys(records)
    runs = list(dict.fromkeys(str(r.get("run", "")) for r in records))
    fig = Figure(figsize=(7, 1.2 + 2.2 * max(len(keys), 1)), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    if not keys:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no metrics recorded yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    axes = fig.subplots(len(keys), 1, sharex=True, squeeze=False)[:, 0] if keys else []
    for ax, key in zip(axes, keys):
        for index, run in enumerate(runs):
            points = [(r["epoch"], r[key]) for r in records
                      if str(r.get("run", "")) == run and _finite(r.get(key)) and _finite(r.get("epoch"))]
            if points:
                epochs, values = zip(*sorted(points))
                ax.plot(epochs, values, marker="." if len(points) < 40 else None, color=f"C{index % 10}",
                        label=run or None, drawstyle="steps-post" if key == "learning_rate" else "default")
        ax.set_ylabel(key)
        if key == "learning_rate":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    if len(axes):
        axes[-1].set_xlabel("epoch")
        if len(runs) > 1:
            axes[0].legend(title="run", fontsize="small")
    if title:
        fig.suptitle(title)
    fig.savefig(path, format="png")
    return Path(path)


def measure_histograms_png(path: Path, samples: dict[str, np.ndarray], labels: dict[str, str],
                           reference: dict[str, np.ndarray] | None = None, title: str | None = None) -> Path:
    """Draws one panel per measure: the histogram of the samples' per-piece values and, when
    given, the reference's, each scaled to unit area so that sets of any size compare.

    samples, reference: {measure key: float array (pieces,)}, nan values left out.
    labels: {measure key: panel title}, in the order of the panels.
    Returns: path.
    """
    keys = list(labels)
    columns = min(len(keys), 5)
    rows = -(-len(keys) // columns)
    fig = Figure(figsize=(2.6 * columns, 2.1 * rows + 0.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    sets = [("samples", samples, GENERATED)] + ([("reference", reference, PRIMER)] if reference else [])
    for ax, key in zip(axes, keys):
        drawn = {name: np.asarray(values[key], dtype=float) for name, values, _ in sets}
        drawn = {name: v[np.isfinite(v)] for name, v in drawn.items()}
        everything = np.concatenate(list(drawn.values()))
        if everything.size:
            low, high = float(everything.min()), float(everything.max())
            bins = np.linspace(low, high if high > low else low + 1.0, 21)
            for name, values, colour in sets:
                if drawn[name].size:
                    ax.hist(drawn[name], bins=bins, density=True, histtype="stepfilled", alpha=0.45,
                            color=np.divide(colour, 255), label=name)
        else:
            ax.text(0.5, 0.5, "undefined", ha="center", va="center", transform=ax.transAxes, color="#888888")
        ax.set_title(labels[key], fontsize="small")
        ax.tick_params(labelsize="x-small")
        ax.set_yticks([])
    for ax in axes[len(keys):]:
        ax.set_axis_off()
    if len(sets) > 1:
        axes[0].legend(fontsize="x-small")
    if title:
        fig.suptitle(title, fontsize="medium")
    fig.savefig(path, format="png")
    return Path(path)


def transcription_png(path: Path, posteriors: np.ndarray, decoded: np.ndarray, frame_seconds: float,
                      lowest_pitch: int = 21, title: str | None = None) -> Path:
    """Draws a transcription: above, the acoustic model's probability of every note (white 0,
    black 1); below, the notes decoded; pitch upwards over the pitches either shows, time in seconds.

    posteriors: (num_frames, num_pitches), time-major, probabilities; decoded: same shape, 0/1;
    column i = MIDI pitch lowest_pitch + i; each row lasts frame_seconds.
    Returns: path.
    """
    posteriors = np.asarray(posteriors, dtype=np.float32)
    active = np.asarray(decoded) > 0
    # Faint probabilities widen the window too, so that a note the decoder dropped still shows.
    low, high = _pitch_window(active | (posteriors > 0.2), lowest_pitch)
    columns = slice(low - lowest_pitch, high - lowest_pitch + 1)
    seconds = max(len(active) * frame_seconds, 1e-9)
    extent = (0, seconds, low - 0.5, high + 0.5)
    fig = Figure(figsize=(min(max(6, 3 + 0.15 * seconds), 24), min(max(4, 2 + 0.12 * (high - low)), 12)),
                 dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.imshow(posteriors[:, columns].T[::-1], aspect="auto", interpolation="nearest", cmap="Greys", vmin=0.0,
               vmax=1.0, extent=extent)
    top.set_title("acoustic model: P(note sounds)", fontsize="small")
    image = roll_image(active.astype(np.float32), lowest_pitch)
    top_row = lowest_pitch + active.shape[1] - 1
    bottom.imshow(image[top_row - high: top_row - low + 1], aspect="auto", interpolation="nearest", extent=extent)
    bottom.set_title("decoded notes", fontsize="small")
    pitches = range(low, high + 1)
    named = [p for p in pitches if p % 12 == 0] or [p for p in pitches if p % 12 not in _BLACK_KEYS]
    for ax in (top, bottom):
        ax.set_yticks(named, [pretty_midi.note_number_to_name(p) for p in named])
        ax.set_ylabel("pitch")
    bottom.set_xlabel("time (s)")
    if title:
        fig.suptitle(title, fontsize="medium")
    fig.savefig(path, format="png")
    return Path(path)


def grouped_bars_png(path: Path, groups: dict[str, dict[str, float]], ylabel: str, title: str | None = None) -> Path:
    """Draws bars in groups, as the paper's Figure 5: one group per key of `groups` (a data set),
    one bar per key of its dict (a row: a decoder, a prior, the paper's figure), the same
    colour for the same row in every group, its value written above it.

    Returns: path.
    """
    rows = list(dict.fromkeys(row for values in groups.values() for row in values))
    fig = Figure(figsize=(max(6, 1.0 + 0.45 * len(rows) * len(groups)), 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / max(len(rows), 1)
    for index, row in enumerate(rows):
        xs = [g + (index - (len(rows) - 1) / 2) * width for g, values in enumerate(groups.values()) if row in values]
        heights = [values[row] for values in groups.values() if row in values]
        bars = ax.bar(xs, heights, width, label=row, color=f"C{index % 10}")
        ax.bar_label(bars, fmt="%.1f", fontsize="x-small", padding=1)
    ax.set_xticks(range(len(groups)), list(groups))
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title, fontsize="medium")
    fig.savefig(path, format="png")
    return Path(path)
