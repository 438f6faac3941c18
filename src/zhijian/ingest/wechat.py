"""WeChat PC exports made by third-party tools (research/formats.md §1): PyWxDump CSV/JSON (3.x and
2.x), WeChatMsg/留痕 ≤0.2.x CSV, TXT and HTML, MemoTrace ≥2 CSV/XLSX. zhijian never decrypts
WeChat databases; it reads the files these tools write."""

from __future__ import annotations

import codecs
import html
import json
import re
from datetime import UTC, datetime
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
    finish_staged,
    from_epoch,
    mention_cols_sql,
    mentions_in,
    number_rows,
    open_text,
    parse_local,
    py_strip_sql,
    python_space_chars,
    read_csv_sql,
    read_with_encoding,
    sql_str,
    staged_insert,
    staged_read_error,
)

# PyWxDump / MemoTrace Chinese type names -> lake kind
TYPE_NAMES = {
    "文本": "text",
    "图片": "image",
    "语音": "voice",
    "视频": "video",
    "动画表情": "other",
    "表情": "other",
    "表情包": "other",
    "位置": "other",
    "位置分享": "other",
    "文件": "file",
    "引用回复": "text",
    "引用": "text",
    "合并转发的聊天记录": "forward",
    "合并转发": "forward",
    "聊天记录": "forward",
    "接龙": "solitaire",
    "群公告": "text",
    "转账": "other",
    "红包": "other",
    "红包封面": "other",
    "系统通知": "system",
    "系统消息": "system",
    "拍一拍": "system",
    "邀请加群": "system",
    "分享链接": "link",
    "卡片式链接": "link",
    "链接": "link",
    "小程序": "link",
    "视频号": "link",
    "视频号名片": "link",
    "视频号直播": "link",
    "音乐": "link",
    "音乐分享": "link",
    "语音通话": "other",
    "视频通话": "other",
    "音视频通话": "other",
    "名片": "other",
    "个人名片": "other",
    "好友推荐": "other",
    "未知": "other",
    "粘贴的文本": "text",
    "GIF": "image",
    "表情商店": "other",
}
_RECALL = re.compile("撤回了一条消息|<revokemsg>|revokemsg")


def _kind_from_name(name: str, text: str) -> str:
    name = (name or "").strip()
    if name.startswith("消息撤回") or _RECALL.search(text or ""):
        return "recall"
    return TYPE_NAMES.get(name, "other")


def _wx_kind(typ: int, sub: int, text: str) -> str:
    """Raw MSG Type/SubType (WeChatMsg CSV) -> kind."""
    if typ in MSG_TYPE_KINDS:
        return MSG_TYPE_KINDS[typ]
    if typ in (10000, 10002):
        return "recall" if _RECALL.search(text or "") else "system"
    if typ == 49:
        return APPMSG_KINDS.get(sub, "other")
    return "other"


#: Raw MSG Type -> kind (10000/10002, system or recall, and 49, by SubType, are mapped apart)
MSG_TYPE_KINDS = {1: "text", 3: "image", 34: "voice", 43: "video"}
#: SubType of an app message (Type 49) -> kind
APPMSG_KINDS = {
    4: "link",
    5: "link",
    6: "file",
    0: "file",
    74: "file",
    19: "forward",
    40: "forward",
    53: "solitaire",
    57: "text",
    87: "text",
    33: "link",
    36: "link",
    3: "link",
    76: "link",
    1: "text",
    8: "image",
}


def _clean_text(text: str) -> str:
    text = text or ""
    if "<revokemsg>" in text:
        text = re.sub(r"</?revokemsg>", "", text)
    return text


def _native(v: str) -> str | None:
    """Server message ids survive only as digit strings (Excel turns them into 7.43727E+18): ASCII
    digits, as WeChat writes them and the SQL readers read them (``str.isdigit`` alone would also take
    full-width digits, superscripts and other scripts' digits, which no export writes)."""
    v = (v or "").strip()
    return v if v.isascii() and v.isdigit() and len(v) >= 6 else None


def _local(run, text: str, path: Path, where: str) -> datetime | None:
    d = parse_local(text)
    if d is None:
        run.skip(path, where, f"时间无法识别：{text[:40]}")
        return None
    return d.replace(tzinfo=run.export_tz).astimezone(UTC)


def _csv_rows(path: Path, enc: str | None = None):
    """(encoding, header, iterator of (line, row dict)); the iterator keeps the file open itself.
    ``enc``: the encoding when already decided, else detected on the whole file."""
    import csv

    enc = enc or detect_encoding(path)
    with open_text(path, enc, newline="") as f:
        try:
            header = [h.strip().lstrip("\ufeff") for h in next(csv.reader(f))]
        except StopIteration:
            header = []
        except csv.Error as e:
            raise ImportFormatError(
                f"CSV 表头无法解析：{e}", f"cannot parse CSV header: {e}", path=str(path), where="第 1 行"
            ) from None

    def gen():
        with open_text(path, enc, newline="") as f:
            reader = csv.reader(f)
            try:
                next(reader, None)
                for row in reader:
                    yield reader.line_num, dict(zip(header, row, strict=False))
            except csv.Error as e:
                raise ImportFormatError(
                    f"CSV 格式错误：{e}",
                    f"malformed CSV: {e}",
                    path=str(path),
                    where=f"第 {reader.line_num} 行",
                ) from None

    return enc, header, gen()


def _need(header: list[str], cols: tuple[str, ...], path: Path, what: str) -> None:
    missing = [c for c in cols if c not in header]
    if missing:
        raise ImportFormatError(
            f"{what} 缺少列：{', '.join(missing)}",
            f"{what}: missing columns {missing}",
            path=str(path),
            where="第 1 行（表头）",
        )


