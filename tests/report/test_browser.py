"""The HTML report renders in headless Chromium: screenshot and DOM check.

Skipped only when no Chromium binary can be found (CI installs Debian's chromium
through .ci/system-deps).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from flestimate.report import write_outputs

CHROMIUM = next(
    (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p),
    None,
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not found (install Debian's 'chromium'; .ci/system-deps does)",
)

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
]


def chromium(args, tmp_path, timeout=120):
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=timeout,
    )


def render_and_check(report, tmp_path, expected_texts):
    url = report.resolve().as_uri()
    shot = tmp_path / "report.png"
    res = chromium([f"--screenshot={shot}", "--window-size=1280,2000", url], tmp_path)
    assert shot.is_file() and shot.stat().st_size > 10_000, res.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = chromium(["--dump-dom", url], tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert 'id="headline-text"' in html
    for text in expected_texts:
        assert text in html
    return html


def test_report_renders_in_headless_chromium(tmp_path):
    from report_fixtures import fake_result, make_table

    out = write_outputs(fake_result(make_table()), tmp_path / "out")
    html = render_and_check(out / "report.html", tmp_path,
                            ["persons were in forced labour", "5,300", "3.40 per 1,000"])
    assert "<img" in html and "data:image/png;base64," in html


def test_example_report_renders_with_its_headline(tmp_path):
    import json

    from flestimate.cli import main

    out = tmp_path / "example"
    assert main(["run", "--example", "--out", str(out), "--quiet"]) == 0
    res = json.loads((out / "results.json").read_text())
    persons = f"{res['headline']['persons']['estimate']:,.0f}"
    prev = f"{res['headline']['prevalence']['estimate']:,.2f} per 1,000"
    html = render_and_check(out / "report.html", tmp_path,
                            ["persons were in forced labour", persons, prev, "On any given day"])
    assert html.count("<img") >= 5  # one forest plot per table with domains
