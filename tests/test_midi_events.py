"""MIDI events as words (rnn_rbm/music/midi_events.py): rolls <-> miditok MIDILike tokens."""

import numpy as np
import pytest
from conftest import chord_progression, midi_bytes

from rnn_rbm.errors import UserError
from rnn_rbm.music.midi_events import MAX_SHIFT_BEATS, events_tokenizer, events_to_roll, roll_to_events, vocabulary
from rnn_rbm.music.pianoroll import midi_to_roll


def roll_of(steps: int, cells: list[tuple[int, int, int]], lowest: int = 21, pitches: int = 88) -> np.ndarray:
    """cells: (pitch, first frame, end frame)."""
    roll = np.zeros((steps, pitches), np.float32)
    for pitch, start, end in cells:
        roll[start:end, pitch - lowest] = 1
    return roll


def random_roll(rng: np.random.Generator, steps: int, pitches: int = 88, density: float = 0.05) -> np.ndarray:
    """Notes of random lengths: each frame of each pitch starts sounding or stops with some chance."""
    roll = np.zeros((steps, pitches), np.float32)
    sounding = np.zeros(pitches, bool)
    for t in range(steps):
        flip = rng.random(pitches) < np.where(sounding, 0.3, density)
        sounding ^= flip
        roll[t] = sounding
    return roll


def trimmed(roll: np.ndarray) -> np.ndarray:
    """The roll up to its last sounding frame: MIDILike writes no token for trailing
    silence, so that is what comes back (at least one frame)."""
    sounding = np.nonzero(roll.any(axis=1))[0]
    return roll[: sounding[-1] + 1] if len(sounding) else roll[:1] * 0


def round_trip(roll: np.ndarray, steps_per_quarter: int) -> tuple[list[str], np.ndarray]:
    tokenizer = events_tokenizer(steps_per_quarter)
    tokens = roll_to_events(roll, tokenizer, steps_per_quarter)
    back = events_to_roll(tokens, tokenizer, steps_per_quarter)
    assert back.dtype == np.float32 and back.ndim == 2 and back.shape[1] == roll.shape[1]
    return tokens, back


HAND_MADE = {
    "chord": roll_of(4, [(60, 0, 4), (64, 0, 4), (67, 0, 4)]),
    # Notes starting together that end at different frames.
    "staggered ends": roll_of(8, [(48, 0, 1), (55, 0, 3), (64, 0, 8), (72, 2, 5)]),
    "rests": roll_of(12, [(60, 0, 2), (62, 5, 6), (64, 6, 7), (60, 11, 12)]),
    # Longer than the longest TimeShift (MAX_SHIFT_BEATS quarters) at every grid tested.
    "held across a long gap": roll_of(100, [(60, 0, 100), (72, 3, 4), (67, 97, 99)]),
    "long silence": roll_of(90, [(60, 0, 1), (62, 89, 90)]),
    "lowest and highest keys": roll_of(6, [(21, 0, 3), (108, 1, 6), (21, 4, 5)]),
    # The same pitch again after one silent frame: two notes, not one.
    "repeated pitch": roll_of(5, [(60, 0, 2), (60, 3, 5)]),
    "starts late": roll_of(10, [(70, 7, 10)]),
    "ends with silence": roll_of(10, [(70, 0, 3)]),
    "one frame": roll_of(1, [(65, 0, 1)]),
}


@pytest.mark.parametrize("steps_per_quarter", [1, 2, 4])
@pytest.mark.parametrize("name", sorted(HAND_MADE))
def test_hand_made_rolls_round_trip(name, steps_per_quarter):
    roll = HAND_MADE[name]
    tokens, back = round_trip(roll, steps_per_quarter)
    np.testing.assert_array_equal(back, trimmed(roll))
    assert set(tokens) <= set(vocabulary(events_tokenizer(steps_per_quarter)))


@pytest.mark.parametrize("steps_per_quarter", [1, 2, 4])
def test_random_rolls_round_trip(steps_per_quarter):
    rng = np.random.default_rng(steps_per_quarter)
    vocab = set(vocabulary(events_tokenizer(steps_per_quarter)))
    for steps in (3, 40, 300):
        roll = random_roll(rng, steps)
        tokens, back = round_trip(roll, steps_per_quarter)
        np.testing.assert_array_equal(back, trimmed(roll))
        assert set(tokens) <= vocab


def test_a_real_piece_round_trips():
    roll, _ = midi_to_roll(midi_bytes(chord_progression(3)), steps_per_quarter=4)
    _, back = round_trip(roll, 4)
    np.testing.assert_array_equal(back, trimmed(roll))


