"""Harmonisation judged against Bach: the soprano of each held-out chorale given, a model
writes the other voices, and what it writes is measured against Bach's own (music/harmony.py)
beside Bach himself and a counting baseline. benchmarks/harmonisation.py runs it over many
checkpoints, `rnn_rbm_evaluate.py CKPT --harmonise` over one.

What each row measures, on the chorales the Bach default holds out (and again on those whose
tune, harmony.tune, no training chorale sets):
- the log-likelihood of the notes below the soprano given the soprano's units (the soprano's
  note on, every pitch above it off: harmony.given_units) and Bach's true past, per frame in
  which the soprano sounds (model.given_log_prob: exact, or the RNN-RBM's AIS estimate);
- the accuracy of the alto, tenor and bass pitches, the pitch-class sets matched, the frames
  of exactly four notes (harmony.Agreement), over `draws` harmonisations of each chorale;
- voice-leading faults per 100 voice-pair transitions (music21), notes outside their voice's
  range, and the sample measures of benchmarks/sample_quality.py.

Rolls are time-major, (num_steps, V), float32 0/1.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnn_rbm.config import DataConfig, GenerateConfig
from rnn_rbm.data.chorales import Chorale, load_chorales
from rnn_rbm.errors import UserError
from rnn_rbm.music import harmony, samplestats

log = logging.getLogger(__name__)

# The counting baseline's weight on its chord counts, chosen from these on the training
# chorales it does not count (every MIX_FOLD-th), before it counts them all.
MIXES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)
MIX_FOLD = 10
# Frames scored at once by given_log_prob (the RNN-RBM's AIS holds frames x chains rows).
FRAMES_PER_BATCH = 512
# The sample measures shown beside the harmony measures (samplestats keys).
SAMPLE_MEASURES = ("polyphony", "held", "scale", "pc_entropy")


@dataclass(frozen=True)
class HarmoniseSettings:
    """How a checkpoint harmonises: `draws` harmonisations of each chorale at `temperature`
    and, where `candidates`, one more row whose every frame is the consensus of that many
    draws (`consensus`), and, where `particles` and the model's likelihood is exact, one whose
    frames are the vote of that many particles given the whole soprano (`particle_consensus`),
    `gibbs_steps` for a model sampled by a chain (None: generation's default), the RNN-RBM's
    conditional likelihood by AIS with `ais_chains` chains and `ais_temperatures`
    temperatures per frame, random streams from `seed`."""

    draws: int = 4
    temperature: float = 1.0
    candidates: int = 64
    gibbs_steps: int | None = None
    ais_chains: int = 32
    ais_temperatures: int = 300
    seed: int = 0
    particles: int = 64
    # The consensus and particle rows choose each frame's voices together, avoiding parallel
    # fifths and octaves from the frame before (_voted_frame), and say so in their label.
    avoid_parallels: bool = False


@dataclass
class Row:
    """One row of the harmonisation table: `label`; `figures` on all held-out chorales and
    `new_tunes` on those whose tune is not in training (the keys of `figures`); `note`
    where the row could not be measured (then figures are empty); seconds taken."""

    label: str
    figures: dict = field(default_factory=dict)
    new_tunes: dict = field(default_factory=dict)
    note: str = ""
    seconds: float = 0.0
    written: list = field(default_factory=list)  # the rolls written, one per held-out chorale (first draw)

    def to_json(self) -> dict:
        return {"label": self.label, "figures": self.figures, "new_tunes": self.new_tunes, "note": self.note,
                "seconds": round(self.seconds, 1)}


@dataclass
class Chorales:
    """The benchmark's data: training and held-out chorales, each held-out one's key (from
    its soprano alone) and whether its tune is new (not set by any training chorale)."""

    train: list[Chorale]
    held: list[Chorale]
    keys: list[tuple[int, str]]
    new_tune: list[bool]
    data: DataConfig

    @classmethod
    def load(cls, data: DataConfig, cache_dir: Path | None = None, progress: bool = True) -> Chorales:
        chorales = load_chorales(data, cache_dir, progress=progress)
        train = [c for c in chorales if c.split == "train"]
        held = [c for c in chorales if c.split == "valid"]
        if not held:
            raise UserError("no held-out chorale to harmonise (data.valid_fraction is 0?)")
        tunes = {harmony.tune(c.soprano) for c in train}
        return cls(train, held, [soprano_key(c, data) for c in held],
                   [harmony.tune(c.soprano) not in tunes for c in held], data)


def soprano_key(chorale: Chorale, data: DataConfig) -> tuple[int, str]:
    """Returns: the chorale's key as its soprano alone gives it (what a harmoniser is given)."""
    return harmony.key_of(harmony.soprano_roll(chorale.soprano, data.num_pitches, data.lowest_pitch),
                          data.lowest_pitch)


def measure(written: list[list[np.ndarray]], chorales: Chorales, log_likelihood: dict | None,
            own_voices: bool = False) -> tuple[dict, dict]:
    """The harmony measures of written rolls against the held-out chorales.

    written: per held-out chorale, its harmonisations (each (T, V), time-major).
    own_voices: the written rolls are Bach's, measured by his own voices rather than sorted ones.
    log_likelihood: {"per_frame": float (N,) nats of the scored frames, "variance": (N,),
    "chorale": int (N,) index of each frame's chorale}, or None where not measured.
    Returns: (figures on all held-out chorales, figures on those with a new tune).
    """
    data = chorales.data
    subsets = (np.ones(len(chorales.held), bool), np.asarray(chorales.new_tune))
    out = []
    for chosen in subsets:
        if not chosen.any():  # no held-out chorale with a new tune
            out.append({"chorales": 0})
            continue
        agree, faults, outside, notes, rolls = harmony.Agreement(), None, 0, 0, []
        for index in np.nonzero(chosen)[0]:
            bach = chorales.held[index]
            for roll in written[index]:
                voices = bach.voices if own_voices else harmony.assign_voices(roll, bach.soprano, data.lowest_pitch)
                agree = agree.add(harmony.agreement(voices, roll, bach.voices, bach.roll))
                counted = harmony.voice_leading(voices)
                faults = counted if faults is None else {k: faults[k] + counted[k] for k in counted}
                o, n = harmony.out_of_range(voices)
                outside, notes = outside + o, notes + n
                rolls.append(roll)
        figures = agree.figures()
        transitions = faults.pop("transitions")
        figures.update({f"{k}_per_100": 100.0 * v / transitions if transitions else math.nan
                        for k, v in faults.items()})
        figures["out_of_range"] = 100.0 * outside / notes if notes else math.nan
        stats = samplestats.report(rolls, None, data.steps_per_quarter, data.lowest_pitch).to_json()["measures"]
        figures.update({key: stats[key]["mean"] for key in SAMPLE_MEASURES})
        figures["chorales"] = int(chosen.sum())
        if log_likelihood is not None:
            frames = np.isin(log_likelihood["chorale"], np.nonzero(chosen)[0])
            per_frame = log_likelihood["per_frame"][frames]
            figures["log_likelihood"] = float(per_frame.mean())
            figures["log_likelihood_se"] = float(np.sqrt(log_likelihood["variance"][frames].sum()) / len(per_frame))
        out.append({k: _rounded(v) for k, v in figures.items()})
    return out[0], out[1]


def _rounded(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 4)


def bach_row(chorales: Chorales) -> Row:
    """Bach against himself: 100 % agreement by construction, and his own voice leading,
    counted on his voices as he wrote them (a crossing of his is one)."""
    started = time.perf_counter()
    figures, new = measure([[c.roll] for c in chorales.held], chorales, None, own_voices=True)
    return Row("Bach", figures, new, seconds=time.perf_counter() - started, written=[c.roll for c in chorales.held])


def counting_row(chorales: Chorales) -> Row:
    """The counting baseline (harmony.CountingHarmoniser) fitted on the training chorales."""
    started = time.perf_counter()
    data = chorales.data
    train_keys = [soprano_key(c, data) for c in chorales.train]
    mix = _chosen_mix(chorales.train, train_keys, data)
    counter = harmony.CountingHarmoniser(mix=mix)
    for chorale, key in zip(chorales.train, train_keys):
        counter.count(chorale.roll, chorale.soprano, key, data.lowest_pitch)
    written = [[counter.harmonise(c.soprano, key, data.num_pitches, data.lowest_pitch)]
               for c, key in zip(chorales.held, chorales.keys)]
    per_frame, chorale_of = [], []
    for index, (c, key) in enumerate(zip(chorales.held, chorales.keys)):
        for frame, pitch in zip(c.roll, c.soprano):
            if pitch != harmony.REST:
                per_frame.append(counter.log_prob(frame, int(pitch), key, data.lowest_pitch))
                chorale_of.append(index)
    ll = {"per_frame": np.array(per_frame), "variance": np.zeros(len(per_frame)), "chorale": np.array(chorale_of)}
    figures, new = measure(written, chorales, ll)
    return Row(f"Counting baseline (chord counts weighted {mix})", figures, new,
               seconds=time.perf_counter() - started, written=[w[0] for w in written])


def _chosen_mix(train: list[Chorale], keys: list, data: DataConfig) -> float:
    """Returns: the counting baseline's weight of MIXES with the highest likelihood on every
    MIX_FOLD-th training chorale, counted on the others."""
    counter = harmony.CountingHarmoniser()
    for index, (chorale, key) in enumerate(zip(train, keys)):
        if index % MIX_FOLD:
            counter.count(chorale.roll, chorale.soprano, key, data.lowest_pitch)
    scores = {}
    for mix in MIXES:
        counter.mix = mix
        scores[mix] = sum(counter.log_prob(frame, int(pitch), key, data.lowest_pitch)
                          for index, (chorale, key) in enumerate(zip(train, keys)) if not index % MIX_FOLD
                          for frame, pitch in zip(chorale.roll, chorale.soprano) if pitch != harmony.REST)
    return max(scores, key=scores.get)


def model_rows(prefix: str, chorales: Chorales, settings: HarmoniseSettings, progress: bool = False) -> list[Row]:
    """A checkpoint's rows: its draws at settings.temperature, and, where settings.candidates,
    the consensus of that many draws at every step; or one row saying why it cannot
    harmonise. Raises UserError for a missing checkpoint or one not trained on the Bach
    default's grid."""
    import tensorflow as tf

    from rnn_rbm.engine import checkpoint
    from rnn_rbm.engine.sampling import Drawer
    from rnn_rbm.models import registry

    prefix = str(checkpoint.resolve(prefix))
    config = checkpoint.load_config(prefix)
    family = config.model.family
    label = f"`{family}` ({Path(prefix).parent.name}/{Path(prefix).name})"
    _check_grid(config.data, chorales.data, prefix)
    try:
        registry.model_class(family).check_generation(GenerateConfig(), Path("soprano"))
    except UserError:
        return [Row(label, note=f"cannot hold a given voice: the {family} draws words, not frames whose notes "
                                "can be held")]
    rng = tf.random.Generator.from_seed(settings.seed)
    model = registry.build(config, rng)
    checkpoint.restore(prefix, model=model)
    started = time.perf_counter()
    ll = _given_log_likelihood(model, chorales, settings, rng)
    ll_seconds = time.perf_counter() - started
    gibbs = settings.gibbs_steps or GenerateConfig().gibbs_steps
    data = chorales.data
    melodies = [harmony.soprano_roll(c.soprano, data.num_pitches, data.lowest_pitch) for c in chorales.held]

    def drawing(chorale: Chorale) -> GenerateConfig:
        return GenerateConfig(gibbs_steps=gibbs, num_steps=len(chorale.roll), num_samples=settings.draws,
                              temperature=settings.temperature)

    ways = [(f"{label}, {settings.draws} draws", lambda c, melody: list(
        Drawer(model, drawing(c), rng, progress).frames(melody=melody)))]
    avoid = settings.avoid_parallels
    rule = ", parallels avoided" if avoid else ""
    if settings.candidates:
        ways.append((f"{label}, consensus of {settings.candidates} draws a step{rule}", lambda c, melody: [
            consensus(model, drawing(c), rng, c.soprano, data, settings.candidates, avoid)]))
    if settings.particles and model.EXACT:
        ways.append((f"{label}, vote of {settings.particles} particles given the whole soprano{rule}",
                     lambda c, melody: [particle_consensus(model, drawing(c), rng, c.soprano, data, settings.particles,
                                                           avoid)]))
    rows = []
    for name, write in ways:
        started = time.perf_counter()
        written = [write(c, melody) for c, melody in zip(chorales.held, melodies)]
        figures, new = measure(written, chorales, ll)
        rows.append(Row(name, figures, new, seconds=time.perf_counter() - started + ll_seconds,
                        written=[w[0] for w in written]))
    return rows


def consensus(model, settings: GenerateConfig, rng, soprano: np.ndarray, data: DataConfig,
              candidates: int, avoid_parallels: bool = False) -> np.ndarray:
    """A harmonisation aimed at the measure of voice accuracy rather than at a draw: at every
    step `candidates` frames are drawn given the state with the soprano held (as generation
    holds a melody), each is split into voices (harmony.assign_voices), and the frame written
    takes for each lower voice the pitch (or rest) that most draws give it; the RNN then reads
    that frame. This is the minimum-Bayes-risk choice of each voice's pitch, estimated from
    the draws; with `avoid_parallels`, of the voices together, none moving in parallel fifths
    or octaves from the frame written before where the draws allow (_voted_frame).

    soprano: int (T,), MIDI pitches or harmony.REST; settings: gibbs_steps, temperature,
    num_steps (T).
    Returns: float32 0/1 (T, V), time-major.
    """
    from rnn_rbm.music.guide import melody_clamp
    from rnn_rbm.ops import philox

    steps = settings.num_steps
    mask, values = melody_clamp(harmony.soprano_roll(soprano, data.num_pitches, data.lowest_pitch), steps)
    draw, read = _consensus_steps(model, settings.gibbs_steps, settings.temperature, candidates)
    seed = philox.new_seed(rng)
    state = model.initial_state(1)
    written = np.zeros((steps, data.num_pitches), dtype=np.float32)
    for t in range(steps):
        drawn = draw(state, seed, t, mask[t:t + 1], values[t:t + 1]).numpy()
        written[t] = _vote_at(t, drawn, written, soprano, values, data, avoid_parallels)
        state = read(state, written[t:t + 1])
    return written


def _vote_at(t: int, candidates: np.ndarray, written: np.ndarray, soprano: np.ndarray, held: np.ndarray,
             data: DataConfig, avoid_parallels: bool) -> np.ndarray:
    """Returns: frame t voted from `candidates` (K, V) (_voted_frame) under soprano[t] with the
    held units held[t]; with `avoid_parallels`, moving in no parallel from written[t - 1]."""
    before = None
    if avoid_parallels and t:
        before = harmony.assign_voices(written[t - 1:t], soprano[t - 1:t], data.lowest_pitch)[:, 0]
    return _voted_frame(candidates, soprano[t], held[t], data, before)


# Pitches of each lower voice, the most voted first, that the vote avoiding parallels weighs.
VOTE_OPTIONS = 3


def _voted_frame(candidates: np.ndarray, soprano: int, held: np.ndarray, data: DataConfig,
                 before: np.ndarray | None = None) -> np.ndarray:
    """One frame from candidate frames (K, V) under a given soprano pitch: each lower voice
    (harmony.assign_voices) takes the pitch that most candidates give it, among those that
    give it one; a rest only where none does. Voice accuracy counts the frames where Bach's
    voice sounds, where a rest is never right: it is the minimum-Bayes-risk choice for it.

    before: the four voices (int (4,)) of the frame written before, or None. Given, the voices
    are chosen together: of the combinations of each voice's VOTE_OPTIONS most voted pitches
    that keep soprano, alto, tenor and bass apart and in order, the one with the most votes
    in all that moves in no parallel fifth or octave from `before` (harmony.parallel); the
    free vote where every combination would.

    Returns: float32 0/1 (V,), the held units (the soprano) included.
    """
    frame = held.astype(np.float32).copy()
    voices = harmony.assign_voices(candidates, np.full(len(candidates), soprano), data.lowest_pitch)
    options = []  # per lower voice: (pitches, votes), the most voted first; a rest alone where none sounds
    for voice in voices[1:]:
        pitches, counts = np.unique(voice[voice != harmony.REST], return_counts=True)
        first = np.argsort(-counts, kind="stable")
        options.append((pitches[first], counts[first]) if len(pitches) else (np.array([harmony.REST]), np.zeros(1)))
    chosen = [pitches[0] for pitches, _ in options]
    if before is not None:
        best = None
        for picks in itertools.product(*(range(min(len(p), VOTE_OPTIONS)) for p, _ in options)):
            lower = [options[v][0][i] for v, i in enumerate(picks)]
            sounding = [p for p in [soprano, *lower] if p != harmony.REST]
            votes = sum(options[v][1][i] for v, i in enumerate(picks))
            if (sounding == sorted(set(sounding), reverse=True) and (best is None or votes > best[0])
                    and not harmony.parallel(before, np.array([soprano, *lower]))):
                best = votes, lower
        chosen = best[1] if best is not None else chosen
    for pitch in chosen:
        if pitch != harmony.REST:
            frame[pitch - data.lowest_pitch] = 1.0
    return frame


def particle_consensus(model, settings: GenerateConfig, rng, soprano: np.ndarray, data: DataConfig,
                       particles: int, avoid_parallels: bool = False) -> np.ndarray:
    """A harmonisation given the whole soprano, not only its past: a particle filter over the
    lower voices. Each of `particles` harmonisations so far is weighted at every step by the
    model's probability of the soprano's next frame given it, p(held units | its past), exact
    for a model whose frame likelihood is (model.EXACT); the particles are resampled by those
    weights (systematic resampling) and each draws its lower voices given the soprano, as
    generation holds a melody. A harmonisation that leads where Bach's tune cannot go dies
    out. The frame written at each step is the voices' vote (`_voted_frame`) over the
    surviving particles' frames at the end: the minimum-Bayes-risk choice under p(lower
    voices | the whole soprano) as the particles estimate it; with `avoid_parallels`, frame
    after frame as consensus's.

    soprano: int (T,), MIDI pitches or harmony.REST; settings: gibbs_steps, temperature,
    num_steps (T).
    Returns: float32 0/1 (T, V), time-major. Raises NotImplementedError for a model whose
    likelihood is estimated (the RNN-RBM's would need a partition function a step).
    """
    import tensorflow as tf

    from rnn_rbm.music.guide import melody_clamp
    from rnn_rbm.ops import philox

    if not model.EXACT:
        raise NotImplementedError("the weights need the exact probability of the soprano's frame")
    steps = settings.num_steps
    mask, values = melody_clamp(harmony.soprano_roll(soprano, data.num_pitches, data.lowest_pitch), steps)
    step, read = _particle_steps(model, settings.gibbs_steps, settings.temperature)
    seed = philox.new_seed(rng)
    resampling = np.random.default_rng(seed.numpy().astype(np.uint64))
    state = model.initial_state(particles)
    paths = np.zeros((particles, steps, data.num_pitches), dtype=np.float32)
    for t in range(steps):
        drawn, log_weight = (x.numpy() for x in step(state, seed, t, mask[t:t + 1], values[t:t + 1]))
        paths[:, t] = drawn
        weight = np.exp(log_weight - log_weight.max())
        positions = (resampling.random() + np.arange(particles)) / particles
        ancestors = np.minimum(np.searchsorted(np.cumsum(weight / weight.sum()), positions), particles - 1)
        paths = paths[ancestors]
        state = read(tf.gather(state, ancestors), paths[:, t])
    written = np.zeros((steps, data.num_pitches), dtype=np.float32)
    for t in range(steps):
        written[t] = _vote_at(t, paths[:, t], written, soprano, values, data, avoid_parallels)
    return written


@functools.lru_cache(maxsize=8)
def _particle_steps(model, gibbs_steps: int, temperature: float):
    """Returns: (step: (states (K, S), seed, t, held mask (1, V), held values (1, V)) -> (a
    frame drawn for each particle (K, V), log p(held units | each particle's past) (K,));
    read: (states, frames) -> states), compiled."""
    import tensorflow as tf

    from rnn_rbm.models.base import ScoreSettings
    from rnn_rbm.ops import philox

    exact = ScoreSettings(draws=0)

    def step(states, seed, t, held_mask, held_values):
        context = model.context(states)
        drawn = model.draw(context, gibbs_steps, philox.substream(seed, t), temperature, held_mask, held_values)
        given = tf.broadcast_to(held_mask, tf.shape(drawn))
        # log p(held) = log p(frame) - log p(the rest | held), for any frame with the held values.
        lower, _ = model.given_log_prob(drawn, context, given, exact, None)
        return drawn, model.frame_log_prob(drawn, context) - lower

    return tf.function(step), tf.function(model.rnn_step)


@functools.lru_cache(maxsize=8)
def _consensus_steps(model, gibbs_steps: int, temperature: float, candidates: int):
    """Returns: (draw: (state (1, S), seed, t, held mask (1, V), held values (1, V)) ->
    `candidates` frames (candidates, V); read: (state, frame (1, V)) -> state), compiled."""
    import tensorflow as tf

    from rnn_rbm.ops import philox

    def draw(state, seed, t, held_mask, held_values):
        context = tf.repeat(model.context(state), candidates, axis=0)
        return model.draw(context, gibbs_steps, philox.substream(seed, t), temperature, held_mask, held_values)

    return tf.function(draw), tf.function(model.rnn_step)


def _common_key(checkpoints: list[str]) -> str:
    """Returns: the data.key every checkpoint was trained with (the default with none); raises
    UserError where they differ: one reading of the chorales must serve them all."""
    from rnn_rbm.engine import checkpoint

    found = {str(c): checkpoint.load_config(checkpoint.resolve(c)).data.key for c in checkpoints}
    if len(set(found.values())) > 1:
        raise UserError("the checkpoints read their music in different keys ("
                        + ", ".join(f"{c}: {k}" for c, k in found.items()) + "); harmonise them apart")
    return next(iter(found.values()), DataConfig().key)


def _check_grid(trained: DataConfig, wanted: DataConfig, prefix: str) -> None:
    """Raises UserError when the checkpoint's frames are not the chorales' grid."""
    for name in ("steps_per_quarter", "lowest_pitch", "num_pitches", "key"):
        if getattr(trained, name) != getattr(wanted, name):
            raise UserError(f"{prefix}: trained with data.{name}={getattr(trained, name)}, but the chorales "
                            f"are read with {getattr(wanted, name)}: harmonise with a checkpoint trained "
                            "on the Bach default")


def _given_log_likelihood(model, chorales: Chorales, settings: HarmoniseSettings, rng) -> dict | None:
    """Returns: model.given_log_prob of every held-out frame in which the soprano sounds,
    given Bach's true past ({"per_frame", "variance", "chorale"}), or None where the model
    cannot condition a frame on part of it."""
    import tensorflow as tf

    from rnn_rbm.data.dataset import pad_batch
    from rnn_rbm.models.base import ScoreSettings, flatten_steps

    data = chorales.data
    scoring = ScoreSettings(draws=0, chains=settings.ais_chains, temperatures=settings.ais_temperatures)
    frames, contexts, given, chorale_of = [], [], [], []
    for index, chorale in enumerate(chorales.held):
        v, _ = pad_batch([chorale.roll])
        context = flatten_steps(model.contexts(tf.constant(v))).numpy()[: len(chorale.roll)]
        sounding = chorale.soprano != harmony.REST
        frames.append(chorale.roll[sounding])
        contexts.append(context[sounding])
        given.append(harmony.given_units(chorale.soprano, data.num_pitches, data.lowest_pitch)[sounding])
        chorale_of.append(np.full(int(sounding.sum()), index))
    frames, contexts, given = (np.concatenate(x) for x in (frames, contexts, given))
    per_frame, variance = [], []
    try:
        for start in range(0, len(frames), FRAMES_PER_BATCH):
            part = slice(start, start + FRAMES_PER_BATCH)
            log_p, var = model.given_log_prob(tf.constant(frames[part]), tf.constant(contexts[part]),
                                              tf.constant(given[part]), scoring, rng)
            per_frame.append(np.asarray(log_p, np.float64))
            variance.append(np.asarray(var, np.float64))
    except NotImplementedError:
        return None
    return {"per_frame": np.concatenate(per_frame), "variance": np.concatenate(variance),
            "chorale": np.concatenate(chorale_of)}


@dataclass
class Harmonised:
    """What harmonise_task measured: the chorales, and the rows (Bach, the counting baseline,
    then each checkpoint's), each with the rolls it wrote."""

    chorales: Chorales
    rows: list[Row]

    def to_json(self) -> dict:
        """Returns: {"chorales": held-out count, "new_tunes": how many have a tune no training
        chorale sets, "rows": [Row.to_json()], "targets": targets(rows)}."""
        rows = [row.to_json() for row in self.rows]
        return {"chorales": len(self.chorales.held), "new_tunes": int(np.sum(self.chorales.new_tune)),
                "rows": rows, "targets": targets(rows)}


def harmonise_task(checkpoints: list[str], settings: HarmoniseSettings = HarmoniseSettings(),
                   data: DataConfig | None = None, cache_dir: Path | None = None, record=None,
                   progress: bool = True) -> Harmonised:
    """Bach, the counting baseline and every checkpoint's rows on the held-out chorales, each
    a phase of `record` (records.Record) where one is given. data: how the chorales are read;
    by default the Bach default's grid in the checkpoints' key (data.key: in C, or as written).

    Raises UserError for a missing checkpoint, one not trained on the chorales' grid, or
    checkpoints that read their music in different keys.
    """
    import contextlib

    if data is None:
        data = DataConfig(key=_common_key(checkpoints))

    phase = record.phase if record is not None else (lambda name: contextlib.nullcontext())
    with phase("chorales"):
        chorales = Chorales.load(data, cache_dir, progress)
    rows: list[Row] = []
    with phase("bach"):
        rows.append(bach_row(chorales))
    with phase("counting"):
        rows.append(counting_row(chorales))
    for prefix in checkpoints:
        with phase(str(prefix)):
            rows += model_rows(str(prefix), chorales, settings, progress)
    return Harmonised(chorales, rows)


# The targets: the best model beats the counting baseline on likelihood and on every
# accuracy, with parallel fifths and octaves per 100 transitions at most twice Bach's.
ACCURACIES = ("alto_accuracy", "tenor_accuracy", "bass_accuracy", "lower_accuracy", "pitch_class_match")
PARALLELS = ("parallel_fifths_per_100", "parallel_octaves_per_100")


def targets(rows: list[dict]) -> dict:
    """Returns: for each model row, whether it beats the counting baseline on likelihood and on
    each of ACCURACIES, and keeps each of PARALLELS at most twice Bach's; and "best": the model
    row with the highest lower-voice accuracy, with "met" true when it meets them all."""
    bach = next(r for r in rows if r["label"] == "Bach")["figures"]
    counting = next(r for r in rows if r["label"].startswith("Counting baseline"))["figures"]
    judged = {}
    for row in rows:
        figures = row["figures"]
        if row["label"] == "Bach" or row["label"].startswith("Counting") or not figures:
            continue
        checks = {"log_likelihood": _above(figures.get("log_likelihood"), counting.get("log_likelihood"))}
        checks.update({key: _above(figures.get(key), counting.get(key)) for key in ACCURACIES})
        checks.update({key: figures.get(key) is not None and figures[key] <= 2 * bach[key] for key in PARALLELS})
        judged[row["label"]] = checks
    best = max((r for r in rows if r["label"] in judged), key=lambda r: r["figures"]["lower_accuracy"], default=None)
    return {"rows": judged, "best": best and best["label"],
            "met": bool(best) and all(judged[best["label"]].values())}


def _above(mine: float | None, theirs: float | None) -> bool:
    return mine is not None and theirs is not None and mine > theirs


def write_examples(harmonised: Harmonised, out_dir: Path, count: int = 3, audio: bool = True,
                   command: str | None = None) -> Path:
    """Writes, for the first `count` held-out chorales whose tune is new, every row's
    harmonisation (Bach's, the counting baseline's, each model's first) as MIDI, a picture
    (the given soprano in orange) and, where `audio`, a WAV, one results-page section per
    chorale (outputs/report.py).

    Returns: the results page's path.
    """
    import re

    from rnn_rbm.outputs import audio as sound
    from rnn_rbm.outputs import report
    from rnn_rbm.outputs.samples import write_samples

    chorales = harmonised.chorales
    data = chorales.data
    synth = sound.find_synth()[0] if audio else None
    settings = GenerateConfig()
    report.check_page(out_dir)
    chosen = [i for i, new in enumerate(chorales.new_tune) if new][:count]
    for index in chosen:
        chorale = chorales.held[index]
        melody = harmony.soprano_roll(chorale.soprano, data.num_pitches, data.lowest_pitch)
        samples = []
        for row in harmonised.rows:
            if not row.written:
                continue
            stem = f"{Path(chorale.name).stem}_" + re.sub(r"[^A-Za-z0-9]+", "-", row.label).strip("-")
            roll = np.asarray(row.written[index])
            files = write_samples(roll[np.newaxis], out_dir, data, settings, stem, synth, plot=True, melody=melody)[0]
            samples.append({"midi": files.midi.name, "wav": files.wav and files.wav.name,
                            "png": files.png and files.png.name, "frames": int(len(roll)),
                            "polyphony": _rounded(float(np.mean(roll.sum(axis=1)[roll.sum(axis=1) > 0])))})
        report.write_manifest(out_dir, {
            "run": f"harmonisation_{Path(chorale.name).stem}", "created": time.strftime("%Y-%m-%d %H:%M:%S"),
            "checkpoint": ", ".join(r.label for r in harmonised.rows if r.written), "data": "bach (held out)",
            "melody": f"soprano of {chorale.name}", "synth": synth and synth.describe(), "command": command,
            "samples": samples})
    return report.rebuild_index(out_dir)
