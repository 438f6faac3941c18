"""Slack workspace export (research/formats.md §6): a folder (or an extracted zip) with
``channels.json`` / ``groups.json`` / ``mpims.json`` / ``dms.json``, ``users.json`` and one folder per
conversation holding ``YYYY-MM-DD.json`` day files; also a single day file or message object.
``ts`` is UTC and unique per channel (the native id); ``thread_ts`` links replies to their parent;
``<!channel>``, ``<!here>`` and ``<!everyone>`` are @all."""

from __future__ import annotations

import html
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from zhijian.errors import ImportFormatError
from zhijian.ingest.common import (
    STAGED_PY,
    RawSink,
    detect_encoding,
    from_epoch,
    json_fields_sql,
    json_kind_sql,
    json_text_sql,
    py_strip_sql,
    sql_str,
)
from zhijian.ingest.wechat import _load_json
from zhijian.storable import repaired

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


def _repaired(run, names: dict[str, Any]) -> dict[str, Any]:
    """users.json / channels.json names (a name, or a channel's (id, name)) with lone surrogates
    replaced, as common.RawSink replaces them in messages, and counted in ``run.repaired``."""

    def fix(v: str) -> str:
        if (r := repaired(v)) is None:
            return v
        run.repaired += 1
        return r

    return {k: tuple(map(fix, v)) if isinstance(v, tuple) else fix(v) for k, v in names.items()}


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


def _row(m: Any, chat: tuple[str, str], users: dict[str, str]) -> tuple | str:
    """The raw row of message ``m`` (the 14 :attr:`RawSink.ROW_FIELDS`, ``ts`` an aware datetime) or
    the reason to skip it."""
    if not isinstance(m, dict):
        return "不是 JSON 对象"
    ts_s = str(m.get("ts") or "")
    ts = from_epoch(ts_s)
    if ts is None:
        return "缺少 ts"
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
    forwarded = bool(
        m.get("attachments") and any(isinstance(a, dict) and a.get("is_share") for a in m["attachments"])
    )
    return (
        None,
        ts_s,
        chat[0],
        chat[1],
        str(user) if user else None,
        str(name) if name else None,
        ts,
        kind,
        text,
        reply,
        None,
        ments,
        at_all,
        forwarded,
    )


def _message(
    run, sink: RawSink, path: Path, where: str, m: Any, chat: tuple[str, str], users: dict[str, str]
) -> None:
    r = _row(m, chat, users)
    if isinstance(r, str):
        run.skip(path, where, r)
    else:
        sink.row(*r)


def _day_files(root: Path, chans: dict[str, tuple[str, str]]) -> list[tuple[Path, tuple[str, str]]]:
    """The day files of an export folder in the order they are read, each with its chat."""
    out = []
    for d in sorted(x for x in root.iterdir() if x.is_dir()):
        chat = chans.get(d.name, (d.name, d.name))
        out.extend((day, chat) for day in sorted(d.glob("*.json")))
    return out


# ── the vectorised reader: DuckDB reads every day file at once, SQL maps what _row maps ──────────
#: the message fields the SQL (and, for the records it leaves to Python, :func:`_row`) reads
_FIELDS = (
    "ts",
    "text",
    "subtype",
    "user",
    "bot_id",
    "username",
    "thread_ts",
    "user_profile",
    "files",
    "attachments",
    "blocks",
)
#: ``bad`` of a record whose fields the SQL cannot hand to :func:`_row` as they are (not an object,
#: a number where a string is expected, no ts …): the Python loop reads the whole export
_LEAVE = "\x00slack:python"
#: mention ids per text the SQL looks up in users.json (one join each); a text with more -> Python
_MENTION_SLOTS = 4
#: the mean day-file size below which the day files are copied into a few pieces for DuckDB
#: (:func:`_pieces`): its JSON reader costs about 0.6 ms per file, more than Python's ``json.load``
#: of a small file (100k messages in 47k day files of 4 KB: the files read directly 29 s, the
#: Python loop 5.7 s); a real export often has a few messages per channel and day
PIECES_BELOW_MEAN_FILE_BYTES = 32 * 1024
#: Python's patterns in RE2 (DuckDB): the same syntax here
_USER_RE = _USER.pattern
_BROADCAST_RE = _BROADCAST.pattern
_CHAN_RE = _CHAN.pattern
_LINK_RE = _LINK.pattern
_MICROSECOND = timedelta(microseconds=1)


def _reps_sql(x: str, pattern: str, rep: str) -> str:
    """SQL: the replacements ``re.sub(pattern, f, x)`` makes, in order, where ``rep`` is the SQL of
    ``f``'s result for a match (``{g1}``, ``{g2}``: its groups 1 and 2, NULL when the group did not
    take part). Both groups are extracted once and zipped: a lambda that refers to an extraction
    runs it again for every match (3 mentions per text: 1.1 s against 0.33 s per 300k texts)."""
    pat = sql_str(pattern)
    groups = f"list_zip(regexp_extract_all({x}, {pat}, 1), regexp_extract_all({x}, {pat}, 2))"
    return f"list_transform({groups}, lambda z_: {rep.format(g1='z_[1]', g2='z_[2]')})"


def _interleave_sql(x: str, pattern: str, reps: str) -> str:
    """SQL of ``re.sub`` given its replacements ``reps`` (:func:`_reps_sql`): the text between the
    matches (``regexp_split_to_array``) interleaved with them."""
    return (
        f"CASE WHEN len({reps}) = 0 THEN {x} ELSE array_to_string(list_transform("
        f"regexp_split_to_array({x}, {sql_str(pattern)}), lambda p_, k_: p_ || coalesce({reps}[k_], '')), '') END"
    )


