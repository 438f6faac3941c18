"""CSRF, cookies, security headers, CSP without inline scripts, session expiry, login rate limiting,
logout, password change, open redirects — against a real server."""

from __future__ import annotations

import re
import time

import httpx
import pytest

import web_support
from web_support import Server, build_county, login, page_login

# fixtures shared by the web tests
clients = web_support.clients
server = web_support.server


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """SQLite only: these are HTTP-level checks (the PostgreSQL variant runs in test_web_access and
    test_web_workflow)."""
    c = web_support.make_county("sqlite", tmp_path_factory.mktemp("ws") / "ws")
    yield c
    c.ws.close()


PAGES = [
    "/dashboard",
    "/inventory/groups",
    "/inventory/groups/gA",
    "/findings",
    "/findings/fA",
    "/burden",
    "/settings",
    "/audit",
    "/account/password",
]


def test_api_post_without_csrf_is_rejected(server, county):
    cl = login(server.url, "super", county.passwords["super"])
    good = cl.headers.pop("X-CSRF-Token")
    r = cl.post("/api/v1/findings/fA/actions", json={"action": "comment", "note": "x"})
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = cl.post(
        "/api/v1/findings/fA/actions",
        json={"action": "comment", "note": "x"},
        headers={"X-CSRF-Token": "bad"},
    )
    assert r.status_code == 403
    r = cl.post(
        "/api/v1/findings/fA/actions", json={"action": "comment", "note": "x"}, headers={"X-CSRF-Token": good}
    )
    assert r.status_code == 200
    # another session's token does not work either
    other = login(server.url, "admin", county.passwords["admin"])
    r = cl.post(
        "/api/v1/findings/fA/actions",
        json={"action": "comment", "note": "x"},
        headers={"X-CSRF-Token": other.headers["X-CSRF-Token"]},
    )
    assert r.status_code == 403


