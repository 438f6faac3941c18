"""WeCom 会话内容存档: decrypted message JSON, one object per line or an array (research/formats.md §2).
``msgtime`` is in milliseconds; items inside ``chatrecord`` carry seconds. Every documented msgtype is
mapped; unknown ones are kept as kind ``other`` with whatever text they carry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zhijian.errors import ImportFormatError
from zhijian.ingest.common import RawSink, detect_encoding, mentions_in, mentions_sql, open_text, sql_str

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


def _convert(o: Any) -> tuple | str:
    """One record -> the 14 :attr:`RawSink.ROW_FIELDS` (ts in integer microseconds), or the reason it
    is skipped."""
    if not isinstance(o, dict):
        return "不是完整的 JSON 对象" if isinstance(o, Exception) else "不是 JSON 对象"
    get = o.get
    action = get("action")
    msgtype = get("msgtype")
    if action == "switch" or ("msgtype" not in o and "time" in o and "user" in o):
        return SKIP_SWITCH
    msgtype = "" if msgtype is None else str(msgtype)
    mt = get("msgtime")
    try:
        ms = float(mt)
    except (TypeError, ValueError):
        ms = 0.0
    msgid = get("msgid")
    if not msgtype or not (0 < ms < 7_000_000_000_000) or not msgid:
        return SKIP_INCOMPLETE
    payload = get(PAYLOAD_KEY.get(msgtype, msgtype))
    if not isinstance(payload, dict):
        payload = {}
    if msgtype == "text":
        c = payload.get("content")
        text = "" if c is None else str(c)
    else:
        try:
            text = _content_text(msgtype, payload, o)
        except (TypeError, AttributeError, ValueError):  # e.g. "item": 1 where a list is documented
            return SKIP_PAYLOAD
    kind = "recall" if action == "recall" else KINDS.get(msgtype, "other")
    room = _s(get("roomid"))
    frm = _s(get("from"))
    if room:
        chat = room
    else:
        tolist = get("tolist") or []
        if not isinstance(tolist, list):  # e.g. a number: the peers of a private chat are unknown
            return SKIP_TOLIST
        peers = sorted({frm, *(_s(t) for t in tolist)})
        chat = "single:" + "|".join(peers)
    if kind == "text" and "@" in text:
        ments, at_all = mentions_in(text)
    else:
        ments, at_all = [], False
    return (
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


SKIP_SWITCH = "切换企业日志（不是消息）"
SKIP_INCOMPLETE = "缺少 msgid、msgtype 或 msgtime"
SKIP_PAYLOAD = "消息内容的结构与会话存档文档不符"
SKIP_TOLIST = "单聊消息的 tolist 不是数组"


def wecom_json(run, inp) -> tuple[int, str]:
    path = inp.path
    # the encoding decided on the first megabytes for DuckDB's reader (it rejects invalid UTF-8, and a
    # full strict decode costs a single-threaded pass); the record-by-record reader decides on the whole
    enc = detect_encoding(path, full=False)
    n = _wecom_vectorised(run, path, enc)
    if n is not None:
        return n, enc
    enc = detect_encoding(path)
    sink = RawSink(run.emit, "wecom_json", "wecom")
    row = sink.row
    skipped_before = run.summary.skipped_count
    for n, o in _records(path, enc):
        r = _convert(o)
        if isinstance(r, str):
            run.skip(path, _where(n), r)
        else:
            row(*r)
    sink.flush()
    if sink.count == 0 and run.summary.skipped_count > skipped_before:
        raise ImportFormatError(
            "文件中没有可识别的企业微信会话存档消息", "no WeCom archive messages in the file", path=str(path)
        )
    return sink.count, enc


# ── the vectorised reader ─────────────────────────────────────────────────────────────────────────
#: msgtypes whose text the SQL computes: text; constant texts; the payload's own "filename"; and the
#: types that _content_text reads with its generic rule (the first non-empty of content/title/text)
_SQL_GENERIC = (
    "image",
    "emotion",
    "voice",
    "video",
    "card",
    "meeting_voice_call",
    "voip_doc_share",
    "qydiskfile",
    "note",
    "meeting_notification",
)
_SQL_TYPES = ("text", "file", "revoke", "agree", "disagree", *_SQL_GENERIC)
_PAYLOADS = ("text", "file", *_SQL_GENERIC)  # the msgtypes whose payload the SQL reads
_TOP = ("msgid", "action", "msgtype", "msgtime", "roomid", "from", "tolist")


#: the fields the SQL maps (and :func:`_convert` reads for the msgtypes the SQL maps): DuckDB's reader
#: takes only these (each field it takes costs, present in the records or not)
_FIELDS = (*_TOP, *_PAYLOADS)
#: a record whose fields are not all it needs (no msgtype, or another than ``_SQL_TYPES``: its
#: payload is under another key): the whole record is read for it by a second pass (:func:`_read`)
_NEED_RECORD = "\x00record"


def _sql_types() -> str:
    """``_SQL_TYPES`` as an SQL list of string literals."""
    return ", ".join(sql_str(t) for t in _SQL_TYPES)


def _wecom_vectorised(run, path: Path, enc: str) -> int | None:
    """Read the file with DuckDB's JSON reader (parallel, no Python per record) and map the common
    records (text, file, revoke, image, voice, video, …: ``_SQL_TYPES``, with string fields) in SQL,
    exactly as :func:`_convert` does; the other records (links, forwards, mixed, votes, odd field
    types) keep their JSON and :func:`_convert` maps them afterwards. Returns None when DuckDB cannot
    read the file (broken JSON, an odd encoding): then the record-by-record reader runs and names the
    record at fault. Nothing is left staged in that case.

    The reader takes only the fields the SQL maps (``_FIELDS``), which is faster than reading whole
    records, and the whole records only for the records that need them (:func:`_read`); a file
    with an element that is not an object is read with whole records throughout, and one with a
    key given twice in an object by the record-by-record reader (which keeps the last value)."""
    from zhijian.ingest.common import finish_staged, record_lines, transcode_to_utf8

    with open_text(path, enc) as f:
        head = f.read(4096).lstrip("\ufeff \t\r\n")
    fmt = "array" if head.startswith("[") else "newline_delimited"
    src = path
    if enc == "gb18030":
        src = transcode_to_utf8(path, enc, run.work / f"utf8-{len(run.summary.files)}.json")
    base = run.seq
    if not _read(run, src, fmt, base, fields=True) and not _read(run, src, fmt, base, fields=False):
        return None

    def where(ordinals: list[int]) -> dict[int, str]:  # as _where: array elements, or JSONL lines
        if fmt == "array":
            return {k: f"第 {k} 条" for k in ordinals}
        lines = record_lines(path, enc, ordinals, csv_file=False)
        return {k: f"第 {lines[k]} 行" for k in ordinals}

    n_rows, n_bad = finish_staged(run, path, base, where)
    run.seq = base + n_rows + 1
    if n_rows == n_bad and n_bad:
        raise ImportFormatError(
            "文件中没有可识别的企业微信会话存档消息", "no WeCom archive messages in the file", path=str(path)
        )
    return n_rows - n_bad


def _read(run, src: Path, fmt: str, base: int, *, fields: bool) -> bool:
    """Stage the records of ``src`` after row ``base`` (:func:`_wecom_sql`) and map in Python what the
    SQL left. False, with nothing staged, when DuckDB cannot read the file so.

    ``fields``: the records marked ``_NEED_RECORD`` get their whole record from a second read of the
    file that keeps only those (both reads are batch inserts in file order: the n-th row of one is
    the n-th record of the other)."""
    import duckdb

    from zhijian.ingest.common import STAGED_PY, convert_staged, number_rows

    db = run.db
    need = sql_str(_NEED_RECORD)
    try:
        db.execute(_wecom_sql(src, fmt, run.file_no, fields=fields))
        number_rows(db, base)
        if (
            fields
            and db.execute(f"SELECT count(*) FROM raw WHERE seq > {base} AND bad = {need}").fetchall()[0][0]
        ):
            db.execute(
                "CREATE OR REPLACE TEMP TABLE wecom_records AS SELECT CASE WHEN"
                f" coalesce(json_extract_string(json, '$.msgtype') NOT IN ({_sql_types()}), true) THEN json END AS j"
                f" FROM read_json_objects({sql_str(str(src))}, format='{fmt}')"
            )
            try:
                lo, hi, n = db.execute(
                    "SELECT min(rowid), max(rowid), count(*) FROM wecom_records"
                ).fetchall()[0]
                rows = db.execute(f"SELECT count(*) FROM raw WHERE seq > {base}").fetchall()[0][0]
                if n != rows or hi - lo + 1 != n:
                    raise duckdb.Error("the second read of the file does not line up with the first")
                db.execute(
                    f"UPDATE raw SET text = w.j::VARCHAR, bad = {sql_str(STAGED_PY)}"
                    f" FROM (SELECT rowid + {base + 1} - {lo} AS seq, j FROM wecom_records WHERE j IS NOT NULL) w"
                    f" WHERE raw.seq = w.seq AND raw.bad = {need}"
                )
            finally:
                db.execute("DROP TABLE IF EXISTS wecom_records")
            if db.execute(f"SELECT count(*) FROM raw WHERE seq > {base} AND bad = {need}").fetchall()[0][0]:
                raise duckdb.Error("a record the second read did not keep")
    except duckdb.Error:
        db.execute(f"DELETE FROM raw WHERE seq IS NULL OR seq > {base}")
        return False
    convert_staged(run, base, _convert)
    return True


def _wecom_sql(src: Path, fmt: str, file_no: int, *, fields: bool) -> str:
    """INSERT of the records of ``src`` (JSONL or an array) into the staging table. ``fields``: DuckDB's
    reader takes only ``_FIELDS`` (each a JSON fragment; absent and null are one NULL), the records
    that need more are marked ``_NEED_RECORD``, and the fields are the JSON kept for
    :func:`_convert`; else it reads whole records and keeps them."""
    from zhijian.ingest.common import STAGED_PY, json_fields_sql, json_kind_sql, json_text_sql

    pstruct = json.dumps({k: "JSON" for k in ("content", "title", "text", "filename")})

    jt_, sv = json_kind_sql, json_text_sql

    ok = "coalesce({0} IN ('VARCHAR', 'NULL'), true)"  # a string, null or absent
    if fields:
        columns, struct, record = json_fields_sql(_FIELDS)
        a = f"""a AS (
          SELECT NULL::JSON AS j, 'OBJECT' AS jt, struct_pack({struct}) AS s
          FROM read_json({sql_str(str(src))}, format='{fmt}', records=true, columns={columns})),"""
        # the fields are the record _convert reads (null and absent alike to it, but for msgtype: those
        # records need the whole record)
        staged = f"json_object({record})::VARCHAR"
        whole = f"""WHEN s.msgtype IS NULL OR msgtype_t <> 'VARCHAR'
                   OR (msgtype <> '' AND msgtype NOT IN ({_sql_types()}))
                THEN {sql_str(_NEED_RECORD)}"""
        switch_like = "false"
    else:
        # one parse of each record into the fields the SQL reads, each kept as JSON (its type is checked)
        struct = json.dumps({k: "JSON" for k in _FIELDS})
        a = f"""src AS (SELECT json AS j FROM read_json_objects({sql_str(str(src))}, format='{fmt}')),
        a AS (SELECT j, json_type(j) AS jt, json_transform(j, {sql_str(struct)}) AS s FROM src),"""
        staged = "j::VARCHAR"
        # DuckDB takes the first of a key given twice, Python's json the last: such a file is left to
        # the record-by-record reader (DuckDB's read_json rejects it too: this path is the rare one)
        whole = """WHEN jt = 'OBJECT' AND len(json_keys(j)) <> len(list_distinct(json_keys(j)))
                THEN error('a key given twice')"""
        # absent and null are one NULL in the struct: the switch test reads the record itself, only
        # for the (rare) records without a msgtype value
        switch_like = """CASE WHEN s.msgtype IS NULL AND jt = 'OBJECT' THEN NOT json_exists(j, '$.msgtype')
                        AND json_exists(j, '$.time') AND json_exists(j, '$.user') ELSE false END"""
    sql = f"""
        INSERT INTO raw
        WITH {a}
        b AS (
          SELECT j, jt, s, {sv("s.action")} AS action, {jt_("s.action")} AS action_t,
                 {sv("s.msgtype")} AS msgtype, {jt_("s.msgtype")} AS msgtype_t,
                 {switch_like} AS switch_like,
                 {jt_("s.msgtime")} AS mt_t, {sv("s.msgid")} AS msgid, {jt_("s.msgid")} AS msgid_t,
                 {sv("s.roomid")} AS room, {jt_("s.roomid")} AS room_t,
                 {sv('s."from"')} AS frm, {jt_('s."from"')} AS frm_t,
                 -- tolist is read for chats without a roomid only (as _convert does)
                 CASE WHEN coalesce({sv("s.roomid")}, '') = '' THEN {jt_("s.tolist")} END AS to_t,
                 CASE WHEN coalesce({sv("s.roomid")}, '') = '' THEN json_type(s.tolist, '$[*]') END AS to_types,
                 CASE WHEN {jt_("s.msgtime")} = 'NUMBER' THEN TRY_CAST(s.msgtime::VARCHAR AS DOUBLE) END AS ms,
                 CASE {sv("s.msgtype")} {" ".join(f"WHEN {sql_str(t)} THEN s.{t}" for t in _PAYLOADS)} END AS p
          FROM a),
        c AS (
          SELECT *, {jt_("p")} AS p_t, json_transform(p, {sql_str(pstruct)}) AS ps
          FROM b),
        c2 AS (
          SELECT *, {sv("ps.content")} AS p_content, {jt_("ps.content")} AS p_content_t,
                 {sv("ps.title")} AS p_title, {jt_("ps.title")} AS p_title_t,
                 {sv("ps.text")} AS p_text, {jt_("ps.text")} AS p_text_t,
                 {sv("ps.filename")} AS p_filename, {jt_("ps.filename")} AS p_filename_t
          FROM c),
        d AS (
          SELECT *,
            CASE
              WHEN jt <> 'OBJECT' THEN '不是 JSON 对象'
              WHEN action_t = 'VARCHAR' AND action = 'switch' THEN {sql_str(SKIP_SWITCH)}
              WHEN msgtype_t IS NULL AND switch_like THEN {sql_str(SKIP_SWITCH)}
              {whole}
              -- records whose fields are all of the simple kinds the SQL maps; everything else -> Python
              WHEN NOT (coalesce(msgtype_t = 'VARCHAR', false) AND coalesce(action_t IN ('VARCHAR', 'NULL'), true)
                        AND coalesce(mt_t IN ('NUMBER', 'NULL'), true)
                        AND coalesce(msgid_t IN ('VARCHAR', 'NULL'), true) AND coalesce(room_t IN ('VARCHAR', 'NULL'), true)
                        AND coalesce(frm_t IN ('VARCHAR', 'NULL'), true)
                        AND (coalesce(room, '') <> '' OR to_t IS NULL OR to_t = 'NULL'
                             OR (to_t = 'ARRAY' AND len(list_filter(to_types, lambda x: x <> 'VARCHAR')) = 0))
                        AND msgtype IN ({_sql_types()})
                        AND (p IS NULL OR p_t <> 'OBJECT' OR (
                             {ok.format("p_content_t")} AND {ok.format("p_title_t")}
                             AND {ok.format("p_text_t")} AND {ok.format("p_filename_t")})))
                THEN {sql_str(STAGED_PY)}
              WHEN msgtype = '' OR msgid IS NULL OR msgid = '' OR ms IS NULL OR NOT (ms > 0 AND ms < 7000000000000)
                THEN {sql_str(SKIP_INCOMPLETE)}
            END AS bad0,
            CASE WHEN p_t = 'OBJECT' THEN p_content END AS pc,
            CASE WHEN p_t = 'OBJECT' THEN p_title END AS pt,
            CASE WHEN p_t = 'OBJECT' THEN p_text END AS px,
            CASE WHEN p_t = 'OBJECT' THEN p_filename END AS pf
          FROM c2),
        e AS (
          SELECT *,
            CASE
              WHEN bad0 = {sql_str(STAGED_PY)} THEN {staged}
              WHEN bad0 IS NOT NULL THEN NULL
              WHEN msgtype = 'text' THEN coalesce(pc, '')
              WHEN msgtype = 'file' THEN coalesce(pf, '')
              WHEN msgtype = 'revoke' THEN '撤回了一条消息'
              WHEN msgtype = 'agree' THEN '同意会话存档'
              WHEN msgtype = 'disagree' THEN '不同意会话存档'
              ELSE coalesce(nullif(pc, ''), nullif(pt, ''), nullif(px, ''), '')
            END AS text0,
            CASE WHEN action_t = 'VARCHAR' AND action = 'recall' THEN 'recall'
                 ELSE CASE msgtype {" ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in KINDS.items())} ELSE 'other' END
            END AS kind0,
            coalesce(room, '') AS room0, coalesce(frm, '') AS frm0
          FROM d),
        f AS (
          SELECT *, CASE WHEN bad0 IS NULL AND kind0 = 'text' AND contains(text0, '@') THEN {mentions_sql("text0")}
                         ELSE []::VARCHAR[] END AS ments0
          FROM e)
        SELECT NULL, CASE WHEN bad0 IS NULL THEN msgid END, 'wecom_json', 'wecom',
               CASE WHEN bad0 IS NOT NULL THEN NULL WHEN room0 <> '' THEN room0
                    ELSE 'single:' || array_to_string(list_sort(list_distinct(list_append(
                           coalesce(CASE WHEN to_t = 'ARRAY' THEN json_extract_string(s.tolist, '$[*]') END, []::VARCHAR[]),
                           frm0))), '|') END,
               nullif(room0, ''), nullif(frm0, ''), NULL,
               CASE WHEN bad0 IS NULL THEN timezone('UTC', make_timestamp(CAST(trunc(ms * 1000) AS BIGINT))) END,
               CASE WHEN bad0 IS NULL THEN kind0 END, text0, NULL, NULL,
               ments0,
               bad0 IS NULL AND kind0 = 'text' AND contains(text0, '@') AND (contains(text0, '@所有人')
                 OR contains(text0, '@all') OR contains(text0, '@All') OR contains(text0, '@全体成员')),
               bad0 IS NULL AND kind0 = 'forward', NULL::BIGINT, bad0, {file_no}
        FROM f
    """
    return sql
