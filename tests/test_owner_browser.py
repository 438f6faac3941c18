"""In Chromium: an owner registers a temporary group (the end-date field appears for temporary
groups), sees its page, and dissolves it (confirm dialog)."""

from __future__ import annotations

import datetime as dt

import pytest

import web_support
from clue_support import SHOTS, browser, browser_login  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    c = web_support.build_county(tmp_path_factory.mktemp("ob") / "ws")
    with web_support.Server(c.ws) as srv:
        yield c, srv
    c.ws.close()


def test_register_and_dissolve_temporary_group(browser, env):  # noqa: F811
    county, srv = env
    ctx, page, errors = browser_login(browser, srv.url, "ownerA", county.passwords["ownerA"])
    page.goto(srv.url + "/owner")
    page.click("#register-link")
    page.fill("input[name=name]", "东关镇秋收专项临时群")
    page.fill("textarea[name=purpose]", "秋收期间农机调度和安全生产提醒")
    assert not page.is_visible("input[name=end_date]")
    page.select_option("select[name=group_type]", "temporary")
    assert page.is_visible("input[name=end_date]")
    end = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    page.fill("input[name=end_date]", end)
    page.fill("textarea[name=members_text]", "东关干部1\n东关干部2\npA10")
    page.click("#register-form button[type=submit]")
    page.wait_for_url("**/owner/groups/reg-*")
    assert page.locator("#end-date").inner_text() == end
    assert page.locator("#group-status").inner_text() == "在用"
    page.screenshot(path=str(SHOTS / "owner_group.png"), full_page=True)
    page.on("dialog", lambda d: d.accept())
    page.click("#dissolve-form button[type=submit]")
    page.wait_for_selector("#group-status:has-text('已解散')")
    assert errors == []
    ctx.close()
