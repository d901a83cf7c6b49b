"""Frame accuracy (rnn_rbm/ops/accuracy.py) on frames with a known answer, and the paper's
reference rows (rnn_rbm/engine/baselines.py) against exact expectations and the paper."""

import itertools
import math

import numpy as np
import pytest

from rnn_rbm.config import DataConfig
from rnn_rbm.data.dataset import load_dataset
from rnn_rbm.engine import baselines
from rnn_rbm.ops import accuracy, bernoulli

V, LOWEST = 88, 21


def frame(*pitches: int) -> np.ndarray:
    """Returns: float32 (V,), 1 at the columns of the MIDI `pitches`."""
    out = np.zeros(V, np.float32)
    out[[p - LOWEST for p in pitches]] = 1.0
    return out


def scored(system: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Returns: (the paper's accuracy, TP / (TP + FP + FN)) of one predicted frame."""
    counts = accuracy.frame_counts(system, truth).numpy()
    return float(accuracy.per_frame(counts)), float(accuracy.per_frame_tp_fp_fn(counts))


def test_a_wrong_note_in_place_of_a_right_one_is_one_error():
    # C major against C E A: two correct of three, one replacement.
    assert scored(frame(60, 64, 69), frame(60, 64, 67)) == pytest.approx((2 / 3, 2 / 4))


def test_misses_and_insertions_are_errors_each():
    assert scored(frame(60), frame(60, 64, 67)) == pytest.approx((1 / 3, 1 / 3))  # two misses
    assert scored(frame(60, 64, 67, 72), frame(60, 64, 67)) == pytest.approx((3 / 4, 3 / 4))  # one insertion
    # Two notes for one wrong one: one replacement and one insertion.
    assert scored(frame(62, 65), frame(60)) == pytest.approx((0.0, 0.0))
    assert scored(frame(60, 62, 65), frame(60, 64)) == pytest.approx((1 / 3, 1 / 4))


def test_silence():
    assert scored(frame(), frame()) == (1.0, 1.0)  # nothing to find, nothing claimed: exact
    assert scored(frame(), frame(60)) == (0.0, 0.0)
    assert scored(frame(60), frame()) == (0.0, 0.0)


def test_summarise_averages_frames_then_draws():
    # 2 frames x 2 draws of (TP, FP, FN).
    counts = np.array([[[2, 1, 1], [1, 0, 0]],
                       [[0, 0, 0], [0, 1, 3]]], np.float64)
    got = accuracy.summarise(counts)
    paper = [(2 / 3 + 1) / 2, (1 + 0) / 2]  # each draw's mean over frames
    tp_fp_fn = [(2 / 4 + 1) / 2, (1 + 0) / 2]
    pooled = [2 / 4, 1 / 5]  # each draw's counts summed over frames
    assert got.expected == pytest.approx(np.mean(paper))
    assert got.expected_se == pytest.approx(np.std(paper, ddof=1) / math.sqrt(2))
    assert got.tp_fp_fn == pytest.approx(np.mean(tp_fp_fn))
    assert got.tp_fp_fn_se == pytest.approx(np.std(tp_fp_fn, ddof=1) / math.sqrt(2))
    assert got.pooled == pytest.approx(np.mean(pooled))
    assert got.pooled_se == pytest.approx(np.std(pooled, ddof=1) / math.sqrt(2))
    assert all(math.isnan(x) for x in vars(accuracy.summarise(np.zeros((0, 2, 3)))).values())


def test_a_tally_over_chunks_of_frames_gives_the_figures_of_all_at_once():
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 4, size=(50, 3, 3)).astype(np.float64)
    counts[7] = 0  # a frame both silent and predicted silent
    tally = accuracy.Tally()
    for start in (0, 1, 20, 49):
        tally.add(counts[start : {0: 1, 1: 20, 20: 49, 49: 50}[start]])
    tally.add(counts[:0])
    whole = accuracy.summarise(counts)
    for got, want in zip(vars(tally.result()).values(), vars(whole).values()):
        assert got == pytest.approx(want, rel=1e-12)
    assert whole.expected == pytest.approx(accuracy.per_frame(counts).mean())


def test_independent_pitch_counts_are_those_of_the_drawn_frames():
    # Probabilities 0 and 1: every draw is pitches 0 and 2.
    truth = np.array([[1, 1, 0], [0, 0, 0], [0, 1, 1]], np.float32)
    counts = np.concatenate(list(baselines.independent_pitch_counts(np.array([1.0, 0.0, 1.0]), truth, 4,
                                                                    np.random.default_rng(0))))
    expected = accuracy.frame_counts(np.array([1, 0, 1], np.float32), truth).numpy()
    np.testing.assert_array_equal(counts, np.repeat(expected[:, np.newaxis], 4, axis=1))


EVERY_FRAME = np.array(list(itertools.product((0.0, 1.0), repeat=3)), np.float32)  # all 8 frames of 3 pitches


def exact_expectations(p: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Returns: the mean over the true frames of E[accuracy] over independent pitches p, the
    paper's and TP / (TP + FP + FN), by enumerating every frame a draw can be."""
    chance = np.prod(np.where(EVERY_FRAME > 0, p, 1.0 - p), axis=1)  # (8,)
    counts = accuracy.frame_counts(EVERY_FRAME[np.newaxis], truth[:, np.newaxis]).numpy()  # (T, 8, 3)
    return (float((accuracy.per_frame(counts) @ chance).mean()),
            float((accuracy.per_frame_tp_fp_fn(counts) @ chance).mean()))


@pytest.mark.parametrize("p", [[0.5, 0.5, 0.5], [0.2, 0.6, 0.9]])
def test_monte_carlo_accuracy_matches_enumeration(p):
    p, truth = np.array(p), EVERY_FRAME  # every frame once as the truth, silence included
    row = baselines.independent_pitch_row(1.0, p, [truth], 4000, np.random.default_rng(1))
    paper, tp_fp_fn = exact_expectations(p, truth)
    assert 0 < row["acc_se"] < 0.005
    assert row["acc"] == pytest.approx(paper, abs=4 * row["acc_se"])
    assert row["acc_tp_fp_fn"] == pytest.approx(tp_fp_fn, abs=4 * row["acc_se"])
    assert row["acc"] > row["acc_tp_fp_fn"]  # replacements counted once read higher


def tiny_split(seed: int, pieces: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.random((int(rng.integers(4, 9)), 5)) < 0.3).astype(np.float32) for _ in range(pieces)]


def test_baseline_rows():
    train, test = tiny_split(0), tiny_split(1)
    rows = baselines.baseline_rows(train, test, 1.0, np.random.default_rng(2), 50)
    assert set(rows) == {baselines.RANDOM, baselines.NOTE_1_GRAM, baselines.PREVIOUS_FRAME}
    assert rows[baselines.RANDOM]["nll"] == pytest.approx(5 * math.log(2))
    assert rows[baselines.NOTE_1_GRAM]["nll"] == pytest.approx(-bernoulli.bernoulli_log_likelihood(train, test, 1.0))
    previous = rows[baselines.PREVIOUS_FRAME]
    assert previous["acc"] == accuracy.previous_frame_accuracy(test) and previous["acc_se"] == 0.0
    assert math.isnan(previous["nll"])
    for name in (baselines.RANDOM, baselines.NOTE_1_GRAM):
        assert set(rows[name]) == {"nll", "acc", "acc_se", "acc_tp_fp_fn", "acc_pooled"}
        assert all(0 <= rows[name][key] <= 1 for key in ("acc", "acc_tp_fp_fn", "acc_pooled"))


def test_same_seed_same_rows():
    train, test = tiny_split(0), tiny_split(1)
    first, again, other = (baselines.baseline_rows(train, test, 1.0, np.random.default_rng(seed), 20)
                           for seed in (7, 7, 8))
    assert first == again
    assert first[baselines.RANDOM]["acc"] != other[baselines.RANDOM]["acc"]


# Table 1 of the paper, JSB Chorales, expected frame accuracy of the reference rows.
PAPER_JSB = {baselines.RANDOM: 0.0442, baselines.NOTE_1_GRAM: 0.1525}


def test_baselines_match_the_papers_jsb(tmp_path):
    data = load_dataset("jsb", DataConfig(steps_per_quarter=1), cache_dir=tmp_path, progress=False)
    rows = baselines.baseline_rows(data.train, data.test, 1.0, np.random.default_rng(0), 100)
    for name, paper in PAPER_JSB.items():
        assert rows[name]["acc_se"] < 0.001  # well under 0.1 points
        assert rows[name]["acc"] == pytest.approx(paper, abs=0.005)
    assert rows[baselines.RANDOM]["nll"] == pytest.approx(61.00, abs=0.005)
    assert rows[baselines.NOTE_1_GRAM]["nll"] == pytest.approx(11.06, abs=0.01)