# ── PyWxDump ──────────────────────────────────────────────────────────────────────────────────────
def _pywxdump_row(run, sink: RawSink, path: Path, where: str, r: dict) -> None:
    text = r.get("msg")
    if text is None and "content" in r:  # PyWxDump 2.x: a JSON object in the cell
        try:
            c = json.loads(r.get("content") or "{}")
            text = c.get("msg", "") if isinstance(c, dict) else str(c)
        except ValueError:
            text = r.get("content") or ""
    text = _clean_text(str(text or ""))
    ts = _local(run, str(r.get("CreateTime", "")), path, where)
    if ts is None:
        return
    type_name = str(r.get("type_name", ""))
    kind = (
        TYPE_NAMES.get(type_name, "other")
        if type_name == "文本" and "撤回" not in text and "revokemsg" not in text
        else _kind_from_name(type_name, text)
    )
    if type_name.startswith("引用"):  # "{reply}\n\n[引用]({time}){name}:{quoted}": keep the reply only
        text = re.split(r"\n\n?\[引用\]\(", text, maxsplit=1)[0]
    talker = str(r.get("talker") or "").strip()
    room = str(r.get("room_name") or "").strip()
    if talker == "系统":
        kind = "system" if kind not in ("recall",) else kind
        talker = ""
    ments, at_all = mentions_in(text) if kind == "text" else ([], False)
    chat = room or path.stem
    sink.row(
        None,
        _native(str(r.get("MsgSvrID", ""))),
        chat,
        chat,
        talker or None,
        None,
        ts,
        kind,
        text,
        None,
        None,
        ments,
        at_all,
        kind == "forward",
    )


def _type_name_kind_sql(x: str) -> str:
    """SQL of ``TYPE_NAMES.get(x)`` (NULL for a name it does not list)."""
    q = sql_str
    return f"CASE {x} " + " ".join(f"WHEN {q(n)} THEN {q(k)}" for n, k in TYPE_NAMES.items()) + " END"


def _pywxdump_insert(run, src: str, msg: str, stem: str, source: str, irregular: str = "false") -> str:
    """The INSERT that maps PyWxDump records in SQL, as :func:`_pywxdump_row` maps them: ``src`` is a
    query with VARCHAR columns MsgSvrID, type_name, talker, room_name and CreateTime, ``msg`` the SQL of
    the message text over them, ``irregular`` SQL over them that is true for a record the SQL must not
    map. Such a record gets :data:`~zhijian.ingest.common.STAGED_PY` in ``bad``, and so does one whose
    time does not parse when ``source`` is ``pywxdump_json`` (the JSON reader then lets the streaming
    reader read the file); the CSV reader skips a time it cannot parse, named in ``bad``.

    Python strips white space around the id, the type name, the time, the talker and the room. The
    SQL strips (:func:`~zhijian.ingest.common.py_strip_sql`, whose test of the last character costs
    as much as a regex) only where a value as written does not already map: an id that is not digits,
    a type name that is not a known one, a time that does not parse. The talker and the room are
    left as written here and stripped by :func:`_strip_names` on their few distinct values after the
    insert (1M records: the five stripped columns cost 0.35 of the insert's 1.4 CPU-s); only a file
    whose own name has white space around it (the chat of a record without a room) strips the room
    here, as the names of such a file's chats cannot be told apart afterwards."""
    q = sql_str
    strip = py_strip_sql
    kind_of = _type_name_kind_sql
    fmts = (
        "['%Y-%m-%d %H:%M:%S', '%Y/%m/%d %H:%M:%S', '%Y/%m/%d %H:%M', '%Y-%m-%d %H:%M', '%Y-%m-%dT%H:%M:%S']"
    )
    ts_bad = q(STAGED_PY) if source == "pywxdump_json" else "'时间无法识别：' || left(coalesce(ct, ''), 40)"
    room = "coalesce(s.room_name, '')"
    if stem != stem.strip():
        room = strip(room)
    return f"""
        INSERT INTO raw
        WITH src AS ({src}),
        m AS (
          SELECT s.MsgSvrID AS sid0, coalesce(s.type_name, '') AS tn,
                 coalesce(s.talker, '') AS talker, {room} AS room,
                 s.CreateTime AS ct, coalesce({msg}, '') AS msg0,
                 timezone({q(run.tzname)}, coalesce(try_strptime(s.CreateTime, {fmts}),
                                                    try_strptime({strip("s.CreateTime")}, {fmts}))) AS ts,
                 {kind_of("coalesce(s.type_name, '')")} AS k0,
                 {irregular} AS irr
          FROM src s),
        n AS (
          SELECT *, {_native_sql("sid0")} AS sid,
                 CASE WHEN k0 IS NOT NULL THEN tn ELSE {strip("tn")} END AS tns
          FROM m),
        t AS (
          SELECT *, coalesce(k0, {kind_of("tns")}) AS k,
                 CASE WHEN contains(msg0, '<revokemsg>') THEN regexp_replace(msg0, '</?revokemsg>', '', 'g')
                      ELSE msg0 END AS body
          FROM n),
        u AS (
          SELECT *, CASE
                 WHEN tns LIKE '消息撤回%' OR contains(body, '撤回了一条消息') OR contains(body, 'revokemsg')
                   THEN 'recall'
                 WHEN talker = '系统' THEN 'system'
                 ELSE coalesce(k, 'other') END AS kind,
               CASE WHEN tn LIKE '引用%' THEN regexp_replace(body, {q(QUOTE_RE2)}, '') ELSE body END AS text
          FROM t)
        SELECT NULL, sid, {q(source)}, 'wechat',
               coalesce(nullif(room, ''), {q(stem)}), coalesce(nullif(room, ''), {q(stem)}),
               CASE WHEN talker IN ('', '系统') THEN NULL ELSE talker END, NULL, ts, kind, text, NULL, NULL,
               {mention_cols_sql("kind", "text")}, NULL::BIGINT,
               CASE WHEN irr THEN {q(STAGED_PY)} WHEN ts IS NULL THEN {ts_bad} END,
               {run.file_no}
        FROM u
    """


