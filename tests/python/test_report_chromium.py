"""The HTML report in a real browser: headless Chromium (Debian's `chromium`) renders the reports
of the demo and zaif-mini traces; the rendered page has the summary table with a row per model
and an SVG flow picture with nodes, and its screenshot shows the table and the red flow edges."""
import json
import shutil
import subprocess

import pytest

from conftest import import_or_need, need

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]


def browser() -> str:
    for name in ["chromium", "chromium-browser", "google-chrome"]:
        path = shutil.which(name)
        if path:
            return path
    need("chromium", "apt-get install -y chromium (the headless browser of the report test)")


@pytest.mark.parametrize("results_fixture", ["demo_results", "zaif_results"])
def test_report_renders_in_headless_chromium(results_fixture, request, fundtrace_bin, tmp_path):
    np = import_or_need("numpy")
    import_or_need("matplotlib")
    from matplotlib.image import imread

    chrome = browser()
    results = request.getfixturevalue(results_fixture)
    subprocess.run([str(fundtrace_bin), "report", str(results)], check=True,
                   stdout=subprocess.DEVNULL)
    page = (results / "report.html").as_uri()
    dom = subprocess.run([chrome, *FLAGS, "--dump-dom", page], capture_output=True, text=True,
                         timeout=180).stdout
    summary = json.loads((results / "summary.json").read_text())
    assert "Totals by bucket" in dom and "<table" in dom
    for p in summary["policies"]:
        assert f"<td>{p['policy']}</td>" in dom, p["policy"]
    assert "<svg" in dom
    nodes = dom.count('class="node"')
    assert nodes >= 3, f"{nodes} nodes in the flow picture"

    shot = tmp_path / "report.png"
    subprocess.run([chrome, *FLAGS, "--window-size=1400,2400", f"--screenshot={shot}", page],
                   capture_output=True, timeout=180, check=True)
    pixels = imread(shot)[:, :, :3]
    assert pixels.shape[:2] == (2400, 1400)
    # Not blank: text and table borders (dark pixels), and the flow edges in their red.
    dark = (pixels.max(axis=2) < 0.3).sum()
    red = ((np.abs(pixels[:, :, 0] - 0xC0 / 255) < 0.12) & (pixels[:, :, 1] < 0.55)
           & (pixels[:, :, 2] < 0.5)).sum()
    assert dark > 5_000, f"{dark} dark pixels"
    assert red > 300, f"{red} red pixels of flow edges"
