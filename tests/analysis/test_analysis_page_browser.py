"""The report page of a real small sweep, opened in a real browser (headless Chromium from the system
packages; CI installs it, .ci/run): its DOM holds the tables, and a screenshot shows the plots and the
problems, so the page renders from disk as it is, with no network."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from real_sweep import DETECTORS, write_real_sweep

from adray.analysis.report import make_report

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (CI installs Debian's chromium; "
                                                              "on a laptop: apt-get install chromium)")
# as root in a container: no sandbox, no GPU, and nothing that reaches for Google's servers
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
WIDTH, HEIGHT = 1280, 6000
BLUE, ORANGE = np.array([31, 119, 180]) / 255, np.array([255, 127, 14]) / 255  # the two methods' plot colours
ERROR_RED = np.array([0xB0, 0x00, 0x20]) / 255  # the page's colour for a failed trial's status


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=180, env={**os.environ, "HOME": str(profile)})


def _pixels_near(image: np.ndarray, colour: np.ndarray, tolerance: float = 0.08) -> int:
    return int((np.abs(image[:, :, :3] - colour).max(axis=2) < tolerance).sum())


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The page of a real sweep: two methods, one configuration failing at epoch 2 on every seed."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADRAY_DETECTORS", DETECTORS)
        folder = tmp_path_factory.mktemp("browser") / "sweep"
        write_real_sweep(folder, methods=("sleepy", "baseline"),
                         sets=("epochs=2", "seconds_per_epoch=0", "fail_at_epoch=0,2"))
        return make_report(folder, reference="sleepy")


def test_the_dom_chromium_builds_holds_the_tables(page, tmp_path):
    done = _chromium(tmp_path / "profile", "--dump-dom", page.page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "<h2 id=\"results\">Main table</h2>" in dom and "<h2 id=\"problems\">Problems</h2>" in dom
    merged = pd.read_csv(page.report_dir / "merged.csv")
    test_auc = merged[(merged.split == "test") & (merged.metric == "auc")]
    for row in test_auc.itertuples():
        assert f"{row.mean:.2f} ± {row.std:.2f}" in dom  # every cell of the main table
    assert dom.count("RuntimeError: failing on purpose at epoch 2") == 6  # every failed trial, with its error
    assert dom.count('src="data:image/png;base64,') == 3


def test_a_screenshot_shows_the_plots_and_the_problems(page, tmp_path):
    shot = tmp_path / "page.png"
    done = _chromium(tmp_path / "profile", f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}",
                     page.page.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    kept = os.environ.get("ADRAY_KEEP_SCREENSHOT")  # a copy to look at: ADRAY_KEEP_SCREENSHOT=/some/file.png
    if kept:
        shutil.copyfile(shot, kept)
    image = matplotlib.image.imread(shot)
    assert image.shape[:2] == (HEIGHT, WIDTH)
    ink = (image[:, :, :3] < 0.9).any(axis=2)
    assert 0.02 < ink.mean() < 0.6  # text, tables and plots on a white page: neither blank nor a solid block
    rows = np.flatnonzero(ink.any(axis=1))
    assert rows.max() - rows.min() > HEIGHT / 3  # the page goes on well past its first screen
    # the embedded PNGs were decoded and drawn: the methods' colours are on the screenshot (the two are one
    # detector under two names, so the orange curves cover the blue ones: blue shows in legends and dots)
    assert _pixels_near(image, ORANGE) > 300 and _pixels_near(image, BLUE) > 50
    assert _pixels_near(image, ERROR_RED) > 50  # the failed trials' "error" status in the problems table