def _native_sql(x: str) -> str:
    """SQL of :func:`_native` over ``x`` (ASCII digits). An id that is the decimal form of a UBIGINT
    skips the regex; a digit id with white space around it (rare) is stripped."""
    sp = python_space_chars()
    return (
        f"CASE WHEN strlen({x}) >= 6 AND TRY_CAST({x} AS UBIGINT)::VARCHAR = {x} THEN {x}"
        f" WHEN regexp_full_match(coalesce({x}, ''), '[0-9]{{6,}}') THEN {x}"
        f" WHEN regexp_full_match(coalesce({x}, ''), {sql_str('[' + sp + ']*[0-9]{6,}[' + sp + ']*')})"
        f" THEN {py_strip_sql(x)} END"
    )


def _strip_names(db, base: int, stem: str) -> None:
    """Python's ``str.strip`` of the rooms and talkers of the records just staged by
    :func:`_pywxdump_insert` (numbered after ``base``), which leaves them as written: done on their
    distinct values, of which a file has a few hundred; the rows change only where one has white space
    around it. A room that strips to nothing is the file's chat, as in Python; a talker that strips to
    nothing has no sender, and one that strips to 系统 makes the record a system message (a recall
    stays one), with no mentions."""
    rows = db.execute(
        f"SELECT 'room', chat_key FROM raw WHERE seq > {base} GROUP BY chat_key"
        f" UNION ALL SELECT 'talker', sender_key FROM raw WHERE seq > {base} AND sender_key IS NOT NULL"
        " GROUP BY sender_key"
    ).fetchall()
    rooms = [v for w, v in rows if w == "room" and v != v.strip()] if stem == stem.strip() else []
    talkers = [v for w, v in rows if w == "talker" and v != v.strip()]
    if rooms:
        db.execute(
            "UPDATE raw SET chat_key = m.new, chat_name = m.new"
            " FROM (SELECT unnest($1::VARCHAR[]) AS old, unnest($2::VARCHAR[]) AS new) m"
            f" WHERE raw.seq > {base} AND raw.chat_key = m.old",
            [rooms, [v.strip() or stem for v in rooms]],
        )
    if talkers:
        new = [v.strip() for v in talkers]
        db.execute(
            "UPDATE raw SET sender_key = CASE WHEN m.new IN ('', '系统') THEN NULL ELSE m.new END,"
            " kind = CASE WHEN m.new = '系统' AND kind <> 'recall' THEN 'system' ELSE kind END,"
            " mentions = CASE WHEN m.new = '系统' THEN []::VARCHAR[] ELSE mentions END,"
            " at_all = CASE WHEN m.new = '系统' THEN false ELSE at_all END,"
            " forwarded = CASE WHEN m.new = '系统' THEN false ELSE forwarded END"
            " FROM (SELECT unnest($1::VARCHAR[]) AS old, unnest($2::VARCHAR[]) AS new) m"
            f" WHERE raw.seq > {base} AND raw.sender_key = m.old",
            [talkers, new],
        )


def pywxdump_csv(run, inp) -> tuple[int, str]:
    """Vectorised in DuckDB (PyWxDump pages and merged exports reach millions of rows); the same
    mapping as :func:`_pywxdump_row`, which serves the JSON files the SQL does not read.

    Kept parallel: no window and no join in the insert (``row_number() OVER ()`` would make the whole
    pipeline, parsing included, single-threaded; the records are numbered afterwards by
    :func:`~zhijian.ingest.common.number_rows`), the type names map through a CASE, and the per-row
    regexes run only on the rows that contain their literal (``revokemsg``, ``@``)."""
    # the encoding decided on the first megabytes, the whole file deciding when DuckDB meets non-UTF-8
    return read_with_encoding(_pywxdump_csv, run, inp.path)


def _pywxdump_csv(run, path: Path, enc: str) -> tuple[int, str]:
    import duckdb

    from zhijian.ingest.common import transcode_to_utf8

    enc, header, _rows = _csv_rows(path, enc)
    _need(header, ("MsgSvrID", "type_name", "talker", "room_name", "CreateTime"), path, "PyWxDump CSV")
    if "msg" not in header and "content" not in header:
        _need(header, ("msg",), path, "PyWxDump CSV")
    src = path
    if enc == "gb18030":
        src = transcode_to_utf8(path, enc, run.work / f"utf8-{len(run.summary.files)}.csv")
    msg = "msg" if "msg" in header else "coalesce(try(json_extract_string(content, '$.msg')), content)"
    db = run.db
    base = run.seq
    sql = _pywxdump_insert(run, f"SELECT * FROM {read_csv_sql(src)}", msg, path.stem, "pywxdump_csv")
    try:
        with staged_insert(db):
            db.execute(sql)
            number_rows(db, base)
            _strip_names(db, base, path.stem)
    except duckdb.Error as e:
        db.execute(f"DELETE FROM raw WHERE seq IS NULL OR seq > {base}")
        raise staged_read_error(e, "PyWxDump CSV 无法读取", "cannot read PyWxDump CSV", path) from None
    n_rows, n_bad = finish_staged(run, path, base, lambda ks: {k: f"第 {k} 条记录" for k in ks})
    run.seq = base + n_rows + 1
    return n_rows - n_bad, enc


