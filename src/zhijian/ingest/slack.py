"""Slack workspace export (research/formats.md §6): a folder (or an extracted zip) with
``channels.json`` / ``groups.json`` / ``mpims.json`` / ``dms.json``, ``users.json`` and one folder per
conversation holding ``YYYY-MM-DD.json`` day files; also a single day file or message object.
``ts`` is UTC and unique per channel (the native id); ``thread_ts`` links replies to their parent;
``<!channel>``, ``<!here>`` and ``<!everyone>`` are @all."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from zhijian.errors import ImportFormatError
from zhijian.ingest.common import RawSink, detect_encoding, from_epoch
from zhijian.ingest.wechat import _load_json

SYSTEM_SUBTYPES = {
    "channel_join",
    "channel_leave",
    "channel_topic",
    "channel_purpose",
    "channel_name",
    "channel_archive",
    "channel_unarchive",
    "group_join",
    "group_leave",
    "group_topic",
    "group_purpose",
    "group_name",
    "pinned_item",
    "unpinned_item",
    "bot_add",
    "bot_remove",
    "reminder_add",
}
_USER = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]*))?>")
_BROADCAST = re.compile(r"<!(channel|here|everyone)(?:\|[^>]*)?>")
_CHAN = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_SUBTEAM = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")


def _users(root: Path | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if root is None:
        return out
    for name in ("users.json", "org_users.json"):
        p = root / name
        if p.is_file():
            data = _load_json(p, detect_encoding(p))
            for u in data if isinstance(data, list) else []:
                if isinstance(u, dict) and u.get("id"):
                    prof = u.get("profile") if isinstance(u.get("profile"), dict) else {}
                    out[str(u["id"])] = str(
                        prof.get("display_name")
                        or u.get("real_name")
                        or prof.get("real_name")
                        or u.get("name")
                        or u["id"]
                    )
    return out


def _channels(root: Path) -> dict[str, tuple[str, str]]:
    """folder name -> (channel id, channel name)."""
    out: dict[str, tuple[str, str]] = {}
    for name in ("channels.json", "groups.json", "mpims.json", "dms.json"):
        p = root / name
        if not p.is_file():
            continue
        data = _load_json(p, detect_encoding(p))
        for c in data if isinstance(data, list) else []:
            if not isinstance(c, dict) or not c.get("id"):
                continue
            cid = str(c["id"])
            cname = str(c.get("name") or cid)
            out[cname] = (cid, cname)
            out.setdefault(cid, (cid, cname))
    return out


def _render(text: str, users: dict[str, str]) -> tuple[str, list[str], bool]:
    mentions = [m.group(1) for m in _USER.finditer(text)]
    at_all = bool(_BROADCAST.search(text))
    text = _USER.sub(lambda m: "@" + (m.group(2) or users.get(m.group(1), m.group(1))), text)
    text = _BROADCAST.sub(lambda m: "@" + m.group(1), text)
    text = _CHAN.sub(lambda m: "#" + m.group(1), text)
    text = _SUBTEAM.sub(lambda m: "@" + (m.group(1) or "group"), text)
    text = _LINK.sub(lambda m: (m.group(2) + " (" + m.group(1) + ")") if m.group(2) else m.group(1), text)
    return html.unescape(text), list(dict.fromkeys(mentions)), at_all


def _blocks_broadcast(blocks: Any) -> bool:
    stack = [blocks]
    while stack:
        b = stack.pop()
        if isinstance(b, dict):
            if b.get("type") == "broadcast":
                return True
            stack.extend(b.values())
        elif isinstance(b, list):
            stack.extend(b)
    return False


def _message(
    run, sink: RawSink, path: Path, where: str, m: Any, chat: tuple[str, str], users: dict[str, str]
) -> None:
    if not isinstance(m, dict):
        run.skip(path, where, "不是 JSON 对象")
        return
    ts_s = str(m.get("ts") or "")
    ts = from_epoch(ts_s)
    if ts is None:
        run.skip(path, where, "缺少 ts")
        return
    sub = str(m.get("subtype") or "")
    text, ments, at_all = _render(str(m.get("text") or ""), users)
    at_all = at_all or _blocks_broadcast(m.get("blocks"))
    if sub in SYSTEM_SUBTYPES:
        kind = "system"
    elif sub == "tombstone":
        kind = "recall"
    elif m.get("files"):
        files = m["files"] if isinstance(m["files"], list) else []
        mt = str(files[0].get("mimetype", "")) if files and isinstance(files[0], dict) else ""
        kind = (
            "image"
            if mt.startswith("image/")
            else "video"
            if mt.startswith("video/")
            else "voice"
            if mt.startswith("audio/")
            else "file"
        )
        if not text and files and isinstance(files[0], dict):
            text = str(files[0].get("name") or files[0].get("title") or "")
    elif not text.strip() and m.get("attachments"):
        kind = "link"
        a = m["attachments"][0] if isinstance(m["attachments"], list) and m["attachments"] else {}
        text = (
            str(a.get("title") or a.get("fallback") or a.get("from_url") or "") if isinstance(a, dict) else ""
        )
    else:
        kind = "text"
    user = m.get("user") or m.get("bot_id")
    prof = m.get("user_profile") if isinstance(m.get("user_profile"), dict) else {}
    name = users.get(str(user)) if user else None
    name = name or prof.get("display_name") or prof.get("real_name") or m.get("username")
    thread = str(m.get("thread_ts") or "")
    reply = thread if thread and thread != ts_s else None
    sink.add(
        native_id=ts_s,
        chat_key=chat[0],
        chat_name=chat[1],
        sender_key=str(user) if user else None,
        sender_name=str(name) if name else None,
        ts=ts,
        kind=kind,
        text=text,
        reply_native=reply,
        mentions=ments,
        at_all=at_all,
        forwarded=bool(
            m.get("attachments") and any(isinstance(a, dict) and a.get("is_share") for a in m["attachments"])
        ),
    )


def slack(run, inp) -> tuple[int, str]:
    sink = RawSink(run.emit, "slack", "slack")
    p = inp.path
    if p.is_dir():
        users = _users(p)
        chans = _channels(p)
        n_files = 0
        for d in sorted(x for x in p.iterdir() if x.is_dir()):
            chat = chans.get(d.name, (d.name, d.name))
            for day in sorted(d.glob("*.json")):
                n_files += 1
                data = _load_json(day, detect_encoding(day))
                if not isinstance(data, list):
                    raise ImportFormatError(
                        "Slack 日文件应为消息数组",
                        "a Slack day file must be an array of messages",
                        path=f"{inp.display}/{d.name}/{day.name}",
                    )
                for i, m in enumerate(data, 1):
                    _message(run, sink, day, f"第 {i} 条", m, chat, users)
        if n_files == 0:
            raise ImportFormatError(
                "Slack 导出中没有频道日文件（<频道>/YYYY-MM-DD.json）",
                "no channel day files (<channel>/YYYY-MM-DD.json) in the Slack export",
                path=inp.display,
            )
    else:
        data = _load_json(p, detect_encoding(p))
        root = p.parent.parent if (p.parent.parent / "users.json").is_file() else None
        users = _users(root)
        chans = _channels(root) if root else {}
        if re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", p.stem):
            chat = chans.get(p.parent.name, (p.parent.name, p.parent.name))
        else:
            chat = (p.stem, p.stem)
        items = data if isinstance(data, list) else [data]
        for i, m in enumerate(items, 1):
            _message(run, sink, p, f"第 {i} 条", m, chat, users)
    sink.flush()
    return sink.count, "utf-8"
