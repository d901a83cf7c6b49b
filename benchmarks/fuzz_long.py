"""Fuzzes the MIDI loader: mutated and generated files, each checked against its contract
(a valid roll or the project's own BadMidiError/UserError; see tests/midi_mutations.py)
under a memory cap and a per-case time limit.

    python benchmarks/fuzz_long.py --seconds 600            # the long run
    python benchmarks/fuzz_long.py --cases 400 --seed 0     # what tests/test_fuzz.py runs

Prints cases tried, outcomes and failures by kind, the commonest reasons for rejection,
the slowest case and the peak RSS, then one JSON line with the same. The first case of each
failure kind, and the slowest case, go to --save_dir so that they can become regression
tests. Exit code 1 when any case failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import midi_mutations  # noqa: E402

from rnn_rbm import records  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10**9, help="stop after this many cases")
    parser.add_argument("--seconds", type=float, default=float("inf"), help="stop after this long")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory_mib", type=int, default=1024,
                        help="address space allowed on top of what the process holds at the start")
    parser.add_argument("--case_timeout", type=float, default=30.0, help="seconds one case may take")
    parser.add_argument("--real_midi", type=Path, help="folder of *.mid to mutate as well (default: "
                        "music21's test files; 'none' for the in-memory seeds only)")
    parser.add_argument("--save_dir", type=Path, help="write each failure kind's first case here")
    parser.add_argument("--reasons", type=int, default=15, help="most common reasons for rejection to print")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    records.add_record_flag(parser, "fuzz_long")
    args = parser.parse_args(argv)
    record = records.Record(settings={"benchmark": vars(args)})

    seeds = midi_mutations.seed_files()
    if str(args.real_midi) != "none":
        seeds += midi_mutations.real_files(args.real_midi)
    cap = midi_mutations.limit_memory(args.memory_mib * 2**20)
    report = midi_mutations.run(seeds, args.cases, args.seed, args.seconds, args.case_timeout)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    took, slow_how, slow_data = report.slowest
    result = {
        "cases": report.cases, "seconds": round(report.seconds, 1), "seed": args.seed, "seeds": len(seeds),
        "outcomes": dict(report.outcomes),
        "failures": {kind: f"{how}: {detail}" for kind, (how, detail, _) in report.failures.items()},
        "slowest": {"seconds": round(took, 3), "mutations": slow_how, "bytes": len(slow_data)},
        "peak_rss_mib": round(peak_mib), "address_space_cap_mib": cap // 2**20,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    if args.save_dir:
        args.save_dir.mkdir(parents=True, exist_ok=True)
        (args.save_dir / "slowest.mid").write_bytes(slow_data)
        for index, (kind, (how, detail, data)) in enumerate(sorted(report.failures.items())):
            (args.save_dir / f"failure_{index}.mid").write_bytes(data)
            (args.save_dir / f"failure_{index}.txt").write_text(f"{kind}\n{how}\n{detail}\n")
    if not args.json:
        print(f"{report.cases} cases in {report.seconds:.0f} s (seed {args.seed}, {len(seeds)} seed files, "
              f"{result['machine']})")
        for kind, count in report.outcomes.most_common():
            print(f"  {count:8d}  {kind}")
        print("most common reasons for rejection:")
        for reason, count in report.reasons.most_common(args.reasons):
            print(f"  {count:8d}  {reason}")
        for kind, (how, detail, data) in report.failures.items():
            print(f"FAILURE {kind}: {detail} (first from {how}, {len(data)} bytes)")
        print(f"slowest case {took:.2f} s ({slow_how}, {len(slow_data)} bytes); peak RSS {peak_mib:.0f} MiB "
              f"(address space capped at {cap // 2**20} MiB)")
    print(json.dumps(result))
    record.results = result
    print(f"record {records.save(args.record, 'fuzz_long', record)}", file=sys.stderr)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
