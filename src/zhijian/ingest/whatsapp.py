"""WhatsApp "Export chat" text (research/formats.md §5): Android ``date, time - name: text`` and iOS
``[date, time] name: text`` in every locale seen — day/month/year order inferred from the whole file
(``--date-order`` forces it), 12/24-hour clocks (AM/PM, a.m./p.m., 上午/下午), invisible characters
stripped, multi-line messages, system lines (also those that contain ": ")."""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime
from pathlib import Path

from zhijian.errors import ImportFormatError
from zhijian.ingest.common import (
    ChatSink,
    detect_encoding,
    mentions_in,
    mentions_sql,
    normalize_phone,
    open_text,
    sql_str,
    temp_table,
)

_INVIS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2068\u2069\ufeff\u200b"), None)
_INVIS.update({0x202F: " ", 0x00A0: " "})
#: str.translate is slow per character; most lines hold none of these, so look first
_HAS_INVIS = re.compile("[\u200e\u200f\u202a-\u202f\u2068\u2069\ufeff\u200b\u00a0]")


def _clean(line: str) -> str:
    return line.translate(_INVIS) if _HAS_INVIS.search(line) else line


_AMPM = r"(?:[AaPp]\.? ?[Mm]\.?|上午|下午|晚上|凌晨|中午|早上)"
_DATE = r"([0-9]{1,4})[./-]([0-9]{1,2})[./-]([0-9]{1,4})"
_TIME = r"(" + _AMPM + r" ?)?([0-9]{1,2})[:.]([0-9]{2})(?:[:.]([0-9]{2}))?(?: ?(" + _AMPM + r"))?"
HEADER = re.compile(r"^(?:\[" + _DATE + r",? " + _TIME + r"\] |" + _DATE + r",? " + _TIME + r" [-–] )(.*)$")
# groups: iOS 1-3 date, 4 pre-ampm, 5 h, 6 m, 7 s, 8 post-ampm; Android 9-11 date, 12 pre, 13 h, 14 m, 15 s, 16 post; 17 rest

SYSTEM_HINTS = re.compile(
    r"end-to-end encrypted|created group|created this group|added |removed |left$|joined using|changed the subject|"
    r"changed this group|changed the group|changed their phone number|changed the group description|"
    r"deleted this group|security code|is now an admin|no longer an admin|disappearing messages|"
    r"端到端加密|创建了群组|创建了群|添加了|移除了|已退出|退出了群|通过邀请链接加入|更改了|修改了群|现在是管理员|安全码"
)
SYSTEM_TEXT = re.compile(
    r"end-to-end encrypted|端到端加密|created group|created this group|changed the subject|changed this group|"
    r"changed the group|added you|joined using this group|security code changed|disappearing messages"
)
MEDIA = {
    "<media omitted>": "other",
    "<medien ausgeschlossen>": "other",
    "<multimédia omis>": "other",
    "<省略多媒体文件>": "other",
    "<忽略多媒體檔>": "other",
    "<媒体文件已省略>": "other",
    "image omitted": "image",
    "video omitted": "video",
    "audio omitted": "voice",
    "sticker omitted": "other",
    "document omitted": "file",
    "gif omitted": "video",
    "contact card omitted": "other",
    "图片已省略": "image",
    "视频已省略": "video",
    "音频已省略": "voice",
}
DELETED = (
    "this message was deleted",
    "you deleted this message",
    "此消息已删除",
    "你删除了此消息",
    "消息已删除",
)
_ATTACHED = re.compile(r"<attached: [^>]*\.([A-Za-z0-9]+)>|^(\S+\.([A-Za-z0-9]+)) \(file attached\)")
_EXT_KIND = {
    "jpg": "image",
    "jpeg": "image",
    "png": "image",
    "webp": "other",
    "gif": "video",
    "mp4": "video",
    "opus": "voice",
    "m4a": "voice",
    "mp3": "voice",
    "pdf": "file",
    "docx": "file",
    "xlsx": "file",
    "vcf": "other",
}


def _parts(m: re.Match) -> tuple[tuple[str, str, str], str | None, int, int, int, str]:
    g = m.groups()
    if g[0] is not None:
        d, pre, h, mi, s, post = g[0:3], g[3], g[4], g[5], g[6], g[7]
    else:
        d, pre, h, mi, s, post = g[8:11], g[11], g[12], g[13], g[14], g[15]
    ampm = (pre or post or "").strip() or None
    return d, ampm, int(h), int(mi), int(s or 0), g[16]


