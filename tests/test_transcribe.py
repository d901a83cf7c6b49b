"""Transcription with TensorFlow: the acoustic model (models/acoustic.py) and its audio cache,
a frame model as the decoders' prior (engine/prior.py), and rnn_rbm_transcribe.py end to end
with its bad-input messages."""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest
import tensorflow as tf

from rnn_rbm import cli
from rnn_rbm.config import FeatureConfig, GenerateConfig, family_config, replace_section
from rnn_rbm.data import audiocache
from rnn_rbm.data.dataset import pad_batch
from rnn_rbm.data.sources import MIN_FILES_FOR_WORKERS
from rnn_rbm.engine import checkpoint
from rnn_rbm.engine.prior import ModelPrior, check_prior
from rnn_rbm.errors import UserError
from rnn_rbm.models import registry
from rnn_rbm.models.acoustic import Acoustic, AcousticScorer, audio_frames
from rnn_rbm.ops import philox
from rnn_rbm.outputs import audio as synthesis
from rnn_rbm.tasks.transcribe import TranscribeRequest, transcribe_task
from rnn_rbm.transcription import audio, decoders, features
from tests.test_models import ALL_FRAMES, V, random_rolls, tiny, tiny_config
from conftest import fluidsynth_or_skip

P = 88
# One CQT bin per key and one frame of context on either side: the smallest acoustic model.
FEATURES = FeatureConfig(bins_per_semitone=1, context=1)
D = FEATURES.num_bins


def acoustic_config(**model):
    config = replace_section(family_config("acoustic"), "model", **{"n_hidden": 6, "layers": 2, **model})
    return dataclasses.replace(config, features=FEATURES)


def acoustic(seed: int = 0, **model) -> Acoustic:
    return registry.build(acoustic_config(**model), tf.random.Generator.from_seed(seed))


