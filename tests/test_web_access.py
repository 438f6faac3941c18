"""Every route × every role × own / foreign unit, against a real server: allowed where it should be,
403 (role may never) or 404 (object outside the caller's scope, including guessed ids) elsewhere."""

from __future__ import annotations

import re

import httpx
import pytest

import web_support
from web_support import ROLES, page_login

# fixtures shared by the web tests
clients = web_support.clients
county = web_support.county
server = web_support.server

OFFICE = ("admin", "super")
KIND_PATH = {"group": "groups", "app": "apps", "account": "accounts"}


def detail_expect(role: str, otype: str, which: str) -> int:
    """Expected status of a detail page/API for ``role`` on an own (township A) or foreign (B) object."""
    if role in OFFICE:
        return 200
    if role == "cadreA":
        return 403
    if role == "liaisonA":
        return 200 if which == "own" else 404
    # owner: only their groups, and findings on their groups
    if otype in ("group", "finding"):
        return 200 if which == "own" else 404
    return 404


def list_expect(role: str, area: str) -> int:
    allowed = {
        "inventory": ("admin", "super", "liaisonA", "ownerA"),
        "findings": ("admin", "super", "liaisonA", "ownerA"),
        "burden": ("admin", "super", "liaisonA", "cadreA"),
        "dashboard": ROLES,
        "settings": ROLES,
        "policy": ROLES,
        "units": ROLES,
        "audit": OFFICE,
        "users": ("admin",),
    }[area]
    return 200 if role in allowed else 403


def detail_cases():
    for role in ROLES:
        for otype in ("group", "app", "account", "finding"):
            for which in ("own", "foreign"):
                yield role, otype, which


@pytest.mark.parametrize("role,otype,which", list(detail_cases()))
def test_detail_api(clients, county, role, otype, which):
    oid = (county.own if which == "own" else county.foreign)[otype]
    path = f"/api/v1/findings/{oid}" if otype == "finding" else f"/api/v1/inventory/{KIND_PATH[otype]}/{oid}"
    r = clients[role].get(path)
    assert r.status_code == detail_expect(role, otype, which), (role, path, r.text[:200])
    if r.status_code == 200:
        assert r.json()["id"] == oid


@pytest.mark.parametrize("role,otype,which", list(detail_cases()))
def test_detail_pages(server, county, role, otype, which, page_clients):
    oid = (county.own if which == "own" else county.foreign)[otype]
    path = f"/findings/{oid}" if otype == "finding" else f"/inventory/{KIND_PATH[otype]}/{oid}"
    r = page_clients[role].get(path)
    assert r.status_code == detail_expect(role, otype, which), (role, path)
    if r.status_code == 404:
        assert "未找到" in r.text


@pytest.fixture(scope="module")
def page_clients(server, county):
    out = {r: page_login(server.url, r, county.passwords[r])[0] for r in ROLES}
    yield out
    for c in out.values():
        c.close()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "area,path",
    [
        ("inventory", "/api/v1/inventory/groups"),
        ("inventory", "/api/v1/inventory/apps"),
        ("inventory", "/api/v1/inventory/accounts"),
        ("findings", "/api/v1/findings"),
        ("burden", "/api/v1/burden"),
        ("dashboard", "/api/v1/dashboard"),
        ("policy", "/api/v1/policy"),
        ("units", "/api/v1/units"),
        ("audit", "/api/v1/audit"),
        ("audit", "/api/v1/audit/verify"),
        ("users", "/api/v1/users"),
    ],
)
def test_list_api(clients, role, area, path):
    r = clients[role].get(path)
    assert r.status_code == list_expect(role, area), (role, path, r.text[:200])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "area,path",
    [
        ("inventory", "/inventory/groups"),
        ("inventory", "/inventory/apps"),
        ("inventory", "/inventory/accounts"),
        ("findings", "/findings"),
        ("findings", "/findings?format=xlsx"),
        ("inventory", "/inventory/groups?format=xlsx"),
        ("burden", "/burden"),
        ("dashboard", "/dashboard"),
        ("settings", "/settings"),
        ("audit", "/audit"),
    ],
)
def test_list_pages(page_clients, role, area, path):
    r = page_clients[role].get(path)
    assert r.status_code == list_expect(role, area), (role, path)


