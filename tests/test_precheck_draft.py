"""消息体检: a draft that asks 8 people for 收到 at 22:40 on a Saturday, demands proof photos, leaves no
working time before its deadline and repeats a notice another group got yesterday — every problem
with its rule, source and alternative; through the function, the API (scope-checked) and the CLI."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from typer.testing import CliRunner

import web_support
from zhijian.analysis.precheck import Prechecker, PrecheckError
from zhijian.cli import app
from zhijian.lake.schema import MEMBERSHIPS, MESSAGES

NOTICE = "关于报送2026年上半年文明城市创建工作材料的通知：请各村于本周内整理创建工作台账、活动记录和自查报告，按模板格式汇总。"
SAT_NIGHT = dt.datetime(2026, 6, 6, 22, 40)  # a Saturday


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    c = web_support.build_county(tmp_path_factory.mktemp("pc") / "ws")
    lake = c.ws.lake()
    ts = dt.datetime(2026, 6, 5, 8, 20, tzinfo=dt.UTC)  # Friday 16:20 local: "yesterday"
    lake.append_batch(
        "messages",
        "b2",
        pa.Table.from_pylist(
            [
                {
                    "message_id": "n1",
                    "source": "t",
                    "group_id": "gA1",
                    "sender_id": "pA10",
                    "sender_name": "x",
                    "ts": ts,
                    "local_ts": (ts + dt.timedelta(hours=8)).replace(tzinfo=None),
                    "kind": "text",
                    "text": "转发：" + NOTICE,
                    "reply_to": None,
                    "mentions": [],
                    "at_all": False,
                    "forwarded": True,
                    "batch_id": "b2",
                }
            ],
            schema=MESSAGES,
        ),
    )
    lake.append_batch(
        "memberships",
        "b2",
        pa.Table.from_pylist(
            [
                {
                    "group_id": "gA1",
                    "person_id": f"pA{i}",
                    "role": "member",
                    "joined_at": None,
                    "left_at": None,
                    "batch_id": "b2",
                }
                for i in range(6)
            ],
            schema=MEMBERSHIPS,
        ),
    )
    yield c
    c.ws.close()


def test_draft_problems(county):
    pc = Prechecker(county.ws)
    draft = "@所有人 " + NOTICE + "收到请回复，并拍照上传工作照片，今晚10点前报送。"
    r = pc.check(draft, ["gA"], SAT_NIGHT)
    by = {}
    for p in r["problems"]:
        by.setdefault(p["kind"], []).append(p)
        assert p["rule"] and p["source"] and p["alternative"], p
    assert not r["ok"] and r["audience"] == 8 and not r["working_time"]
    titles = {p["title"]: p for p in by["label"]}
    rc = titles["要求回复“收到”/接龙/报数"]
    assert "8 人" in rc["detail"] and "已读回执" in rc["alternative"] and "DING" in rc["alternative"]
    proof = titles["要求拍照、截图、视频留痕"]
    assert proof["category_zh"] == "过度留痕" and "国办函〔2026〕12号" in proof["source"]
    ah = by["after_hours"][0]
    assert ah["severity"] == "warn" and "周六" in ah["detail"] and "22:40" in ah["detail"]
    assert "周一）08:30" in ah["alternative"]
    dl = by["deadline"][0]
    assert "今晚10点前" in dl["detail"] and "0 个工作小时" in dl["detail"]
    dup = by["duplicate"][0]
    assert "东关村防汛临时群" in dup["detail"] and "75%" in dup["detail"] and "8 人中的 6 人" in dup["detail"]
    assert "昨天" in dup["detail"] and "2 人" in dup["alternative"]
    assert by["at_all"]
    pc.close()


def test_clean_draft_in_working_time(county):
    pc = Prechecker(county.ws)
    r = pc.check(
        "下周二上午九点在三楼会议室召开防汛工作部署会，请各村书记参加。",
        ["gA"],
        dt.datetime(2026, 6, 8, 9, 30),
    )
    assert r["ok"], r["problems"]
    assert not any(p["kind"] in ("after_hours", "duplicate", "label") for p in r["problems"])
    with pytest.raises(PrecheckError):
        pc.check("   ", [], None)
    pc.close()


def test_api_scope_and_cli(county):
    with web_support.Server(county.ws) as srv:
        owner = web_support.login(srv.url, "ownerA", county.passwords["ownerA"])
        r = owner.post(
            "/api/v1/precheck",
            json={"text": "收到请回复", "group_ids": ["gA"], "send_at": "2026-06-08T10:00"},
        )
        assert r.status_code == 200 and r.json()["problems"][0]["rule"].startswith("rc.")
        assert (
            owner.post("/api/v1/precheck", json={"text": "收到请回复", "group_ids": ["gB"]}).status_code
            == 404
        )
        cadre = web_support.login(srv.url, "cadreA", county.passwords["cadreA"])
        assert (
            cadre.post("/api/v1/precheck", json={"text": "收到请回复", "group_ids": ["gA"]}).status_code
            == 404
        )
        assert cadre.post("/api/v1/precheck", json={"text": "收到请回复"}).status_code == 200
        anon = web_support.httpx.Client(base_url=srv.url)
        assert anon.post("/api/v1/precheck", json={"text": "收到请回复"}).status_code in (401, 403)
    res = CliRunner().invoke(
        app,
        [
            "precheck",
            "各位今晚8点前把活动照片发群里",
            "-w",
            str(county.ws.root),
            "-g",
            "gA",
            "--at",
            "2026-06-06T21:00",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    kinds = {p["kind"] for p in data["problems"]}
    assert {"label", "after_hours"} <= kinds
    # `zhijian check --advise` is the same pre-send check as `zhijian precheck`
    adv = CliRunner().invoke(
        app,
        [
            "check",
            "各位今晚8点前把活动照片发群里",
            "--advise",
            "-w",
            str(county.ws.root),
            "-g",
            "gA",
            "--at",
            "2026-06-06T21:00",
            "--json",
        ],
    )
    assert adv.exit_code == 0, adv.output
    assert json.loads(adv.output) == data
    assert CliRunner().invoke(app, ["check", "x", "--advise", "--jsonl", "f.jsonl"]).exit_code != 0
    assert CliRunner().invoke(app, ["check", "x", "--group", "gA"]).exit_code != 0


def test_server_start_builds_the_check_queries(county):
    """``zhijian serve`` checks one draft in the background at start (web.routes.precheck.warm_up), so
    the first cadre's draft does not wait for the queries to be built; the answers stay the same."""
    from zhijian.web.app import create_app
    from zhijian.web.routes.precheck import warm_up

    app = create_app(county.ws)
    t = warm_up(app)
    t.join(120)
    pc = app.state.prechecker
    assert not t.is_alive()
    assert pc._labeler is not None and pc._labeler._labels is not None and pc._deadlines is not None
    cold = Prechecker(county.ws)
    try:
        for text in ("收到请回复", "各位今晚8点前把活动照片发群里", "明天上午开会"):
            assert pc.check(text, ["gA"], SAT_NIGHT) == cold.check(text, ["gA"], SAT_NIGHT)
    finally:
        cold.close()
        pc.close()
