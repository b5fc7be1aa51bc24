"""report/index.html holds the whole report with nothing fetched from elsewhere, and shows what the
report's files say; `adray report --open` opens it; every report file is readable by the group."""

from __future__ import annotations

import base64
import html
import os
import shutil
import stat
import subprocess
import sys
from html.parser import HTMLParser

import pandas as pd
import pytest
from real_sweep import DETECTORS, write_real_sweep

from adray import artifacts
from adray.analysis.report import make_report


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse_page(path) -> _Elements:
    parser = _Elements()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A real sweep with every kind of trial: ok, failed (one configuration fails at epoch 2 on every
    seed), incomplete (trial.json gone) and not started (its folder never written)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADRAY_DETECTORS", DETECTORS)
        folder = tmp_path_factory.mktemp("page") / "sweep"
        ledger = write_real_sweep(folder, methods=("sleepy", "baseline"),
                                  sets=("epochs=2", "seconds_per_epoch=0", "fail_at_epoch=0,2"))
        ok = [i for i in range(len(ledger))
              if artifacts.read_json(folder / ledger.dirname(i) / artifacts.TRIAL)["status"] == "ok"]
        (folder / ledger.dirname(ok[0]) / artifacts.TRIAL).unlink()
        shutil.rmtree(folder / ledger.dirname(ok[-1]))
        return make_report(folder, reference="sleepy")


def test_the_page_needs_no_network_and_embeds_every_plot(small):
    page = parse_page(small.page)
    tags = {tag for tag, _ in page.tags}
    assert "script" not in tags and "link" not in tags  # no code and no stylesheet from elsewhere
    for tag, attrs in page.tags:
        for name in ("src", "href"):
            assert "://" not in attrs.get(name, ""), (tag, attrs)  # no http(s)://, no file://
    images = [attrs["src"] for tag, attrs in page.tags if tag == "img"]
    assert all(src.startswith("data:image/png;base64,") for src in images)
    embedded = {base64.b64decode(src.split(",", 1)[1]) for src in images}
    drawn = {p.read_bytes() for p in (small.report_dir / "plots").glob("*.png")}
    assert len(drawn) == 3 and embedded == drawn  # ROC, training curves and seed spread of the one group
    links = [attrs["href"] for tag, attrs in page.tags if tag == "a" and not attrs["href"].startswith("#")]
    assert links and all((small.report_dir / link).is_file() for link in links)


def test_the_page_shows_the_table_the_choices_and_every_problem(small):
    text = small.page.read_text(encoding="utf-8")
    merged = pd.read_csv(small.report_dir / "merged.csv")
    test_auc = merged[(merged.split == "test") & (merged.metric == "auc")].set_index("method")
    best = test_auc["mean"].round(2).idxmax()
    assert f"<strong>{test_auc.at[best, 'mean']:.2f} ± {test_auc.at[best, 'std']:.2f}</strong>" in text
    assert "<th>p</th>" in text  # the p-value column of the reference
    for config in pd.read_csv(small.report_dir / "selected.csv")["config_id"]:
        assert f"<td>{config[:6]}</td>" in text
    problems = pd.read_csv(small.report_dir / "problems.csv")
    assert sorted(problems.status) == ["error"] * 6 + ["incomplete", "not started"]
    for row in problems.itertuples():
        assert html.escape(os.path.basename(row.trial_dir)) in text
        if isinstance(row.error, str):
            assert html.escape(row.error) in text
    assert "RuntimeError: failing on purpose at epoch 2" in text


def test_every_report_file_is_readable_by_the_group(small):
    old = os.umask(0o022)
    try:
        result = make_report(small.report_dir.parent, reference="sleepy")
    finally:
        os.umask(old)
    files = [p for p in result.report_dir.rglob("*") if p.is_file()]
    assert len(files) >= 12 and result.page in files
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in files}
    assert all(mode == 0o644 for mode in modes.values()), modes


def test_atomic_writes_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        artifacts.write_json(tmp_path / "a.json", {"x": 1})
        artifacts.write_frame(tmp_path / "b.csv", pd.DataFrame({"x": [1]}))
        os.umask(0o077)
        artifacts.write_json(tmp_path / "c.json", {"x": 1})
    finally:
        os.umask(old)
    mode = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert mode == {"a.json": 0o640, "b.csv": 0o640, "c.json": 0o600}  # no temporary file left behind


def test_report_open_hands_the_page_to_the_browser(small, tmp_path):
    seen = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(f"import sys\nopen({str(seen)!r}, 'w').write(sys.argv[1])\n")
    env = {**os.environ, "BROWSER": f"{sys.executable} {browser} %s", "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-m", "adray.cli", "report", str(small.report_dir.parent), "--open",
                             "--reference", "sleepy"], capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    assert seen.read_text() == small.page.resolve().as_uri()


@pytest.mark.parametrize("outcome", [False, "raises"])
def test_report_open_without_a_browser_prints_the_path(small, monkeypatch, capsys, outcome):
    import webbrowser

    from adray import cli

    def no_browser(url, *args, **kwargs):
        if outcome == "raises":
            raise webbrowser.Error("could not locate runnable browser")
        return outcome

    monkeypatch.setattr(webbrowser, "open", no_browser)
    assert cli.main(["report", str(small.report_dir.parent), "--open", "--reference", "sleepy", "--no-std"]) == 0
    err = capsys.readouterr().err
    assert f"no web browser to open it with; open {small.page.resolve()} yourself" in err
