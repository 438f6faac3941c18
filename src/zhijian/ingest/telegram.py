"""Telegram Desktop "Export chat history" → Machine-readable JSON (research/formats.md §4): a single
chat (``{name, type, id, messages}``) or a whole account (``chats.list`` and ``left_chats.list``:
every chat is imported). ``date_unixtime`` is UTC; ``date`` alone is the exporting PC's local time."""

from __future__ import annotations

import json
import re
from datetime import UTC
from typing import Any

from zhijian.errors import ImportFormatError
from zhijian.ingest.common import RawSink, detect_encoding, from_epoch, open_text, parse_local
from zhijian.ingest.wechat import _load_json

MEDIA_KIND = {"sticker": "other", "video_message": "video", "video_file": "video", "animation": "video",
              "voice_message": "voice", "audio_file": "voice"}


def _text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "".join(x if isinstance(x, str) else str(x.get("text", "")) if isinstance(x, dict) else "" for x in v)
    return ""


def _chats(data: Any, path) -> list[dict]:
    if not isinstance(data, dict):
        raise ImportFormatError("Telegram 导出应为 JSON 对象", "Telegram export must be a JSON object", path=str(path))
    if isinstance(data.get("messages"), list):
        return [data]
    out = []
    for key in ("chats", "left_chats"):
        sec = data.get(key)
        if isinstance(sec, dict) and isinstance(sec.get("list"), list):
            out.extend(c for c in sec["list"] if isinstance(c, dict))
    if not out and "chats" not in data:
        raise ImportFormatError("Telegram 导出中没有 messages 或 chats", "no messages or chats in the Telegram export",
                                path=str(path))
    return out


# A single-chat export starts {"name": …, "type": …, "id": …, "messages": [ — its messages are streamed
_SINGLE_HEAD = re.compile(
    r'^\s*\{\s*"name"\s*:\s*(?:"(?:[^"\\]|\\.)*"|null)\s*,\s*"type"\s*:\s*"[a-z_]+"\s*,'
    r'\s*"id"\s*:\s*-?[0-9]+\s*,\s*"messages"\s*:\s*\['
)


def _stream_single(path, enc):
    """(chat header, iterator of messages) without loading the file: memory stays flat for the
    multi-GB result.json of big groups (research/formats.md §7.11)."""
    f = open_text(path, enc)
    head = f.read(1 << 16).lstrip("\ufeff")
    m = _SINGLE_HEAD.match(head)
    if not m:
        f.close()
        return None
    chat = json.loads(head[: m.end() - 1] + "[]}")
    dec = json.JSONDecoder()

    def items():
        buf, i, eof, n = head[m.end() :], 0, False, 0
        try:
            while True:
                while True:  # skip separators, refill as needed
                    while i < len(buf) and buf[i] in " \t\r\n,":
                        i += 1
                    if i < len(buf) or eof:
                        break
                    more = f.read(1 << 20)
                    eof = not more
                    buf, i = buf[i:] + more, 0
                if i >= len(buf):
                    raise ImportFormatError("JSON 不完整：messages 数组没有结束（文件被截断？）",
                                            "truncated JSON: the messages array never ends", path=str(path),
                                            where=f"第 {n + 1} 条消息")
                if buf[i] == "]":
                    rest = (buf[i + 1 :] + f.read()).strip()
                    if rest != "}":
                        raise ImportFormatError("JSON 在 messages 数组之后还有多余内容", "unexpected content after the messages array",
                                                path=str(path))
                    return
                try:
                    obj, end = dec.raw_decode(buf, i)
                except json.JSONDecodeError as e:
                    if eof:
                        raise ImportFormatError(
                            f"JSON 不完整或有语法错误（第 {n + 1} 条消息：{e.msg}）",
                            f"truncated or invalid JSON in message {n + 1}: {e.msg}", path=str(path),
                            where=f"第 {n + 1} 条消息",
                        ) from None
                    more = f.read(1 << 20)
                    eof = not more
                    buf, i = buf[i:] + more, 0
                    continue
                n += 1
                yield obj
                i = end
                if i > (1 << 20):
                    buf, i = buf[i:], 0
        finally:
            f.close()

    chat["messages"] = items()
    return chat


def telegram_json(run, inp) -> tuple[int, str]:
    path = inp.path
    enc = detect_encoding(path)
    single = _stream_single(path, enc)
    chats = [single] if single is not None else _chats(_load_json(path, enc), path)
    sink = RawSink(run.emit, "telegram_json", "telegram")
    names = []
    for ci, chat in enumerate(chats, 1):
        cid = str(chat.get("id", "")) or f"{path.stem}#{ci}"
        cname = str(chat.get("name") or "") or ("Saved Messages" if chat.get("type") == "saved_messages" else cid)
        names.append(cname)
        msgs = chat.get("messages")
        if not isinstance(msgs, list) and single is None:
            run.skip(path, f"第 {ci} 个会话", "会话中没有 messages 数组")
            continue
        for mi, m in enumerate(msgs, 1):
            where = f"会话“{cname}”第 {mi} 条"
            if not isinstance(m, dict):
                run.skip(path, where, "不是 JSON 对象")
                continue
            ts = from_epoch(m.get("date_unixtime"))
            if ts is None and m.get("date"):
                d = parse_local(str(m["date"]))
                ts = d.replace(tzinfo=run.export_tz).astimezone(UTC) if d else None
            if ts is None:
                run.skip(path, where, "缺少 date / date_unixtime")
                continue
            mtype = m.get("type")
            text = _text(m.get("text"))
            ments: list[str] = []
            for e in m.get("text_entities") or []:
                if isinstance(e, dict) and e.get("type") == "mention":
                    ments.append(str(e.get("text", "")).lstrip("@"))
                elif isinstance(e, dict) and e.get("type") == "mention_name":
                    ments.append(str(e.get("user_id") and f"user{e['user_id']}" or e.get("text", "")))
            if mtype == "service":
                kind = "system"
                action = str(m.get("action") or "")
                actor = str(m.get("actor") or "")
                text = text or " ".join(x for x in (actor, action) if x)
                sender_key, sender_name = m.get("actor_id"), m.get("actor")
            elif mtype == "message":
                kind = "text"
                if m.get("photo"):
                    kind = "image"
                elif m.get("media_type"):
                    kind = MEDIA_KIND.get(str(m["media_type"]), "file")
                elif m.get("file"):
                    kind = "file"
                elif m.get("poll"):
                    kind = "text"
                    p = m["poll"] if isinstance(m["poll"], dict) else {}
                    text = text or str(p.get("question", ""))
                elif m.get("location_information") or m.get("contact_information"):
                    kind = "other"
                if kind == "text" and not text.strip():
                    kind = "other"
                sender_key, sender_name = m.get("from_id"), m.get("from")
            else:
                run.skip(path, where, f"不支持的消息类型 {mtype!r}")
                continue
            reply = m.get("reply_to_message_id")
            sink.add(
                native_id=str(m.get("id")) if m.get("id") is not None else None, chat_key=cid, chat_name=cname,
                sender_key=str(sender_key) if sender_key else None, sender_name=str(sender_name) if sender_name else None,
                ts=ts, kind=kind, text=text, reply_native=str(reply) if reply is not None else None, mentions=ments,
                forwarded=bool(m.get("forwarded_from")),
            )
    sink.flush()
    if len(chats) > 1:
        run.warn(f"{inp.display}：整个账号的导出，导入了全部 {len(chats)} 个会话")
    return sink.count, enc
