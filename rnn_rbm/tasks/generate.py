"""rnn_rbm_generate.py's task: draw pieces from a checkpoint of any model, write them (MIDI,
WAV, PNG), their statistics and the results page."""

from __future__ import annotations

import dataclasses
import logging
import secrets
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from rnn_rbm.config import DataConfig, GenerateConfig, RunConfig
from rnn_rbm.data.dataset import load_cached
from rnn_rbm.engine import checkpoint
from rnn_rbm.engine.sampling import draw_pieces
from rnn_rbm.errors import UserError
from rnn_rbm.files import json_number
from rnn_rbm.models import registry
from rnn_rbm.music import samplestats
from rnn_rbm.music.guide import top_voice
from rnn_rbm.music.keys import roll_pitch_class_weights, shift_roll, tonic_shift
from rnn_rbm.music.pianoroll import mean_polyphony, midi_to_roll
from rnn_rbm.outputs import audio, plots, report
from rnn_rbm.outputs.samples import SampleFiles, run_name, write_samples

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerateRequest:
    """What a generation command asks for."""

    checkpoint: Path
    out_dir: Path
    settings: GenerateConfig = GenerateConfig()  # num_steps: used without a melody or an explicit length
    num_steps: int | None = None  # new frames per piece (default: the melody's length, else settings')
    seed: int | None = None  # None: a fresh one, logged so that it can be repeated
    primer: Path | None = None  # MIDI file to continue
    melody: Path | None = None  # MIDI file whose top voice is held
    audio: bool = False
    sound_font: Path | None = None
    plot: bool = False


@dataclass(frozen=True)
class Generated:
    """What a generation run wrote."""

    files: list[SampleFiles]
    seed: int
    page: Path  # the results page, out_dir/index.html


def generate_task(request: GenerateRequest, progress: bool = True) -> Generated:
    """Draws request.settings.num_samples pieces from the checkpoint's model and writes them
    to out_dir, with the run's manifest and the rebuilt results page.

    Raises UserError for a missing checkpoint, an unreadable --primer or --melody, or a
    results page that is not this project's.
    """
    out_dir = request.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    report.check_page(out_dir)
    synth = None
    if request.audio:
        synth, notice = audio.find_synth(request.sound_font)
        if notice:
            log.warning("notice: %s", notice)
    elif request.sound_font is not None:
        raise UserError("--sound_font is for --audio; add --audio, or drop --sound_font")
    config = checkpoint.load_config(request.checkpoint)
    registry.model_class(config.model.family).check_generation(request.settings, request.melody)
    primer = _read_roll(request.primer, "--primer", config.data)
    melody = _read_roll(request.melody, "--melody", config.data)
    if melody is not None:
        melody = top_voice(melody)
    shift = 0
    if config.data.key == "c" and (melody is not None or primer is not None):
        # A model of music in C reads the tune (else the primer) moved into C, and its pieces
        # are moved back: they come out in the tune's own key.
        tune = melody if melody is not None else primer
        shift = tonic_shift(roll_pitch_class_weights(tune, config.data.lowest_pitch))
        primer, melody = (None if r is None else shift_roll(r, shift) for r in (primer, melody))
    num_steps = request.num_steps or (len(melody) if melody is not None else request.settings.num_steps)
    settings = dataclasses.replace(request.settings, num_steps=num_steps)
    seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
    rng = tf.random.Generator.from_seed(seed)
    model = registry.build(config, rng)
    checkpoint.restore(request.checkpoint, model=model)
    log.info("drawing %d x %d frames from the %s, %s, temperature %g, seed %d (--seed %d repeats it)",
             settings.num_samples, settings.num_steps, config.model.family, model.describe_drawing(settings),
             settings.temperature, seed, seed)
    primer, primer_label = model.read_primer(primer, request.primer, config, seed)
    rolls, primer_steps = draw_pieces(model, config, settings, rng, primer, melody, progress=progress)
    if shift:
        rolls, melody = shift_roll(rolls, -shift), None if melody is None else shift_roll(melody, -shift)
    run = run_name(out_dir)
    if synth is not None:
        log.info("rendering WAV with %s", synth.describe())
    files = write_samples(rolls, out_dir, config.data, settings, run, synth, request.plot, primer_steps, melody)
    log.info("mean polyphony %.2f notes per sounding frame", mean_polyphony(rolls))
    record = _run_record(request, run, seed, settings, config, synth, files, rolls, primer_steps, primer_label)
    _add_sample_stats(record, rolls[:, primer_steps:], config, out_dir, request.plot)
    report.write_manifest(out_dir, record)
    return Generated(files, seed, report.rebuild_index(out_dir))