def infer_order(dates: set[tuple[str, str, str]]) -> tuple[str, bool]:
    """(order, certain) from every date string of the file: 'ymd', 'dmy' or 'mdy'. When no field
    exceeds 12 the locale tells: en-US writes M/D/YY (two-digit year, no zero padding), en-GB and most
    other locales DD/MM/YYYY; that guess is reported so the user can force --date-order."""
    if not dates:
        return "dmy", True
    if all(len(a) == 4 for a, _, _ in dates):
        return "ymd", True
    firsts = [int(a) for a, _, _ in dates]
    seconds = [int(b) for _, b, _ in dates]
    if any(v > 12 for v in firsts) and not any(v > 12 for v in seconds):
        return "dmy", True
    if any(v > 12 for v in seconds) and not any(v > 12 for v in firsts):
        return "mdy", True
    if all(a == b for a, b in zip(firsts, seconds, strict=True)):
        return "dmy", True  # every date reads the same either way
    two_digit_year = all(len(c) <= 2 for _, _, c in dates)
    padded = any((len(a) == 2 and a[0] == "0") or (len(b) == 2 and b[0] == "0") for a, b, _ in dates)
    return ("mdy" if two_digit_year and not padded else "dmy"), False


def _to_date(d: tuple[str, str, str], order: str) -> date:
    a, b, c = d
    if order == "ymd":
        y, mo, da = int(a), int(b), int(c)
    elif order == "dmy":
        da, mo, y = int(a), int(b), int(c)
    else:
        mo, da, y = int(a), int(b), int(c)
    if y < 100:
        y += 2000
    return date(y, mo, da)


def _hour(h: int, ampm: str | None) -> int:
    if not ampm:
        return h
    a = ampm.lower().replace(".", "").replace(" ", "")
    pm = a in ("pm", "下午", "晚上") or (a == "中午" and h < 11)
    am = a in ("am", "上午", "凌晨", "早上")
    if pm and h < 12:
        return h + 12
    if am and h == 12:
        return 0
    return h


def _chat_name(path: Path, hint: str, display: str = "") -> str:
    if hint:
        return hint
    if path.stem == "_chat" and display:  # iOS/Android zip: the archive names the chat
        return _chat_name(Path(Path(display).parent.name), "")
    m = re.match(r"^WhatsApp (?:Chat with|Chat -|聊天 -|聊天记录 -)\s*(.+)$", path.stem)
    return m.group(1).strip() if m else path.stem


# The same header, found in whole chunks of text (one C-level scan instead of a Python loop per line).
# U+200E (iOS marks system and attachment lines with it) is kept by _clean_keep_lrm and allowed here.
HEADER_M = re.compile("(?m)^\u200e?" + HEADER.pattern[1:])
_TIME_NC = r"(?:" + _AMPM + r" ?)?[0-9]{1,2}[:.][0-9]{2}(?:[:.][0-9]{2})?(?: ?" + _AMPM + r")?"
DATES_M = re.compile(
    "(?m)^\u200e?(?:\\[" + _DATE + r",? " + _TIME_NC + r"\] |" + _DATE + r",? " + _TIME_NC + r" [-–] )"
)
_INVIS_NO_LRM = {k: v for k, v in _INVIS.items() if k != 0x200E}
_HAS_INVIS_NO_LRM = re.compile("[\u200f\u202a-\u202f\u2068\u2069\ufeff\u200b\u00a0]")


def _clean_keep_lrm(text: str) -> str:
    return _HAS_INVIS_NO_LRM.sub(lambda m: m.group().translate(_INVIS_NO_LRM), text)


def _chunks(path: Path, enc: str, size: int = 1 << 22):
    """The file in pieces of about ``size`` characters that end at a line end (newlines normalised)."""
    with open_text(path, enc) as f:
        rest = ""
        while True:
            block = f.read(size)
            if not block:
                if rest:
                    yield rest
                return
            block = rest + block
            cut = block.rfind("\n") + 1
            if cut == 0:
                rest = block
                continue
            yield block[:cut]
            rest = block[cut:]


