"""Every hyperparameter of the project, as frozen dataclasses saved as JSON.

A run's `RunConfig` is written as `config.json` beside its checkpoints and is
also stored inside each checkpoint, so that generation and evaluation rebuild
the model without repeating flags. Defaults follow Boulanger-Lewandowski et al.
(ICML 2012): 88 visible units, 150 hidden, 100 recurrent, CD-15 for training,
25 Gibbs steps per generated frame.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from rnn_rbm.errors import UserError

FORMAT_VERSION = 1


# The validation figures that can pick best.ckpt and stop a run early (engine/trainer.py's
# VALIDATORS computes each): the frame accuracy of the monitor's draws, or the log-likelihood.
SELECT_METRICS = ("valid_acc", "valid_nll")
# train.optimizer: its name -> the Keras optimizer class. Adam for every model but two of the
# token recipes, which use RMSprop. "sgd" is the paper's plain gradient step: its steps shrink
# with the gradient, where Adam's keep their size, so a weak, noisy CD gradient moves less.
OPTIMIZERS = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD"}
# The values a few settings take (each explained where it is declared below).
OUT_OF_RANGE = ("octave", "drop")  # data.out_of_range
KEYS = ("c", "as_written")  # data.key
NEGATIVE_STARTS = ("data", "zeros", "mixed")  # train.negative_start
LR_SCHEDULES = ("constant", "plateau")  # train.lr_schedule
AIS_BASES = ("frame", "data")  # evaluate.ais_base


# The paper's data sets shipped with the package (data/packaged.py), by --data name, with the
# length of their frames: "sampling frames every eighth note (quarter note for JSB chorales)"
# (the author's page). Their frames come as given; this sets the length of a frame in MIDI.
BENCHMARK_STEPS_PER_QUARTER = {"jsb": 1, "nottingham": 2, "musedata": 2, "piano_midi": 2}


@dataclass(frozen=True)
class DataConfig:
    """How music becomes binary frames."""

    # A frame is a quarter note divided by this (1: quarter, 2: eighth, 4: sixteenth).
    # Eighths hold the chorales' passing notes (quarters would merge them into the
    # beat's chord). Benchmark JSON frames come as given: there it only sets the
    # length of a frame in the MIDI written.
    steps_per_quarter: int = 2
    lowest_pitch: int = 21  # MIDI pitch of column 0 (A0, the lowest piano key)
    num_pitches: int = 88
    # Notes outside the range: "octave" moves them by octaves into it, "drop" discards them.
    out_of_range: str = "octave"
    # Share of the pieces of a MIDI folder (or of the Bach corpus) held out for validation.
    valid_fraction: float = 0.1
    # "c": each piece of the Bach default or of a MIDI folder is moved into C major or C minor
    # (the nearest way, at most six semitones), as the paper's benchmark sets come; models of
    # music in every key forget the key over a long piece (music/keys.py). "as_written" keeps
    # each piece's own key. The benchmark sets are in C already and read as given.
    key: str = "c"


@dataclass(frozen=True)
class ModelConfig:
    """Which model (`family`, a name of models/registry.py) and its sizes; the visible layer
    is `DataConfig.num_pitches` wide."""

    family: str = "rnn_rbm"
    n_hidden: int = 150  # hidden units of the frame distribution (RBM, NADE); unused by lstm
    n_recurrent: int = 100  # recurrent units: the tanh RNN's, or the LSTM's cells
    # Share of the LSTM's outputs h(t) dropped (and the rest scaled up) on their way to the
    # output layer in training (Zaremba et al. 2014: not on the recurrent connections).
    dropout: float = 0.0
    init_std: float = 0.01  # std of the normal draw for every weight matrix; biases start at 0
    # Token models (models/token_lstm.py): stacked LSTM layers of n_recurrent cells, and a
    # ReLU layer of this many units between the top one and the softmax (0: none).
    layers: int = 1
    dense_units: int = 0


@dataclass(frozen=True)
class TokenConfig:
    """What a token model reads: a representation of the rolls (music/tokens.py) and its
    vocabulary. The frame models read the rolls themselves ("frames")."""

    representation: str = "frames"
    # Per field of the representation, its words in id order: fitted on the training pieces
    # by a new run and kept in every checkpoint, so that generation rebuilds it exactly.
    vocabulary: list = field(default_factory=list)
    # Tokens of a validation piece that generation reads first when no --primer is given
    # (the window each recipe predicts from).
    primer_tokens: int = 0


@dataclass(frozen=True)
class PretrainConfig:
    """CD-k training of the RBM alone on all training frames (weight_initializations.py)."""

    epochs: int = 10
    cd_k: int = 15
    learning_rate: float = 0.005
    batch_size: int = 128  # frames per update
    # Then the recurrence alone, this many epochs over the training pieces (whole pieces,
    # train.batch_size a batch, Adam at rnn_learning_rate): the RNN trained as the paper's "RNN" with
    # independent outputs, logits bv(t) = c + u(t-1) Wuv, by its exact likelihood (c a bias of
    # this stage only). The paper starts its RNN-RBM from such an RNN: the RBM's CD gradient
    # reaches the RNN only through the biases it sets, and in a sharp RBM a chain started at
    # the true frame barely moves, so that gradient is small (experiments/2026-12-rnn-rbm-jsb.md).
    rnn_epochs: int = 0
    # The RNN stage's step size; 0: train.learning_rate. Its own, because the exact likelihood
    # takes a larger step than CD after it (experiments/2026-12-nottingham.md).
    rnn_learning_rate: float = 0.0

    def rnn_stage(self, train: TrainConfig) -> TrainConfig:
        """Returns: the settings the RNN stage trains with: `train`'s batches and clipping at
        its own step size."""
        return dataclasses.replace(train, learning_rate=self.rnn_learning_rate or train.learning_rate)


@dataclass(frozen=True)
class TrainConfig:
    """CD-k training of the whole RNN-RBM with back-propagation through time."""

    cd_k: int = 15
    # Where CD-k's negative chains start: "data" (the true frame, as in the paper) or
    # "zeros" (the all-zero frame, where generation starts its chains). From zeros, the
    # chains visit what generation would draw given the true past, and training pushes
    # down exactly those wrong frames, which raises the accuracy of those draws
    # (experiments/2026-11-negative-start.md). It does not keep long pieces from drifting:
    # scheduled_sampling does. "mixed": each chain from zeros with probability
    # zeros_start_share, else from the true frame, chosen at random.
    negative_start: str = "zeros"
    zeros_start_share: float = 0.5
    # Scheduled sampling, in parallel (Bengio et al. 2015; Duckworth et al. 2019): this share
    # of the frames the recurrence reads in training are the model's own draws given the true
    # past (each frame chosen independently), the rest the true frames; the cost is still that
    # of the true frames. 0 is teacher forcing. A model trained only on the true past meets its
    # own mistakes first in generation, and there the errors feed on themselves
    # (experiments/2026-12-long-pieces.md).
    scheduled_sampling: float = 0.0
    optimizer: str = "adam"  # a name of OPTIMIZERS
    learning_rate: float = 0.003
    batch_size: int = 16  # pieces per update, padded to the longest and masked
    # A batch of more frames than this (padding included) is taken in groups of its pieces,
    # one after another, their gradients summed into the one update: the same update
    # (up to rounding; with scheduled sampling, other draws of the same distribution) in
    # bounded memory. The longest pieces of Piano-midi.de and Nottingham made single steps of
    # several GB (benchmarks/step_memory.py). 0: never split.
    max_batch_frames: int = 8192
    clip_norm: float = 10.0  # global gradient-norm clipping; 0 turns it off
    # Gibbs steps of the validation monitor's predicted frames (as in generation).
    monitor_gibbs_steps: int = 25
    checkpoint_every: int = 10
    # Epochs between piano-roll images of a freshly drawn piece in TensorBoard; 0: none.
    image_every: int = 10
    image_steps: int = 64  # frames of that piece
    # Epoch checkpoints kept besides best.ckpt (older ones are deleted); 0 keeps all.
    keep_last: int = 3
    # Epochs between validations (and always at the last epoch): with valid_acc_draws 4 the
    # monitor's noise is below what it decides between, at a small share of the run's time
    # (experiments/2026-12-validation-noise.md).
    validate_every: int = 5
    # The validation figure that picks best.ckpt, stops early and cuts the learning rate.
    # Figures named valid_nll* are better when lower, the others when higher.
    select_metric: str = "valid_acc"  # one of SELECT_METRICS
    # A validation counts as better only when it beats the best by more than this: twice the
    # noise of the figure (its standard deviation between repeated validations of one
    # checkpoint, experiments/2026-12-validation-noise.md), so best.ckpt, the plateau schedule
    # and early stopping are not decided by noise.
    select_min_delta: float = 0.003
    # Stop after this many validations without a better select_metric; 0 never stops early.
    early_stop_patience: int = 0
    # "constant", or "plateau": multiply the learning rate by lr_plateau_factor after
    # lr_plateau_patience validations without improvement, down to min_learning_rate.
    lr_schedule: str = "constant"
    lr_plateau_factor: float = 0.5
    lr_plateau_patience: int = 5
    min_learning_rate: float = 1e-5


@dataclass(frozen=True)
class GenerateConfig:
    """Sampling new music, frame after frame."""

    gibbs_steps: int = 25
    num_steps: int = 128
    num_samples: int = 1
    tempo_bpm: float = 100.0  # quarter notes per minute in the written MIDI
    velocity: int = 80
    # The RBM's energy is divided by this in the Gibbs sampler: 1 draws from the model as
    # trained; higher flattens it towards coin flips, lower sharpens it towards its most
    # likely frames.
    temperature: float = 1.0
    # Token models: draw each word among the k likeliest only (0: among all).
    top_k: int = 0
    # Frames drawn per compiled call: the RNN state is carried from one chunk to the next
    # (same music as one call), and the progress bar moves once a chunk.
    chunk_steps: int = 16
    # WAV written by --audio: mono 16-bit at this rate (half CD rate keeps a 40 s piece
    # under 2 MB and loses nothing a piano preview needs).
    audio_sample_rate: int = 22050


@dataclass(frozen=True)
class EvalConfig:
    """Measuring a trained model as the paper's Table 1 does (rnn_rbm_evaluate.py, and the
    validation that training can run each epoch)."""

    # Annealed importance sampling of each frame's partition function (rnn_rbm/ops/ais.py).
    ais_chains: int = 16  # chains per frame
    ais_temperatures: int = 1000  # K intermediate distributions, β in equal steps from 0 to 1
    # The AIS base distribution: "frame" (independent pitches with the frame's own visible
    # bias bv(t), the RBM with W = 0) or "data" (independent pitches at the training base
    # rates, one base for all frames).
    ais_base: str = "frame"
    # Sum each frame's RBM over the distinct training frames exactly (JSB 2,420, Nottingham
    # 1,252), the chains estimating only the rest of Z: music puts most of the mass there,
    # so the estimate keeps far less variance and cannot miss those modes.
    exact_training_frames: bool = True
    # At most this many of them, the most frequent first (0: all). Each frame's exact sum costs
    # as much as its AIS chains at about 13,000 states: MuseData's 39,289 would double the
    # evaluation's time, for the 8 % of test frames that lie among its rarest 29,000.
    ais_known_frames: int = 0
    ais_batch_frames: int = 512  # frames whose chains run together (memory: x chains x 150 floats)
    # Expected frame accuracy: each frame is drawn `acc_draws` times from its AIS chains'
    # last states, resampled by importance weight (rnn_rbm/engine/scoring.py).
    acc_draws: int = 10
    # Independent-Bernoulli reference: p_i = (count_i + s) / (frames + 2 s) over the training
    # frames (add-s smoothing: a pitch never heard in training keeps a small probability).
    reference_smoothing: float = 1.0
    # Validation during training: the same measures, cheaper.
    valid_ais_chains: int = 8
    valid_ais_temperatures: int = 100
    # Draws of every validation frame, for valid_acc in both validations: with one, repeated
    # validations of one checkpoint differ more than what selection decides between
    # (experiments/2026-12-validation-noise.md).
    valid_acc_draws: int = 4
    valid_pieces: int = 0  # the first N validation pieces only (a fixed subset); 0 = all


# Piano keys: the width of every roll and of the acoustic model's output (transcription/).
NUM_KEYS = 88


@dataclass(frozen=True)
class FeatureConfig:
    """How audio becomes acoustic-model input; saved with the acoustic model.

    sample_rate: Hz the audio is resampled to; 16 kHz keeps C8 (4.2 kHz) and its first
        partial below Nyquist at half the cost of 44.1 kHz.
    step_seconds: duration of one symbolic step (roll row): the tempo mapping.
    frames_per_step: audio frames per symbolic step (the paper decodes audio frames finer
        than steps); step_seconds * sample_rate must divide by it (see hop_length).
    bins_per_semitone: CQT bins per key (transcription/features.py's docstring: why 3).
    context: audio frames stacked on each side of a frame (features.stack_context).
    filter_scale: librosa's CQT filter length factor; below 1 trades pitch resolution
        for time resolution in the bass.
    log_floor: added to CQT magnitudes before the log, about 80 dB below a loud note, so
        that silence is a finite value rather than -inf.
    noise_snr_db: pink noise mixed into every rendered piece at this signal-to-noise ratio
        (dB), as a recording's room, microphone and hiss would be; None: the clean rendering.
        It applies to audio rendered from rolls (training and the benchmark), never to a
        recording given to transcribe.
    """

    sample_rate: int = 16000
    step_seconds: float = 0.25
    frames_per_step: int = 4
    bins_per_semitone: int = 3
    context: int = 2
    filter_scale: float = 1.0
    log_floor: float = 1e-4
    noise_snr_db: float | None = None

    @property
    def num_bins(self) -> int:
        """CQT bins per frame: NUM_KEYS * bins_per_semitone."""
        return NUM_KEYS * self.bins_per_semitone

    @property
    def hop(self) -> int:
        """Samples per audio frame (hop_length of step_seconds, frames_per_step, sample_rate)."""
        return hop_length(self.step_seconds, self.frames_per_step, self.sample_rate)

    @property
    def input_size(self) -> int:
        """Length of one stacked feature vector: (2 * context + 1) * num_bins."""
        return (2 * self.context + 1) * self.num_bins


def hop_length(step_seconds: float, frames_per_step: int, sample_rate: int) -> int:
    """Samples per audio frame such that `frames_per_step` frames fill one step exactly.

    Hops with many factors of two make the CQT faster: librosa halves the sample rate once
    per octave only while the hop stays even (0.25 s at 16 kHz in 4 frames: hop 1000 = 8 x 125).

    Returns: int hop in samples. Raises UserError when step_seconds * sample_rate /
    frames_per_step is not a whole number of samples (frames would drift off the steps).
    """
    if step_seconds <= 0 or frames_per_step < 1 or sample_rate < 1:
        raise UserError(f"a step of {step_seconds} s in {frames_per_step} frames at {sample_rate} Hz: "
                        "all three must be positive")
    exact = step_seconds * sample_rate / frames_per_step
    hop = int(round(exact))
    if hop < 1 or abs(exact - hop) > 1e-6 * max(1.0, exact):
        raise UserError(f"a step of {step_seconds} s at {sample_rate} Hz is {step_seconds * sample_rate:g} "
                        f"samples, which {frames_per_step} audio frames cannot share evenly; choose a step "
                        "duration or frames per step that divide it")
    return hop


@dataclass(frozen=True)
class RunConfig:
    """Everything that shapes a trained model: saved with every checkpoint."""

    data_source: str = "bach"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    tokens: TokenConfig = field(default_factory=TokenConfig)
    # How audio becomes the acoustic model's input (models/acoustic.py); unused by the others.
    features: FeatureConfig = field(default_factory=FeatureConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    evaluate: EvalConfig = field(default_factory=EvalConfig)
    seed: int = 0
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        """Returns: the config as indented JSON text."""
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        """Parses `to_json` output; raises UserError on unknown or missing structure."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"config is not valid JSON ({exc})") from None
        if isinstance(raw, dict) and isinstance(raw.get("data"), dict):
            # A config written before data.key existed read its pieces as written.
            raw["data"].setdefault("key", "as_written")
        return _build(cls, raw, "config")


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise UserError(f"{where} should be a JSON object")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(raw) - set(fields)
    if unknown:
        raise UserError(f"{where} has unknown keys {sorted(unknown)}")
    kwargs = {}
    for name, value in raw.items():
        sub = fields[name].type
        sub_cls = globals().get(sub) if isinstance(sub, str) else sub
        if dataclasses.is_dataclass(sub_cls):
            value = _build(sub_cls, value, f"{where}.{name}")
        kwargs[name] = value
    return cls(**kwargs)


def replace_section(config: RunConfig, section: str, **changes: Any) -> RunConfig:
    """Returns: `config` with the given fields of one section (e.g. "train") changed;
    fields given as None are left as they are, so unset CLI flags keep the config's value."""
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        return config
    return dataclasses.replace(
        config, **{section: dataclasses.replace(getattr(config, section), **changes)}
    )


_SECTIONS = ("data", "model", "tokens", "features", "pretrain", "train", "evaluate")


@dataclass(frozen=True)
class Overrides:
    """Settings a command line gives over a run's base settings (the model family's defaults,
    or those held in a checkpoint); None, or a field left out of a section's dict, keeps the
    base's value."""

    data_source: str | None = None
    steps_per_quarter: int | None = None
    out_of_range: str | None = None
    key: str | None = None
    seed: int | None = None
    family: str | None = None
    n_hidden: int | None = None
    n_recurrent: int | None = None
    pretrain: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    # --config FILE, then --set, as "section.field" (or "seed", "data_source") -> value
    # (read_settings): applied first, so that a flag of its own beats them.
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def chosen_family(self) -> str | None:
        """The model asked for, by --model or by --config/--set model.family (None: not given)."""
        return self.family or self.settings.get("model.family")

    def data_and_seed(self, config: RunConfig) -> RunConfig:
        """Returns: `config` with the settings of --config and --set, then this data source,
        frame settings and seed (a packaged benchmark's own frame length unless one is given)."""
        config = apply_settings(config, self.settings)
        steps = self.steps_per_quarter
        if steps is None and "data.steps_per_quarter" not in self.settings:
            steps = BENCHMARK_STEPS_PER_QUARTER.get(self.data_source or self.settings.get("data_source") or "")
        config = replace_section(config, "data", steps_per_quarter=steps, out_of_range=self.out_of_range, key=self.key)
        changes = {"data_source": self.data_source, "seed": self.seed}
        return dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})

    def apply(self, config: RunConfig) -> RunConfig:
        """Returns: `config` with every setting given here (the family is chosen before, by
        family_config: a family changes defaults, not single fields)."""
        config = self.data_and_seed(config)
        config = replace_section(config, "model", n_hidden=self.n_hidden, n_recurrent=self.n_recurrent)
        config = replace_section(config, "pretrain", **self.pretrain)
        return replace_section(config, "train", **self.train)

    def given_train(self) -> dict[str, Any]:
        """Returns: the training settings actually given, by --config, --set or a flag (None
        dropped). Raises UserError where --config or --set changes another section (for a
        resumed run, whose other settings are fixed)."""
        given = {}
        for key, value in self.settings.items():
            section, _, name = key.rpartition(".")
            if section != "train":
                raise UserError(f"--set {key}: a resumed run keeps its settings but training's; "
                                "drop it, or start a new run")
            given[name] = value
        return {**given, **{k: v for k, v in self.train.items() if v is not None}}


