"""What makes the web fast without making it wrong: page data cached per store / lake version,
sessions shared by worker processes through the store, and the analysis' precomputed evidence
context (identical to the scan it replaces)."""

from __future__ import annotations

import datetime as dt

import httpx
import pyarrow as pa
from sqlalchemy import select

from web_support import Server, build_county, login
from zhijian.analysis import evidence_context as evidence
from zhijian.lake.schema import MESSAGES
from zhijian.store.models import Finding, User
from zhijian.web.cache import Versions
from zhijian.web.lakeview import LakeView


def test_store_version_sees_commits_of_other_connections(tmp_path):
    c = build_county(tmp_path / "ws")
    v = Versions(c.ws)
    a = v.store()
    assert v.store() == a  # nothing committed: the cached pages stay valid
    with c.ws.store.session() as s:  # another connection (as another process would)
        s.get(Finding, "fA").title = "改过的标题"
    b = v.store()
    assert b != a
    v.bump()  # this process's own writes
    assert v.store() != b
    lake0 = v.lake("messages", "indicators")
    one = c.ws.lake().table("messages").limit(1).to_pyarrow().to_pylist()
    one[0]["message_id"] = "new-1"
    c.ws.lake().append_batch("messages", "b2", pa.Table.from_pylist(one, schema=MESSAGES))  # an import
    lake1 = v.lake("messages", "indicators")
    assert lake1[0] != lake0[0] and lake1[1] == lake0[1]
    ind = c.ws.lake().table("indicators").to_pyarrow()
    c.ws.lake().replace("indicators", ind)  # an analysis run
    assert v.lake("messages", "indicators")[1] != lake1[1]
    v.close()
    c.ws.close()


def test_pages_follow_writes_from_outside_the_app(tmp_path):
    """A change committed by another process (the CLI, another worker) shows on the next request."""
    c = build_county(tmp_path / "ws")
    with Server(c.ws) as srv:
        cl = login(srv.url, "super", c.passwords["super"])
        before = cl.get("/api/v1/dashboard").json()["findings_total"]
        assert cl.get("/api/v1/findings/fA").json()["title"].startswith("东关镇工作群")
        with c.ws.store.session() as s:
            s.get(Finding, "fA").title = "外部修改的标题"
            s.get(Finding, "fB").active = False
        assert cl.get("/api/v1/findings/fA").json()["title"] == "外部修改的标题"
        assert cl.get("/api/v1/dashboard").json()["findings_total"] == before - 1
        assert "外部修改的标题" in cl.get("/findings/fA").text
    c.ws.close()


def test_sessions_are_shared_between_worker_processes(tmp_path):
    """Two apps on one store stand for two `zhijian serve --workers 2` processes."""
    c = build_county(tmp_path / "ws")
    with Server(c.ws) as one, Server(c.ws) as two:
        cl = login(one.url, "liaisonA", c.passwords["liaisonA"])
        token = cl.headers["x-csrf-token"]
        with httpx.Client(base_url=two.url, cookies=cl.cookies) as other:
            assert other.get("/api/v1/me").json()["username"] == "liaisonA"
            # CSRF token of the session is valid on the other process too
            r = other.post(
                "/api/v1/findings/fA/actions",
                json={"action": "comment", "note": "另一进程"},
                headers={"X-CSRF-Token": token},
            )
            assert r.status_code == 200, r.text
            assert (
                other.post(
                    "/api/v1/findings/fA/actions",
                    json={"action": "comment", "note": "x"},
                    headers={"X-CSRF-Token": "wrong"},
                ).status_code
                == 403
            )
            # deactivating the user on process one ends the session on process two
            with c.ws.store.session() as s:
                uid = s.execute(select(User.id).where(User.username == "liaisonA")).scalar_one()
            one.app.state.zj.sessions.drop_user(uid)
            assert other.get("/api/v1/me").status_code == 401
        cl.close()
    c.ws.close()


def test_precomputed_evidence_context_equals_the_scan(tmp_path):
    c = build_county(tmp_path / "ws")
    ws = c.ws
    # a busier group: 40 messages a few minutes apart, and one more than a day later
    base = dt.datetime(2026, 5, 5, 1, 0, tzinfo=dt.UTC)
    rows = []
    for i in range(41):
        ts = base + dt.timedelta(minutes=5 * i if i < 40 else 60 * 30)
        rows.append(
            {
                "message_id": f"n{i:02d}",
                "source": "test",
                "group_id": "gA",
                "sender_id": "pA1",
                "sender_name": "发送人",
                "ts": ts,
                "local_ts": (ts + dt.timedelta(hours=8)).replace(tzinfo=None),
                "kind": "text",
                "text": f"第 {i} 条",
                "reply_to": None,
                "mentions": [],
                "at_all": False,
                "forwarded": False,
                "batch_id": "b2",
            }
        )
    ws.lake().append_batch("messages", "b2", pa.Table.from_pylist(rows, schema=MESSAGES))
    ids = ["n00", "n20", "n39", "n40", "m3", "m7", "no-such-message"]
    with ws.store.session() as s:
        s.get(Finding, "fA").evidence = {"message_ids": ids, "message_count": len(ids)}
    res = evidence.build(ws)
    assert res["evidence_ids"] == len(ids) + 0 and res["rows"] > 0
    lv = LakeView(ws)
    files = lv._files("messages")
    assert evidence.fresh_file(ws.lake_root, files) is not None
    pre = lv._evidence_any(ids, files)
    scan = {k: v for k, v in lv._evidence(ids, files).items() if v}
    assert [e["message_id"] for e in pre] == sorted(scan, key=lambda h: (scan[h][0], h))
    for e in pre:
        assert e["messages"] == scan[e["message_id"]][2]
    by_id = {e["message_id"]: e for e in pre}
    assert len(by_id["n20"]["messages"]) == 7  # three before, itself, three after
    # the group's earlier messages (the county's m4..m6, the evening before) are within a day
    assert [m["message_id"] for m in by_id["n00"]["messages"]] == [
        "m4",
        "m5",
        "m6",
        "n00",
        "n01",
        "n02",
        "n03",
    ]
    assert [m["hit"] for m in by_id["n00"]["messages"]] == [False, False, False, True, False, False, False]
    assert [m["message_id"] for m in by_id["n40"]["messages"]] == ["n40"]  # neighbours are > 1 day away
    assert "no-such-message" not in by_id
    # an import after the analysis makes the file stale: the scan answers until the next analysis
    ws.lake().append_batch("messages", "b3", pa.Table.from_pylist(rows[:1], schema=MESSAGES))
    assert evidence.fresh_file(ws.lake_root, lv._files("messages")) is None
    ws.close()
