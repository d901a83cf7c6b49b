"""benchmarks/table1.py --ray: the same runs as trials on a local Ray write the records and the
table that they write one by one, and without Ray installed --ray says how to get it."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import benchmark_script

from rnn_rbm import records

ROOT = Path(__file__).resolve().parents[1]
# test_records.py's tiny settings: a few seconds a run.
TINY = ["model.n_hidden=4", "model.n_recurrent=3", "pretrain.epochs=1", "evaluate.ais_temperatures=5",
        "evaluate.ais_chains=2", "evaluate.valid_ais_temperatures=2", "evaluate.valid_ais_chains=2",
        "evaluate.acc_draws=2", "train.validate_every=1"]
# The figures a run measures; the rest of results is where its files are.
FIGURES = ("nll", "nll_se", "acc", "acc_tp_fp_fn", "acc_pooled", "parameters", "epochs", "best_epoch", "baselines")


def _tiny_set(path: Path) -> Path:
    rng = np.random.default_rng(0)

    def piece(frames: int) -> list:
        return [sorted({int(p) for p in rng.choice(np.arange(55, 80), 3)}) for _ in range(frames)]

    path.write_text(json.dumps({"train": [piece(12) for _ in range(6)], "valid": [piece(10) for _ in range(3)],
                                "test": [piece(9) for _ in range(3)]}))
    return path


@pytest.fixture
def local_ray(tmp_path, monkeypatch):
    """A local Ray of 2 CPUs and a small object store (records are a few kB), whose workers share
    this test's roll cache: they inherit the environment Ray starts in."""
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("RNN_RBM_CACHE", str(tmp_path / "cache"))
    ray.init(num_cpus=2, object_store_memory=100 * 2**20, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


def _main(monkeypatch, capsys, *flags: str) -> tuple[dict, list[str], str]:
    """Runs table1.py with `flags`.

    Returns: ({(set, model): its record}, the table's rows, what it wrote to stderr).
    """
    monkeypatch.setattr(sys, "argv", ["table1.py", *flags])
    try:
        benchmark_script("table1").main()
    except SystemExit as exit_:
        assert exit_.code, "exits only on an error"
        print(exit_.code, file=sys.stderr)
    out, err = capsys.readouterr()
    runs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return ({(run["dataset"], run["model"]): records.load(Path(run["record"])) for run in runs},
            [line for line in out.splitlines() if line.startswith("| tiny |")], err)


def test_trials_on_ray_write_the_records_of_the_runs_one_by_one(tmp_path, monkeypatch, capsys, local_ray):
    data = _tiny_set(tmp_path / "tiny.json")
    (tmp_path / "broken.json").write_text("not JSON")
    same = ["--models", "rnn_rbm", "lstm", "--epochs", "2", "--quiet", "--set", *TINY]
    # Two trials at once, one CPU each, after two that end in a user's error (first: they end soonest).
    on_ray, ray_rows, err = _main(monkeypatch, capsys, "--datasets", str(tmp_path / "broken.json"), str(data), *same,
                                  "--work_dir", str(tmp_path / "ray"), "--ray", "--ray_cpus_per_trial", "1")
    # The other trials outlive the failed ones, whose errors are told, and the exit is an error.
    assert "error: 2 of 4 runs failed (above): broken rnn_rbm, broken lstm" in err
    assert err.count("not a readable JSON file") == 2 and "Traceback" not in err
    one_by_one, rows, _ = _main(monkeypatch, capsys, "--datasets", str(data), *same,
                                "--work_dir", str(tmp_path / "sequential"))
    assert set(on_ray) == set(one_by_one) == {("tiny", "rnn_rbm"), ("tiny", "lstm")}
    for run, record in on_ray.items():
        # Its own folder, as a sequential run's: WORK_DIR/<set>/<model>/<date_time>/record.json.
        assert Path(record["results"]["checkpoint"]).parent.parent.parent == tmp_path / "ray" / "tiny"
        assert record["settings"] == one_by_one[run]["settings"]
        assert set(record["phases"]) == set(one_by_one[run]["phases"])
        # Exactly, as measured: the same seed gives the same bits on TensorFlow's CPU kernels in
        # a worker that splits an operation over one thread as in this process, which splits it
        # over every core; ops this small are never split (paper-size ones on many cores might
        # differ in their last bits).
        assert {k: record["results"][k] for k in FIGURES} == {k: one_by_one[run]["results"][k] for k in FIGURES}
        assert record["command"].endswith(" --ray --ray_cpus_per_trial 1")  # the sweep's, not a worker's
    # The same rows, up to the last three columns (time taken, peak memory, the record's link).
    assert [row.split("|")[:-4] for row in ray_rows] == [row.split("|")[:-4] for row in rows] != []


def test_ray_flag_without_ray_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` finds where Ray is not installed
    monkeypatch.setattr(sys, "argv", ["table1.py", "--datasets", str(_tiny_set(tmp_path / "tiny.json")), "--ray",
                                      "--work_dir", str(tmp_path / "runs")])
    with pytest.raises(SystemExit) as exit_:
        benchmark_script("table1").main()
    assert exit_.value.code == 2
    assert capsys.readouterr().err == 'error: --ray needs Ray: pip install -e ".[sweep]"\n'
    assert not (tmp_path / "runs").exists()
