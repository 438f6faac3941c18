"""In Chromium: the 消息体检 page shows the warnings of a draft sent at 22:40 on a Saturday."""

from __future__ import annotations

import pytest

import web_support
from clue_support import SHOTS, browser, browser_login  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    c = web_support.build_county(tmp_path_factory.mktemp("pb") / "ws")
    with web_support.Server(c.ws) as srv:
        yield c, srv
    c.ws.close()


def test_precheck_page_warnings(browser, env):  # noqa: F811
    county, srv = env
    ctx, page, errors = browser_login(browser, srv.url, "ownerA", county.passwords["ownerA"])
    page.goto(srv.url + "/precheck")
    page.fill(
        "textarea[name=text]", "@所有人 请各村今晚10点前上报防汛物资清单，并拍照上传仓库照片，收到请回复。"
    )
    page.select_option("select[name=group_ids]", ["gA"])
    page.fill("input[name=send_at]", "2026-06-06T22:40")
    page.click("#precheck-form button[type=submit]")
    page.wait_for_selector("#precheck-result .problem")
    kinds = page.eval_on_selector_all("#precheck-result .problem", "els => els.map(e => e.dataset.kind)")
    assert "label" in kinds and "after_hours" in kinds and "deadline" in kinds
    text = page.locator("#precheck-result").inner_text()
    assert "已读回执" in text and "过度留痕" in text and "周一" in text
    page.screenshot(path=str(SHOTS / "precheck.png"), full_page=True)
    assert errors == []
    ctx.close()
