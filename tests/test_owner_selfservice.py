"""群主自助 through the real server: register (purpose required, temporary needs an end date or
condition, members from an imported list), health from the lake, renew, dissolve; scope checks;
我的负担 shows a cadre their own figures only."""

from __future__ import annotations

import datetime as dt
import re

import pyarrow as pa
import pytest
from sqlalchemy import select

import web_support
from zhijian.lake.schema import INDICATORS, REPLY_STORMS
from zhijian.store.models import AuditLog, Group


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    c = web_support.build_county(tmp_path_factory.mktemp("own") / "ws")
    lake = c.ws.lake()
    rows = [dict(r) for r in lake.to_arrow(lake.table("indicators")).to_pylist()]
    for i, period in enumerate(["2026-04-13", "2026-04-20", "2026-04-27", "2026-05-04", "2026-05-11"]):
        for metric, v in [
            ("messages", 70 + 7 * i),
            ("demands", 10),
            ("after_hours_demands", 3),
            ("roll_call_replies", 20),
            ("duplicate_copies", 1),
        ]:
            rows.append(
                {"scope": "group", "scope_id": "gA", "period": period, "metric": metric, "value": float(v)}
            )
        rows.append(
            {
                "scope": "person",
                "scope_id": "pA3",
                "period": period,
                "metric": "demands_received",
                "value": float(5 + i),
            }
        )
        rows.append(
            {
                "scope": "person",
                "scope_id": "pA4",
                "period": period,
                "metric": "demands_received",
                "value": 777.0,
            }
        )
    lake.replace("indicators", pa.Table.from_pylist(rows, schema=INDICATORS))
    lake.replace(
        "reply_storms",
        pa.Table.from_pylist(
            [
                {
                    "demand_id": "m3",
                    "group_id": "gA",
                    "sender_id": "pA0",
                    "local_ts": dt.datetime(2026, 5, 12, 21, 0),
                    "replies": 9,
                    "people": 8,
                    "span_minutes": 12,
                    "members": 8,
                    "attention_cost": 72,
                },
                {
                    "demand_id": "mx",
                    "group_id": "gA",
                    "sender_id": "pA0",
                    "local_ts": dt.datetime(2026, 3, 1, 9, 0),
                    "replies": 5,
                    "people": 5,
                    "span_minutes": 5,
                    "members": 8,
                    "attention_cost": 40,
                },
            ],
            schema=REPLY_STORMS,
        ),
    )
    with web_support.Server(c.ws) as srv:
        yield c, srv
    c.ws.close()


def test_register_renew_dissolve(env):
    c, srv = env
    cl, tok = web_support.page_login(srv.url, "ownerA", c.passwords["ownerA"])
    form = {
        "csrf_token": tok,
        "name": "东关镇迎检临时群",
        "platform": "wecom",
        "purpose": "迎接省级检查材料准备",
        "group_type": "temporary",
        "end_date": "",
        "end_condition": "",
    }
    r = cl.post("/owner/register", data=form)
    assert r.status_code == 422 and "临时群必须填写" in r.text
    r = cl.post("/owner/register", data={**form, "purpose": ""})
    assert r.status_code == 422 and "建群目的" in r.text
    csv = "姓名\n东关干部1\npA2\n东关村干部0\n".encode("gbk")
    end = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    r = cl.post(
        "/owner/register",
        data={**form, "end_date": end},
        files={"members_file": ("members.csv", csv, "text/csv")},
    )
    assert r.status_code == 303, r.text
    gid = r.headers["location"].rsplit("/", 1)[-1]
    with c.ws.store.session() as s:
        g = s.get(Group, gid)
        assert g.owner_id == "pA0" and g.unit_id == "A" and g.registered and g.group_type == "temporary"
        assert g.end_date.isoformat() == end and g.member_count == 4 and g.source == "registration"
    lake = c.ws.lake()
    lake.forget("memberships")
    m = lake.table("memberships")
    got = {r["person_id"] for r in lake.to_arrow(m.filter(m.group_id == gid)).to_pylist()}
    assert got == {"pA0", "pA1", "pA2", "pA10"}

    api = web_support.login(srv.url, "ownerA", c.passwords["ownerA"])
    bad = api.post(
        "/api/v1/owner/groups",
        json={"name": "某群", "purpose": "日常工作", "group_type": "fixed", "members": ["查无此人"]},
    )
    assert bad.status_code == 422 and "查无此人" in bad.json()["detail"]
    later = (dt.date.today() + dt.timedelta(days=60)).isoformat()
    r = api.post(f"/api/v1/owner/groups/{gid}/renew", json={"end_date": later})
    assert r.status_code == 200 and r.json()["end_date"] == later
    # another owner's group: invisible; a liaison may look but not dissolve; a cadre has no access
    assert api.post("/api/v1/owner/groups/gB/dissolve", json={}).status_code == 404
    liaison = web_support.login(srv.url, "liaisonA", c.passwords["liaisonA"])
    assert liaison.get(f"/api/v1/owner/groups/{gid}/health").status_code == 200
    assert liaison.post(f"/api/v1/owner/groups/{gid}/dissolve", json={}).status_code == 403
    cadre = web_support.login(srv.url, "cadreA", c.passwords["cadreA"])
    assert cadre.get("/api/v1/owner/groups").status_code == 403
    # dissolve through the page form
    r = cl.post(f"/owner/groups/{gid}/dissolve", data={"csrf_token": tok, "reason": "检查结束"})
    assert r.status_code == 303
    with c.ws.store.session() as s:
        g = s.get(Group, gid)
        assert g.status == "dissolved" and g.dissolved_on == dt.date.today()
        acts = [a.action for a in s.execute(select(AuditLog).where(AuditLog.object_id == gid)).scalars()]
        assert acts == ["group.register", "group.renew", "group.dissolve"]
    assert api.post(f"/api/v1/owner/groups/{gid}/renew", json={"end_date": later}).status_code == 409


def test_health(env):
    c, srv = env
    api = web_support.login(srv.url, "ownerA", c.passwords["ownerA"])
    h = api.get("/api/v1/owner/groups/gA/health").json()
    s = h["summary"]
    assert s["weeks"] == 4
    assert s["messages_per_day"] == round((77 + 84 + 91 + 98) / 28, 1)
    assert s["demands_per_week"] == 10 and s["after_hours_share"] == 0.3
    assert s["reply_storms"] == 1 and s["reply_storm_replies"] == 9  # the March storm is older than 4 weeks
    assert s["duplicate_notices"] == 4 and s["messages_total"] == 6
    page = api.get("/owner/groups/gA")
    assert page.status_code == 200 and "chart-group-health" in page.text


def test_my_burden_only_mine(env):
    c, srv = env
    cadre = web_support.login(srv.url, "cadreA", c.passwords["cadreA"])
    d = cadre.get("/api/v1/me/burden").json()
    assert d["person_id"] == "pA3"
    row = next(m for m in d["metrics"] if m["metric"] == "demands_received")
    assert row["latest"] == 9.0 and row["previous_avg"] == 6.5 and row["change"] == 2.5
    assert "777" not in cadre.get("/api/v1/me/burden").text
    page = cadre.get("/me")
    assert page.status_code == 200 and "777" not in page.text and "chart-my-burden" in page.text
    assert re.search(r"收到要求数", page.text)
    liaison = web_support.login(srv.url, "liaisonA", c.passwords["liaisonA"])
    assert liaison.get("/api/v1/me/burden").status_code == 403