def _read_roll(path: Path | None, flag: str, data: DataConfig) -> np.ndarray | None:
    """Returns: the MIDI file at `path` as a roll on the checkpoint's grid, float32 (steps, V),
    time-major (None without a path)."""
    if path is None:
        return None
    try:
        roll, _ = midi_to_roll(path, data.steps_per_quarter, data.lowest_pitch, data.num_pitches, data.out_of_range)
    except UserError as exc:
        raise UserError(f"{flag} {path}: {exc}") from None
    return roll


def _run_record(request: GenerateRequest, run: str, seed: int, settings: GenerateConfig, config: RunConfig,
                synth: audio.Synth | None, files: list[SampleFiles], rolls: np.ndarray, primer_steps: int,
                primer_label: str | None) -> dict:
    """Returns: the results page's record of one generation run (see report.write_manifest),
    with the command that repeats it."""
    command = ["python", "rnn_rbm_generate.py", str(request.checkpoint), "--seed", str(seed),
               "--num_samples", str(settings.num_samples), "--num_steps", str(settings.num_steps),
               "--gibbs_steps", str(settings.gibbs_steps), "--temperature", f"{settings.temperature:g}",
               "--tempo_bpm", f"{settings.tempo_bpm:g}"]
    if settings.top_k:
        command += ["--top_k", str(settings.top_k)]
    for flag, path in (("--primer", request.primer), ("--melody", request.melody)):
        if path is not None:
            command += [flag, str(path)]
    samples = []
    for sample, roll in zip(files, rolls):
        polyphony = mean_polyphony([roll[primer_steps:]])
        samples.append({"midi": sample.midi.name, "wav": sample.wav and sample.wav.name,
                        "png": sample.png and sample.png.name, "frames": int(len(roll)),
                        "polyphony": json_number(round(polyphony, 2))})
    return {"run": run, "created": time.strftime("%Y-%m-%d %H:%M:%S"), "checkpoint": str(request.checkpoint),
            "data": config.data_source, "seed": seed, "settings": dataclasses.asdict(settings),
            "primer": primer_label, "melody": request.melody and str(request.melody),
            "synth": synth and synth.describe(), "command": shlex.join(command), "samples": samples}


def _add_sample_stats(record: dict, rolls: np.ndarray, config: RunConfig, out_dir: Path, plot: bool) -> None:
    """Adds to a generation run's record the statistics of its generated frames (rolls:
    (samples, steps, V), primer left out) against the checkpoint's training pieces when the
    roll cache holds them (a conversion would cost more than the generation), and with
    `plot` a picture of them, one panel per measure."""
    dataset = load_cached(config.data_source, config.data)
    reference = dataset.train if dataset is not None and dataset.train else None
    result = samplestats.report(rolls, reference, config.data.steps_per_quarter, config.data.lowest_pitch)
    label = f"{dataset.label}, training pieces" if reference else None
    if reference is None:
        log.info("sample statistics without a reference: %s is not in the roll cache", config.data_source)
    record["sample_stats"] = {**result.to_json(), "reference": label}
    for sample, values in zip(record["samples"], result.pieces_json()):
        sample["stats"] = values
    if plot:
        labels = {m.key: m.label for m in samplestats.MEASURES}
        title = f"run {record['run']}" + (f", against {label}" if label else "")
        png = plots.measure_histograms_png(out_dir / f"{record['run']}_stats.png", result.samples.values, labels,
                                           result.reference and result.reference.values, title)
        record["stats_png"] = png.name
