"""Each measure of generated music on hand-made rolls with a known answer, the overlapping
area on sets with a known answer, and drift."""

import json
import math

import numpy as np
import pytest
from conftest import benchmark_script, make_midi, midi_bytes
from test_cli import run

from rnn_rbm.cli import evaluate_main
from rnn_rbm.music import samplestats
from rnn_rbm.music.samplestats import piece_measures

C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]


def roll_of(frames: list[list[int]]) -> np.ndarray:
    """frames: the MIDI pitches sounding in each frame. Returns: float32 (len(frames), 88)."""
    roll = np.zeros((len(frames), 88), dtype=np.float32)
    for t, pitches in enumerate(frames):
        roll[t, np.asarray(pitches, dtype=int) - 21] = 1.0
    return roll


def test_c_major_scale():
    scale = roll_of([[p] for p in C_MAJOR for _ in range(2)])  # each note two frames: a quarter note
    m = piece_measures(scale, steps_per_quarter=2)
    assert m["scale"] == 1.0
    assert m["polyphony"] == 1.0 and m["dense"] == 0.0 and m["silent"] == 0.0
    assert m["pitch_range"] == 12 and m["pitches"] == 8 and m["pitch_classes"] == 7
    assert m["held"] == pytest.approx(8 / 15)  # of 15 sounding frames before the last, 8 go on
    # 8 notes, C twice: -(2/8 log2 2/8 + 6 * 1/8 log2 1/8)
    assert m["pc_entropy"] == pytest.approx(-(0.25 * math.log2(0.25) + 6 * 0.125 * math.log2(0.125)))
    assert m["empty_beats"] == 0.0


def test_a_chromatic_run_is_not_in_one_scale():
    m = piece_measures(roll_of([[p] for p in range(60, 72)]), steps_per_quarter=1)
    assert m["scale"] == pytest.approx(7 / 12)
    assert m["pc_entropy"] == pytest.approx(math.log2(12))  # muspy's entropy is in bits
    assert m["pitch_classes"] == 12


def test_a_modulation_lowers_the_whole_piece_not_its_windows():
    window = samplestats.KEY_WINDOW_QUARTERS  # frames at one step a quarter
    c_major = [[p] for p in C_MAJOR[:7]]
    f_sharp_major = [[p + 6] for p in C_MAJOR[:7]]  # shares two pitch classes (B, F) with C major
    roll = roll_of((c_major * window)[:window] + (f_sharp_major * window)[:window])
    m = piece_measures(roll, steps_per_quarter=1)
    assert m["scale_local"] == 1.0  # each window in one key
    assert m["scale"] < 0.8  # the whole in none
    chromatic = piece_measures(roll_of([[p] for p in range(60, 72)] * 20), steps_per_quarter=1)
    assert chromatic["scale_local"] < 0.6 and chromatic["scale"] < 0.6  # out of key everywhere: both low


