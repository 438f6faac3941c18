"""The rectification loop through the real server, screening decisions, attachments, exports,
and the hash-chained audit log (verification and tamper detection)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import select, text

import web_support
from web_support import page_login
from zhijian.store import audit
from zhijian.store.models import AuditLog, Finding, FindingEvent, Recommendation

# fixtures shared by the web tests
clients = web_support.clients
county = web_support.county
server = web_support.server


def _status(cl, fid):
    return cl.get(f"/api/v1/findings/{fid}").json()["status"]


def test_full_loop(clients, county):
    sup, lia, other = clients["super"], clients["liaisonA"], clients["liaisonB"]
    deadline = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    # the liaison may not assign
    r = lia.post(
        "/api/v1/findings/fA1/actions",
        json={"action": "assign", "assignee_unit_id": "A1", "deadline": deadline},
    )
    assert r.status_code == 403
    # nothing to submit before assignment
    r = lia.post("/api/v1/findings/fA1/actions", json={"action": "submit", "note": "已整改"})
    assert r.status_code in (403, 409)
    r = sup.post(
        "/api/v1/findings/fA1/actions",
        json={"action": "assign", "assignee_unit_id": "A1", "deadline": deadline},
    )
    assert r.status_code == 200 and r.json()["status"] == "assigned"
    # a liaison of another township cannot even see it
    assert other.post("/api/v1/findings/fA1/actions", json={"action": "start"}).status_code == 404
    assert lia.post("/api/v1/findings/fA1/actions", json={"action": "start"}).json()["status"] == "rectifying"
    r = lia.post("/api/v1/findings/fA1/actions", json={"action": "submit", "note": ""})
    assert r.status_code == 409  # evidence required
    r = lia.post(
        "/api/v1/findings/fA1/actions", json={"action": "submit", "note": "临时群已于 6 月 2 日解散"}
    )
    assert r.json()["status"] == "submitted"
    assert lia.post("/api/v1/findings/fA1/actions", json={"action": "verify"}).status_code == 403
    r = sup.post("/api/v1/findings/fA1/actions", json={"action": "reopen", "note": "请补充解散截图"})
    assert r.json()["status"] == "reopened"
    lia.post("/api/v1/findings/fA1/actions", json={"action": "submit", "note": "已补充截图"})
    assert sup.post("/api/v1/findings/fA1/actions", json={"action": "verify"}).json()["status"] == "verified"
    assert sup.post("/api/v1/findings/fA1/actions", json={"action": "close"}).json()["status"] == "closed"
    assert sup.post("/api/v1/findings/fA1/actions", json={"action": "verify"}).status_code == 409
    d = sup.get("/api/v1/findings/fA1").json()
    steps = [e["to_status"] for e in d["events"] if e["to_status"]]
    assert steps == ["assigned", "rectifying", "submitted", "reopened", "submitted", "verified", "closed"]
    with county.ws.store.session() as s:
        acts = (
            s.execute(select(AuditLog.action).where(AuditLog.object_id == "fA1").order_by(AuditLog.id))
            .scalars()
            .all()
        )
        assert acts == [
            "finding.assign",
            "finding.start",
            "finding.submit",
            "finding.reopen",
            "finding.submit",
            "finding.verify",
            "finding.close",
        ]
        assert audit.verify(s) == (True, None)
    assert sup.get("/api/v1/audit/verify").json()["ok"] is True


def test_assign_needs_unit_and_deadline(clients):
    sup = clients["super"]
    assert (
        sup.post(
            "/api/v1/findings/fB/actions", json={"action": "assign", "assignee_unit_id": "B"}
        ).status_code
        == 409
    )
    assert (
        sup.post(
            "/api/v1/findings/fB/actions", json={"action": "assign", "deadline": "2030-01-01"}
        ).status_code
        == 409
    )
    r = sup.post(
        "/api/v1/findings/fB/actions",
        json={"action": "assign", "assignee_unit_id": "nope", "deadline": "2030-01-01"},
    )
    assert r.status_code in (409, 422)
    assert sup.post("/api/v1/findings/fB/actions", json={"action": "fly"}).status_code == 422


def test_overdue_highlighting(clients, county, page_clients_sup):
    items = clients["super"].get("/api/v1/findings", params={"overdue": True}).json()["items"]
    assert [i["id"] for i in items] == ["fAapp"] and items[0]["overdue"]
    html = page_clients_sup.get("/findings").text
    row = re.search(r'<tr class="overdue">.*?</tr>', html, re.S).group(0)
    assert "东关打卡通" in row and "逾期" in row
    assert clients["super"].get("/api/v1/dashboard").json()["findings_overdue"] == 1


@pytest.fixture(scope="module")
def page_clients_sup(server, county):
    cl, _ = page_login(server.url, "super", county.passwords["super"])
    yield cl
    cl.close()


def test_form_workflow_with_attachment(server, county, clients):
    sup, tok = page_login(server.url, "super", county.passwords["super"])
    r = sup.post(
        "/findings/fA/action",
        data={
            "action": "assign",
            "assignee_unit_id": "A",
            "deadline": "2030-12-31",
            "note": "",
            "csrf_token": tok,
        },
    )
    assert r.status_code == 303
    lia, ltok = page_login(server.url, "liaisonA", county.passwords["liaisonA"])
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    r = lia.post(
        "/findings/fA/action",
        data={"action": "submit", "note": "已建立群规，取消“收到”接龙", "csrf_token": ltok},
        files={"attachment": ("整改照片.png", png, "image/png")},
    )
    assert r.status_code == 303
    page = sup.get("/findings/fA").text
    m = re.search(r'href="(/findings/fA/attachments/(\d+))"', page)
    assert m, page
    got = sup.get(m.group(1))
    assert (
        got.status_code == 200 and got.content == png and "attachment" in got.headers["content-disposition"]
    )
    # a liaison of another township cannot download it, even with the exact URL
    other, _ = page_login(server.url, "liaisonB", county.passwords["liaisonB"])
    assert other.get(m.group(1)).status_code == 404
    # bad file types are refused
    r = lia.post(
        "/findings/fA/action",
        data={"action": "comment", "note": "x", "csrf_token": ltok},
        files={"attachment": ("x.exe", b"MZ", "application/octet-stream")},
    )
    assert r.status_code == 422
    # evidence messages are shown in context (read from the lake)
    assert "收到请回复" in page and "各位请注意" in page and 'class="msg hit"' in page
    # the category's Chinese name and source
    assert "GROUP_ROLLCALL_INSTANT" in page


def test_decision_recorded_and_audited(clients, county):
    r = clients["super"].post(
        "/api/v1/inventory/groups/gA/decision", json={"decision": "merge", "reason": "与村群重复"}
    )
    assert r.status_code == 200
    with county.ws.store.session() as s:
        rec = s.get(Recommendation, "group:gA")
        assert rec.decision == "merge" and rec.decision_reason == "与村群重复" and rec.decided_by is not None
        last = s.execute(select(AuditLog).order_by(AuditLog.id.desc()).limit(1)).scalar_one()
        assert last.action == "recommendation.decide" and last.after["decision"] == "merge"
    r = clients["super"].post(
        "/api/v1/inventory/groups/gA/decision", json={"decision": "merge", "reason": ""}
    )
    assert r.status_code == 422
    d = clients["super"].get("/api/v1/inventory/groups/gA").json()
    assert d["rec"]["decision"] == "merge" and d["rec"]["reasons"]
    assert len(d["members"]) == 8 and d["activity"][0][1] == 6


def test_xlsx_export_is_the_filtered_list(clients, server, county):
    import openpyxl

    lia, _ = page_login(server.url, "liaisonA", county.passwords["liaisonA"])
    r = lia.get("/findings?format=xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][0] == "编号"
    assert {x[0] for x in rows[1:]} == {"fA", "fA1", "fAapp"}
    sup, _ = page_login(server.url, "super", county.passwords["super"])
    wb = openpyxl.load_workbook(io.BytesIO(sup.get("/findings?format=xlsx&category=ZOMBIE").content))
    n = wb.active.max_row - 1
    assert n == clients["super"].get("/api/v1/findings", params={"category": "ZOMBIE"}).json()["total"] == 41
    wb = openpyxl.load_workbook(io.BytesIO(sup.get("/inventory/groups?format=xlsx&q=东关").content))
    assert sorted(x[0] for x in list(wb.active.iter_rows(values_only=True))[1:]) == [
        "东关村防汛临时群",
        "东关镇工作群",
    ]


def test_paging_and_sorting(clients):
    sup = clients["super"]
    p1 = sup.get("/api/v1/findings", params={"per_page": 20, "page": 1}).json()
    p3 = sup.get("/api/v1/findings", params={"per_page": 20, "page": 3}).json()
    assert p1["total"] >= 45 and len(p1["items"]) == 20 and len(p3["items"]) == p1["total"] - 40
    names = [
        g["name"]
        for g in sup.get("/api/v1/inventory/groups", params={"sort": "members", "order": "desc"}).json()[
            "items"
        ]
    ]
    assert names[0] == "东关镇工作群"


def test_audit_tamper_detection(county):
    eng = county.ws.store.engine
    with county.ws.store.session() as s:
        audit.record(
            s, "tester", "test.one", "finding", "fB", {"a": 1}, {"a": 2, "when": dt.date(2026, 1, 1)}
        )
        audit.record(s, "tester", "test.two", "finding", "fB", None, {"x": "中文"})
    with county.ws.store.session() as s:
        assert audit.verify(s) == (True, None)
        ids = s.execute(select(AuditLog.id).order_by(AuditLog.id)).scalars().all()
    victim = ids[len(ids) // 2]
    with eng.begin() as con:
        con.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = :i"), {"i": victim})
    with county.ws.store.session() as s:
        assert audit.verify(s) == (False, victim)
    # recomputing the forged entry's own hash does not help: the next entry's prev_hash no longer matches
    with county.ws.store.session() as s:
        row = s.get(AuditLog, victim)
        row.hash = audit.entry_hash(
            row.prev_hash,
            row.at,
            row.actor,
            row.action,
            row.object_type,
            row.object_id,
            row.before,
            row.after,
        )
    with county.ws.store.session() as s:
        assert audit.verify(s) == (False, ids[ids.index(victim) + 1])


def test_audit_deletion_detected(tmp_path):
    from web_support import build_county

    c = build_county(tmp_path / "ws")
    with c.ws.store.session() as s:
        for i in range(5):
            audit.record(s, "t", "x", "finding", f"f{i}", None, {"i": i})
        ids = s.execute(select(AuditLog.id).order_by(AuditLog.id)).scalars().all()
    with c.ws.store.engine.begin() as con:
        con.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": ids[3]})
    with c.ws.store.session() as s:
        assert audit.verify(s) == (False, ids[4])
    c.ws.close()


def test_workflow_events_in_store(county):
    with county.ws.store.session() as s:
        f = s.get(Finding, "fA")
        assert f.status == "submitted" and f.assignee_unit_id == "A"
        ev = s.execute(
            select(FindingEvent).where(FindingEvent.finding_id == "fA", FindingEvent.action == "submit")
        ).scalar_one()
        assert ev.attachment and (county.ws.attachments / ev.attachment).exists()


def test_group_activity_prefers_the_analysis_indicators(clients, county):
    import pyarrow as pa

    from zhijian.lake.schema import INDICATORS

    lake = county.ws.lake()
    old = lake.to_arrow(lake.table("indicators"))
    rows = old.to_pylist() + [
        {"scope": "group", "scope_id": "gA", "period": p, "metric": "messages", "value": v}
        for p, v in (("2026-04-27", 40.0), ("2026-05-04", 55.0))
    ]
    lake.replace("indicators", pa.Table.from_pylist(rows, schema=INDICATORS))
    try:
        d = clients["super"].get("/api/v1/inventory/groups/gA").json()
        assert d["activity"] == [["2026-04-27", 40], ["2026-05-04", 55]]
    finally:
        lake.replace("indicators", old)
