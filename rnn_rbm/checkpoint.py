"""TensorFlow checkpoints that carry their own config and are never half-written.

A checkpoint is a TensorFlow prefix such as `parameter_checkpoints/epoch_20.ckpt`
(files `epoch_20.ckpt.index` and `epoch_20.ckpt.data-*`). The run's RunConfig
is stored inside it, so a checkpoint always knows the model it holds, and is
also written as `config.json` in the same folder for people to read.

Writing goes to a temporary folder first; the data files are then renamed into
place and the index last, so an interrupted write leaves any earlier checkpoint
of the folder intact and never an index pointing at missing data.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import tensorflow as tf

from rnn_rbm.config import RunConfig
from rnn_rbm.errors import UserError

CONFIG_KEY = "config/.ATTRIBUTES/VARIABLE_VALUE"


def exists(prefix: str | Path) -> bool:
    """Returns: whether a complete checkpoint is at `prefix` (its index file is there)."""
    return Path(f"{prefix}.index").is_file()


def save(prefix: str | Path, config: RunConfig, **trackables: object) -> Path:
    """Writes `trackables` (the model, optimizer, RNG...) and `config` at `prefix`, atomically.

    Returns: the prefix written, as a Path.
    """
    prefix = Path(prefix)
    folder = prefix.parent
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f".{prefix.name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    checkpoint = tf.train.Checkpoint(config=tf.Variable(config.to_json(), dtype=tf.string), **trackables)
    written = Path(checkpoint.write(str(staging / "ckpt")))
    files = sorted(staging.iterdir(), key=lambda p: p.name.endswith(".index"))  # index last
    for path in files:
        os.replace(path, folder / (prefix.name + path.name[len(written.name):]))
    staging.rmdir()
    _write_text_atomic(folder / "config.json", config.to_json() + "\n")
    return prefix


def load_config(prefix: str | Path) -> RunConfig:
    """Reads the RunConfig stored in a checkpoint.

    Returns: the RunConfig. Raises UserError when there is no readable checkpoint at `prefix`.
    """
    reader = _reader(prefix)
    if not reader.has_tensor(CONFIG_KEY):
        raise UserError(f"{prefix}: not a checkpoint of this project (it holds no config)")
    return RunConfig.from_json(reader.get_tensor(CONFIG_KEY).decode())


def restore(prefix: str | Path, **trackables: object) -> None:
    """Loads the given trackables from the checkpoint at `prefix`; parts of the checkpoint
    not asked for (e.g. the optimizer when generating) are ignored.

    Raises UserError when a variable is missing or its shape differs.
    """
    _reader(prefix)
    checkpoint = tf.train.Checkpoint(**trackables)
    try:
        status = checkpoint.read(str(prefix))
        status.expect_partial()
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.InvalidArgumentError) as exc:
        raise UserError(f"{prefix}: does not match the model of its config ({_first_line(exc)})") from None


def _reader(prefix: str | Path) -> tf.train.CheckpointReader:
    if not exists(prefix):
        hint = " (give the prefix, without .index)" if str(prefix).endswith(".index") else ""
        raise UserError(f"no checkpoint at {prefix}{hint}; train one with rnn_rbm_train.py, "
                        "or list parameter_checkpoints/ for the ones there are")
    try:
        return tf.train.load_checkpoint(str(prefix))
    except (tf.errors.OpError, ValueError) as exc:
        raise UserError(f"{prefix}: unreadable checkpoint ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
