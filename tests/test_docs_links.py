"""The documentation's links and script names point to files that exist: every relative
markdown link of README.md, docs/*.md and experiments/*.md (the file part; an anchor is
not checked), and every benchmarks/X.py or experiments/X.py they name."""

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


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_named_scripts_exist(page):
    missing = sorted({s for s in SCRIPT.findall(page.read_text()) if not (ROOT / s).is_file()})
    assert not missing, f"{_name(page)} names scripts that do not exist: {missing}"


def test_the_checks_catch_what_they_forbid():
    text = "[a](docs/x.md#y) [b](https://e.org) `[c](no.md)` [d](#here)\n```\n[e](gone.md)\n```\n"
    assert relative_links(text) == ["docs/x.md#y", "#here"]
    named = "python benchmarks/table1.py and experiments/sharpness.py, not rnn_rbm/benchmarks/x.py"
    assert SCRIPT.findall(named) == ["benchmarks/table1.py", "experiments/sharpness.py"]
