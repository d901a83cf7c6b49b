import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf

from rnn_rbm.config import ModelConfig, RunConfig
from rnn_rbm.engine import checkpoint
from rnn_rbm.errors import UserError
from rnn_rbm.models.rnn_rbm import RnnRbm


def small_config(**model) -> RunConfig:
    return RunConfig(data_source="somewhere", model=ModelConfig(n_hidden=6, n_recurrent=4, **model), seed=3)


def test_round_trip_of_weights_and_config(tmp_path):
    config = small_config()
    model = RnnRbm.from_config(config, tf.random.Generator.from_seed(1))
    prefix = checkpoint.save(tmp_path / "epoch_3.ckpt", config, model=model)
    assert checkpoint.exists(prefix)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config.json", "epoch_3.ckpt.data-00000-of-00001", "epoch_3.ckpt.index"]
    assert checkpoint.load_config(prefix) == config
    assert RunConfig.from_json((tmp_path / "config.json").read_text()) == config
    other = RnnRbm.from_config(config, tf.random.Generator.from_seed(2))
    checkpoint.restore(prefix, model=other)
    for a, b in zip(model.trainable_variables, other.trainable_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_missing_checkpoint_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no checkpoint at"):
        checkpoint.load_config(tmp_path / "epoch_9.ckpt")
    with pytest.raises(UserError, match="without .index"):
        checkpoint.load_config(tmp_path / "epoch_9.ckpt.index")


def test_mismatched_model_is_a_user_error(tmp_path):
    config = small_config()
    checkpoint.save(tmp_path / "a.ckpt", config, model=RnnRbm.from_config(config, tf.random.Generator.from_seed(1)))
    bigger = dataclasses.replace(config, model=ModelConfig(n_hidden=9, n_recurrent=4))
    with pytest.raises(UserError, match="does not match"):
        checkpoint.restore(tmp_path / "a.ckpt", model=RnnRbm.from_config(bigger, tf.random.Generator.from_seed(1)))


def test_overwriting_keeps_a_complete_checkpoint(tmp_path):
    config = small_config()
    model = RnnRbm.from_config(config, tf.random.Generator.from_seed(1))
    checkpoint.save(tmp_path / "a.ckpt", config, model=model)
    model.W.assign(model.W + 1.0)
    checkpoint.save(tmp_path / "a.ckpt", config, model=model)
    restored = RnnRbm.from_config(config, tf.random.Generator.from_seed(9))
    checkpoint.restore(tmp_path / "a.ckpt", model=restored)
    np.testing.assert_array_equal(restored.W.numpy(), model.W.numpy())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_config_json_rejects_unknown_keys():
    raw = json.loads(RunConfig().to_json())
    raw["train"]["learning_rat"] = 0.1
    with pytest.raises(UserError, match="learning_rat"):
        RunConfig.from_json(json.dumps(raw))


def test_a_folder_names_its_published_model_or_its_best_checkpoint(tmp_path):
    import tensorflow as tf

    config = small_config()
    model = RnnRbm.from_config(config, tf.random.Generator.from_seed(1))
    optimizer = tf.keras.optimizers.Adam(0.01)
    optimizer.build(model.trainable_variables)
    run = tmp_path / "run"
    checkpoint.save(run / "best.ckpt", config, model=model, optimizer=optimizer)
    assert checkpoint.resolve(run) == run / "best.ckpt" and checkpoint.load_config(run) == config
    published = checkpoint.export(run, tmp_path / "pretrained" / checkpoint.MODEL_CHECKPOINT)
    assert checkpoint.resolve(tmp_path / "pretrained") == published
    held = {name for name, _ in tf.train.list_variables(str(published))}
    assert not any(name.startswith("optimizer") for name in held)  # weights and settings only
    other = RnnRbm.from_config(config, tf.random.Generator.from_seed(2))
    checkpoint.restore(tmp_path / "pretrained", model=other)
    for a, b in zip(model.trainable_variables, other.trainable_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(UserError, match="no checkpoint at"):
        checkpoint.load_config(tmp_path / "empty_folder")