#: PyWxDump's quote rendering "{reply}\n\n[引用]({time}){name}:{quoted}": the quoted part
QUOTE_RE2 = r"(?s)\n\n?\[引用\]\(.*$"


def _load_json(path: Path, enc: str):
    try:
        with open_text(path, enc) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ImportFormatError(
            f"JSON 不完整或有语法错误（第 {e.lineno} 行第 {e.colno} 列：{e.msg}）",
            f"truncated or invalid JSON at line {e.lineno} column {e.colno}: {e.msg}",
            path=str(path),
            where=f"第 {e.lineno} 行",
        ) from None
    except RecursionError:
        raise ImportFormatError("JSON 嵌套过深", "JSON nested too deeply", path=str(path)) from None


#: the fields of a PyWxDump JSON record the SQL mapping reads
_PYWX_FIELDS = ("MsgSvrID", "type_name", "talker", "room_name", "CreateTime", "msg")


def _pywxdump_json_vectorised(run, path: Path, enc: str) -> tuple[int, str] | None:
    """A file that is one array of records, each of the shape PyWxDump writes (talker, msg and
    CreateTime strings, MsgSvrID a string or an integer, no white space around the names), read by
    DuckDB's JSON reader and mapped in SQL (:func:`_pywxdump_insert`) — in parallel, no Python per
    record. Returns None when the file is not such an array, DuckDB cannot read it (broken JSON, an
    element that is not an object, bytes that are not UTF-8) or one record is of another shape or
    has a time the SQL does not parse: nothing is left staged, and the streaming reader reads the
    file, skipping and naming what it must."""
    import duckdb

    from zhijian.ingest.common import duckdb_threads, json_kind_sql, utf8_mapped
    from zhijian.ingest.jsonscan import ByteDoc, copy_range, split_for_threads

    mapped = utf8_mapped(run, path, enc)
    if mapped is None:
        return None
    src, mm = mapped
    try:
        start = ByteDoc(mm).ws(3 if mm[:3] == codecs.BOM_UTF8 else 0)
        end = len(mm)
        while end > start and mm[end - 1] in b" \t\r\n":
            end -= 1
        if start >= end or mm[start] != ord("[") or mm[end - 1] != ord("]"):
            return None
        # DuckDB reads one JSON array file in one thread: pieces of the array, one per thread
        ranges = split_for_threads(mm, start, end, duckdb_threads(run.db))
    finally:
        mm.close()
    k = json_kind_sql
    columns = "{" + ", ".join(f"{sql_str(f)}: 'JSON'" for f in _PYWX_FIELDS) + "}"
    # the text of each field (->> gives a string's text and another fragment as it is written, as
    # json_text_sql does; here it measured faster) and its JSON type
    fields = ", ".join(f"(j.{f} ->> '$') AS {f}, {k('j.' + f)} AS {f}_k" for f in _PYWX_FIELDS)
    irregular = " OR ".join(
        [f"coalesce({f}_k <> 'VARCHAR', true)" for f in ("talker", "msg", "CreateTime")]
        + [f"coalesce({f}_k <> 'VARCHAR', false)" for f in ("type_name", "room_name")]
        + [
            "coalesce(MsgSvrID_k NOT IN ('VARCHAR', 'NUMBER'), false)",
            # an integer id is its digits to Python too; another number is not
            "coalesce(MsgSvrID_k = 'NUMBER' AND NOT regexp_full_match(MsgSvrID, '-?[0-9]+'), false)",
        ]
    )
    db = run.db
    base = run.seq
    parts = [run.work / f"pywxdump-{run.file_no}-{i}.json" for i in range(len(ranges))]
    try:
        for part, (a, b) in zip(parts, ranges, strict=True):
            copy_range(src, a, b, part, b"[", b"]")
        files = ", ".join(sql_str(str(p)) for p in parts)
        src_sql = (
            f"SELECT *, {irregular} AS irr0 FROM (SELECT {fields}"
            f" FROM read_json([{files}], format='array', records=true, columns={columns}) j)"
        )
        db.execute(_pywxdump_insert(run, src_sql, "s.msg", path.stem, "pywxdump_json", "s.irr0"))
        odd = db.execute(
            f"SELECT count(*) FROM raw WHERE (seq IS NULL OR seq > {base}) AND bad IS NOT NULL"
        ).fetchall()[0][0]
        if odd:
            db.execute(f"DELETE FROM raw WHERE seq IS NULL OR seq > {base}")
            return None
        number_rows(db, base)
        _strip_names(db, base, path.stem)
    except (duckdb.Error, OSError):
        db.execute(f"DELETE FROM raw WHERE seq IS NULL OR seq > {base}")
        return None
    finally:
        for part in parts:
            part.unlink(missing_ok=True)
    n_rows, n_bad = finish_staged(run, path, base, lambda ks: {k_: f"第 {k_} 条" for k_ in ks})
    run.seq = base + n_rows + 1
    return n_rows - n_bad, enc


