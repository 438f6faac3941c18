"""Shared by the tests/test_web_*.py files: a real workspace with a small county, and a real
uvicorn server in a thread."""

from __future__ import annotations

import atexit
import datetime as dt
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyarrow as pa

from zhijian.lake.schema import INDICATORS, MEMBERSHIPS, MESSAGES
from zhijian.store.models import Account, App, Finding, Group, Person, Recommendation, Unit
from zhijian.web.auth import create_user, generate_password
from zhijian.workspace import init_workspace, open_workspace

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 9, 0)


def unit(id_, name, parent, level):
    path = (parent.path if parent else "/") + id_ + "/"
    return Unit(
        id=id_, name=name, parent_id=parent.id if parent else None, level=level, kind="township", path=path
    )


@dataclass
class County:
    ws: object
    passwords: dict[str, str] = field(default_factory=dict)
    # object ids by scope: own = in township A (the liaison's unit) and owned by the owner; foreign = township B
    own: dict[str, str] = field(default_factory=dict)
    foreign: dict[str, str] = field(default_factory=dict)
    pg_schema: str | None = None


def reset_pg_schema(url: str, schema: str) -> str:
    """A fresh PostgreSQL schema for this run; returns a URL whose connections use it."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        con.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


#: The SQLite county, built once per process and copied for each test (see :func:`build_county`).
_TEMPLATE: dict[str, tuple[Path, County]] = {}


def build_county(root: Path, store_url: str | None = None) -> County:
    """The small county in a fresh workspace at ``root``.

    With the workspace's own SQLite store it is built once per test process and its folder copied
    (store, lake and config; nothing in them names the folder): building it hashes six passwords
    with argon2, which made it most of a second per test."""
    if store_url is not None or os.environ.get("ZHIJIAN_STORE_URL"):
        return _build_county(root, store_url)
    if "sqlite" not in _TEMPLATE:
        tmp = Path(tempfile.mkdtemp(prefix="zhijian-test-county-"))
        atexit.register(shutil.rmtree, tmp, True)
        c0 = _build_county(tmp / "ws", None)
        c0.ws.close()
        _TEMPLATE["sqlite"] = (tmp / "ws", c0)
    src, c0 = _TEMPLATE["sqlite"]
    shutil.copytree(src, root)
    ws = open_workspace(root)
    assert ws.store.engine.url.database and Path(ws.store.engine.url.database).resolve().is_relative_to(
        root.resolve()
    )
    return County(ws, dict(c0.passwords), dict(c0.own), dict(c0.foreign))


def _build_county(root: Path, store_url: str | None = None) -> County:
    old = os.environ.get("ZHIJIAN_STORE_URL")
    if store_url:
        os.environ["ZHIJIAN_STORE_URL"] = store_url
    try:
        ws = init_workspace(root, "测试县")
        ws.store  # noqa: B018 - bind the store URL now
    finally:
        if store_url:
            if old is None:
                os.environ.pop("ZHIJIAN_STORE_URL", None)
            else:
                os.environ["ZHIJIAN_STORE_URL"] = old
    c = County(ws)
    county = unit("C", "测试县", None, "county")
    a = unit("A", "东关镇", county, "township")
    a1 = unit("A1", "东关村", a, "village")
    b = unit("B", "西河乡", county, "township")
    people = []
    for i in range(8):
        people.append(Person(id=f"pA{i}", name=f"东关干部{i}", unit_id="A", aliases=[]))
    for i in range(6):
        people.append(Person(id=f"pA1{i}", name=f"东关村干部{i}", unit_id="A1", aliases=[]))
    for i in range(3):
        people.append(Person(id=f"pB{i}", name=f"西河干部{i}", unit_id="B", aliases=[]))
    groups = [
        Group(
            id="gA",
            name="东关镇工作群",
            unit_id="A",
            owner_id="pA0",
            purpose="日常工作通知",
            member_count=14,
            registered=True,
            created_on=dt.date(2025, 1, 1),
        ),
        Group(
            id="gA1",
            name="东关村防汛临时群",
            unit_id="A1",
            owner_id="pA10",
            group_type="temporary",
            end_date=dt.date(2026, 3, 1),
            member_count=6,
        ),
        Group(id="gB", name="西河乡工作群", unit_id="B", owner_id="pB0", member_count=3),
        Group(id="gB2", name="西河乡旧群", unit_id="B", owner_id="pB1", status="dissolved", member_count=3),
    ]
    apps = [
        App(id="appA", name="东关打卡通", unit_id="A", features=["checkin"], users=120),
        App(id="appB", name="西河学习", unit_id="B", users=40, status="removed"),
    ]
    accounts = [
        Account(id="accA", name="东关发布", unit_id="A", followers=900, last_post_on=dt.date(2026, 1, 5)),
        Account(id="accB", name="西河发布", unit_id="B", followers=300),
    ]

    def finding(fid, cat, otype, oid, unit_id, title, **kw):
        return Finding(
            id=fid,
            category=cat,
            rule_id=f"test.{cat.lower()}",
            object_type=otype,
            object_id=oid,
            unit_id=unit_id,
            title=title,
            first_seen_at=NOW,
            last_seen_at=NOW,
            updated_at=NOW,
            **kw,
        )

    findings = [
        finding(
            "fA",
            "GROUP_ROLLCALL_INSTANT",
            "group",
            "gA",
            "A",
            "东关镇工作群：本月 12 次要求回复“收到”",
            evidence={"message_ids": ["m3"], "message_count": 1, "metrics": {"demands": 12}},
            severity="high",
        ),
        finding("fA1", "STALE_TEMP_GROUP", "group", "gA1", "A1", "东关村防汛临时群逾期未解散"),
        finding(
            "fAapp",
            "MANDATORY_CHECKIN_POINTS",
            "app",
            "appA",
            "A",
            "东关打卡通含强制打卡功能",
            status="assigned",
            assignee_unit_id="A",
            deadline=dt.date(2026, 1, 10),
        ),
        finding(
            "fB",
            "AFTER_HOURS",
            "group",
            "gB",
            "B",
            "西河乡工作群：非工作时间布置任务",
            evidence={"message_ids": ["m7"], "message_count": 1},
        ),
        finding("fBacc", "ZOMBIE", "account", "accB", "B", "西河发布 90 天未更新"),
    ]
    for i in range(40):  # paging material, all in township B
        findings.append(finding(f"fBx{i:02d}", "ZOMBIE", "group", "gB2", "B", f"西河乡旧群问题 {i}"))
    recs = [
        Recommendation(
            id="group:gA",
            object_type="group",
            object_id="gA",
            unit_id="A",
            action="merge",
            merge_into="gA1",
            reasons=["与东关村防汛临时群成员重合 80%"],
            evidence={},
            updated_at=NOW,
        ),
    ]
    with ws.store.session() as s:
        for u in (county, a, a1, b):
            s.add(u)
            s.flush()
        s.add_all(people)
        s.flush()
        s.add_all(groups + apps + accounts)
        s.flush()
        s.add_all(findings + recs)
        s.flush()
        specs = [
            ("admin", "admin", None, None),
            ("super", "supervisor", None, None),
            ("liaisonA", "liaison", "A", None),
            ("liaisonB", "liaison", "B", None),
            ("ownerA", "owner", "A", "pA0"),
            ("cadreA", "cadre", "A", "pA3"),
        ]
        for name, role, uid, pid in specs:
            pw = generate_password()
            create_user(s, name, role, pw, unit_id=uid, person_id=pid, display_name=name, actor="test")
            c.passwords[name] = pw

    lake = ws.lake()
    base = dt.datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    msgs = []
    texts = [
        "各位请注意",
        "今晚十点前报送材料",
        "收到请回复",
        "收到",
        "收到",
        "好的",
        "明天上午开会",
        "周六晚上请补充表格",
    ]
    for i, t in enumerate(texts):
        g = "gA" if i < 6 else "gB"
        ts = base + dt.timedelta(minutes=7 * i)
        msgs.append(
            {
                "message_id": f"m{i + 1}",
                "source": "test",
                "group_id": g,
                "sender_id": f"p{g[1]}{i % 3}",
                "sender_name": f"发送人{i % 3}",
                "ts": ts,
                "local_ts": (ts + dt.timedelta(hours=8)).replace(tzinfo=None),
                "kind": "text",
                "text": t,
                "reply_to": None,
                "mentions": [],
                "at_all": i == 2,
                "forwarded": False,
                "batch_id": "b1",
            }
        )
    lake.append_batch("messages", "b1", pa.Table.from_pylist(msgs, schema=MESSAGES))
    mem = [
        {
            "group_id": "gA",
            "person_id": f"pA{i}",
            "role": "owner" if i == 0 else "member",
            "joined_at": None,
            "left_at": None,
            "batch_id": "b1",
        }
        for i in range(8)
    ]
    lake.append_batch("memberships", "b1", pa.Table.from_pylist(mem, schema=MEMBERSHIPS))
    ind = []
    for w, period in enumerate(["2026-04-27", "2026-05-04"]):
        for scope, sid, v in [
            ("county", "C", 10),
            ("unit", "C", 10),
            ("unit", "A", 6),
            ("unit", "A1", 3),
            ("unit", "B", 9),
            ("person", "pA3", 2),
            ("person", "pB0", 99),
        ]:
            ind.append(
                {
                    "scope": scope,
                    "scope_id": sid,
                    "period": period,
                    "metric": "demands",
                    "value": float(v + w),
                }
            )
            ind.append(
                {
                    "scope": scope,
                    "scope_id": sid,
                    "period": period,
                    "metric": "after_hours_share",
                    "value": 0.1 * (w + 1),
                }
            )
    lake.replace("indicators", pa.Table.from_pylist(ind, schema=INDICATORS))
    c.own = {"group": "gA", "app": "appA", "account": "accA", "finding": "fA"}
    c.foreign = {"group": "gB", "app": "appB", "account": "accB", "finding": "fB"}
    return c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The app under uvicorn in a background thread, on a free loopback port."""

    def __init__(self, ws, **app_kw):
        import uvicorn

        from zhijian.web.app import create_app

        self.app = create_app(ws, **app_kw)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, access_log=False, log_level="warning"
        )
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def login(url: str, username: str, password: str) -> httpx.Client:
    """An API client logged in as ``username`` (cookie + X-CSRF-Token header)."""
    cl = httpx.Client(base_url=url, timeout=30, follow_redirects=False)
    r = cl.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    cl.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return cl


