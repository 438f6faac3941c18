"""Telegram Desktop "Export chat history" → Machine-readable JSON (research/formats.md §4): a single
chat (``{name, type, id, messages}``) or a whole account (``chats.list`` and ``left_chats.list``:
every chat is imported). ``date_unixtime`` is UTC; ``date`` alone is the exporting PC's local time.

Both shapes are first read by the vectorised path (:func:`_telegram_vectorised`): the byte walker
(:mod:`~zhijian.ingest.jsonscan`) finds each chat's messages array, DuckDB's JSON reader reads it in
parallel pieces and SQL maps the records as :func:`_convert` does. Files in other shapes, or that
DuckDB rejects, are streamed (:class:`~zhijian.ingest.jsonstream.JsonReader`): one message decoded at
a time, so memory stays flat for multi-gigabyte account exports, and a bad record is named."""

from __future__ import annotations

import codecs
from datetime import UTC
from pathlib import Path
from typing import Any, NamedTuple

from zhijian.errors import ImportFormatError
from zhijian.ingest.common import (
    STAGED_PY,
    RawSink,
    convert_staged,
    detect_encoding,
    duckdb_threads,
    finish_staged,
    json_fields_sql,
    json_kind_sql,
    json_text_sql,
    number_rows,
    open_text,
    parse_local,
    python_space_chars,
    sql_str,
    utf8_mapped,
)
from zhijian.ingest.jsonscan import ByteDoc, NotWalkable, copy_range, split_for_threads
from zhijian.ingest.jsonstream import JsonReader

MEDIA_KIND = {
    "sticker": "other",
    "video_message": "video",
    "video_file": "video",
    "animation": "video",
    "voice_message": "voice",
    "audio_file": "voice",
}
_HEAD_KEYS = ("name", "type", "id")


def _text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "".join(
            x if isinstance(x, str) else str(x.get("text", "")) if isinstance(x, dict) else "" for x in v
        )
    return ""


def _ts(m: dict, tz) -> int | None:
    """Microseconds since the epoch: ``date_unixtime`` (UTC), else ``date`` read in the export zone."""
    u = m.get("date_unixtime")
    if u is not None:
        try:
            v = float(u)
        except (TypeError, ValueError):
            v = 0
        if 0 < v < 7_000_000_000:
            return int(v * 1_000_000)
    if m.get("date"):
        d = parse_local(str(m["date"]))
        if d is not None:
            return round(d.replace(tzinfo=tz).astimezone(UTC).timestamp() * 1_000_000)
    return None


def _convert(m: Any, cid: str, cname: str, tz) -> tuple | str:
    """One message object -> the 14 :attr:`RawSink.ROW_FIELDS`, or the reason to skip it."""
    if not isinstance(m, dict):
        return "不是 JSON 对象"
    ts = _ts(m, tz)
    if ts is None:
        return "缺少 date / date_unixtime"
    get = m.get
    mtype = get("type")
    t = get("text")
    text = t if isinstance(t, str) else _text(t)
    ments: list[str] = []
    ents = get("text_entities")
    if ents and isinstance(ents, list):
        for e in ents:
            if isinstance(e, dict):
                et = e.get("type")
                if et == "mention":
                    ments.append(str(e.get("text", "")).lstrip("@"))
                elif et == "mention_name":
                    ments.append(str(e.get("user_id") and f"user{e['user_id']}" or e.get("text", "")))
    if mtype == "message":
        kind = "text"
        if get("photo"):
            kind = "image"
        elif get("media_type"):
            kind = MEDIA_KIND.get(str(m["media_type"]), "file")
        elif get("file"):
            kind = "file"
        elif get("poll"):
            p = m["poll"] if isinstance(m["poll"], dict) else {}
            text = text or str(p.get("question", ""))
        elif get("location_information") or get("contact_information"):
            kind = "other"
        if kind == "text" and not text.strip():
            kind = "other"
        sender_key, sender_name = get("from_id"), get("from")
    elif mtype == "service":
        kind = "system"
        action = str(get("action") or "")
        actor = str(get("actor") or "")
        text = text or " ".join(x for x in (actor, action) if x)
        sender_key, sender_name = get("actor_id"), get("actor")
    else:
        return f"不支持的消息类型 {mtype!r}"
    mid = get("id")
    reply = get("reply_to_message_id")
    return (
        None,
        None if mid is None else str(mid),
        cid,
        cname,
        str(sender_key) if sender_key else None,
        str(sender_name) if sender_name else None,
        ts,
        kind,
        text,
        None if reply is None else str(reply),
        None,
        ments,
        False,
        bool(get("forwarded_from")),
    )


