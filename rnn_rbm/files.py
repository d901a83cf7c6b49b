"""Writing files so that a reader, or a run killed mid-write, never sees half of one, and
figures in a form JSON can hold."""

from __future__ import annotations

import math
import os
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """Writes `text` (UTF-8) to a temporary file `.<name>.<pid>.tmp` beside `path`, then renames
    it over `path`: the file is either the old one or the new one, whole."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def json_number(value: float) -> float | None:
    """Returns: value, or None (JSON null) where it is nan or infinite, which JSON cannot hold."""
    return value if math.isfinite(value) else None