def pywxdump_json(run, inp) -> tuple[int, str]:
    """An array of message objects, or an object holding it under ``data``/``messages``/``msgs``.
    An array of records of the usual shape is read by DuckDB (:func:`_pywxdump_json_vectorised`);
    other files are streamed one message at a time (:class:`~zhijian.ingest.jsonstream.JsonReader`)."""
    from zhijian.ingest.jsonstream import JsonReader

    path = inp.path
    n = _pywxdump_json_vectorised(run, path, detect_encoding(path, full=False))
    if n is not None:
        return n
    enc = detect_encoding(path)
    sink = RawSink(run.emit, "pywxdump_json", "wechat")

    def rows(r: JsonReader) -> None:
        for i, rec in enumerate(r.values(), 1):
            where = f"第 {i} 条"
            if not isinstance(rec, dict):
                run.skip(path, where, "不是 JSON 对象")
                continue
            ct = rec.get("CreateTime")
            if isinstance(ct, int | float) and not isinstance(ct, bool):
                d = from_epoch(ct)
                rec["CreateTime"] = d.astimezone(run.export_tz).strftime("%Y-%m-%d %H:%M:%S") if d else ""
            if "msg" not in rec and isinstance(rec.get("content"), dict):
                rec["msg"] = rec["content"].get("msg", "")
            if "talker" not in rec:
                run.skip(path, where, "缺少 talker")
                continue
            if None in rec.values():
                rec = {k: ("" if v is None else v) for k, v in rec.items()}
            _pywxdump_row(run, sink, path, where, rec)

    with open_text(path, enc) as f:
        r = JsonReader(f, path)
        c = r.peek()
        if c == "[":
            rows(r)
        elif c == "{":
            done = False
            for key in r.members():
                if not done and key in ("data", "messages", "msgs") and r.peek() == "[":
                    before = sink.count + run.summary.skipped_count
                    rows(r)
                    done = sink.count + run.summary.skipped_count > before  # an empty list: try the next key
                else:
                    r.skip()
        else:
            raise ImportFormatError(
                "PyWxDump JSON 应为消息数组",
                "PyWxDump JSON must be an array of messages",
                path=str(path),
                where="第 1 行",
            )
        r.end()
    sink.flush()
    return sink.count, enc


# ── WeChatMsg / 留痕 ───────────────────────────────────────────────────────────────────────────────
def _chat_name(path: Path, hint: str = "") -> str:
    stem = re.sub(r"_utf8$", "", path.stem)
    if stem in ("messages", "_chat") and hint:
        return hint
    return stem


def _int_sql(x: str, digits: int) -> str:
    """SQL of Python's ``int(x or 0)`` for a text of at most ``digits`` digits (an optional minus
    sign, leading zeros allowed), NULL for any other text: an empty or missing value is 0."""
    return (
        f"CASE WHEN coalesce({x}, '') = '' THEN 0"
        f" WHEN TRY_CAST({x} AS BIGINT)::VARCHAR = {x} AND strlen({x}) <= {digits} THEN CAST({x} AS BIGINT)"
        f" WHEN regexp_full_match({x}, '-?[0-9]{{1,{digits}}}') THEN CAST({x} AS BIGINT) END"
    )


def _text_sql(x: str) -> str:
    """SQL of :func:`_clean_text` over ``x``."""
    return f"CASE WHEN contains({x}, '<revokemsg>') THEN regexp_replace({x}, '</?revokemsg>', '', 'g') ELSE {x} END"


#: WeChatMsg's "re-edit" link after a recalled message of one's own (removed from the text)
_REEDIT = '<a href="weixin://revoke_edit_click">重新编辑</a>'


def _wechatmsg_select(run, name: str):
    """The SELECT of :func:`~zhijian.ingest.common.csv_vectorised` for a WeChatMsg CSV: the mapping
    of the Python loop (:func:`_wechatmsg_rows`). A record whose CreateTime is not whole epoch
    seconds in range (the Python reader then reads StrTime) or whose Type or SubType is not a number
    is left to Python."""
    q = sql_str
    strip = py_strip_sql
    sp = python_space_chars()
    recall = "contains(text, '撤回了一条消息') OR contains(text, 'revokemsg')"
    kind = (
        "CASE WHEN typ IN (10000, 10002) THEN CASE WHEN "
        + recall
        + " THEN 'recall' ELSE 'system' END"
        + " WHEN typ = 49 THEN CASE sub "
        + " ".join(f"WHEN {k} THEN {q(v)}" for k, v in APPMSG_KINDS.items())
        + " ELSE 'other' END "
        + " ".join(f"WHEN typ = {k} THEN {q(v)}" for k, v in MSG_TYPE_KINDS.items())
        + " ELSE 'other' END"
    )

    def select(col) -> str:
        ct = col("CreateTime")
        return f"""
        , m AS (
          SELECT {_int_sql(col("Type"), 9)} AS typ, {_int_sql(col("SubType"), 9)} AS sub,
                 CASE WHEN TRY_CAST({ct} AS BIGINT)::VARCHAR = {ct} OR regexp_full_match({ct}, '[0-9]{{1,10}}')
                      THEN CAST({ct} AS BIGINT) END AS epoch,
                 {_text_sql(f"coalesce({col('StrContent')}, '')")} AS c1,
                 coalesce({col("IsSender")}, '') AS isx, {strip(f"coalesce({col('Sender')}, '')")} AS sk,
                 coalesce(nullif({strip(f"coalesce({col('NickName')}, '')")}, ''),
                          nullif({strip(f"coalesce({col('Remark')}, '')")}, '')) AS nick0
          FROM src s),
        t AS (
          SELECT *, CASE WHEN contains(c1, 'weixin://revoke_edit_click')
                         THEN regexp_replace(c1, {q("[" + sp + "]*" + _REEDIT)}, '', 'g') ELSE c1 END AS text,
                 CASE WHEN isx IN ('', '0') THEN false WHEN isx = '1' THEN true ELSE {strip("isx")} = '1' END AS me
          FROM m),
        u AS (SELECT *, {kind} AS kind FROM t),
        v AS (
          SELECT *, CASE WHEN kind IN ('system', 'recall') AND sk = '' THEN NULL
                         WHEN sk <> '' THEN sk WHEN me THEN '我' END AS skey,
                    CASE WHEN kind IN ('system', 'recall') AND sk = '' THEN NULL ELSE nick0 END AS nick
          FROM u)
        SELECT NULL, NULL, 'wechatmsg_csv', 'wechat', {q(name)}, {q(name)}, skey, nick,
               to_timestamp(epoch), kind, text, NULL, NULL, {mention_cols_sql("kind", "text")}, NULL::BIGINT,
               CASE WHEN typ IS NULL OR sub IS NULL OR epoch IS NULL OR epoch <= 0 OR epoch >= 7000000000
                    THEN {q(STAGED_PY)} END,
               {run.file_no}
        FROM v"""

    return select


