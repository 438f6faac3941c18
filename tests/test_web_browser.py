"""The web UI in Debian's Chromium (Playwright for Python, no browser download): log in, dashboard
charts drawn, filter the inventory, open a finding, assign it (supervisor), submit rectification
evidence (liaison), verify (supervisor). Screenshots go to test-output/web/. Fails, not skips, when
CI=true and Chromium is missing."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

import web_support
from browser_support import chromium

server = web_support.server


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """SQLite only: the store backend does not change what this test looks at (the PostgreSQL variant
    runs in test_web_access / test_web_workflow)."""
    c = web_support.make_county("sqlite", tmp_path_factory.mktemp("ws") / "ws")
    yield c
    c.ws.close()


OUT = Path(__file__).resolve().parent.parent / "test-output" / "web"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser():
    OUT.mkdir(parents=True, exist_ok=True)
    with chromium() as b:
        yield b


def _login(browser, server, county, user, viewport=None):
    ctx = browser.new_context(viewport=viewport or {"width": 1366, "height": 768}, locale="zh-CN")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", county.passwords[user])
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard")
    return ctx, page, errors


def _canvas_ink(page, box_id: str) -> int:
    """Number of non-transparent pixels sampled from the chart's canvas."""
    return page.evaluate(
        """(id) => {
        const c = document.querySelector('#' + id + ' canvas');
        if (!c) return -1;
        const g = c.getContext('2d');
        const d = g.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 16) if (d[i] > 0) n++;
        return n;
    }""",
        box_id,
    )


def test_dashboard_charts_and_inventory_filter(browser, server, county):
    ctx, page, errors = _login(browser, server, county, "super")
    page.wait_for_selector("#chart-cat-box canvas")
    for box in ("chart-cat-box", "chart-status-box", "chart-reduction-box", "chart-trend-box"):
        assert _canvas_ink(page, box) > 50, box
    page.screenshot(path=str(OUT / "dashboard.png"), full_page=True)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors

    page.click("nav.main >> text=目录清单")
    page.wait_for_selector("#inventory-table")
    assert page.locator("#inventory-table tbody tr").count() == 4
    page.select_option("select[name=unit]", "B")
    expect(page.locator("#inventory-table tbody tr")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"unit=B"))  # htmx pushed the filter into the address bar
    page.fill("input[name=q]", "旧群")
    expect(page.locator("#inventory-table tbody tr")).to_have_count(1)
    assert "西河乡旧群" in page.inner_text("#inventory-table")
    page.screenshot(path=str(OUT / "inventory_filtered.png"), full_page=True)
    page.click("#inventory-table >> text=西河乡旧群")
    page.wait_for_selector("text=筛查结果")
    ctx.close()
    assert not errors, errors


def test_rectification_loop_in_the_browser(browser, server, county):
    # supervisor opens the finding and assigns it to the village
    ctx, page, errors = _login(browser, server, county, "super")
    page.goto(server.url + "/findings")
    page.select_option("select[name=category]", "GROUP_ROLLCALL_INSTANT")
    expect(page.locator("#findings-table tbody tr")).to_have_count(1)
    page.click("#findings-table >> text=东关镇工作群")
    page.wait_for_selector("#evidence .msg.hit")
    assert "收到请回复" in page.inner_text("#evidence")
    deadline = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    form = page.locator("#form-assign")
    form.locator("select[name=assignee_unit_id]").select_option("A")
    form.locator("input[name=deadline]").fill(deadline)
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#finding-status >> text=已交办")
    page.screenshot(path=str(OUT / "finding_assigned.png"), full_page=True)
    ctx.close()

    # the liaison submits rectification evidence with an attachment
    ctx, page, errors2 = _login(browser, server, county, "liaisonA")
    page.goto(server.url + "/findings/fA")
    form = page.locator("#form-submit")
    form.locator("textarea[name=note]").fill("已在群内发布群规：不再要求回复“收到”，改用已读回执。")
    evidence = OUT / "evidence.txt"
    evidence.write_text("群规截图说明", encoding="utf-8")
    form.locator("input[name=attachment]").set_input_files(str(evidence))
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#finding-status >> text=待核验")
    assert "evidence.txt" in page.inner_text("#timeline")
    page.screenshot(path=str(OUT / "finding_submitted.png"), full_page=True)
    ctx.close()

    # the supervisor verifies, on a phone-sized screen
    ctx, page, errors3 = _login(browser, server, county, "super", viewport={"width": 390, "height": 844})
    page.goto(server.url + "/findings/fA")
    page.locator("#form-verify button[type=submit]").click()
    page.wait_for_selector("#finding-status >> text=已核验")
    page.screenshot(path=str(OUT / "finding_verified_phone.png"), full_page=True)
    # nothing overflows the phone's width
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    ctx.close()
    assert not (errors + errors2 + errors3), errors + errors2 + errors3