def whatsapp_txt_python(run, inp) -> tuple[int, str]:
    """Reference reader (a Python pass per message); kept to cross-check the vectorised one."""
    path = inp.path
    enc = detect_encoding(path)
    # pass 1: every distinct date string (to infer the day/month order)
    dates: set[tuple[str, str, str]] = set()
    for chunk in _chunks(path, enc):
        for t in set(DATES_M.findall(_clean_keep_lrm(chunk))):
            dates.add(t[0:3] if t[0] else t[3:6])
    if not dates:
        raise ImportFormatError(
            "没有找到 WhatsApp 消息行（“日期, 时间 - 姓名: 内容”）",
            "no WhatsApp message header lines found",
            path=str(path),
            where="第 1 行",
        )
    guessed, certain = infer_order(dates)
    order = run.date_order or guessed
    date_cache: dict[tuple[str, str, str], date | None] = {}
    for d in dates:
        try:
            date_cache[d] = _to_date(d, order)
        except ValueError:
            date_cache[d] = None
    name = _chat_name(path, inp.hint, inp.display)
    sink = ChatSink(run.emit, "whatsapp_txt", "whatsapp", name, name)
    add = sink.add
    tz = run.export_tz
    ts_cache: dict[tuple, datetime | None] = {}
    media, deleted = MEDIA, DELETED
    edited = "<This message was edited>"

    def one(g: tuple, body: str, line_of) -> None:
        if g[0] is not None:
            d, pre, hs, ms_, ss, post = g[0:3], g[3], g[4], g[5], g[6], g[7]
        else:
            d, pre, hs, ms_, ss, post = g[8:11], g[11], g[12], g[13], g[14], g[15]
        key = (d, pre, hs, ms_, ss, post)
        ts = ts_cache.get(key, False)
        if ts is False:
            day = date_cache.get(d)
            h, mi, sec = _hour(int(hs), (pre or post or "").strip() or None), int(ms_), int(ss or 0)
            ts = None
            if day is not None and h <= 23 and mi <= 59 and sec <= 59:
                ts = datetime(day.year, day.month, day.day, h, mi, sec, tzinfo=tz).astimezone(UTC)
            if len(ts_cache) > 100_000:
                ts_cache.clear()
            ts_cache[key] = ts
        if ts is None:
            run.skip(path, f"第 {line_of()} 行", f"日期或时间无效（按 {order} 解读）")
            return
        rest = g[16]
        lrm = "\u200e" in rest
        if lrm:
            rest = rest.replace("\u200e", "")
        if body:
            if "\u200e" in body:
                body = body.replace("\u200e", "")
            rest = rest + body
        sender, sep, text = rest.partition(": ")
        if not sep and rest.endswith(":") and "\n" not in rest:
            sender, sep, text = rest[:-1], ":", ""
        # a group name may stand where the sender would ("Group: ‎Messages and calls are end-to-end encrypted")
        if (
            not sep
            or "\n" in sender
            or len(sender) > 60
            or (lrm and SYSTEM_TEXT.search(text))
            or SYSTEM_HINTS.search(sender)
            or '"' in sender
            or "“" in sender
        ):
            add(None, None, ts, "system", rest)
            return
        kind = "text"
        low = text.strip().lower()
        if low in media:
            kind = media[low]
        elif low in deleted:
            kind = "recall"
        elif "attached" in low:
            am = _ATTACHED.search(text.strip())
            if am:
                kind = _EXT_KIND.get((am.group(1) or am.group(3) or "").lower(), "file")
        if text.endswith(edited):
            text = text[: -len(edited)].rstrip()
        sender = sender.strip()
        sender = normalize_phone(sender) or sender  # one sender for every way a number is written
        if kind == "text" and "@" in text:
            ments, at_all = mentions_in(text)
            add(sender, sender, ts, kind, text, ments, at_all)
        else:
            add(sender, sender, ts, kind, text)

    carry = ""
    line_base = 1
    first = True
    for chunk in _chunks(path, enc):
        text = carry + _clean_keep_lrm(chunk)
        found = list(HEADER_M.finditer(text))
        if first and (not found or found[0].start() > 0):
            lead = text[: found[0].start()] if found else text
            for k, ln in enumerate(lead.split("\n")):
                if ln.strip():
                    run.skip(path, f"第 {line_base + k} 行", "文件开头不是消息行")
            if not found:
                line_base += text.count("\n")
                continue
        first = False
        if not found:
            carry = text
            continue
        for j in range(len(found) - 1):
            m, nxt = found[j], found[j + 1]
            body = text[m.end() : nxt.start() - 1]
            one(m.groups(), body, lambda m=m, t=text, b=line_base: b + t.count("\n", 0, m.start()))
        last = found[-1]
        line_base += text.count("\n", 0, last.start())
        carry = text[last.start() :]
    if carry:
        m = HEADER_M.match(carry)
        if m:
            body = carry[m.end() :]
            one(m.groups(), body[:-1] if body.endswith("\n") else body, lambda: line_base)
    sink.flush()
    if not run.date_order and not certain:
        zh = {"dmy": "日/月/年", "mdy": "月/日/年"}[order]
        run.warn(
            f"{inp.display}：日期的日、月顺序无法从数据判断，按地区习惯取“{zh}”；如有误请用 --date-order 指定"
        )
    return sink.count, enc


