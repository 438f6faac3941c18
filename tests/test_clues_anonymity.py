"""The clue channel stores no client address or user agent anywhere: clues go through the real
server (uvicorn, proxy headers on, access log off as in ``zhijian serve``) with a distinctive
User-Agent and X-Forwarded-For; then the whole workspace folder (SQLite files, attachments,
secrets), every table of the store (SQLite, and PostgreSQL when ZHIJIAN_TEST_PG is set) and all
captured log output are searched for them. Uploaded images come back without metadata."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from sqlalchemy import inspect, text

import web_support
from clue_support import image_with_metadata, metadata_left

CLIENT_IP = "203.0.113.77"
UA = "ZhijianProbe/9.9 (Leaky-UA-7f3c2a)"
HEADERS = {"User-Agent": UA, "X-Forwarded-For": CLIENT_IP, "X-Real-IP": CLIENT_IP}
NEEDLES = [CLIENT_IP.encode(), UA.encode(), b"Leaky-UA-7f3c2a", b"203.0.113"]


@pytest.fixture(params=web_support.BACKENDS)
def env(request, tmp_path):
    log_file = tmp_path / "captured.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old = {
        n: logging.getLogger(n).level for n in ("", "uvicorn", "uvicorn.error", "uvicorn.access", "zhijian")
    }
    root.addHandler(handler)
    county = web_support.make_county(request.param, tmp_path / "ws")
    with web_support.Server(county.ws) as srv:
        for n in old:
            logging.getLogger(n).setLevel(logging.DEBUG)  # as chatty as it gets: still nothing may leak
        try:
            yield county, srv, log_file
        finally:
            for n, lv in old.items():
                logging.getLogger(n).setLevel(lv)
            root.removeHandler(handler)
            handler.close()
    county.ws.close()


def _store_dump(ws) -> str:
    eng = ws.store.engine
    out = []
    with eng.connect() as con:
        for t in inspect(con).get_table_names():
            for row in con.execute(text(f'SELECT * FROM "{t}"')):
                out.append(repr(tuple(row)))
    return "\n".join(out)


def _grep_tree(root) -> list[str]:
    hits = []
    for p in root.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            for n in NEEDLES:
                if n in data or n.decode().encode("utf-16-le") in data:
                    hits.append(f"{p}: {n!r}")
    return hits


def test_no_address_or_user_agent_anywhere(env, capfd):
    county, srv, log_file = env
    ws = county.ws
    cl = httpx.Client(base_url=srv.url, headers=HEADERS, timeout=60)
    # the public pages set no cookie
    r = cl.get("/clues")
    assert r.status_code == 200 and "set-cookie" not in r.headers
    # JSON submission
    r = cl.post(
        "/api/v1/clues",
        json={
            "category": "GROUP_ROLLCALL_INSTANT",
            "object_type": "group",
            "object_name": "东关镇工作群",
            "unit": "东关镇",
            "description": "晚上十点后要求全员回复收到",
        },
    )
    assert r.status_code == 201, r.text
    receipt = r.json()["receipt"]
    assert re.fullmatch(r"[0-9]{16}", receipt)
    assert "set-cookie" not in r.headers
    # multipart with a metadata-laden screenshot, through the HTML form
    img = image_with_metadata("JPEG")
    r = cl.post(
        "/clues",
        data={
            "category": "EXCESSIVE_TRACE",
            "object_type": "app",
            "object_name": "东关打卡通",
            "unit": "东关镇",
            "description": "每天要求上传工作照片留痕",
        },
        files=[("screenshots", ("IMG_20260601_zhangsan.jpg", img, "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    form_receipt = re.search(r'id="receipt">([0-9 ]+)<', r.text).group(1).replace(" ", "")
    # error paths (validation, a bad image, a bad receipt) must not leak either
    assert (
        cl.post(
            "/api/v1/clues", json={"category": "NOPE", "object_type": "group", "description": "x" * 10}
        ).status_code
        == 422
    )
    assert (
        cl.post(
            "/api/v1/clues",
            data={"category": "ZOMBIE", "object_type": "group", "description": "僵尸群无人管理"},
            files=[("screenshots", ("a.png", b"not an image at all", "image/png"))],
        ).status_code
        == 400
    )
    assert (
        cl.post("/api/v1/clues", content=b"{broken", headers={"content-type": "application/json"}).status_code
        == 422
    )
    assert cl.post("/api/v1/clues/lookup", json={"receipt": "1234 5678 1234 5678"}).status_code == 404
    # follow-up by receipt (API and form), office reply
    r = cl.post("/api/v1/clues/messages", json={"receipt": receipt, "body": "补充：周六晚上又发生了"})
    assert r.status_code == 201, r.text
    r = cl.post("/clues/follow", data={"receipt": form_receipt})
    assert r.status_code == 200 and "每天要求上传工作照片留痕" in r.text
    sup = web_support.login(srv.url, "super", county.passwords["super"])
    items = sup.get("/api/v1/office/clues").json()["items"]
    assert len(items) == 2
    for it in items:  # the office sees days, never times
        assert re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", it["received_on"])
    trace = next(i for i in items if i["category"] == "EXCESSIVE_TRACE")
    d = sup.get(f"/api/v1/office/clues/{trace['id']}").json()
    assert len(d["attachment_list"]) == 1
    att = sup.get(f"/api/v1/office/clues/{trace['id']}/attachments/{d['attachment_list'][0]['id']}")
    assert att.status_code == 200 and att.headers["content-type"] == "image/jpeg"
    assert metadata_left(att.content) == []
    assert "zhangsan" not in _store_dump(ws).lower()  # original file name not kept
    cl.close()
    sup.close()

    # positive control: the search does find the needles where they are
    control = ws.root / "control.txt"
    control.write_text(f"{CLIENT_IP} {UA}")
    assert len(_grep_tree(ws.root)) >= 2
    control.unlink()

    assert _grep_tree(ws.root) == []
    dump = _store_dump(ws)
    for n in NEEDLES:
        assert n.decode() not in dump
    logging.shutdown  # noqa: B018 - handlers flush on write; read what they captured
    captured = log_file.read_text(encoding="utf-8") + "".join(capfd.readouterr())
    for n in NEEDLES:
        assert n.decode() not in captured
