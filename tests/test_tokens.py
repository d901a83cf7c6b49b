"""The token models: their representations (rolls <-> words, exact within each one's stated
limits), and the three recipes trained, sampled and measured through the same tasks as the
frame models. miditok's MIDI events have their own tests (test_midi_events.py)."""

from __future__ import annotations

import math

import numpy as np
import pretty_midi
import pytest
import tensorflow as tf

from rnn_rbm.config import DataConfig, GenerateConfig, Overrides, family_config, replace_section
from rnn_rbm.data.dataset import Loading
from rnn_rbm.engine import checkpoint
from rnn_rbm.engine.sampling import Drawer
from rnn_rbm.errors import UserError
from rnn_rbm.models import registry
from rnn_rbm.models.token_lstm import draw_tokens
from rnn_rbm.music.guide import top_voice
from rnn_rbm.music.pianoroll import midi_to_roll
from rnn_rbm.music.tokens import REPRESENTATIONS, Melody, MidiEvents, NoteWords, UnknownWords
from rnn_rbm.ops import philox
from rnn_rbm.tasks.evaluate import evaluate_task
from rnn_rbm.tasks.generate import GenerateRequest, generate_task
from rnn_rbm.tasks.train import TrainRequest, train_task
from tests.conftest import chord_progression

DATA = DataConfig()
C4, E4, G4, B3 = 60 - 21, 64 - 21, 67 - 21, 59 - 21  # roll columns


def roll_of(steps: int, notes: list[tuple[int, int, int]]) -> np.ndarray:
    """notes: (column, first frame, frames)."""
    roll = np.zeros((steps, 88), np.float32)
    for column, start, frames in notes:
        roll[start:start + frames, column] = 1.0
    return roll


HAND_MADE = [
    # a triad held two frames, then three frames of silence
    roll_of(5, [(C4, 0, 2), (E4, 0, 2), (G4, 0, 2)]),
    # notes starting together with different lengths, leading silence, a gap longer than 16 frames
    roll_of(40, [(C4, 3, 1), (E4, 3, 4), (G4, 3, 4), (B3, 30, 2)]),
    # a note held 37 frames (longer than a word's 16), another starting under it, the range's ends
    roll_of(41, [(C4, 0, 37), (G4, 5, 3), (0, 38, 1), (87, 38, 3)]),
]


@pytest.mark.parametrize("roll", HAND_MADE)
def test_note_words_give_back_the_exact_roll(roll):
    words = NoteWords.fit([roll], DATA)
    np.testing.assert_array_equal(words.decode(words.encode(roll)), roll)


def test_note_words_keep_duration_rests_and_the_time_to_the_next_word():
    words = NoteWords.fit(HAND_MADE, DATA)
    assert words.words(words.encode(HAND_MADE[0])) == ["C4.E4.G4|2|5"]
    # Same onset, two lengths: two words, the first advancing 0; then rests up to the next onset.
    assert words.words(words.encode(HAND_MADE[1])) == [
        "rest|0|3", "C4|1|0", "E4.G4|4|16", "rest|0|11", "B3|2|10"]


def test_a_word_the_vocabulary_lacks_is_an_error_or_unk_as_asked():
    words = NoteWords.fit(HAND_MADE[:1], DATA)
    strange = roll_of(4, [(B3, 0, 4)])
    with pytest.raises(UnknownWords, match="B3"):
        words.encode(strange)
    ids = words.encode(strange, unknown="unk")
    assert words.vocabulary[0][ids[0, 0]] == "<unk>" and words.count_unknown(ids) == 1
    assert words.count_unknown(words.encode(HAND_MADE[0])) == 0
    # Model output that never moves time on still decodes, to at least one frame.
    assert words.decode(np.zeros((3, 3), np.int64)).shape == (1, 88)


def test_melody_is_the_top_voice_one_token_per_frame():
    roll = HAND_MADE[2]
    melody = Melody.fit([roll], DATA)
    ids = melody.encode(roll)
    top_pitches = set(np.nonzero(top_voice(roll))[1])
    # <unk>, rest, and only the pitches its top voice uses.
    assert len(ids) == len(roll) and melody.sizes == [2 + len(top_pitches)]
    np.testing.assert_array_equal(melody.decode(ids), top_voice(roll))