# ── vectorised reader ────────────────────────────────────────────────────────────────────────────
# The same rules as whatsapp_txt_python, run by DuckDB over all lines at once: lines are grouped into
# messages with a running count of header lines, headers are split with the same pattern (RE2 accepts
# it), times are built in SQL. Python only cleans invisible characters chunk by chunk and infers the
# day/month order from the distinct dates.
_ATT_RE2 = r"<attached: [^>]*\.([A-Za-z0-9]+)>|^(\S+\.([A-Za-z0-9]+)) \(file attached\)"
_GROUPS = [
    "a1",
    "b1",
    "c1",
    "pre1",
    "h1",
    "m1",
    "s1",
    "post1",
    "a2",
    "b2",
    "c2",
    "pre2",
    "h2",
    "m2",
    "s2",
    "post2",
    "rest",
]


#: the header prefix alone ("date, time - " / "[date, time] "): without capture groups RE2 finds its
#: end with the DFA, an order of magnitude cheaper than extracting the groups on every line
_PREFIX_RE2 = "^\u200e?(?:\\[" + _DATE + r",? " + _TIME_NC + r"\] |" + _DATE + r",? " + _TIME_NC + r" [-–] )"
#: ... and with its groups (a1 … post2, as HEADER), applied once per distinct prefix
_PREFIX_GROUPS_RE2 = "^\u200e?(?:\\[" + _DATE + r",? " + _TIME + r"\] |" + _DATE + r",? " + _TIME + r" [-–] )"
_PREFIX_GROUPS = _GROUPS[:-1]
#: invisible characters in UTF-8 bytes (as _INVIS_NO_LRM: U+200E stays, U+202F/U+00A0 become spaces)
_INVIS_BYTES = tuple((chr(k).encode("utf-8"), (v or "").encode("utf-8")) for k, v in _INVIS_NO_LRM.items())


