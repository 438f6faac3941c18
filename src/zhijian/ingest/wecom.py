"""WeCom 会话内容存档: decrypted message JSON, one object per line or an array (research/formats.md §2).
``msgtime`` is in milliseconds; items inside ``chatrecord`` carry seconds. Every documented msgtype is
mapped; unknown ones are kept as kind ``other`` with whatever text they carry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zhijian.errors import ImportFormatError
from zhijian.ingest.common import RawSink, detect_encoding, from_epoch, mentions_in, open_text

KINDS = {
    "text": "text", "markdown": "text", "news": "text", "todo": "text", "vote": "text", "collect": "text",
    "calendar": "text", "mixed": "text", "image": "image", "emotion": "other", "voice": "voice", "video": "video",
    "file": "file", "link": "link", "weapp": "link", "docmsg": "link", "sphfeed": "link", "chatrecord": "forward",
    "revoke": "recall", "agree": "system", "disagree": "system", "card": "other", "location": "other",
    "redpacket": "other", "external_redpacket": "other", "meeting": "other", "meeting_voice_call": "other",
    "voip_doc_share": "other", "qydiskfile": "file", "solitaire": "solitaire", "jielong": "solitaire",
    "note": "text", "meeting_notification": "text",
}
# payload key when it differs from the msgtype
PAYLOAD_KEY = {"external_redpacket": "redpacket", "docmsg": "doc", "markdown": "info", "news": "info"}


def _s(v: Any) -> str:
    return "" if v is None else str(v)


def _content_text(msgtype: str, p: dict[str, Any], top: dict[str, Any]) -> str:
    """The readable text of a message payload."""
    if msgtype == "text":
        return _s(p.get("content"))
    if msgtype in ("markdown",):
        return _s(p.get("content"))
    if msgtype == "news":
        items = p.get("item") or p.get("news_item") or []
        return "\n".join(_s(i.get("title")) + (" " + _s(i.get("description")) if i.get("description") else "")
                         for i in items if isinstance(i, dict))
    if msgtype == "file":
        return _s(p.get("filename"))
    if msgtype in ("link", "weapp"):
        return "\n".join(x for x in (_s(p.get("title")), _s(p.get("description")), _s(p.get("link_url"))) if x)
    if msgtype == "docmsg":
        return "\n".join(x for x in (_s(p.get("title")), _s(p.get("link_url"))) if x)
    if msgtype == "todo":
        return "\n".join(x for x in (_s(p.get("title")), _s(p.get("content"))) if x)
    if msgtype == "vote":
        title = _s(top.get("votetitle") or p.get("votetitle"))
        items = top.get("voteitem") or p.get("voteitem") or []
        return "\n".join([title, *(_s(i) for i in items)]).strip()
    if msgtype == "collect":
        qs = [_s(d.get("ques")) for d in p.get("details") or [] if isinstance(d, dict)]
        return "\n".join([_s(p.get("title")), *qs]).strip()
    if msgtype == "calendar":
        return "\n".join(x for x in (_s(p.get("title")), _s(p.get("place")), _s(p.get("remarks"))) if x)
    if msgtype == "chatrecord":
        lines = [_s(p.get("title"))]
        for it in p.get("item") or []:
            if not isinstance(it, dict):
                continue
            c = it.get("content")
            try:
                c = json.loads(c) if isinstance(c, str) else c
            except ValueError:
                pass
            if isinstance(c, dict):
                c = c.get("content") or c.get("title") or c.get("filename") or ""
            if c:
                lines.append(_s(c))
        return "\n".join(x for x in lines if x)
    if msgtype == "mixed":
        out = []
        for it in p.get("item") or []:
            if not isinstance(it, dict):
                continue
            c = it.get("content")
            try:
                c = json.loads(c) if isinstance(c, str) else c
            except ValueError:
                pass
            if isinstance(c, dict):
                c = c.get("content") or ""
            if it.get("type") == "text" and c:
                out.append(_s(c))
            elif it.get("type") and it.get("type") != "text":
                out.append(f"[{it.get('type')}]")
        return "\n".join(out)
    if msgtype in ("redpacket", "external_redpacket"):
        return _s(p.get("wish"))
    if msgtype == "revoke":
        return "撤回了一条消息"
    if msgtype in ("agree", "disagree"):
        return "同意会话存档" if msgtype == "agree" else "不同意会话存档"
    if msgtype in ("solitaire", "jielong"):
        return "\n".join(x for x in (_s(p.get("title")), _s(p.get("content"))) if x) or json.dumps(p, ensure_ascii=False)
    if msgtype == "meeting":
        return _s(p.get("topic"))
    if msgtype == "location":
        return _s(p.get("title") or p.get("address"))
    if msgtype == "sphfeed":
        return _s(p.get("feed_desc") or p.get("sph_name"))
    for k in ("content", "title", "text"):
        if p.get(k):
            return _s(p.get(k))
    return ""


def _records(path: Path, enc: str):
    """Objects of a JSONL file or of a JSON array; a broken record is an error naming its line."""
    with open_text(path, enc) as f:
        head = f.read(4096).lstrip("\ufeff \t\r\n")
    if head.startswith("["):
        with open_text(path, enc) as f:
            try:
                data = json.load(f)
            except json.JSONDecodeError as e:
                raise ImportFormatError(
                    f"JSON 不完整或有语法错误（第 {e.lineno} 行第 {e.colno} 列：{e.msg}）",
                    f"truncated or invalid JSON at line {e.lineno} column {e.colno}: {e.msg}",
                    path=str(path), where=f"第 {e.lineno} 行",
                ) from None
        if isinstance(data, dict):
            data = data.get("chatdata") or [data]
        for i, obj in enumerate(data, 1):
            yield f"第 {i} 条", obj
        return
    with open_text(path, enc) as f:
        for n, line in enumerate(f, 1):
            line = line.strip().lstrip("\ufeff")
            if not line:
                continue
            try:
                yield f"第 {n} 行", json.loads(line)
            except (json.JSONDecodeError, RecursionError) as e:
                yield f"第 {n} 行", e


def wecom_json(run, inp) -> tuple[int, str]:
    path = inp.path
    enc = detect_encoding(path)
    sink = RawSink(run.emit, "wecom_json", "wecom")
    good = 0
    skipped_before = run.summary.skipped_count
    for where, o in _records(path, enc):
        if isinstance(o, Exception):
            run.skip(path, where, "不是完整的 JSON 对象")
            continue
        if not isinstance(o, dict):
            run.skip(path, where, "不是 JSON 对象")
            continue
        if o.get("action") == "switch" or ("msgtype" not in o and "time" in o and "user" in o):
            run.skip(path, where, "切换企业日志（不是消息）")
            continue
        msgtype = _s(o.get("msgtype"))
        ts = from_epoch(o.get("msgtime"), "ms")
        if not msgtype or ts is None or not o.get("msgid"):
            run.skip(path, where, "缺少 msgid、msgtype 或 msgtime")
            continue
        payload = o.get(PAYLOAD_KEY.get(msgtype, msgtype))
        if not isinstance(payload, dict):
            payload = {}
        text = _content_text(msgtype, payload, o)
        kind = KINDS.get(msgtype, "other")
        if o.get("action") == "recall":
            kind = "recall"
        room = _s(o.get("roomid"))
        frm = _s(o.get("from"))
        if room:
            chat = room
        else:
            tolist = o.get("tolist") or []
            peers = sorted({frm, *(_s(t) for t in tolist)})
            chat = "single:" + "|".join(peers)
        ments, at_all = mentions_in(text) if kind == "text" else ([], False)
        sink.add(native_id=_s(o.get("msgid")), chat_key=chat, chat_name=room or None, sender_key=frm or None,
                 sender_name=None, ts=ts, kind=kind, text=text, mentions=ments, at_all=at_all,
                 forwarded=kind == "forward")
        good += 1
    sink.flush()
    if good == 0 and run.summary.skipped_count > skipped_before:
        raise ImportFormatError("文件中没有可识别的企业微信会话存档消息", "no WeCom archive messages in the file", path=str(path))
    return sink.count, enc
