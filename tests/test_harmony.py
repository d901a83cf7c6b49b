"""Harmonisation's measures on hand-made four-voice fragments with known answers, the
counting baseline's probabilities, the voices kept apart on the Bach default's grid, and each
frame model's likelihood of the notes under a given soprano against enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from rnn_rbm.models import registry
from rnn_rbm.models.base import ScoreSettings
from rnn_rbm.music import bach, harmony
from rnn_rbm.music.pianoroll import NoteList, notes_to_roll
from rnn_rbm.tasks import harmonise
from tests.test_models import ALL_FRAMES, V, tiny

REST = harmony.REST


def roll_of(voices: np.ndarray) -> np.ndarray:
    return harmony.voices_roll(np.asarray(voices))


def test_a_known_pair_of_parallel_fifths_is_counted_once():
    # Soprano and alto rise a step a fifth apart; tenor and bass hold.
    voices = np.array([[67, 69], [60, 62], [55, 55], [48, 48]])
    counts = harmony.voice_leading(voices)
    assert counts["parallel_fifths"] == 1
    assert counts["parallel_octaves"] == counts["hidden_fifths"] == counts["crossings"] == 0
    # Five of the six pairs move (tenor and bass both hold).
    assert counts["transitions"] == 5


def test_parallel_octaves_and_a_crossing_are_found():
    octaves = np.array([[72, 74], [64, 64], [60, 62], [48, 48]])  # soprano and tenor in octaves, a step up
    assert harmony.voice_leading(octaves)["parallel_octaves"] == 1
    crossed = np.array([[67, 64], [64, 67], [55, 55], [48, 48]])  # alto moves above the soprano
    assert harmony.voice_leading(crossed)["crossings"] >= 1


def test_a_chorale_against_itself_scores_100_percent():
    voices = np.array([[67, 69, 71, REST], [62, 62, 64, REST], [59, 57, 55, REST], [43, 45, 40, REST]])
    roll = roll_of(voices)
    figures = harmony.agreement(voices, roll, voices, roll).figures()
    for key in ("alto_accuracy", "tenor_accuracy", "bass_accuracy", "lower_accuracy", "pitch_class_match"):
        assert figures[key] == 100.0
    assert figures["four_notes"] == 100.0


def test_a_wrong_tenor_costs_the_tenor_only():
    bach = np.array([[67, 69], [62, 62], [59, 57], [43, 45]])
    written = bach.copy()
    written[2, 1] = 60
    figures = harmony.agreement(written, roll_of(written), bach, roll_of(bach)).figures()
    assert figures["tenor_accuracy"] == 50.0 and figures["alto_accuracy"] == figures["bass_accuracy"] == 100.0
    assert figures["pitch_class_match"] == 50.0


def test_voices_are_assigned_by_sorting_under_the_soprano():
    roll = roll_of(np.array([[67, 67, 67], [60, 60, REST], [55, REST, REST], [48, 48, 48]]))
    # A note above the soprano is not one of its lower voices.
    roll[0, 70 - 21] = 1.0
    voices = harmony.assign_voices(roll, np.array([67, 67, 67]))
    np.testing.assert_array_equal(voices, [[67, 67, 67], [60, 60, REST], [55, REST, REST], [48, 48, 48]])


def test_notes_out_of_range_are_counted_per_note():
    voices = np.array([[67, 67, 67], [60, 60, 60], [55, 55, 55], [30, 30, 48]])  # one low bass note, 2 frames
    assert harmony.out_of_range(voices) == (1, 5)


def test_a_tune_is_the_same_in_any_key_and_rhythm():
    tune = np.array([60, 60, 62, 64, REST, 62, 60])
    moved = np.array([65, 67, 67, 67, 69, 67, 65])
    assert harmony.tune(tune) == harmony.tune(moved) == (2, 2, -2, -2)
    assert harmony.tune(np.array([60, 62, 60])) != harmony.tune(tune)


def test_voice_bits_keep_each_voice_and_their_union_is_the_usual_roll():
    voices = [NoteList(np.array([0.0, 1.0]), np.array([1.0, 2.0]), np.array([67, 69])),
              NoteList(np.array([0.0]), np.array([2.0]), np.array([60])),
              NoteList(np.array([0.0]), np.array([2.0]), np.array([60])),  # a unison with the alto
              NoteList(np.array([0.0]), np.array([1.5]), np.array([48]))]
    bits, stats = harmony.voice_bits(voices, 2)
    together = NoteList(*(np.concatenate([getattr(v, f) for v in voices]) for f in ("onsets", "offsets", "pitches")))
    roll, _ = notes_to_roll(together, 2)
    np.testing.assert_array_equal(bits > 0, roll > 0)
    pitches = harmony.voice_pitches(harmony.unpack_voice_bits(bits))
    np.testing.assert_array_equal(pitches, [[67, 67, 69, 69], [60] * 4, [60] * 4, [48, 48, 48, REST]])
    assert stats.notes == 5


def test_a_chorale_read_by_voices_is_the_chorale_read_whole():
    path = bach.chorale_paths()[0]
    bits, _ = harmony.voice_bits(bach.voice_notes(path), 2)
    whole, _ = notes_to_roll(bach.score_notes(path), 2)
    np.testing.assert_array_equal(bits > 0, whole > 0)


def test_the_counting_baseline_writes_what_it_counted_and_its_probabilities_sum_to_one():
    lowest = 60  # a narrow grid: 4 pitches under the soprano, 16 possible lower sets
    soprano = np.array([64, 64, 64])
    roll = np.zeros((3, 8), np.float32)
    roll[:, 4] = 1.0
    roll[:, [0, 2]] = 1.0  # C and D under the E, three times
    counter = harmony.CountingHarmoniser()
    counter.count(roll, soprano, (0, "major"), lowest)
    written = counter.harmonise(soprano, (0, "major"), num_pitches=8, lowest_pitch=lowest)
    np.testing.assert_array_equal(written, roll)
    total = 0.0
    for below in itertools.product([0.0, 1.0], repeat=4):
        frame = np.zeros(8, np.float32)
        frame[4], frame[:4] = 1.0, below
        total += np.exp(counter.log_prob(frame, 64, (0, "major"), lowest))
    assert total == pytest.approx(1.0, abs=1e-9)


def given_top(count: int) -> np.ndarray:
    """The given units of a tiny frame: its `count` highest pitches (a soprano and above)."""
    given = np.zeros(V, np.float32)
    given[V - count:] = 1.0
    return given


@pytest.mark.parametrize("family", ["rnn", "lstm", "rnn_nade"])
def test_an_exact_model_gives_the_conditional_of_the_notes_below(family):
    model = tiny(family)
    context = model.context(model.initial_state(1)) + 0.3
    given = given_top(2)
    frame = np.array([1, 0, 1, 1, 0], np.float32)  # the "soprano" at pitch 3, nothing above
    matching = ALL_FRAMES[(ALL_FRAMES[:, given > 0] == frame[given > 0]).all(axis=1)]
    contexts = tf.repeat(context, len(matching), axis=0)
    joint = model.frame_log_prob(tf.constant(matching), contexts).numpy()
    expected = joint - np.logaddexp.reduce(joint)
    log_p, variance = model.given_log_prob(tf.constant(matching), contexts, tf.constant(np.tile(given, (len(matching), 1))),
                                           ScoreSettings(draws=0), tf.random.Generator.from_seed(0))
    np.testing.assert_allclose(log_p.numpy(), expected, atol=1e-5)
    assert np.all(variance.numpy() == 0)


def test_the_rnn_nade_refuses_a_given_set_that_is_not_its_first_units():
    model = tiny("rnn_nade")
    given = np.zeros((1, V), np.float32)
    given[0, 0] = 1.0  # the lowest pitch: the NADE's last unit
    with pytest.raises(tf.errors.InvalidArgumentError):
        model.given_log_prob(tf.constant(ALL_FRAMES[:1]), model.context(model.initial_state(1)), tf.constant(given),
                             ScoreSettings(draws=0), tf.random.Generator.from_seed(0))


def test_the_rnn_rbm_estimate_agrees_with_enumeration():
    model = tiny("rnn_rbm")
    context = model.context(model.initial_state(1)) + 0.5
    given = given_top(2)
    frame = np.array([[1, 1, 0, 1, 0]], np.float32)
    matching = ALL_FRAMES[(ALL_FRAMES[:, given > 0] == frame[0, given > 0]).all(axis=1)]
    minus_free = -np.array([float(model.frame_score(tf.constant(m[np.newaxis]), context)[0]) for m in matching])
    index = int(np.nonzero((matching == frame[0]).all(axis=1))[0][0])
    expected = -minus_free[index] - np.logaddexp.reduce(-minus_free)
    log_p, variance = model.given_log_prob(tf.constant(frame), context, tf.constant(given[np.newaxis]),
                                           ScoreSettings(draws=0, chains=400, temperatures=200),
                                           tf.random.Generator.from_seed(0))
    assert float(log_p[0]) == pytest.approx(expected, abs=0.05)
    assert float(variance[0]) < 0.01


@pytest.mark.parametrize("avoid_parallels", [False, True])
def test_the_consensus_holds_the_soprano_and_writes_nothing_above_it(avoid_parallels):
    model = tiny("rnn_rbm")
    data = harmonise.DataConfig(num_pitches=V, lowest_pitch=60)
    soprano = np.array([63, 63, 62, REST, 64])
    written = harmonise.consensus(model, harmonise.GenerateConfig(gibbs_steps=3, num_steps=5), tf.random.Generator.from_seed(0),
                                  soprano, data, candidates=8, avoid_parallels=avoid_parallels)
    for t, pitch in enumerate(soprano):
        if pitch != REST:
            assert written[t, pitch - 60] == 1.0 and not written[t, pitch - 60 + 1:].any()
    assert written.shape == (5, V) and set(np.unique(written)) <= {0.0, 1.0}


@pytest.mark.parametrize("family", ["rnn", "lstm", "rnn_nade"])
def test_a_particle_s_weight_is_the_probability_of_the_held_units(family):
    model = tiny(family)
    states = model.initial_state(3) + tf.constant([[0.0], [0.4], [-0.6]])
    mask, values = np.zeros((1, V), np.float32), np.zeros((1, V), np.float32)
    mask[0, 3:], values[0, 3] = 1.0, 1.0  # the soprano at pitch 3, nothing above
    step, _ = harmonise._particle_steps(model, 1, 1.0)
    drawn, log_weight = step(states, tf.constant([1, 2, 3, 4], tf.uint32), 0, mask, values)
    np.testing.assert_array_equal(drawn.numpy()[:, 3:], np.tile(values[0, 3:], (3, 1)))
    matching = ALL_FRAMES[(ALL_FRAMES[:, 3:] == values[0, 3:]).all(axis=1)]
    for row in range(3):
        context = tf.repeat(model.context(states[row:row + 1]), len(matching), axis=0)
        held = np.logaddexp.reduce(model.frame_log_prob(tf.constant(matching), context).numpy())
        assert float(log_weight[row]) == pytest.approx(held, abs=1e-4)


def test_the_vote_takes_each_voice_s_commonest_pitch_and_a_rest_only_where_no_draw_sounds():
    data = harmonise.DataConfig(num_pitches=12, lowest_pitch=60)
    soprano = 71
    held = np.zeros(12, np.float32)
    held[11] = 1.0
    candidates = np.zeros((3, 12), np.float32)
    candidates[:, 11] = 1.0
    candidates[0, [7, 4, 0]] = 1.0  # alto 67, tenor 64, bass 60
    candidates[1, [7, 0]] = 1.0  # alto 67, bass 60: no tenor
    candidates[2, [5, 0]] = 1.0  # alto 65, bass 60: no tenor
    frame = harmonise._voted_frame(candidates, soprano, held, data)
    assert sorted(np.nonzero(frame)[0] + 60) == [60, 64, 67, 71]


def test_the_vote_avoiding_parallels_takes_the_next_best_voices():
    data = harmonise.DataConfig(num_pitches=24, lowest_pitch=48)
    before = np.array([67, 60, 55, 48])  # soprano G4 a fifth above alto C4
    soprano = 69  # the soprano rises a step to A4
    held = np.zeros(24, np.float32)
    held[soprano - 48] = 1.0

    def frames(*lowers):
        candidates = np.tile(held, (len(lowers), 1))
        for row, pitches in enumerate(lowers):
            candidates[row, np.array(pitches) - 48] = 1.0
        return candidates

    # Most draws move the alto up to D4, a fifth under A4: parallel fifths; the next most voted
    # alto, C4, holds. Tenor and bass hold.
    candidates = frames(*[(62, 55, 48)] * 5, *[(60, 55, 48)] * 3)
    free = harmonise._voted_frame(candidates, soprano, held, data)
    assert sorted(np.nonzero(free)[0] + 48) == [48, 55, 62, 69]
    assert harmony.parallel(before, np.array([69, 62, 55, 48]))
    kept = harmonise._voted_frame(candidates, soprano, held, data, before)
    assert sorted(np.nonzero(kept)[0] + 48) == [48, 55, 60, 69]
    assert not harmony.parallel(before, np.array([69, 60, 55, 48]))
    # Where every choice the draws offer moves in parallels, the free vote stands.
    only = frames(*[(62, 55, 48)] * 4)
    np.testing.assert_array_equal(harmonise._voted_frame(only, soprano, held, data, before),
                                  harmonise._voted_frame(only, soprano, held, data))


@pytest.mark.parametrize("family", ["rnn_nade", "rnn_rbm"])
def test_the_particles_hold_the_soprano_and_need_an_exact_likelihood(family):
    model = tiny(family)
    data = harmonise.DataConfig(num_pitches=V, lowest_pitch=60)
    soprano = np.array([63, 63, 62, REST, 64])
    settings = harmonise.GenerateConfig(gibbs_steps=3, num_steps=5)
    if not model.EXACT:
        with pytest.raises(NotImplementedError):
            harmonise.particle_consensus(model, settings, tf.random.Generator.from_seed(0), soprano, data, 8)
        return
    written = harmonise.particle_consensus(model, settings, tf.random.Generator.from_seed(0), soprano, data, 8)
    for t, pitch in enumerate(soprano):
        if pitch != REST:
            assert written[t, pitch - 60] == 1.0 and not written[t, pitch - 60 + 1:].any()
    assert written.shape == (5, V) and set(np.unique(written)) <= {0.0, 1.0}


def tiny_chorales(count: int = 4) -> harmonise.Chorales:
    """Chorales of four frames in C major, the first two in the training split."""
    made = []
    for index in range(count):
        shift = index % 2  # two tunes
        voices = np.array([[67 + shift, 69, 71, 72], [64, 65, 67, 67], [60, 60, 62, 64], [48, 53, 55, 48]])
        made.append(harmonise.Chorale(f"c{index}.mxl", "train" if index < 2 else "valid", voices, roll_of(voices)))
    train, held = made[:2], made[2:]
    data = harmonise.DataConfig()
    return harmonise.Chorales(train, held, [harmonise.soprano_key(c, data) for c in held], [False] * len(held), data)


def test_bach_against_himself_and_the_counting_baseline_on_his_own_tunes():
    chorales = tiny_chorales()
    bach = harmonise.bach_row(chorales)
    assert bach.figures["lower_accuracy"] == 100.0 and bach.figures["pitch_class_match"] == 100.0
    counting = harmonise.counting_row(chorales)
    # Every held-out soprano note was seen in training over the same lower notes.
    assert counting.figures["lower_accuracy"] == 100.0
    assert np.isfinite(counting.figures["log_likelihood"]) and counting.figures["log_likelihood"] <= 0
    rows = [bach.to_json(), counting.to_json(),
            harmonise.Row("model", {**counting.figures, "log_likelihood": 0.0, "lower_accuracy": 50.0}).to_json()]
    judged = harmonise.targets(rows)
    assert judged["best"] == "model" and not judged["met"]
    assert judged["rows"]["model"]["log_likelihood"] and not judged["rows"]["model"]["lower_accuracy"]


def test_the_examples_put_every_rows_harmonisation_on_the_results_page(tmp_path):
    chorales = tiny_chorales()
    chorales.new_tune = [True, False]
    rows = [harmonise.bach_row(chorales), harmonise.counting_row(chorales)]
    page = harmonise.write_examples(harmonise.Harmonised(chorales, rows), tmp_path, count=3, audio=False)
    text = page.read_text()
    for row in ("Bach", "Counting-baseline"):
        midi = next(tmp_path.glob(f"c2_{row}*.mid"))
        assert midi.name in text and midi.with_suffix(".png").exists()
    assert not list(tmp_path.glob("c3_*"))  # its tune is not new


def test_the_chorales_are_read_in_the_checkpoints_key_and_mixed_keys_are_refused(tmp_path):
    import dataclasses

    from rnn_rbm.config import ModelConfig, RunConfig
    from rnn_rbm.engine import checkpoint
    from rnn_rbm.errors import UserError
    from rnn_rbm.models.rnn_rbm import RnnRbm

    def saved(name: str, key: str) -> str:
        config = RunConfig(data=dataclasses.replace(harmonise.DataConfig(), key=key),
                           model=ModelConfig(n_hidden=4, n_recurrent=3))
        model = RnnRbm.from_config(config, tf.random.Generator.from_seed(0))
        return str(checkpoint.save(tmp_path / name / "best.ckpt", config, model=model))

    in_c, also_c, written = saved("a", "c"), saved("b", "c"), saved("w", "as_written")
    assert harmonise._common_key([in_c, also_c]) == "c"
    assert harmonise._common_key([written]) == "as_written"
    with pytest.raises(UserError, match="different keys"):
        harmonise._common_key([in_c, written])
    with pytest.raises(UserError, match="data.key=as_written"):
        harmonise._check_grid(checkpoint.load_config(written).data, harmonise.DataConfig(key="c"), written)
