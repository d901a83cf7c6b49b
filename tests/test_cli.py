"""The three commands end to end, as a user runs them, on a tiny model and data set."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pretty_midi
import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--n_hidden", "16", "--n_recurrent", "8"]


def run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, RNN_RBM_CACHE=str(cwd / "cache"), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(ROOT / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_pretrain_train_generate(midi_folder, tmp_path):
    pre = run("weight_initializations.py", "--data", str(midi_folder), "--epochs", "2", "--cd_k", "2",
              *TINY, cwd=tmp_path)
    assert pre.returncode == 0, pre.stderr
    assert "skipped not_midi.mid" in pre.stderr
    assert (tmp_path / "parameter_checkpoints" / "initial.ckpt.index").exists()

    train = run("rnn_rbm_train.py", "2", "--cd_k", "2", "--checkpoint_every", "1", cwd=tmp_path)
    assert train.returncode == 0, train.stderr
    assert "starting from parameter_checkpoints/initial.ckpt" in train.stderr
    assert str(midi_folder) in train.stderr  # the data of initial.ckpt, without --data
    for epoch in (1, 2):
        assert f"epoch {epoch}/2" in train.stderr
        assert (tmp_path / "parameter_checkpoints" / f"epoch_{epoch}.ckpt.index").exists()
    metrics = [json.loads(line) for line in (tmp_path / "parameter_checkpoints" / "metrics.jsonl").open()]
    assert [m["epoch"] for m in metrics] == [1, 2]
    assert list((tmp_path / "parameter_checkpoints" / "logs").iterdir())  # TensorBoard events
    config = json.loads((tmp_path / "parameter_checkpoints" / "config.json").read_text())
    assert config["model"]["n_hidden"] == 16 and config["train"]["cd_k"] == 2
    assert config["pretrain"]["cd_k"] == 2 and config["pretrain"]["epochs"] == 2

    outputs = []
    for _ in range(2):
        gen = run("rnn_rbm_generate.py", "parameter_checkpoints/epoch_2.ckpt", "--seed", "5", "--num_samples",
                  "2", "--num_steps", "24", "--gibbs_steps", "3", cwd=tmp_path)
        assert gen.returncode == 0, gen.stderr
        paths = [tmp_path / line for line in gen.stdout.split()]
        assert len(paths) == 2 and all(p.suffix == ".mid" and p.parent.name == "results" for p in paths)
        outputs.append([p.read_bytes() for p in paths])
    assert outputs[0] == outputs[1]  # same seed, same music
    midi = pretty_midi.PrettyMIDI(str(paths[0]))
    assert midi.instruments and midi.get_end_time() <= 24 * 60 / 100 / 2 + 1e-6

    primed = run("rnn_rbm_generate.py", "parameter_checkpoints/epoch_2.ckpt", "--primer",
                 str(midi_folder / "piece_0.mid"), "--num_steps", "8", "--gibbs_steps", "2", cwd=tmp_path)
    assert primed.returncode == 0, primed.stderr
    for result in (pre, train, gen, primed):
        assert not chatter(result.stderr), result.stderr


@pytest.mark.parametrize("model", ["rnn_nade", "lstm"])
def test_every_model_through_the_same_commands(model, midi_folder, tmp_path):
    # The RNN-NADE pretrains (its NADE, by likelihood), the LSTM has nothing to pretrain.
    pretrain = run("weight_initializations.py", "--model", model, "--data", str(midi_folder), "--epochs", "1",
                   *TINY, cwd=tmp_path)
    if model == "lstm":
        assert pretrain.returncode == 2
        assert pretrain.stderr.strip().splitlines()[-1] == ("error: the lstm has no pretraining step: train it "
                                                           "from the start with rnn_rbm_train.py N --model lstm")
        args = ["--model", model, "--data", str(midi_folder), *TINY]
    else:
        assert pretrain.returncode == 0, pretrain.stderr
        args = []
    train = run("rnn_rbm_train.py", "2", *args, "--validate_every", "1", cwd=tmp_path)
    assert train.returncode == 0, train.stderr
    assert f"training the {model}" in train.stderr and "valid_nll" in train.stderr
    config = json.loads((tmp_path / "parameter_checkpoints" / "config.json").read_text())
    assert config["model"]["family"] == model and config["train"]["select_metric"] == "valid_nll"

    # Rebuilt from the checkpoint alone: primer, melody, plot, the results page.
    gen = run("rnn_rbm_generate.py", "parameter_checkpoints/best.ckpt", "--seed", "1", "--num_steps", "16",
              "--primer", str(midi_folder / "piece_1.mid"), "--melody", str(midi_folder / "piece_2.mid"), "--plot",
              cwd=tmp_path)
    assert gen.returncode == 0, gen.stderr
    assert f"from the {model}, exact draws" in gen.stderr
    assert (tmp_path / "results" / "index.html").exists() and list((tmp_path / "results").glob("*.png"))

    evaluation = run("rnn_rbm_evaluate.py", "parameter_checkpoints/best.ckpt", "--split", "valid", "--acc_draws", "2",
                     cwd=tmp_path)
    assert evaluation.returncode == 0, evaluation.stderr
    figures = json.loads(evaluation.stdout.splitlines()[-1])
    assert figures["nll_se"] == 0 and figures["log_z_over_known"] is None and 0 < figures["nll"] < 61
    for result in (train, gen, evaluation):
        assert not chatter(result.stderr), result.stderr


# What TensorFlow's C++ log lines (absl's format), its Python logger and Python warnings look like.
CHATTER = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d|tensorflow|Warning:|retracing|Sharding callback",
                     re.IGNORECASE | re.MULTILINE)


def chatter(stderr: str) -> list[str]:
    """Returns: the lines of stderr that are library chatter rather than our own messages."""
    return [line for line in stderr.splitlines() if CHATTER.search(line)]


QUIET_PROBE = """
import logging, sys, warnings
from rnn_rbm import quiet
quiet.setup(verbose=len(sys.argv) > 1)
import tensorflow as tf
logging.getLogger("tensorflow").info("Sharding callback duration: 3 microseconds")
tf.get_logger().warning("5 out of the last 5 calls triggered tf.function retracing")
warnings.warn("a deprecation in some library", DeprecationWarning)
logging.getLogger("rnn_rbm").info("our own message")
"""


@pytest.mark.parametrize("verbose", [False, True])
def test_library_chatter_only_with_verbose(tmp_path, verbose):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONWARNINGS", None)
    result = subprocess.run([sys.executable, "-c", QUIET_PROBE, *(["--verbose"] if verbose else [])], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "our own message" in result.stderr
    found = chatter(result.stderr)
    if verbose:
        assert any("retracing" in line for line in found) and any("deprecation" in line for line in found)
    else:
        assert not found, result.stderr


@pytest.mark.parametrize("script, args, message", [
    ("rnn_rbm_train.py", ["-3"], "less than 1"),
    ("rnn_rbm_train.py", ["2", "--data", "no_such_folder"], "no such folder"),
    ("rnn_rbm_train.py", ["2", "--init", "missing.ckpt"], "no checkpoint at missing.ckpt"),
    ("rnn_rbm_train.py", ["2", "--resume"], "no training checkpoint in parameter_checkpoints"),
    ("rnn_rbm_train.py", ["2", "--resume", "--init", "x.ckpt"], "drop --init"),
    ("rnn_rbm_train.py", ["2", "--clip_norm", "-1"], "is negative"),
    ("rnn_rbm_train.py", ["2", "--scheduled_sampling", "1"], "is not below 1"),
    ("rnn_rbm_generate.py", ["parameter_checkpoints/epoch_7.ckpt"], "no checkpoint at"),
    ("rnn_rbm_generate.py", ["x.ckpt", "--out_dir", "/dev/null"], "is a file, not a folder"),
    ("rnn_rbm_train.py", ["2", "--checkpoint_dir", "/dev/null/x"], "cannot create it"),
    ("weight_initializations.py", ["--epochs", "zero"], "not a whole number"),
])
def test_user_mistakes_end_in_one_clear_message(script, args, message, tmp_path):
    result = run(script, *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_folder_of_only_bad_files(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "broken.mid").write_bytes(b"MThd broken")
    result = run("weight_initializations.py", "--data", str(folder), cwd=tmp_path)
    assert result.returncode == 2
    assert "skipped broken.mid" in result.stderr and "no usable piece" in result.stderr
    assert "Traceback" not in result.stderr


def test_training_settings_are_not_inherited_from_the_initial_checkpoint(midi_folder, tmp_path):
    import tensorflow as tf

    from rnn_rbm.config import ModelConfig, RunConfig, TrainConfig
    from rnn_rbm.engine import checkpoint
    from rnn_rbm.models.rnn_rbm import RnnRbm

    held = RunConfig(data_source=str(midi_folder), model=ModelConfig(n_hidden=5, n_recurrent=3),
                     train=TrainConfig(batch_size=3, learning_rate=0.5))
    checkpoint.save(tmp_path / "parameter_checkpoints" / "initial.ckpt", held,
                    model=RnnRbm.from_config(held, tf.random.Generator.from_seed(0)))
    result = run("rnn_rbm_train.py", "1", "--cd_k", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    config = json.loads((tmp_path / "parameter_checkpoints" / "config.json").read_text())
    assert config["model"]["n_hidden"] == 5 and config["data_source"] == str(midi_folder)
    assert config["train"]["batch_size"] == TrainConfig().batch_size
    assert config["train"]["learning_rate"] == TrainConfig().learning_rate


def test_help_gives_each_settings_declared_default(capsys):
    """The flags of the settings are made from their declarations: a help text cannot give
    another default than the setting's, nor forget a model's own."""
    import dataclasses

    from rnn_rbm import cli
    from rnn_rbm.config import GenerateConfig, RunConfig

    assert cli.declared_default("train.scheduled_sampling") == "default 0.25 for rnn_rbm; 0 for the others"
    assert cli.declared_default("train.cd_k") == "default 15"
    assert cli.declared_default("generate.gibbs_steps") == f"default {GenerateConfig().gibbs_steps}"
    for main, flags in ((cli.pretrain_main, cli.PRETRAIN_FLAGS), (cli.train_main, cli.TRAIN_FLAGS),
                        (cli.generate_main, cli.GENERATE_FLAGS), (cli.evaluate_main, cli.EVALUATE_FLAGS)):
        with pytest.raises(SystemExit):
            main(["--help"])
        text = " ".join(capsys.readouterr().out.split())
        for flag in flags:
            section, name = flag.setting.split(".")
            holder = GenerateConfig() if section == "generate" else getattr(RunConfig(), section)
            assert name in {f.name for f in dataclasses.fields(holder)}  # a flag sets a real setting
            assert f"--{name} " in text and cli.declared_default(flag.setting) + ")" in text


def test_renamed_generation_flag_still_works_with_a_notice(capsys):
    from rnn_rbm.cli import generate_main

    with pytest.raises(SystemExit):
        generate_main(["missing.ckpt", "--tempo", "90"])
    err = capsys.readouterr().err
    assert "notice: --tempo is now --tempo_bpm" in err and "no checkpoint at missing.ckpt" in err
