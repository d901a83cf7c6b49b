"""WAV rendering: audible, the right length, the right pitch; FluidSynth where it is installed."""

import wave

import numpy as np
import pytest
from conftest import fluidsynth_or_skip, make_midi

from rnn_rbm.errors import UserError
from rnn_rbm.outputs import audio

RATE = 16000


def a4_for(beats: float):
    """A4 (440 Hz) for `beats` quarter notes at 120 bpm, starting on beat 1."""
    return make_midi([(69, 1, 1 + beats)], tempo=120.0)


def read_wav(path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2") / 32767.0
        return samples, wav.getframerate()


def strongest_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[np.argmax(spectrum)])


def check_played(samples: np.ndarray, piece_seconds: float) -> None:
    """Silent before the note, sounding during it, the length of the piece plus the release."""
    assert len(samples) == round((piece_seconds + audio.RELEASE_SECONDS) * RATE)
    assert np.abs(samples).max() <= audio.PEAK + 1e-6
    assert np.sqrt(np.mean(samples[: int(0.45 * RATE)] ** 2)) < 1e-3  # beat 1 (0.5 s) is a rest
    sounding = samples[int(0.6 * RATE): int(1.4 * RATE)]
    assert np.sqrt(np.mean(sounding ** 2)) > 0.05


def test_sine_fallback_plays_the_note_at_its_pitch_for_the_piece_s_length(tmp_path):
    seconds = 2.5  # the piece's roll may run past its last note
    samples = audio.render(a4_for(2), seconds, audio.Synth(None), RATE)
    check_played(samples, seconds)
    assert strongest_hz(samples[int(0.6 * RATE): int(1.4 * RATE)]) == pytest.approx(440, abs=3)
    path = audio.write_wav(tmp_path / "a4.wav", samples, RATE)
    back, rate = read_wav(path)
    assert rate == RATE
    np.testing.assert_allclose(back, samples, atol=1 / 32767)


def test_a_piece_without_notes_is_silence_of_its_length(tmp_path):
    samples = audio.render(make_midi([]), 1.5, audio.Synth(None), RATE)
    assert samples.shape == (round(2.5 * RATE),) and not samples.any()


def test_without_fluidsynth_the_fallback_is_chosen_with_a_one_line_notice(monkeypatch):
    monkeypatch.setattr(audio, "quiet_fluidsynth_import", lambda: "Couldn't find the FluidSynth library.")
    synth, notice = audio.find_synth()
    assert synth.sound_font is None and synth.describe() == "pretty_midi sine tones"
    assert "\n" not in notice and "FluidSynth library" in notice and "apt-get install fluidsynth" in notice


def test_a_missing_sound_font_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        audio.find_synth(tmp_path / "missing.sf2")


def test_fluidsynth_plays_the_note_with_a_general_midi_font(tmp_path):
    fluidsynth_or_skip()
    font = audio.bundled_sound_font()  # small and always there with pretty_midi: a quick test
    synth, notice = audio.find_synth(font)
    assert notice is None and synth.sound_font == font
    seconds = 2.5
    samples = audio.render(a4_for(2), seconds, synth, RATE)
    check_played(samples, seconds)
    # A piano's loudest partial is a harmonic of the note, not always the fundamental.
    hz = strongest_hz(samples[int(0.6 * RATE): int(1.4 * RATE)])
    assert abs(hz / 440 - round(hz / 440)) * 440 < 6 and round(hz / 440) >= 1


def test_default_choice_prefers_the_system_font_then_pretty_midi_s(monkeypatch, tmp_path):
    fluidsynth_or_skip()
    system = tmp_path / "FluidR3_GM.sf2"
    system.write_bytes(b"")
    monkeypatch.setattr(audio, "SYSTEM_SOUND_FONTS", (tmp_path / "absent.sf2", system))
    assert audio.find_synth() == (audio.Synth(system), None)
    monkeypatch.setattr(audio, "SYSTEM_SOUND_FONTS", (tmp_path / "absent.sf2",))
    assert audio.find_synth() == (audio.Synth(audio.bundled_sound_font()), None)
