"""Run records: what a run was (its full settings, the code's revision, the machine), how
long each phase took, and the figures it measured, as one JSON file beside its outputs.

Every command writes one (weight_initializations.py, rnn_rbm_train.py,
rnn_rbm_evaluate.py, and each run of the benchmarks). Published figures are records
committed under records/, and the tables of README.md and docs/ are rendered from them
(benchmarks/render_docs.py), never typed in: a reader can see which run gave a number,
with what, on what, and run the same command again.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from rnn_rbm.errors import UserError
from rnn_rbm.files import write_text_atomic

RECORD_VERSION = 1
# The repository whose revision a record names: the one holding this package.
REPOSITORY = Path(__file__).resolve().parents[1]


def revision() -> dict[str, Any]:
    """Returns: {"commit": the git commit of the package's repository (None outside one),
    "dirty": whether tracked files differ from it, other than the published records and
    checkpoints (records/, pretrained/), which runs write and which are not code}."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPOSITORY, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                  ":(exclude)records", ":(exclude)pretrained"], cwd=REPOSITORY,
                                 capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(changed)}


def _processor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def machine() -> dict[str, Any]:
    """Returns: the machine a run ran on: cores, processor, memory (GiB), system, and the
    versions of Python and TensorFlow (TensorFlow's only where it is already imported: a
    record never loads it)."""
    tensorflow = sys.modules.get("tensorflow")
    return {"cores": os.cpu_count(), "processor": _processor(), "memory_gib": _memory_gib(),
            "system": platform.platform(), "python": platform.python_version(),
            "tensorflow": getattr(tensorflow, "__version__", None)}


def peak_memory_mib() -> float:
    """Returns: the largest resident memory of this process or of any child it waited for
    (the converting workers), MiB: what /usr/bin/time -v calls its maximum resident set."""
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    most = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return most * scale / 2**20


def plain(value: Any) -> Any:
    """Returns: `value` with every float that JSON cannot hold (nan, inf) as None, numpy
    scalars as Python numbers, tuples as lists, Paths as text, recursively."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class Record:
    """One run being recorded: `phase` times its parts, `results` collects its figures,
    `write` stores it. `command` is how the run was started (argv, the script first)."""

    command: list[str] = field(default_factory=lambda: list(sys.argv))
    settings: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)  # seconds by phase
    results: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    # The code the run loaded: read when it starts, not when its record is written (a long
    # run's repository may have moved on by then).
    revision: dict[str, Any] = field(default_factory=revision)
    _clock: float = field(default_factory=time.perf_counter, repr=False)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Adds the seconds spent in the `with` block to phase `name` (also when it raises)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - started

    def to_json(self) -> dict[str, Any]:
        """Returns: the record as a JSON-able dict; wall_seconds counts from its start to now."""
        return plain({
            "record_version": RECORD_VERSION,
            "command": shlex.join([Path(self.command[0]).name if self.command else "?", *self.command[1:]]),
            "revision": self.revision,
            "machine": machine(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "wall_seconds": time.perf_counter() - self._clock,
            "peak_memory_mib": peak_memory_mib(),
            # Other work on the machine slows a run: the load when it ended (1, 5, 15 minutes).
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "phases": self.phases,
            "settings": self.settings,
            "results": self.results,
        })

    def write(self, path: Path) -> Path:
        """Writes the record to `path` whole or not at all (files.write_text_atomic).

        Returns: path.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(self.to_json(), indent=2, sort_keys=True, allow_nan=False) + "\n")
        return path


def stamped_path(folder: Path, what: str) -> Path:
    """Returns: folder/<what>_<UTC date_time>.record.json, a new name for each run (a number
    added where two runs start in the same second)."""
    stamp = time.strftime("%Y-%m-%d_%H%M%S", time.gmtime())
    path = folder / f"{what}_{stamp}.record.json"
    count = 1
    while path.exists():
        count += 1
        path = folder / f"{what}_{stamp}_{count}.record.json"
    return path


def load(path: Path) -> dict[str, Any]:
    """Reads a record written by Record.write.

    Returns: its dict. Raises UserError when the file is missing or is not a record.
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable run record ({exc})") from None
    if not isinstance(raw, dict) or raw.get("record_version") != RECORD_VERSION:
        raise UserError(f"{path}: not a run record of version {RECORD_VERSION}")
    return raw


def add_record_flag(parser: Any, what: str) -> None:
    """Adds --record FILE to a benchmark's argparse parser (default: a new
    results/<what>_<date_time>.record.json)."""
    parser.add_argument("--record", type=Path, metavar="FILE", help="where the run's record goes (default a new "
                        f"results/{what}_<date_time>.record.json)")


def save(record_flag: Path | None, what: str, record: Record) -> Path:
    """Writes a benchmark's record to --record, or to a new results/<what>_<date_time>.record.json.

    Returns: the path written.
    """
    return record.write(record_flag or stamped_path(Path("results"), what))


def training_records(prefix: str) -> dict:
    """Returns: the records of the commands that made checkpoint `prefix`, found beside it:
    {"pretrain": the newest pretrain record, "train": the newest train record} (where there are
    some), each trimmed to its command, wall time, phases and results."""
    found = {}
    for what in ("pretrain", "train"):
        paths = sorted(Path(prefix).parent.glob(f"{what}_*.record.json"))
        if paths:
            record = load(paths[-1])
            found[what] = {key: record[key] for key in ("command", "wall_seconds", "phases", "results", "revision")}
            found[what]["record"] = paths[-1].name
    return found


def publish(path: Path, root: Path, name: str) -> Path:
    """Copies the record at `path` to root/records/NAME (e.g. "baselines/baselines.json"), where
    benchmarks/render_docs.py renders the docs' tables from, and says so on stderr.

    Returns: the copy's path.
    """
    import shutil

    target = Path(root) / "records" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    print(f"published {target.relative_to(root)}", file=sys.stderr)
    return target