def wechatmsg_csv(run, inp) -> tuple[int, str]:
    """WeChatMsg/留痕 CSV: read and mapped by DuckDB (:func:`~zhijian.ingest.common.csv_vectorised`)
    when every record maps in SQL, else record by record in Python (:func:`_wechatmsg_rows`, the
    same mapping)."""
    path = inp.path
    # the encoding decided on the first megabytes; DuckDB rejects bytes that are not UTF-8, and then
    # the Python reader reads the file in the encoding the whole file decides
    enc, header, rows = _csv_rows(path, detect_encoding(path, full=False))
    _need(header, ("Type", "IsSender", "CreateTime", "StrContent"), path, "留痕/WeChatMsg CSV")
    name = _chat_name(path, inp.hint)
    n = csv_vectorised(run, path, enc, header, _wechatmsg_select(run, name))
    if n is not None:
        return n, enc
    enc, header, rows = _csv_rows(path)
    return _wechatmsg_rows(run, path, name, rows), enc


def _wechatmsg_rows(run, path: Path, name: str, rows) -> int:
    sink = RawSink(run.emit, "wechatmsg_csv", "wechat")
    for line, r in rows:
        if not r:  # a blank line is no record (DuckDB's reader skips it too)
            continue
        where = f"第 {line} 行"
        try:
            typ, sub = int(r.get("Type") or 0), int(r.get("SubType") or 0)
        except ValueError:
            run.skip(path, where, "Type 不是数字")
            continue
        ts = from_epoch(r.get("CreateTime"))
        if ts is None:
            ts = _local(run, r.get("StrTime", ""), path, where)
            if ts is None:
                continue
        text = _clean_text(r.get("StrContent", ""))
        text = re.sub(r'\s*<a href="weixin://revoke_edit_click">重新编辑</a>', "", text)
        kind = _wx_kind(typ, sub, text)
        is_me = (r.get("IsSender") or "").strip() == "1"
        key = (r.get("Sender") or "").strip() or ("我" if is_me else None)
        nick = (r.get("NickName") or "").strip() or (r.get("Remark") or "").strip() or None
        if kind in ("system", "recall") and not (r.get("Sender") or "").strip():
            key, nick = None, None
        ments, at_all = mentions_in(text) if kind == "text" else ([], False)
        sink.add(
            chat_key=name,
            chat_name=name,
            sender_key=key,
            sender_name=nick,
            ts=ts,
            kind=kind,
            text=text,
            mentions=ments,
            at_all=at_all,
            forwarded=kind == "forward",
        )
    sink.flush()
    return sink.count


_TXT_HEAD = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}) ?(.*)$")
_TXT_PLACEHOLDER = {
    "[图片]": "image",
    "[语音]": "voice",
    "[视频]": "video",
    "[表情包]": "other",
    "[文件]": "file",
    "[音乐分享]": "link",
}


def wechatmsg_txt(run, inp) -> tuple[int, str]:
    path = inp.path
    enc = detect_encoding(path)
    name = _chat_name(path, inp.hint)
    sink = RawSink(run.emit, "wechatmsg_txt", "wechat")
    block: tuple[int, str, str] | None = None
    body: list[str] = []

    def flush_block() -> None:
        if block is None:
            return
        line, stamp, who = block
        while body and not body[-1].strip():
            body.pop()
        ts = _local(run, stamp, path, f"第 {line} 行")
        if ts is None:
            return
        if not body:  # a system line: the "name" part is the text
            text = who
            kind = "recall" if _RECALL.search(text) else "system"
            sink.add(
                chat_key=name, chat_name=name, sender_key=None, sender_name=None, ts=ts, kind=kind, text=text
            )
            return
        text = "\n".join(body)
        first = body[0].strip()
        kind = _TXT_PLACEHOLDER.get(first, "text")
        if first.startswith("[链接]"):
            kind = "link"
        if kind == "text" and "\n引用:" in text:
            text = text.split("\n引用:", 1)[0]
        ments, at_all = mentions_in(text) if kind == "text" else ([], False)
        sink.add(
            chat_key=name,
            chat_name=name,
            sender_key=who or None,
            sender_name=who or None,
            ts=ts,
            kind=kind,
            text=text,
            mentions=ments,
            at_all=at_all,
        )

    with open_text(path, enc) as f:
        prev_blank = True
        for n, raw in enumerate(f, 1):
            ln = raw.rstrip("\r\n").lstrip("\ufeff") if n == 1 else raw.rstrip("\r\n")
            m = _TXT_HEAD.match(ln) if prev_blank or block is None else None
            if m:
                flush_block()
                block = (n, m.group(1), m.group(2).strip())
                body = []
                prev_blank = False
                continue
            if block is None:
                if ln.strip():
                    raise ImportFormatError(
                        "留痕 TXT 应以“YYYY-MM-DD HH:MM:SS 名称”开头",
                        "WeChatMsg TXT must start with a 'YYYY-MM-DD HH:MM:SS name' line",
                        path=str(path),
                        where=f"第 {n} 行",
                    )
                continue
            body.append(ln)
            prev_blank = not ln.strip()
        flush_block()
    sink.flush()
    return sink.count, enc


# HTML: one JS object literal per message inside `const chatMessages = [ … ]`
_JS_PAIR = re.compile(
    r"""([A-Za-z_][A-Za-z0-9_]*)\s*:\s*('(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|-?[0-9]+(?:\.[0-9]+)?|true|false|null)""",
    re.S,
)
_JS_ESC = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.S)