def _chat_key(head: dict[str, Any], ci: int, stem: str) -> tuple[str, str]:
    """(chat key, chat name) of the ``ci``-th chat of a file from its ``id``, ``name`` and ``type``."""
    cid = str(head.get("id", "") if head.get("id") is not None else "") or f"{stem}#{ci}"
    name = head.get("name")
    cname = str(name or "") or ("Saved Messages" if head.get("type") == "saved_messages" else cid)
    return cid, cname


class _Reader:
    """State of one file: the sink, the chats seen, the message being read (for error messages)."""

    def __init__(self, run, path, sink: RawSink):
        self.run, self.path, self.sink = run, path, sink
        self.chats: list[str] = []
        self.tz = run.export_tz

    def message(self, m: Any, cid: str, cname: str, mi: int) -> None:
        r = _convert(m, cid, cname, self.tz)
        if isinstance(r, str):
            self.run.skip(self.path, f"会话“{cname}”第 {mi} 条", r)
        else:
            self.sink.row(*r)

    def chat(self, r: JsonReader, head: dict[str, Any], ci: int) -> None:
        """The members of a chat object from the cursor on (``head`` holds keys already read).
        Messages are read as they come; if ``name``/``id`` follow them, the rows are re-keyed."""
        provisional = f"{self.path.stem}#{ci}"
        used: tuple[str, str] | None = None
        saw_messages = False
        for key in r.members():
            if key in _HEAD_KEYS:
                head[key] = r.value()
            elif key == "messages" and r.peek() == "[":
                saw_messages = True
                used = self._key(head, ci) if "id" in head or "name" in head else (provisional, provisional)
                cid, cname = used
                for mi, m in enumerate(r.values(f"会话“{cname}”"), 1):
                    self.message(m, cid, cname, mi)
            else:
                r.skip()
        self.finish_chat(head, ci, used, saw_messages)

    def _key(self, head: dict[str, Any], ci: int) -> tuple[str, str]:
        return _chat_key(head, ci, self.path.stem)

    def finish_chat(self, head: dict[str, Any], ci: int, used: tuple[str, str] | None, saw: bool) -> None:
        final = self._key(head, ci)
        self.chats.append(final[1])
        if not saw:
            self.run.skip(self.path, f"第 {ci} 个会话", "会话中没有 messages 数组")
            return
        if used is not None and used != final:  # name/id came after the messages
            # the records skipped so far were named by the provisional key: name the chat instead
            old, new = f"会话“{used[1]}”", f"会话“{final[1]}”"
            for sk in self.run.summary.skipped:
                if sk["file"] == str(self.path) and sk["where"].startswith(old):
                    sk["where"] = new + sk["where"][len(old) :]
            self.sink.flush()
            self.run.db.execute(
                "UPDATE raw SET chat_key = ?, chat_name = ? WHERE file_no = ? AND chat_key = ? AND source = 'telegram_json'",
                [final[0], final[1], self.run.file_no, used[0]],
            )


def telegram_json(run, inp) -> tuple[int, str]:
    path = inp.path
    # the encoding decided on the first megabytes for DuckDB's reader (as for WeCom); the streaming
    # reader decides on the whole file
    enc = detect_encoding(path, full=False)
    n = _telegram_vectorised(run, inp, enc)
    if n is not None:
        return n, enc
    enc = detect_encoding(path)
    sink = RawSink(run.emit, "telegram_json", "telegram")
    rd = _Reader(run, path, sink)
    with open_text(path, enc) as f:
        r = JsonReader(f, path)
        if r.peek() != "{":
            raise ImportFormatError(
                "Telegram 导出应为 JSON 对象",
                "Telegram export must be a JSON object",
                path=str(path),
                where="第 1 行",
            )
        head: dict[str, Any] = {}
        has_chats = False
        ci = 0
        single_used: tuple[str, str] | None = None
        for key in r.members():
            if key == "messages" and r.peek() == "[":
                # a single-chat export: the top object is the chat (name, type, id come first)
                ci += 1
                single_used = rd._key(head, ci) if head else (f"{path.stem}#{ci}", f"{path.stem}#{ci}")
                cid, cname = single_used
                for mi, m in enumerate(r.values(f"会话“{cname}”"), 1):
                    rd.message(m, cid, cname, mi)
            elif key in _HEAD_KEYS:
                head[key] = r.value()
            elif key in ("chats", "left_chats"):
                has_chats = True
                if r.peek() != "{":
                    r.skip()
                    continue
                for k2 in r.members():
                    if k2 != "list" or r.peek() != "[":
                        r.skip()
                        continue
                    for _ in r.items():
                        if r.peek() != "{":
                            r.skip()
                            continue
                        ci += 1
                        r.where = f"第 {ci} 个会话"
                        rd.chat(r, {}, ci)
            else:
                r.skip()
        r.end()
    if single_used is not None:
        rd.finish_chat(head, 1, single_used, True)
    elif not has_chats:
        raise ImportFormatError(
            "Telegram 导出中没有 messages 或 chats",
            "no messages or chats in the Telegram export",
            path=str(path),
        )
    sink.flush()
    if len(rd.chats) > 1:
        run.warn(f"{inp.display}：整个账号的导出，导入了全部 {len(rd.chats)} 个会话")
    return sink.count, enc


