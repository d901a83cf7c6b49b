"""The results page: `index.html` in a generation folder, rebuilt from every run's manifest.

Each generation run leaves `<run>.run.json` beside its files: the checkpoint, seed and
settings that made them, and the names of its MIDI, WAV and PNG files. The page is
rebuilt from all manifests of the folder on every run, so runs into the same folder
add up and none is lost. Links are bare file names, relative to the page, so the
folder can be zipped or served as it is; a file deleted since is named, not linked.
Everything taken from a manifest is escaped.
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from urllib.parse import quote

from rnn_rbm.errors import UserError
from rnn_rbm.files import write_text_atomic
from rnn_rbm.music.samplestats import MEASURES
from rnn_rbm.outputs.statstable import number

log = logging.getLogger(__name__)

PAGE = "index.html"
MANIFEST_SUFFIX = ".run.json"
MANIFEST_FORMAT = 1
# The page's first line: only a page that starts with it is ours to overwrite.
MARKER = "<!-- rnn-rbm results page: rebuilt from the *.run.json files of this folder -->"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
section.run { border-top: 1px solid #ccc; margin-top: 2em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { color: #555; } dd { margin: 0; }
code { background: #f3f3f3; padding: 0.1em 0.3em; word-break: break-all; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
audio { display: block; margin: 0.5em 0; width: 100%; max-width: 40em; }
.missing { color: #a33; }
table { border-collapse: collapse; font-size: 0.9em; } caption { text-align: left; color: #555; }
th, td { padding: 0.15em 0.8em; text-align: right; } th:first-child, td:first-child { text-align: left; }
"""


def check_page(out_dir: Path) -> None:
    """Raises UserError when out_dir holds an index.html this project did not write
    (it will not be overwritten)."""
    page = out_dir / PAGE
    if page.exists():
        with open(page, errors="replace") as f:
            if f.readline().strip() != MARKER:
                raise UserError(f"{page} exists and is not a results page of rnn-rbm; "
                                "choose another --out_dir or move that file")


def write_manifest(out_dir: Path, record: dict) -> Path:
    """Writes one run's record (keys: run, created, checkpoint, seed, settings, command,
    primer, melody, synth, samples: [{midi, wav, png, frames, polyphony, stats}], sample_stats
    (samplestats.Report.to_json with the reference's name), stats_png; file names relative
    to out_dir) as `<run>.run.json`.

    Returns: the manifest's path.
    """
    path = out_dir / f"{record['run']}{MANIFEST_SUFFIX}"
    write_text_atomic(path, json.dumps({"format": MANIFEST_FORMAT, **record}, indent=2, sort_keys=True) + "\n")
    return path


def read_manifests(out_dir: Path) -> list[dict]:
    """Reads every manifest of out_dir; one that cannot be read is named in a warning and left out.

    Returns: the records, newest run first.
    """
    records = []
    for path in out_dir.glob(f"*{MANIFEST_SUFFIX}"):
        try:
            record = json.loads(path.read_text())
            if not isinstance(record, dict) or not isinstance(record.get("samples"), list):
                raise ValueError("not a run manifest")
        except (OSError, ValueError) as exc:
            log.warning("results page: left out %s (%s)", path.name, exc)
            continue
        records.append(record)
    return sorted(records, key=lambda r: (str(r.get("created", "")), str(r.get("run", ""))), reverse=True)


def rebuild_index(out_dir: Path) -> Path:
    """Writes out_dir/index.html from all manifests there.

    Returns: the page's path.
    """
    records = read_manifests(out_dir)
    runs = "\n".join(_run_section(out_dir, r) for r in records) or "<p>No generation run yet.</p>"
    page = f"""{MARKER}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rnn-rbm results</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>rnn-rbm results</h1>
<p>{len(records)} run{"" if len(records) == 1 else "s"} (generated pieces, transcriptions), newest first.
Pictures: primer grey, held melody orange, generated blue; time in beats.</p>
{runs}
</body>
</html>
"""
    path = out_dir / PAGE
    write_text_atomic(path, page)
    return path


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _link(out_dir: Path, name: object) -> str | None:
    """Returns: the escaped relative URL of a file of out_dir, or None when it is not there."""
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    return _e(quote(name)) if (out_dir / name).is_file() else None


