"""The results page in a real headless Chromium: pictures render, players load real WAVs,
links lead to files. Needs Debian's chromium and chromium-driver and the selenium package
(.ci/run installs them); skipped without them, except under CI, where it fails instead."""

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest

from rnn_rbm.config import DataConfig, GenerateConfig
from rnn_rbm.outputs import audio, report
from rnn_rbm.outputs.samples import write_samples

# Flags that work in a container as root, with no network and no screen.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--autoplay-policy=no-user-gesture-required"]
WAIT_SECONDS = 30


def browser_or_skip():
    """Returns: (webdriver module, chromium path, chromedriver path)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    try:
        from selenium import webdriver
    except ImportError:
        webdriver = None
    missing = [name for name, found in (("chromium", chromium), ("chromium-driver", driver),
                                        ("selenium", webdriver)) if not found]
    if missing:
        message = (f"needs {', '.join(missing)}: apt-get install chromium chromium-driver; "
                   "pip install -e '.[test]'")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message} (.ci/run installs them, so under CI they must be there)")
        pytest.skip(message)
    return webdriver, chromium, driver


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A results folder (with a space in its path) of two runs: one with WAV and PNG, one without."""
    folder = tmp_path / "my results"
    rng = np.random.default_rng(0)
    data = DataConfig()
    settings = GenerateConfig(num_steps=24, audio_sample_rate=8000)
    for run, extras in (("2026-01-01_100000", True), ("2026-01-01_100500", False)):
        rolls = np.zeros((2, 24, 88), np.float32)
        rolls[:, :, 30:60] = rng.random((2, 24, 30)) < 0.1
        files = write_samples(rolls, folder, data, settings, run, audio.Synth(None) if extras else None, extras)
        report.write_manifest(folder, {
            "run": run, "created": run, "checkpoint": "parameter_checkpoints/epoch_1.ckpt", "seed": 1,
            "settings": {"num_steps": 24}, "command": "python rnn_rbm_generate.py ...",
            "samples": [{"midi": f.midi.name, "wav": f.wav and f.wav.name, "png": f.png and f.png.name}
                        for f in files]})
    report.rebuild_index(folder)
    return folder


def local_file(url: str) -> Path:
    parsed = urlparse(url)
    assert parsed.scheme == "file", url
    return Path(unquote(parsed.path))


def test_page_renders_in_chromium(results, tmp_path):
    webdriver, chromium, driver_path = browser_or_skip()
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        browser.get((results / "index.html").as_uri())
        wait = WebDriverWait(browser, WAIT_SECONDS)
        wait.until(lambda b: b.execute_script("return [...document.images].every(i => i.complete)"))
        images = browser.execute_script(
            "return [...document.images].map(i => [i.currentSrc, i.naturalWidth, i.naturalHeight])")
        assert len(images) == 2
        for src, width, height in images:
            assert width > 0 and height > 0, f"{src} did not render"
            assert local_file(src).parent == results
        # HAVE_METADATA: the browser has read each WAV's header and knows its length.
        wait.until(lambda b: b.execute_script(
            "return [...document.querySelectorAll('audio')].every(a => a.readyState >= 1 || a.error)"))
        players = browser.execute_script(
            "return [...document.querySelectorAll('audio')].map(a => [a.currentSrc, a.duration, a.error && a.error.code])")
        assert len(players) == 2
        seconds = 24 * 60 / GenerateConfig().tempo_bpm / DataConfig().steps_per_quarter + audio.RELEASE_SECONDS
        for src, duration, error in players:
            assert error is None, f"{src}: media error {error}"
            assert local_file(src).is_file() and local_file(src).suffix == ".wav"
            assert duration == pytest.approx(seconds, abs=0.01)
        hrefs = browser.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href)")
        assert len(hrefs) == 2 * 2 + 2  # MIDI and WAV of the first run's pieces, MIDI of the second's
        assert all(local_file(h).is_file() and local_file(h).parent == results for h in hrefs)
    finally:
        browser.quit()
