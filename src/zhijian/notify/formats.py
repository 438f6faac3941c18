"""The message formats of each channel.

- E-mail: a UTF-8 ``text/plain`` message (``email.message.EmailMessage``).
- WeCom group robot (企业微信群机器人, ``POST …/cgi-bin/webhook/send?key=KEY``):
  ``{"msgtype": "markdown", "markdown": {"content": …}}`` or
  ``{"msgtype": "text", "text": {"content": …, "mentioned_mobile_list": […]}}``; the reply is
  ``{"errcode": 0, "errmsg": "ok"}`` (developer.work.weixin.qq.com/document/path/91770).
- DingTalk custom robot (钉钉自定义机器人, ``POST …/robot/send?access_token=TOKEN``):
  ``{"msgtype": "markdown", "markdown": {"title": …, "text": …}, "at": {"atMobiles": […], "isAtAll": false}}``
  or ``{"msgtype": "text", "text": {"content": …}, "at": {…}}``; with 加签 the URL gets
  ``&timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256(secret, "<ms>\\n<secret>")>``; the reply is
  ``{"errcode": 0, "errmsg": "ok"}`` (open.dingtalk.com, 自定义机器人发送群消息).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


def email_message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = formatdate(localtime=True)
    m["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] if "@" in sender else None)
    m.set_content(body, charset="utf-8")
    return m


def wecom_payload(
    subject: str, body: str, msgtype: str = "markdown", mobiles: list[str] | None = None
) -> dict:
    if msgtype == "text":
        return {
            "msgtype": "text",
            "text": {"content": f"{subject}\n{body}", "mentioned_mobile_list": mobiles or []},
        }
    lines = "\n".join(f"> {x}" if x.strip() else "" for x in body.splitlines())
    return {"msgtype": "markdown", "markdown": {"content": f"**{subject}**\n{lines}"}}


def dingtalk_payload(
    subject: str, body: str, msgtype: str = "markdown", mobiles: list[str] | None = None
) -> dict:
    at = {"atMobiles": mobiles or [], "isAtAll": False}
    if msgtype == "text":
        return {"msgtype": "text", "text": {"content": f"{subject}\n{body}"}, "at": at}
    text = f"#### {subject}\n\n" + "\n\n".join(x for x in body.splitlines() if x.strip())
    return {"msgtype": "markdown", "markdown": {"title": subject, "text": text}, "at": at}


def dingtalk_sign(secret: str, timestamp_ms: int | None = None) -> tuple[str, str]:
    ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    mac = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    return ts, urllib.parse.quote_plus(base64.b64encode(mac))


def dingtalk_url(url: str, secret: str) -> str:
    if not secret:
        return url
    ts, sign = dingtalk_sign(secret)
    return f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={sign}"
