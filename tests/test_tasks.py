"""The tasks behind the entry points, called as a library would: settings in, results out,
nothing printed."""

from __future__ import annotations

import math

import numpy as np
import pretty_midi
import tensorflow as tf

from rnn_rbm.config import GenerateConfig, Overrides
from rnn_rbm.data.dataset import Loading
from rnn_rbm.engine import checkpoint
from rnn_rbm.models import registry
from rnn_rbm.tasks.evaluate import evaluate_task
from rnn_rbm.tasks.generate import GenerateRequest, generate_task
from rnn_rbm.tasks.pretrain import pretrain_task
from rnn_rbm.tasks.train import TrainRequest, train_task

TINY = dict(n_hidden=12, n_recurrent=6)


def test_pretrain_train_generate_evaluate_as_functions(midi_folder, tmp_path, capsys):
    loading = Loading(cache_dir=tmp_path / "cache", workers=1, progress=False)
    runs = tmp_path / "runs"
    overrides = Overrides(data_source=str(midi_folder), family="rnn_nade", seed=3, **TINY,
                          pretrain={"epochs": 1, "rnn_epochs": 2})
    initial = pretrain_task(overrides, runs, loading)
    held = checkpoint.load_config(initial)
    assert held.model.family == "rnn_nade" and held.pretrain.rnn_epochs == 2
    # The RNN was pretrained: its weights left their random start.
    fresh, pretrained = (registry.build(held, tf.random.Generator.from_seed(held.seed)) for _ in range(2))
    checkpoint.restore(initial, model=pretrained)
    assert not np.allclose(fresh.Wuu.numpy(), pretrained.Wuu.numpy())

    train = {"validate_every": 1, "batch_size": 4}
    newest = train_task(TrainRequest(2, runs, Overrides(train=train)), loading)
    assert newest == runs / "epoch_2.ckpt" and checkpoint.progress(newest)[0] == 2
    config = checkpoint.load_config(newest)
    assert (config.model.n_hidden, config.train.batch_size) == (12, 4)  # from initial.ckpt and the request
    # A resumed run already at its epoch trains nothing and says where it is.
    assert train_task(TrainRequest(2, runs, resume=True), loading) == newest

    settings = GenerateConfig(num_samples=2, num_steps=8)
    request = GenerateRequest(newest, tmp_path / "results", settings, seed=5)
    first, again = generate_task(request, progress=False), generate_task(request, progress=False)
    assert first.seed == 5 and first.page.name == "index.html"
    assert [f.midi.exists() for f in first.files] == [True, True]
    rolls = [pretty_midi.PrettyMIDI(str(f.midi)).get_piano_roll(fs=4) for f in (first.files[0], again.files[0])]
    assert np.array_equal(*rolls)  # the same seed, the same piece
    assert first.files[0].midi != again.files[0].midi  # and no run overwrites another

    measured = evaluate_task(newest, "valid", Overrides(), {"acc_draws": 2}, loading)
    assert measured.exact and measured.evaluation.frames > 0
    assert math.isfinite(measured.evaluation.nll) and 0.0 <= measured.evaluation.accuracy.expected <= 1.0
    assert capsys.readouterr().out == ""
