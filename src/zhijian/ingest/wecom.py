"""WeCom 会话内容存档: decrypted message JSON, one object per line or an array (research/formats.md §2).
``msgtime`` is in milliseconds; items inside ``chatrecord`` carry seconds. Every documented msgtype is
mapped; unknown ones are kept as kind ``other`` with whatever text they carry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zhijian.errors import ImportFormatError
from zhijian.ingest.common import RawSink, detect_encoding, mentions_in, open_text

KINDS = {
    "text": "text",
    "markdown": "text",
    "news": "text",
    "todo": "text",
    "vote": "text",
    "collect": "text",
    "calendar": "text",
    "mixed": "text",
    "image": "image",
    "emotion": "other",
    "voice": "voice",
    "video": "video",
    "file": "file",
    "link": "link",
    "weapp": "link",
    "docmsg": "link",
    "sphfeed": "link",
    "chatrecord": "forward",
    "revoke": "recall",
    "agree": "system",
    "disagree": "system",
    "card": "other",
    "location": "other",
    "redpacket": "other",
    "external_redpacket": "other",
    "meeting": "other",
    "meeting_voice_call": "other",
    "voip_doc_share": "other",
    "qydiskfile": "file",
    "solitaire": "solitaire",
    "jielong": "solitaire",
    "note": "text",
    "meeting_notification": "text",
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
        return "\n".join(
            _s(i.get("title")) + (" " + _s(i.get("description")) if i.get("description") else "")
            for i in items
            if isinstance(i, dict)
        )
    if msgtype == "file":
        return _s(p.get("filename"))
    if msgtype in ("link", "weapp"):
        return "\n".join(
            x for x in (_s(p.get("title")), _s(p.get("description")), _s(p.get("link_url"))) if x
        )
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
        return "\n".join(x for x in (_s(p.get("title")), _s(p.get("content"))) if x) or json.dumps(
            p, ensure_ascii=False
        )
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
        from zhijian.ingest.jsonstream import JsonReader

        with open_text(path, enc) as f:  # streamed: one record decoded at a time
            r = JsonReader(f, path)
            for i, obj in enumerate(r.values(), 1):
                yield -i, obj
            r.end()
        return
    decode = json.JSONDecoder().raw_decode
    with open_text(path, enc) as f:
        for n, line in enumerate(f, 1):
            line = line.strip().lstrip("\ufeff")
            if not line:
                continue
            try:
                obj, end = decode(line)
                if end != len(line):
                    raise json.JSONDecodeError("Extra data", line, end)
                yield n, obj
            except (json.JSONDecodeError, RecursionError) as e:
                yield n, e


def _where(n: int) -> str:
    """Record positions: JSONL lines are positive, array elements negative."""
    return f"第 {n} 行" if n > 0 else f"第 {-n} 条"


def wecom_json(run, inp) -> tuple[int, str]:
    path = inp.path
    enc = detect_encoding(path)
    sink = RawSink(run.emit, "wecom_json", "wecom")
    row = sink.row
    good = 0
    skipped_before = run.summary.skipped_count
    for n, o in _records(path, enc):
        if not isinstance(o, dict):
            run.skip(
                path, _where(n), "不是完整的 JSON 对象" if isinstance(o, Exception) else "不是 JSON 对象"
            )
            continue
        get = o.get
        action = get("action")
        msgtype = get("msgtype")
        if action == "switch" or ("msgtype" not in o and "time" in o and "user" in o):
            run.skip(path, _where(n), "切换企业日志（不是消息）")
            continue
        msgtype = "" if msgtype is None else str(msgtype)
        mt = get("msgtime")
        try:
            ms = float(mt)
        except (TypeError, ValueError):
            ms = 0.0
        msgid = get("msgid")
        if not msgtype or not (0 < ms < 7_000_000_000_000) or not msgid:
            run.skip(path, _where(n), "缺少 msgid、msgtype 或 msgtime")
            continue
        payload = get(PAYLOAD_KEY.get(msgtype, msgtype))
        if not isinstance(payload, dict):
            payload = {}
        if msgtype == "text":
            c = payload.get("content")
            text = "" if c is None else str(c)
        else:
            text = _content_text(msgtype, payload, o)
        kind = "recall" if action == "recall" else KINDS.get(msgtype, "other")
        room = _s(get("roomid"))
        frm = _s(get("from"))
        if room:
            chat = room
        else:
            tolist = get("tolist") or []
            peers = sorted({frm, *(_s(t) for t in tolist)})
            chat = "single:" + "|".join(peers)
        if kind == "text" and "@" in text:
            ments, at_all = mentions_in(text)
        else:
            ments, at_all = [], False
        row(
            None,
            _s(msgid),
            chat,
            room or None,
            frm or None,
            None,
            int(ms * 1000),
            kind,
            text,
            None,
            None,
            ments,
            at_all,
            kind == "forward",
        )
        good += 1
    sink.flush()
    if good == 0 and run.summary.skipped_count > skipped_before:
        raise ImportFormatError(
            "文件中没有可识别的企业微信会话存档消息", "no WeCom archive messages in the file", path=str(path)
        )
    return sink.count, enc