def _slack_sql(files: list[str], file_no: int, *, pieces: bool = False) -> str:
    """INSERT of every record of the day files ``files`` (in this order) into the staging table,
    mapped as :func:`_row` maps it, joined to the temporary tables ``slack_files`` (file -> chat)
    and ``slack_users`` (users.json: id -> name). ``bad``: NULL, :data:`STAGED_PY` for a record
    :func:`_row` maps afterwards (its fields and chat as JSON in ``text``), or :data:`_LEAVE`.

    ``pieces``: ``files`` are the pieces :func:`_pieces` wrote, arrays of ``{"f": day file number,
    "m": its array}``, and ``slack_files`` is keyed by that number."""
    columns, struct, record = json_fields_sql(_FIELDS)
    # the profile as the two names _row reads (not the whole object as JSON: cheaper to read); a
    # profile that is not an object makes DuckDB's reader fail, and the Python loop reads the export
    columns = columns.replace(
        "'user_profile': 'JSON'", "'user_profile': 'STRUCT(display_name JSON, real_name JSON)'"
    )
    jk, jt = json_kind_sql, json_text_sql
    str_or_null = "coalesce({} IN ('VARCHAR', 'NULL'), true)"
    scalars = ("ts", "text", "subtype", "user", "bot_id", "username", "thread_ts")
    slots = range(1, _MENTION_SLOTS + 1)
    lookup = "CASE {g1} " + " ".join(f"WHEN ments[{k}] THEN n{k}" for k in slots) + " END"
    user_rep = "'@' || coalesce(nullif({g2}, ''), " + lookup + ", {g1})"
    link_rep = "CASE WHEN coalesce({g2}, '') <> '' THEN {g2} || ' (' || {g1} || ')' ELSE {g1} END"
    file_list = "[" + ", ".join(sql_str(f) for f in files) + "]"
    system = ", ".join(sql_str(x) for x in sorted(SYSTEM_SUBTYPES))
    if pieces:
        # the same fields read from each day file's array as a list of structs (DuckDB's reader
        # rejects what it rejects in a day file read alone: a key given twice, a non-object
        # element, a profile that is not an object), unnested in order
        fields = ", ".join(
            f'"{f}" ' + ("STRUCT(display_name JSON, real_name JSON)" if f == "user_profile" else "JSON")
            for f in _FIELDS
        )
        source = (
            f"SELECT f AS fn, unnest(m) AS s FROM read_json({file_list}, format='array', records=true,"
            f" columns={{'f': 'BIGINT', 'm': {sql_str(f'STRUCT({fields})[]')}}})"
        )
    else:
        source = (
            f"SELECT filename AS fn, struct_pack({struct}) AS s"
            f" FROM read_json({file_list}, format='array', records=true, columns={columns}, filename=true)"
        )
    return f"""
        INSERT INTO raw
        WITH a AS ({source}),
        b AS (
          SELECT fn, s,
            {", ".join(f"{jk(f's.{f}')} AS {f}_k" for f in (*scalars, "files", "attachments"))},
            {jt("s.ts")} AS ts_s, coalesce({jt("s.text")}, '') AS t0,
            coalesce({jt("s.subtype")}, '') AS sub, coalesce({jt("s.thread_ts")}, '') AS thr,
            coalesce(nullif({jt('s."user"')}, ''), nullif({jt("s.bot_id")}, '')) AS sender,
            {jt("s.username")} AS uname,
            s.user_profile AS up,
            CASE WHEN {jk("s.files")} = 'ARRAY' THEN json_extract(s.files, '$[0]') END AS f0j,
            CASE WHEN {jk("s.attachments")} = 'ARRAY' THEN json_extract(s.attachments, '$[0]') END AS a0j,
            CASE WHEN contains(s.attachments::VARCHAR, '"is_share"')
                 THEN json_extract(s.attachments, '$[*].is_share') ELSE []::JSON[] END AS shares,
            coalesce(contains(s.blocks::VARCHAR, 'broadcast'), false) AS blocks_bc
          FROM a),
        c AS (
          SELECT *,
            contains(t0, '<!') AND regexp_matches(t0, {sql_str(_BROADCAST_RE)}) AS at_all_text,
            CASE WHEN contains(t0, '<@') THEN list_reduce(regexp_extract_all(t0, {sql_str(_USER_RE)}, 1),
                   lambda acc_, x_: CASE WHEN list_contains(acc_, x_) THEN acc_ ELSE list_append(acc_, x_) END,
                   []::VARCHAR[]) ELSE []::VARCHAR[] END AS ments,
            CASE WHEN {jk("f0j")} = 'OBJECT' THEN
              json_transform(f0j, '{{"mimetype": "JSON", "name": "JSON", "title": "JSON"}}') END AS f0,
            CASE WHEN {jk("a0j")} = 'OBJECT' THEN
              json_transform(a0j, '{{"title": "JSON", "fallback": "JSON", "from_url": "JSON"}}') END AS a0
          FROM b),
        d AS (
          SELECT c.*, f.chat_key, f.chat_name, su.name AS sender_lookup,
                 {", ".join(f"u{k}.name AS n{k}" for k in slots)}
          FROM c
          LEFT JOIN slack_files f ON f.fn = c.fn
          LEFT JOIN slack_users su ON su.id = c.sender
          {" ".join(f"LEFT JOIN slack_users u{k} ON u{k}.id = c.ments[{k}]" for k in slots)}),
        e0 AS (
          SELECT *,
            CASE WHEN contains(t0, '<@') THEN {_reps_sql("t0", _USER_RE, user_rep)} ELSE []::VARCHAR[] END AS u_reps
          FROM d),
        e AS (SELECT *, {_interleave_sql("t0", _USER_RE, "u_reps")} AS t1 FROM e0),
        e2 AS (
          SELECT *,
            CASE WHEN contains(t1, '<!') THEN regexp_replace(t1, {sql_str(_BROADCAST_RE)}, '@\\1', 'g')
                 ELSE t1 END AS t2
          FROM e),
        e3 AS (
          SELECT *,
            CASE WHEN contains(t2, '<#') THEN regexp_replace(t2, {sql_str(_CHAN_RE)}, '#\\1', 'g')
                 ELSE t2 END AS t3
          FROM e2),
        e3b AS (
          SELECT *,
            CASE WHEN contains(t3, '<http') OR contains(t3, '<mailto:') THEN {_reps_sql("t3", _LINK_RE, link_rep)}
                 ELSE []::VARCHAR[] END AS l_reps
          FROM e3),
        e4 AS (SELECT *, {_interleave_sql("t3", _LINK_RE, "l_reps")} AS t5 FROM e3b),
        e5 AS (
          SELECT *,
            CASE WHEN contains(t5, '&') THEN replace(replace(replace(t5, '&lt;', '<'), '&gt;', '>'), '&amp;', '&')
                 ELSE t5 END AS t6,
            contains(t5, '&') AND contains(replace(replace(replace(t5, '&amp;', ''), '&lt;', ''), '&gt;', ''), '&')
              AS odd_entity,
            {jt("f0.mimetype")} AS mt,
            coalesce(nullif({jt("f0.name")}, ''), nullif({jt("f0.title")}, ''), '') AS f0_text,
            coalesce(nullif({jt("a0.title")}, ''), nullif({jt("a0.fallback")}, ''),
                     nullif({jt("a0.from_url")}, ''), '') AS a0_text,
            files_k = 'ARRAY' AND s.files::VARCHAR <> '[]' AS has_files,
            attachments_k = 'ARRAY' AND s.attachments::VARCHAR <> '[]' AS has_att
          FROM e4),
        f AS (
          SELECT *,
            CASE
              WHEN NOT ({" AND ".join(str_or_null.format(f"{x}_k") for x in scalars)})
                   OR ts_k IS NULL OR coalesce(files_k NOT IN ('ARRAY', 'NULL'), false)
                   OR coalesce(attachments_k NOT IN ('ARRAY', 'NULL'), false)
                   OR NOT {str_or_null.format(jk("up.display_name"))} OR NOT {str_or_null.format(jk("up.real_name"))}
                   OR NOT {str_or_null.format(jk("f0.name"))} OR NOT {str_or_null.format(jk("f0.title"))}
                   OR NOT {str_or_null.format(jk("a0.title"))} OR NOT {str_or_null.format(jk("a0.fallback"))}
                   OR NOT {str_or_null.format(jk("a0.from_url"))}
                THEN {sql_str(_LEAVE)}
              WHEN NOT regexp_full_match(ts_s, '[0-9]{{1,10}}(\\.[0-9]{{1,6}})?')
                   OR NOT coalesce(TRY_CAST(split_part(ts_s, '.', 1) AS BIGINT) BETWEEN 1 AND 4294967295, false)
                   OR (blocks_bc AND NOT at_all_text) OR odd_entity OR contains(t3, '<!subteam^')
                   OR len(ments) > {_MENTION_SLOTS}
                   OR len(list_filter(shares, lambda x_: x_::VARCHAR NOT IN ('true', 'false', 'null'))) > 0
                THEN {sql_str(STAGED_PY)}
            END AS bad0,
            CASE
              WHEN list_contains([{system}], sub) THEN 'system'
              WHEN sub = 'tombstone' THEN 'recall'
              WHEN has_files THEN CASE
                WHEN starts_with(coalesce(mt, ''), 'image/') THEN 'image'
                WHEN starts_with(coalesce(mt, ''), 'video/') THEN 'video'
                WHEN starts_with(coalesce(mt, ''), 'audio/') THEN 'voice'
                ELSE 'file' END
              WHEN has_att AND {py_strip_sql("t6")} = '' THEN 'link'
              ELSE 'text'
            END AS kind0
          FROM e5)
        SELECT NULL, CASE WHEN bad0 IS NULL THEN ts_s END, 'slack', 'slack',
               chat_key, chat_name,
               CASE WHEN bad0 IS NULL THEN sender END,
               CASE WHEN bad0 IS NULL THEN coalesce(nullif(sender_lookup, ''),
                 CASE WHEN up IS NOT NULL THEN coalesce(nullif({jt("up.display_name")}, ''),
                                                        nullif({jt("up.real_name")}, '')) END,
                 nullif(uname, '')) END,
               CASE WHEN bad0 IS NULL THEN timezone('UTC', make_timestamp(
                 TRY_CAST(split_part(ts_s, '.', 1) AS BIGINT) * 1000000
                 + TRY_CAST(rpad(split_part(ts_s, '.', 2), 6, '0') AS BIGINT))) END,
               CASE WHEN bad0 IS NULL THEN kind0 END,
               CASE WHEN bad0 = {sql_str(STAGED_PY)} THEN json_array(chat_key, chat_name, json_object({record}))::VARCHAR
                    WHEN bad0 IS NOT NULL THEN NULL
                    WHEN kind0 IN ('image', 'video', 'voice', 'file') AND t6 = '' AND {jk("f0j")} = 'OBJECT' THEN f0_text
                    WHEN kind0 = 'link' THEN a0_text
                    ELSE t6 END,
               CASE WHEN bad0 IS NULL AND thr <> '' AND thr <> ts_s THEN thr END,
               NULL,
               CASE WHEN bad0 IS NULL THEN ments END,
               bad0 IS NULL AND coalesce(at_all_text, false),
               bad0 IS NULL AND has_att AND list_contains(shares, 'true'::JSON),
               NULL::BIGINT, bad0, {file_no}
        FROM f
    """


