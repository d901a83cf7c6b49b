"""The paper's measures: per-frame log-likelihood given the true past (against exact
enumeration on a tiny model), expected frame accuracy, the reference models, and
rnn_rbm_evaluate.py end to end on the JSB benchmark file."""

import dataclasses
import itertools
import json
import math

import numpy as np
import pytest
import tensorflow as tf

from rnn_rbm.cli import evaluate_main
from rnn_rbm.config import EvalConfig, ModelConfig, RunConfig
from rnn_rbm.data.dataset import all_frames
from rnn_rbm.engine import checkpoint, scoring
from rnn_rbm.models.rnn_rbm import RnnRbm, frame_biases
from rnn_rbm.ops import accuracy, bernoulli, rbm

V, H, R = 10, 6, 4


def tiny_model(seed: int = 0) -> RnnRbm:
    return RnnRbm(V, H, R, init_std=0.7, rng=tf.random.Generator.from_seed(seed))


def random_rolls(lengths: list[int], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.random((n, V)) < 0.3).astype(np.float32) for n in lengths]


EVERY_FRAME = np.array(list(itertools.product((0.0, 1.0), repeat=V)), np.float32)


def enumerated(model: RnnRbm, rolls: list[np.ndarray]):
    """Yields (true frame, log p of each of the 2^V frames EVERY_FRAME under its RBM given the true
    past), frame after frame: exact enumeration, independent of AIS and of log_partition_exact."""
    for roll in rolls:
        bv, bh = (x.numpy()[0] for x in model.step_biases(roll[np.newaxis]))
        for t, frame in enumerate(roll):
            energies = -rbm.free_energy(EVERY_FRAME, model.W, bv[t], bh[t]).numpy().astype(np.float64)
            top = energies.max()
            yield frame, energies - (top + math.log(np.exp(energies - top).sum()))


def exact_log_p(model: RnnRbm, rolls: list[np.ndarray]) -> np.ndarray:
    """log p(v_t | past) of every true frame."""
    index = {tuple(f): i for i, f in enumerate(EVERY_FRAME)}
    return np.array([log_p[index[tuple(frame)]] for frame, log_p in enumerated(model, rolls)])


def test_frame_biases_keep_real_frames_in_piece_order():
    model, rolls = tiny_model(), random_rolls([5, 9, 2])
    frames, bv, bh = frame_biases(model.step_biases, rolls)
    np.testing.assert_array_equal(frames, all_frames(rolls))
    first_bv, first_bh = (x.numpy()[0] for x in model.step_biases(rolls[1][np.newaxis]))
    np.testing.assert_allclose(bv[5:14], first_bv, atol=1e-6)
    np.testing.assert_allclose(bh[5:14], first_bh, atol=1e-6)


def test_frame_biases_are_the_same_in_batches_of_few_frames(monkeypatch):
    from rnn_rbm.models import rnn_rbm

    model, rolls = tiny_model(), random_rolls([5, 9, 2, 7, 4])
    whole = frame_biases(model.step_biases, rolls)
    monkeypatch.setattr(rnn_rbm, "BIASES_FRAMES_PER_BATCH", 9)  # a piece or two a batch
    for a, b in zip(frame_biases(model.step_biases, rolls), whole):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("base", ["frame", "data"])
def test_log_likelihood_matches_enumeration(base):
    model, rolls = tiny_model(), random_rolls([6, 11, 3])
    base_bias = None if base == "frame" else bernoulli.base_rate_bias(rolls, 1.0)
    got = scoring.score(model, rolls, chains=32, temperatures=300, draws=1, batch_frames=8,
                         rng=tf.random.Generator.from_seed(1), base_bias=base_bias, progress=False)
    truth = exact_log_p(model, rolls)
    error = got.log_p - truth
    assert np.abs(error).mean() < 0.03
    assert np.all(np.abs(error) <= 4 * np.sqrt(got.variance) + 0.01)  # each frame within its error bar
    assert got.nll == pytest.approx(-truth.mean(), abs=0.01)
    assert 0 < got.nll_se < 0.01


def test_expected_accuracy_counts_hits_misses_and_false_alarms():
    model = tiny_model()
    # No weights and no recurrence: every drawn frame is exactly pitches 2 and 5.
    for variable in (model.W, model.Wuv, model.Wuh):
        variable.assign(tf.zeros_like(variable))
    model.bv.assign(np.where(np.isin(np.arange(V), [2, 5]), 30.0, -30.0).astype(np.float32))
    roll = np.zeros((7, V), np.float32)
    roll[:, [2, 5, 7]] = 1.0  # each frame: 2 true positives, 1 false negative
    roll[3, 5] = 0.0  # and here 1 true positive, 1 false positive, 1 false negative
    scores = scoring.score(model, [roll, roll[:4]], chains=3, temperatures=5, draws=2, batch_frames=4,
                            rng=tf.random.Generator.from_seed(0), progress=False)
    tp, fp, fn = 2 * 11 - 2, 2, 11  # 11 frames, 2 of them the changed frame 3
    np.testing.assert_array_equal(scores.counts.sum(axis=0), [[tp, fp, fn]] * 2)
    accuracy = scores.accuracy
    assert accuracy.pooled == pytest.approx(tp / (tp + fp + fn))
    # Per frame, the paper's TP / (TP + max(FP, FN)): 2/3 in the 9 ordinary frames, 1/2 in the 2
    # changed ones (pitch 2 drawn in place of pitch 7 is one replacement), then the mean.
    assert accuracy.expected == pytest.approx((9 * 2 / 3 + 2 * 1 / 2) / 11)
    # TP / (TP + FP + FN) counts that replacement twice: 1/3 in the changed frames.
    assert accuracy.tp_fp_fn == pytest.approx((9 * 2 / 3 + 2 * 1 / 3) / 11)
    assert accuracy.expected_se == 0.0 and accuracy.tp_fp_fn_se == 0.0 and accuracy.pooled_se == 0.0