def read_settings(config_file: str | None, changes: list[str]) -> dict[str, Any]:
    """Reads --config FILE (a JSON object laid out as a run's config.json, any part of it)
    and --set SECTION.FIELD=VALUE changes (a value read as JSON where it parses: numbers,
    true/false, lists; else as text), the latter winning.

    Returns: {"section.field" or "seed"/"data_source": value}, checked against RunConfig.
    Raises UserError for an unreadable file, a malformed change or an unknown setting.
    """
    flat: dict[str, Any] = {}
    if config_file is not None:
        try:
            raw = json.loads(open(config_file, encoding="utf-8").read())
        except (OSError, ValueError) as exc:
            raise UserError(f"--config {config_file}: not a readable JSON file ({exc})") from None
        if not isinstance(raw, dict):
            raise UserError(f"--config {config_file}: expected a JSON object laid out as a run's config.json")
        raw.pop("format_version", None)
        for key, value in raw.items():
            if isinstance(value, dict):
                flat.update({f"{key}.{name}": v for name, v in value.items()})
            else:
                flat[key] = value
    for change in changes:
        key, equals, text = change.partition("=")
        if not equals or not key:
            raise UserError(f"--set {change}: expected SECTION.FIELD=VALUE, e.g. train.learning_rate=0.001")
        try:
            flat[key] = json.loads(text)
        except ValueError:
            flat[key] = text
    apply_settings(RunConfig(), flat)  # names and types checked now, before any work
    return flat