def test_tokens_are_midi_like_events_in_time_order():
    roll = roll_of(6, [(60, 0, 2), (64, 0, 2), (67, 3, 6)])
    tokenizer = events_tokenizer(2)
    assert roll_to_events(roll, tokenizer, 2) == [
        "NoteOn_60", "Velocity_127", "NoteOn_64", "Velocity_127", "TimeShift_1.0.2",
        "NoteOff_60", "NoteOff_64", "TimeShift_0.1.2", "NoteOn_67", "Velocity_127",
        "TimeShift_1.1.2", "NoteOff_67"]


def test_long_gaps_become_several_shifts():
    tokenizer = events_tokenizer(2)
    longest = MAX_SHIFT_BEATS * 2
    tokens = roll_to_events(roll_of(2 * longest + 3, [(60, 0, 2 * longest + 3)]), tokenizer, 2)
    assert tokens == ["NoteOn_60", "Velocity_127", f"TimeShift_{MAX_SHIFT_BEATS}.0.2",
                      f"TimeShift_{MAX_SHIFT_BEATS}.0.2", "TimeShift_1.1.2", "NoteOff_60"]


def test_empty_roll():
    tokenizer = events_tokenizer(2)
    assert roll_to_events(np.zeros((16, 88), np.float32), tokenizer, 2) == []
    np.testing.assert_array_equal(events_to_roll([], tokenizer, 2), np.zeros((1, 88), np.float32))


def test_vocabulary_is_fixed_by_the_settings():
    first, second = vocabulary(events_tokenizer(2)), vocabulary(events_tokenizer(2))
    assert first == second
    assert len(first) == len(set(first))
    # PAD, a NoteOn and a NoteOff per key, one velocity, shifts of 1 .. 8 quarters in eighths.
    assert len(first) == 1 + 88 + 88 + 1 + MAX_SHIFT_BEATS * 2
    assert first[0] == "PAD_None"
    kinds = {word.split("_")[0] for word in first}
    assert kinds == {"PAD", "NoteOn", "NoteOff", "Velocity", "TimeShift"}
    assert vocabulary(events_tokenizer(4)) != first


def test_pitch_range_follows_the_roll():
    tokenizer = events_tokenizer(2, lowest_pitch=36, num_pitches=49)
    words = vocabulary(tokenizer)
    assert "NoteOn_36" in words and "NoteOn_84" in words
    assert "NoteOn_35" not in words and "NoteOn_85" not in words
    roll = roll_of(4, [(36, 0, 2), (84, 1, 4)], lowest=36, pitches=49)
    back = events_to_roll(roll_to_events(roll, tokenizer, 2, 36), tokenizer, 2, 36, 49)
    np.testing.assert_array_equal(back, roll)


def test_model_like_messy_sequence():
    tokenizer = events_tokenizer(2)
    tokens = [
        "PAD_None",
        "NoteOff_60",  # never opened: ignored
        "Velocity_127",  # no NoteOn before it: ignored
        "NoteOn_62",  # no Velocity after it, never closed: sounds to the end
        "TimeShift_1.0.2",
        "NoteOn_64", "Velocity_127",
        "TimeShift_0.1.2",
        "NoteOff_64",
        "NoteOn_67", "NoteOff_67",  # closed at once: one frame
        "TimeShift_1.0.2",
        "NoteOff_64",  # already closed: ignored
        "NoteOn_70",  # the last token: one frame
    ]
    roll = events_to_roll(tokens, tokenizer, 2)
    np.testing.assert_array_equal(roll, roll_of(6, [(62, 0, 5), (64, 2, 3), (67, 3, 4), (70, 5, 6)]))


def test_a_note_never_closed_ends_within_eight_quarter_notes():
    tokenizer = events_tokenizer(2)
    # NoteOn_60 is never closed; 3 + 8 + 8 quarter notes of shifts, with a note in between.
    tokens = ["NoteOn_60", "TimeShift_3.0.2", "NoteOn_64", "TimeShift_8.0.2", "NoteOff_64",
              "TimeShift_8.0.2", "NoteOn_67", "NoteOff_67"]
    roll = events_to_roll(tokens, tokenizer, 2)
    # Closed at the last event before it would pass 16 frames: frame 6, where NoteOn_64 was.
    np.testing.assert_array_equal(roll, roll_of(39, [(60, 0, 6), (64, 6, 22), (67, 38, 39)]))


def test_overlapping_notes_of_a_pitch_merge():
    tokenizer = events_tokenizer(1)
    tokens = ["NoteOn_60", "TimeShift_2.0.1", "NoteOn_60", "TimeShift_1.0.1", "NoteOff_60",
              "TimeShift_2.0.1", "NoteOff_60"]
    np.testing.assert_array_equal(events_to_roll(tokens, tokenizer, 1), roll_of(5, [(60, 0, 5)]))


