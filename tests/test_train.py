import contextlib
import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf

from rnn_rbm.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from rnn_rbm.data.dataset import Dataset
from rnn_rbm.engine import checkpoint
from rnn_rbm.engine import trainer as train_module
from rnn_rbm.engine.trainer import TrainState, train
from rnn_rbm.errors import RunInterrupted, UserError


def tiny_config(**train_changes) -> RunConfig:
    train_config = TrainConfig(cd_k=2, batch_size=2, monitor_gibbs_steps=3, checkpoint_every=2, keep_last=0,
                               validate_every=1)
    return RunConfig(data=DataConfig(num_pitches=10), model=ModelConfig(n_hidden=6, n_recurrent=4),
                     train=dataclasses.replace(train_config, **train_changes))


def tiny_dataset(valid: bool = True) -> Dataset:
    rng = np.random.default_rng(0)
    rolls = [(rng.random((n, 10)) < 0.3).astype(np.float32) for n in (5, 9, 7, 6, 8)]
    return Dataset("tiny", rolls, rolls[:1] if valid else [])


def weights(state: TrainState) -> list[np.ndarray]:
    return [v.numpy() for v in state.model.trainable_variables]


def test_train_updates_every_parameter_and_writes_checkpoints(tmp_path):
    config = tiny_config()
    state = TrainState.create(config)
    before = weights(state)
    history = train(state, tiny_dataset(), config, 3, tmp_path, progress=False)
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert all(0.0 <= h["valid_acc"] <= 1.0 and np.isfinite(h["cost"]) for h in history)
    for old, new in zip(before, state.model.trainable_variables):
        assert not np.array_equal(old, new.numpy()), new.name
    # Every second epoch and the last one.
    assert sorted(checkpoint.epoch_checkpoints(tmp_path)) == [2, 3]
    assert checkpoint.load_config(tmp_path / "epoch_3.ckpt") == config
    assert checkpoint.progress(tmp_path / "epoch_3.ckpt") == (3, 0)
    assert (tmp_path / "curves.png").read_bytes().startswith(b"\x89PNG")
    events = [e for f in (tmp_path / "logs").rglob("events.*") for e in tf.compat.v1.train.summary_iterator(str(f))]
    tags = {(value.tag, e.step) for e in events for value in e.summary.value}
    assert {("cost", 1), ("valid_acc", 3), ("generated", 3)} <= tags  # image_every 10, and the last epoch
    restored = TrainState.create(dataclasses.replace(config, seed=5))
    checkpoint.restore(tmp_path / "epoch_3.ckpt", **restored.trackables())
    for a, b in zip(weights(state), weights(restored)):
        np.testing.assert_array_equal(a, b)


def test_best_checkpoint_follows_the_selected_figure(tmp_path):
    config = tiny_config(checkpoint_every=1, select_metric="valid_nll")
    figures = iter([5.0, 4.0, 4.5, 3.0, 3.5])
    history = train(TrainState.create(config), tiny_dataset(), config, 5, tmp_path, progress=False,
                    validate=lambda epoch: {"valid_nll": next(figures)})
    assert [h.get("best", False) for h in history] == [True, True, False, True, False]
    assert checkpoint.progress(tmp_path / "best.ckpt") == (4, 0)
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").open()]
    assert [line["valid_nll"] for line in lines] == [5.0, 4.0, 4.5, 3.0, 3.5]


def test_keep_last_deletes_older_epoch_checkpoints_only(tmp_path):
    config = tiny_config(checkpoint_every=1, keep_last=2)
    train(TrainState.create(config), tiny_dataset(), config, 5, tmp_path, progress=False)
    assert sorted(checkpoint.epoch_checkpoints(tmp_path)) == [4, 5]
    assert checkpoint.exists(tmp_path / "best.ckpt")
    assert not list(tmp_path.glob("epoch_[123].ckpt*"))  # no data file left without its index


def test_early_stopping_and_plateau_schedule(tmp_path):
    config = tiny_config(early_stop_patience=3, lr_schedule="plateau", lr_plateau_patience=2,
                         lr_plateau_factor=0.5, learning_rate=0.01)
    history = train(TrainState.create(config), tiny_dataset(), config, 20, tmp_path, progress=False,
                    validate=lambda epoch: {"valid_acc": 0.5})
    # Epoch 1 sets the best; epochs 2, 3, 4 do not beat it: stop after epoch 4.
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    # The cut after two validations without improvement shows from epoch 4 on.
    assert [h["learning_rate"] for h in history] == pytest.approx([0.01, 0.01, 0.01, 0.005])
    assert checkpoint.exists(tmp_path / "epoch_4.ckpt")  # the last epoch is always saved


def test_no_validation_pieces_is_recorded_as_null(tmp_path):
    config = tiny_config()
    history = train(TrainState.create(config), tiny_dataset(valid=False), config, 3, tmp_path, progress=False)
    assert all(np.isnan(h["valid_acc"]) for h in history)
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").open()]
    assert [line["valid_acc"] for line in lines] == [None, None, None]
    assert not checkpoint.exists(tmp_path / "best.ckpt")