# ── the vectorised reader ─────────────────────────────────────────────────────────────────────────
class _Chat(NamedTuple):
    head: dict[str, Any]
    start: int  # byte offset of the messages array's "["
    end: int  # byte offset after its "]"


def _locate(doc: ByteDoc) -> list[_Chat]:
    """The chats of the file and the byte range of each one's messages array, for the two shapes
    Telegram Desktop writes: a single chat (the root object) or a whole account (``chats.list`` and
    ``left_chats.list``). Anything else (two messages arrays in one chat, a chat without one, a
    list element that is no object, a single chat that also has ``chats``) is :class:`NotWalkable`:
    the streaming reader handles those files."""
    buf = doc.buf
    root = doc.members(doc.ws(3 if buf[:3] == codecs.BOM_UTF8 else 0))
    head: dict[str, Any] = {}
    single: list[tuple[int, int]] = []
    chats: list[_Chat] = []
    has_chats = False
    for key, v in root:
        if key == "messages" and doc.byte(v) == ord("["):
            if single:
                raise NotWalkable("two messages arrays")
            # Telegram writes messages last: the array then ends at the last "]" before the closing
            # brace, found without scanning the array. If messages were not last, the range would hold
            # what follows the array and DuckDB's array reader would reject it (nothing may follow the
            # array): the streaming reader then runs.
            end = _tail_array_end(doc) or doc.close(v)
            single.append((v, end))
            root.end = end
        elif key in _HEAD_KEYS:
            head[key], root.end = doc.value(v)
        elif key in ("chats", "left_chats"):
            has_chats = True
            root.end = _chat_list(doc, v, chats)
        else:
            root.end = doc.skip(v)
    if doc.ws(root.end) != doc.n:
        raise NotWalkable("data after the root object")
    if single and not has_chats:
        return [_Chat(head, *single[0])]
    if single or not chats:
        raise NotWalkable("neither a single chat nor an account export")
    return chats


def _tail_array_end(doc: ByteDoc) -> int | None:
    """The position after the last "]" of the file if only whitespace and one "}" follow it."""
    buf = doc.buf
    p = doc.n - 1
    while p >= 0 and buf[p] in b" \t\r\n":
        p -= 1
    if p < 1 or buf[p] != ord("}"):
        return None
    p -= 1
    while p >= 0 and buf[p] in b" \t\r\n":
        p -= 1
    return p + 1 if p >= 0 and buf[p] == ord("]") else None


def _chat_list(doc: ByteDoc, v: int, chats: list[_Chat]) -> int:
    """``chats`` / ``left_chats`` at ``v``: appends the chats of its ``list``; returns the end."""
    if doc.byte(v) != ord("{"):
        raise NotWalkable("chats is not an object")
    it = doc.members(v)
    for key, v2 in it:
        if key != "list" or doc.byte(v2) != ord("["):
            it.end = doc.skip(v2)
            continue
        items = doc.items(v2)
        for v3 in items:
            head: dict[str, Any] = {}
            arrays: list[tuple[int, int]] = []
            chat = doc.members(v3)
            for k, v4 in chat:
                if k in _HEAD_KEYS:
                    head[k], chat.end = doc.value(v4)
                elif k == "messages" and doc.byte(v4) == ord("["):
                    # Telegram indents its JSON: the array's end is found by its indentation (checked
                    # by DuckDB, which rejects a range that is not one array), else by a scan
                    end = doc.pretty_close(v4) or doc.close(v4)
                    arrays.append((v4, end))
                    chat.end = end
                else:
                    chat.end = doc.skip(v4)
            if len(arrays) != 1:
                raise NotWalkable("a chat without exactly one messages array")
            chats.append(_Chat(head, *arrays[0]))
            items.end = chat.end
        it.end = items.end
    return it.end


