"""Reminders: planned into the outbox (30/15/1 days before a temporary group's end, overdue,
inactive groups), delivered to a real local SMTP server (aiosmtpd) and to a local HTTP receiver
playing the WeCom and DingTalk group robots, in their real JSON formats; retries on failure."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import urllib.parse
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow as pa
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from typer.testing import CliRunner

import web_support
from zhijian.cli import app
from zhijian.errors import ConfigError
from zhijian.lake.schema import MESSAGES
from zhijian.notify.plan import plan_reminders
from zhijian.notify.send import deliver
from zhijian.store.models import Group, Outbox, Person

TODAY = dt.date(2026, 6, 1)
SECRET = "SECtest0123456789"


class _Mail:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


class _Robots(BaseHTTPRequestHandler):
    received: list = []
    fail_next: dict = {}

    def do_POST(self):  # noqa: N802
        n = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(n))
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        self.received.append(
            {"path": url.path, "query": q, "body": body, "ctype": self.headers.get("content-type")}
        )
        if self.fail_next.get(url.path, 0) > 0:
            self.fail_next[url.path] -= 1
            self._reply(500, {"errcode": -1, "errmsg": "busy"})
            return
        if url.path == "/robot/send":  # DingTalk: check the 加签 signature like the real service
            ts = q["timestamp"][0]
            mac = hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()
            if q["sign"][0] != base64.b64encode(mac).decode():
                self._reply(200, {"errcode": 310000, "errmsg": "sign not match"})
                return
        self._reply(200, {"errcode": 0, "errmsg": "ok"})

    def _reply(self, code, data):
        raw = json.dumps(data).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *a):
        pass


@pytest.fixture
def env(tmp_path):
    county = web_support.build_county(tmp_path / "ws")
    ws = county.ws
    with ws.store.session() as s:
        s.get(Person, "pA0").aliases = ["zhang.owner@example.gov.cn", "wxid_zhang"]
        s.add_all(
            [
                Group(
                    id="gT15",
                    name="防汛临时群",
                    unit_id="A",
                    owner_id="pA0",
                    group_type="temporary",
                    end_date=TODAY + dt.timedelta(days=12),
                    purpose="汛期值守",
                    status="active",
                ),
                Group(
                    id="gT1",
                    name="迎检临时群",
                    unit_id="A",
                    owner_id="pA1",
                    group_type="temporary",
                    end_date=TODAY + dt.timedelta(days=1),
                    status="active",
                ),
                Group(
                    id="gT40",
                    name="远期临时群",
                    unit_id="A",
                    owner_id="pA0",
                    group_type="temporary",
                    end_date=TODAY + dt.timedelta(days=40),
                    status="active",
                ),
                Group(
                    id="gTold",
                    name="逾期临时群",
                    unit_id="A",
                    owner_id="pA0",
                    group_type="temporary",
                    end_date=TODAY - dt.timedelta(days=3),
                    status="active",
                ),
            ]
        )
        s.get(Group, "gA1").status = "dissolved"  # the county's own temporary group is out of the way
    # gA's last messages are the county fixture's (2026-05-04): 28 days before TODAY; gB gets an old one
    old = dt.datetime(2026, 4, 1, 2, 0, tzinfo=dt.UTC)
    ws.lake().append_batch(
        "messages",
        "b9",
        pa.Table.from_pylist(
            [
                {
                    "message_id": "old1",
                    "source": "t",
                    "group_id": "gT40",
                    "sender_id": "pA0",
                    "sender_name": "x",
                    "ts": old,
                    "local_ts": (old + dt.timedelta(hours=8)).replace(tzinfo=None),
                    "kind": "text",
                    "text": "请各位注意",
                    "reply_to": None,
                    "mentions": [],
                    "at_all": False,
                    "forwarded": False,
                    "batch_id": "b9",
                }
            ],
            schema=MESSAGES,
        ),
    )
    mail = _Mail()
    smtp = Controller(mail, hostname="127.0.0.1", port=web_support.free_port())
    smtp.start()
    _Robots.received = []
    _Robots.fail_next = {}
    http = ThreadingHTTPServer(("127.0.0.1", 0), _Robots)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{http.server_address[1]}"
    (ws.root / "notify.toml").write_text(
        f"""
[smtp]
host = "127.0.0.1"
port = {smtp.port}
sender = "zhijian@county.example.gov.cn"

[[robots]]
name = "减负办企业微信群"
kind = "wecom"
url = "{base}/cgi-bin/webhook/send?key=693a91f6-test"

[[robots]]
name = "减负办钉钉群"
kind = "dingtalk"
url = "{base}/robot/send?access_token=abc123"
secret = "{SECRET}"

[recipients]
pA1 = "li.owner@example.gov.cn"

