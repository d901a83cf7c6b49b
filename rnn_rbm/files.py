"""Writing files so that a reader, or a run killed mid-write, never sees half of one, and
figures in a form JSON can hold."""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yields a temporary path `.<name>.<pid>.tmp` beside `path` to write the new file to; when
    the block ends without an error it is renamed over `path` (the file is either the old one
    or the new one, whole), and after an error (disk full, interrupted) it is removed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Writes `text` (UTF-8) to `path` through `replacing`."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def json_number(value: float) -> float | None:
    """Returns: value, or None (JSON null) where it is nan or infinite, which JSON cannot hold."""
    return value if math.isfinite(value) else None
