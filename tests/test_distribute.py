"""A training step mirrored on two devices against the same step on one.

The two logical CPU devices must be set before TensorFlow starts, hence a fresh
Python process: the rest of the test session keeps its single device.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnn_rbm.engine.distribute import make_strategy
from rnn_rbm.errors import UserError

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import dataclasses
import json
import sys
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from rnn_rbm.engine import distribute
from rnn_rbm.config import DataConfig, ModelConfig, RunConfig, TrainConfig, family_config, replace_section
from rnn_rbm.data.dataset import pad_batch
from rnn_rbm.engine.trainer import TrainState, make_train_step

config = family_config(sys.argv[1], RunConfig(
    data=DataConfig(num_pitches=10), model=ModelConfig(n_hidden=6, n_recurrent=4),
    train=TrainConfig(cd_k=3, batch_size=5, negative_start="zeros")))
# Scheduled sampling's draws are each replica's own (README, "Several GPUs or machines").
config = replace_section(config, "train", scheduled_sampling=0.0)
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


@pytest.mark.parametrize("family", ["rnn_rbm", "rnn_nade", "lstm"])
def test_mirrored_step_gives_the_single_device_update(family):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-c", SCRIPT, family], env=env, capture_output=True, text=True,
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
    # ...and the comparison is sharp enough to see a different draw (or initialisation).
    assert not np.allclose(other["costs"], single["costs"], rtol=1e-5, atol=1e-6)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def train_command(folder: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, str(ROOT / "rnn_rbm_train.py"), "2", "--data", str(folder), "--checkpoint_dir", str(out),
            "--n_hidden", "8", "--n_recurrent", "6", "--cd_k", "2", "--batch_size", "4", "--validate_every", "2",
            "--workers", "1", "--scheduled_sampling", "0", *extra]


@pytest.mark.parametrize("family", ["rnn_rbm", "lstm"])
def test_two_worker_processes_reach_the_weights_of_one(family, midi_folder, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), RNN_RBM_CACHE=str(tmp_path / "cache"))
    single = subprocess.run(train_command(midi_folder, tmp_path / "single", "--model", family), env=env,
                            capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    workers = [subprocess.Popen(train_command(midi_folder, tmp_path / "cluster", "--model", family, "--strategy",
                                              "multiworker"),
                                env=dict(env, TF_CONFIG=json.dumps({"cluster": cluster,
                                                                    "task": {"type": "worker", "index": i}})),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(2)]
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err
        assert "each batch split between 2 replicas" in err
    import tensorflow as tf

    one = tf.train.load_checkpoint(str(tmp_path / "single" / "epoch_2.ckpt"))
    two = tf.train.load_checkpoint(str(tmp_path / "cluster" / "epoch_2.ckpt"))
    names = [n for n in one.get_variable_to_shape_map() if n.startswith("model/") and "OPTIMIZER" not in n]
    assert len(names) >= 5
    for name in names:
        np.testing.assert_allclose(two.get_tensor(name), one.get_tensor(name), rtol=1e-4, atol=1e-5)
    # Only the chief wrote into the folder.
    assert sorted(p.name for p in (tmp_path / "cluster").glob("epoch_*.ckpt.index")) == ["epoch_2.ckpt.index"]


def test_multiworker_without_tf_config_is_one_clear_message(midi_folder, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    done = subprocess.run(train_command(midi_folder, tmp_path / "out", "--strategy", "multiworker"),
                          env=dict(env, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: --strategy multiworker reads the cluster")


def test_unknown_strategy_is_a_user_error():
    assert make_strategy("none") is None
    with pytest.raises(UserError, match="--strategy"):
        make_strategy("tpu")