def exact_expected_accuracy(model: RnnRbm, rolls: list[np.ndarray]) -> np.ndarray:
    """Each frame's E[TP / (TP + max(FP, FN))] (the paper's accuracy) under its RBM given the true
    past, by enumerating all 2^V frames (1 for a frame where the truth and the draw are both silent)."""
    out = []
    for truth, log_p in enumerated(model, rolls):
        tp = (EVERY_FRAME * truth).sum(axis=1)
        errors = np.maximum((EVERY_FRAME * (1 - truth)).sum(axis=1), ((1 - EVERY_FRAME) * truth).sum(axis=1))
        acc = np.where(tp + errors > 0, tp / np.maximum(tp + errors, 1), 1.0)
        out.append((np.exp(log_p) * acc).sum())
    return np.array(out)


def test_expected_accuracy_matches_enumeration():
    """The paper's ACC (per frame, then averaged) from resampled AIS chains against the exact
    expectation."""
    model, rolls = tiny_model(3), random_rolls([7, 12, 4], seed=3)
    rolls[0][2] = 0.0  # a silent true frame: both silent counts as exact
    exact = exact_expected_accuracy(model, rolls)
    got = scoring.score(model, rolls, chains=64, temperatures=200, draws=64, batch_frames=32,
                         rng=tf.random.Generator.from_seed(4), progress=False).accuracy
    assert got.expected == pytest.approx(exact.mean(), abs=0.02)


def test_accuracy_monitor_matches_enumeration():
    """The training monitor's valid_acc (Gibbs draws from the all-zero frame) estimates the same
    expectation."""
    from rnn_rbm.config import DataConfig, TrainConfig
    from rnn_rbm.data.dataset import Dataset
    from rnn_rbm.engine.trainer import TrainState, accuracy_validator

    config = RunConfig(data=DataConfig(num_pitches=V), model=ModelConfig(n_hidden=H, n_recurrent=R, init_std=0.7),
                       train=TrainConfig(monitor_gibbs_steps=50), evaluate=EvalConfig(valid_acc_draws=64), seed=3)
    state = TrainState.create(config)
    rolls = random_rolls([7, 12, 4], seed=3)
    record = accuracy_validator(state, Dataset("tiny", rolls, rolls), config)(1)
    exact = exact_expected_accuracy(state.model, rolls)
    assert record["valid_acc"] == pytest.approx(exact.mean(), abs=0.02)
    assert set(record) == {"valid_acc", "valid_acc_pooled"}


def test_previous_frame_forecast_accuracy():
    piece = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 0, 0]], np.float32)
    # silence forecast for a note: 0; {0} for {0, 1}: 1/2; {0, 1} for silence: 0; silence for silence: 1.
    assert accuracy.previous_frame_accuracy([piece]) == pytest.approx((0 + 0.5 + 0 + 1) / 4)
    # Each piece starts from silence: the second piece's first frame is not forecast by the first's last.
    assert accuracy.previous_frame_accuracy([piece[:2], piece[:2]]) == pytest.approx(0.25)


def test_reference_models():
    assert bernoulli.uniform_log_likelihood(88) == pytest.approx(-61.00, abs=0.005)
    train = [np.array([[1, 0], [1, 1], [0, 0]], np.float32)]
    test = [np.array([[1, 0]], np.float32)]
    p = np.array([(2 + 1) / (3 + 2), (1 + 1) / (3 + 2)])  # add-one smoothing
    expected = math.log(p[0]) + math.log(1 - p[1])
    assert bernoulli.bernoulli_log_likelihood(train, test, 1.0) == pytest.approx(expected)


def test_validator_reports_what_training_selects_on():
    model, rolls = tiny_model(), random_rolls([8, 5])
    config = EvalConfig(valid_ais_chains=4, valid_ais_temperatures=10)
    validate = scoring.make_validator(model, rolls, rolls, config, seed=0)
    record = validate(1)
    assert set(record) == {"valid_nll", "valid_nll_se", "valid_log_z_over_known", "valid_acc", "valid_acc_tp_fp_fn",
                           "valid_acc_pooled"}
    assert record["valid_nll"] > 0 and record["valid_nll_se"] >= 0 and 0 <= record["valid_acc"] <= 1
    traces = sum(f.experimental_get_tracing_count() for f in validate.compiled)
    # Its draws depend on (seed, epoch) alone: again for epoch 1, the same figures.
    assert validate(1) == record
    assert validate(2)["valid_nll"] != record["valid_nll"]
    # Compiled once: later validations trace nothing again.
    assert sum(f.experimental_get_tracing_count() for f in validate.compiled) == traces


