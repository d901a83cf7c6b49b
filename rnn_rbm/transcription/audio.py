"""Audio for transcription: rolls rendered through FluidSynth, and recordings read from disk.

Rendering reuses rnn_rbm/outputs/audio.py (the one synthesiser) but refuses its sine-tone
fallback: an acoustic model trained on sine tones would not transcribe a piano, so a
missing FluidSynth is a UserError here, not a notice.

A symbolic step lasts a fixed `step_seconds` (the tempo mapping), so the audio of a roll
of `num_steps` steps is exactly `num_steps * step_seconds` seconds long and audio frames
map to steps exactly; this replaces the paper's tempo tracking.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnn_rbm.errors import UserError
from rnn_rbm.music.pianoroll import roll_to_midi
from rnn_rbm.outputs import audio as synthesis
from rnn_rbm.transcription.features import LOWEST_PITCH

# Longest recording load_audio accepts: a long concert movement. Its stacked features already
# take about 150 MB and its decoding most of a minute; longer recordings go in parts.
MAX_AUDIO_SECONDS = 30 * 60.0
# A recording whose peak stays below this (-80 dBFS) holds nothing to transcribe.
SILENCE_PEAK = 1e-4


def require_fluidsynth(sound_font: Path | None = None) -> synthesis.Synth:
    """Chooses FluidSynth with a General MIDI font, as outputs.audio.find_synth does, but
    never the sine tones.

    Returns: the Synth to pass to render_roll. Raises UserError (one line saying what to
    install) when FluidSynth or a sound font is missing, or `sound_font` is not a file.
    """
    synth, _ = synthesis.find_synth(sound_font)
    if synth.sound_font is None:
        reason = synthesis.quiet_fluidsynth_import() or "no General MIDI sound font found"
        raise UserError(f"transcription renders audio with FluidSynth only, not sine tones, and it is "
                        f"not usable here ({reason}); {synthesis.GOOD_SOUND_HINT}")
    return synth


def render_roll(roll: np.ndarray, step_seconds: float, sample_rate: int, synth: synthesis.Synth,
                velocity: int = 80) -> np.ndarray:
    """Plays a roll on the General MIDI piano, each step lasting `step_seconds`.

    roll: (num_steps, 88), time-major, float32 of 0/1, column i = MIDI pitch 21 + i;
    consecutive active steps of a pitch are one held note (as pianoroll.roll_to_midi).
    synth: from require_fluidsynth (sine tones are refused: see the module docstring).

    Returns: float32 mono samples in [-outputs.audio.PEAK, PEAK], shape
    (round(num_steps * step_seconds * sample_rate),): the last notes' release is cut off, so
    that sample n belongs to step floor(n / (step_seconds * sample_rate)).
    """
    if synth.sound_font is None:
        raise ValueError("render_roll needs FluidSynth: get the synth from require_fluidsynth")
    roll = np.asarray(roll)
    # One step per "quarter note" at 60 / step_seconds bpm makes every step step_seconds long.
    midi = roll_to_midi(roll, steps_per_quarter=1, tempo_bpm=60.0 / step_seconds,
                        lowest_pitch=LOWEST_PITCH, velocity=velocity)
    seconds = roll.shape[0] * step_seconds
    length = int(round(seconds * sample_rate))
    return synthesis.render(midi, seconds, synth, sample_rate)[:length]


def add_pink_noise(audio: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """Mixes pink noise (power falling as 1/f, so equal energy in every octave and so in every
    CQT bin group: no key is spared) into `audio` at `snr_db` decibels below its mean power.

    audio: float mono samples, shape (n,). seed: the noise's, so that a piece's noise is the
    same each time it is rendered.
    Returns: float32, shape (n,): audio + noise, mean power of noise = mean power of audio
    x 10^(-snr_db / 10). Silence stays silence (no signal, nothing to hide).
    """
    audio = np.asarray(audio, dtype=np.float64)
    power = float(np.mean(audio ** 2)) if audio.size else 0.0
    if power == 0.0:
        return audio.astype(np.float32)
    white = np.fft.rfft(np.random.default_rng(seed).standard_normal(len(audio)))
    # Amplitude 1 / sqrt(f) gives power 1 / f; the constant (DC) bin carries none.
    scale = np.zeros(len(white))
    scale[1:] = 1.0 / np.sqrt(np.arange(1, len(white)))
    noise = np.fft.irfft(white * scale, len(audio))
    noise *= np.sqrt(power * 10.0 ** (-snr_db / 10.0) / np.mean(noise ** 2))
    return (audio + noise).astype(np.float32)


def load_audio(path: str | Path, sample_rate: int, max_seconds: float = MAX_AUDIO_SECONDS) -> np.ndarray:
    """Reads a recording in any format libsndfile reads (WAV, FLAC, OGG; MP3 with
    libsndfile >= 1.1), at any sample rate and channel count.

    Channels are averaged to mono, the signal resampled to `sample_rate` (soxr) and scaled
    so that its peak is outputs.audio.PEAK, the level of rendered audio, so that the
    acoustic model sees recordings at the level it was trained on.

    Returns: float32 mono samples, shape (n,). Raises UserError, one line naming the file,
    when it is missing, empty, not audio, holds no samples, is silent (peak below
    SILENCE_PEAK) or lasts longer than `max_seconds`.
    """
    import soundfile  # librosa's own reader; imported here so that importing this module stays cheap

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file (or not a file); give a recording (WAV, FLAC, OGG or MP3)")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: the file is empty; give a recording (WAV, FLAC, OGG or MP3)")
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, TypeError) as exc:  # TypeError: headerless (.raw) data, whose rate nothing says
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: not audio this machine can read ({reason}); give WAV, FLAC, OGG or MP3") from None
    if info.frames <= 0:
        raise UserError(f"{path}: holds no samples; give a recording with sound in it")
    if info.duration > max_seconds:
        raise UserError(f"{path}: lasts {info.duration / 60:.1f} min, longer than the limit of "
                        f"{max_seconds / 60:.0f} min; cut it into shorter parts")
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except RuntimeError as exc:  # soundfile's LibsndfileError is one
        raise UserError(f"{path}: cannot be decoded ({str(exc).splitlines()[0]}); it may be damaged") from None
    mono = samples.mean(axis=1)
    peak = float(np.abs(mono).max()) if mono.size else 0.0
    if peak < SILENCE_PEAK:
        raise UserError(f"{path}: is silent (peak {peak:.1e}); give a recording with sound in it")
    if rate != sample_rate:
        import librosa

        mono = librosa.resample(mono, orig_sr=rate, target_sr=sample_rate, res_type="soxr_hq")
    # Peak from after resampling, which can overshoot the original's by a little.
    return (synthesis.PEAK * mono / np.abs(mono).max()).astype(np.float32)