@pytest.mark.parametrize("role", ("liaisonA", "ownerA"))
@pytest.mark.parametrize("kind", ("groups", "apps", "accounts"))
def test_lists_hold_only_the_scope(clients, county, role, kind):
    items = clients[role].get(f"/api/v1/inventory/{kind}", params={"per_page": 500}).json()["items"]
    ids = {i["id"] for i in items}
    otype = kind[:-1]
    assert county.foreign[otype] not in ids
    if role == "liaisonA" or otype == "group":
        assert county.own[otype] in ids
    else:
        assert ids == set()
    if role == "liaisonA":
        assert all(i["unit_id"] in ("A", "A1") for i in items)


def test_findings_scope(clients, county):
    seen = {
        r: {f["id"] for f in clients[r].get("/api/v1/findings", params={"per_page": 500}).json()["items"]}
        for r in ("super", "liaisonA", "liaisonB", "ownerA")
    }
    assert {"fA", "fA1", "fAapp", "fB"} <= seen["super"]
    assert seen["liaisonA"] == {"fA", "fA1", "fAapp"}
    assert "fA" not in seen["liaisonB"] and "fB" in seen["liaisonB"]
    assert seen["ownerA"] == {"fA"}


def test_unit_filter_cannot_widen_scope(clients):
    # a liaison asking for the foreign unit gets nothing, not the foreign unit's rows
    r = clients["liaisonA"].get("/api/v1/findings", params={"unit": "B"})
    assert r.status_code == 200 and r.json()["total"] == 0
    r = clients["liaisonA"].get("/api/v1/inventory/groups", params={"unit": "B"})
    assert r.json()["total"] == 0


def test_burden_scope_and_min_group(clients):
    b = clients["liaisonA"].get("/api/v1/burden").json()
    units = {u["unit_id"]: u for u in b["units"]}
    assert set(units) == {"A", "A1"}  # not B, not the county
    assert units["A"]["people"] == 14 and not units["A"]["withheld"]
    sup = {u["unit_id"]: u for u in clients["super"].get("/api/v1/burden").json()["units"]}
    assert sup["B"]["withheld"] and sup["B"]["values"] == {} and sup["B"]["people"] is None  # 3 people < 5
    me = clients["cadreA"].get("/api/v1/burden").json()["person"]
    assert me["values"]["2026-05-04"]["demands"] == 3.0
    assert "99" not in str(me)  # another person's figures never appear


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("which", ("own", "foreign"))
def test_comment_action(clients, county, role, which):
    fid = (county.own if which == "own" else county.foreign)["finding"]
    r = clients[role].post(
        f"/api/v1/findings/{fid}/actions", json={"action": "comment", "note": f"{role} 备注"}
    )
    expect = detail_expect(role, "finding", which)
    assert r.status_code == expect, (role, which, r.text[:200])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("which", ("own", "foreign"))
def test_decision_action(clients, county, role, which):
    gid = (county.own if which == "own" else county.foreign)["group"]
    r = clients[role].post(
        f"/api/v1/inventory/groups/{gid}/decision", json={"decision": "keep", "reason": "保留理由"}
    )
    assert r.status_code == (200 if role in OFFICE else 403), (role, r.text[:200])


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/inventory/groups/../../etc/passwd",
        "/api/v1/findings/%27%20OR%201=1",
        "/api/v1/inventory/groups/gB%00",
        "/api/v1/findings/fB/attachments/1",
    ],
)
def test_guessed_ids(clients, path):
    r = clients["liaisonA"].get(path)
    assert r.status_code == 404


def test_anonymous(server):
    with httpx.Client(base_url=server.url, follow_redirects=False) as cl:
        for p in ("/dashboard", "/inventory/groups", "/findings/fA", "/settings", "/audit"):
            r = cl.get(p)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        for p in ("/api/v1/dashboard", "/api/v1/findings", "/api/v1/inventory/groups/gA", "/api/v1/me"):
            assert cl.get(p).status_code == 401
        assert cl.get("/api/v1/openapi.json").status_code == 200


def test_nav_shows_only_allowed_areas(page_clients):
    html = page_clients["cadreA"].get("/dashboard").text
    nav = re.search(r'<nav class="main">(.*?)</nav>', html, re.S).group(1)
    assert "问题线索" not in nav and "审计日志" not in nav and "负担指数" in nav
