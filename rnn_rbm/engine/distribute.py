"""Training on several devices or machines with tf.distribute (--strategy).

- "none": one device, the default.
- "mirrored": tf.distribute.MirroredStrategy, every GPU of this machine (or its CPU).
- "multiworker": tf.distribute.MultiWorkerMirroredStrategy, the processes (machines, or
  ports of one machine) that the TF_CONFIG environment variable names, each running the
  same command with the same data and seed. TensorFlow requires it to be made before it
  starts its devices: the command line makes it first. The chief (worker 0) writes the
  checkpoints; the other workers write theirs to a temporary folder, removed at the end.

Every replica receives the whole batch and keeps its share of the pieces; the cost
and gradients are summed across replicas and one update is applied to the mirrored
variables. The CD chains of a share draw from the rows of the random stream that
they would occupy in the whole batch, so a step on several devices computes the
single-device update up to floating-point rounding (tests/test_distribute.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from typing import Callable

import tensorflow as tf

from rnn_rbm.config import RunConfig
from rnn_rbm.errors import UserError
from rnn_rbm.models import registry
from rnn_rbm.models.base import TIME_QUANTUM, chain_rows

STRATEGIES = ("none", "mirrored", "multiworker")


def make_strategy(name: str) -> tf.distribute.Strategy | None:
    """Returns: the strategy --strategy `name` asks for (None for "none").
    Raises UserError for an unknown name."""
    if name == "none":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return multiworker()
    raise UserError(f"--strategy {name}: choose one of {', '.join(STRATEGIES)}")


# TensorFlow configures collective ops once per process, before it starts its devices: the
# strategy is made once, and the command line makes it first (quiet.setup's before_devices).
_multiworker: tf.distribute.Strategy | None = None


def multiworker() -> tf.distribute.Strategy:
    """Returns: this process's MultiWorkerMirroredStrategy over the cluster that TF_CONFIG
    names (made on the first call). Raises UserError when TF_CONFIG is not set or not JSON."""
    global _multiworker
    if _multiworker is None:
        text = os.environ.get("TF_CONFIG", "")
        try:
            json.loads(text)
        except json.JSONDecodeError:
            raise UserError("--strategy multiworker reads the cluster from the TF_CONFIG environment variable "
                            "(JSON: {\"cluster\": {\"worker\": [\"host:port\", ...]}, \"task\": {\"type\": "
                            "\"worker\", \"index\": I}}); " + ("it is not set" if not text else "it is not JSON"))
        _multiworker = tf.distribute.MultiWorkerMirroredStrategy()
    return _multiworker


def is_chief(strategy: tf.distribute.Strategy | None) -> bool:
    """Returns: whether this process writes the run's files: always without a cluster; in a
    cluster, the chief, or worker 0 where there is no chief."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().jobs


def scope(strategy: tf.distribute.Strategy | None) -> contextlib.AbstractContextManager:
    """Returns: the context in which variables of a run under `strategy` must be created."""
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def replicate(state, config: RunConfig, strategy: tf.distribute.Strategy | None):
    """Copies a TrainState's model and optimizer (its settings; call before restoring
    optimizer state) into variables mirrored by `strategy`.

    Returns: the new TrainState (the same one when strategy is None).
    """
    if strategy is None:
        return state
    with strategy.scope():
        # Its own generator: the run's generator must not advance for a throwaway init.
        model = registry.build(config, tf.random.Generator.from_seed(0))
        for target, source in zip(model.trainable_variables, state.model.trainable_variables):
            target.assign(source)
        optimizer = type(state.optimizer).from_config(state.optimizer.get_config())
        optimizer.build(model.trainable_variables)  # its slots too must be mirrored
    # The Progress stays as it is: only the epoch loop, outside the strategy, touches it.
    return dataclasses.replace(state, model=model, optimizer=optimizer, strategy=strategy)


def split_batch(
    strategy: tf.distribute.Strategy,
    gradients: Callable[[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor], tuple[tf.Tensor, list[tf.Tensor]]],
    v: tf.Tensor,
    mask: tf.Tensor,
    seed: tf.Tensor,
) -> tuple[tf.Tensor, list[tf.Tensor]]:
    """Runs `gradients(v, mask, seed, row_offset)` (the cost of a batch, a weighted mean over
    its frames, and its gradients) on each replica's share of the pieces of a batch.

    v: (batch, T, V); mask: (batch, T). Call inside a tf.function.
    Returns: (cost, gradients) of the whole batch, summed across replicas.
    """
    replicas = strategy.num_replicas_in_sync
    pieces, steps = tf.shape(v)[0], tf.shape(v)[1]
    share = (pieces + replicas - 1) // replicas
    extra = [[0, share * replicas - pieces], [0, -steps % TIME_QUANTUM]]
    v, mask = tf.pad(v, extra + [[0, 0]]), tf.pad(mask, extra)
    rows = tf.reduce_sum(tf.reshape(tf.cast(chain_rows(mask), tf.int32), [replicas, -1]), axis=1)
    offsets = tf.cumsum(rows, exclusive=True)
    total = tf.maximum(tf.reduce_sum(mask), 1.0)

    def replica() -> tuple[tf.Tensor, list[tf.Tensor]]:
        index = tf.distribute.get_replica_context().replica_id_in_sync_group
        mine_v, mine_mask = v[index * share:(index + 1) * share], mask[index * share:(index + 1) * share]
        cost, grads = gradients(mine_v, mine_mask, seed, offsets[index])
        # Each share's cost is a mean over its own frames: weigh it by its part of the batch.
        weight = tf.reduce_sum(mine_mask) / total
        return cost * weight, [g * weight for g in grads]

    per_replica = strategy.run(replica)
    return tf.nest.map_structure(lambda x: strategy.reduce(tf.distribute.ReduceOp.SUM, x, axis=None),
                                 per_replica)
