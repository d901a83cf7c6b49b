"""TensorFlow checkpoints that carry their own config and are never half-written.

A checkpoint is a TensorFlow prefix such as `parameter_checkpoints/epoch_20.ckpt`
(files `epoch_20.ckpt.index` and `epoch_20.ckpt.data-*`). The run's RunConfig
is stored inside it, so a checkpoint always knows the model it holds, and is
also written as `config.json` in the same folder for people to read.

Writing goes to a temporary folder first; the data files are then renamed into
place and the index last (after removing the index of any checkpoint of the same
name), so a write killed at any moment leaves every other checkpoint of the
folder intact and never an index pointing at missing or different data.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import tensorflow as tf

from rnn_rbm.config import RunConfig
from rnn_rbm.errors import UserError
from rnn_rbm.files import write_text_atomic

CONFIG_KEY = "config/.ATTRIBUTES/VARIABLE_VALUE"
# Where a training checkpoint says how far its run had got (train.Progress).
_EPOCH_KEY = "progress/epoch/.ATTRIBUTES/VARIABLE_VALUE"
_BATCH_KEY = "progress/batch/.ATTRIBUTES/VARIABLE_VALUE"
_EPOCH_NAME = re.compile(r"epoch_(\d+)\.ckpt")

# What weight_initializations.py writes and rnn_rbm_train.py starts from, in the checkpoint folder.
INITIAL_CHECKPOINT = "initial.ckpt"


# A published model (pretrained/<set>/<model>/) is a folder holding this checkpoint, its
# weights and settings only, beside the record of the run that made it.
MODEL_CHECKPOINT = "model.ckpt"


def resolve(prefix: str | Path) -> Path:
    """Returns: the checkpoint prefix `prefix` names: itself, or for a folder its
    model.ckpt (a published model) or else its best.ckpt (a training run's)."""
    prefix = Path(prefix)
    if prefix.is_dir():
        for name in (MODEL_CHECKPOINT, "best.ckpt"):
            if exists(prefix / name):
                return prefix / name
    return prefix


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
    _clear_abandoned(folder)
    staging = folder / f".{prefix.name}.{os.getpid()}.tmp"
    checkpoint = tf.train.Checkpoint(config=tf.Variable(config.to_json(), dtype=tf.string), **trackables)
    written = Path(checkpoint.write(str(staging / "ckpt")))
    # An old checkpoint of the same name loses its index first: killed in between, the
    # prefix is absent (earlier checkpoints stand), never an old index over new data.
    Path(f"{prefix}.index").unlink(missing_ok=True)
    files = sorted(staging.iterdir(), key=lambda p: p.name.endswith(".index"))  # index last
    for path in files:
        os.replace(path, folder / (prefix.name + path.name[len(written.name):]))
    staging.rmdir()
    write_text_atomic(folder / "config.json", config.to_json() + "\n")
    return prefix


def load_config(prefix: str | Path) -> RunConfig:
    """Reads the RunConfig stored in a checkpoint.

    Returns: the RunConfig. Raises UserError when there is no readable checkpoint at `prefix`.
    """
    reader = _reader(resolve(prefix))
    if not reader.has_tensor(CONFIG_KEY):
        raise UserError(f"{prefix}: not a checkpoint of this project (it holds no config)")
    return RunConfig.from_json(reader.get_tensor(CONFIG_KEY).decode())


def restore(prefix: str | Path, **trackables: object) -> None:
    """Loads the given trackables from the checkpoint at `prefix`; parts of the checkpoint
    not asked for (e.g. the optimizer when generating) are ignored.

    Raises UserError when a variable is missing or its shape differs.
    """
    prefix = resolve(prefix)
    _reader(prefix)
    checkpoint = tf.train.Checkpoint(**trackables)
    try:
        status = checkpoint.read(str(prefix))
        status.expect_partial()
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.InvalidArgumentError) as exc:
        raise UserError(f"{prefix}: does not match the model of its config ({_first_line(exc)})") from None


def export(prefix: str | Path, out_prefix: str | Path) -> Path:
    """Writes the model of checkpoint `prefix` to `out_prefix` with its settings and nothing
    else (no optimizer state, random state or progress): a published model.

    Returns: out_prefix, as a Path.
    """
    from rnn_rbm.models import registry

    config = load_config(prefix)
    model = registry.build(config, tf.random.Generator.from_seed(config.seed))
    restore(prefix, model=model)
    return save(out_prefix, config, model=model)


def remove(prefix: str | Path) -> None:
    """Deletes the checkpoint at `prefix`, index first, so that no index ever points at
    missing data."""
    prefix = Path(prefix)
    Path(f"{prefix}.index").unlink(missing_ok=True)
    for path in prefix.parent.glob(f"{prefix.name}.data-*"):
        path.unlink(missing_ok=True)


def epoch_checkpoints(folder: Path) -> dict[int, Path]:
    """Returns: {epoch: prefix} of the complete `epoch_<N>.ckpt` checkpoints in `folder`."""
    found = {}
    for index in Path(folder).glob("epoch_*.ckpt.index"):
        match = _EPOCH_NAME.fullmatch(index.name[:-len(".index")])
        if match:
            found[int(match.group(1))] = index.with_suffix("")
    return found


def progress(prefix: str | Path) -> tuple[int, int] | None:
    """Returns: (completed epochs, batches done in the next epoch) stored in a training
    checkpoint, or None for one without training state (e.g. initial.ckpt)."""
    reader = _reader(prefix)
    if not reader.has_tensor(_EPOCH_KEY):
        return None
    return int(reader.get_tensor(_EPOCH_KEY)), int(reader.get_tensor(_BATCH_KEY))


def newest(folder: Path) -> Path | None:
    """Returns: the complete training checkpoint in `folder` that got furthest (by epoch,
    then batch; epoch_<N>.ckpt rather than best.ckpt when they tie), or None when there is none."""
    best, best_progress = None, None
    for index in sorted(Path(folder).glob("*.ckpt.index")):
        prefix = index.with_suffix("")
        try:
            got = progress(prefix)
        except UserError:
            continue  # unreadable: the user sees it if they ask for that one by name
        if got is not None and (best_progress is None or got >= best_progress):
            best, best_progress = prefix, got
    return best


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


def _clear_abandoned(folder: Path) -> None:
    """Deletes temporary files and folders `.<name>.<pid>.tmp` whose writer is gone (killed
    mid-write); a live process's are left alone."""
    for path in folder.glob(".*.tmp"):
        pid = path.name.rsplit(".", 2)[-2]
        if pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
