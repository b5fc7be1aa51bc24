"""The monitoring the README documents, checked in a real browser: the sweep's banner names the Ray
dashboard's real address, the page asks for the token (Ray 2.60 token authentication), and with it
the dashboard lists the running sweep's trial actors."""

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.ray
REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install -e '.[test]')")
if not os.path.exists(CHROMIUM):
    pytest.skip("needs Debian's chromium (apt-get install chromium)", allow_module_level=True)
pytest.importorskip("aiohttp", reason="the dashboard needs ray[default]")


@pytest.fixture
def running_sweep(tmp_path):
    token = secrets.token_hex(32)
    env = {**os.environ, "ADRAY_DETECTORS": "sleepy=adray.testing.detectors:Sleepy", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": token, "RAY_USAGE_STATS_ENABLED": "0"}
    driver = subprocess.Popen(
        [sys.executable, str(REPO / "sweeps" / "grid.py"), "--method", "sleepy", "--dataset", "synthetic", "--seeds",
         "1", "2", "--set", "epochs=40", "--set", "seconds_per_epoch=1", "--storage", str(tmp_path), "--name", "watched",
         "--no-report"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url, lines = None, []
    deadline = time.time() + 120
    while url is None and time.time() < deadline:
        line = driver.stdout.readline()
        lines.append(line)
        found = re.search(r"Ray dashboard: (http://\S+)", line)
        url = found.group(1) if found else None
    try:
        assert url, "".join(lines)
        yield url, token, "".join(lines)
    finally:
        driver.terminate()
        driver.communicate(timeout=120)


def test_the_banner_names_the_dashboard_and_the_browser_gets_in_with_the_token(running_sweep):
    url, token, banner = running_sweep
    assert "token authentication is on" in banner and "ray get-auth-token" in banner
    assert "Token authentication is enabled for this Ray cluster" not in banner  # Ray's own warning, said once by us
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            assert page.request.get(f"{url}/api/jobs/").status == 401  # no data without the token
            page.goto(f"{url}/#/actors", wait_until="networkidle")
            page.get_by_placeholder("Enter your authentication token").fill(token)
            page.get_by_role("button", name="Submit").click()
            page.get_by_text("adray_trial").first.wait_for(timeout=60_000)  # the trial actors of the running sweep
            rows = page.get_by_text("adray_trial").count()
            assert rows >= 1
            assert page.request.get(f"{url}/api/jobs/").status == 200  # the browser is authenticated now
        finally:
            browser.close()
