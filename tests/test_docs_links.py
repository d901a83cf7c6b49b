"""The documentation's links and script names point to files that exist: every relative
markdown link of README.md, docs/*.md and experiments/*.md (the file part; an anchor is
not checked), and every benchmarks/X.py or experiments/X.py they name (an experiment note,
which keeps the commands of its date, may also name a script that experiments/README.md
lists as retired, with a revision that has it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "experiments").glob("*.md")])

FENCED = re.compile(r"^(```|~~~).*?^\1", flags=re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# [text](target) or ![alt](target "title"); the target ends at whitespace or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCRIPT = re.compile(r"(?<![\w./-])((?:benchmarks|experiments)/[\w./-]*?\w\.py)\b")
# A row of experiments/README.md's "Retired scripts": | `SCRIPT` | REVISION | today |
RETIRED_ROW = re.compile(r"^\| `((?:benchmarks|experiments)/[\w./-]+\.py)` \| ([0-9a-f]{7,40}) \|", flags=re.M)


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def relative_links(text: str) -> list[str]:
    """Returns: the targets of the markdown links of `text` outside code, external ones
    (with a scheme, or mailto:) left out."""
    prose = INLINE_CODE.sub("", FENCED.sub("", text))
    return [t for t in LINK.findall(prose) if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", t)]


def test_the_pages_are_there():
    names = {_name(p) for p in PAGES}
    assert {"README.md", "docs/usage.md", "docs/models.md", "docs/evaluation.md",
            "docs/architecture.md", "docs/results.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_relative_links_point_to_existing_files(page):
    missing = []
    for target in relative_links(page.read_text()):
        path = target.split("#", 1)[0]
        if path and not (page.parent / path).exists():
            missing.append(target)
    assert not missing, f"{_name(page)} links to missing files: {missing}"


def retired_scripts() -> set[str]:
    """Returns: the scripts experiments/README.md lists as retired (under "## Retired scripts")."""
    text = (ROOT / "experiments" / "README.md").read_text()
    return {script for script, _ in RETIRED_ROW.findall(text.partition("## Retired scripts")[2])}


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_named_scripts_exist(page):
    allowed = retired_scripts() if _name(page).startswith("experiments/") else set()
    missing = sorted({s for s in SCRIPT.findall(page.read_text()) if not (ROOT / s).is_file()} - allowed)
    assert not missing, f"{_name(page)} names scripts that do not exist: {missing}"


def test_a_retired_script_is_gone_and_named_with_a_revision():
    retired = retired_scripts()
    assert "benchmarks/independent_rnn.py" in retired
    assert not any((ROOT / script).exists() for script in retired)


def test_the_checks_catch_what_they_forbid():
    text = "[a](docs/x.md#y) [b](https://e.org) `[c](no.md)` [d](#here)\n```\n[e](gone.md)\n```\n"
    assert relative_links(text) == ["docs/x.md#y", "#here"]
    named = "python benchmarks/table1.py and experiments/sharpness.py, not rnn_rbm/benchmarks/x.py"
    assert SCRIPT.findall(named) == ["benchmarks/table1.py", "experiments/sharpness.py"]
