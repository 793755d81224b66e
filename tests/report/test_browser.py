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


# ---------------------------------------------------------------- layout (issue 15, point 4)

# run in the page after layout; the result is written into the DOM for --dump-dom
LAYOUT_PROBE = """<script>
(function () {
  var out = {pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
             tableOverflow: [], wrapped: [], headers: [], tables: 0};
  document.querySelectorAll(".tablewrap").forEach(function (w) {
    out.tables += 1;
    if (w.scrollWidth > w.clientWidth) out.tableOverflow.push(w.scrollWidth - w.clientWidth);
  });
  document.querySelectorAll("table.pub td.nw, table.pub th.nw").forEach(function (td) {
    if (!td.textContent.trim()) return;
    var r = document.createRange();
    r.selectNodeContents(td);
    var tops = {};
    Array.prototype.forEach.call(r.getClientRects(), function (b) { tops[Math.round(b.top)] = 1; });
    if (Object.keys(tops).length > 1) out.wrapped.push(td.textContent);
  });
  document.querySelectorAll("table.pub th").forEach(function (th) {
    out.headers.push(th.textContent);
  });
  var p = document.createElement("pre");
  p.id = "layout-probe";
  p.textContent = JSON.stringify(out);
  document.body.appendChild(p);
})();
</script>"""


def test_example_report_tables_fit_and_do_not_wrap(tmp_path):
    """One row per domain, labelled headers, CI and quality cells on one line, no table
    wider than the page in a 1,024-pixel window; and the screenshot shows the page."""
    import html as html_lib
    import json
    import re

    import numpy as np
    from matplotlib.image import imread

    from flestimate.cli import main

    out = tmp_path / "example"
    assert main(["run", "--example", "--out", str(out), "--quiet"]) == 0
    page = (out / "report.html").read_text()
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", LAYOUT_PROBE + "</body>"), encoding="utf-8")
    shot = tmp_path / "shot.png"
    res = chromium([f"--screenshot={shot}", "--window-size=1024,1600", probe.resolve().as_uri()],
                   tmp_path)
    assert shot.is_file(), res.stderr[-2000:]
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (1600, 1024)
    ink = (pixels.sum(axis=2) < 2.4).mean()  # share of pixels that are not white-ish
    assert 0.02 < ink < 0.9 and float(np.std(pixels)) > 0.05
    dom = chromium(["--window-size=1024,1600", "--dump-dom", probe.resolve().as_uri()], tmp_path)
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stderr[-2000:]
    layout = json.loads(html_lib.unescape(found.group(1)))
    assert layout["tables"] == 8
    assert layout["pageOverflow"] <= 0 and layout["tableOverflow"] == []
    assert layout["wrapped"] == []
    heads = set(layout["headers"])
    assert {"Age group", "Economic activity (ISIC Rev.4 section)", "Quality", "95% CI"} <= heads
    assert not heads & {"age_group", "sector", "region_label"}
    # one row per domain: the sex table has Total, male, female
    sex = re.search(r'id="pub-by_sex".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    assert sex.count("<tr") == 3
