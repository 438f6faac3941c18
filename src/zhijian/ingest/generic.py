"""Generic chat files with a column mapping (``--map ts=时间,sender=发送人,text=内容,group=群名称``):
CSV/XLSX (any accepted encoding) or JSON Lines. Fields: ts (required), text (required), sender,
sender_name, group, group_name, kind, message_id, reply_to. Times: ISO with offset, naive local text (read
in the export zone) or Unix seconds/milliseconds. Meant for DingTalk and any source without an exporter."""

from __future__ import annotations

import json
import re
from datetime import UTC

from zhijian.errors import ImportFormatError
from zhijian.ingest.common import RawSink, detect_encoding, from_epoch, mentions_in, open_text, parse_instant
from zhijian.lake.schema import MESSAGE_KINDS

FIELDS = ("ts", "text", "sender", "sender_name", "group", "group_name", "kind", "message_id", "reply_to")
REQUIRED = ("ts", "text")
_KIND_ZH = {
    "文本": "text",
    "图片": "image",
    "视频": "video",
    "语音": "voice",
    "文件": "file",
    "链接": "link",
    "转发": "forward",
    "系统": "system",
    "撤回": "recall",
    "接龙": "solitaire",
}


def _check_mapping(mapping: dict[str, str] | None, display: str) -> dict[str, str]:
    if not mapping:
        raise ImportFormatError(
            "通用格式需要 --map 指定列，如 --map ts=时间,sender=发送人,text=内容",
            "generic format needs --map, e.g. --map ts=时间,sender=发送人,text=内容",
            path=display,
        )
    bad = [k for k in mapping if k not in FIELDS]
    if bad:
        raise ImportFormatError(
            f"--map 中的字段 {bad} 无法识别（可用：{', '.join(FIELDS)}）",
            f"unknown --map fields {bad}; use {FIELDS}",
            path=display,
        )
    missing = [k for k in REQUIRED if k not in mapping]
    if missing:
        raise ImportFormatError(
            f"--map 必须包含 {', '.join(missing)}", f"--map must name {missing}", path=display
        )
    return mapping


def _ts(run, v):
    if isinstance(v, int | float) or (
        isinstance(v, str) and re.fullmatch(r"[0-9]{10}(?:[0-9]{3})?(?:\.[0-9]+)?", v.strip())
    ):
        s = str(v).strip()
        return from_epoch(s, "ms" if len(s.split(".")[0]) == 13 else "s")
    return parse_instant(str(v or ""), run.export_tz)


def _row(run, sink: RawSink, path, where: str, get, default_chat: str) -> None:
    ts = _ts(run, get("ts"))
    if ts is None:
        run.skip(path, where, "时间无法识别")
        return
    text = "" if get("text") is None else str(get("text"))
    kind_v = str(get("kind") or "").strip()
    kind = _KIND_ZH.get(
        kind_v, kind_v.lower() if kind_v.lower() in MESSAGE_KINDS else "text" if not kind_v else "other"
    )
    group = str(get("group") or "").strip() or default_chat
    gname = str(get("group_name") or "").strip() or group
    sender = str(get("sender") or "").strip() or None
    sname = str(get("sender_name") or "").strip() or sender
    ments, at_all = mentions_in(text) if kind == "text" else ([], False)
    mid = str(get("message_id") or "").strip()
    sink.add(
        native_id=mid or None,
        chat_key=group,
        chat_name=gname,
        sender_key=sender,
        sender_name=sname,
        ts=ts.astimezone(UTC),
        kind=kind,
        text=text,
        reply_native=str(get("reply_to") or "").strip() or None,
        mentions=ments,
        at_all=at_all,
    )


def generic_csv(run, inp) -> tuple[int, str]:
    from zhijian.ingest.tabular import Sheet, norm_header

    mapping = _check_mapping(run.mapping, inp.display)
    sheet = Sheet(inp.path)
    cols = {k: norm_header(v) for k, v in mapping.items()}
    missing = [v for v in cols.values() if v not in sheet.header]
    if missing:
        raise ImportFormatError(
            f"文件中没有 --map 指定的列：{', '.join(missing)}",
            f"columns named in --map are not in the file: {missing}",
            path=inp.display,
            where="第 1 行（表头）",
        )
    sink = RawSink(run.emit, "generic_csv", "other")
    for line, r in sheet.rows():
        _row(
            run,
            sink,
            inp.path,
            f"第 {line} 行",
            lambda k, r=r: r.get(cols[k]) if k in cols else None,
            inp.path.stem,
        )
    sink.flush()
    return sink.count, sheet.encoding or "xlsx"


def generic_jsonl(run, inp) -> tuple[int, str]:
    mapping = _check_mapping(run.mapping, inp.display)
    enc = detect_encoding(inp.path)
    sink = RawSink(run.emit, "generic_jsonl", "other")
    with open_text(inp.path, enc) as f:
        for n, line in enumerate(f, 1):
            line = line.strip().lstrip("\ufeff")
            if not line:
                continue
            try:
                o = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                run.skip(inp.path, f"第 {n} 行", "不是完整的 JSON 对象")
                continue
            if not isinstance(o, dict):
                run.skip(inp.path, f"第 {n} 行", "不是 JSON 对象")
                continue
            _row(
                run,
                sink,
                inp.path,
                f"第 {n} 行",
                lambda k, o=o: _dig(o, mapping[k]) if k in mapping else None,
                inp.path.stem,
            )
    sink.flush()
    return sink.count, enc


def _dig(o: dict, key: str):
    """``a.b`` reaches into nested objects (e.g. ``text=text.content``)."""
    cur = o
    for part in key.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur
