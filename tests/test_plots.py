"""Pictures: exact roll images, PNGs that show what they should, training curves."""

import json

import numpy as np
import pytest
from PIL import Image

from rnn_rbm.outputs import plots


def tiny_roll() -> np.ndarray:
    """4 frames of 13 pitches from C4 (60): C4 in frame 0, E4 in frames 1-3, C5 in frame 3."""
    roll = np.zeros((4, 13), np.float32)
    roll[0, 0] = roll[1:, 4] = roll[3, 12] = 1
    return roll


def test_roll_image_is_exact_with_high_pitches_on_top():
    clamped = np.zeros((4, 13))
    clamped[3, 12] = 1
    image = plots.roll_image(tiny_roll(), lowest_pitch=60, primer_steps=1, clamped=clamped)
    assert image.shape == (13, 4, 3) and image.dtype == np.uint8
    expected = np.empty_like(image)
    for row in range(13):
        pitch = 72 - row
        expected[row] = plots.BLACK_KEY_ROW if pitch % 12 in (1, 3, 6, 8, 10) else plots.WHITE_KEY_ROW
    expected[12, 0] = plots.PRIMER  # C4, frame 0: the primer
    expected[8, 1:] = plots.GENERATED  # E4
    expected[0, 3] = plots.MELODY  # C5 held
    np.testing.assert_array_equal(image, expected)


def test_summary_image_suits_tensorboard(tmp_path):
    import tensorflow as tf

    image = plots.summary_image(tiny_roll(), lowest_pitch=60, scale=3)
    assert image.shape == (1, 39, 12, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image[0, ::3, ::3], plots.roll_image(tiny_roll(), 60))
    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        assert tf.summary.image("roll", image, step=1)
    assert list(tmp_path.iterdir())


def colours(path) -> set[tuple[int, int, int]]:
    with Image.open(path) as png:
        return set(map(tuple, np.asarray(png.convert("RGB")).reshape(-1, 3)))


def test_piano_roll_png_shows_primer_melody_and_generated_notes(tmp_path):
    roll = np.zeros((32, 88), np.float32)
    roll[:8, 39] = 1  # C4 in the primer
    roll[8:, 43] = 1  # E4, generated
    roll[8:, 51] = 1  # C5, held melody
    clamped = np.zeros_like(roll)
    clamped[8:, 51] = 1
    path = plots.piano_roll_png(tmp_path / "roll.png", roll, 2, 21, primer_steps=8, clamped=clamped, title="x")
    with Image.open(path) as png:
        assert png.format == "PNG" and png.width > 300 and png.height > 200
    seen = colours(path)
    assert {plots.PRIMER, plots.GENERATED, plots.MELODY} <= seen


def test_piano_roll_png_of_generated_notes_only_and_of_silence(tmp_path):
    roll = np.zeros((16, 88), np.float32)
    roll[:, 40] = 1
    seen = colours(plots.piano_roll_png(tmp_path / "a.png", roll, 4))
    assert plots.GENERATED in seen and plots.MELODY not in seen  # (greys also come from text)
    assert plots.GENERATED not in colours(plots.piano_roll_png(tmp_path / "b.png", np.zeros((16, 88)), 4))


RECORDS = [
    {"run": "r1", "epoch": 1, "cost": 2.0, "valid_acc": None, "grad_norm": 3.0},
    {"run": "r1", "epoch": 2, "cost": 1.5, "valid_acc": 0.2, "valid_nll": 9.5},
    {"run": "r1", "epoch": 3, "cost": 1.2, "valid_acc": None, "valid_nll": None},
    {"run": "r2", "epoch": 1, "cost": float("nan"), "valid_acc": 0.25, "learning_rate": 0.003},
]


def test_training_curves_have_a_panel_per_metric_and_skip_missing_values(tmp_path):
    three = plots.training_curves_png(RECORDS[:3], tmp_path / "three.png")  # cost, valid_acc, valid_nll
    one = plots.training_curves_png([{"epoch": 1, "cost": 1.0, "valid_acc": None}], tmp_path / "one.png")
    four = plots.training_curves_png(RECORDS, tmp_path / "four.png", title="two runs")  # + learning_rate
    heights = [Image.open(p).height for p in (one, three, four)]
    assert heights[0] < heights[1] < heights[2]
    # The first run's colour (C0) and the second's (C1) both appear: one line per run.
    seen = colours(four)
    assert (31, 119, 180) in seen and (255, 127, 14) in seen


def test_training_curves_of_no_records_still_make_a_picture(tmp_path):
    with Image.open(plots.training_curves_png([], tmp_path / "empty.png")) as png:
        assert png.format == "PNG"


def test_read_metrics_reads_what_training_writes(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in RECORDS[:3]) + "\n\n")
    assert plots.read_metrics(path) == RECORDS[:3]


@pytest.mark.parametrize("scale", [1, 2])
def test_roll_image_scales_by_whole_pixels(scale):
    image = plots.roll_image(tiny_roll(), 60, scale=scale)
    assert image.shape == (13 * scale, 4 * scale, 3)


def test_measure_histograms_have_a_panel_per_measure_in_both_colours(tmp_path):
    labels = {"a": "first measure", "b": "all undefined", "c": "one value"}
    samples = {"a": np.array([1.0, 2.0, 2.5]), "b": np.array([np.nan, np.nan]), "c": np.array([3.0, 3.0])}
    reference = {"a": np.array([4.0, 5.0]), "b": np.array([np.nan]), "c": np.array([3.0])}
    both = plots.measure_histograms_png(tmp_path / "both.png", samples, labels, reference, title="run x")
    alone = plots.measure_histograms_png(tmp_path / "alone.png", samples, labels)

    def count(png, colour):  # pixels of a histogram's fill: its colour at 45 % on white
        pixels = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3).astype(int)
        return int((np.abs(pixels - colour).sum(axis=1) < 40).sum())

    blue, grey = (151, 173, 214), (207, 207, 207)  # GENERATED, PRIMER
    assert count(both, blue) > 1000 and count(both, grey) > 1000
    assert count(alone, blue) > 1000 and count(alone, grey) < 1000 // 2