def test_a_short_tail_joins_the_window_before_it():
    window = samplestats.KEY_WINDOW_QUARTERS
    # one window of C major, then a tail of a quarter window of chromatic notes: measured with
    # the window before it, not as a window of its own (which would read 7/12 and weigh half)
    frames = [[C_MAJOR[t % 7]] for t in range(window)] + [[61 + t % 5] for t in range(window // 4)]
    tail = piece_measures(roll_of(frames), steps_per_quarter=1)["scale_local"]
    alone = piece_measures(roll_of(frames), steps_per_quarter=1)["scale"]
    assert tail == pytest.approx(alone)


def test_one_pitch_class_has_no_entropy():
    m = piece_measures(roll_of([[48], [60, 72], [], [36]]), steps_per_quarter=1)
    assert m["pc_entropy"] == 0.0 and m["pitch_classes"] == 1 and m["pitch_range"] == 36


def test_a_sustained_chord_is_held():
    m = piece_measures(roll_of([[60, 64, 67]] * 100), steps_per_quarter=2)
    assert m["held"] == 1.0 and m["polyphony"] == 3.0 and m["scale"] == 1.0


def test_dense_frames_are_counted():
    frames = [[60, 62, 64, 65]] * 9 + [list(range(60, 70))]  # one frame of 10 notes among ten
    m = piece_measures(roll_of(frames), steps_per_quarter=2)
    assert m["dense"] == pytest.approx(0.1)
    assert m["polyphony"] == pytest.approx((9 * 4 + 10) / 10)
    exactly_eight = piece_measures(roll_of([list(range(60, 68))] * 4), steps_per_quarter=2)
    assert exactly_eight["dense"] == 0.0  # above 8, not 8 or more


def test_silence():
    # Beats of two frames: [C C] [- -] [- E] [- -]: 5 silent frames of 8, 2 empty beats of 4.
    m = piece_measures(roll_of([[60], [60], [], [], [], [64], [], []]), steps_per_quarter=2)
    assert m["silent"] == pytest.approx(5 / 8)
    assert m["empty_beats"] == pytest.approx(2 / 4)
    assert m["polyphony"] == 1.0  # silent frames left out
    nothing = piece_measures(np.zeros((6, 88), np.float32), steps_per_quarter=2)
    assert nothing["silent"] == 1.0 and nothing["empty_beats"] == 1.0
    assert math.isnan(nothing["polyphony"]) and math.isnan(nothing["scale"]) and math.isnan(nothing["held"])


def test_a_last_partial_beat_counts():
    m = piece_measures(roll_of([[60], [60], []]), steps_per_quarter=2)  # one full beat, then half a silent one
    assert m["empty_beats"] == pytest.approx(1 / 2)


def test_overlap_of_identical_and_of_disjoint_sets():
    values = np.random.default_rng(0).normal(4.0, 0.3, size=50)
    assert samplestats.overlapping_area(values, values) == pytest.approx(1.0, abs=1e-6)
    assert samplestats.overlapping_area(values, values + 10) < 1e-6
    halves = samplestats.overlapping_area(values, values + 0.3)  # shifted by one sd
    assert 0.3 < halves < 0.9


def test_overlap_of_sets_without_spread():
    assert samplestats.overlapping_area([3, 3, 3], [3, 3]) == 1.0
    assert samplestats.overlapping_area([3, 3, 3], [4]) == 0.0
    spread = np.linspace(0.0, 2.0, 40)
    inside = samplestats.overlapping_area([1.0] * 5, spread)  # borrows the other set's bandwidth
    assert 0.1 < inside < 1.0
    assert samplestats.overlapping_area([50.0] * 5, spread) < 1e-6
    assert math.isnan(samplestats.overlapping_area([math.nan], spread))


def test_drift_of_a_piece_that_grows_denser():
    sparse, dense = [[60, 64, 67]], [[48, 52, 55, 60, 64, 67]]
    piece = roll_of(sparse * 30 + dense * 10)  # quarters of 10 frames: the last is all six-note chords
    stats = samplestats.describe([piece, piece], steps_per_quarter=2)
    rows = {r.key: r for r in samplestats.compare(stats)}
    assert rows["polyphony"].first == 3.0 and rows["polyphony"].last == 6.0
    assert rows["polyphony"].mean == pytest.approx((30 * 3 + 10 * 6) / 40) and rows["polyphony"].sd == 0.0
    assert rows["pitch_range"].first == 7 and rows["pitch_range"].last == 19
    assert math.isnan(rows["polyphony"].overlap)  # no reference


def test_report_against_a_reference():
    steady = roll_of([[60, 64, 67]] * 16)
    cluster = roll_of([list(range(40, 50))] * 8 + [[60, 64, 67]] * 8)
    result = samplestats.report([steady, cluster], [steady, steady], steps_per_quarter=2)
    assert result.samples.dense_max == 0.5 and result.samples.dense_overall == pytest.approx(8 / 32)
    out = result.to_json()
    assert out["pieces"] == 2 and out["frames"] == 32 and out["reference_pieces"] == 2
    assert out["measures"]["scale"]["ref_mean"] == 1.0
    assert out["measures"]["silent"]["overlap"] == 1.0  # never silent, either set
    assert out["measures"]["polyphony"]["first"] == (10 + 3) / 2 and out["measures"]["polyphony"]["last"] == 3
    assert 0 < out["measures"]["dense"]["overlap"] < 1
    short = samplestats.describe([roll_of([[60]] * 3)], steps_per_quarter=2)
    assert math.isnan(short.first["polyphony"][0])  # too short for quarters


def test_evaluate_samples_command(tmp_path):
    folder = tmp_path / "generated"
    folder.mkdir()
    scale = [(p, i, i + 1) for i, p in enumerate(C_MAJOR)]
    make_midi(scale).write(str(folder / "scale.mid"))
    make_midi([(p, 0, 8) for p in (60, 64, 67)]).write(str(folder / "chord.mid"))
    (folder / "broken.mid").write_bytes(midi_bytes(make_midi(scale))[:30])
    result = run("rnn_rbm_evaluate.py", "--samples", str(folder), "--reference",
                 "jsb", "--steps_per_quarter", "1", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"skipped {folder / 'broken.mid'}" in result.stderr
    assert "2 pieces from --samples, 1 skipped, against jsb, test split" in result.stdout
    assert "scale consistency" in result.stdout and "overlap" in result.stdout
    out = json.loads(result.stdout.splitlines()[-1])
    assert out["pieces"] == 2 and out["reference_pieces"] == 77 and out["skipped"] == [str(folder / "broken.mid")]
    assert out["measures"]["scale"]["mean"] == 1.0  # a C-major scale and a C-major chord
    assert out["measures"]["pitch_classes"]["mean"] == (7 + 3) / 2
    assert 0 <= out["measures"]["polyphony"]["overlap"] <= 1


@pytest.mark.parametrize("args, message", [
    ([], "nothing to measure"),
    (["--samples", "no_such_folder"], "no such file or folder"),
    (["--samples", "empty"], "no usable MIDI file"),
    (["x.ckpt", "--samples", "empty"], "give one of the two"),
    (["x.ckpt", "--reference", "bach"], "--reference is for --samples"),
])
def test_evaluate_samples_mistakes_end_in_one_clear_message(args, message, tmp_path, monkeypatch, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "junk.mid").write_bytes(b"not MIDI")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        evaluate_main(args)  # in this process: each case fails before any data is read
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_the_long_piece_targets_judge_key_silence_and_a_melody_against_its_reference():
    sample_quality = benchmark_script("sample_quality")
    chords = [[60, 64, 67, 72], [57, 60, 64, 69], [62, 65, 69, 74], [55, 59, 62, 67]]
    bach = [roll_of([c for c in chords for _ in range(2)] * 8) for _ in range(3)]  # C major, four voices
    in_key = samplestats.report(bach, bach, 2)
    assert all(sample_quality.targets(in_key).values())
    chromatic = [roll_of([[p, p + 4, p + 7, p + 12] for p in range(60, 72) for _ in range(2)] * 3)]
    met = sample_quality.targets(samplestats.report(chromatic, bach, 2))
    assert not met["scale"] and met["polyphony"]  # four notes a frame, in every key
    gappy = [roll_of(([c for c in chords for _ in range(2)] + [[]]) * 8)]  # a silent frame in nine
    assert not sample_quality.targets(samplestats.report(gappy, bach, 2))["silent"]

    top = sample_quality.top_voice_figures(bach, 2, 21)  # range 74 - 67 = 7 semitones
    assert top["pitch_range"] == 7 and top["polyphony"] == 1
    # A range grows with the frames it spans: two tunes an octave apart, each within 2 semitones,
    # span 14 over the frames of both, which is how a sample as long as both is measured.
    high, low = roll_of([[72], [74]] * 10), roll_of([[60], [62]] * 10)
    assert sample_quality.top_voice_figures([high, low], 2, 21)["pitch_range"] == 2
    joined = sample_quality.top_voice_figures([high, low, high], 2, 21, length=40)  # one stretch of 40, 20 left over
    assert joined["pitch_range"] == 14 and joined["pitch_range_per_piece"] == 2
    assert sample_quality.top_voice_figures([high], 2, 21, length=40)["pitch_range"] == 2  # shorter: as it is
    near = [roll_of([[67], [69], [72], [74], [72], [71]] * 10)]
    wide = [roll_of([[48], [60], [72], [84]] * 10)]
    assert all(sample_quality.targets(samplestats.report(near, bach, 2), top).values())
    met = sample_quality.targets(samplestats.report(wide, bach, 2), top)
    assert not met["pitch_range"] and met["one_voice"] and met["silent"]
    two = [roll_of([[67, 72], [69], [72], [74]] * 10)]
    assert not sample_quality.targets(samplestats.report(two, bach, 2), top)["one_voice"]
