"""Generic chat files with a column mapping (``--map ts=时间,sender=发送人,text=内容,group=群名称``):
CSV/XLSX (any accepted encoding) or JSON Lines. Fields: ts (required), text (required), sender,
sender_name, group, group_name, kind, message_id, reply_to. Times: ISO with offset, naive local text (read
in the export zone) or Unix seconds/milliseconds. Meant for DingTalk and any source without an exporter."""

from __future__ import annotations

import json
import re
from datetime import UTC
from pathlib import Path

from zhijian.errors import ImportFormatError
from zhijian.ingest.common import (
    DIGIT,
    EXCEL_TIME_FORMATS,
    EXCEL_TIME_RE2,
    MINUTES_GLOB,
    STAGED_PY,
    RawSink,
    csv_vectorised,
    detect_encoding,
    from_epoch,
    json_kind_sql,
    json_text_sql,
    mention_cols_sql,
    mentions_in,
    open_text,
    parse_instant,
    py_strip_sql,
    sql_str,
)
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


def _mapped_sql(run, cells: dict[str, str], default_chat: str, source: str, irregular: str = "false") -> str:
    """The part of a vectorised reader's INSERT after its ``src`` CTE: :func:`_row`'s mapping over
    ``cells`` (field -> SQL over ``src s`` of the field's text as :func:`_row` reads it: stripped
    except the text; '' for a field not mapped). A record whose time is not 10-digit epoch seconds,
    13-digit epoch milliseconds, ``YYYY-MM-DD[ T]HH:MM[:SS]`` or Excel's local time, whose kind is a word
    other than those :func:`_row` knows, or for which ``irregular`` holds, is marked for Python.
    Excel's and WPS's re-saved form ``2024/5/6 9:05[:07]`` is read too (Python's ``parse_local``
    reads it with ``%Y/%m/%d %H:%M[:%S]``, as DuckDB's strptime does: an invalid date or time is NULL
    in both, and then Python names the record)."""
    q = sql_str

    def cell(field: str) -> str:
        return cells.get(field, "''")

    # Python lower-cases the kind: the same as SQL's lower() on ASCII, and no other character
    # lower-cases to an ASCII letter but the Kelvin sign (left to Python)
    kind = (
        "CASE kv WHEN '' THEN 'text' "
        + " ".join(f"WHEN {q(k)} THEN {q(v)}" for k, v in _KIND_ZH.items())
        + f" ELSE CASE WHEN contains(kv, {q(chr(0x212A))}) THEN NULL"
        + f" WHEN lower(kv) IN ({', '.join(q(k) for k in MESSAGE_KINDS)}) THEN lower(kv) ELSE 'other' END END"
    )
    # The time's form is told by GLOB patterns (common.MINUTES_GLOB), the most common form first, each
    # with one strptime format (the forms exclude each other, so the order does not change the result)
    dd = DIGIT * 2
    iso, iso_t = MINUTES_GLOB, MINUTES_GLOB.replace(" ", "[ T]")
    return f"""
        , m AS (
          SELECT {cell("ts")} AS tv, {cell("text")} AS text, {cell("kind")} AS kv,
                 nullif({cell("group")}, '') AS g0, nullif({cell("group_name")}, '') AS gn0,
                 nullif({cell("sender")}, '') AS sender, nullif({cell("sender_name")}, '') AS sn0,
                 nullif({cell("message_id")}, '') AS mid, nullif({cell("reply_to")}, '') AS rep,
                 {irregular} AS irr
          FROM src s),
        t AS (
          SELECT *, CASE WHEN tv GLOB {q(iso + ":" + dd)}
                           THEN timezone({q(run.tzname)}, try_strptime(tv, '%Y-%m-%d %H:%M:%S'))
                         WHEN tv GLOB {q(iso_t + ":" + dd)}
                           THEN timezone({q(run.tzname)}, try_strptime(replace(tv, 'T', ' '), '%Y-%m-%d %H:%M:%S'))
                         WHEN tv GLOB {q(DIGIT * 10)} AND CAST(tv AS BIGINT) < 7000000000
                           THEN to_timestamp(CAST(tv AS BIGINT))
                         WHEN tv GLOB {q(DIGIT * 13)} AND CAST(tv AS BIGINT) < 7000000000000
                           THEN to_timestamp(CAST(tv AS BIGINT) // 1000)
                                + to_microseconds(CAST(tv AS BIGINT) % 1000 * 1000)
                         WHEN tv GLOB {q(iso_t)}
                           THEN timezone({q(run.tzname)}, try_strptime(replace(tv, 'T', ' '), '%Y-%m-%d %H:%M'))
                         WHEN regexp_full_match(tv, {EXCEL_TIME_RE2})
                           THEN timezone({q(run.tzname)}, try_strptime(tv, {EXCEL_TIME_FORMATS})) END AS ts,
                 {kind} AS kind, coalesce(g0, {q(default_chat)}) AS grp
          FROM m)
        SELECT NULL, mid, {q(source)}, 'other', grp, coalesce(gn0, grp), sender, coalesce(sn0, sender), ts,
               kind, text, rep, NULL, {mention_cols_sql("kind", "text")}, NULL::BIGINT,
               CASE WHEN irr OR ts IS NULL OR kind IS NULL OR ts <= TIMESTAMPTZ '1970-01-01 00:00:00+00'
                    THEN {q(STAGED_PY)} END,
               {run.file_no}
        FROM t"""


