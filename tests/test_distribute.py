"""A training step mirrored on two devices against the same step on one.

The two logical CPU devices must be set before TensorFlow starts, hence a fresh
Python process: the rest of the test session keeps its single device.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnn_rbm.distribute import make_strategy
from rnn_rbm.errors import UserError

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import dataclasses
import json
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from rnn_rbm import distribute
from rnn_rbm.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from rnn_rbm.data import pad_batch
from rnn_rbm.train import TrainState, make_train_step

config = RunConfig(data=DataConfig(num_pitches=10), model=ModelConfig(n_hidden=6, n_recurrent=4),
                   train=TrainConfig(cd_k=3, batch_size=5, negative_start="zeros"))
rng = np.random.default_rng(0)
v, mask = pad_batch([(rng.random((n, 10)) < 0.3).astype(np.float32) for n in (5, 9, 7, 3, 11)])


def run(strategy, seed):
    state = TrainState.create(dataclasses.replace(config, seed=seed))
    state = distribute.replicate(state, config, strategy)
    step = make_train_step(state, config)
    costs = [float(x) for x in step(v, mask)]
    return {"costs": costs, "variables": [x.numpy().tolist() for x in state.model.trainable_variables]}


mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
print(json.dumps({"replicas": mirrored.num_replicas_in_sync, "single": run(None, 3),
                  "mirrored": run(mirrored, 3), "other_seed": run(None, 4)}))
"""


def test_mirrored_step_gives_the_single_device_update():
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["replicas"] == 2
    single, mirrored, other = result["single"], result["mirrored"], result["other_seed"]
    # Same draws (the replicas' chains use the rows of the random stream the whole batch
    # would give them), so the cost, gradient norm and updated weights agree.
    np.testing.assert_allclose(mirrored["costs"], single["costs"], rtol=1e-5, atol=1e-6)
    for got, expected in zip(mirrored["variables"], single["variables"]):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # ...and the comparison is sharp enough to see a different draw.
    assert not np.allclose(other["costs"], single["costs"], rtol=1e-5, atol=1e-6)


def test_unknown_strategy_is_a_user_error():
    assert make_strategy("none") is None
    with pytest.raises(UserError, match="--strategy"):
        make_strategy("tpu")
