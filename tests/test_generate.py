"""Generation: chunked sampling, temperature, a held melody, and a whole run's files."""

import json
import re
import wave
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import make_midi

from rnn_rbm.config import DataConfig, GenerateConfig, ModelConfig, RunConfig
from rnn_rbm.engine import checkpoint
from rnn_rbm.engine.sampling import generate
from rnn_rbm.models.rnn_rbm import RnnRbm
from rnn_rbm.music.guide import melody_clamp, top_voice
from rnn_rbm.music.pianoroll import midi_to_roll
from rnn_rbm.outputs.samples import run_name, write_samples

V, H, R = 12, 7, 5


def tiny_model(seed: int = 0) -> RnnRbm:
    return RnnRbm(V, H, R, init_std=0.5, rng=tf.random.Generator.from_seed(seed))


def a_melody(steps: int = 10, seed: int = 0) -> np.ndarray:
    """A line of one note per frame, with rests, in the middle of the range."""
    rng = np.random.default_rng(seed)
    melody = np.zeros((steps, V), np.float32)
    for t in range(steps):
        if rng.random() < 0.8:
            melody[t, rng.integers(4, 9)] = 1
    return melody


def test_temperature_one_in_chunks_gives_exactly_the_one_call_sampler():
    model = tiny_model()
    k, steps, count = 4, 11, 3
    primer = (np.random.default_rng(0).random((5, V)) < 0.3).astype(np.float32)
    rng = tf.random.Generator.from_seed(9)
    u0 = model.final_state(tf.constant(np.repeat(primer[None], count, 0)))
    # The sampler as it was before chunks, temperature and clamping: one call, no options.
    reference = tf.function(lambda u, n: model.sample(u, n, k, rng))(u0, tf.constant(steps)).numpy()
    settings = GenerateConfig(num_samples=count, num_steps=steps, gibbs_steps=k, chunk_steps=4, temperature=1.0)
    drawn = generate(model, settings, tf.random.Generator.from_seed(9), primer=primer)
    np.testing.assert_array_equal(drawn[:, 5:], reference)
    for chunk in (1, 3, 16):  # uneven and larger-than-the-piece chunks change nothing either
        again = generate(model, GenerateConfig(num_samples=count, num_steps=steps, gibbs_steps=k, chunk_steps=chunk),
                         tf.random.Generator.from_seed(9), primer=primer)
        np.testing.assert_array_equal(again, drawn)


def test_very_high_temperature_flips_coins_on_the_free_units_only():
    model = tiny_model()
    melody = a_melody(8)
    settings = GenerateConfig(num_samples=200, num_steps=8, gibbs_steps=3, temperature=1e6)
    drawn = generate(model, settings, tf.random.Generator.from_seed(1), melody=melody)
    mask, values = melody_clamp(melody, 8)
    np.testing.assert_array_equal(drawn * mask, np.broadcast_to(values, drawn.shape))
    free = drawn[:, mask == 0]
    assert free.size > 10_000
    assert abs(free.mean() - 0.5) < 0.02  # 4 standard errors
    cold = generate(model, GenerateConfig(num_samples=200, num_steps=8, gibbs_steps=3),
                    tf.random.Generator.from_seed(1), melody=melody)[:, mask == 0]
    assert abs(cold.mean() - 0.5) > 0.05  # the trained-temperature model is not a coin


def test_very_low_temperature_draws_the_most_likely_chain_whatever_the_seed():
    model = tiny_model()
    # Biases start at 0, and a logit of exactly 0 is a coin flip at any temperature.
    model.bv.assign(tf.random.stateless_normal([V], [0, 1]))
    model.bh.assign(tf.random.stateless_normal([H], [0, 2]))
    settings = GenerateConfig(num_samples=2, num_steps=1, gibbs_steps=3, temperature=1e-4)
    first = generate(model, settings, tf.random.Generator.from_seed(1))
    second = generate(model, settings, tf.random.Generator.from_seed(2))
    np.testing.assert_array_equal(first, second)
    # Frame 1 (u(0) = 0, biases bv and bh): each unit takes the side its input favours.
    W, bv, bh = model.W.numpy(), model.bv.numpy(), model.bh.numpy()
    v = np.zeros(V)
    for _ in range(3):
        h = (v @ W + bh > 0).astype(np.float32)
        v = (h @ W.T + bv > 0).astype(np.float32)
    np.testing.assert_array_equal(first[0, 0], v)


def coupled_model() -> RnnRbm:
    """Units 2 and 9 are tied by hidden unit 0; everything else is off; no recurrence."""
    model = tiny_model()
    for var in model.trainable_variables:
        var.assign(tf.zeros_like(var))
    # Given unit 2, hidden 0 and then unit 9 have logits 24 - 19 and 24 - 20; both on together
    # have energy 19 + 2 * 20 - 2 * 24 = 11 above all off, so the free model leaves 9 off.
    model.bv.assign(tf.fill([V], -20.0))
    model.bh.assign(tf.fill([H], -19.0))
    model.W.assign(tf.tensor_scatter_nd_update(tf.zeros([V, H]), [[2, 0], [9, 0]], [24.0, 24.0]))
    return model