def _run_section(out_dir: Path, record: dict) -> str:
    settings = record.get("settings") or {}
    facts = [("kind", record.get("kind")), ("audio", record.get("audio")),  # a transcription run's
             ("checkpoint", record.get("checkpoint")), ("prior", record.get("prior")),
             ("data", record.get("data")), ("seed", record.get("seed")),
             ("created", record.get("created")), ("primer", record.get("primer")),
             ("melody", record.get("melody")), ("sound", record.get("synth"))]
    facts += [(key, value) for key, value in sorted(settings.items())] if isinstance(settings, dict) else []
    rows = "\n".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts if v is not None)
    command = record.get("command")
    again = f"<p>Same music again: <code>{_e(command)}</code></p>" if command else ""
    samples = "\n".join(_sample_figure(out_dir, s) for s in record["samples"] if isinstance(s, dict))
    return f"""<section class="run" id="{_e(quote(str(record.get("run", ""))))}">
<h2>Run {_e(record.get("run", "?"))}</h2>
<dl>
{rows}
</dl>
{again}
{_stats_table(out_dir, record)}
{samples}
</section>"""


def _stats_table(out_dir: Path, record: dict) -> str:
    """The run's sample statistics (record["sample_stats"], see samplestats.Report.to_json)
    as a table, with the picture of them (record["stats_png"]) when it is there."""
    stats = record.get("sample_stats")
    measures = stats.get("measures") if isinstance(stats, dict) else None
    if not isinstance(measures, dict):
        return ""
    reference = stats.get("reference")

    def both(m: dict, mean: str, sd: str) -> str:
        return f"{_number(m.get(mean))} ± {_number(m.get(sd))}" if _is_number(m.get(mean)) else "-"

    known = [m.key for m in MEASURES]  # the manifest's keys are sorted: show them in the measures' order
    rows = []
    for key in sorted(measures, key=lambda k: known.index(k) if k in known else len(known)):
        m = measures[key]
        if not isinstance(m, dict):
            continue
        drift = f"{_number(m.get('first'))} → {_number(m.get('last'))}"
        cells = [m.get("label", key), both(m, "mean", "sd")]
        if reference:
            cells += [both(m, "ref_mean", "ref_sd"), _number(m.get("overlap"))]
            drift += f" (reference {_number(m.get('ref_first'))} → {_number(m.get('ref_last'))})"
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells + [drift]) + "</tr>")
    head = ["measure", "samples"] + (["reference", "overlap"] if reference else []) + ["first → last quarter"]
    against = (f"against {_e(reference)}; overlap: the overlapping area of the two distributions over "
               "pieces (1 = indistinguishable)" if reference
               else "no reference: the training data was not in the roll cache")
    picture = _link(out_dir, record.get("stats_png"))
    image = f'<img src="{picture}" alt="histograms of the sample statistics" loading="lazy">' if picture else ""
    return f"""<figure class="stats">
<table>
<caption>Sample statistics, mean ± sd over the pieces of this run, {against}</caption>
<tr>{"".join(f"<th>{_e(h)}</th>" for h in head)}</tr>
{chr(10).join(rows)}
</table>
{image}
</figure>"""


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value: object) -> str:
    """Returns: a manifest's number as statstable prints it, '-' for anything else."""
    try:
        return number(float(value)) if _is_number(value) else "-"
    except OverflowError:  # an int of hundreds of digits
        return "-"


def _sample_figure(out_dir: Path, sample: dict) -> str:
    midi_name = sample.get("midi", "?")
    parts = []
    png = _link(out_dir, sample.get("png"))
    if png:
        parts.append(f'<img src="{png}" alt="piano roll of {_e(midi_name)}" loading="lazy">')
    wav = _link(out_dir, sample.get("wav"))
    if wav:
        parts.append(f'<audio controls preload="metadata" src="{wav}"></audio>')
    midi = _link(out_dir, midi_name)
    links = [f'<a href="{midi}" download>MIDI</a>' if midi else f'<span class="missing">{_e(midi_name)} (gone)</span>']
    if wav:
        links.append(f'<a href="{wav}" download>WAV</a>')
    if not png and not wav:
        links.append("(no picture or sound: generate with --plot --audio)")
    details = [f"{sample[k]} {label}" for k, label in (("frames", "frames"), ("polyphony", "notes per sounding frame"))
               if isinstance(sample.get(k), (int, float))]
    caption = " · ".join(links + [_e(d) for d in details])
    return f"""<figure>
<figcaption><strong>{_e(midi_name)}</strong> · {caption}</figcaption>
{chr(10).join(parts)}
</figure>"""
