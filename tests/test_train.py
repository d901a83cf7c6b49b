import json

import numpy as np
import tensorflow as tf

from rnn_rbm import checkpoint
from rnn_rbm.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from rnn_rbm.data import Dataset
from rnn_rbm.model import RnnRbm
from rnn_rbm.train import TrainState, train


def tiny_run(tmp_path, valid: bool):
    config = RunConfig(data=DataConfig(num_pitches=10), model=ModelConfig(n_hidden=6, n_recurrent=4),
                       train=TrainConfig(cd_k=2, batch_size=2, monitor_gibbs_steps=3, checkpoint_every=2))
    rng = np.random.default_rng(0)
    rolls = [(rng.random((n, 10)) < 0.3).astype(np.float32) for n in (5, 9, 7)]
    dataset = Dataset("tiny", rolls, rolls[:1] if valid else [])
    tf_rng = tf.random.Generator.from_seed(0)
    model = RnnRbm.from_config(config, tf_rng)
    state = TrainState(model, tf.keras.optimizers.Adam(0.01), tf_rng, tf.Variable(0, dtype=tf.int64))
    before = [v.numpy().copy() for v in model.trainable_variables]
    history = train(state, dataset, config, 3, tmp_path, np.random.default_rng(1), progress=False)
    return config, model, before, history


def test_train_updates_every_parameter_and_writes_checkpoints(tmp_path):
    config, model, before, history = tiny_run(tmp_path, valid=True)
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert all(0.0 <= h["valid_acc"] <= 1.0 and np.isfinite(h["cost"]) for h in history)
    for old, new in zip(before, model.trainable_variables):
        assert not np.array_equal(old, new.numpy()), new.name
    # Every second epoch and the last one.
    assert checkpoint.exists(tmp_path / "epoch_2.ckpt") and checkpoint.exists(tmp_path / "epoch_3.ckpt")
    assert not checkpoint.exists(tmp_path / "epoch_1.ckpt")
    assert checkpoint.load_config(tmp_path / "epoch_3.ckpt") == config
    restored = RnnRbm.from_config(config, tf.random.Generator.from_seed(5))
    checkpoint.restore(tmp_path / "epoch_3.ckpt", model=restored)
    np.testing.assert_array_equal(restored.Wuu.numpy(), model.Wuu.numpy())


def test_no_validation_pieces_is_recorded_as_null(tmp_path):
    _, _, _, history = tiny_run(tmp_path, valid=False)
    assert all(np.isnan(h["valid_acc"]) for h in history)
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").open()]
    assert [line["valid_acc"] for line in lines] == [None, None, None]