def test_held_notes_are_seen_by_the_hidden_units():
    model = coupled_model()
    free = generate(model, GenerateConfig(num_samples=50, num_steps=4, gibbs_steps=5), tf.random.Generator.from_seed(0))
    melody = np.zeros((4, V), np.float32)
    melody[:, 2] = 1  # hold unit 2 on: its partner 9 must follow (and 9 is above it: not held off)
    mask, _ = melody_clamp(melody, 4)
    mask[:, 9] = 0
    held = model.sample(model.initial_state(50), tf.constant(4), 5, tf.random.Generator.from_seed(0),
                        clamp_mask=tf.constant(mask[None]), clamp_values=tf.constant(melody[None])).numpy()
    assert free[..., 9].mean() < 0.05
    assert held[..., 2].min() == 1 and held[..., 9].mean() > 0.9


def test_harmonising_keeps_every_melody_note_on_top_and_fills_in_below():
    model = tiny_model()
    melody = a_melody(10)
    primer = (np.random.default_rng(3).random((4, V)) < 0.3).astype(np.float32)
    settings = GenerateConfig(num_samples=5, num_steps=14, gibbs_steps=5, chunk_steps=4)
    drawn = generate(model, settings, tf.random.Generator.from_seed(4), primer=primer, melody=melody)
    assert drawn.shape == (5, 18, V)
    new = drawn[:, 4:14]
    assert (new[:, melody > 0] == 1).all()  # every melody note kept
    for t in range(10):
        if melody[t].any():
            top = int(np.argmax(melody[t]))
            assert not new[:, t, top + 1:].any()  # nothing above the melody
    below = np.tril(np.ones((V, V)), -1)[np.argmax(melody, axis=1)] * melody.any(axis=1, keepdims=True)
    assert new[:, below > 0].any()  # the sampler filled in something under it


def test_top_voice_keeps_the_highest_note_of_each_frame():
    roll = np.zeros((4, V), np.float32)
    roll[0, [1, 5, 7]] = 1
    roll[2, 3] = 1
    roll[3, [0, 11]] = 1
    expected = np.zeros_like(roll)
    expected[0, 7] = expected[2, 3] = expected[3, 11] = 1
    np.testing.assert_array_equal(top_voice(roll), expected)


def test_melody_clamp_holds_the_note_and_everything_above_then_frees():
    melody = np.zeros((3, 5), np.float32)
    melody[0, 2] = 1
    melody[2, 4] = 1  # frame 1 rests
    mask, values = melody_clamp(melody, 4)
    np.testing.assert_array_equal(mask, [[0, 0, 1, 1, 1], [0] * 5, [0, 0, 0, 0, 1], [0] * 5])
    np.testing.assert_array_equal(values, np.vstack([melody, np.zeros((1, 5))]))
    with pytest.raises(ValueError, match="top_voice"):
        melody_clamp(np.ones((2, 5)), 2)


def test_run_names_never_reuse_a_run_s_files(tmp_path):
    first = run_name(tmp_path)
    (tmp_path / f"{first}_1.mid").write_bytes(b"")
    second = run_name(tmp_path)
    (tmp_path / f"{second}.run.json").write_text("{}")
    third = run_name(tmp_path)
    assert len({first, second, third}) == 3 and all(n.startswith(first) for n in (second, third))


def test_write_samples_leaves_midi_wav_and_png(tmp_path):
    from rnn_rbm.outputs.audio import Synth

    rolls = generate(tiny_model(), GenerateConfig(num_samples=2, num_steps=6, gibbs_steps=2),
                     tf.random.Generator.from_seed(0))
    data = DataConfig(lowest_pitch=60, num_pitches=V)
    files = write_samples(rolls, tmp_path, data, GenerateConfig(audio_sample_rate=8000), "run", Synth(None), True)
    assert [f.midi.name for f in files] == ["run_1.mid", "run_2.mid"]
    for f in files:
        assert f.wav == f.midi.with_suffix(".wav") and f.wav.stat().st_size > 44
        assert f.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    roll, _ = midi_to_roll(files[0].midi, data.steps_per_quarter, 60, V)
    np.testing.assert_array_equal(roll, rolls[0][: len(roll)])


# --- the command line, in this process (TensorFlow is loaded once for the whole suite)


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Path:
    config = RunConfig(model=ModelConfig(n_hidden=16, n_recurrent=8))
    model = RnnRbm.from_config(config, tf.random.Generator.from_seed(0))
    return checkpoint.save(tmp_path / "ckpt" / "tiny.ckpt", config, model=model)


