"""In Chromium: an anonymous reporter (no cookie) submits a clue with a screenshot, the office
replies, the reporter follows up with the receipt and reads the reply; the receipt never appears in
a URL."""

from __future__ import annotations

import re

import pytest

import web_support
from clue_support import SHOTS, browser, image_with_metadata  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    c = web_support.build_county(tmp_path_factory.mktemp("cb") / "ws")
    with web_support.Server(c.ws) as srv:
        yield c, srv
    c.ws.close()


def test_submit_follow_up_and_read_reply(browser, env, tmp_path):  # noqa: F811
    county, srv = env
    shot = tmp_path / "screenshot.png"
    shot.write_bytes(image_with_metadata("PNG"))
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")  # a phone
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(srv.url + "/clues")
    page.select_option("select[name=category]", "GROUP_ROLLCALL_INSTANT")
    page.select_option("select[name=object_type]", "group")
    page.fill("input[name=object_name]", "东关镇工作群")
    page.fill("input[name=unit]", "东关镇")
    page.fill("textarea[name=description]", "每天晚上十点后还在群里要求全员回复“收到”。")
    page.set_input_files("input[name=screenshots]", str(shot))
    page.click("#clue-form button[type=submit]")
    receipt = page.locator("#receipt").inner_text().replace(" ", "")
    assert re.fullmatch(r"[0-9]{16}", receipt)
    page.screenshot(path=str(SHOTS / "clue_receipt.png"), full_page=True)
    assert ctx.cookies() == []

    sup = web_support.login(srv.url, "super", county.passwords["super"])
    item = sup.get("/api/v1/office/clues").json()["items"][0]
    assert item["attachments"] == 1
    assert (
        sup.post(
            f"/api/v1/office/clues/{item['id']}/reply", json={"body": "已收到，减负办正在核查。"}
        ).status_code
        == 200
    )

    page.goto(srv.url + "/clues/follow")
    page.fill("input[name=receipt]", " ".join(receipt[i : i + 4] for i in range(0, 16, 4)))
    page.click("#follow-form button[type=submit]")
    page.wait_for_selector("#clue-messages")
    assert "已收到，减负办正在核查。" in page.locator("#clue-messages").inner_text()
    page.fill("textarea[name=body]", "补充：周六晚上又要求上传照片。")
    page.click("#message-form button[type=submit]")
    page.wait_for_selector(".notice.ok")
    assert "补充：周六晚上又要求上传照片。" in page.locator("#clue-messages").inner_text()
    page.screenshot(path=str(SHOTS / "clue_follow.png"), full_page=True)
    assert receipt not in page.url and ctx.cookies() == []
    assert errors == []
    ctx.close()
    d = sup.get(f"/api/v1/office/clues/{item['id']}").json()
    assert [m["from_office"] for m in d["messages"]] == [True, False]
