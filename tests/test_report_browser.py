"""The html reports in Debian's Chromium (Playwright, no browser download): opened from the file
(self-contained: ECharts inlined, no network), no script errors, every chart drawn. Screenshots go
to test-output/report/. Fails, not skips, when CI=true and Chromium is missing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from browser_support import chromium
from report_seed import CAMPAIGN, seed
from zhijian.report import build_campaign, write_report

OUT = Path(__file__).resolve().parent.parent / "test-output" / "report"

pytestmark = [pytest.mark.browser]

INK = """(id) => {
    const c = document.querySelector('#' + id + ' canvas');
    if (!c) return -1;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 16) if (d[i] > 0) n++;
    return n;
}"""


@pytest.fixture(scope="module")
def browser():
    OUT.mkdir(parents=True, exist_ok=True)
    with chromium() as b:
        yield b


def _open(browser, path: Path, shot: str):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    ctx.route("http*://**", lambda route: route.abort())  # self-contained: no request may leave
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_timeout(800)  # chart animations
    page.screenshot(path=str(OUT / shot), full_page=True)
    return ctx, page, errors


def test_campaign_html_charts_render(browser, workspace, tmp_path):
    seed(workspace)
    p = tmp_path / "campaign.html"
    p.write_bytes(build_campaign(workspace, "html", CAMPAIGN, today=dt.date(2026, 6, 1)))
    ctx, page, errors = _open(browser, p, "campaign.png")
    try:
        assert errors == []
        for box in ("chart-reduction", "chart-trend", "chart-ba", "chart-tree", "chart-progress"):
            assert page.evaluate(INK, box) > 50, box
    finally:
        ctx.close()


def test_summary_html_burden_section_renders(browser, workspace):
    seed(workspace)
    p = write_report(workspace, "html", campaign=CAMPAIGN)
    ctx, page, errors = _open(browser, p, "summary.png")
    try:
        assert errors == []
        for box in ("chart-screening", "chart-burden-trend", "chart-burden-ba", "chart-burden-tree"):
            assert page.evaluate(INK, box) > 50, box
    finally:
        ctx.close()
