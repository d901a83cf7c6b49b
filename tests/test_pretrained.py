"""The models published with the code (pretrained/<set>/<model>/): each loads, carries the
record of the run that made it (the same as the published one), and gives its figures again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tensorflow as tf

from rnn_rbm.config import GenerateConfig, Overrides, RunConfig
from rnn_rbm.data.dataset import Loading
from rnn_rbm.engine import checkpoint
from rnn_rbm.models import registry
from rnn_rbm.tasks.evaluate import evaluate_task
from rnn_rbm.tasks.generate import GenerateRequest, generate_task

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = sorted(path.parent for path in (ROOT / "pretrained").glob(f"*/*/{checkpoint.MODEL_CHECKPOINT}.index"))


def test_there_are_published_models():
    assert PUBLISHED


@pytest.mark.parametrize("folder", PUBLISHED, ids=lambda folder: f"{folder.parent.name}/{folder.name}")
def test_a_published_model_loads_with_its_record(folder):
    config = checkpoint.load_config(folder)
    assert (config.data_source, config.model.family) == (folder.parent.name, folder.name)
    model = registry.build(config, tf.random.Generator.from_seed(0))
    checkpoint.restore(folder, model=model)
    held = {name for name, _ in tf.train.list_variables(str(checkpoint.resolve(folder)))}
    assert not any(name.startswith(("optimizer", "rng", "progress")) for name in held)  # weights and settings only
    record = (folder / "record.json").read_bytes()
    assert record == (ROOT / "records" / "table1" / folder.parent.name / f"{folder.name}.json").read_bytes()
    # Read as a checkpoint's config is read: sections added since the run take their defaults.
    assert RunConfig.from_json(json.dumps(json.loads(record)["settings"])) == config


def test_a_published_exact_model_gives_its_figure_again(tmp_path):
    folder = ROOT / "pretrained" / "jsb" / "lstm"
    record = json.loads((folder / "record.json").read_text())
    measured = evaluate_task(folder, "test", Overrides(), {}, Loading(tmp_path, progress=False))
    assert measured.figures()["nll"] == pytest.approx(record["results"]["nll"], abs=1e-5)
    assert measured.figures()["acc"] == pytest.approx(record["results"]["acc"], abs=1e-9)


def test_a_published_model_writes_music(tmp_path):
    folder = ROOT / "pretrained" / "jsb" / "rnn_nade"
    generated = generate_task(GenerateRequest(folder, tmp_path, GenerateConfig(num_steps=8), seed=1), progress=False)
    assert len(generated.files) == 1 and generated.files[0].midi.stat().st_size > 0