def apply_settings(config: RunConfig, settings: dict[str, Any]) -> RunConfig:
    """Returns: `config` with each "section.field" (or top-level field) of `settings` set. A
    whole number is taken for a field whose default is a float. Raises UserError naming an
    unknown setting or a value of the wrong type."""
    for key, value in settings.items():
        section, _, name = key.rpartition(".")
        holder = getattr(config, section) if section else config
        if (section and not (dataclasses.is_dataclass(holder) and section in _SECTIONS)) or name not in {
                f.name for f in dataclasses.fields(holder)} or name == "format_version" or (
                not section and name in _SECTIONS):
            raise UserError(f"no setting {key!r}; settings are SECTION.FIELD with SECTION one of "
                            f"{', '.join(_SECTIONS)} (see a run's config.json), or seed, data_source")
        current = getattr(holder, name)
        # A field declared `float | None` (None: not used) takes a number or null; a float field a whole number too.
        optional = _optional_float(holder, name)
        if optional and value is None:
            continue  # None is the default of such a field, as a run's own config.json writes it
        expected = float if optional else type(current)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not expected:
            raise UserError(f"{key}={json.dumps(value)}: expected {expected.__name__}, e.g. {current!r}")
        config = replace_section(config, section, **{name: value}) if section else dataclasses.replace(
            config, **{name: value})
    return config


