"""WAV files of MIDI: FluidSynth with a General MIDI sound font where there is one,
otherwise pretty_midi's own sine-tone synthesis (numpy, pretty_midi and the standard
library; no TensorFlow).

FluidSynth comes from two halves: the C library (Debian's `libfluidsynth3`, brought
by `fluidsynth`) and its Python binding `pyfluidsynth`, which pretty_midi drives.
The sound font is, in order: the one given, Debian's FluidR3 GM piano
(`fluid-soundfont-gm`), or the small GM font that ships inside pretty_midi.
"""

from __future__ import annotations

import contextlib
import functools
import io
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnn_rbm.errors import UserError

# Where distributions put a full General MIDI sound font (Debian/Ubuntu fluid-soundfont-gm,
# then Fedora and Arch).
SYSTEM_SOUND_FONTS = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/soundfonts/FluidR3_GM.sf2"),
    Path("/usr/share/soundfonts/default.sf2"),
)
GOOD_SOUND_HINT = ("for piano sound: apt-get install fluidsynth fluid-soundfont-gm "
                   "(README, 'Listening and looking')")
# Both synthesisers let notes ring this long after the last note ends.
RELEASE_SECONDS = 1.0
# Peak level of the written WAV, below full scale so that no sample clips.
PEAK = 0.9


def quiet_fluidsynth_import() -> str | None:
    """Imports pyfluidsynth once with stdout silenced: it prints where it found its library
    whenever $CI is set, which would mix into output that lists written files. Call it
    before the first import of pretty_midi, which imports pyfluidsynth too.

    Returns: None when FluidSynth is usable, else the reason it is not (one line).
    """
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            import fluidsynth  # noqa: F401
        except ImportError as exc:
            return str(exc) or "pyfluidsynth is not installed"
        except OSError as exc:  # the library is there but cannot be loaded
            return str(exc).splitlines()[0]
    return None


@dataclass(frozen=True)
class Synth:
    """How WAVs are made: FluidSynth with `sound_font`, or sine tones when it is None."""

    sound_font: Path | None

    def describe(self) -> str:
        """Returns: one line naming the synthesiser, for logs and the results page."""
        return f"FluidSynth, {self.sound_font.name}" if self.sound_font else "pretty_midi sine tones"


def bundled_sound_font() -> Path:
    """Returns: the small General MIDI font shipped inside pretty_midi (may be absent)."""
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def find_synth(sound_font: Path | None = None) -> tuple[Synth, str | None]:
    """Chooses the synthesiser: FluidSynth with the first sound font found (`sound_font`,
    then the system's GM font, then pretty_midi's), else sine tones.

    Returns: (synth, notice): notice is None, or one line saying why the sine tones were
    chosen and how to get the good sound. Raises UserError when `sound_font` is given but
    is not a file.
    """
    if sound_font is not None and not Path(sound_font).is_file():
        raise UserError(f"--sound_font {sound_font}: no such file; give a .sf2 sound font")
    missing = quiet_fluidsynth_import()
    if missing is not None:
        return Synth(None), f"no FluidSynth ({missing}): WAVs made with sine tones; {GOOD_SOUND_HINT}"
    candidates = [Path(sound_font)] if sound_font is not None else [*SYSTEM_SOUND_FONTS, bundled_sound_font()]
    for candidate in candidates:
        if candidate.is_file():
            return Synth(candidate), None
    return Synth(None), f"no sound font found: WAVs made with sine tones; {GOOD_SOUND_HINT}"


@functools.cache
def _same_dither() -> None:
    """Makes FluidSynth's dither the same in every process (once a process: cached). Its 16-bit
    output is dithered from a table it fills once a process, when its first synth is made, with
    the C library's rand(): a process that had drawn from rand() before (one that had run the
    in-process table1 run of the tests) rendered the same piece a little differently (0.002 in
    a sample) from a fresh one, such as a rendering worker. Seeding rand() as a fresh process
    has it (glibc starts at seed 1) before the first synth gives the fresh process's table
    everywhere."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError, TypeError):  # no C library by that name: nothing to seed
        ctypes.CDLL(None).srand(1)


def render(midi, seconds: float, synth: Synth, sample_rate: int) -> np.ndarray:
    """Plays a PrettyMIDI for `seconds` (the piece's length, which may end in silence)
    plus RELEASE_SECONDS for the last notes to ring.

    Returns: float32 mono samples in [-PEAK, PEAK], shape (round((seconds + RELEASE_SECONDS)
    * sample_rate),); all zeros when the piece has no note.
    """
    length = int(round((seconds + RELEASE_SECONDS) * sample_rate))
    out = np.zeros(length, dtype=np.float32)
    if not any(instrument.notes for instrument in midi.instruments):
        return out
    if synth.sound_font is not None:
        _same_dither()
        played = midi.fluidsynth(fs=sample_rate, synthesizer=str(synth.sound_font))
    else:
        played = midi.synthesize(fs=sample_rate)
    played = np.asarray(played, dtype=np.float64)[:length]
    peak = np.abs(played).max()
    if peak > 0:
        out[: len(played)] = PEAK * played / peak
    return out


def write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> Path:
    """Writes mono samples (float in [-1, 1], shape (n,)) as a 16-bit PCM WAV.

    Returns: path.
    """
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return path