def _select(run, field_cols: dict[str, str], default_chat: str):
    """The SELECT of :func:`~zhijian.ingest.common.csv_vectorised` for a generic CSV over the file's
    columns ``field_cols`` (field -> column), each cell stripped as the Python reader strips it."""

    def select(col) -> str:
        cells = {f: py_strip_sql(f"coalesce({col(c)}, '')") for f, c in field_cols.items()}
        return _mapped_sql(run, cells, default_chat, "generic_csv")

    return select


def generic_csv(run, inp) -> tuple[int, str]:
    """A CSV or XLSX file with ``--map``: a CSV file is read and mapped by DuckDB
    (:func:`~zhijian.ingest.common.csv_vectorised`) when every record maps in SQL, else (and an XLSX
    file) row by row in Python (:func:`_row`, the same mapping)."""
    from zhijian.ingest.tabular import Sheet, norm_header

    mapping = _check_mapping(run.mapping, inp.display)
    # the encoding decided on the first megabytes (the header is there); DuckDB rejects bytes that
    # are not UTF-8, and then the Python reader reads the file in the encoding the whole file decides
    sheet = Sheet(inp.path, quick=True)
    cols = {k: norm_header(v) for k, v in mapping.items()}
    missing = [v for v in cols.values() if v not in sheet.header]
    if missing:
        raise ImportFormatError(
            f"文件中没有 --map 指定的列：{', '.join(missing)}",
            f"columns named in --map are not in the file: {missing}",
            path=inp.display,
            where="第 1 行（表头）",
        )
    if sheet.kind == "csv":
        # each field's column as Python's reader finds it: the last one of that normalised name
        last = {h: i for i, h in enumerate(sheet.header)}
        field_cols = {k: sheet.raw_header[last[v]] for k, v in cols.items()}
        n = csv_vectorised(
            run,
            inp.path,
            sheet.encoding,
            sheet.raw_header,
            _select(run, field_cols, inp.path.stem),
            sheet.delimiter,
        )
        if n is not None:
            return n, sheet.encoding
        sheet = Sheet(inp.path)
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


def _jsonl_vectorised(run, path: Path, enc: str, mapping: dict[str, str]) -> int | None:
    """A JSON Lines file read by DuckDB's reader (only the top-level fields the mapping reaches) and
    mapped in SQL by :func:`_mapped_sql`, the mapping of :func:`_row`. Returns the records staged, or
    None (nothing left staged) when the Python loop must read the file: a line that is not a JSON
    object (or that DuckDB's reader rejects), a mapped value that is not a string or null (a number
    is also taken for the time), or a record :func:`_mapped_sql` leaves to Python."""
    from zhijian.ingest.common import insert_mapped, transcode_to_utf8

    src = transcode_to_utf8(path, enc, run.work / f"utf8-{run.file_no}.jsonl") if enc == "gb18030" else path
    tops = sorted({k.split(".")[0] for k in mapping.values()})
    columns = "{" + ", ".join(f"{sql_str(t)}: 'JSON'" for t in tops) + "}"
    cells, odd = {}, []
    for field, key in mapping.items():
        top, *rest = key.split(".")
        frag = 's."' + top.replace('"', '""') + '"'
        if rest:
            frag = f"json_extract({frag}, {sql_str('$' + ''.join('.' + json.dumps(p) for p in rest))})"
        kind = json_kind_sql(frag)
        text = f"coalesce({json_text_sql(frag)}, '')"
        cells[field] = text if field == "text" else py_strip_sql(text)
        allowed = "('VARCHAR', 'NULL', 'NUMBER')" if field == "ts" else "('VARCHAR', 'NULL')"
        odd.append(f"coalesce({kind} NOT IN {allowed}, false)")
    sql = (
        "INSERT INTO raw WITH src AS (SELECT * FROM read_json("
        f"{sql_str(str(src))}, format='newline_delimited', records=true, columns={columns})) "
        + _mapped_sql(run, cells, path.stem, "generic_jsonl", " OR ".join(odd))
    )
    return insert_mapped(run, sql)


def generic_jsonl(run, inp) -> tuple[int, str]:
    """JSON Lines with ``--map``: read and mapped by DuckDB (:func:`_jsonl_vectorised`) when every
    record maps in SQL, else line by line in Python (:func:`_row`, the same mapping)."""
    mapping = _check_mapping(run.mapping, inp.display)
    enc = detect_encoding(inp.path, full=False)
    n = _jsonl_vectorised(run, inp.path, enc, mapping)
    if n is not None:
        return n, enc
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
