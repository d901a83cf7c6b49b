"""What generated music looks like, against a reference: one small function per measure,
the overlapping area of two sets of per-piece values, and drift within a piece (numpy and
muspy, no TensorFlow).

Likelihood says little about what a model writes when it runs on its own. These measures
are computed per piece; a set of pieces (a model's samples, a data set's split) becomes
one value per piece and measure, and two sets are compared by their means and spreads and
by how much their distributions overlap (Yang & Lerch 2020). Drift: every measure again on
the first and on the last quarter of each piece.

Where muspy (Dong et al. 2020, `muspy.metrics`) has a measure, it computes it, on a
`muspy.Music` built from the roll with one note per run of consecutive active frames of a
pitch (as `pianoroll.roll_to_midi` writes them). Its note-based measures count notes, not
frames: a chord held for eight frames is three notes.

Rolls are time-major: `(num_steps, num_pitches)`, float32 of 0/1, column `i` = MIDI pitch
`lowest_pitch + i`.

References:
- L.-C. Yang and A. Lerch, "On the evaluation of generative models in music", Neural
  Computing and Applications 32, 2020 (the overlapping area of two densities).
- H.-W. Dong, K. Chen, J. McAuley and T. Berg-Kirkpatrick, "MusPy: a toolkit for symbolic
  music generation", ISMIR 2020.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from rnn_rbm.files import json_number
from rnn_rbm.music.pianoroll import held_fraction, mean_polyphony, notes_per_frame

# A frame with more notes than this is dense: Bach's chorales have four voices, and a
# model that drifts sinks into clusters of nine and more (issue 13).
DENSE_NOTES = 8
# The overlapping area is integrated on this many points, from KDE_REACH bandwidths below
# the smallest value to as far above the largest (a Gaussian keeps 6e-7 of its mass beyond 5 sd).
GRID_POINTS = 4096
KDE_REACH = 5.0
# Scale consistency "in the key of the moment" is taken over windows of this many quarter
# notes: 64 quarters is about one chorale (Bach's median is 48), so a chorale is measured
# whole and a 1,024-frame sample in eight windows. Against the whole-piece figure it tells a
# model that writes out of key (both low) from one that modulates (windows high, whole low).
KEY_WINDOW_QUARTERS = 64


@dataclass
class Piece:
    """One roll with its grid; `music` is the same piece as a muspy.Music, built once."""

    roll: np.ndarray  # bool, (num_steps, num_pitches), time-major
    steps_per_quarter: int
    lowest_pitch: int = 21

    @functools.cached_property
    def music(self):
        """Returns: a muspy.Music of one piano track, resolution = steps_per_quarter time steps
        per quarter note, one note per run of consecutive active frames of a pitch."""
        import muspy  # imports scipy and music21: a second or two, only when measuring

        full = np.zeros((len(self.roll), 128), dtype=bool)
        full[:, self.lowest_pitch:self.lowest_pitch + self.roll.shape[1]] = self.roll
        return muspy.from_pianoroll_representation(full, resolution=self.steps_per_quarter,
                                                   encode_velocity=False)


def notes_per_sounding_frame(piece: Piece) -> float:
    """Mean polyphony: sum of notes over frames / number of frames with at least one note
    (`pianoroll.mean_polyphony`; muspy.polyphony is the same). Returns: nan when silent."""
    return mean_polyphony([piece.roll])


def dense_frame_share(piece: Piece) -> float:
    """#(frames with more than DENSE_NOTES notes) / #(frames). Returns: float in [0, 1]."""
    return float(np.mean(notes_per_frame([piece.roll]) > DENSE_NOTES)) if len(piece.roll) else math.nan


def silent_frame_share(piece: Piece) -> float:
    """#(frames where no note sounds) / #(frames). Returns: float in [0, 1]."""
    return float(np.mean(notes_per_frame([piece.roll]) == 0)) if len(piece.roll) else math.nan


def held_note_ratio(piece: Piece) -> float:
    """P(on at t+1 | on at t): #(pitch-frames on with the next frame on too) / #(pitch-frames on
    before the last frame) (`pianoroll.held_fraction`). Returns: nan when nothing sounds."""
    return held_fraction([piece.roll])


def pitch_range(piece: Piece) -> float:
    """Highest minus lowest MIDI pitch used, in semitones (muspy.pitch_range; 0 when silent)."""
    import muspy

    return float(muspy.pitch_range(piece.music))