def test_form_post_without_csrf_is_rejected(server, county):
    cl, tok = page_login(server.url, "super", county.passwords["super"])
    r = cl.post("/inventory/groups/gA/decision", data={"decision": "keep", "reason": "r"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = cl.post(
        "/inventory/groups/gA/decision", data={"decision": "keep", "reason": "r", "csrf_token": "x" * 43}
    )
    assert r.status_code == 403
    r = cl.post(
        "/inventory/groups/gA/decision", data={"decision": "keep", "reason": "理由", "csrf_token": tok}
    )
    assert r.status_code == 303
    # logout is state-changing too
    assert cl.post("/logout").status_code == 403


def test_login_form_needs_its_token(server, county):
    with httpx.Client(base_url=server.url) as cl:
        r = cl.post("/login", data={"username": "super", "password": county.passwords["super"]})
        assert r.status_code == 403


def test_json_login_needs_json(server, county):
    with httpx.Client(base_url=server.url) as cl:
        r = cl.post(
            "/api/v1/auth/login",
            content=f'{{"username":"super","password":"{county.passwords["super"]}"}}',
            headers={"content-type": "text/plain"},
        )
        assert r.status_code in (415, 422)


def test_cookie_flags(server, county):
    with httpx.Client(base_url=server.url) as cl:
        r = cl.post("/api/v1/auth/login", json={"username": "super", "password": county.passwords["super"]})
        sc = r.headers["set-cookie"].lower()
        assert "httponly" in sc and "samesite=lax" in sc and "secure" not in sc
        r = cl.post(
            "/api/v1/auth/login",
            json={"username": "super", "password": county.passwords["super"]},
            headers={"X-Forwarded-Proto": "https"},
        )
        assert "secure" in r.headers["set-cookie"].lower()


def test_security_headers_and_no_inline_scripts(server, county):
    cl, _ = page_login(server.url, "admin", county.passwords["admin"])
    anon = httpx.Client(base_url=server.url)
    for p in PAGES + ["/login"]:
        r = (anon if p == "/login" else cl).get(p)
        assert r.status_code == 200, p
        h = r.headers
        csp = h["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"
        assert h["cache-control"] == "no-store"
        for tag in re.findall(r"<script\b[^>]*>", r.text):
            assert "src=" in tag or 'type="application/json"' in tag, (p, tag)
        assert not re.search(r"\son[a-z]+=", r.text), p  # no inline event handlers
        assert "style=" not in r.text, p
        assert "http://" not in r.text.replace(server.url, "") and "https://" not in r.text, p  # no CDN
    r = cl.get("/api/v1/dashboard")
    assert r.headers["x-content-type-options"] == "nosniff"


def test_vendored_assets_served(server):
    with httpx.Client(base_url=server.url) as cl:
        for p in (
            "/static/vendor/echarts/echarts.min.js",
            "/static/vendor/htmx/htmx.min.js",
            "/static/app.js",
            "/static/app.css",
            "/static/vendor/echarts/LICENSE",
            "/static/vendor/htmx/LICENSE",
        ):
            assert cl.get(p).status_code == 200, p


def test_session_expiry(tmp_path):
    c = build_county(tmp_path / "ws")
    with Server(c.ws, session_idle_seconds=1.0) as srv:
        cl = login(srv.url, "super", c.passwords["super"])
        assert cl.get("/api/v1/me").status_code == 200
        time.sleep(1.3)
        assert cl.get("/api/v1/me").status_code == 401
        r = cl.get("/dashboard")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    c.ws.close()


def test_login_rate_limit(tmp_path):
    c = build_county(tmp_path / "ws")
    with Server(c.ws, login_limit=3, login_window_seconds=60) as srv, httpx.Client(base_url=srv.url) as cl:
        for _ in range(3):
            assert (
                cl.post("/api/v1/auth/login", json={"username": "super", "password": "wrong"}).status_code
                == 401
            )
        r = cl.post("/api/v1/auth/login", json={"username": "super", "password": c.passwords["super"]})
        assert r.status_code == 401 and "次数过多" in r.json()["detail"]
        # other users from another client are not locked out by name, only this client is slowed down
        assert srv.app.state.zj.limiter.blocked("u:admin") == 0
    c.ws.close()


def test_wrong_password_and_unknown_user_look_the_same(server):
    with httpx.Client(base_url=server.url) as cl:
        a = cl.post("/api/v1/auth/login", json={"username": "super", "password": "nope-Nope-1"})
        b = cl.post("/api/v1/auth/login", json={"username": "nobody", "password": "nope-Nope-1"})
        assert a.status_code == b.status_code == 401 and a.json() == b.json()


def test_logout_ends_session(server, county):
    cl = login(server.url, "ownerA", county.passwords["ownerA"])
    assert cl.get("/api/v1/me").status_code == 200
    assert cl.post("/api/v1/auth/logout").status_code == 204
    assert cl.get("/api/v1/me").status_code == 401


def test_session_rotated_at_login(server, county):
    with httpx.Client(base_url=server.url) as cl:
        cl.get("/login")
        before = cl.cookies.get("zhijian_session")
        tok = re.search(r'name="csrf_token" value="([^"]+)"', cl.get("/login").text).group(1)
        cl.post(
            "/login", data={"username": "super", "password": county.passwords["super"], "csrf_token": tok}
        )
        after = cl.cookies.get("zhijian_session")
        assert before and after and before != after


@pytest.mark.parametrize("nxt", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_no_open_redirect(server, county, nxt):
    with httpx.Client(base_url=server.url) as cl:
        tok = re.search(r'name="csrf_token" value="([^"]+)"', cl.get("/login").text).group(1)
        r = cl.post(
            "/login",
            data={"username": "super", "password": county.passwords["super"], "csrf_token": tok, "next": nxt},
        )
        assert r.status_code == 303 and r.headers["location"] == "/dashboard"


def test_password_change_and_weak_passwords(tmp_path):
    c = build_county(tmp_path / "ws")
    with Server(c.ws) as srv:
        cl = login(srv.url, "cadreA", c.passwords["cadreA"])
        r = cl.post(
            "/api/v1/me/password", json={"old_password": c.passwords["cadreA"], "new_password": "short"}
        )
        assert r.status_code == 400
        r = cl.post("/api/v1/me/password", json={"old_password": "wrong", "new_password": "Abcdefgh-123"})
        assert r.status_code == 400
        r = cl.post(
            "/api/v1/me/password",
            json={"old_password": c.passwords["cadreA"], "new_password": "Abcdefgh-123"},
        )
        assert r.status_code == 204
        login(srv.url, "cadreA", "Abcdefgh-123")
    c.ws.close()


def test_admin_creates_user_and_deactivates(server, county, clients):
    adm = clients["admin"]
    r = adm.post("/api/v1/users", json={"username": "newliaison", "role": "liaison", "unit_id": "A1"})
    assert r.status_code == 201
    pw = r.json()["password"]
    cl = login(server.url, "newliaison", pw)
    assert {f["id"] for f in cl.get("/api/v1/findings").json()["items"]} == {"fA1"}
    uid = r.json()["user"]["id"]
    assert adm.patch(f"/api/v1/users/{uid}", json={"active": False}).status_code == 200
    assert cl.get("/api/v1/me").status_code == 401  # the session ended with the account
    assert adm.post("/api/v1/users", json={"username": "x1", "role": "liaison"}).status_code == 422
    assert clients["super"].post("/api/v1/users", json={"username": "x2", "role": "admin"}).status_code == 403


def test_passwords_are_argon2(county):
    from sqlalchemy import select

    from zhijian.store.models import User

    with county.ws.store.session() as s:
        hashes = s.execute(select(User.password_hash)).scalars().all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(pw in h for h in hashes for pw in county.passwords.values())


@pytest.mark.slow
def test_served_app_logs_no_client_address(tmp_path):
    """`zhijian serve` runs without an access log: nothing it writes names the client's address."""
    import os
    import subprocess
    import sys

    from web_support import free_port

    c = build_county(tmp_path / "ws")
    c.ws.close()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "ZHIJIAN_STORE_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhijian.cli", "serve", "-w", str(tmp_path / "ws"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                httpx.get(url + "/login", timeout=2)
                break
            except httpx.HTTPError:
                assert time.time() < deadline and proc.poll() is None, "server did not start"
                time.sleep(0.3)
        cl = login(url, "super", c.passwords["super"])
        cl.get("/dashboard")
        cl.get("/api/v1/findings/nope")
        httpx.post(url + "/api/v1/auth/login", json={"username": "super", "password": "wrong"})
        httpx.get(url + "/dashboard", headers={"User-Agent": "UA-MARKER-123"})
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    logged = (
        out.replace(f"http://127.0.0.1:{port}/", "") + err
    )  # the start-up banner names the listen address
    assert "127.0.0.1" not in logged and "UA-MARKER" not in logged, logged