def test_the_melody_model_draws_only_pitches_its_training_tunes_use():
    import tensorflow as tf

    from rnn_rbm.models import registry

    tune = roll_of(8, [(60 - 21, 0, 2), (62 - 21, 2, 2), (64 - 21, 4, 4)])  # C4, D4, E4
    melody = Melody.fit([tune], DATA)
    config = tiny_token_config("melody_lstm", melody.vocabulary)
    model = registry.build(config, tf.random.Generator.from_seed(0))
    # An untrained model at a high temperature: every word of its vocabulary gets drawn.
    drawn = model.sample(model.initial_state(8), tf.constant(64), 1, tf.random.Generator.from_seed(1),
                         temperature=3.0).numpy()
    pitches = {int(c) + 21 for piece in drawn for c in np.nonzero(melody.decode(piece))[1]}
    assert pitches and pitches <= {60, 62, 64}


def test_midi_events_round_trip_through_miditok():
    roll, _ = midi_to_roll(chord_progression(3), 2)
    events = MidiEvents.fit([], DATA)
    ids = events.encode(roll)
    assert ids.shape[1] == 1 and len(ids) > 3 * len(roll) // 4  # note-on, velocity, note-off, shifts
    back = events.decode(ids)
    np.testing.assert_array_equal(back, roll[:len(back)])  # trailing silence is not an event


def tiny_token_config(family: str, vocabulary: list[list[str]]):
    config = replace_section(family_config(family), "tokens", vocabulary=vocabulary)
    return replace_section(config, "model", n_recurrent=16, layers=2, dense_units=8, dropout=0.1, init_std=0.1)


def test_a_token_model_learns_a_tiny_set_and_the_same_seed_draws_the_same_piece():
    rolls = HAND_MADE[1:]  # two pieces that start differently: each can be learnt by heart
    words = NoteWords.fit(rolls, DATA)
    config = replace_section(tiny_token_config("note_lstm", words.vocabulary), "model", dropout=0.0)
    model = registry.build(config, tf.random.Generator.from_seed(0))
    sequences = [tf.constant(words.encode(r)[np.newaxis].astype(np.float32)) for r in rolls]
    optimizer = tf.keras.optimizers.Adam(0.03)
    rng = tf.random.Generator.from_seed(1)

    def cost(v):
        return model.loss(v, tf.ones(tf.shape(v)[:2]), config.train, philox.new_seed(rng))

    first = float(sum(cost(v) for v in sequences))
    for _ in range(60):
        for v in sequences:
            with tf.GradientTape() as tape:
                loss = cost(v)
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    assert float(sum(cost(v) for v in sequences)) < 0.25 * first

    settings = GenerateConfig(num_samples=2, num_steps=24, chunk_steps=4)
    primer = words.encode(rolls[0])
    drawn = [draw_tokens(Drawer(model, settings, tf.random.Generator.from_seed(s)), words, primer)
             for s in (7, 7, 8)]
    rolls_7, primer_frames = drawn[0]
    assert rolls_7.shape == (2, primer_frames + 24, 88) and primer_frames == len(rolls[0])
    np.testing.assert_array_equal(rolls_7[:, :primer_frames], np.repeat(rolls[0][np.newaxis], 2, axis=0))
    np.testing.assert_array_equal(rolls_7, drawn[1][0])  # same seed, same pieces
    assert not np.array_equal(rolls_7, drawn[2][0])


@pytest.mark.parametrize("family, representation", [("note_lstm", None), ("melody_lstm", None),
                                                     ("event_lstm", None), ("event_lstm", "remi")])