def chunks(steps: int = 70, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """A random roll, a random spectrum of its audio frames, and its frames in the model's layout."""
    rng = np.random.default_rng(seed)
    roll = (rng.random((steps, P)) < 0.05).astype(np.float32)
    spectrum = rng.normal(size=(steps * FEATURES.frames_per_step, D)).astype(np.float16)
    return roll, spectrum, audio_frames(roll, spectrum, FEATURES.frames_per_step, FEATURES.context)


# --- the acoustic model ---------------------------------------------------------------------

def test_acoustic_loss_is_finite_and_reaches_every_variable():
    model = acoustic()
    _, _, pieces = chunks()
    v, mask = pad_batch(pieces)
    with tf.GradientTape() as tape:
        loss = model.loss(tf.constant(v), tf.constant(mask), acoustic_config().train,
                          philox.new_seed(tf.random.Generator.from_seed(1)))
    assert np.isfinite(float(loss))
    gradients = tape.gradient(loss, model.trainable_variables)
    for variable, gradient in zip(model.trainable_variables, gradients):
        assert gradient is not None and float(tf.norm(gradient)) > 0, variable.name
    # The standardisation is set from the data, never trained.
    assert {v.name for v in model.trainable_variables}.isdisjoint({"mean:0", "scale:0"})


def test_acoustic_loss_without_dropout_is_the_notes_cross_entropy_per_counted_frame():
    model = acoustic(dropout=0.0)
    roll, spectrum, pieces = chunks()
    v, mask = pad_batch(pieces)
    loss = float(model.loss(tf.constant(v), tf.constant(mask), acoustic_config().train,
                            philox.new_seed(tf.random.Generator.from_seed(1))))
    logits = model.note_logits(tf.constant(spectrum[np.newaxis].astype(np.float32)))[0].numpy().astype(np.float64)
    targets = features.roll_to_frames(roll, FEATURES.frames_per_step)
    p = 1 / (1 + np.exp(-logits))
    expected = -np.mean(np.sum(targets * np.log(p) + (1 - targets) * np.log(1 - p), axis=1))
    assert loss == pytest.approx(expected, rel=1e-4)


def test_note_probabilities_are_88_per_audio_frame():
    model = acoustic()
    probabilities = model.note_probabilities(tf.random.normal([37, D])).numpy()
    assert probabilities.shape == (37, P) and probabilities.dtype == np.float32
    assert np.all((probabilities > 0) & (probabilities < 1))
    assert model.n_visible == P + 1 + D


def test_the_network_stacks_each_piece_as_stack_context_does_in_a_padded_batch():
    model = acoustic()
    rng = np.random.default_rng(0)
    lengths = [12, 15, 1]
    x = np.zeros((3, 15, D), np.float32)
    mask = np.zeros((3, 15), np.float32)
    for i, n in enumerate(lengths):
        x[i, :n] = rng.normal(size=(n, D))
        mask[i, :n] = 1
    got = model.stacked(tf.constant(x), tf.constant(mask)).numpy()
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(got[i, :n], features.stack_context(x[i, :n], FEATURES.context), atol=1e-6)


def test_sequences_with_their_margins_give_every_frame_what_the_whole_piece_gives_it():
    model = acoustic()
    roll, spectrum, pieces = chunks(steps=150)  # 600 audio frames: three sequences
    assert len(pieces) == 3
    counted = np.concatenate([p[p[:, P] > 0] for p in pieces])
    np.testing.assert_array_equal(counted[:, :P], features.roll_to_frames(roll, FEATURES.frames_per_step))
    np.testing.assert_array_equal(counted[:, P + 1:], spectrum)  # every frame once, in order
    v, mask = pad_batch(pieces)
    logits = model.note_logits(tf.constant(v[..., P + 1:]), tf.constant(mask)).numpy()
    by_sequence = np.concatenate([logits[i][(mask[i] * v[i, :, P]) > 0] for i in range(len(pieces))])
    whole = model.note_logits(tf.constant(spectrum[np.newaxis].astype(np.float32)))[0].numpy()
    np.testing.assert_allclose(by_sequence, whole, atol=1e-5)


def test_start_from_data_standardises_the_input_and_sets_the_note_frequencies():
    model = acoustic()
    roll, spectrum, pieces = chunks()
    model.start_from_data(pieces)
    np.testing.assert_allclose(model.mean.numpy(), spectrum.astype(np.float64).mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(model.scale.numpy(), spectrum.astype(np.float64).std(axis=0), rtol=1e-3)
    on = features.roll_to_frames(roll, FEATURES.frames_per_step).mean(axis=0)
    assert np.all(np.diff(model.bo.numpy()[np.argsort(on)]) >= -1e-6)  # the more often on, the higher


def test_the_scorer_gives_each_counted_frame_its_exact_likelihood_and_thresholds_at_one_half():
    model = acoustic()
    roll, spectrum, pieces = chunks()
    scores = AcousticScorer(model)(pieces, progress=False)
    logits = model.note_logits(tf.constant(spectrum[np.newaxis].astype(np.float32)))[0]
    targets = features.roll_to_frames(roll, FEATURES.frames_per_step)
    np.testing.assert_allclose(scores.log_p, model.frame_log_prob(tf.constant(targets), logits).numpy(), rtol=1e-5)
    decided = (logits.numpy() > 0)
    tp = (decided & (targets > 0)).sum()
    assert scores.counts.shape == (len(targets), 1, 3) and scores.counts[:, 0, 0].sum() == tp
    figures = model.figures(scores)
    assert figures["nll"] == pytest.approx(-scores.log_p.mean())
    assert figures["acc"] == pytest.approx(tp / (decided.sum() + (targets > 0).sum() - tp))


def test_the_acoustic_model_round_trips_through_a_checkpoint_and_writes_no_music(tmp_path):
    model = acoustic(seed=3)
    model.start_from_data(chunks()[2])
    prefix = checkpoint.save(tmp_path / "a.ckpt", acoustic_config(), model=model)
    held = checkpoint.load_config(prefix)
    assert held.features == FEATURES and held.model.family == "acoustic"
    rebuilt = registry.build(held, tf.random.Generator.from_seed(9))
    checkpoint.restore(prefix, model=rebuilt)
    x = tf.random.normal([9, D])
    np.testing.assert_array_equal(rebuilt.note_probabilities(x).numpy(), model.note_probabilities(x).numpy())
    with pytest.raises(UserError, match="rnn_rbm_transcribe.py"):
        Acoustic.check_generation(GenerateConfig(), None)


def test_the_acoustic_model_refuses_what_it_cannot_train_with():
    dataset = None  # refused before reading any piece
    for section, field, value in (("train", "select_metric", "valid_acc"), ("train", "image_every", 5),
                                  ("data", "num_pitches", 64)):
        with pytest.raises(UserError):
            Acoustic.prepare_training(dataset, replace_section(acoustic_config(), section, **{field: value}))


def test_the_audio_cache_round_trips_and_is_keyed_by_the_rolls_and_the_settings(tmp_path, monkeypatch):
    synth = synthesis.Synth(tmp_path / "font.sf2")
    synth.sound_font.write_bytes(b"x" * 10)
    rolls = [np.eye(3, P, dtype=np.float32), np.zeros((2, P), np.float32)]
    made = []

    def fake_render(roll, config, synth):  # no FluidSynth needed: the cache is what is tested
        made.append(len(roll))
        return np.full((len(roll) * config.frames_per_step, config.num_bins), len(roll), np.float32)

    monkeypatch.setattr(audiocache, "render_features", fake_render)
    first = audiocache.split_features(rolls, "toy", "train", FEATURES, synth, tmp_path, progress=False)
    again = audiocache.split_features(rolls, "toy", "train", FEATURES, synth, tmp_path, progress=False)
    assert made == [3, 2]  # the second call read the cache
    for a, b in zip(first, again):
        assert a.dtype == b.dtype == np.float16
        np.testing.assert_array_equal(a, b)
    assert [f.shape for f in first] == [(12, D), (8, D)]
    assert not list(tmp_path.glob(".*.tmp"))
    path = audiocache.cache_path(tmp_path, "toy", "train", rolls, FEATURES, synth)
    assert audiocache.cache_path(tmp_path, "toy", "train", rolls[:1], FEATURES, synth) != path
    assert audiocache.cache_path(tmp_path, "toy", "train", rolls, dataclasses.replace(FEATURES, context=2),
                                 synth) != path
    assert audiocache.cache_path(tmp_path, "toy", "train", rolls, dataclasses.replace(FEATURES, noise_snr_db=10.0),
                                 synth) != path


def test_a_split_rendered_by_worker_processes_is_the_one_rendered_here(tmp_path):
    fluidsynth_or_skip()
    synth = audio.require_fluidsynth(synthesis.bundled_sound_font())  # small and quick
    rng = np.random.default_rng(5)
    rolls = [(rng.random((3, P)) < 0.03).astype(np.float32) for _ in range(MIN_FILES_FOR_WORKERS)]
    config = dataclasses.replace(FEATURES, noise_snr_db=20.0)
    here = audiocache.split_features(rolls, "toy", "train", config, synth, tmp_path / "one", progress=False, workers=1)
    pool = audiocache.split_features(rolls, "toy", "train", config, synth, tmp_path / "two", progress=False, workers=2)
    assert len(here) == len(pool) == len(rolls)
    assert all(np.array_equal(a, b) for a, b in zip(here, pool))


_RENDER_IN_A_FRESH_PROCESS = """
import ctypes, sys
import numpy as np
from rnn_rbm.outputs import audio
from rnn_rbm.transcription.audio import render_roll
for _ in range(int(sys.argv[1])):
    ctypes.CDLL(None).rand()  # what other libraries may have drawn before the first synth
roll = np.zeros((4, 88), np.float32)
roll[:, 39] = roll[1:3, 43] = 1.0
synth = audio.Synth(audio.bundled_sound_font())
np.save(sys.argv[2], render_roll(roll, 0.25, 16000, synth))
"""


def test_a_piece_renders_the_same_whatever_the_process_drew_from_rand_before(tmp_path):
    # FluidSynth dithers from a table it fills from the C library's rand() once a process.
    fluidsynth_or_skip()
    import subprocess
    import sys

    for draws in (0, 1000):
        subprocess.run([sys.executable, "-c", _RENDER_IN_A_FRESH_PROCESS, str(draws), str(tmp_path / f"{draws}.npy")],
                       check=True, capture_output=True)
    fresh, drawn = np.load(tmp_path / "0.npy"), np.load(tmp_path / "1000.npy")
    assert np.abs(fresh).max() > 0.1 and np.array_equal(fresh, drawn)


def test_noisy_rendering_is_the_clean_one_plus_the_pieces_own_noise(monkeypatch):
    clean = np.sin(np.linspace(0, 200, 8000)).astype(np.float32)
    monkeypatch.setattr(audiocache, "render_roll", lambda *args: clean)  # no FluidSynth needed
    heard = []
    monkeypatch.setattr(audiocache, "log_cqt", lambda audio, config: heard.append(audio) or audio[:4, None])
    noisy = dataclasses.replace(FEATURES, noise_snr_db=10.0)
    piece, other = np.eye(4, P, dtype=np.float32), np.eye(4, P, k=1, dtype=np.float32)
    for roll, config in ((piece, FEATURES), (piece, noisy), (piece, noisy), (other, noisy)):
        audiocache.render_features(roll, config, synthesis.Synth(None))
    assert np.array_equal(heard[0], clean) and np.array_equal(heard[1], heard[2])
    noise = heard[1].astype(np.float64) - clean
    assert 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise ** 2)) == pytest.approx(10.0, abs=1e-3)
    assert not np.array_equal(heard[3], heard[1])  # another piece, other noise