def _optional_float(holder: Any, name: str) -> bool:
    """Returns: whether field `name` of dataclass `holder` is declared `float | None`."""
    return next(f.type for f in dataclasses.fields(holder) if f.name == name) == "float | None"


# --model NAME: the models (models/registry.py registers a class under each name) and what
# each changes in the defaults above. Models with an exact likelihood select best.ckpt by it:
# it costs one pass over the validation pieces and has no noise.
FAMILIES: dict[str, dict[str, dict[str, Any]]] = {
    # The RNN-RBM reads its own draws for a quarter of the frames in training: trained on the
    # true past alone, its pieces sank into dense clusters when left to run; with 0.25 they
    # keep Bach's density and held notes to the end, at a lower accuracy given the true past
    # (experiments/2026-12-long-pieces.md).
    "rnn_rbm": {"train": {"scheduled_sampling": 0.25}},
    # The RNN-NADE's gradient keeps a hidden layer per pitch of every frame (53 KB a frame at
    # 88 x 150): a step takes at most 1,024 frames at once (benchmarks/step_memory.py). At
    # 2,048, JSB's run peaked at 2.10 GB, 1,834 MiB in training alone (3 epochs: 1,417 MiB at
    # 1,024, the same figures, training 7 % slower; docs/evaluation.md).
    "rnn_nade": {"train": {"select_metric": "valid_nll", "learning_rate": 0.001, "select_min_delta": 0.0,
                           "max_batch_frames": 1024}},
    # The LSTM: a wider initialisation and a higher rate than the RNNs' (from theirs it learns
    # three times slower on JSB), and dropout, without which it overfits JSB within 20 epochs
    # (experiments/2026-12-table1-presets.md).
    "lstm": {"model": {"n_recurrent": 200, "init_std": 0.08, "dropout": 0.3},
             "train": {"select_metric": "valid_nll", "learning_rate": 0.003, "select_min_delta": 0.0}},
    # The paper's RNN: the RNN-RBM's sizes and start, trained and selected by its exact likelihood.
    "rnn": {"train": {"select_metric": "valid_nll", "select_min_delta": 0.0}},
    # The token models: each popular recipe's published settings (docs/models.md), trained on
    # whole pieces with a loss at every token, validated every epoch by the exact likelihood
    # (seconds on Bach, experiments/2026-12-token-recipes.md).
    "note_lstm": {"model": {"n_recurrent": 512, "layers": 3, "dense_units": 256, "dropout": 0.3,
                            "init_std": 0.05},
                  "tokens": {"representation": "note_words", "primer_tokens": 100},
                  "train": {"select_metric": "valid_nll", "optimizer": "rmsprop", "learning_rate": 0.001,
                            "select_min_delta": 0.0, "validate_every": 1}},
    "melody_lstm": {"model": {"n_recurrent": 64, "layers": 2, "dropout": 0.2, "init_std": 0.1},
                    "tokens": {"representation": "melody", "primer_tokens": 20},
                    "train": {"select_metric": "valid_nll", "learning_rate": 0.001, "select_min_delta": 0.0,
                              "validate_every": 1}},
    "event_lstm": {"model": {"n_recurrent": 128, "layers": 1, "init_std": 0.1},
                   "tokens": {"representation": "midi_events", "primer_tokens": 64},
                   "train": {"select_metric": "valid_nll", "optimizer": "rmsprop", "learning_rate": 0.001,
                             "select_min_delta": 0.0, "validate_every": 1}},
    # Transcription's acoustic model (models/acoustic.py: why these sizes): two hidden layers of
    # 256 units, the width of Nam et al. (2011), with a little dropout; selected by the notes'
    # cross-entropy on the valid split's audio, validated every epoch (a pass over the frames),
    # sequences of 256 audio frames, 16 a batch; it draws no pictures.
    "acoustic": {"model": {"n_hidden": 256, "layers": 2, "dropout": 0.2, "init_std": 0.05},
                 "train": {"select_metric": "valid_nll", "learning_rate": 0.001, "select_min_delta": 0.0,
                           "validate_every": 1, "image_every": 0, "early_stop_patience": 5,
                           "lr_schedule": "plateau", "lr_plateau_patience": 2}},
}