#: the chats of an account export are read in batches of about this many bytes (one INSERT each):
#: the copies on disk stay below it, or the largest chat (memory does not depend on it: the staging
#: table spills). Each INSERT ends with one thread reading the last piece alone: a 291 MB export
#: read in one INSERT instead of two of 256 + 35 MB spends 0.15-0.3 s less (bench/ingest.py)
BATCH_BYTES = 1 << 30


# the fields :func:`_convert` reads: DuckDB's JSON reader gives each as a JSON fragment (absent or
# null: NULL, which :func:`_convert` treats alike)
_FIELDS = (
    "id",
    "type",
    "date",
    "date_unixtime",
    "from",
    "from_id",
    "actor",
    "actor_id",
    "action",
    "text",
    "text_entities",
    "photo",
    "media_type",
    "file",
    "poll",
    "location_information",
    "contact_information",
    "reply_to_message_id",
    "forwarded_from",
)  # fmt: skip


def _truthy(x: str) -> str:
    """SQL: Python's ``bool()`` of the JSON fragment ``x`` (absent and null: false)."""
    return (
        f"coalesce(CASE left({x}::VARCHAR, 1) WHEN '\"' THEN {x}::VARCHAR <> '\"\"'"
        f" WHEN 'n' THEN false WHEN 't' THEN true WHEN 'f' THEN false WHEN '[' THEN {x}::VARCHAR <> '[]'"
        f" WHEN '{{' THEN {x}::VARCHAR <> '{{}}' ELSE {x}::VARCHAR NOT IN ('0', '0.0', '-0.0') END, false)"
    )


def _piece_name(file_no: int, ci: int, k: int) -> str:
    return f"telegram-{file_no}-{ci}-{k}.json"