def _convert(users: dict[str, str]):
    """:func:`~zhijian.ingest.common.convert_staged`'s conversion of a record the SQL left to
    :func:`_row` (staged as ``[chat key, chat name, fields]``): ``ts`` in microseconds."""
    from datetime import UTC, datetime

    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    def convert(o: Any) -> tuple | str:
        if not isinstance(o, list) or len(o) != 3:
            return "不是 JSON 对象"
        r = _row(o[2], (o[0], o[1]), users)
        if isinstance(r, str):
            return r
        return (*r[:6], (r[6] - epoch) // _MICROSECOND, *r[7:])

    return convert


_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"')
#: the deepest nesting _one_array follows (each level costs a pass over the brackets, so a file of
#: nothing but brackets would cost quadratic time: 80 KB of them took 6.5 s); Slack nests a few
#: levels, and Python's json reader, which then reads the export, stops near 1,000 with a clear error
_MAX_NESTING = 512
#: the escapes that could hide a quote (matched left to right, as the JSON lexer reads escapes: a
#: backslash that ends a match was escaped; one that starts a match escapes what follows)
_ESCAPED_QUOTE_OR_BACKSLASH = re.compile(rb'\\[\\"]')


def _one_array(b: bytes) -> bool:
    """True when ``b`` (stripped) is ``[`` … ``]`` whose first bracket closes at its last byte, as
    far as brackets tell (strings removed): then no text after the array can add keys to the object
    that wraps it. (Valid JSON or not is left to DuckDB.) In C-speed steps, for the many small files
    of an export: the brackets inside the outer pair must pair up among themselves.

    The strings go without a regex that matches each of them (it took 42% of an import of 52k
    small day files): the two escapes that matter, an escaped backslash and an escaped quote, are
    dropped in the JSON lexer's own left-to-right order (so that ``\\\\"`` keeps its quote); then
    a quote always opens or closes a string, every byte but quotes and brackets is dropped, and a
    pair of adjacent quotes (an empty string, or a string's end next to the next one's start) is
    dropped too, which leaves every other byte as much inside or outside a string as before. The
    few strings left hold brackets; the parts between them, split on the quotes, are outside."""
    if not (b.startswith(b"[") and b.endswith(b"]")):
        return False
    inner = b[1:-1]
    inner = _ESCAPED_QUOTE_OR_BACKSLASH.sub(b"", inner)
    inner = inner.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in inner:
        parts = inner.split(b'"')
        if len(parts) % 2 == 0:  # a quote left open: not JSON (and not one array)
            return False
        inner = b"".join(parts[::2])
    for _ in range(_MAX_NESTING):  # one round per level of nesting
        if not inner:
            return True
        shorter = inner.replace(b"[]", b"").replace(b"{}", b"")
        if len(shorter) == len(inner):
            return False
        inner = shorter
    return not inner  # nested deeper: left to the Python loop, which reports it


def _read_small(path: Path) -> bytes:
    """A whole (small) file's bytes by raw ``os.read`` calls: half the time of ``Path.read_bytes``,
    whose buffered file object costs more than the read itself on a day file of a few KB."""
    fd = os.open(path, os.O_RDONLY)
    try:
        parts = []
        while chunk := os.read(fd, 1 << 20):
            parts.append(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


def _pieces(run, days: list[tuple[Path, tuple[str, str]]], sizes: list[int]) -> list[str] | None:
    """The day files copied, in order, into a few JSON files for DuckDB's reader (one per thread
    and a half, cut between day files at equal sizes), each an array of ``{"f": day file number,
    "m": its array as written}``. None (the Python loop reads the export) when a day file is not
    one array from its first byte to its last (after a BOM and white space): its text must not be
    able to add keys to the wrapping object. Whether the arrays are valid JSON is left to DuckDB,
    which rejects the whole piece then."""
    from zhijian.ingest.common import duckdb_threads

    n_pieces = max(1, min(len(days), duckdb_threads(run.db) * 3 // 2 + 1))
    per = sum(sizes) / n_pieces
    out: list[str] = []
    f = None
    try:
        done = 0
        for i, (day, _chat) in enumerate(days):
            if f is None or (done >= per * len(out) and len(out) < n_pieces):
                if f is not None:
                    f.write(b"]")
                    f.close()
                path = run.work / f"slack-{run.file_no}-{len(out)}.json"
                out.append(str(path))
                f = open(path, "wb")  # noqa: SIM115 - closed above or in finally
                f.write(b"[")
                first = True
            b = _read_small(day)
            done += len(b)
            b = b[3:] if b.startswith(b"\xef\xbb\xbf") else b
            b = b.strip(b" \t\r\n")
            if not _one_array(b):
                return None
            f.write((b"" if first else b",") + b'{"f":%d,"m":' % i + b + b"}")
            first = False
        f.write(b"]")
    except OSError:
        return None
    finally:
        if f is not None:
            f.close()
    return out


def _slack_vectorised(run, days: list[tuple[Path, tuple[str, str]]], users: dict[str, str]) -> int | None:
    """Read every day file of an export with one DuckDB ``read_json`` (in parallel, no Python per
    message; small day files copied into a few pieces first, :func:`_pieces`) and map the messages in SQL exactly as :func:`_row` does (:func:`_slack_sql`); the few
    records the SQL cannot render exactly (an HTML entity other than ``&amp; &lt; &gt;``, a user
    group ``<!subteam^…>``, a ``broadcast`` in ``blocks``, more than ``_MENTION_SLOTS`` mentioned ids,
    a ts of another form, an ``is_share`` that is not a boolean) are mapped by :func:`_row`
    afterwards (:func:`~zhijian.ingest.common.convert_staged`). Returns the records staged, or None,
    with nothing left staged, when the Python loop must read the export: a file DuckDB cannot read
    as an array of objects (broken JSON, not UTF-8, a key given twice, an element that is not an
    object), a record to skip or a field of a type the SQL does not take (:data:`_LEAVE`), a path
    DuckDB would read as a glob pattern.

    The file -> chat and users.json lookups are LEFT JOINs with the messages as the probe side
    (order-preserving, so the rows stay in file order for :func:`~zhijian.ingest.common.number_rows`):
    DuckDB's build-side optimizer, which would swap the sides of a small export, is switched off
    for the insert and the plan is checked."""
    import stat

    import duckdb

    from zhijian.ingest.common import _LeaveToPython, convert_staged, number_rows, staged_insert, temp_table

    try:
        st = [os.stat(day) for day, _ in days]
    except OSError:
        return None
    files = [str(day) for day, _ in days]
    # DuckDB reads a path with * ? [ as a pattern (it could name other files)
    if any(not stat.S_ISREG(x.st_mode) for x in st) or any(c in f for f in files for c in "*?["):
        return None
    db = run.db
    sizes = [x.st_size for x in st]
    small = sum(sizes) < PIECES_BELOW_MEAN_FILE_BYTES * len(days)
    # slack_files is keyed by the day file's number in the pieces, else by its path
    keys: list[Any] = list(range(len(days))) if small else files
    if small:
        files = _pieces(run, days, sizes)
        if files is None:
            return None
    base = run.seq
    prior = db.execute("SELECT current_setting('disabled_optimizers')").fetchall()[0][0]
    try:
        # from Python lists (common.temp_table: no pyarrow conversion, which would import pandas)
        temp_table(
            db,
            "slack_files",
            {"fn": keys, "chat_key": [c[0] for _, c in days], "chat_name": [c[1] for _, c in days]},
            {"fn": "BIGINT" if small else "VARCHAR"},
        )
        temp_table(db, "slack_users", {"id": list(users), "name": list(users.values())})
        off = ",".join(x for x in (prior, "build_side_probe_side") if x)
        db.execute(f"SET disabled_optimizers = {sql_str(off)}")
        sql = _slack_sql(files, run.file_no, pieces=small)
        plan = "\n".join(r[1] for r in db.execute("EXPLAIN " + sql).fetchall())
        if not set(re.findall(r"Join Type: *(\w+)", plan)) <= {"LEFT", "MARK"}:  # pragma: no cover
            return None
        with staged_insert(db):
            db.execute(sql)
            db.execute(f"SET disabled_optimizers = {sql_str(prior)}")
            if db.execute(
                f"SELECT count(*) FROM raw WHERE seq IS NULL AND bad = {sql_str(_LEAVE)}"
            ).fetchall()[0][0]:
                raise _LeaveToPython
            number_rows(db, base)
            convert_staged(run, base, _convert(users))
            if db.execute(f"SELECT count(*) FROM raw WHERE seq > {base} AND bad IS NOT NULL").fetchall()[0][
                0
            ]:
                raise _LeaveToPython  # a record to skip: the Python loop reports where it is
    except (duckdb.Error, _LeaveToPython):
        return None
    finally:
        db.execute(f"SET disabled_optimizers = {sql_str(prior)}")
        db.execute("DROP TABLE IF EXISTS slack_files")
        db.execute("DROP TABLE IF EXISTS slack_users")
    n_rows = db.execute(f"SELECT count(*) FROM raw WHERE seq > {base}").fetchall()[0][0]
    run.seq = base + n_rows + 1
    return n_rows


def slack(run, inp) -> tuple[int, str]:
    sink = RawSink(run.emit, "slack", "slack")
    p = inp.path
    if p.is_dir():
        users = _repaired(run, _users(p))
        chans = _repaired(run, _channels(p))
        days = _day_files(p, chans)
        if days:
            n = _slack_vectorised(run, days, users)
            if n is not None:
                return n, "utf-8"
        for day, chat in days:
            data = _load_json(day, detect_encoding(day))
            if not isinstance(data, list):
                raise ImportFormatError(
                    "Slack 日文件应为消息数组",
                    "a Slack day file must be an array of messages",
                    path=f"{inp.display}/{day.parent.name}/{day.name}",
                )
            for i, m in enumerate(data, 1):
                _message(run, sink, day, f"第 {i} 条", m, chat, users)
        if not days:
            raise ImportFormatError(
                "Slack 导出中没有频道日文件（<频道>/YYYY-MM-DD.json）",
                "no channel day files (<channel>/YYYY-MM-DD.json) in the Slack export",
                path=inp.display,
            )
    else:
        data = _load_json(p, detect_encoding(p))
        root = p.parent.parent if (p.parent.parent / "users.json").is_file() else None
        users = _repaired(run, _users(root))
        chans = _repaired(run, _channels(root) if root else {})
        if re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", p.stem):
            chat = chans.get(p.parent.name, (p.parent.name, p.parent.name))
        else:
            chat = (p.stem, p.stem)
        items = data if isinstance(data, list) else [data]
        for i, m in enumerate(items, 1):
            _message(run, sink, p, f"第 {i} 条", m, chat, users)
    sink.flush()
    return sink.count, "utf-8"