def family_config(family: str, config: RunConfig | None = None) -> RunConfig:
    """Returns: `config` (default RunConfig()) as model `family` starts it: its name in
    model.family and its own defaults. Raises UserError for an unknown name."""
    if family not in FAMILIES:
        raise UserError(f"unknown model {family!r}; the models are {', '.join(FAMILIES)}")
    config = replace_section(config or RunConfig(), "model", family=family)
    for section, changes in FAMILIES[family].items():
        config = replace_section(config, section, **changes)
    return config


@dataclass(frozen=True)
class Preset:
    """Recommended settings for one benchmark data set of the paper (benchmarks/table1.py);
    data_source is filled in with the data file's path."""

    run: RunConfig
    epochs: int  # at most; early stopping on valid_nll usually ends sooner


def _benchmark(dataset: str, pretrain_epochs: int, epochs: int, family: str = "rnn_rbm",
               rnn_epochs: int = 0, rnn_learning_rate: float = 0.0, model: dict[str, Any] | None = None,
               evaluate: dict[str, Any] | None = None, **train: Any) -> Preset:
    frames = DataConfig(steps_per_quarter=BENCHMARK_STEPS_PER_QUARTER[dataset])
    run = family_config(family, RunConfig(data_source=dataset, data=frames,
                                          pretrain=PretrainConfig(epochs=pretrain_epochs, rnn_epochs=rnn_epochs,
                                                                  rnn_learning_rate=rnn_learning_rate)))
    run = replace_section(replace_section(run, "model", **(model or {})), "evaluate", **(evaluate or {}))
    return Preset(replace_section(run, "train", lr_schedule="plateau", **train), epochs)


