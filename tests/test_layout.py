"""The package's layering (README, "Layout"): each folder imports only the folders before it
in LAYERS and the shared modules; a model never imports another model, a task never another
task; nothing but the entry points imports the command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rnn_rbm"
LAYERS = ["music", "outputs", "transcription", "data", "ops", "models", "engine", "tasks"]
SHARED = {"config", "errors", "seeding", "files", "records"}  # imported by any floor; import only each other
TOP = {"quiet", "cli"}  # the terminal and argv: may import anything


def _modules() -> dict[str, Path]:
    return {".".join(path.relative_to(PACKAGE).with_suffix("").parts): path
            for path in sorted(PACKAGE.rglob("*.py")) if path.name != "__init__.py"}


def _imports(path: Path) -> set[str]:
    """Returns: the rnn_rbm modules `path` imports, as dotted names below rnn_rbm."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "rnn_rbm":
            below = node.module.split(".")[1:]
            for alias in node.names:
                # `from rnn_rbm.ops import rbm` names a module; `from rnn_rbm.ops.rbm import x` a member.
                name = ".".join([*below, alias.name])
                found.add(name if (PACKAGE / Path(*name.split("."))).with_suffix(".py").exists() else ".".join(below))
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".", 1)[1] for a in node.names if a.name.startswith("rnn_rbm.")}
    return found


def _allowed(importer: str, imported: str) -> bool:
    floor, target = importer.split(".")[0], imported.split(".")[0]
    if target in SHARED:
        return True
    if floor in SHARED:
        return False
    if floor in TOP:
        return target != "cli" or importer == "cli"
    if target in TOP or target not in LAYERS:
        return False
    if LAYERS.index(target) > LAYERS.index(floor):
        return False
    if floor == target == "models":
        # Never sideways between two models: each uses the interface, the registry uses all.
        return imported.split(".")[1] == "base" or importer.split(".")[1] == "registry"
    if floor == target == "tasks":
        return False
    return True


MODULES = _modules()


@pytest.mark.parametrize("importer", sorted(MODULES))
def test_imports_follow_the_layers(importer):
    wrong = sorted(i for i in _imports(MODULES[importer]) if not _allowed(importer, i))
    assert not wrong, f"rnn_rbm.{importer} imports {wrong} against the layering"


def test_every_module_lives_in_a_layer():
    loose = sorted(m for m in MODULES if "." not in m and m not in SHARED | TOP)
    assert not loose, f"modules outside the layers: {loose}"


def test_the_rule_catches_what_it_forbids():
    assert not _allowed("engine.trainer", "tasks.train")  # up
    assert not _allowed("models.lstm", "models.rnn_nade")  # sideways between models
    assert not _allowed("tasks.train", "tasks.pretrain")  # sideways between tasks
    assert not _allowed("config", "engine.checkpoint")  # shared modules import nothing above
    assert _allowed("models.registry", "models.lstm") and _allowed("models.lstm", "models.base")
    assert _allowed("tasks.generate", "outputs.samples") and _allowed("engine.trainer", "outputs.plots")