def test_each_recipe_trains_generates_and_is_measured_through_the_tasks(family, representation, midi_folder, tmp_path,
                                                                        monkeypatch):
    # Generation finds its primer in the roll cache: the one training filled.
    monkeypatch.setenv("RNN_RBM_CACHE", str(tmp_path / "cache"))
    loading = Loading(workers=1, progress=False)
    runs = tmp_path / "runs"
    overrides = Overrides(data_source=str(midi_folder), family=family, n_recurrent=8,
                          train={"validate_every": 1, "batch_size": 4},
                          settings={"tokens.representation": representation} if representation else {})
    newest = train_task(TrainRequest(2, runs, overrides), loading)
    config = checkpoint.load_config(newest)
    assert config.tokens.vocabulary and config.model.family == family
    assert config.tokens.representation == (representation or config.tokens.representation)
    # The checkpoint holds the vocabulary fitted on the training pieces, word for word.
    train_rolls = loading.load(str(midi_folder), config.data).train
    assert config.tokens.vocabulary == REPRESENTATIONS[config.tokens.representation].fit(
        train_rolls, config.data).vocabulary

    # A new run from that checkpoint (--init) reads with its vocabulary and goes on from its weights.
    again = train_task(TrainRequest(1, tmp_path / "again", Overrides(train={"batch_size": 4}), init=newest), loading)
    assert checkpoint.load_config(again).tokens == config.tokens

    settings = GenerateConfig(num_samples=2, num_steps=16, top_k=5)
    generated = generate_task(GenerateRequest(newest, tmp_path / "results", settings, seed=2), progress=False)
    for files in generated.files:
        midi = pretty_midi.PrettyMIDI(str(files.midi))
        assert midi.instruments and midi.instruments[0].notes
    record = (tmp_path / "results" / f"{generated.files[0].midi.name.rsplit('_', 1)[0]}.run.json").read_text()
    assert "(validation piece), tokens" in record  # the primer: a named window of a validation piece

    measured = evaluate_task(newest, "valid", Overrides(), {}, loading)
    assert measured.tokens and measured.evaluation.tokens > 0
    assert math.isfinite(measured.evaluation.nll) and measured.evaluation.nll > 0
    assert measured.evaluation.sizes == [len(words) for words in config.tokens.vocabulary]


def test_token_models_refuse_frame_only_settings(midi_folder, tmp_path):
    loading = Loading(cache_dir=tmp_path / "cache", workers=1, progress=False)
    runs = tmp_path / "runs"
    newest = train_task(TrainRequest(1, runs, Overrides(data_source=str(midi_folder), family="melody_lstm",
                                                        n_recurrent=4)), loading)
    melody = midi_folder / "piece_0.mid"
    with pytest.raises(UserError, match="--melody"):
        generate_task(GenerateRequest(newest, tmp_path / "r", melody=melody), progress=False)
    primer = tmp_path / "high.mid"
    from tests.conftest import make_midi

    make_midi([(108, 0, 1), (21, 0, 1)]).write(str(primer))
    words = train_task(TrainRequest(1, tmp_path / "nl", Overrides(data_source=str(midi_folder), family="note_lstm",
                                                                  n_recurrent=4)), loading)
    with pytest.raises(UserError, match="--primer .* not in the model's note_words vocabulary"):
        generate_task(GenerateRequest(words, tmp_path / "r", primer=primer), progress=False)
    frames = train_task(TrainRequest(1, tmp_path / "lstm", Overrides(data_source=str(midi_folder), family="lstm",
                                                                     n_recurrent=4)), loading)
    with pytest.raises(UserError, match="--top_k is for the token models"):
        generate_task(GenerateRequest(frames, tmp_path / "r", GenerateConfig(top_k=3)), progress=False)
    with pytest.raises(UserError, match="selects by valid_nll"):
        train_task(TrainRequest(1, tmp_path / "x", Overrides(data_source=str(midi_folder), family="melody_lstm",
                                                             train={"select_metric": "valid_acc"})), loading)


def test_a_tokens_fields_are_drawn_given_the_ones_before_it_and_stay_normalised():
    import itertools

    import tensorflow as tf

    from rnn_rbm.models import registry
    from rnn_rbm.ops import philox

    vocabulary = [["a", "b", "c"], ["0", "1", "2"], ["x", "y"]]
    model = registry.build(tiny_token_config("note_lstm", vocabulary), tf.random.Generator.from_seed(0))
    rng = np.random.default_rng(0)
    for row in model.C:
        for table in row:
            table.assign(rng.normal(size=table.shape).astype(np.float32))
    context = model.context(model.initial_state(1))
    every = np.array(list(itertools.product(range(3), range(3), range(2))), np.float32)
    total = np.exp(model.frame_log_prob(tf.constant(every), tf.repeat(context, len(every), axis=0)).numpy()).sum()
    assert total == pytest.approx(1.0, abs=1e-5)
    # A coupling that ties the second field to the first: every draw obeys it.
    model.C[1][0].assign(30.0 * np.eye(3, dtype=np.float32))
    drawn = model.draw(tf.repeat(context, 200, axis=0), 1, philox.new_seed(tf.random.Generator.from_seed(3))).numpy()
    assert len(set(drawn[:, 0])) == 3 and np.all(drawn[:, 1] == drawn[:, 0])