def _messages_sql(src: list[Path], keys: list[tuple[str, str]], file_no: int) -> str:
    """INSERT of messages arrays into the staging table: ``src`` are pieces of the chats' arrays in
    file order (:func:`_piece_name`: the chat's ordinal ``ci`` is in the name; ``keys[ci - 1]`` is
    its key and name), read in parallel (DuckDB keeps the rows in file order). DuckDB's reader
    takes only the fields :func:`_convert` reads (``_FIELDS``, each as a JSON fragment), which is
    three times faster than reading whole records and picking fields from them; it rejects an
    element that is not an object, or an object with a key twice (Telegram writes neither), and
    the streaming reader runs. Until the reader clears it, ``message_id`` holds the chat ordinal.
    The records whose fields are of the types Telegram writes are mapped in SQL exactly as
    :func:`_convert` maps them; the others (no ``date_unixtime``, mention entities, odd field types,
    unknown message types) keep their fields, as a JSON object, for :func:`_convert` (``STAGED_PY``)."""
    k, t = json_kind_sql, json_text_sql
    space = sql_str("[" + python_space_chars() + "]*")
    str_or_null = "coalesce({} = 'VARCHAR', true)"
    int_like = "coalesce({0} = 'VARCHAR' OR ({0} = 'NUMBER' AND regexp_full_match({1}::VARCHAR, '-?[0-9]{{1,18}}')), true)"
    media = " ".join(f"WHEN {sql_str(a)} THEN {sql_str(b)}" for a, b in MEDIA_KIND.items())
    files = ", ".join(sql_str(str(p)) for p in src)
    columns, fields, record = json_fields_sql(_FIELDS)  # record: the JSON _convert reads
    return f"""
        INSERT INTO raw
        WITH a AS (
          SELECT struct_pack({fields}) AS s,
                 regexp_extract(filename, '-([0-9]+)-[0-9]+[.]json$', 1)::INTEGER AS ci
          FROM read_json([{files}], format='array', records=true, columns={columns}, filename=true)),
        b AS (
          SELECT ci, s, {t("s.type")} AS mtype, {k("s.type")} AS type_t,
                 s.date_unixtime::VARCHAR AS du, {k("s.text")} AS text_t,
                 CASE {k("s.text")} WHEN 'VARCHAR' THEN {t("s.text")}
                   WHEN 'ARRAY' THEN array_to_string(list_transform(json_transform(s.text, '["JSON"]'),
                     lambda x: CASE left(x::VARCHAR, 1) WHEN '"' THEN {t("x")}
                                 WHEN '{{' THEN coalesce(x ->> 'text', '') ELSE '' END), '')
                   ELSE '' END AS text0,
                 CASE WHEN {k("s.text")} = 'ARRAY' THEN list_bool_and(list_transform(
                   json_transform(s.text, '["JSON"]'), lambda x: left(x::VARCHAR, 1) <> '{{'
                     OR coalesce(json_type(x, '$.text') = 'VARCHAR', json_type(x, '$.text') IS NULL)))
                   ELSE true END AS text_ok,
                 {t('s."from"')} AS frm, {t("s.from_id")} AS fid, {t("s.actor")} AS actor,
                 {t("s.actor_id")} AS aid, {t("s.action")} AS action,
                 {str_or_null.format(k('s."from"'))} AND {str_or_null.format(k("s.from_id"))}
                   AND {str_or_null.format(k("s.actor"))} AND {str_or_null.format(k("s.actor_id"))}
                   AND {str_or_null.format(k("s.action"))} AS names_ok,
                 {int_like.format(k("s.id"), "s.id")} AND {int_like.format(k("s.reply_to_message_id"), "s.reply_to_message_id")}
                   AS ids_ok,
                 {t("s.id")} AS mid, {t("s.reply_to_message_id")} AS reply,
                 {_truthy("s.photo")} AS photo, {_truthy("s.media_type")} AS has_media,
                 CASE WHEN {k("s.media_type")} = 'VARCHAR' THEN CASE {t("s.media_type")} {media} ELSE 'file' END
                      ELSE 'file' END AS media_kind,
                 {_truthy("s.file")} AS has_file, {_truthy("s.poll")} AS has_poll,
                 CASE WHEN {k("s.poll")} = 'OBJECT' THEN json_type(s.poll, '$.question') END AS q_t,
                 CASE WHEN {k("s.poll")} = 'OBJECT' THEN coalesce(s.poll ->> 'question', '') ELSE '' END AS question,
                 {_truthy("s.location_information")} OR {_truthy("s.contact_information")} AS loc,
                 {_truthy("s.forwarded_from")} AS fwd,
                 coalesce(contains(s.text_entities::VARCHAR, '"mention'), false) AS has_mention
          FROM a),
        c AS (
          SELECT *,
            CASE
              WHEN NOT coalesce(type_t = 'VARCHAR' AND mtype IN ('message', 'service')
                        AND (regexp_full_match(du, '"[0-9]{{1,10}}"') OR regexp_full_match(du, '[0-9]{{1,10}}'))
                        AND TRY_CAST(trim(du, '"') AS BIGINT) BETWEEN 1 AND 6999999999
                        AND coalesce(text_ok, true) AND names_ok AND ids_ok AND NOT has_mention
                        AND coalesce(q_t = 'VARCHAR', q_t IS NULL), false)
                THEN {sql_str(STAGED_PY)}
            END AS bad0
          FROM b),
        d AS (
          SELECT *,
            CASE WHEN mtype = 'service' THEN 'system'
                 WHEN photo THEN 'image' WHEN has_media THEN media_kind WHEN has_file THEN 'file'
                 WHEN NOT has_poll AND loc THEN 'other'
                 ELSE 'text' END AS kind1,
            CASE WHEN mtype = 'service' THEN CASE WHEN text0 <> '' THEN text0
                      ELSE concat_ws(' ', nullif(actor, ''), nullif(action, '')) END
                 WHEN NOT photo AND NOT has_media AND NOT has_file AND has_poll AND text0 = '' THEN question
                 ELSE text0 END AS text1
          FROM c)
        SELECT ci::VARCHAR, CASE WHEN bad0 IS NULL THEN mid END, 'telegram_json', 'telegram',
               [{", ".join(sql_str(k) for k, _ in keys)}][ci], [{", ".join(sql_str(n) for _, n in keys)}][ci],
               CASE WHEN bad0 IS NULL THEN nullif(CASE WHEN mtype = 'service' THEN aid ELSE fid END, '') END,
               CASE WHEN bad0 IS NULL THEN nullif(CASE WHEN mtype = 'service' THEN actor ELSE frm END, '') END,
               CASE WHEN bad0 IS NULL THEN timezone('UTC', make_timestamp(TRY_CAST(trim(du, '"') AS BIGINT) * 1000000)) END,
               CASE WHEN bad0 IS NOT NULL THEN NULL
                    WHEN kind1 = 'text' AND regexp_full_match(text1, {space}) THEN 'other' ELSE kind1 END,
               CASE WHEN bad0 = {sql_str(STAGED_PY)} THEN json_object({record})::VARCHAR
                    WHEN bad0 IS NULL THEN text1 END,
               CASE WHEN bad0 IS NULL THEN reply END, NULL, []::VARCHAR[], false,
               bad0 IS NULL AND fwd, NULL::BIGINT, bad0, {file_no}
        FROM d
    """