def _js_unescape(s: str) -> str:
    if "\\" not in s and "&" not in s:
        return s

    def rep(m: re.Match) -> str:
        e = m.group(1)
        if e[0] == "u":
            return chr(int(e[1:], 16))
        if e[0] == "x":
            return chr(int(e[1:], 16))
        return {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "0": "\0"}.get(e, e)

    return html.unescape(_JS_ESC.sub(rep, s))


#: one flat object literal (no nested braces); possessive quantifiers keep a failing match linear
_JS_OBJ = re.compile(r"""\{(?:[^{}'"]++|'(?:[^'\\]++|\\.)*+'|"(?:[^"\\]++|\\.)*+")*+\}""", re.S)
_JS_NEXT = re.compile(r"[{\]]")
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)
#: a single message object larger than this is not a WeChatMsg export
_JS_MAX_OBJECT = 64 << 20
#: characters read at a time (tests shrink it to cross buffer boundaries everywhere)
JS_CHUNK = 1 << 20


def _js_object_end(buf: str, i: int) -> int:
    """End (exclusive) of the object literal starting at ``buf[i] == '{'``, or -1 if the buffer ends
    first; nested objects and quoted braces are honoured."""
    m = _JS_OBJ.match(buf, i)
    if m:
        return m.end()
    j, n, depth, q = i, len(buf), 0, None
    while j < n:
        ch = buf[j]
        if q:
            if ch == "\\":
                j += 2
                continue
            if ch == q:
                q = None
        elif ch in "'\"":
            q = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return -1


def _js_parse(body: str) -> dict:
    obj: dict = {}
    for k, v in _JS_PAIR.findall(body):
        if v[:1] in "'\"":
            obj[k] = _js_unescape(v[1:-1])
        elif v in ("true", "false", "null"):
            obj[k] = {"true": True, "false": False, "null": None}[v]
        else:
            obj[k] = float(v) if "." in v else int(v)
    return obj


class _JsStream:
    """The ``chatMessages`` objects of a WeChatMsg HTML file, read in chunks: memory holds one chunk
    and one message, whatever the file size. ``title`` is the page's <title> once seen (it is in
    <head>, before the array)."""

    def __init__(self, f, path: Path, chunk: int | None = None):
        self.f, self.path, self.chunk = f, path, chunk or JS_CHUNK
        self.title: str | None = None
        self.buf = ""
        self.eof = False

    def _more(self, keep_from: int) -> bool:
        """Drop the buffer before ``keep_from`` and read more; False at the end of the file."""
        if self.eof:
            return False
        keep = self.buf[keep_from:]
        if len(keep) > _JS_MAX_OBJECT:
            raise ImportFormatError(
                "单条消息对象过大（文件损坏？）",
                "a message object is implausibly large (corrupt file?)",
                path=str(self.path),
            )
        more = self.f.read(max(self.chunk, len(keep)))
        if not more:
            self.eof = True
            return False
        self.buf = keep + more
        return True

    def _start(self) -> int:
        """Position just after ``chatMessages = [``."""
        self._more(0)
        while True:
            if self.title is None:
                m = _TITLE.search(self.buf)
                if m:
                    self.title = html.unescape(m.group(1).strip())
            k = self.buf.find("chatMessages")
            if k >= 0:
                b = self.buf.find("[", k)
                if b >= 0:
                    return b + 1
                if not self._more(k):
                    raise ImportFormatError(
                        "chatMessages 数组不完整", "chatMessages array is truncated", path=str(self.path)
                    )
                continue
            if not self._more(max(0, len(self.buf) - 256)):
                raise ImportFormatError(
                    "HTML 中找不到 chatMessages", "no chatMessages array in the HTML", path=str(self.path)
                )

    def objects(self):
        i = self._start()
        idx = 0
        while True:
            m = _JS_NEXT.search(self.buf, i)
            if m is None:
                if not self._more(len(self.buf)):
                    raise ImportFormatError(
                        "chatMessages 数组没有结束（文件被截断？）",
                        "chatMessages array never ends (truncated?)",
                        path=str(self.path),
                    )
                i = 0
                continue
            i = m.start()
            if self.buf[i] == "]":
                return
            end = _js_object_end(self.buf, i)
            if end < 0:
                if not self._more(i):
                    raise ImportFormatError(
                        f"第 {idx + 1} 条消息的对象不完整（文件被截断？）",
                        f"message object {idx + 1} is truncated",
                        path=str(self.path),
                        where=f"第 {idx + 1} 条",
                    )
                i = 0
                continue
            idx += 1
            yield idx, _js_parse(self.buf[i + 1 : end - 1])
            i = end


def wechatmsg_html(run, inp) -> tuple[int, str]:
    path = inp.path
    enc = detect_encoding(path)
    name = _chat_name(path, inp.hint)
    generic_name = name in ("index", "chat")  # then the page <title> names the chat
    sink = RawSink(run.emit, "wechatmsg_html", "wechat")
    with open_text(path, enc) as f:
        js = _JsStream(f, path)
        for idx, o in js.objects():
            if generic_name and js.title:
                name, generic_name = js.title, False
            where = f"第 {idx} 条"
            ts = from_epoch(o.get("timestamp"))
            if ts is None or "type" not in o:
                run.skip(path, where, "缺少 timestamp 或 type")
                continue
            typ = int(o.get("type") or 0)
            sub = int(o.get("sub_type") or 0)
            body = str(o.get("text") or "")
            if typ == 0:
                kind = "recall" if _RECALL.search(body) else "system"
            else:
                kind = _wx_kind(typ, sub, body)
            if kind == "file" and o.get("file_name"):
                body = str(o["file_name"])
            if kind == "voice" and o.get("voice_to_text"):
                body = str(o["voice_to_text"])
            who = str(o.get("displayname") or "").strip() or ("我" if o.get("is_send") == 1 else None)
            if kind in ("system", "recall"):
                who = None
            ments, at_all = mentions_in(body) if kind == "text" else ([], False)
            sink.row(
                None, None, name, name, who, who, ts, kind, body, None, None, ments, at_all, kind == "forward"
            )
    sink.flush()
    return sink.count, enc


