"""Transcription foundations: rendering and reading audio, CQT features aligned to steps,
the decoders against brute force, and the scores against mir_eval."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import numpy as np
import pytest

from conftest import fluidsynth_or_skip

from rnn_rbm.errors import UserError
from rnn_rbm.outputs import audio as synthesis
from rnn_rbm.transcription import audio, decoders, features, priors, scoring

RATE = 16000
CONFIG = features.FeatureConfig(sample_rate=RATE, step_seconds=0.25, frames_per_step=4)


def key_energy(feats: np.ndarray, config: features.FeatureConfig = CONFIG) -> np.ndarray:
    """Mean over frames of each key's strongest bin: shape (88,), column i = MIDI pitch 21 + i."""
    b = config.bins_per_semitone
    return feats.reshape(len(feats), features.NUM_KEYS, b).max(axis=2).mean(axis=0)


def write_wav(path, samples: np.ndarray, rate: int = RATE) -> None:
    synthesis.write_wav(Path(path), np.asarray(samples), rate)


def sine(hz: float, seconds: float, rate: int = RATE, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)


# --- audio -------------------------------------------------------------------------------

def fluidsynth_synth() -> synthesis.Synth:
    fluidsynth_or_skip()
    return audio.require_fluidsynth(synthesis.bundled_sound_font())  # small and quick


def test_a_rendered_chord_has_cqt_energy_at_its_pitches():
    synth = fluidsynth_synth()
    chord = [60, 64, 67]  # C4 E4 G4
    roll = np.zeros((6, 88), dtype=np.float32)
    roll[1:5, np.array(chord) - 21] = 1
    samples = audio.render_roll(roll, CONFIG.step_seconds, RATE, synth)
    assert samples.dtype == np.float32 and samples.shape == (6 * 4000,)
    assert np.abs(samples[:3000]).max() < 1e-3  # step 0 is a rest
    feats = features.log_cqt(samples, CONFIG)
    assert feats.shape == (6 * CONFIG.frames_per_step, 264)
    energy = key_energy(feats[5:20])  # the frames inside the chord's steps
    below_c5 = energy[: 72 - 21]  # the chord's partials start at C5
    assert set(np.argsort(-below_c5)[:3] + 21) == set(chord)
    for pitch in chord:
        for neighbour in (pitch - 2, pitch - 1, pitch + 1, pitch + 2):
            if neighbour not in chord:
                assert energy[pitch - 21] > energy[neighbour - 21] + 2.0  # e^2 times louder, at least


def test_without_fluidsynth_rendering_is_a_one_line_user_error(monkeypatch):
    monkeypatch.setattr(synthesis, "quiet_fluidsynth_import", lambda: "Couldn't find the FluidSynth library.")
    with pytest.raises(UserError) as caught:
        audio.require_fluidsynth()
    message = str(caught.value)
    assert "\n" not in message and "FluidSynth library" in message and "sine tones" in message
    with pytest.raises(ValueError, match="require_fluidsynth"):
        audio.render_roll(np.zeros((2, 88), np.float32), 0.25, RATE, synthesis.Synth(None))


@pytest.mark.parametrize("extension", ["flac", "ogg", "mp3"])
def test_load_audio_mixes_stereo_resamples_and_sets_the_peak(tmp_path, extension):
    soundfile = pytest.importorskip("soundfile")
    if extension.upper() not in soundfile.available_formats():
        pytest.skip(f"this libsndfile ({soundfile.__libsndfile_version__}) has no {extension}")
    rate = 44100
    left, right = sine(440, 1.0, rate, 0.3), sine(440, 1.0, rate, 0.1)
    soundfile.write(str(tmp_path / f"a4.{extension}"), np.stack([left, right], axis=1), rate)
    samples = audio.load_audio(tmp_path / f"a4.{extension}", RATE)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert len(samples) == RATE if extension == "flac" else abs(len(samples) - RATE) < 0.05 * RATE  # lossy: padding
    assert np.abs(samples).max() == pytest.approx(synthesis.PEAK, rel=1e-6)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    assert np.fft.rfftfreq(len(samples), 1 / RATE)[np.argmax(spectrum)] == pytest.approx(440, abs=2)