# How the benchmark settings were chosen, change by change with the figures of the day:
# experiments/2026-12-table1-presets.md, 2026-12-rnn-rbm-jsb.md and 2026-12-nottingham.md.
# The RNN-RBM: a long RBM pretraining on JSB, a short one on Nottingham (on its few distinct
# frames a long one makes the RBM so sharp that CD's chains, started at the data, hardly
# move); CD chains from the true frame, as in the paper; the RNN pretrained alone with
# independent outputs, as the paper starts it; on Nottingham CD-25 and a smaller step after
# that RNN stage. Selection needs differences beyond the validation figure's own noise
# (experiments/2026-12-validation-noise.md), far larger on JSB, where the chains find a real
# part of Z outside the training frames, than on Nottingham, where nearly all of it is the
# exactly summed training frames.
# Table 1 measures each frame given the true past: the RNN-RBM is trained on the true past alone
# (no scheduled sampling) and selected by its likelihood.
_RNN_RBM = dict(negative_start="data", select_metric="valid_nll", scheduled_sampling=0.0, validate_every=5,
                early_stop_patience=4, lr_plateau_patience=2, select_min_delta=0.012)
_NOTTINGHAM_RNN_RBM = {**_RNN_RBM, "validate_every": 10, "select_min_delta": 0.001, "learning_rate": 0.0003,
                       "cd_k": 25}
