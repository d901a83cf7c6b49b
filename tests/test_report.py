"""The results page: runs add up, every link resolves, everything is escaped."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rnn_rbm.errors import UserError
from rnn_rbm.outputs import report


class Elements(HTMLParser):
    """Collects every start tag with its attributes; the parser raises on nothing, so the
    checks below are on what it found."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(page: Path) -> list[tuple[str, dict]]:
    parser = Elements()
    parser.feed(page.read_text())
    return parser.tags


def make_run(folder: Path, run: str, created: str, audio: bool = True, **extra) -> dict:
    samples = []
    for i in (1, 2):
        names = {"midi": f"{run}_{i}.mid", "wav": f"{run}_{i}.wav" if audio else None,
                 "png": f"{run}_{i}.png" if audio else None}
        for name in filter(None, names.values()):
            (folder / name).write_bytes(b"x")
        samples.append({**names, "frames": 64, "polyphony": 3.5})
    record = {"run": run, "created": created, "checkpoint": "parameter_checkpoints/epoch_9.ckpt",
              "seed": 7, "settings": {"gibbs_steps": 25, "temperature": 1.0}, "command": "python x --seed 7",
              "primer": None, "melody": None, "synth": "FluidSynth, FluidR3_GM.sf2", "samples": samples, **extra}
    report.write_manifest(folder, record)
    return record


def test_runs_add_up_newest_first_and_every_link_resolves(tmp_path):
    make_run(tmp_path, "2026-01-01_100000", "2026-01-01 10:00:00")
    report.rebuild_index(tmp_path)
    make_run(tmp_path, "2026-01-02_100000", "2026-01-02 10:00:00", audio=False)
    page = report.rebuild_index(tmp_path)
    assert page.read_text().startswith(report.MARKER)
    text = page.read_text()
    assert text.index("Run 2026-01-02_100000") < text.index("Run 2026-01-01_100000")
    tags = elements(page)
    links = [a.get("src") or a.get("href") for tag, a in tags if tag in ("img", "audio", "a")]
    assert len(links) == 2 * 4 + 2  # older run: picture, player, MIDI, WAV; newer: MIDI only
    assert all((tmp_path / link).is_file() and not link.startswith("/") for link in links)
    assert "epoch_9.ckpt" in text and "FluidSynth" in text and "--seed 7" in text


def test_everything_from_a_manifest_is_escaped(tmp_path):
    evil = '<script>alert("x")</script>'
    record = make_run(tmp_path, "run", "2026-01-01 10:00:00", checkpoint=evil, primer='a&b".mid')
    odd = 'odd name & "quoted" #1.mid'
    (tmp_path / odd).write_bytes(b"x")
    record["samples"].append({"midi": odd, "wav": None, "png": None})
    report.write_manifest(tmp_path, record)
    text = report.rebuild_index(tmp_path).read_text()
    assert "<script>" not in text and "&lt;script&gt;alert(&quot;x&quot;)" in text
    assert 'a&amp;b&quot;.mid' in text
    hrefs = [a["href"] for tag, a in elements(tmp_path / "index.html") if tag == "a"]
    assert "odd%20name%20%26%20%22quoted%22%20%231.mid" in hrefs


def test_files_gone_since_are_named_not_linked_and_paths_are_never_linked(tmp_path):
    record = make_run(tmp_path, "run", "2026-01-01 10:00:00")
    (tmp_path / "run_1.png").unlink()
    (tmp_path / "run_1.mid").unlink()
    record["samples"].append({"midi": "../outside.mid", "png": "/etc/passwd"})
    (tmp_path.parent / "outside.mid").write_bytes(b"x")
    report.write_manifest(tmp_path, record)
    page = report.rebuild_index(tmp_path)
    links = [a.get("src") or a.get("href") for tag, a in elements(page) if tag in ("img", "audio", "a")]
    assert "run_1.png" not in links and "run_1.mid" not in links and "run_1.wav" in links
    assert all((tmp_path / link).is_file() and "/" not in link for link in links)
    assert "run_1.mid (gone)" in page.read_text()


def test_an_unreadable_manifest_is_left_out_with_a_warning(tmp_path, caplog):
    make_run(tmp_path, "good", "2026-01-01 10:00:00")
    (tmp_path / "bad.run.json").write_text("{ not json")
    (tmp_path / "odd.run.json").write_text(json.dumps([1, 2]))
    text = report.rebuild_index(tmp_path).read_text()
    assert "Run good" in text and len(re.findall("<section", text)) == 1
    assert "bad.run.json" in caplog.text and "odd.run.json" in caplog.text


def test_a_page_we_did_not_write_is_never_overwritten(tmp_path):
    report.check_page(tmp_path)  # no page yet: fine
    report.rebuild_index(tmp_path)
    report.check_page(tmp_path)  # ours: fine
    (tmp_path / "index.html").write_text("<html>someone's page</html>")
    with pytest.raises(UserError, match="not a results page"):
        report.check_page(tmp_path)


def test_sample_statistics_table_and_picture(tmp_path):
    measures = {"polyphony": {"label": "notes per sounding frame", "mean": 4.17, "sd": 0.4, "first": 4.0,
                              "last": 4.4, "ref_mean": 3.95, "ref_sd": 0.09, "ref_first": 3.94, "ref_last": 3.96,
                              "overlap": 0.31},
                "evil": {"label": "<b>x</b>", "mean": "<i>", "overlap": 10**400}, "odd": [1]}
    (tmp_path / "run_stats.png").write_bytes(b"x")
    make_run(tmp_path, "run", "2026-01-01 10:00:00", stats_png="run_stats.png",
             sample_stats={"measures": measures, "reference": "bach & co, training pieces"})
    make_run(tmp_path, "older", "2025-01-01 10:00:00", sample_stats={"measures": measures, "reference": None})
    make_run(tmp_path, "oldest", "2024-01-01 10:00:00", sample_stats="not a dict")
    page = report.rebuild_index(tmp_path)
    text = page.read_text()
    assert "<td>notes per sounding frame</td><td>4.170 ± 0.400</td><td>3.950 ± 0.090</td><td>0.310</td>" in text
    assert "4.000 → 4.400 (reference 3.940 → 3.960)" in text
    assert "against bach &amp; co, training pieces" in text
    assert "<b>x</b>" not in text and "&lt;b&gt;x&lt;/b&gt;" in text and "<i>" not in text
    assert "no reference: the training data was not in the roll cache" in text
    assert text.count("<table>") == 2
    assert [a["src"] for tag, a in elements(page) if tag == "img" and "stats" in a["src"]] == ["run_stats.png"]
    assert text.index("notes per sounding frame") < text.index("&lt;b&gt;x&lt;/b&gt;")  # known measures first