[delivery]
max_attempts = 3
backoff_minutes = [1, 5]
""",
        encoding="utf-8",
    )
    yield ws, mail, _Robots
    smtp.stop()
    http.shutdown()
    ws.close()


def test_plan_and_deliver(env):
    ws, mail, robots = env
    res = plan_reminders(ws, TODAY)
    keys = {c["key"].split("|")[0] for c in res["created"]}
    end15 = (TODAY + dt.timedelta(days=12)).isoformat()
    assert f"temp-end:gT15:{end15}:15" in keys  # 12 days left: the 15-day reminder
    assert any(k.startswith("temp-end:gT1:") and k.endswith(":1") for k in keys)
    assert not any(k.startswith("temp-end:gT40:") for k in keys)  # 40 days left: nothing yet
    assert any(k.startswith("temp-overdue:gTold:") for k in keys)
    assert "inactive:gT40:2026-04-01" in keys  # 61 days without a substantive message
    assert not any(k.startswith("inactive:gA:") for k in keys)  # 28 days < 30
    # idempotent
    again = plan_reminders(ws, TODAY)
    assert again["created"] == [] and again["already_queued"] == len(res["created"])

    robots.fail_next["/cgi-bin/webhook/send"] = 1  # first WeCom call fails -> retried later
    now = dt.datetime(2026, 6, 1, 1, 0)
    r1 = deliver(ws, now)
    assert r1["failed"] == 1 and r1["sent"] == len(res["created"]) - 1
    r_early = deliver(ws, now + dt.timedelta(seconds=30))  # back-off: not yet
    assert r_early["sent"] == 0 and r_early["failed"] == 0
    r2 = deliver(ws, now + dt.timedelta(minutes=2))
    assert r2 == {"sent": 1, "failed": 0, "given_up": 0, "errors": []}
    with ws.store.session() as s:
        assert all(o.sent_at is not None for o in s.execute(select(Outbox)).scalars())

    # e-mail: real SMTP conversation, UTF-8 Chinese subject and body, addresses from aliases / notify.toml
    rcpts = {r for _f, rs, _c in mail.messages for r in rs}
    assert rcpts == {"zhang.owner@example.gov.cn", "li.owner@example.gov.cn"}
    msgs = [message_from_bytes(c, policy=policy.default) for _f, _r, c in mail.messages]
    m15 = next(m for m in msgs if "防汛临时群" in m["Subject"])
    assert m15["From"] == "zhijian@county.example.gov.cn"
    assert "还有 12 天" in m15["Subject"]
    assert "续期" in m15.get_content() and "30/15/1" in m15.get_content()

    # WeCom robot: markdown message format
    wc = [x for x in robots.received if x["path"] == "/cgi-bin/webhook/send"]
    assert all(
        x["query"]["key"] == ["693a91f6-test"] and x["ctype"].startswith("application/json") for x in wc
    )
    assert all(
        set(x["body"]) == {"msgtype", "markdown"}
        and x["body"]["msgtype"] == "markdown"
        and isinstance(x["body"]["markdown"]["content"], str)
        for x in wc
    )
    assert any("防汛临时群" in x["body"]["markdown"]["content"] for x in wc)
    # DingTalk robot: markdown with title/text and "at", signed URL accepted by the receiver
    dd = [x for x in robots.received if x["path"] == "/robot/send"]
    assert dd and all(
        x["body"]["msgtype"] == "markdown"
        and set(x["body"]["markdown"]) == {"title", "text"}
        and x["body"]["at"] == {"atMobiles": [], "isAtAll": False}
        for x in dd
    )
    assert all(x["query"]["access_token"] == ["abc123"] for x in dd)
    assert len(dd) == len({k for k in keys})


def test_gives_up_after_max_attempts_and_cli(env, tmp_path):
    ws, _mail, robots = env
    robots.fail_next["/robot/send"] = 99
    cli = CliRunner()
    r = cli.invoke(app, ["notify", "plan", "-w", str(ws.root), "--today", TODAY.isoformat()])
    assert r.exit_code == 0, r.output
    assert "新入发件箱" in r.output
    now = dt.datetime(2026, 6, 1, 1, 0)
    for i in range(4):
        deliver(ws, now + dt.timedelta(hours=i))
    with ws.store.session() as s:
        dead = s.execute(select(Outbox).where(Outbox.channel == "dingtalk")).scalars().all()
        assert dead and all(
            o.sent_at is None and o.attempts == 3 and "HTTP 500" in o.last_error for o in dead
        )
        ok = s.execute(select(Outbox).where(Outbox.channel != "dingtalk")).scalars().all()
        assert all(o.sent_at is not None for o in ok)
    r = cli.invoke(app, ["notify", "send", "-w", str(ws.root)])
    assert (
        r.exit_code == 0 and "已发送 0 条" in r.output
    )  # nothing due any more: the dead rows are not retried


def test_bad_notify_toml_is_a_clear_error(env):
    ws, *_ = env
    (ws.root / "notify.toml").write_text(
        "[[robots]]\nname='x'\nkind='slack'\nurl='http://x'\n", encoding="utf-8"
    )
    r = CliRunner().invoke(app, ["notify", "plan", "-w", str(ws.root)])
    # main() turns a ZhijianError into a message and exit code 2; the runner shows the error itself
    assert isinstance(r.exception, ConfigError)
    assert "notify.toml" in r.exception.zh and "robots.0.kind" in r.exception.zh