# Models with an exact likelihood validate every epoch: it is one pass over the pieces.
_EXACT = dict(validate_every=1, early_stop_patience=8, lr_plateau_patience=3, clip_norm=1.0)
PRESETS: dict[str, dict[str, Preset]] = {
    "rnn_rbm": {"jsb": _benchmark("jsb", pretrain_epochs=100, epochs=100, rnn_epochs=40, **_RNN_RBM),
                "nottingham": _benchmark("nottingham", pretrain_epochs=10, epochs=100, rnn_epochs=200, rnn_learning_rate=0.001,
                                         **_NOTTINGHAM_RNN_RBM),
                # Piano-midi.de, from what JSB and Nottingham taught, not yet searched on its
                # validation split: the RNN stage long and at Nottingham's rate, a moderate RBM
                # pretraining (its 75,911 training frames are mostly distinct, unlike Nottingham's),
                # CD at Nottingham's smaller step, four pieces a batch (22 updates an epoch, not 6),
                # and validation every 10 epochs: JSB's settings on this set spent 1,044 of their
                # 1,393 s in validation's AIS.
                "piano_midi": _benchmark("piano_midi", pretrain_epochs=20, epochs=100, rnn_epochs=100,
                                         rnn_learning_rate=0.001,
                                         **{**_RNN_RBM, "validate_every": 10, "learning_rate": 0.0003,
                                            "batch_size": 4}),
                # MuseData, from Piano-midi.de's, not yet searched on its validation split: 3.2
                # times its training frames (131 updates an epoch at four pieces), so a shorter
                # RBM and RNN pretraining; its 39,289 distinct training frames capped at the
                # 10,000 most frequent in every Z's exact sum, and 16 of its 135 validation
                # pieces, so that validation and evaluation fit the 90 minutes. At 100 epochs
                # (-6.033, the target -6.01) the best was the last, validation still falling
                # 0.02-0.04 every 10 epochs: 150.
                "musedata": _benchmark("musedata", pretrain_epochs=10, epochs=150, rnn_epochs=40,
                                       rnn_learning_rate=0.001,
                                       evaluate={"ais_known_frames": 10000, "valid_pieces": 16},
                                       **{**_RNN_RBM, "validate_every": 10, "learning_rate": 0.0003,
                                          "batch_size": 4})},
    "rnn_nade": {"jsb": _benchmark("jsb", pretrain_epochs=30, epochs=150, family="rnn_nade", **_EXACT),
                 # Nottingham has 10 times JSB's frames: as many updates in far fewer epochs.
                 "nottingham": _benchmark("nottingham", pretrain_epochs=30, epochs=60, family="rnn_nade", **_EXACT),
                 # Piano-midi.de: 87 long pieces, 5.5 times JSB's frames. Four pieces a batch give 22
                 # updates an epoch instead of 6 at the cost of a little more recurrence (the NADE's
                 # work is per frame either way), and a shorter NADE pretraining: each of its epochs
                 # has 5.5 times JSB's frames. At 60 epochs (15 min 40 s) the best was the 59th, the
                 # validation figure still falling: 150, within the 45 minutes.
                 "piano_midi": _benchmark("piano_midi", pretrain_epochs=10, epochs=150, family="rnn_nade",
                                          **{**_EXACT, "batch_size": 4}),
                 # MuseData: Piano-midi.de's, not yet searched on its validation split, with 3.2
                 # times its training frames an epoch (131 updates, not 22): a shorter NADE
                 # pretraining, and 40 epochs, three times the updates of Piano-midi.de's best.
                 "musedata": _benchmark("musedata", pretrain_epochs=4, epochs=40, family="rnn_nade",
                                        **{**_EXACT, "batch_size": 4})},
    "lstm": {"jsb": _benchmark("jsb", pretrain_epochs=0, epochs=150, family="lstm", **_EXACT),
             "nottingham": _benchmark("nottingham", pretrain_epochs=0, epochs=150, family="lstm", **_EXACT),
             # Piano-midi.de's long pieces: a wider LSTM with less dropout than JSB's (chosen on
             # validation, experiments/2026-12-piano-midi-lstm.md).
             "piano_midi": _benchmark("piano_midi", pretrain_epochs=0, epochs=150, family="lstm",
                                      model={"n_recurrent": 400, "dropout": 0.1}, **_EXACT),
             # MuseData: classical scores of many voices, like Piano-midi.de's, in 524 pieces half
             # as long; Piano-midi.de's LSTM as it is, not yet searched on MuseData's validation.
             "musedata": _benchmark("musedata", pretrain_epochs=0, epochs=150, family="lstm",
                                    model={"n_recurrent": 400, "dropout": 0.1}, **_EXACT)},
    "rnn": {"jsb": _benchmark("jsb", pretrain_epochs=0, epochs=150, family="rnn", **_EXACT),
            "nottingham": _benchmark("nottingham", pretrain_epochs=0, epochs=150, family="rnn", **_EXACT)},
}


def preset(family: str, dataset: str) -> Preset:
    """Returns: the recommended settings of model `family` on the benchmark `dataset` (a
    packaged set's name, or a JSON file's path); for a data set without its own, those of
    JSB with that set's frame length (its frames come as they are; it sets only the length
    of a frame in the MIDI written), reading `dataset`."""
    named = PRESETS[family]
    if dataset in named:
        return named[dataset]
    generic = named["jsb"]
    frames = BENCHMARK_STEPS_PER_QUARTER.get(dataset, DataConfig().steps_per_quarter)
    return Preset(dataclasses.replace(replace_section(generic.run, "data", steps_per_quarter=frames),
                                      data_source=dataset), generic.epochs)