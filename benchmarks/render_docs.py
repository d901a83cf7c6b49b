"""Fills the rendered blocks of README.md and docs/*.md from the committed run records.

    python benchmarks/render_docs.py          # rewrite the blocks
    python benchmarks/render_docs.py --check  # exit 1 naming each file whose blocks are stale

A block is the text between `<!-- rendered: NAME -->` and `<!-- end rendered: NAME -->`;
rnn_rbm/outputs/recordtables.py renders each NAME from the records under records/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_rbm.outputs.recordtables import render  # noqa: E402


def documents(root: Path) -> list[Path]:
    """Returns: the markdown files that may hold rendered blocks: README.md and docs/*.md."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def stale(root: Path) -> list[Path]:
    """Returns: the documents whose blocks differ from what their records render."""
    return [path for path in documents(root) if render(path.read_text(), root, path) != path.read_text()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a block is stale")
    args = parser.parse_args()
    if args.check:
        behind = stale(ROOT)
        for path in behind:
            print(f"{path.relative_to(ROOT)}: rendered blocks differ from the records; "
                  "run python benchmarks/render_docs.py", file=sys.stderr)
        sys.exit(1 if behind else 0)
    for path in documents(ROOT):
        text = path.read_text()
        new = render(text, ROOT, path)
        if new != text:
            path.write_text(new)
            print(f"rendered {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
