"""MIDI events the REMI way (rnn_rbm/music/remi.py): rolls <-> miditok REMI tokens exactly,
and the event_lstm's REMI grammar: the model's probabilities over the words the grammar
allows, summing to one, and an untrained model's draws well formed."""

import numpy as np
import pytest
from test_midi_events import random_roll, roll_of

from rnn_rbm.music import remi
from rnn_rbm.music.midi_events import MAX_SHIFT_BEATS, vocabulary


def test_a_roll_comes_back_exactly_long_notes_and_empty_bars_included():
    tokenizer = remi.remi_tokenizer(2)
    longest = MAX_SHIFT_BEATS * 2
    # a note longer than the longest Duration, a bar of silence, and a chord
    roll = roll_of(60, [(60, 0, longest + 5), (64, 0, 2), (67, 30, 34), (71, 30, 31)])
    words = remi.roll_to_remi(roll, tokenizer, 2)
    assert words[0] == "Bar_None" and words.count("Pitch_60") == 2  # the long note in two
    assert words.count("Bar_None") == 4  # bars 1-4 (of 8 frames); bar 4 holds the chord
    assert np.array_equal(remi.remi_to_roll(words, tokenizer, 2), roll[:34])
    for seed in range(3):
        rolled = random_roll(np.random.default_rng(seed), 50)
        end = rolled.nonzero()[0].max() + 1
        assert np.array_equal(remi.remi_to_roll(remi.roll_to_remi(rolled, tokenizer, 2), tokenizer, 2), rolled[:end])
    assert remi.roll_to_remi(np.zeros((4, 88)), tokenizer, 2) == []


def test_an_unfinished_sequence_drops_its_last_note():
    tokenizer = remi.remi_tokenizer(2)
    roll = remi.remi_to_roll(["Bar_None", "Position_0", "Pitch_60", "Duration_1.0.2", "Position_2", "Pitch_62"],
                             tokenizer, 2)
    assert roll.shape == (2, 88) and roll[:, 60 - 21].all() and not roll[:, 62 - 21].any()
    assert not remi.remi_to_roll(["PAD_None"], tokenizer, 2).any()


def test_the_grammar_allows_every_word_of_the_data_and_forbids_what_makes_no_sense():
    tokenizer = remi.remi_tokenizer(2)
    words = vocabulary(tokenizer)
    index = {w: i for i, w in enumerate(words)}
    roll = roll_of(24, [(60, 0, 6), (64, 0, 2), (67, 4, 9), (60, 6, 8), (72, 17, 24)])
    tokens = remi.roll_to_remi(roll, tokenizer, 2)
    states = remi.replay(tokens, words, 2)
    assert all(allowed[index[t]] for t, allowed in zip(tokens, states))
    start = states[0]
    assert start[index["Bar_None"]] and start.sum() == 1  # a sequence starts with a Bar
    after_pitch = states[tokens.index("Pitch_60") + 1]
    assert after_pitch[index["Duration_0.1.2"]] and not after_pitch[index["Pitch_62"]]
    # at position 4 of the first bar, C4 (0-6) still sounds: it may not start again; E4 (0-2) may
    at_4 = states[tokens.index("Position_4") + 1]
    assert not at_4[index["Pitch_60"]] and at_4[index["Pitch_64"]]
    # after a Duration at position 4, only later positions of the bar
    after = states[tokens.index("Position_4") + 3]
    assert after[index["Position_6"]] and not after[index["Position_4"]] and not after[index["Position_2"]]
    assert not any(s[index["PAD_None"]] for s in states)


def _remi_model(pitches: int = 12):
    import tensorflow as tf

    from rnn_rbm.config import family_config, replace_section
    from rnn_rbm.models import registry

    config = replace_section(family_config("event_lstm"), "data", num_pitches=pitches, lowest_pitch=60,
                             steps_per_quarter=2)
    words = vocabulary(remi.remi_tokenizer(2, 60, pitches))
    config = replace_section(config, "tokens", representation="remi", vocabulary=[words])
    config = replace_section(config, "model", n_recurrent=8, layers=1, dense_units=0, dropout=0.0)
    return registry.build(config, tf.random.Generator.from_seed(0)), words


def test_the_remi_model_allows_what_the_grammar_allows_at_every_word():
    import tensorflow as tf

    model, words = _remi_model()
    assert type(model.grammar).__name__ == "RemiGrammar"
    roll = random_roll(np.random.default_rng(3), 24, pitches=12, density=0.2)
    tokens = remi.roll_to_remi(roll, remi.remi_tokenizer(2, 60, 12), 2, lowest_pitch=60)
    index = {w: i for i, w in enumerate(words)}
    ids = np.array([[index[t]] for t in tokens], np.float32)
    contexts = model.contexts(tf.constant(ids[np.newaxis]))[0]
    probabilities = np.exp(np.stack([model.frame_log_prob(tf.constant(np.full((1, 1), k, np.float32)),
                                                          contexts[t:t + 1]).numpy()[0]
                                     for t in range(len(ids)) for k in range(len(words))]).reshape(len(ids), -1))
    states = remi.replay(tokens, words, 2, lowest_pitch=60, num_pitches=12)
    for t in range(len(tokens)):
        allowed = states[t]
        np.testing.assert_allclose(probabilities[t].sum(), 1.0, rtol=1e-5)
        assert np.all(probabilities[t][~allowed] == 0.0) and np.all(probabilities[t][allowed] > 0.0)
    # the grammar's state after each word, by the scan of training and the step of drawing
    state = model.grammar.initial(1)
    for t in range(len(tokens)):
        state = model.grammar.step(state, tf.constant(ids[t:t + 1]))
    whole = model.grammar.run(model.grammar.initial(1), tf.constant(ids[np.newaxis]))
    np.testing.assert_array_equal(whole[0, -1].numpy(), state[0].numpy())


@pytest.mark.parametrize("temperature", [1.0, 3.0])
def test_the_remi_model_draws_only_well_formed_sequences(temperature):
    import tensorflow as tf

    model, words = _remi_model()
    drawn = model.sample(model.initial_state(4), tf.constant(200), 1, tf.random.Generator.from_seed(5),
                         temperature=temperature).numpy()
    for piece in drawn:
        ids = piece[:, 0].astype(int)
        states = remi.replay([words[i] for i in ids], words, 2, lowest_pitch=60, num_pitches=12)
        assert all(allowed[i] for i, allowed in zip(ids, states))
        assert len(set(ids)) > 5  # it draws, not one word again and again