# ── MemoTrace ─────────────────────────────────────────────────────────────────────────────────────
def _memotrace(run, inp, rows, fmt: str) -> int:
    path = inp.path
    name = _chat_name(path, inp.hint)
    sink = RawSink(run.emit, fmt, "wechat")
    for line, r in rows:
        if not r:  # a blank line is no record (DuckDB's reader skips it too)
            continue
        where = f"第 {line} 行"
        ts = _local(run, r.get("时间", ""), path, where)
        if ts is None:
            continue
        text = _clean_text(r.get("内容", ""))
        kind = _kind_from_name(r.get("类型", ""), text)
        who = (r.get("发送人") or "").strip() or None
        nick = (r.get("昵称") or "").strip() or (r.get("备注") or "").strip() or who
        if kind in ("system",) and not who:
            nick = None
        ments, at_all = mentions_in(text) if kind == "text" else ([], False)
        sink.add(
            native_id=_native(r.get("消息ID", "")),
            chat_key=name,
            chat_name=name,
            sender_key=who,
            sender_name=nick,
            ts=ts,
            kind=kind,
            text=text,
            mentions=ments,
            at_all=at_all,
            forwarded=kind == "forward",
        )
    sink.flush()
    return sink.count


def _memotrace_select(run, name: str):
    """The SELECT of :func:`~zhijian.ingest.common.csv_vectorised` for a MemoTrace CSV: the mapping
    of :func:`_memotrace`. A record whose time is not ``YYYY-MM-DD HH:MM[:SS]`` or Excel's
    ``YYYY/M/D H:MM[:SS]`` (:data:`~zhijian.ingest.common.EXCEL_TIME_RE2`; the other forms
    Python's ``parse_local`` takes, or a time it skips) is left to Python."""
    q = sql_str
    strip = py_strip_sql
    kind_of = _type_name_kind_sql

    def select(col) -> str:
        tm = col("时间")
        return f"""
        , m AS (
          SELECT coalesce({col("类型")}, '') AS tn, {kind_of(f"coalesce({col('类型')}, '')")} AS k0,
                 CASE WHEN {tm} GLOB {q(MINUTES_GLOB + ":" + DIGIT * 2)} THEN try_strptime({tm}, '%Y-%m-%d %H:%M:%S')
                      WHEN {tm} GLOB {q(MINUTES_GLOB)} THEN try_strptime({tm}, '%Y-%m-%d %H:%M')
                      WHEN regexp_full_match({tm}, {EXCEL_TIME_RE2}) THEN try_strptime({tm}, {EXCEL_TIME_FORMATS})
                 END AS lt,
                 {_text_sql(f"coalesce({col('内容')}, '')")} AS text,
                 nullif({strip(f"coalesce({col('发送人')}, '')")}, '') AS who,
                 coalesce(nullif({strip(f"coalesce({col('昵称')}, '')")}, ''),
                          nullif({strip(f"coalesce({col('备注')}, '')")}, '')) AS nick0,
                 {_native_sql(col("消息ID"))} AS nid
          FROM src s),
        t AS (SELECT *, CASE WHEN k0 IS NOT NULL THEN tn ELSE {strip("tn")} END AS tns FROM m),
        u AS (
          SELECT *, CASE WHEN tns LIKE '消息撤回%' OR contains(text, '撤回了一条消息') OR contains(text, 'revokemsg')
                           THEN 'recall'
                         ELSE coalesce(k0, {kind_of("tns")}, 'other') END AS kind
          FROM t)
        SELECT NULL, nid, 'memotrace_csv', 'wechat', {q(name)}, {q(name)}, who,
               CASE WHEN kind = 'system' AND who IS NULL THEN NULL ELSE coalesce(nick0, who) END,
               timezone({q(run.tzname)}, lt), kind, text, NULL, NULL, {mention_cols_sql("kind", "text")},
               NULL::BIGINT, CASE WHEN lt IS NULL THEN {q(STAGED_PY)} END, {run.file_no}
        FROM u"""

    return select


def memotrace_csv(run, inp) -> tuple[int, str]:
    """MemoTrace CSV: read and mapped by DuckDB (:func:`~zhijian.ingest.common.csv_vectorised`) when
    every record maps in SQL, else record by record in Python (:func:`_memotrace`, the same mapping)."""
    path = inp.path
    enc, header, rows = _csv_rows(path, detect_encoding(path, full=False))
    _need(header, ("类型", "发送人", "时间", "内容"), path, "MemoTrace CSV")
    n = csv_vectorised(run, path, enc, header, _memotrace_select(run, _chat_name(path, inp.hint)))
    if n is not None:
        return n, enc
    enc, header, rows = _csv_rows(path)
    return _memotrace(run, inp, rows, "memotrace_csv"), enc


def memotrace_xlsx(run, inp) -> tuple[int, str]:
    from zhijian.ingest.tabular import Sheet

    sheet = Sheet(inp.path, sheet="聊天记录")
    _need(sheet.raw_header, ("类型", "发送人", "时间", "内容"), inp.path, "MemoTrace XLSX")
    return _memotrace(run, inp, sheet.rows(), "memotrace_xlsx"), "xlsx"