def _clean_bytes(data: bytes) -> bytes:
    """_clean_keep_lrm on UTF-8 bytes and newlines as text mode reads them; a substring test per
    character (a fast C scan) instead of a regex pass. Removing whole characters cannot form new ones."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    for a, b in _INVIS_BYTES:
        if a in data:
            data = data.replace(a, b)
    return data


def _byte_chunks(path: Path, enc: str, size: int = 1 << 22):
    """UTF-8 pieces of the file that end at a line end, newlines normalised like text mode does and
    invisible characters cleaned like _clean_keep_lrm (UTF-8 files are not decoded at all)."""
    if enc not in ("utf-8", "utf-8-sig"):
        for chunk in _chunks(path, enc, size):
            yield _clean_keep_lrm(chunk).encode("utf-8")
        return
    with open(path, "rb") as f:
        rest = b""
        while True:
            block = f.read(size)
            if not block:
                if rest:
                    yield _clean_bytes(rest)
                return
            block = rest + block
            cut = block.rfind(b"\n") + 1
            if cut == 0:  # old Mac line ends; a final \r may start a \r\n and waits for the next piece
                cut = block.rfind(b"\r", 0, len(block) - 1) + 1
            if cut == 0:
                rest = block
                continue
            rest = block[cut:]
            yield _clean_bytes(block[:cut])


def _lines_array(data: bytes):
    """The lines of a UTF-8 piece as an Arrow string array (zero-copy; each line keeps its "\\n")."""
    import numpy as np
    import pyarrow as pa

    buf = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(buf == 10) + 1
    if not len(ends) or ends[-1] != len(data):
        ends = np.append(ends, len(data))
    offsets = np.concatenate(([0], ends)).astype(np.int32 if len(data) < 2**31 else np.int64)
    typ = pa.string() if offsets.dtype == np.int32 else pa.large_string()
    return pa.Array.from_buffers(typ, len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def whatsapp_txt(run, inp) -> tuple[int, str]:
    import duckdb
    import numpy as np
    import pyarrow as pa

    path = inp.path
    enc = detect_encoding(path)
    db = run.db
    q = sql_str
    # every line with its header prefix ('' on continuation lines) and its message number: a running
    # count of header lines, carried from piece to piece (message 0 = lines before the first header)
    db.execute("CREATE OR REPLACE TEMP TABLE wa_l (ln BIGINT, line VARCHAR, pfx VARCHAR, msg_no BIGINT)")
    ln = 0
    msgs = 0
    try:
        for data in _byte_chunks(path, enc):
            if not data:
                continue
            lines = _lines_array(data)
            # the line numbers built from their buffer (pa.array of a numpy array imports pandas)
            nums = np.arange(ln + 1, ln + 1 + len(lines), dtype=np.int64)
            t = pa.table(
                {
                    "ln": pa.Array.from_buffers(pa.int64(), len(nums), [None, pa.py_buffer(nums)]),
                    "line": lines,
                }
            )
            db.register("wa_chunk", t)
            try:
                db.execute(
                    f"""
                    INSERT INTO wa_l
                    SELECT ln, line, pfx, {msgs} + sum((pfx <> '')::BIGINT) OVER (ORDER BY ln ROWS UNBOUNDED PRECEDING)
                    FROM (SELECT ln, rtrim(line, chr(10)) AS line, regexp_extract(line, {q(_PREFIX_RE2)}) AS pfx
                          FROM wa_chunk)
                    """
                )
            finally:
                db.unregister("wa_chunk")
            msgs = db.execute(f"SELECT coalesce(max(msg_no), {msgs}) FROM wa_l WHERE ln > {ln}").fetchall()[
                0
            ][0]
            ln += len(lines)
        lead = db.execute("SELECT ln FROM wa_l WHERE msg_no = 0 AND trim(line) <> '' ORDER BY ln").fetchall()
        # the date/time fields, parsed once per distinct header prefix (many messages share a minute)
        db.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE wa_px AS
            SELECT pfx, CASE WHEN x.a1 <> '' THEN x.a1 ELSE x.a2 END AS a, CASE WHEN x.a1 <> '' THEN x.b1 ELSE x.b2 END AS b,
                   CASE WHEN x.a1 <> '' THEN x.c1 ELSE x.c2 END AS c,
                   lower(replace(replace(trim(CASE WHEN x.a1 <> '' THEN coalesce(nullif(x.pre1, ''), x.post1)
                                                   ELSE coalesce(nullif(x.pre2, ''), x.post2) END), '.', ''), ' ', '')) AS ap,
                   CAST(CASE WHEN x.a1 <> '' THEN x.h1 ELSE x.h2 END AS INTEGER) AS hh,
                   CAST(CASE WHEN x.a1 <> '' THEN x.m1 ELSE x.m2 END AS INTEGER) AS mi,
                   CAST(coalesce(nullif(CASE WHEN x.a1 <> '' THEN x.s1 ELSE x.s2 END, ''), '0') AS INTEGER) AS ss
            FROM (SELECT pfx, regexp_extract(pfx, {q(_PREFIX_GROUPS_RE2)}, {_PREFIX_GROUPS!r}) AS x
                  FROM (SELECT DISTINCT pfx FROM wa_l WHERE pfx <> ''))
            """
        )
        dates = {tuple(r) for r in db.execute("SELECT DISTINCT a, b, c FROM wa_px").fetchall()}
    except duckdb.Error as e:
        m = str(e).split("\n")[0][:300]
        raise ImportFormatError(
            f"WhatsApp 文件无法读取：{m}", f"cannot read the WhatsApp file: {m}", path=str(path)
        ) from None
    if not dates:
        raise ImportFormatError(
            "没有找到 WhatsApp 消息行（“日期, 时间 - 姓名: 内容”）",
            "no WhatsApp message header lines found",
            path=str(path),
            where="第 1 行",
        )
    guessed, certain = infer_order(dates)
    order = run.date_order or guessed
    y, mo, d = {"ymd": ("a", "b", "c"), "dmy": ("c", "b", "a"), "mdy": ("c", "a", "b")}[order]
    name = _chat_name(path, inp.hint, inp.display)
    for (lead_ln,) in lead:
        run.skip(path, f"第 {lead_ln} 行", "文件开头不是消息行")
    temp_table(db, "wa_media", {"k": list(MEDIA), "kind": list(MEDIA.values())})
    temp_table(db, "wa_ext", {"e": list(_EXT_KIND), "kind": list(_EXT_KIND.values())})
    deleted = ", ".join(q(x) for x in DELETED)
    base = run.seq
    sql = f"""
        INSERT INTO raw
        WITH body AS (
          SELECT msg_no, string_agg(line, chr(10) ORDER BY ln) AS body FROM wa_l WHERE pfx = '' AND msg_no > 0 GROUP BY msg_no),
        wa_t AS (
          SELECT pfx, timezone({q(run.tzname)}, try(make_timestamp(
                   CASE WHEN length({y}) <= 2 THEN CAST({y} AS BIGINT) + 2000 ELSE CAST({y} AS BIGINT) END,
                   CAST({mo} AS BIGINT), CAST({d} AS BIGINT),
                   CASE WHEN (ap IN ('pm', '下午', '晚上') OR (ap = '中午' AND hh < 11)) AND hh < 12 THEN hh + 12
                        WHEN ap IN ('am', '上午', '凌晨', '早上') AND hh = 12 THEN 0 ELSE hh END,
                   mi, CAST(ss AS DOUBLE)))) AS ts
          FROM wa_px),
        f AS (
          SELECT h.msg_no, h.ln AS first_ln, substr(h.line, length(h.pfx) + 1) AS rest, b.body, wa_t.ts
          FROM wa_l h JOIN wa_t ON wa_t.pfx = h.pfx LEFT JOIN body b ON b.msg_no = h.msg_no
          WHERE h.pfx <> ''),
        t AS (
          SELECT *, contains(rest, '\u200e') AS lrm,
                 replace(rest, '\u200e', '') || CASE WHEN body IS NULL THEN '' ELSE chr(10) || replace(body, '\u200e', '') END AS fulltext
          FROM f),
        t2 AS (
          SELECT *, strpos(fulltext, ': ') AS pos
          FROM t),
        s AS (
          SELECT *,
                 CASE WHEN pos > 0 THEN left(fulltext, pos - 1)
                      WHEN suffix(fulltext, ':') AND NOT contains(fulltext, chr(10)) THEN left(fulltext, length(fulltext) - 1) END AS snd,
                 CASE WHEN pos > 0 THEN substr(fulltext, pos + 2) ELSE '' END AS txt
          FROM t2),
        k AS (
          SELECT *, (snd IS NULL OR contains(snd, chr(10)) OR length(snd) > 60 OR (lrm AND regexp_matches(txt, {q(SYSTEM_TEXT.pattern)}))
                     OR regexp_matches(snd, {q(SYSTEM_HINTS.pattern)}) OR contains(snd, '"') OR contains(snd, '“')) AS is_sys,
                 -- lower-cased only where a placeholder could match (lower/trim on every text is costly)
                 CASE WHEN regexp_matches(txt, {q(_low_candidate())}) THEN lower(trim(txt, ' ' || chr(10) || chr(9))) END AS low,
                 -- "attached" is a literal of _ATT_RE2, so this guard (on txt, not low) changes nothing
                 CASE WHEN contains(txt, 'attached') AND regexp_matches(trim(txt), {q(_ATT_RE2)})
                      THEN lower(coalesce(nullif(regexp_extract(trim(txt), {q(_ATT_RE2)}, 1), ''),
                                          regexp_extract(trim(txt), {q(_ATT_RE2)}, 3))) END AS att
          FROM s),
        c AS (
          SELECT k.*, CASE
                   WHEN is_sys THEN 'system'
                   WHEN wm.kind IS NOT NULL THEN wm.kind
                   WHEN low IN ({deleted}) THEN 'recall'
                   WHEN att IS NOT NULL THEN coalesce(we.kind, 'file')
                   ELSE 'text' END AS kind,
                 CASE WHEN contains(txt, '<This message was edited>')
                      THEN regexp_replace(txt, '\\s*<This message was edited>$', '') ELSE txt END AS txt2
          FROM k LEFT JOIN wa_media wm ON wm.k = k.low LEFT JOIN wa_ext we ON we.e = k.att)
        SELECT NULL, NULL, 'whatsapp_txt', 'whatsapp', {q(name)}, {q(name)},
               CASE WHEN is_sys THEN NULL ELSE trim(snd) END, CASE WHEN is_sys THEN NULL ELSE trim(snd) END, ts, kind,
               CASE WHEN is_sys THEN fulltext WHEN kind = 'text' THEN txt2 ELSE txt END, NULL, NULL,
               CASE WHEN kind = 'text' AND contains(txt2, '@') THEN {mentions_sql("txt2")} ELSE []::VARCHAR[] END,
               kind = 'text' AND (contains(txt2, '@所有人') OR contains(txt2, '@all') OR contains(txt2, '@All')
                                  OR contains(txt2, '@全体成员')),
               false, {base} + msg_no,
               CASE WHEN ts IS NULL THEN '日期或时间无效（按 {order} 解读）' END || '@' || first_ln,
               {run.file_no}
        FROM c
    """
    try:
        db.execute(sql)
    except duckdb.Error as e:
        db.execute(f"DELETE FROM raw WHERE seq > {base}")
        m = str(e).split("\n")[0][:300]
        raise ImportFormatError(
            f"WhatsApp 文件无法读取：{m}", f"cannot read the WhatsApp file: {m}", path=str(path)
        ) from None
    finally:
        db.execute("DROP TABLE IF EXISTS wa_media")
        db.execute("DROP TABLE IF EXISTS wa_ext")
        db.execute("DROP TABLE IF EXISTS wa_l; DROP TABLE IF EXISTS wa_px")
    _normalize_phone_senders(db, base)
    n_rows, max_seq = db.execute(f"SELECT count(*), max(seq) FROM raw WHERE seq > {base}").fetchall()[0]
    bad = db.execute(f"SELECT bad FROM raw WHERE seq > {base} AND bad IS NOT NULL ORDER BY seq").fetchall()
    for (b,) in bad:
        reason, _, line = b.rpartition("@")
        run.skip(path, f"第 {line} 行", reason)
    if bad:
        db.execute(f"DELETE FROM raw WHERE seq > {base} AND bad IS NOT NULL")
    run.seq = (max_seq or base) + 1
    if not run.date_order and not certain:
        zh = {"dmy": "日/月/年", "mdy": "月/日/年"}[order]
        run.warn(
            f"{inp.display}：日期的日、月顺序无法从数据判断，按地区习惯取“{zh}”；如有误请用 --date-order 指定"
        )
    return n_rows - len(bad), enc


