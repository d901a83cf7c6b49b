"""rnn_rbm_transcribe.py's task: recordings in, MIDI out, by the paper's second application
(Section 7): an acoustic model's note probabilities per audio frame (engine/transcriber.py),
decoded alone, with a per-note HMM, or with a model of music as the prior of a product of
experts (engine/prior.py, transcription/decoders.py).

Everything a run can get wrong is checked before anything is written: the checkpoints, the
decoder's settings, every recording (transcription.audio.load_audio refuses one that is not
audio, empty, silent or too long); each output file is then written whole (temporary name,
then renamed), with the run's entry on the results page.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnn_rbm.data.dataset import Loading
from rnn_rbm.engine.prior import ModelPrior, load_prior
from rnn_rbm.engine.transcriber import AcousticReader
from rnn_rbm.errors import UserError
from rnn_rbm.files import json_number
from rnn_rbm.music.pianoroll import mean_polyphony, roll_to_midi
from rnn_rbm.outputs import plots, report
from rnn_rbm.outputs.samples import run_name
from rnn_rbm.transcription.audio import MAX_AUDIO_SECONDS, load_audio
from rnn_rbm.transcription.decoders import DecoderConfig, decode
from rnn_rbm.transcription.features import LOWEST_PITCH
from rnn_rbm.transcription.priors import NoteTransitions, note_transitions

log = logging.getLogger(__name__)

# The velocity of every written note: the audio's loudness is not transcribed.
VELOCITY = 80


@dataclass(frozen=True)
class TranscribeRequest:
    """What a transcription command asks for."""

    audio: list[Path]  # recordings: WAV, FLAC, OGG or MP3, any rate, mono or not
    acoustic: Path  # an acoustic model's checkpoint (rnn_rbm_train.py --model acoustic)
    out_dir: Path
    prior: Path | None = None  # a frame model's checkpoint (rnn_rbm, rnn_nade, lstm, rnn)
    decoder: DecoderConfig = DecoderConfig()
    step_seconds: float | None = None  # a symbolic step of the prior (None: the acoustic model's)
    max_seconds: float = MAX_AUDIO_SECONDS  # longest recording taken
    command: str = ""  # how the run was started, for the results page


@dataclass(frozen=True)
class Transcription:
    """One recording transcribed: its files and figures."""

    source: Path
    midi: Path
    png: Path
    audio_seconds: float
    seconds: float  # reading, features, the acoustic model and decoding (not writing)
    notes: int  # notes in the MIDI
    polyphony: float  # notes per sounding audio frame (nan when all are silent)


@dataclass(frozen=True)
class Transcribed:
    """What a transcription run wrote."""

    files: list[Transcription]
    page: Path  # the results page, out_dir/index.html


def transcribe_task(request: TranscribeRequest, loading: Loading | None = None) -> Transcribed:
    """Transcribes every recording of the request into out_dir: `<run>_<name>.mid` (the decoded
    audio frames, each note as long as its frames), `<run>_<name>.png` (probabilities and
    notes), the run's manifest and the rebuilt results page.

    Raises UserError, before writing anything, for a missing or wrong checkpoint, a decoder
    without what it needs, a step the audio frames cannot share, or a recording that cannot be
    transcribed; each names the thing and what to do.
    """
    loading = loading or Loading()
    config = request.decoder
    report.check_page(request.out_dir)
    reader = AcousticReader(request.acoustic)
    frames_per_step = reader.frames_per_step(request.step_seconds)
    if config.name in ("greedy", "beam") and config.alpha and request.prior is None:
        raise UserError(f"--decoder {config.name} weighs a prior of music: give --prior CKPT (a trained rnn_rbm, "
                        "rnn_nade, lstm or rnn), or --alpha 0 for the acoustic model alone")
    prior = load_prior(request.prior) if request.prior is not None and config.name in ("greedy", "beam") else None
    if request.prior is not None and prior is None:
        log.warning("--prior %s is not used by --decoder %s", request.prior, config.name)
    if config.per_step and config.name not in ("greedy", "beam"):
        raise UserError(f"--per_step is for the greedy and beam decoders, not --decoder {config.name}")
    transitions = hmm_transitions(reader, frames_per_step, loading) if config.name == "hmm" else None
    recordings = [load_audio(path, reader.features.sample_rate, request.max_seconds) for path in request.audio]

    request.out_dir.mkdir(parents=True, exist_ok=True)
    run = run_name(request.out_dir)
    written = []
    for path, audio in zip(request.audio, recordings):
        started = time.perf_counter()
        posteriors = reader.posteriors(audio)
        decoded = decode(posteriors, config, prior, transitions, frames_per_step)
        seconds = time.perf_counter() - started
        audio_seconds = len(audio) / reader.features.sample_rate
        log.info("%s: %.1f s of audio, %d audio frames, transcribed in %.1f s (%s)", path, audio_seconds,
                 len(decoded), seconds, describe(config, prior))
        written.append(_write(request.out_dir, f"{run}_{path.stem}", path, posteriors, decoded,
                              reader.frame_seconds, audio_seconds, seconds))
    record = _run_record(request, run, reader, frames_per_step, prior, written)
    report.write_manifest(request.out_dir, record)
    return Transcribed(written, report.rebuild_index(request.out_dir))


def describe(config: DecoderConfig, prior: ModelPrior | None) -> str:
    """Returns: the decoder and its settings in a few words, for the log."""
    if config.name == "threshold":
        return f"threshold {config.level:g}"
    if config.name == "hmm":
        return ("per-note HMM" + ("" if config.scaled else ", unscaled emissions")
                + ("" if config.weight == 1 else f", chain weighted {config.weight:g}"))
    how = (f"{config.name}{' per step' if config.per_step else ''}, {config.candidates} candidate notes"
           + (f", width {config.width}" if config.name == "beam" else ""))
    return how + (f", prior {prior.label} at alpha {config.alpha:g}" if prior is not None else ", no prior")


def hmm_transitions(reader: AcousticReader, frames_per_step: int, loading: Loading) -> NoteTransitions:
    """Returns: each note's transitions counted at the rate of audio frames on the training
    pieces of the acoustic model's data (the HMM decoder's model of music)."""
    data = reader.config
    dataset = loading.load(data.data_source, data.data)
    return note_transitions(dataset.train, frames_per_step)


def _write(out_dir: Path, stem: str, source: Path, posteriors: np.ndarray, decoded: np.ndarray,
           frame_seconds: float, audio_seconds: float, seconds: float) -> Transcription:
    """Writes the MIDI (one note per run of decoded frames) and the picture, each whole."""
    midi_path, png_path = out_dir / f"{stem}.mid", out_dir / f"{stem}.png"
    # One frame a "step" at a tempo that makes every frame frame_seconds long.
    midi = roll_to_midi(decoded, steps_per_quarter=1, tempo_bpm=60.0 / frame_seconds, lowest_pitch=LOWEST_PITCH,
                        velocity=VELOCITY)
    _atomically(midi_path, lambda tmp: midi.write(str(tmp)))
    _atomically(png_path, lambda tmp: plots.transcription_png(tmp, posteriors, decoded, frame_seconds, LOWEST_PITCH,
                                                              title=source.name))
    notes = sum(len(instrument.notes) for instrument in midi.instruments)
    return Transcription(source, midi_path, png_path, audio_seconds, seconds, notes, mean_polyphony([decoded]))


def _atomically(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _run_record(request: TranscribeRequest, run: str, reader: AcousticReader, frames_per_step: int,
                prior: ModelPrior | None, written: list[Transcription]) -> dict:
    """Returns: the results page's record of one transcription run (report.write_manifest)."""
    step_seconds = frames_per_step * reader.frame_seconds
    settings = {**dataclasses.asdict(request.decoder), "step_seconds": step_seconds,
                "frames_per_step": frames_per_step}
    samples = [{"midi": t.midi.name, "png": t.png.name, "wav": None, "source": t.source.name,
                "frames": int(round(t.audio_seconds / reader.frame_seconds)), "notes": t.notes,
                "polyphony": json_number(round(t.polyphony, 2)), "seconds": round(t.seconds, 2)} for t in written]
    return {"run": run, "created": time.strftime("%Y-%m-%d %H:%M:%S"), "kind": "transcription",
            "checkpoint": str(request.acoustic), "prior": prior and prior.label, "data": reader.config.data_source,
            "audio": ", ".join(str(t.source) for t in written), "settings": settings,
            "command": request.command or shlex.join(["python", "rnn_rbm_transcribe.py", *map(str, request.audio),
                                                      "--acoustic", str(request.acoustic)]),
            "samples": samples}