def resumed(config: RunConfig, prefix, dataset: Dataset, num_epochs: int, folder) -> TrainState:
    state = TrainState.create(config)
    checkpoint.restore(prefix, **state.trackables())
    train(state, dataset, config, num_epochs, folder, progress=False)
    return state


def test_resuming_at_an_epoch_reaches_the_same_parameters(tmp_path):
    config, dataset = tiny_config(), tiny_dataset()
    straight = TrainState.create(config)
    train(straight, dataset, config, 4, tmp_path / "straight", progress=False)
    first = TrainState.create(config)
    train(first, dataset, config, 2, tmp_path / "broken", progress=False)
    second = resumed(config, tmp_path / "broken" / "epoch_2.ckpt", dataset, 4, tmp_path / "broken")
    for a, b in zip(weights(straight), weights(second)):
        np.testing.assert_array_equal(a, b)


def test_ctrl_c_mid_epoch_saves_and_resumes_exactly(tmp_path, monkeypatch):
    config, dataset = tiny_config(), tiny_dataset()
    straight = TrainState.create(config)
    train(straight, dataset, config, 3, tmp_path / "straight", progress=False)

    polls = iter(range(10**6))

    @contextlib.contextmanager
    def ctrl_c_at_sixth_poll():
        # Polled after each of epoch 1's three batches and at its end, then after each batch.
        yield lambda: next(polls) >= 5

    monkeypatch.setattr(train_module, "sigint_requests", ctrl_c_at_sixth_poll)
    with pytest.raises(RunInterrupted, match="epoch 2 after batch 2 of 3"):
        train(TrainState.create(config), dataset, config, 3, tmp_path / "broken", progress=False)
    saved = tmp_path / "broken" / "interrupted.ckpt"
    assert checkpoint.progress(saved) == (1, 2)
    assert checkpoint.newest(tmp_path / "broken") == saved
    monkeypatch.undo()
    second = resumed(config, saved, dataset, 3, tmp_path / "broken")
    for a, b in zip(weights(straight), weights(second)):
        np.testing.assert_array_equal(a, b)
    assert not checkpoint.exists(saved)  # superseded by epoch_3.ckpt


def test_a_cost_that_is_not_finite_stops_with_the_epoch_named(tmp_path):
    config = tiny_config(checkpoint_every=1)
    state = TrainState.create(config)
    train(state, tiny_dataset(), config, 1, tmp_path, progress=False)
    state.model.W.assign(tf.fill(state.model.W.shape, np.nan))
    with pytest.raises(UserError, match=r"epoch 2, batch 1: the cost became nan.*epoch_1.ckpt"):
        train(state, tiny_dataset(), config, 3, tmp_path, progress=False)
    assert sorted(checkpoint.epoch_checkpoints(tmp_path)) == [1]


@pytest.mark.parametrize("validate_every", [1, 3])
def test_validation_does_not_change_training(tmp_path, validate_every):
    """Validation and pictures draw from generators of their own: validating every epoch, every
    third, or with the images off, the weights after 4 epochs are the same."""
    reference = TrainState.create(tiny_config(validate_every=4, image_every=0))
    train(reference, tiny_dataset(), tiny_config(validate_every=4, image_every=0), 4, tmp_path / "a",
          progress=False)
    config = tiny_config(validate_every=validate_every, image_every=2)
    state = TrainState.create(config)
    train(state, tiny_dataset(), config, 4, tmp_path / "b", progress=False)
    for a, b in zip(weights(reference), weights(state)):
        np.testing.assert_array_equal(a, b)


def test_validation_compiles_once_and_is_reproducible():
    config = tiny_config()
    state = TrainState.create(config)
    validate = train_module.accuracy_validator(state, tiny_dataset(), config)
    first = validate(1)
    traces = sum(f.experimental_get_tracing_count() for f in validate.compiled)
    assert validate(1) == first  # the draws are a function of (seed, epoch)
    for epoch in range(2, 5):
        validate(epoch)
    assert sum(f.experimental_get_tracing_count() for f in validate.compiled) == traces


def test_epoch_records_time_training_and_validation_apart(tmp_path, caplog):
    config = tiny_config(validate_every=2)
    with caplog.at_level("INFO", logger="rnn_rbm"):
        history = train(TrainState.create(config), tiny_dataset(), config, 3, tmp_path, progress=False)
    assert ["seconds_validating" in h for h in history] == [False, True, True]
    assert all(h["seconds"] > 0 and h["seconds_saving"] >= 0 for h in history)
    assert any("validation" in r.message and "train" in r.message for r in caplog.records)
    totals = [r.message for r in caplog.records if "wall clock" in r.message]
    assert len(totals) == 1 and "epochs 1-3" in totals[0]