def _telegram_vectorised(run, inp, enc: str) -> int | None:
    """Find each chat's messages array by bytes (:func:`_locate`), copy it (large ones in pieces,
    :func:`~zhijian.ingest.jsonscan.split_for_threads`) to files of their own and read those with
    DuckDB's JSON reader (parallel, no Python per message), mapping the records in SQL
    (:func:`_messages_sql`). Returns None when
    the file is not in a shape this reads or DuckDB cannot read it (broken JSON, bytes that are not
    UTF-8, elements that are not objects): nothing is left staged, and the streaming reader runs,
    skips what it must and names the record at fault."""
    import duckdb

    path = inp.path
    mapped = utf8_mapped(run, path, enc)
    if mapped is None:
        return None
    src, mm = mapped
    db = run.db
    threads = duckdb_threads(db)
    try:
        chats = _locate(ByteDoc(mm))
        ranges = [split_for_threads(mm, c.start, c.end, threads) for c in chats]
    except NotWalkable:
        return None
    finally:
        mm.close()
    keys = [_chat_key(c.head, ci, path.stem) for ci, c in enumerate(chats, 1)]
    file_base = run.seq
    tz = run.export_tz
    starts: list[tuple[int, str]] = []  # (records of the file before the chat's first, chat name)
    # the chats in batches of about BATCH_BYTES (one INSERT each: DuckDB reads the pieces of a batch
    # in parallel; the copies on disk never exceed a batch or the largest chat)
    batches: list[list[int]] = [[]]
    size = 0
    for ci, c in enumerate(chats, 1):
        if batches[-1] and size + (c.end - c.start) > BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(ci)
        size += c.end - c.start
    try:
        for batch in batches:
            base = db.execute(
                f"SELECT coalesce(max(seq), {file_base}) FROM raw WHERE seq > {file_base}"
            ).fetchall()[0][0]
            parts = []
            try:
                for ci in batch:
                    for k, (a, b) in enumerate(ranges[ci - 1]):
                        parts.append(run.work / _piece_name(run.file_no, ci, k))
                        copy_range(src, a, b, parts[-1], b"[", b"]")
                db.execute(_messages_sql(parts, keys, run.file_no))
            finally:
                for part in parts:
                    part.unlink(missing_ok=True)
            number_rows(db, base)
            spans = db.execute(
                f"SELECT message_id::INTEGER, min(seq), max(seq) FROM raw WHERE seq > {base} GROUP BY 1 ORDER BY 2"
            ).fetchall()
            db.execute(f"UPDATE raw SET message_id = NULL WHERE seq > {base}")
            for ci, lo, hi in spans:
                cid, cname = keys[ci - 1]
                starts.append((lo - 1 - file_base, cname))
                convert_staged(run, lo - 1, lambda o, c=cid, n=cname: _convert(o, c, n, tz), hi=hi)
    except (duckdb.Error, OSError):
        db.execute(f"DELETE FROM raw WHERE seq IS NULL OR seq > {file_base}")
        return None

    def where(ordinals: list[int]) -> dict[int, str]:
        out = {}
        for k in ordinals:
            first, cname = next((s, n) for s, n in reversed(starts) if s < k)
            out[k] = f"会话“{cname}”第 {k - first} 条"
        return out

    n_rows, n_bad = finish_staged(run, path, file_base, where)
    run.seq = file_base + n_rows + 1
    if len(chats) > 1:
        run.warn(f"{inp.display}：整个账号的导出，导入了全部 {len(chats)} 个会话")
    return n_rows - n_bad