def test_only_time_shifts_give_one_silent_frame():
    tokenizer = events_tokenizer(2)
    np.testing.assert_array_equal(events_to_roll(["TimeShift_2.0.2", "NoteOff_60"], tokenizer, 2),
                                  np.zeros((1, 88), np.float32))


def test_unknown_strings_are_named():
    tokenizer = events_tokenizer(2)
    with pytest.raises(UserError, match="NoteOn_200.*bogus|bogus.*NoteOn_200"):
        events_to_roll(["NoteOn_60", "bogus", "TimeShift_1.0.2", "NoteOn_200"], tokenizer, 2)
    # A shift of another grid is not a word of this one.
    with pytest.raises(UserError, match="TimeShift_0.1.4"):
        events_to_roll(["NoteOn_60", "TimeShift_0.1.4"], tokenizer, 2)


def test_mismatched_settings_are_refused():
    with pytest.raises(ValueError, match="steps per quarter"):
        roll_to_events(roll_of(2, [(60, 0, 1)]), events_tokenizer(2), 4)
    narrow = events_tokenizer(2, lowest_pitch=48, num_pitches=24)
    with pytest.raises(ValueError, match="outside"):
        roll_to_events(roll_of(2, [(21, 0, 1)]), narrow, 2, lowest_pitch=21)


# ---- the event_lstm's grammar: only well-formed sequences ----

def _event_model(pitches: int = 12, steps_per_quarter: int = 2):
    import tensorflow as tf

    from rnn_rbm.config import family_config, replace_section
    from rnn_rbm.models import registry

    config = replace_section(family_config("event_lstm"), "data", num_pitches=pitches, lowest_pitch=60,
                             steps_per_quarter=steps_per_quarter)
    words = vocabulary(events_tokenizer(steps_per_quarter, 60, pitches))
    config = replace_section(config, "tokens", vocabulary=[words])
    config = replace_section(config, "model", n_recurrent=8, layers=1, dense_units=0, dropout=0.0)
    return registry.build(config, tf.random.Generator.from_seed(0)), words


def _well_formed(words: list[str], ids, pitches: int = 12) -> bool:
    from rnn_rbm.music.midi_events import WORD_KINDS, allowed_words, word_kinds

    kinds, columns = word_kinds(words, 60, pitches)
    sounding, after = np.zeros(pitches, bool), False
    for i in ids:
        if not allowed_words(sounding, after, kinds, columns)[i]:
            return False
        kind = WORD_KINDS[kinds[i]]
        if kind in ("note_on", "note_off"):
            sounding[columns[i]] = kind == "note_on"
        after = kind == "note_on"
    return True


def test_the_event_model_allows_what_the_grammar_allows_at_every_word():
    import tensorflow as tf

    from rnn_rbm.music.midi_events import allowed_words, word_kinds

    model, words = _event_model()
    roll = random_roll(np.random.default_rng(3), 24, pitches=12, density=0.2)
    tokens = roll_to_events(roll, events_tokenizer(2, 60, 12), 2, lowest_pitch=60)
    index = {w: i for i, w in enumerate(words)}
    ids = np.array([[index[t]] for t in tokens], np.float32)
    assert _well_formed(words, ids[:, 0].astype(int))
    contexts = model.contexts(tf.constant(ids[np.newaxis]))[0]
    probabilities = np.exp(np.stack([model.frame_log_prob(tf.constant(np.full((1, 1), k, np.float32)),
                                                          contexts[t:t + 1]).numpy()[0]
                                     for t in range(len(ids)) for k in range(len(words))]).reshape(len(ids), -1))
    kinds, columns = word_kinds(words, 60, 12)
    sounding, after = np.zeros(12, bool), False
    for t, token in enumerate(tokens):
        allowed = allowed_words(sounding, after, kinds, columns)
        np.testing.assert_allclose(probabilities[t].sum(), 1.0, rtol=1e-5)
        assert np.all(probabilities[t][~allowed] == 0.0) and np.all(probabilities[t][allowed] > 0.0)
        # Never a NoteOff for a silent pitch.
        offs = [i for i, w in enumerate(words) if w.startswith("NoteOff_") and not sounding[int(w[8:]) - 60]]
        assert np.all(probabilities[t][offs] == 0.0)
        kind, _, value = token.partition("_")
        if kind in ("NoteOn", "NoteOff"):
            sounding[int(value) - 60] = kind == "NoteOn"
        after = kind == "NoteOn"


def test_the_event_model_draws_only_well_formed_sequences():
    import tensorflow as tf

    model, words = _event_model()
    drawn = model.sample(model.initial_state(4), tf.constant(300), 1, tf.random.Generator.from_seed(5),
                         temperature=2.0).numpy()
    for piece in drawn:
        assert _well_formed(words, piece[:, 0].astype(int))