def test_a_better_figure_must_beat_the_noise(tmp_path):
    config = tiny_config(checkpoint_every=1, select_metric="valid_nll", select_min_delta=0.01,
                         early_stop_patience=2)
    figures = iter([5.0, 4.0, 3.995, 3.992, 3.0])
    history = train(TrainState.create(config), tiny_dataset(), config, 5, tmp_path, progress=False,
                    validate=lambda epoch: {"valid_nll": next(figures)})
    # 3.995 and 3.992 are within the noise of 4.0: no new best, and two of them stop the run.
    assert [h.get("best", False) for h in history] == [True, True, False, False]
    assert checkpoint.progress(tmp_path / "best.ckpt") == (2, 0)


def test_the_paper_s_plain_gradient_step_and_an_unknown_optimizer(tmp_path):
    config = tiny_config(optimizer="sgd", learning_rate=0.5)
    state = TrainState.create(config)
    assert isinstance(state.optimizer, tf.keras.optimizers.SGD)
    before = weights(state)
    train(state, tiny_dataset(), config, 1, tmp_path, progress=False)
    assert any(not np.array_equal(old, new.numpy()) for old, new in zip(before, state.model.trainable_variables))
    with pytest.raises(UserError, match="train.optimizer must be one of adam, rmsprop, sgd, not 'adagrad'"):
        TrainState.create(tiny_config(optimizer="adagrad"))


def test_metrics_log_writes_a_missing_figure_as_json_null(tmp_path):
    # JSON has no NaN: a validation that found nothing finite must still leave a line that a
    # strict reader (or another language's) can parse.
    from rnn_rbm.engine.metrics_log import MetricsLog

    def strict(text):
        return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))

    log = MetricsLog(tmp_path)
    log.write({"epoch": 1, "cost": 0.5, "seconds": 1.0, "frames_per_s": 10.0, "valid_nll": float("nan"),
               "valid_acc": float("inf"), "valid_nll_se": 0.25}, num_epochs=1)
    log.close()
    record = strict((tmp_path / "metrics.jsonl").read_text().splitlines()[0])
    assert record["valid_nll"] is None and record["valid_acc"] is None
    assert record["valid_nll_se"] == 0.25 and record["cost"] == 0.5


def test_a_run_that_diverges_in_its_first_epoch_ends_in_one_clear_error(tmp_path):
    # No epoch was ever logged: there are no curves to draw, and that must not hide the message.
    config = tiny_config()
    state = TrainState.create(config)
    state.model.W.assign(tf.fill(state.model.W.shape, np.nan))
    with pytest.raises(UserError, match=r"epoch 1, batch 1: the cost became nan.*no checkpoint of this run"):
        train(state, tiny_dataset(), config, 2, tmp_path, progress=False)
    assert not (tmp_path / "curves.png").exists() and checkpoint.epoch_checkpoints(tmp_path) == {}


def test_batch_groups_stay_within_the_frames_and_start_at_the_pieces_draw_rows():
    lengths = [3, 5, 9, 10, 17]  # ascending, as batches come
    mask = np.zeros((5, 17), np.float32)
    for row, n in enumerate(lengths):
        mask[row, :n] = 1
    assert train_module.batch_groups(mask, 5 * 17) == [(slice(0, 5), 17, 0)]
    groups = train_module.batch_groups(mask, 20)
    assert [(g.start, g.stop) for g, _, _ in groups] == [(0, 2), (2, 4), (4, 5)]
    for part, steps, _ in groups:
        assert steps == max(lengths[part])
        assert (part.stop - part.start) * steps <= 20 or part.stop - part.start == 1
    # Each piece's draws take its real steps rounded up to a multiple of 4 (models/base.chain_rows).
    assert [offset for _, _, offset in groups] == [0, 4 + 8, 4 + 8 + 12 + 12]


@pytest.mark.parametrize("family", ["rnn_rbm", "rnn_nade", "lstm"])
def test_a_batch_taken_in_groups_gives_the_update_of_the_whole(family):
    from rnn_rbm.config import family_config, replace_section
    from rnn_rbm.data.dataset import pad_batch

    config = family_config(family, RunConfig(data=DataConfig(num_pitches=10), model=ModelConfig(n_hidden=6, n_recurrent=4),
                                             train=TrainConfig(cd_k=3, batch_size=5, negative_start="zeros")))
    rng = np.random.default_rng(0)
    v, mask = pad_batch([(rng.random((n, 10)) < 0.3).astype(np.float32) for n in (3, 5, 7, 9, 11)])

    def run(max_frames, seed=0):
        run_config = replace_section(dataclasses.replace(config, seed=seed), "train", max_batch_frames=max_frames,
                                     scheduled_sampling=0.0)
        state = TrainState.create(run_config)
        step = train_module.make_train_step(state, run_config)
        costs = [float(x) for _ in range(2) for x in step(v, mask)]
        return costs, [x.numpy() for x in state.model.trainable_variables]

    whole, grouped, other = run(0), run(20), run(0, seed=1)
    assert len(train_module.batch_groups(mask, 20)) == 3
    np.testing.assert_allclose(grouped[0], whole[0], rtol=1e-5, atol=1e-6)
    for got, expected in zip(grouped[1], whole[1]):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # ...and the comparison is sharp enough to see another initialisation and other draws.
    assert not np.allclose(other[0], whole[0], rtol=1e-5, atol=1e-6)