@functools.cache
def _low_candidate() -> str:
    """A regex of the texts that can equal a media placeholder or a "deleted" text once trimmed and
    lower-cased: their first character lower-cases to the first character of one of them."""
    firsts = {k[0] for k in (*MEDIA, *DELETED)}
    chars = {
        c for c in map(chr, range(0x10000)) if 0xD800 > ord(c) or ord(c) > 0xDFFF if c.lower()[:1] in firsts
    }
    chars |= firsts | {"\u0130", "\u212a"}  # İ and the Kelvin sign lower-case to ASCII letters
    cls = "".join("\\" + c if c in "\\]^-[" else c for c in sorted(chars))
    return "^[ \n\t]*[" + cls + "]"


def _normalize_phone_senders(db, base: int) -> None:
    """Phone-number senders in one canonical form (common.normalize_phone), so a number written
    ``+86 138 0013 8000`` in one export and ``‪+86 138-0013-8000‬`` in another is one sender; done on the
    distinct senders (a few thousand at most), then applied with one UPDATE."""
    senders = db.execute(
        f"SELECT DISTINCT sender_key FROM raw WHERE seq > {base} AND sender_key IS NOT NULL"
    ).fetchall()
    phones = {s: p for (s,) in senders if (p := normalize_phone(s)) is not None and p != s}
    if not phones:
        return
    temp_table(db, "wa_phones", {"s": list(phones), "p": list(phones.values())})
    try:
        db.execute(
            f"UPDATE raw SET sender_key = w.p, sender_name = w.p FROM wa_phones w"
            f" WHERE raw.seq > {base} AND raw.sender_key = w.s"
        )
    finally:
        db.execute("DROP TABLE IF EXISTS wa_phones")