# --- a frame model as the decoders' prior -----------------------------------------------------

@pytest.mark.parametrize("family", ["rnn", "lstm", "rnn_nade"])
def test_the_prior_of_an_exact_model_gives_its_log_prob_along_a_piece(family):
    model = tiny(family)
    prior = ModelPrior(model)
    assert prior.exact
    v = random_rolls(1, 6, seed=2)
    expected = model.log_prob(tf.constant(v), tf.ones([1, 6])).numpy()[0]
    state = prior.initial_state()
    for t in range(6):
        scores = prior.log_prob(state, ALL_FRAMES)
        assert scores.dtype == np.float64 and scores.shape == (len(ALL_FRAMES),)
        assert np.exp(scores).sum() == pytest.approx(1.0, abs=1e-5)
        row = int(v[0, t] @ (2 ** np.arange(V)[::-1]))  # ALL_FRAMES is in binary order
        assert scores[row] == pytest.approx(expected[t], abs=1e-5)
        state = prior.advance(state, v[0, t])
    assert all(f.experimental_get_tracing_count() == 1 for f in prior.compiled)  # compiled once


def test_the_rnn_rbm_prior_ranks_candidates_by_the_rbms_normalised_probabilities():
    model = tiny("rnn_rbm")
    prior = ModelPrior(model)
    assert not prior.exact
    state = prior.advance(prior.advance(prior.initial_state(), random_rolls(1, 1)[0, 0]), ALL_FRAMES[5])
    bv, bh = (x.numpy()[0].astype(np.float64) for x in model.step_biases_from(model.context(state)))
    W = model.W.numpy().astype(np.float64)
    hidden = np.array(list(itertools.product([0.0, 1.0], repeat=W.shape[1])))
    # p(v) = sum_h exp(v bv + h bh + v W h) / Z, by enumerating every v and h.
    joint = np.exp(ALL_FRAMES @ bv[:, None] + (hidden @ bh)[None, :] + ALL_FRAMES @ W @ hidden.T)
    exact = joint.sum(axis=1) / joint.sum()
    scores = prior.log_prob(state, ALL_FRAMES)
    np.testing.assert_allclose(np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum(), exact, rtol=1e-4)
    subset = ALL_FRAMES[[0, 3, 9, 17, 30]]
    np.testing.assert_array_equal(np.argsort(-prior.log_prob(state, subset)), np.argsort(-exact[[0, 3, 9, 17, 30]]))