def generate_cli(*args: str) -> None:
    from rnn_rbm.cli import generate_main

    generate_main([*args, "--quiet"])


def page_links(page: Path) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page.read_text())


def test_a_run_with_audio_and_plot_leaves_files_and_a_page_whose_links_resolve(tiny_checkpoint, tmp_path, capsys,
                                                                               monkeypatch):
    monkeypatch.setenv("RNN_RBM_CACHE", str(tmp_path / "cache"))  # empty: statistics without a reference
    out = tmp_path / "results"
    generate_cli(str(tiny_checkpoint), "--audio", "--plot", "--num_samples", "2", "--num_steps", "16",
                 "--gibbs_steps", "2", "--seed", "3", "--out_dir", str(out))
    printed = capsys.readouterr().out.split()
    assert len(printed) == 2 and all(p.endswith(".mid") for p in printed)
    seconds = 16 * 60 / GenerateConfig().tempo_bpm / DataConfig().steps_per_quarter + 1.0  # + release
    for midi in map(Path, printed):
        with wave.open(str(midi.with_suffix(".wav")), "rb") as wav:
            assert wav.getnframes() == round(seconds * wav.getframerate())
            samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2") / 32767.0
        assert np.sqrt(np.mean(samples ** 2)) > 0.01  # audible, not silence
        assert midi.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    generate_cli(str(tiny_checkpoint), "--num_steps", "8", "--gibbs_steps", "2", "--seed", "4", "--out_dir", str(out))
    manifests = sorted(out.glob("*.run.json"))
    assert len(manifests) == 2  # the second run kept the first one's entry
    links = page_links(out / "index.html")
    # run 1: picture, player, MIDI and WAV links of 2 pieces, and its statistics' picture; run 2: MIDI
    assert len(links) == 2 * 4 + 1 + 1
    assert all((out / link).is_file() for link in links)
    assert {Path(p).name for p in printed} <= set(links)
    record = json.loads(manifests[0].read_text())
    assert record["seed"] == 3 and record["checkpoint"] == str(tiny_checkpoint)
    assert "--seed 3" in record["command"] and record["settings"]["num_steps"] == 16
    stats = record["sample_stats"]
    assert stats["pieces"] == 2 and stats["frames"] == 32 and stats["reference"] is None
    assert stats["measures"]["polyphony"]["label"] == "notes per sounding frame"
    assert [set(s["stats"]) for s in record["samples"]] == [set(stats["measures"])] * 2
    assert record["stats_png"] in links and "stats_png" not in json.loads(manifests[1].read_text())


# The tune in C, in D and in F#: a model of music in C (data.key, the default) harmonises it
# moved into C and writes it back in its own key, every note where it was.
@pytest.mark.parametrize("transpose", [0, 2, 6])
def test_cli_harmonises_a_melody_file_for_its_length(tiny_checkpoint, tmp_path, capsys, transpose):
    melody_notes = [(p + transpose, s, e) for p, s, e in
                    [(64, 0, 1), (67, 1, 2), (72, 2, 3), (71, 3, 3.5), (60, 3, 4), (69, 4.5, 6)]]
    make_midi(melody_notes).write(str(tmp_path / "tune.mid"))
    generate_cli(str(tiny_checkpoint), "--melody", str(tmp_path / "tune.mid"), "--gibbs_steps", "3",
                 "--num_samples", "2", "--temperature", "0.8", "--seed", "1", "--out_dir", str(tmp_path / "out"))
    melody = top_voice(midi_to_roll(tmp_path / "tune.mid", DataConfig().steps_per_quarter)[0])
    assert len(melody) == 12  # 6 beats of eighths: the melody's length sets the piece's
    for path in capsys.readouterr().out.split():
        roll, _ = midi_to_roll(path, DataConfig().steps_per_quarter)
        assert len(roll) == 12
        assert (roll[melody > 0] == 1).all()  # every melody note kept
        for t in np.nonzero(melody.any(axis=1))[0]:
            assert not roll[t, melody[t].argmax() + 1:].any()  # and on top


def test_bad_sound_font_and_foreign_page_are_refused(tiny_checkpoint, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_code:
        generate_cli(str(tiny_checkpoint), "--audio", "--sound_font", str(tmp_path / "none.sf2"))
    assert exit_code.value.code == 2 and "none.sf2: no such file" in capsys.readouterr().err
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "index.html").write_text("<html>my own page</html>")
    with pytest.raises(SystemExit):
        generate_cli(str(tiny_checkpoint), "--out_dir", str(tmp_path / "theirs"))
    assert "not a results page" in capsys.readouterr().err
    assert (tmp_path / "theirs" / "index.html").read_text() == "<html>my own page</html>"