def pitches_used(piece: Piece) -> float:
    """Number of distinct MIDI pitches used (muspy.n_pitches_used)."""
    import muspy

    return float(muspy.n_pitches_used(piece.music))


def pitch_classes_used(piece: Piece) -> float:
    """Number of distinct pitch classes (pitch mod 12) used, 0 to 12 (muspy.n_pitch_classes_used)."""
    import muspy

    return float(muspy.n_pitch_classes_used(piece.music))


def pitch_class_entropy(piece: Piece) -> float:
    """Shannon entropy in bits of the notes' pitch-class histogram,
    -sum_c P(c) log2 P(c) (muspy.pitch_class_entropy; Wu & Yang 2020): 0 for one pitch
    class, log2(12) = 3.585 for all twelve equally. Returns: nan when silent."""
    import muspy

    return float(muspy.pitch_class_entropy(piece.music)) + 0.0  # + 0.0: muspy gives -0.0 for one class


def scale_consistency(piece: Piece) -> float:
    """The largest share of notes inside one major or minor scale, over all 24
    (muspy.scale_consistency; Mogren 2016): 1 for a piece in one key. Returns: nan when silent."""
    import muspy

    return float(muspy.scale_consistency(piece.music))


def windowed_scale_consistency(piece: Piece) -> float:
    """scale_consistency of each window of KEY_WINDOW_QUARTERS quarter notes, averaged (a
    last window shorter than half a window joins the one before it; a short piece is one
    window). Returns: nan when silent."""
    size = KEY_WINDOW_QUARTERS * piece.steps_per_quarter
    starts = list(range(0, max(len(piece.roll) - size // 2, 1), size))
    ends = starts[1:] + [len(piece.roll)]
    values = [scale_consistency(Piece(piece.roll[a:b], piece.steps_per_quarter, piece.lowest_pitch))
              for a, b in zip(starts, ends)]
    values = [v for v in values if not math.isnan(v)]
    return float(np.mean(values)) if values else math.nan


def empty_beat_rate(piece: Piece) -> float:
    """#(beats in which no note sounds) / #(beats), a beat being a quarter note
    (steps_per_quarter frames; a last, partial beat counts).

    muspy.empty_beat_rate has the same definition (Dong et al. 2018, Pypianoroll), but
    measures a piece only up to its last note's end and counts the beat in which a note
    ends as sounding even when the note ends on its first frame: a piece that falls
    silent would score 0. Here the roll's own length and its frames decide.
    Returns: float in [0, 1].
    """
    if not len(piece.roll):
        return math.nan
    sounding = notes_per_frame([piece.roll]) > 0
    beats = -(-len(sounding) // piece.steps_per_quarter)
    padded = np.zeros(beats * piece.steps_per_quarter, dtype=bool)
    padded[:len(sounding)] = sounding
    return float(np.mean(~padded.reshape(beats, piece.steps_per_quarter).any(axis=1)))


@dataclass(frozen=True)
class Measure:
    """A measure of one piece: its key in JSON, its name in tables, its function."""

    key: str
    label: str
    function: Callable[[Piece], float]


MEASURES: tuple[Measure, ...] = (
    Measure("polyphony", "notes per sounding frame", notes_per_sounding_frame),
    Measure("dense", f"share of frames above {DENSE_NOTES} notes", dense_frame_share),
    Measure("silent", "silent-frame share", silent_frame_share),
    Measure("held", "held note ratio", held_note_ratio),
    Measure("pitch_range", "pitch range (semitones)", pitch_range),
    Measure("pitches", "pitches used", pitches_used),
    Measure("pitch_classes", "pitch classes used", pitch_classes_used),
    Measure("pc_entropy", "pitch-class entropy (bits)", pitch_class_entropy),
    Measure("scale", "scale consistency", scale_consistency),
    Measure("scale_local", f"scale consistency, {KEY_WINDOW_QUARTERS}-quarter windows", windowed_scale_consistency),
    Measure("empty_beats", "empty-beat rate", empty_beat_rate),
)


def piece_measures(roll: np.ndarray, steps_per_quarter: int, lowest_pitch: int = 21) -> dict[str, float]:
    """Every measure of one piece.

    roll: (num_steps, num_pitches), time-major, nonzero = sounding.
    Returns: {measure key: float} (nan where a measure is undefined, e.g. on silence).
    """
    piece = Piece(np.asarray(roll) > 0, steps_per_quarter, lowest_pitch)
    return {m.key: m.function(piece) for m in MEASURES}


def quarters(roll: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Returns: (first quarter, last quarter) of a roll's frames, each (len // 4, V), or None
    for a roll shorter than 4 frames."""
    size = len(roll) // 4
    return (roll[:size], roll[len(roll) - size:]) if size else None


@dataclass(frozen=True)
class SetStats:
    """Per-piece values of every measure for one set of pieces: `values[key]` float64 of
    shape (pieces,), and the same on each piece's first and last quarter (nan for pieces
    shorter than 4 frames)."""

    pieces: int
    frames: int
    values: dict[str, np.ndarray]
    first: dict[str, np.ndarray]
    last: dict[str, np.ndarray]
    # Share of all frames of the set (not the mean of the pieces' shares) above DENSE_NOTES.
    dense_overall: float

    @property
    def dense_max(self) -> float:
        """Returns: the largest share of frames above DENSE_NOTES in one piece."""
        return float(np.nanmax(self.values["dense"])) if self.pieces else math.nan


def describe(rolls: list[np.ndarray] | np.ndarray, steps_per_quarter: int, lowest_pitch: int = 21) -> SetStats:
    """Measures every piece of `rolls` (each (num_steps, num_pitches), time-major), whole and
    in its first and last quarter.

    Returns: SetStats.
    """
    nan = {m.key: math.nan for m in MEASURES}
    whole, first, last = [], [], []
    for roll in rolls:
        whole.append(piece_measures(roll, steps_per_quarter, lowest_pitch))
        ends = quarters(np.asarray(roll))
        first.append(nan if ends is None else piece_measures(ends[0], steps_per_quarter, lowest_pitch))
        last.append(nan if ends is None else piece_measures(ends[1], steps_per_quarter, lowest_pitch))

    def columns(rows: list[dict[str, float]]) -> dict[str, np.ndarray]:
        return {m.key: np.array([r[m.key] for r in rows], dtype=np.float64) for m in MEASURES}

    counts = notes_per_frame(rolls)
    dense = float(np.mean(counts > DENSE_NOTES)) if counts.size else math.nan
    return SetStats(len(whole), int(counts.size), columns(whole), columns(first), columns(last), dense)


def _scott_bandwidth(values: np.ndarray) -> float:
    """Scott's rule for a 1-D Gaussian KDE: h = sd * n^(-1/5) (0 when all values are equal)."""
    return float(np.std(values, ddof=1) * len(values) ** -0.2) if len(values) > 1 else 0.0


def _kde(values: np.ndarray, bandwidth: float, grid: np.ndarray) -> np.ndarray:
    """Returns: the Gaussian KDE of `values` with `bandwidth`, evaluated on `grid`."""
    z = (grid[:, None] - values[None, :]) / bandwidth
    return np.exp(-0.5 * z * z).sum(axis=1) / (len(values) * bandwidth * math.sqrt(2 * math.pi))


def overlapping_area(a: np.ndarray, b: np.ndarray) -> float:
    """How much two sets of values are distributed alike: OA = integral of min(p_a(x), p_b(x))
    dx, p_a and p_b Gaussian kernel density estimates (Scott's bandwidth) of the sets (Yang &
    Lerch 2020). 1: the same distribution; 0: nothing in common.

    nan values are left out. A set whose values are all equal has no spread to set a
    bandwidth: it borrows the other set's. Two such sets overlap fully when their values
    are equal and not at all otherwise.
    Returns: float in [0, 1], nan when either set has no value.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if not a.size or not b.size:
        return math.nan
    ha, hb = _scott_bandwidth(a), _scott_bandwidth(b)
    if ha == 0 and hb == 0:
        return 1.0 if a[0] == b[0] else 0.0
    ha, hb = ha or hb, hb or ha
    reach = KDE_REACH * max(ha, hb)
    grid = np.linspace(min(a.min(), b.min()) - reach, max(a.max(), b.max()) + reach, GRID_POINTS)
    low = np.minimum(_kde(a, ha, grid), _kde(b, hb, grid))
    area = (grid[1] - grid[0]) * (low.sum() - 0.5 * (low[0] + low[-1]))  # the trapezoid rule
    return float(min(max(area, 0.0), 1.0))


@dataclass(frozen=True)
class Comparison:
    """One measure of a set of samples, beside a reference set (ref_* and overlap nan
    without one): means and standard deviations over pieces, their overlapping area, and
    the means over the pieces' first and last quarters."""

    key: str
    label: str
    mean: float
    sd: float
    first: float
    last: float
    ref_mean: float = math.nan
    ref_sd: float = math.nan
    ref_first: float = math.nan
    ref_last: float = math.nan
    overlap: float = math.nan


def mean_sd(values: np.ndarray) -> tuple[float, float]:
    """Returns: the mean and standard deviation (ddof 1; 0 for one value) of the values that
    are not nan (nan, nan when none is)."""
    values = values[~np.isnan(values)]
    if not values.size:
        return math.nan, math.nan
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0


def mean(values: np.ndarray) -> float:
    """Returns: the mean of the values that are not nan (nan when none is)."""
    return mean_sd(values)[0]


def compare(samples: SetStats, reference: SetStats | None = None) -> list[Comparison]:
    """Returns: one Comparison per measure, in the order of MEASURES."""
    rows = []
    for m in MEASURES:
        row = dict(zip(("mean", "sd"), mean_sd(samples.values[m.key])),
                   first=mean(samples.first[m.key]), last=mean(samples.last[m.key]))
        if reference is not None:
            row.update(zip(("ref_mean", "ref_sd"), mean_sd(reference.values[m.key])),
                       ref_first=mean(reference.first[m.key]), ref_last=mean(reference.last[m.key]),
                       overlap=overlapping_area(samples.values[m.key], reference.values[m.key]))
        rows.append(Comparison(m.key, m.label, **row))
    return rows


def _finite(value: float, digits: int = 4) -> float | None:
    return json_number(round(value, digits))


@dataclass(frozen=True)
class Report:
    """Samples against a reference, ready to print or store: what was compared and how."""

    samples: SetStats
    reference: SetStats | None
    rows: list[Comparison] = field(default_factory=list)

    def to_json(self) -> dict:
        """Returns: a JSON-able dict: pieces, frames, the dense-frame figures and, per measure
        key, {label, mean, sd, first, last, ref_mean, ref_sd, ref_first, ref_last, overlap}
        (None where undefined), numbers rounded to 4 digits."""
        out = {"pieces": self.samples.pieces, "frames": self.samples.frames,
               "dense_max": _finite(self.samples.dense_max), "dense_overall": _finite(self.samples.dense_overall)}
        if self.reference is not None:
            out.update(reference_pieces=self.reference.pieces, reference_frames=self.reference.frames,
                       reference_dense_max=_finite(self.reference.dense_max),
                       reference_dense_overall=_finite(self.reference.dense_overall))
        out["measures"] = {
            r.key: {"label": r.label, **{name: _finite(getattr(r, name)) for name in (
                "mean", "sd", "first", "last", "ref_mean", "ref_sd", "ref_first", "ref_last", "overlap")}}
            for r in self.rows}
        return out

    def pieces_json(self) -> list[dict]:
        """Returns: per sample piece, {measure key: value} (None where undefined, 4 digits)."""
        values = self.samples.values
        return [{key: _finite(float(column[i])) for key, column in values.items()}
                for i in range(self.samples.pieces)]


def report(samples: list[np.ndarray] | np.ndarray, reference: list[np.ndarray] | None,
           steps_per_quarter: int, lowest_pitch: int = 21) -> Report:
    """Measures `samples` and `reference` (rolls, each (num_steps, num_pitches), time-major;
    reference may be None) and compares them.

    Returns: Report.
    """
    mine = describe(samples, steps_per_quarter, lowest_pitch)
    theirs = None if reference is None else describe(reference, steps_per_quarter, lowest_pitch)
    return Report(mine, theirs, compare(mine, theirs))


def reference_pieces(dataset, split: str | None) -> tuple[list[np.ndarray], str]:
    """The reference set of a data.Dataset: the pieces of `split`; without one, the test
    split where the data has one, else all its pieces (bach and MIDI folders have no test
    split, and samples are not held out from anything).

    Returns: (rolls, a label naming the split).
    """
    if split is not None:
        return getattr(dataset, split), f"{split} split"
    if dataset.test:
        return dataset.test, "test split"
    return dataset.train + dataset.valid, "all pieces"