def test_load_audio_refuses_bad_input_with_one_line(tmp_path):
    cases = {}
    (tmp_path / "notes.wav").write_text("this is a text file, not a recording\n")
    cases["notes.wav"] = "not audio"
    (tmp_path / "headerless.raw").write_bytes(b"\x00\x01" * 100)
    cases["headerless.raw"] = "not audio"
    (tmp_path / "nothing.wav").write_bytes(b"")
    cases["nothing.wav"] = "empty"
    write_wav(tmp_path / "no_samples.wav", np.zeros(0))
    cases["no_samples.wav"] = "no samples"
    write_wav(tmp_path / "silent.wav", np.zeros(RATE))
    cases["silent.wav"] = "silent"
    write_wav(tmp_path / "long.wav", sine(440, 2.0))
    cases["missing.wav"] = "no such file"
    for name, reason in cases.items():
        with pytest.raises(UserError, match=reason) as caught:
            audio.load_audio(tmp_path / name, RATE)
        assert "\n" not in str(caught.value) and name in str(caught.value)
    with pytest.raises(UserError, match="longer than the limit"):
        audio.load_audio(tmp_path / "long.wav", RATE, max_seconds=1.0)


def test_pink_noise_sits_at_its_snr_with_equal_power_per_octave_and_repeats_by_seed():
    rng = np.random.default_rng(3)
    signal = (0.3 * np.sin(2 * np.pi * 440 * np.arange(4 * RATE) / RATE)).astype(np.float32)
    noisy = audio.add_pink_noise(signal, 10.0, seed=7)
    noise = noisy.astype(np.float64) - signal
    assert 10 * np.log10(np.mean(signal.astype(np.float64) ** 2) / np.mean(noise ** 2)) == pytest.approx(10.0, abs=1e-6)
    assert np.array_equal(noisy, audio.add_pink_noise(signal, 10.0, seed=7))
    assert not np.array_equal(noisy, audio.add_pink_noise(signal, 10.0, seed=8))
    # Pink: the octaves 125-250, 250-500, ..., 2-4 kHz hold the same power (white noise doubles it each octave).
    power = np.abs(np.fft.rfft(noise)) ** 2
    hz = np.fft.rfftfreq(len(noise), 1 / RATE)
    octaves = [power[(hz >= f) & (hz < 2 * f)].sum() for f in (125, 250, 500, 1000, 2000)]
    assert max(octaves) / min(octaves) < 1.3
    assert not audio.add_pink_noise(np.zeros(RATE, np.float32), 10.0, seed=rng.integers(99)).any()


# --- features ----------------------------------------------------------------------------

def test_the_hop_splits_a_step_exactly_or_is_refused():
    assert features.hop_length(0.25, 4, 16000) == 1000 == CONFIG.hop
    with pytest.raises(UserError, match="cannot share evenly"):
        features.hop_length(0.125, 1, 22050)  # 2756.25 samples
    with pytest.raises(UserError, match="cannot share evenly"):
        features.hop_length(0.1, 3, 16000)  # 1600 / 3


