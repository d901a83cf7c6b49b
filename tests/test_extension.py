"""A model is one file: a toy model written to a temporary module, outside the package, joins
through the registry alone and goes through training, generation and evaluation by the
commands' own tasks, with no file of the package edited (docs/architecture.md, "Adding a model")."""

from __future__ import annotations

import importlib
import math
import sys

import pretty_midi
import pytest

from rnn_rbm.config import FAMILIES, GenerateConfig, Overrides, family_config
from rnn_rbm.data.dataset import Loading
from rnn_rbm.engine import checkpoint
from rnn_rbm.models import registry
from rnn_rbm.tasks.evaluate import evaluate_task
from rnn_rbm.tasks.generate import GenerateRequest, generate_task
from rnn_rbm.tasks.train import TrainRequest, train_task

# The smallest model there is: every pitch independent, with a learnt bias and no memory.
TOY = '''
"""Independent pitches: p(v_i(t) = 1) = sigmoid(b_i), whatever came before."""

import tensorflow as tf

from rnn_rbm.models.base import FrameModel
from rnn_rbm.ops import bernoulli


class Toy(FrameModel):
    FAMILY = "toy"
    DESCRIPTION = "independent pitches with a learnt bias"

    def __init__(self, n_visible):
        super().__init__(name="toy")
        self.b = tf.Variable(tf.zeros([n_visible]), name="b")

    @classmethod
    def from_config(cls, config, rng):
        return cls(config.data.num_pitches)

    @property
    def n_visible(self):
        return int(self.b.shape[0])

    @property
    def visible_bias(self):
        return self.b

    def initial_state(self, batch):
        return tf.zeros([batch, 1])

    def rnn_step(self, state, v):
        return state

    def contexts(self, v):
        return tf.zeros(tf.concat([tf.shape(v)[:2], [1]], axis=0))

    def final_state(self, v, state0=None):
        return self.initial_state(tf.shape(v)[0]) if state0 is None else state0

    def _logits(self, context):
        return self.b + 0.0 * context

    def frame_log_prob(self, v, context):
        return bernoulli.log_prob(v, self._logits(context))

    def draw(self, context, gibbs_steps, seed, temperature=1.0, held_mask=None, held_values=None):
        return bernoulli.draw(self._logits(context), seed, 0, temperature, held_mask, held_values)
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy model's module, written to tmp_path, imported and registered; unregistered after."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "toy_model.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(folder))
    module = importlib.import_module("toy_model")
    registry.register(module.Toy, {"train": {"select_metric": "valid_nll", "validate_every": 1}})
    yield module.Toy
    registry.unregister("toy")
    sys.modules.pop("toy_model", None)


def test_a_model_in_a_module_of_its_own_trains_generates_and_is_measured(toy, midi_folder, tmp_path):
    assert registry.model_class("toy") is toy and "toy" in FAMILIES
    assert family_config("toy").train.select_metric == "valid_nll"  # its defaults, given when it registered
    loading = Loading(cache_dir=tmp_path / "cache", workers=1, progress=False)
    runs = tmp_path / "runs"
    newest = train_task(TrainRequest(2, runs, Overrides(data_source=str(midi_folder), family="toy",
                                                       train={"batch_size": 4})), loading)
    assert newest == runs / "epoch_2.ckpt" and checkpoint.load_config(newest).model.family == "toy"
    assert checkpoint.exists(runs / "best.ckpt")  # selected by its exact likelihood

    settings = GenerateConfig(num_samples=2, num_steps=12)
    generated = generate_task(GenerateRequest(newest, tmp_path / "results", settings, seed=1), progress=False)
    assert len(generated.files) == 2 and generated.page.is_file()
    again = generate_task(GenerateRequest(newest, tmp_path / "again", settings, seed=1), progress=False)
    for first, second in zip(generated.files, again.files):
        roll = pretty_midi.PrettyMIDI(str(first.midi)).get_piano_roll(fs=8)
        assert (roll == pretty_midi.PrettyMIDI(str(second.midi)).get_piano_roll(fs=8)).all()  # same seed

    measured = evaluate_task(newest, "valid", Overrides(), {}, loading)
    figures = measured.figures()
    assert measured.exact and not measured.tokens and figures["exact"]
    assert math.isfinite(figures["nll"]) and 0 < figures["nll"] < -figures["uniform_ll"]
    assert 0 <= figures["acc"] <= 1 and figures["frames"] > 0


def test_registering_is_undone_and_a_taken_name_is_refused(toy):
    with pytest.raises(ValueError, match="registered already"):
        registry.register(toy)
    registry.unregister("toy")
    assert "toy" not in registry.MODELS and "toy" not in FAMILIES
    registry.unregister("rnn_rbm")  # the package's own models stay
    assert "rnn_rbm" in registry.MODELS and "rnn_rbm" in FAMILIES