def test_states_are_values_so_a_beam_can_share_them():
    prior = ModelPrior(tiny("lstm"))
    start = prior.initial_state()
    kept = start.numpy().copy()
    one, other = prior.advance(start, ALL_FRAMES[3]), prior.advance(start, ALL_FRAMES[7])
    np.testing.assert_array_equal(start.numpy(), kept)
    assert not np.allclose(one.numpy(), other.numpy())
    # The decoders take it as any Prior: a beam of width 1 is the greedy decoder.
    posteriors = np.random.default_rng(0).random((8, V))
    np.testing.assert_array_equal(decoders.beam(posteriors, prior, 1.0, 3, 1, frames_per_step=2),
                                  decoders.greedy(posteriors, prior, 1.0, 3, frames_per_step=2))


def test_only_frame_models_of_the_88_keys_are_priors():
    for config, words in ((family_config("note_lstm"), "reads tokens"), (acoustic_config(), "notes given audio"),
                          (replace_section(family_config("rnn"), "data", num_pitches=60), "88 piano keys")):
        with pytest.raises(UserError, match=words) as caught:
            check_prior(config, "some.ckpt")
        assert "\n" not in str(caught.value)
    check_prior(family_config("rnn_rbm"), "fine.ckpt")


# --- rnn_rbm_transcribe.py ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A tiny acoustic model (untrained: the pipeline is tested, not the ear) and a tiny prior of
    the 88 keys, and one of 5 pitches, as checkpoints."""
    folder = tmp_path_factory.mktemp("checkpoints")
    model = acoustic()
    model.start_from_data(chunks()[2])
    found = {"acoustic": checkpoint.save(folder / "acoustic.ckpt", acoustic_config(), model=model)}
    rnn = replace_section(family_config("rnn"), "model", n_recurrent=3)
    found["prior"] = checkpoint.save(folder / "rnn.ckpt", rnn,
                                     model=registry.build(rnn, tf.random.Generator.from_seed(0)))
    found["other_grid"] = checkpoint.save(folder / "rnn5.ckpt", tiny_config("rnn"), model=tiny("rnn"))
    return found


@pytest.fixture(scope="module")
def chord_wav(tmp_path_factory):
    """Two seconds of a C major chord played by FluidSynth at 22.05 kHz, stereo."""
    fluidsynth_or_skip()
    synth = audio.require_fluidsynth(synthesis.bundled_sound_font())  # small and quick
    roll = np.zeros((8, P), np.float32)
    roll[1:7, np.array([60, 64, 67]) - 21] = 1
    samples = audio.render_roll(roll, 0.25, 22050, synth)
    import soundfile

    path = tmp_path_factory.mktemp("audio") / "chord.wav"
    soundfile.write(str(path), np.stack([samples, 0.5 * samples], axis=1), 22050)
    return path


def test_the_command_transcribes_a_recording_with_a_prior(checkpoints, chord_wav, tmp_path, capsys):
    out = tmp_path / "results"
    cli.transcribe_main([str(chord_wav), "--acoustic", str(checkpoints["acoustic"]), "--prior",
                         str(checkpoints["prior"]), "--candidates", "3", "--out_dir", str(out), "--quiet"])
    printed = capsys.readouterr().out.split()
    assert len(printed) == 1 and printed[0].endswith("_chord.mid")
    assert sorted(p.suffix for p in out.iterdir()) == [".html", ".json", ".mid", ".png"]
    manifest = json.loads(next(out.glob("*.run.json")).read_text())
    assert manifest["kind"] == "transcription" and manifest["prior"] == str(checkpoints["prior"])
    assert manifest["settings"]["name"] == "greedy" and manifest["samples"][0]["frames"] == 32
    assert "chord.wav" in (out / "index.html").read_text()
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(str(out / printed[0].rsplit("/", 1)[1]))
    assert midi.get_end_time() <= 2.0 + 1e-6


def test_per_step_alone_is_the_acoustic_model_decided_once_a_step(checkpoints, chord_wav, tmp_path, capsys):
    out = tmp_path / "results"
    cli.transcribe_main([str(chord_wav), "--acoustic", str(checkpoints["acoustic"]), "--per_step",
                         "--candidates", "3", "--out_dir", str(out), "--quiet"])
    settings = json.loads(next(out.glob("*.run.json")).read_text())["settings"]
    assert (settings["name"], settings["alpha"], settings["per_step"]) == ("greedy", 0.0, True)
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(str(next(out.glob("*.mid"))))
    step = settings["step_seconds"]
    for note in (n for instrument in midi.instruments for n in instrument.notes):
        for time in (note.start, note.end):
            assert abs(time / step - round(time / step)) < 1e-6  # whole steps only


def test_the_hmm_weight_is_a_flag_and_said_in_the_log(checkpoints, tmp_path, capsys):
    from rnn_rbm.tasks.transcribe import describe

    with pytest.raises(SystemExit) as exited:
        cli.transcribe_main([str(tmp_path / "a.wav"), "--acoustic", str(checkpoints["acoustic"]),
                             "--decoder", "hmm", "--hmm_weight", "-1"])
    assert exited.value.code == 2 and "--hmm_weight: -1.0 is negative" in capsys.readouterr().err
    assert describe(decoders.DecoderConfig("hmm", scaled=False, weight=0.5), None) == \
        "per-note HMM, unscaled emissions, chain weighted 0.5"


def test_a_recording_too_long_is_refused_before_anything_is_written(checkpoints, chord_wav, tmp_path):
    request = TranscribeRequest([chord_wav], checkpoints["acoustic"], tmp_path / "out",
                                decoder=decoders.DecoderConfig("threshold"), max_seconds=1.0)
    with pytest.raises(UserError, match="longer than the limit"):
        transcribe_task(request)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case, words", [
    ("not_audio", "not audio"), ("empty", "is empty"), ("silent", "is silent"), ("missing", "no such file"),
    ("no_checkpoint", "no checkpoint"), ("music_as_acoustic", "a model of music"),
    ("acoustic_as_prior", "notes given audio"), ("other_grid", "88 piano keys"),
    ("greedy_without_prior", "give --prior"), ("odd_step", "whole number"),
    ("per_step_with_hmm", "--per_step is for the greedy and beam"),
])
def test_bad_input_is_one_line_and_a_non_zero_exit_with_nothing_written(case, words, checkpoints, tmp_path, capsys):
    wav = tmp_path / "in.wav"
    good = tmp_path / "good.wav"
    synthesis.write_wav(good, 0.5 * np.sin(np.arange(8000) / 5.0).astype(np.float32), 16000)
    acoustic_ckpt, extra = str(checkpoints["acoustic"]), []
    if case == "not_audio":
        wav.write_text("hello")
    elif case == "empty":
        wav.write_bytes(b"")
    elif case == "silent":
        synthesis.write_wav(wav, np.zeros(8000, np.float32), 16000)
    elif case != "missing":
        wav = good
    if case == "no_checkpoint":
        acoustic_ckpt = str(tmp_path / "nothing.ckpt")
    elif case == "music_as_acoustic":
        acoustic_ckpt = str(checkpoints["prior"])
    elif case == "acoustic_as_prior":
        extra = ["--prior", str(checkpoints["acoustic"])]
    elif case == "other_grid":
        extra = ["--prior", str(checkpoints["other_grid"])]
    elif case == "greedy_without_prior":
        extra = ["--decoder", "greedy"]
    elif case == "odd_step":
        extra = ["--step_seconds", "0.1"]
    elif case == "per_step_with_hmm":
        extra = ["--decoder", "hmm", "--per_step"]
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exited:
        cli.transcribe_main([str(wav), "--acoustic", acoustic_ckpt, "--out_dir", str(out), "--quiet", *extra])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and words in err, err
    assert not any(out.iterdir())


# --- Figure 5's tuning and targets, the pictures ------------------------------------------------

def test_tuning_picks_the_valid_splits_best_and_the_targets_follow_the_test_accuracies():
    from rnn_rbm.tasks.figure5 import SplitAudio, targets, tune

    rng = np.random.default_rng(0)
    truth = (rng.random((40, P)) < 0.05).astype(np.float32)
    # Notes on at 0.65, off at 0.35 or below: only levels between them are right everywhere.
    posteriors = np.where(truth > 0, 0.65, rng.uniform(0.0, 0.35, truth.shape)).astype(np.float32)
    valid = SplitAudio([posteriors], [truth], 0.0625)
    grid = [decoders.DecoderConfig("threshold", level=x) for x in (0.2, 0.5, 0.7)]
    best, trials = tune(valid, grid, None, None, 4, "threshold", progress=False)
    assert best.level == 0.5 and trials[1]["accuracy"] == 1.0 and trials[2]["accuracy"] == 0.0

    def row(name, decoder, prior, accuracy):
        return {"row": name, "decoder": decoder, "prior": prior, "test": {"accuracy": accuracy}}

    result = {"rows": [row("threshold 0.5", "threshold", None, 0.70), row("threshold", "threshold", None, 0.71),
                       row("hmm", "hmm", None, 0.72), row("greedy + rnn_rbm", "greedy", "rnn_rbm", 0.80),
                       row("greedy + lstm", "greedy", "lstm", 0.81), row("beam + lstm", "beam", "lstm", 0.82)]}
    found = targets("jsb", result)
    assert found["prior"] == "rnn_rbm" and found["prior_beats_hmm"] and found["hmm_beats_threshold"]
    # 8 points of the HMM's 28 points of error: 28.6 %, short of the paper's 31 % on JSB.
    assert found["reduction"] == pytest.approx((0.80 - 0.72) / 0.28) and not found["reduction_met"]
    assert found["best_prior"] == "lstm" and found["best_beam"] == "lstm"


def test_the_docs_show_the_newest_figure5_of_each_set_and_audio():
    from rnn_rbm.outputs import recordtables

    def result(alone: float, noise):
        rows = [{"row": name, "decoder": decoder, "prior": prior, "tuned": {"level": 0.5},
                 "test": {"accuracy": accuracy, "precision": 0.9, "recall": 0.9, "f_measure": 0.9}}
                for name, decoder, prior, accuracy in (("threshold 0.5", "threshold", None, alone),
                                                       ("hmm", "hmm", None, alone + 0.01),
                                                       ("greedy + rnn_rbm", "greedy", "rnn_rbm", alone + 0.02))]
        return {"rows": rows, "noise_snr_db": noise, "pieces": {"test": 3}, "frames": {"test": 40},
                "targets": {"prior": "rnn_rbm", "reduction": 0.1, "paper_reduction": 0.31, "prior_beats_hmm": True,
                            "hmm_beats_threshold": True, "reduction_met": False}}

    def record(started: str, **results):
        return {"started": started, "results": results, "wall_seconds": 60.0,
                "machine": {"cores": 2, "processor": "x"}, "revision": {"commit": "a" * 40, "dirty": False}}

    old = record("2026-01-01T00:00:00Z", jsb=result(0.90, None))
    noisy_old = record("2026-01-02T00:00:00Z", jsb=result(0.70, 10.0))
    noisy_new = record("2026-01-03T00:00:00Z", jsb=result(0.75, 10.0), nottingham=result(0.60, 10.0))
    runs = [("records/figure5/b.json", noisy_new), ("records/figure5/a.json", old), ("records/figure5/c.json", noisy_old)]
    summary = recordtables.figure5_summary(runs)
    rows = [line for line in summary.splitlines() if line.startswith("| ") and "%" not in line.split("|")[3]]
    # Nottingham before JSB (the paper's order), clean before noisy; the older noisy JSB is replaced.
    assert [row.split(" | ")[:3] for row in rows] == [["| Nottingham", "noise 10 dB", "60.0"],
                                                      ["| JSB Chorales", "clean", "90.0"],
                                                      ["| JSB Chorales", "noise 10 dB", "75.0"]]
    assert "c.json" not in summary and "[a](records/figure5/a.json)" in summary
    assert all(row.endswith("| {:.1f} (rnn_rbm) |".format(float(row.split(" | ")[2]) + 2)) for row in rows)
    assert "whole run 1 min 0 s" in recordtables.figure5(runs)


def test_the_pictures_are_written(tmp_path):
    from rnn_rbm.outputs import plots

    rng = np.random.default_rng(0)
    posteriors = rng.random((40, P)).astype(np.float32)
    png = plots.transcription_png(tmp_path / "t.png", posteriors, (posteriors > 0.9).astype(np.float32), 0.0625,
                                  title="t")
    bars = plots.grouped_bars_png(tmp_path / "b.png", {"jsb": {"paper": 80.6, "ours": 70.0}, "nottingham": {"ours": 1}},
                                  "accuracy %")
    for path in (png, bars):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_the_transcribe_extra_the_message_says_how_to_install_it(monkeypatch):
    import sys

    from rnn_rbm.transcription import require_extra

    monkeypatch.setitem(sys.modules, "librosa", None)
    with pytest.raises(UserError, match=r"pip install -e \"\.\[transcribe\]\""):
        require_extra()
