"""Real training processes stopped by Ctrl-C and killed outright, then resumed: they must end
with exactly the weights of a run never interrupted."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from rnn_rbm.engine import checkpoint

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = "16"
FLAGS = ["--n_hidden", "16", "--n_recurrent", "8", "--cd_k", "2", "--batch_size", "1",
         "--checkpoint_every", "1", "--keep_last", "2"]


def command(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "rnn_rbm_train.py"), *args]


def environment(folder: Path) -> dict:
    return dict(os.environ, RNN_RBM_CACHE=str(folder / "cache"), PYTHONPATH=str(ROOT))


def train_to_end(folder: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(command(EPOCHS, *args), cwd=folder, env=environment(folder), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def start(folder: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(command(EPOCHS, *args), cwd=folder, env=environment(folder),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


def wait_for(process: subprocess.Popen, text: str) -> list[str]:
    lines = []
    for line in process.stderr:
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"{text!r} never came:\n{''.join(lines)}")


def model_weights(prefix: Path) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(str(prefix))
    return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map() if k.startswith("model/")}


def test_ctrl_c_then_kill_then_resume_equals_an_unbroken_run(midi_folder, tmp_path):
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    straight.mkdir(), broken.mkdir()
    train_to_end(straight, "--data", str(midi_folder), *FLAGS)

    # Ctrl-C in the middle of epoch 3: a checkpoint of that moment, exit 130, no traceback.
    process = start(broken, "--data", str(midi_folder), *FLAGS)
    wait_for(process, "epoch 2/")
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    rest = process.stderr.read()
    assert process.wait(timeout=60) == 130, rest
    assert "saved" in rest and "--resume" in rest and "Traceback" not in rest
    checkpoints = broken / "parameter_checkpoints"
    assert checkpoint.progress(checkpoint.newest(checkpoints))[0] >= 2

    # SIGKILL at random moments, often while a checkpoint is being written: the newest
    # complete checkpoint always loads, and --resume goes on from it.
    rng = random.Random(3)
    for _ in range(3):
        process = start(broken, "--resume")
        wait_for(process, "saved")
        time.sleep(rng.uniform(0.0, 0.3))
        process.kill()
        process.wait(timeout=60)
        newest = checkpoint.newest(checkpoints)
        assert newest is not None and len(model_weights(newest)) == 8  # W, bv, bh, Wuv, Wuh, Wvu, Wuu, bu

    train_to_end(broken, "--resume")
    expected = model_weights(straight / "parameter_checkpoints" / f"epoch_{EPOCHS}.ckpt")
    got = model_weights(checkpoints / f"epoch_{EPOCHS}.ckpt")
    for name, value in expected.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)
    assert len(checkpoint.epoch_checkpoints(checkpoints)) == 2  # --keep_last 2
    assert not list(checkpoints.glob(".*.tmp"))  # what killed writes left was cleared
