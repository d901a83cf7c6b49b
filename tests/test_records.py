"""Run records and the tables rendered from them: every command writes one; the published
blocks of README.md and docs/ agree with the committed records; benchmarks/table1.py goes
through the commands' tasks, so its figures are those of rnn_rbm_evaluate.py."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import benchmark_script

from rnn_rbm import records
from rnn_rbm.config import Overrides, RunConfig, read_settings
from rnn_rbm.errors import UserError
from rnn_rbm.outputs import recordtables, statstable

ROOT = Path(__file__).resolve().parents[1]


def test_published_blocks_agree_with_their_records():
    render_docs = benchmark_script("render_docs")
    assert render_docs.stale(ROOT) == [], "run python benchmarks/render_docs.py"


def test_a_block_disagreeing_with_its_records_is_found(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("# A front page without blocks\n")
    (tmp_path / "records" / "table1" / "jsb").mkdir(parents=True)
    record = records.Record(command=["table1.py", "--datasets", "jsb"])
    record.results = {"dataset": "jsb", "model": "lstm", "nll": 8.5, "nll_se": 0.0, "acc": 0.3, "acc_tp_fp_fn": 0.25,
                      "acc_pooled": 0.2, "parameters": 10, "epochs": 3, "best_epoch": 2,
                      "baselines": {"Random": {"nll": 61.0, "acc": 0.0442, "acc_tp_fp_fn": 0.043, "acc_pooled": 0.04}}}
    record.write(tmp_path / "records" / "table1" / "jsb" / "lstm.json")
    page = tmp_path / "docs" / "results.md"
    page.write_text("# Results\n<!-- rendered: table1 -->\n| typed | by hand |\n<!-- end rendered: table1 -->\n")
    render_docs = benchmark_script("render_docs")
    assert render_docs.stale(tmp_path) == [page]
    page.write_text(recordtables.render(page.read_text(), tmp_path, page))
    assert render_docs.stale(tmp_path) == []
    text = page.read_text()
    assert "| JSB Chorales | `lstm` | -8.500 | -8.58 | 30.00 | 29.41 |" in text  # the paper's RNN (HF) beside
    assert "| JSB Chorales | Random | -61.000 | -61.00 | 4.42 | 4.42 |" in text
    assert "](../records/table1/jsb/lstm.json)" in text  # the link from docs/ to its record


def test_a_record_holds_settings_revision_machine_phases_and_figures(tmp_path):
    record = records.Record(command=["rnn_rbm_train.py", "5", "--set", "train.cd_k=3"],
                            settings={"train": {"cd_k": 3}})
    with record.phase("train"):
        pass
    record.results["nll"] = math.nan  # a figure JSON cannot hold is written as null
    record.results["frames"] = np.int64(7)
    written = records.load(record.write(tmp_path / "r.json"))
    assert written["command"] == "rnn_rbm_train.py 5 --set train.cd_k=3"
    assert written["settings"] == {"train": {"cd_k": 3}} and written["results"] == {"nll": None, "frames": 7}
    assert set(written["phases"]) == {"train"} and written["wall_seconds"] >= written["phases"]["train"]
    assert written["machine"]["cores"] >= 1 and written["peak_memory_mib"] > 0
    assert len(written["revision"]["commit"]) == 40  # the tests run in the project's git clone
    json.loads((tmp_path / "r.json").read_text(), parse_constant=pytest.fail)  # strict JSON: no NaN
    with pytest.raises(UserError, match="not a run record"):
        (tmp_path / "other.json").write_text("{}")
        records.load(tmp_path / "other.json")


def test_settings_from_a_file_and_by_name(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"train": {"cd_k": 7, "learning_rate": 0.01}, "seed": 4}))
    settings = read_settings(str(tmp_path / "c.json"), ["train.cd_k=9", "evaluate.ais_base=data"])
    config = Overrides(settings=settings).apply(RunConfig())
    assert (config.train.cd_k, config.train.learning_rate, config.seed, config.evaluate.ais_base) == (9, 0.01, 4, "data")
    # A run's own config.json is a complete --config: it rebuilds the run's settings exactly.
    (tmp_path / "run.json").write_text(config.to_json())
    assert Overrides(settings=read_settings(str(tmp_path / "run.json"), [])).apply(RunConfig()) == config
    # A setting that is off by default (None) takes a number, and only a number.
    noisy = Overrides(settings=read_settings(None, ["features.noise_snr_db=12"])).apply(RunConfig())
    assert noisy.features.noise_snr_db == 12.0 and RunConfig.from_json(noisy.to_json()) == noisy
    for bad, message in ((["train.cdk=3"], "no setting 'train.cdk'"), (["train.cd_k=three"], "expected int"),
                         (["features.noise_snr_db=loud"], "expected float"),
                         (["cd_k"], "expected SECTION.FIELD=VALUE"), (["format_version=2"], "no setting")):
        with pytest.raises(UserError, match=message):
            read_settings(None, bad)


def test_table1_measures_through_the_commands_tasks(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)

    def piece(frames: int) -> list:
        return [sorted({int(p) for p in rng.choice(np.arange(55, 80), 3)}) for _ in range(frames)]

    data = tmp_path / "tiny.json"
    data.write_text(json.dumps({"train": [piece(12) for _ in range(6)], "valid": [piece(10) for _ in range(3)],
                                "test": [piece(9) for _ in range(3)]}))
    monkeypatch.setenv("RNN_RBM_CACHE", str(tmp_path / "cache"))
    tiny = ["model.n_hidden=4", "model.n_recurrent=3", "pretrain.epochs=1", "evaluate.ais_temperatures=5",
            "evaluate.ais_chains=2", "evaluate.valid_ais_temperatures=2", "evaluate.valid_ais_chains=2",
            "evaluate.acc_draws=2", "train.validate_every=1"]
    monkeypatch.setattr(sys, "argv", ["table1.py", "--datasets", str(data), "--models", "rnn_rbm", "--epochs", "2",
                                      "--work_dir", str(tmp_path / "runs"), "--quiet", "--set", *tiny])
    benchmark_script("table1").main()
    lines = capsys.readouterr().out.splitlines()
    result = json.loads(lines[0])
    record = records.load(Path(result["record"]))
    assert record["results"]["model"] == "rnn_rbm" and record["results"]["epochs"] == 2
    assert set(record["phases"]) >= {"load_data", "pretrain", "train", "validation", "evaluate", "baselines"}
    assert record["settings"]["model"]["n_hidden"] == 4 and record["settings"]["evaluate"]["ais_chains"] == 2
    assert set(record["results"]["baselines"]) == {"Random", "Note 1-Gram", "Copy previous frame"}
    assert any(line.startswith("| tiny | `rnn_rbm` |") for line in lines)
    # The same best.ckpt measured by the evaluate command gives the same figures.
    from rnn_rbm.cli import evaluate_main

    best = Path(result["checkpoint"])
    evaluate_main([str(best), "--quiet", "--record", str(tmp_path / "evaluate.json")])
    again = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert again["nll"] == pytest.approx(record["results"]["nll"], abs=1e-9)
    assert again["acc"] == pytest.approx(record["results"]["acc"], abs=1e-9)
    assert records.load(tmp_path / "evaluate.json")["results"]["nll"] == again["nll"]


def test_sample_quality_table_from_records(tmp_path):
    from rnn_rbm.music import samplestats

    rng = np.random.default_rng(0)
    data = [(rng.random((64, 88)) < 0.04).astype(np.float32) for _ in range(4)]
    drawn = [(rng.random((64, 88)) < 0.2).astype(np.float32) for _ in range(2)]  # far too dense
    report = samplestats.report(drawn, data, steps_per_quarter=2)
    record = records.Record(command=["sample_quality.py"], settings={
        "generate": {"num_samples": 2, "num_steps": 64}, "seeds": 1})
    record.results = {"model": "lstm", "reference": "toy, test split", "report": report.to_json(),
                      "targets_met": {"dense_max": False, "polyphony": True}, "training": {}}
    path = record.write(tmp_path / "records" / "sample_quality" / "lstm.json")
    text = recordtables.sample_quality(recordtables.published(tmp_path, "sample_quality", tmp_path))
    reference_row, model_row = text.splitlines()[2:4]
    assert reference_row.startswith("| (toy, test split) |")
    assert model_row.startswith("| `lstm` | - | - | - | missed: dense_max | [lstm.json](records/sample_quality/lstm.json) | 2 |")
    polyphony = report.to_json()["measures"]["polyphony"]["mean"]
    assert f"| {statstable.number(polyphony)} (" in model_row and polyphony > 10 and path.exists()


def test_a_run_that_shared_its_process_says_its_peak_memory_is_that_process_s():
    from rnn_rbm.outputs.recordtables import _peak_memory

    def record(model: str, command: str, own: bool = False) -> dict:
        results = {"dataset": "jsb", "model": model, **({"own_process": True} if own else {})}
        return {"command": command, "peak_memory_mib": 2048.0, "results": results}

    several = "table1.py --datasets jsb --models rnn_rbm lstm --publish"
    assert _peak_memory(record("rnn_rbm", several)) == "2.0 GiB"  # the first run: the process was its own
    assert _peak_memory(record("lstm", several)) == "2.0 GiB, with the runs before it"
    assert _peak_memory(record("lstm", several, own=True)) == "2.0 GiB"
    assert _peak_memory(record("lstm", several + " --ray")) == "2.0 GiB"


def test_table1_misses_name_each_target_with_its_figure():
    from rnn_rbm.outputs.recordtables import table1_misses

    def record(nll: float, seconds: float, mib: float) -> dict:
        return {"results": {"dataset": "piano_midi", "model": "rnn_nade", "nll": nll}, "wall_seconds": seconds,
                "peak_memory_mib": mib}

    assert table1_misses(record(7.00, 44 * 60, 1800)) == []  # the paper's RNN-NADE (HF): -7.05
    assert table1_misses(record(7.15, 46 * 60, 2000)) == ["likelihood by 0.10", "time (46 min 0 s > 45 min)",
                                                          "memory (2.10 GB > 2)"]


def test_jsb_and_nottingham_have_no_likelihood_target_only_the_memory_one():
    from rnn_rbm.outputs.recordtables import table1_misses

    record = {"results": {"dataset": "jsb", "model": "lstm", "nll": 8.70}, "wall_seconds": 7200.0,
              "peak_memory_mib": 2000.0}
    assert table1_misses(record) == ["memory (2.10 GB > 2)"]


def test_a_record_calls_its_code_modified_only_when_code_changed(tmp_path, monkeypatch):
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "records").mkdir()
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "records" / "run.json").write_text("{}\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "start")
    monkeypatch.setattr(records, "REPOSITORY", tmp_path)
    (tmp_path / "records" / "run.json").write_text('{"published": true}\n')  # a run published its record
    assert records.revision()["dirty"] is False
    (tmp_path / "code.py").write_text("x = 2\n")
    assert records.revision()["dirty"] is True