def page_login(url: str, username: str, password: str) -> tuple[httpx.Client, str]:
    """A browser-like client logged in through the HTML form; returns (client, csrf token)."""
    import re

    cl = httpx.Client(base_url=url, timeout=30, follow_redirects=False)
    r = cl.get("/login")
    tok = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    r = cl.post(
        "/login", data={"username": username, "password": password, "csrf_token": tok, "next": "/dashboard"}
    )
    assert r.status_code == 303, r.text
    r = cl.get("/dashboard")
    tok = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    return cl, tok


# ── pytest fixtures (imported by the test modules) ─────────────────────────────────────────────
import pytest  # noqa: E402

BACKENDS = ["sqlite"] + (["pg"] if os.environ.get("ZHIJIAN_TEST_PG") else [])
ROLES = ("admin", "super", "liaisonA", "ownerA", "cadreA")


def make_county(kind: str, root: Path) -> County:
    url = None
    c_schema = None
    if kind == "pg":
        import uuid

        c_schema = f"zj_web_{uuid.uuid4().hex[:8]}"
        url = reset_pg_schema(os.environ["ZHIJIAN_TEST_PG"], c_schema)
    c = build_county(root, url)
    c.pg_schema = c_schema
    return c


def drop_pg_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(os.environ["ZHIJIAN_TEST_PG"], autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="module", params=BACKENDS)
def county(request, tmp_path_factory) -> County:
    c = make_county(request.param, tmp_path_factory.mktemp("ws") / "ws")
    yield c
    c.ws.close()
    if c.pg_schema:
        drop_pg_schema(c.pg_schema)


@pytest.fixture(scope="module")
def server(county):
    with Server(county.ws) as srv:
        yield srv


@pytest.fixture(scope="module")
def clients(county, server):
    cls = {r: login(server.url, r, county.passwords[r]) for r in ROLES + ("liaisonB",)}
    yield cls
    for c in cls.values():
        c.close()
