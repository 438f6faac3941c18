"""Deliver the outbox: SMTP e-mail (smtplib) and WeCom / DingTalk robot webhooks (httpx).

A row is due when it is unsent, has fewer than ``delivery.max_attempts`` attempts and its
``next_attempt_at`` has come. A failure (connection error, SMTP error, HTTP status ≠ 200, or a robot
reply whose ``errcode`` ≠ 0) increments ``attempts``, records the error and schedules the next try
after ``backoff_minutes[attempts - 1]`` (the last value repeats).
"""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import ssl

import httpx
from sqlalchemy import or_, select

from zhijian.notify import formats
from zhijian.notify.config import NotifyConfig, load
from zhijian.store.models import Outbox


class DeliveryError(Exception):
    pass


def _send_email(cfg: NotifyConfig, row: Outbox) -> None:
    sm = cfg.smtp
    if sm is None:
        raise DeliveryError("notify.toml has no [smtp] section")
    msg = formats.email_message(sm.sender, row.target, row.subject, row.body)
    cls = smtplib.SMTP_SSL if sm.ssl else smtplib.SMTP
    kw = {"context": ssl.create_default_context()} if sm.ssl else {}
    try:
        with cls(sm.host, sm.port, timeout=sm.timeout, **kw) as c:
            if sm.starttls and not sm.ssl:
                c.starttls(context=ssl.create_default_context())
            if sm.username:
                c.login(sm.username, os.environ.get(sm.password_env, ""))
            refused = c.send_message(msg)
            if refused:
                raise DeliveryError(f"recipient refused: {refused}")
    except (smtplib.SMTPException, OSError) as e:
        raise DeliveryError(f"SMTP: {type(e).__name__}: {e}") from e


def _send_robot(cfg: NotifyConfig, row: Outbox, client: httpx.Client) -> None:
    rb = cfg.robot(row.target)
    if rb is None:
        raise DeliveryError(f"robot {row.target!r} is not configured in notify.toml")
    if rb.kind == "wecom":
        url, payload = rb.url, formats.wecom_payload(row.subject, row.body, rb.msgtype)
    else:
        url, payload = (
            formats.dingtalk_url(rb.url, rb.secret),
            formats.dingtalk_payload(row.subject, row.body, rb.msgtype),
        )
    try:
        r = client.post(url, json=payload, timeout=cfg.delivery.timeout)
    except httpx.HTTPError as e:
        raise DeliveryError(f"HTTP: {type(e).__name__}") from e
    if r.status_code != 200:
        raise DeliveryError(f"HTTP {r.status_code}")
    try:
        data = r.json()
    except ValueError as e:
        raise DeliveryError("robot reply is not JSON") from e
    if data.get("errcode", 0) != 0:
        raise DeliveryError(f"robot errcode {data.get('errcode')}: {data.get('errmsg')}")


def deliver(ws, now: dt.datetime | None = None, cfg: NotifyConfig | None = None, limit: int = 500) -> dict:
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    cfg = cfg or load(ws.root)
    d = cfg.delivery
    res = {"sent": 0, "failed": 0, "given_up": 0, "errors": []}
    with ws.store.session() as s:
        rows = (
            s.execute(
                select(Outbox)
                .where(
                    Outbox.sent_at.is_(None),
                    Outbox.attempts < d.max_attempts,
                    or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now),
                )
                .order_by(Outbox.id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
        ids = [r.id for r in rows]
    with httpx.Client() as client:
        for oid in ids:
            with ws.store.session() as s:
                row = s.get(Outbox, oid)
                try:
                    if row.channel == "email":
                        _send_email(cfg, row)
                    elif row.channel in ("wecom", "dingtalk"):
                        _send_robot(cfg, row, client)
                    else:
                        raise DeliveryError(f"unknown channel {row.channel!r}")
                except DeliveryError as e:
                    row.attempts += 1
                    row.last_error = str(e)[:1000]
                    back = d.backoff_minutes or [5]
                    row.next_attempt_at = now + dt.timedelta(minutes=back[min(row.attempts, len(back)) - 1])
                    res["failed"] += 1
                    if row.attempts >= d.max_attempts:
                        res["given_up"] += 1
                    res["errors"].append({"id": row.id, "channel": row.channel, "error": row.last_error})
                    continue
                row.attempts += 1
                row.sent_at = now
                row.last_error = None
                res["sent"] += 1
    return res


def pending(ws) -> list[dict]:
    with ws.store.session() as s:
        rows = s.execute(select(Outbox).where(Outbox.sent_at.is_(None)).order_by(Outbox.id)).scalars().all()
        return [
            {
                "id": r.id,
                "channel": r.channel,
                "target": r.target,
                "subject": r.subject,
                "attempts": r.attempts,
                "last_error": r.last_error,
                "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
            }
            for r in rows
        ]
