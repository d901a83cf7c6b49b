"""Harmonisation judged against Bach: the soprano of each held-out chorale given, how close
are the other three voices each model writes? (rnn_rbm/tasks/harmonise.py says what each
measure is.)

    python benchmarks/harmonisation.py [CKPT ...] [--draws 4] [--candidates 64] [--particles 64]
        [--avoid_parallels] [--ais_chains 32] [--ais_temperatures 300] [--seed 0] [--examples 3] [--out_dir D]
        [--publish]

Rows: Bach himself (the reference: his voice leading, his ranges), the counting baseline
(the most frequent lower notes under each soprano degree of the key in the training
chorales), then each checkpoint (trained on the Bach default): its draws, and the consensus
of --candidates draws at each step (given the soprano's past and present), and for a model
with an exact likelihood the vote of --particles particles weighed by the whole soprano
(a particle filter). Token models get a row saying why they cannot hold a
given voice. Measured on all held-out chorales and on those whose tune no training chorale
sets. Writes a record (--record, default results/harmonisation_<date_time>.record.json);
--publish copies it to records/harmonisation/harmonisation.json, from which
benchmarks/render_docs.py renders the published table. A few chorales' harmonisations go to
the results page in --out_dir (default results/harmonisation) with pictures and, where
FluidSynth is installed, audio. Prints the table, the targets, then one JSON line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_rbm import quiet, records  # noqa: E402
from rnn_rbm.tasks.harmonise import HarmoniseSettings  # noqa: E402


def main() -> None:
    defaults = HarmoniseSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", metavar="CKPT",
                        help="checkpoints trained on the Bach default (a prefix or a run's folder)")
    parser.add_argument("--draws", type=int, default=defaults.draws,
                        help=f"harmonisations drawn per chorale (default {defaults.draws})")
    parser.add_argument("--candidates", type=int, default=defaults.candidates,
                        help=f"draws per step of the consensus row, 0 for none (default {defaults.candidates})")
    parser.add_argument("--particles", type=int, default=defaults.particles,
                        help="particles of the row that weighs harmonisations by the whole soprano, for the models "
                        f"with an exact likelihood; 0 for none (default {defaults.particles})")
    parser.add_argument("--avoid_parallels", action="store_true", help="the consensus and particle rows choose "
                        "each frame's voices together, none moving in parallel fifths or octaves from the frame "
                        "before where the draws allow")
    parser.add_argument("--temperature", type=float, default=defaults.temperature)
    parser.add_argument("--gibbs_steps", type=int, help="Gibbs steps per frame of the RNN-RBM (default generation's)")
    parser.add_argument("--ais_chains", type=int, default=defaults.ais_chains,
                        help=f"AIS chains per frame of the RNN-RBM's likelihood (default {defaults.ais_chains})")
    parser.add_argument("--ais_temperatures", type=int, default=defaults.ais_temperatures,
                        help=f"AIS temperatures (default {defaults.ais_temperatures})")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--examples", type=int, default=3,
                        help="chorales with a new tune written to the results page (default 3; 0 for none)")
    parser.add_argument("--out_dir", type=Path, default=ROOT / "results" / "harmonisation",
                        help="the results page's folder (default results/harmonisation)")
    parser.add_argument("--publish", action="store_true", help="copy the record to records/harmonisation/")
    records.add_record_flag(parser, "harmonisation")
    quiet.add_verbose_flag(parser)
    args = parser.parse_args()
    quiet.setup(verbose=args.verbose, quiet=True)

    from rnn_rbm.engine.checkpoint import resolve
    from rnn_rbm.errors import UserError
    from rnn_rbm.outputs.recordtables import harmonisation
    from rnn_rbm.tasks.harmonise import harmonise_task, write_examples

    settings = HarmoniseSettings(args.draws, args.temperature, args.candidates, args.gibbs_steps, args.ais_chains,
                                 args.ais_temperatures, args.seed, args.particles, args.avoid_parallels)
    record = records.Record(settings={**dataclasses.asdict(settings), "checkpoints": [str(c) for c in args.checkpoints]})
    try:
        harmonised = harmonise_task([str(c) for c in args.checkpoints], settings, record=record, progress=False)
        record.results.update(harmonised.to_json())
        record.results["checkpoint_records"] = {str(c): records.training_records(str(resolve(c))) for c in args.checkpoints}
        if args.examples:
            with record.phase("examples"):
                page = write_examples(harmonised, args.out_dir, args.examples,
                                      command=shlex.join(["python", *sys.argv]))
            print(f"results page {page}", file=sys.stderr)
    except UserError as exc:
        sys.exit(f"error: {exc}")
    path = records.save(args.record, "harmonisation", record)
    if args.publish:
        records.publish(path, ROOT, "harmonisation/harmonisation.json")
    written = json.loads(path.read_text())
    print(harmonisation([(str(path), written)]))
    print(json.dumps({k: written["results"][k] for k in ("chorales", "new_tunes", "rows", "targets")}))


if __name__ == "__main__":
    main()