def test_a_sine_peaks_in_the_middle_bin_of_its_key_in_every_frame():
    samples = sine(440.0, 1.0)  # A4, key 48
    feats = features.log_cqt(samples, CONFIG)
    assert feats.dtype == np.float32 and feats.shape == (RATE // CONFIG.hop, 264)
    middle = feats[3:-3]  # away from the edges, where the filters reach past the audio
    assert (middle.argmax(axis=1) == 3 * 48 + 1).all()
    silence = features.log_cqt(np.zeros(4 * CONFIG.hop), CONFIG)
    np.testing.assert_allclose(silence, np.log(CONFIG.log_floor), rtol=1e-5)
    assert features.log_cqt(np.zeros(CONFIG.hop - 1), CONFIG).shape == (0, 264)


def test_audio_frames_are_centred_on_their_own_slice_of_the_step():
    hop = CONFIG.hop
    samples = np.zeros(24 * hop)
    samples[8 * hop: 16 * hop] = sine(440.0, 24 * hop / RATE)[8 * hop: 16 * hop]  # frames 8 to 15 exactly
    energy = features.log_cqt(samples, CONFIG)[:, 3 * 48 + 1]
    # Frame t centred at (t + 0.5) hops: the profile mirrors about 12 hops onto frame 23 - t.
    np.testing.assert_allclose(energy, energy[::-1], atol=0.1)
    assert energy[8:16].min() > energy[:6].max() + 5


def test_context_stacks_neighbours_with_the_edges_repeated():
    feats = np.arange(8, dtype=np.float32).reshape(4, 2)  # frame t is [2t, 2t + 1]
    stacked = features.stack_context(feats, 1)
    np.testing.assert_array_equal(stacked, [[0, 1, 0, 1, 2, 3], [0, 1, 2, 3, 4, 5],
                                            [2, 3, 4, 5, 6, 7], [4, 5, 6, 7, 6, 7]])
    np.testing.assert_array_equal(features.stack_context(feats, 0), feats)
    assert features.stack_context(feats, 2).shape == (4, 10)


def test_steps_to_frames_and_back_by_the_half_rule():
    roll = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    frames = features.roll_to_frames(roll, 4)
    assert frames.shape == (12, 2) and frames.dtype == np.float32
    np.testing.assert_array_equal(features.frames_to_roll(frames, 4), roll)
    decoded = np.zeros((11, 2))  # two full steps of 4 frames and a last step of 3
    decoded[0:2, 0] = 1  # 2 of 4: on
    decoded[4:5, 0] = decoded[5:8, 1] = 1  # 1 of 4: off; 3 of 4: on
    decoded[8:10, 0] = decoded[10:11, 1] = 1  # 2 of 3: on; 1 of 3: off
    np.testing.assert_array_equal(features.frames_to_roll(decoded, 4), [[1, 0], [0, 1], [1, 0]])


# --- decoders ----------------------------------------------------------------------------

def random_transitions(rng, num_pitches: int) -> priors.NoteTransitions:
    matrix = rng.dirichlet([1.0, 1.0], size=(num_pitches, 2))
    return priors.NoteTransitions(matrix=matrix, occupancy=rng.dirichlet([1.0, 1.0], size=num_pitches))


def test_candidates_are_every_subset_of_the_k_likeliest_notes():
    rng = np.random.default_rng(0)
    posteriors = rng.uniform(size=10)
    k = 4
    found = decoders.candidates(posteriors, k)
    assert found.shape == (16, 10) and found.dtype == np.float32
    top = np.argsort(-posteriors)[:k]
    expected = {frozenset(s) for r in range(k + 1) for s in itertools.combinations(top, r)}
    assert {frozenset(np.flatnonzero(row)) for row in found} == expected
    assert not found[0].any() and found[1, top[0]] == 1 and found[1].sum() == 1  # bit 0: the likeliest
    # log Pa of each candidate against the product over all notes.
    _, log_pa = decoders.acoustic_log_probs(posteriors[None], k)
    brute = [np.sum(np.where(row > 0, np.log(posteriors), np.log1p(-posteriors))) for row in found]
    np.testing.assert_allclose(log_pa[0], brute, rtol=1e-10)


def test_threshold_and_alpha_zero_are_the_acoustic_model_alone():
    rng = np.random.default_rng(1)
    posteriors = rng.uniform(size=(20, 12))
    np.testing.assert_array_equal(decoders.threshold(posteriors, 0.5), posteriors > 0.5)
    np.testing.assert_array_equal(decoders.threshold(posteriors, 0.8), posteriors > 0.8)
    everything = decoders.greedy(posteriors, None, 0.0, k=12)
    np.testing.assert_array_equal(everything, decoders.threshold(posteriors))
    np.testing.assert_array_equal(decoders.beam(posteriors, None, 0.0, k=12, width=3), everything)
    # With fewer candidates, notes outside each frame's top k stay off.
    k = 3
    top = np.argsort(-posteriors, axis=1, kind="stable")[:, :k]
    in_top = np.zeros_like(posteriors, dtype=bool)
    np.put_along_axis(in_top, top, True, axis=1)
    np.testing.assert_array_equal(decoders.greedy(posteriors, None, 0.0, k), (posteriors > 0.5) & in_top)


def test_a_prior_that_forbids_a_note_removes_it():
    posteriors = np.full((5, 6), 0.1)
    posteriors[:, 2] = 0.95  # the acoustic model is sure of note 2 ...
    posteriors[:, 4] = 0.8
    forbid = np.full(6, 0.5)
    forbid[2] = 0.0  # ... and the prior rules it out
    prior = priors.BernoulliPrior(forbid)
    expected = np.zeros((5, 6), dtype=np.float32)
    expected[:, 4] = 1  # a uniform prior elsewhere changes nothing else
    for decoded in (decoders.greedy(posteriors, prior, 0.5, k=3, frames_per_step=2),
                    decoders.beam(posteriors, prior, 0.5, k=3, width=4, frames_per_step=2)):
        np.testing.assert_array_equal(decoded, expected)


class OffsetPrior:
    """A Markov prior whose scores are off by a constant that depends on the state, as the
    RNN-RBM's free energy is (log Z): exact is False."""

    exact = False

    def __init__(self, inner: priors.MarkovPrior):
        self.inner = inner

    def initial_state(self):
        return self.inner.initial_state()

    def log_prob(self, state, candidates):
        offset = 0.0 if state is None else 3.0 * float(state.sum()) - 1.0
        return self.inner.log_prob(state, candidates) + offset

    def advance(self, state, frame):
        return self.inner.advance(state, frame)


@pytest.mark.parametrize("frames_per_step", [1, 3])
def test_greedy_is_beam_of_width_one(frames_per_step):
    rng = np.random.default_rng(2)
    posteriors = rng.uniform(size=(13, 12))
    prior = priors.MarkovPrior(random_transitions(rng, 12))
    for chosen in (prior, OffsetPrior(prior)):
        greedy = decoders.greedy(posteriors, chosen, 0.7, k=3, frames_per_step=frames_per_step)
        np.testing.assert_array_equal(
            decoders.beam(posteriors, chosen, 0.7, k=3, width=1, frames_per_step=frames_per_step), greedy)
    assert not np.array_equal(greedy, decoders.greedy(posteriors, None, 0.0, k=3))  # the prior matters here


def sequence_cost(frames, options, posteriors, prior, alpha, frames_per_step, renormalise=False) -> float:
    """-log Pa - alpha log Ps of a whole sequence of audio frames, the history made of
    steps by the half rule, written out plainly; with `renormalise`, Ps as a distribution
    over each frame's candidates `options[t]` alone."""
    p = np.clip(posteriors, decoders.POSTERIOR_FLOOR, 1 - decoders.POSTERIOR_FLOOR)
    state, cost = prior.initial_state(), 0.0
    for t, frame in enumerate(frames):
        cost -= np.sum(np.where(frame > 0, np.log(p[t]), np.log1p(-p[t])))
        log_ps = prior.log_prob(state, frame[None])[0]
        if renormalise:
            log_ps -= np.log(np.exp(prior.log_prob(state, options[t])).sum())
        cost -= alpha * log_ps
        if (t + 1) % frames_per_step == 0:
            step = frames[t + 1 - frames_per_step: t + 1]
            state = prior.advance(state, (2 * step.sum(axis=0) >= frames_per_step).astype(np.float32))
    return cost


@pytest.mark.parametrize("frames_per_step", [1, 2])
def test_a_wide_beam_finds_the_brute_force_best_sequence_where_greedy_does_not(frames_per_step):
    rng = np.random.default_rng(2)  # a case where the greedy choice at some frame costs more later
    num_frames, k, alpha = 4, 2, 2.0
    posteriors = rng.uniform(0.2, 0.8, size=(num_frames, 5))
    markov = priors.MarkovPrior(random_transitions(rng, 5))
    options = [decoders.candidates(frame, k) for frame in posteriors]
    sequences = [np.stack([options[t][c] for t, c in enumerate(seq)])
                 for seq in itertools.product(range(2 ** k), repeat=num_frames)]
    width = (2 ** k) ** (num_frames - 1)  # enough to keep every partial sequence
    # An inexact prior (OffsetPrior) is renormalised over the candidates, and only that is searched.
    for prior, renormalise in ((markov, False), (OffsetPrior(markov), True)):
        costs = [sequence_cost(s, options, posteriors, prior, alpha, frames_per_step, renormalise)
                 for s in sequences]
        found = decoders.beam(posteriors, prior, alpha, k, width, frames_per_step)
        np.testing.assert_array_equal(found, sequences[int(np.argmin(costs))])
    greedy = decoders.greedy(posteriors, markov, alpha, k, frames_per_step)
    costs = [sequence_cost(s, options, posteriors, markov, alpha, frames_per_step) for s in sequences]
    assert sequence_cost(greedy, options, posteriors, markov, alpha, frames_per_step) > min(costs) + 0.1


def test_per_step_decoding_pools_each_steps_frames():
    rng = np.random.default_rng(5)
    posteriors = rng.uniform(0.05, 0.95, size=(11, 6))  # three steps of 4 frames, the last of 3
    p = np.clip(posteriors, decoders.POSTERIOR_FLOOR, 1 - decoders.POSTERIOR_FLOOR)
    log_odds = np.log(p) - np.log1p(-p)
    # Alone, Pa of a step factorises by note: a note is on where its summed log-odds are positive.
    pooled = np.stack([log_odds[s : s + 4].sum(axis=0) for s in range(0, 11, 4)]) > 0
    alone = decoders.greedy(posteriors, None, 0.0, k=6, frames_per_step=4, per_step=True)
    np.testing.assert_array_equal(alone, np.repeat(pooled, 4, axis=0)[:11])
    assert not np.array_equal(alone, decoders.greedy(posteriors, None, 0.0, k=6))  # frame by frame differs
    # With a prior: each step the candidate of least -sum_f log Pa_f - alpha log Ps over all 2^6
    # frames, the history the steps decoded before it, written out plainly.
    prior = priors.MarkovPrior(random_transitions(rng, 6))
    every = decoders.candidates(np.linspace(0.9, 0.1, 6), 6)
    state, expected = prior.initial_state(), []
    for start in range(0, 11, 4):
        frames = p[start : start + 4]
        cost = -np.array([np.where(v > 0, np.log(frames), np.log1p(-frames)).sum() for v in every])
        best = every[np.argmin(cost - 1.5 * prior.log_prob(state, every))]
        expected.append(best)
        state = prior.advance(state, best)
    found = decoders.greedy(posteriors, prior, 1.5, k=6, frames_per_step=4, per_step=True)
    np.testing.assert_array_equal(found, np.repeat(np.stack(expected), 4, axis=0)[:11])
    np.testing.assert_array_equal(decoders.beam(posteriors, prior, 1.5, k=6, width=1, frames_per_step=4,
                                                per_step=True), found)
    config = decoders.DecoderConfig("greedy", alpha=1.5, candidates=6, per_step=True)
    np.testing.assert_array_equal(decoders.decode(posteriors, config, prior, frames_per_step=4), found)


@pytest.mark.parametrize("scaled", [True, False])
def test_hmm_viterbi_is_the_brute_force_best_path_of_each_note(scaled):
    rng = np.random.default_rng(4)
    num_frames, num_pitches = 5, 3
    posteriors = rng.uniform(size=(num_frames, num_pitches))
    transitions = random_transitions(rng, num_pitches)
    decoded = decoders.hmm(posteriors, transitions, scaled)
    assert decoded.shape == (num_frames, num_pitches) and decoded.dtype == np.float32
    for i in range(num_pitches):
        def log_score(path):
            emission = np.where(path, posteriors[:, i], 1 - posteriors[:, i])
            if scaled:
                emission = emission / transitions.occupancy[i, path]
            return (np.log(transitions.occupancy[i, path[0]]) + np.log(emission).sum()
                    + sum(np.log(transitions.matrix[i, a, b]) for a, b in zip(path[:-1], path[1:])))
        paths = [np.array(path) for path in itertools.product((0, 1), repeat=num_frames)]
        best = max(paths, key=log_score)
        np.testing.assert_array_equal(decoded[:, i], best)


def test_hmm_smooths_away_a_blip_and_alone_is_threshold():
    roll = np.zeros((200, 2), dtype=np.float32)
    roll[20:60, 0] = roll[100:180, 1] = 1  # notes that change rarely
    transitions = priors.note_transitions([roll])
    posteriors = np.full((9, 2), 0.05)
    posteriors[4, 0] = 0.7  # one frame's doubt
    posteriors[2:7, 1] = 0.95  # five frames' certainty
    expected = np.zeros((9, 2), dtype=np.float32)
    expected[2:7, 1] = 1
    np.testing.assert_array_equal(decoders.hmm(posteriors, transitions), expected)
    one = np.array([[0.3, 0.6]])
    np.testing.assert_array_equal(decoders.hmm(one, transitions), decoders.threshold(one))
    # The chain's weight: at 0 each frame is left to its emission (unscaled: threshold 0.5), so
    # the blip stays; a small weight keeps it too, the full chain removes it.
    np.testing.assert_array_equal(decoders.hmm(posteriors, transitions, scaled=False, weight=0.0),
                                  decoders.threshold(posteriors))
    assert decoders.hmm(posteriors, transitions, weight=0.05)[4, 0] == 1
    assert decoders.decode(posteriors, decoders.DecoderConfig("hmm", weight=0.05), transitions=transitions)[4, 0] == 1


def test_note_transitions_count_steps_and_audio_frames_alike():
    roll = np.array([[0, 1], [1, 1], [1, 0], [0, 0]], dtype=np.float32)
    counted = priors.note_transitions([roll], smoothing=0.0)
    # note 0: off->on, on->on, on->off; note 1: on->on, on->off, off->off
    np.testing.assert_allclose(counted.matrix[0], [[0, 1], [0.5, 0.5]])
    np.testing.assert_allclose(counted.matrix[1], [[1, 0], [0.5, 0.5]])
    np.testing.assert_allclose(counted.occupancy, [[0.5, 0.5], [0.5, 0.5]])
    by_frames = priors.note_transitions([roll, roll[:2]], frames_per_step=3)
    repeated = priors.note_transitions([features.roll_to_frames(r, 3) for r in (roll, roll[:2])])
    np.testing.assert_allclose(by_frames.matrix, repeated.matrix)
    smoothed = priors.note_transitions([roll])
    np.testing.assert_allclose(smoothed.matrix.sum(axis=2), 1.0)
    assert (smoothed.matrix > 0).all()


def test_the_numpy_priors_give_exact_log_probabilities():
    rng = np.random.default_rng(5)
    frames = decoders.candidates(rng.uniform(size=4), 4)  # every frame of 4 notes
    bernoulli = priors.BernoulliPrior(rng.uniform(size=4))
    assert isinstance(bernoulli, priors.Prior)
    np.testing.assert_allclose(np.exp(bernoulli.log_prob(None, frames)).sum(), 1.0)
    markov = priors.MarkovPrior(random_transitions(rng, 4))
    state = markov.advance(markov.initial_state(), frames[5])
    np.testing.assert_allclose(np.exp(markov.log_prob(state, frames)).sum(), 1.0)
    np.testing.assert_allclose(np.exp(markov.log_prob(None, frames)).sum(), 1.0)


def test_decode_runs_the_decoder_its_config_names():
    rng = np.random.default_rng(7)
    posteriors = rng.uniform(size=(8, 6))
    prior = priors.MarkovPrior(random_transitions(rng, 6))
    transitions = random_transitions(rng, 6)
    expected = {"threshold": decoders.threshold(posteriors, 0.3), "hmm": decoders.hmm(posteriors, transitions),
                "greedy": decoders.greedy(posteriors, prior, 0.5, 3, 2),
                "beam": decoders.beam(posteriors, prior, 0.5, 3, 4, 2)}
    for name in decoders.DECODERS:
        config = decoders.DecoderConfig(name, level=0.3, alpha=0.5, candidates=3, width=4)
        found = decoders.decode(posteriors, config, prior, transitions, frames_per_step=2)
        np.testing.assert_array_equal(found, expected[name])
    with pytest.raises(ValueError, match="one of threshold, hmm, greedy, beam"):
        decoders.DecoderConfig("viterbi")
    with pytest.raises(ValueError, match="needs a prior"):
        decoders.decode(posteriors, decoders.DecoderConfig("beam"))


# --- scoring -----------------------------------------------------------------------------

def test_scores_of_a_hand_made_case():
    reference = np.zeros((3, 88), dtype=np.float32)
    decoded = np.zeros_like(reference)
    reference[0, [39, 43]] = reference[1, 39] = 1  # C4 E4, then C4
    decoded[0, 39] = decoded[1, [39, 40]] = 1  # C4, then C4 C#4: TP 2, FP 1, FN 1
    assert scoring.counts(decoded, reference) == (2, 1, 1)
    assert scoring.bay_accuracy(decoded, reference) == 0.5
    assert scoring.frame_scores(decoded, reference, 0.25) == pytest.approx(
        {"accuracy": 0.5, "precision": 2 / 3, "recall": 2 / 3, "f_measure": 2 / 3})
    silent = np.zeros((4, 88))
    assert scoring.bay_accuracy(silent, silent) == 0.0 == scoring.frame_scores(silent, silent, 0.25)["accuracy"]


def test_scores_match_mir_eval_and_pool_over_pieces():
    mir_eval = pytest.importorskip("mir_eval")
    rng = np.random.default_rng(6)
    pieces = [(rng.uniform(size=(n, 88)) < 0.05, rng.uniform(size=(n, 88)) < 0.05) for n in (30, 17)]
    for decoded, reference in pieces:
        ours = scoring.frame_scores(decoded, reference, 0.1)
        theirs = mir_eval.multipitch.evaluate(*scoring.roll_to_multipitch(reference, 0.1),
                                              *scoring.roll_to_multipitch(decoded, 0.1))
        assert ours["accuracy"] == pytest.approx(theirs["Accuracy"])
        assert ours["precision"] == pytest.approx(theirs["Precision"])
        assert ours["recall"] == pytest.approx(theirs["Recall"])
        assert ours["accuracy"] == pytest.approx(scoring.bay_accuracy(decoded, reference))
    # Pooled over pieces = one long piece, not the mean of the pieces' scores.
    decoded, reference = (np.concatenate(rolls) for rolls in zip(*pieces))
    pooled = scoring.frame_scores([d for d, _ in pieces], [r for _, r in pieces], 0.1)
    assert pooled == pytest.approx(scoring.frame_scores(decoded, reference, 0.1))
    assert pooled["accuracy"] == pytest.approx(scoring.bay_accuracy([d for d, _ in pieces], [r for _, r in pieces]))
    # A decoded roll cut short counts its missing frames as silence.
    short = scoring.frame_scores(decoded[:-5], reference, 0.1)
    assert short == pytest.approx(scoring.frame_scores(np.pad(decoded[:-5], ((0, 5), (0, 0))), reference, 0.1))


def test_the_transcription_floor_never_imports_tensorflow():
    """Decoders and features run beside any acoustic model and prior, and in tools that have
    no TensorFlow; the models plug in from above (rnn_rbm/transcription/__init__.py)."""
    folder = Path(features.__file__).parent
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text())
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not {n for n in names if n.split(".")[0] in ("tensorflow", "keras")}, path.name
        # Through the package's own modules, nothing that imports TensorFlow either.
        assert not {n for n in names if n.startswith(("rnn_rbm.models", "rnn_rbm.ops", "rnn_rbm.engine",
                                                      "rnn_rbm.tasks", "rnn_rbm.data"))}, path.name