def run_evaluate(capsys, *args: str) -> tuple[int, str, str]:
    """rnn_rbm_evaluate.py's main in this process (TensorFlow is already loaded here).

    Returns: (exit code, stdout, stderr)."""
    capsys.readouterr()
    try:
        evaluate_main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_evaluate_command_on_the_jsb_benchmark(tmp_path, capsys):
    config = RunConfig(data_source="jsb", model=ModelConfig(n_hidden=8, n_recurrent=4))
    model = RnnRbm.from_config(config, tf.random.Generator.from_seed(0))
    prefix = str(checkpoint.save(tmp_path / "ckpt" / "epoch_1.ckpt", config, model=model))
    cache = ["--cache_dir", str(tmp_path / "cache"), "--quiet"]
    code, out, err = run_evaluate(capsys, prefix, "--ais_chains", "4", "--ais_temperatures", "5", "--acc_draws", "2",
                                  *cache)
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert set(summary) == {"nll", "nll_se", "acc", "acc_se", "acc_tp_fp_fn", "acc_pooled", "log_z_over_known",
                            "frames", "exact", "uniform_ll", "bernoulli_ll", "previous_frame_acc"}
    assert summary["acc_tp_fp_fn"] <= summary["acc"]  # a wrong note is two errors there, one in the paper's
    record = json.loads(next((tmp_path / "ckpt").glob("evaluate_test_*.record.json")).read_text())
    assert record["results"]["nll"] == summary["nll"] and record["settings"]["evaluate"]["ais_chains"] == 4
    assert record["command"].startswith("rnn_rbm_evaluate.py ") and record["machine"]["cores"] >= 1
    assert set(record["phases"]) == {"load_data", "evaluate"}
    assert summary["frames"] == 4725  # every frame of JSB's 77 test pieces
    # A nearly untrained model: better than uniform frames, worse than independent pitches fitted.
    assert 11.0 < summary["nll"] < 61.0 and summary["nll_se"] > 0 and 0 <= summary["acc"] <= 1
    assert "-60.997" in out  # uniform frames, 88 keys
    # JSB's test split, measured exactly by the paper's TP / (TP + max(FP, FN)) (26.90 % by TP / (TP + FP + FN)).
    assert "as the one before it: accuracy 34.94 %" in out
    # The old names still work for a release, each with a one-line notice.
    code, out, err = run_evaluate(capsys, prefix, "--split", "valid", "--chains", "2", "--temperatures", "1",
                                  "--draws", "1", *cache)
    assert code == 0, err
    assert "notice: --chains is now --ais_chains" in err and "notice: --draws is now --acc_draws" in err
    assert json.loads(out.strip().splitlines()[-1])["frames"] == 4602


def test_evaluate_command_user_mistakes(midi_folder, tmp_path, capsys):
    code, _, err = run_evaluate(capsys, str(tmp_path / "nothing.ckpt"))
    assert code == 2 and "no checkpoint at" in err
    config = RunConfig(data_source=str(midi_folder), model=ModelConfig(n_hidden=4, n_recurrent=3))
    prefix = str(checkpoint.save(tmp_path / "c.ckpt", config,
                                 model=RnnRbm.from_config(config, tf.random.Generator.from_seed(0))))
    cache = ["--workers", "1", "--cache_dir", str(tmp_path / "cache")]
    code, _, err = run_evaluate(capsys, prefix, "--split", "test", *cache)
    assert code == 2 and "no test pieces" in err  # a MIDI folder has no test split
    assert "Traceback" not in err
    # Without --split, a checkpoint of data with no test split is measured on its held-out pieces.
    code, out, err = run_evaluate(capsys, prefix, "--ais_chains", "2", "--ais_temperatures", "2", "--acc_draws", "1",
                                  *cache)
    assert code == 0, err
    assert "valid split" in out and json.loads(out.strip().splitlines()[-1])["frames"] > 0


def test_known_frames_keep_the_most_frequent_when_capped():
    a, b, c = (np.eye(4, dtype=np.float32)[i] for i in range(3))
    # c five times, a three, b once, across two pieces.
    rolls = [np.stack([c, a, c, b, c]), np.stack([a, c, a, c])]
    np.testing.assert_array_equal(scoring.known_frames(rolls), np.unique(np.stack([a, b, c]), axis=0))
    two = scoring.known_frames(rolls, limit=2)
    assert {tuple(f) for f in two} == {tuple(a), tuple(c)}
    assert len(scoring.known_frames(rolls, limit=10)) == 3


def test_capped_known_frames_reach_the_scorer():
    train = [np.eye(88, dtype=np.float32)[[40, 40, 41, 42, 42, 42]]]
    config = dataclasses.replace(EvalConfig(), ais_known_frames=2)
    _, known = scoring.ais_reference(config, train)
    assert {int(np.argmax(f)) for f in known} == {40, 42}
