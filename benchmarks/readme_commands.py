"""What the README's two opening commands cost a new user: each run as written, wall clock,
in a fresh clone of this repository's HEAD, with an empty roll cache and no pip cache.

    python benchmarks/readme_commands.py [--which main tests] [--publish]

`main` is the first command (set-up, pretraining, training, generation), `tests` the second
(set-up, the test suite). Each run writes a record (the command, revision, machine, wall
seconds, exit code) to the clone's folder; --publish copies it to
records/commands/<which>.json, from which benchmarks/render_docs.py renders the README's
sentence. Run it on an otherwise idle machine: it times everything, the downloads included.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_rbm.records import Record, publish  # noqa: E402

WHICH = ("main", "tests")


def readme_commands(root: Path) -> dict[str, str]:
    """Returns: {"main": the README's first ```bash block, "tests": its second}."""
    blocks = re.findall(r"```bash\n(.*?)```", (root / "README.md").read_text(), flags=re.S)[:2]
    return dict(zip(WHICH, (block.strip() for block in blocks)))


def time_command(which: str, command: str, keep: bool) -> tuple[Path, Record]:
    """Runs `command` with bash in a fresh clone of ROOT's HEAD (empty roll cache, no pip
    cache; ../shared beside the clone where ROOT has one, as CI has), timing it whole.

    Returns: (the record's path, the record).
    """
    work = Path(tempfile.mkdtemp(prefix="rnn_rbm_readme_"))
    clone = work / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    if (ROOT.parent / "shared").is_dir():
        (work / "shared").symlink_to(ROOT.parent / "shared")
    environment = {**os.environ, "RNN_RBM_CACHE": str(work / "roll_cache"), "PIP_NO_CACHE_DIR": "1"}
    record = Record(command=[f"benchmarks/{Path(__file__).name}", "--which", which],
                    settings={"which": which, "command": command})
    print(f"{which}: running in {clone}", flush=True)
    with record.phase("command"):
        finished = subprocess.run(["bash", "-c", command], cwd=clone, env=environment)
    record.results = {"which": which, "seconds": record.phases["command"], "exit_code": finished.returncode,
                      "fresh_clone": True, "pip_cache": False, "roll_cache": "empty"}
    path = record.write(work / f"{which}.record.json")
    if not keep:
        shutil.rmtree(clone, ignore_errors=True)
    return path, record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--which", nargs="+", choices=WHICH, default=["main"], help="which command (default main)")
    parser.add_argument("--publish", action="store_true", help="copy each record to records/commands/<which>.json")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its outputs) for a look")
    args = parser.parse_args()
    commands = readme_commands(ROOT)
    failed = False
    for which in args.which:
        path, record = time_command(which, commands[which], args.keep)
        seconds, code = record.results["seconds"], record.results["exit_code"]
        print(f"{which}: {seconds // 60:.0f} min {seconds % 60:.0f} s, exit code {code}; record {path}")
        failed |= code != 0
        if args.publish and code == 0:
            publish(path, ROOT, f"commands/{which}.json")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
