"""Shared pieces of the importers: stable ids, encoding detection, the intermediate ("raw") message
record every chat parser produces, and small text helpers (mentions, @all).

Parsers never resolve people or groups and never write the lake: they emit raw rows (export chat key,
export sender key, UTC instant, kind, text …) through :class:`RawSink`; the import run
(:mod:`zhijian.ingest.run`) resolves ids and writes one lake batch, vectorised in DuckDB.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import re
import sys
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from zhijian.errors import ImportFormatError
from zhijian.storable import repaired

#: Rows per record batch handed to the staging database (memory stays flat in file size).
BATCH_ROWS = 50_000

#: The intermediate record of a chat message, before people/groups are resolved.
#: ``message_id`` is kept verbatim (canonical files); ``native_id`` is the export's own id (hashed with
#: platform and chat); without either, the id is a hash of the record's content plus its ordinal.
RAW = pa.schema(
    [
        pa.field("message_id", pa.string()),
        pa.field("native_id", pa.string()),
        pa.field("source", pa.string()),
        pa.field("platform", pa.string()),
        pa.field("chat_key", pa.string()),
        pa.field("chat_name", pa.string()),
        pa.field("sender_key", pa.string()),
        pa.field("sender_name", pa.string()),
        pa.field("ts", pa.timestamp("us", tz="UTC")),
        pa.field("kind", pa.string()),
        pa.field("text", pa.string()),
        pa.field("reply_native", pa.string()),  # native id of the replied-to message
        pa.field("reply_to", pa.string()),  # a lake message_id (canonical files)
        pa.field("mentions", pa.list_(pa.string())),  # sender keys or display names
        pa.field("at_all", pa.bool_()),
        pa.field("forwarded", pa.bool_()),
        pa.field("seq", pa.int64()),
    ]
)


def stable_hash(*parts: Any, n: int = 24) -> str:
    """A short, stable hex digest of the parts (md5: not for security, for identity)."""
    h = hashlib.md5("\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8"))
    return h.hexdigest()[:n]


def group_id_for(platform: str, key: str) -> str:
    return "G-" + stable_hash(platform, key, n=12)


def person_id_for(*parts: Any) -> str:
    return "P-" + stable_hash(*parts, n=12)


# ── encodings ─────────────────────────────────────────────────────────────────────────────────────
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8（带 BOM）", "gb18030": "GB18030/GBK"}


_ENC_CACHE: dict[tuple[str, int, int, bool], str] = {}


def detect_encoding(path: Path, *, full: bool = True) -> str:
    """Memoised :func:`_detect_encoding` (sniffing and reading the same file decode it once)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns, full)
    if key not in _ENC_CACHE:
        if len(_ENC_CACHE) > 256:
            _ENC_CACHE.clear()
        _ENC_CACHE[key] = _detect_encoding(path, full=full)
    return _ENC_CACHE[key]


def _detect_encoding(path: Path, *, full: bool = True) -> str:
    """'utf-8-sig' (BOM), 'utf-8' (strict decode of the whole file succeeds) or 'gb18030' (Excel/WPS
    re-saves on Chinese Windows). Anything else is an :class:`ImportFormatError` naming the line."""
    with open(path, "rb") as f:
        head = f.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ImportFormatError(
                "文件为 UTF-16 编码，请另存为 UTF-8 或 GBK",
                "file is UTF-16; save it as UTF-8 or GBK",
                path=str(path),
                where="第 1 行",
            )
        f.seek(0)
        for enc in ("utf-8", "gb18030"):
            f.seek(0)
            dec = codecs.getincrementaldecoder(enc)("strict")
            line = 1
            ok = True
            read = 0
            while True:
                chunk = f.read(1 << 22)
                if not chunk:
                    try:
                        dec.decode(b"", final=True)
                    except UnicodeDecodeError:
                        ok = False
                    break
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError as e:
                    ok = False
                    bad_line = line + chunk[: e.start].count(b"\n")
                    if enc == "gb18030":
                        raise ImportFormatError(
                            f"无法识别文件编码（第 {bad_line} 行既不是 UTF-8 也不是 GBK/GB18030）",
                            f"unknown text encoding at line {bad_line}: expected UTF-8 or GBK/GB18030",
                            path=str(path),
                            where=f"第 {bad_line} 行",
                        ) from None
                    break
                line += chunk.count(b"\n")
                read += len(chunk)
                if not full and read >= 1 << 22:
                    break
            if ok:
                return enc
    return "gb18030"  # pragma: no cover - loop always returns or raises


def open_text(path: Path, encoding: str, newline: str | None = None):
    return open(path, encoding=encoding, errors="strict", newline=newline)


def transcode_to_utf8(src: Path, encoding: str, dest: Path) -> Path:
    """Stream a GB18030 (or BOM) file into a UTF-8 copy for readers that only speak UTF-8."""
    with open(src, encoding=encoding, newline="") as fi, open(dest, "w", encoding="utf-8", newline="") as fo:
        while True:
            s = fi.read(1 << 22)
            if not s:
                break
            fo.write(s)
    return dest


def duckdb_threads(db) -> int:
    """The threads a DuckDB connection works with (how many pieces a large JSON array is read from)."""
    return int(db.execute("SELECT current_setting('threads')").fetchall()[0][0])


def utf8_mapped(run, path: Path, enc: str) -> tuple[Path, Any] | None:
    """The JSON file ``path`` in UTF-8 (a GB18030 one transcoded into the run's work folder) and its
    bytes mapped read-only, for the readers that cut it by bytes; None when it is empty or cannot be
    mapped."""
    import mmap
    import os

    src = path
    if enc == "gb18030":
        src = transcode_to_utf8(path, enc, run.work / f"utf8-{len(run.summary.files)}.json")
    try:
        with open(src, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                return None
            return src, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None


# ── time ──────────────────────────────────────────────────────────────────────────────────────────
_DT_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y年%m月%d日",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
)


def parse_local(s: str) -> datetime | None:
    """A naive local datetime from the usual export/spreadsheet forms (incl. Excel's ``2024/10/4 11:42``)."""
    s = (s or "").strip()
    if not s:
        return None
    try:
        return (
            datetime.fromisoformat(s).replace(tzinfo=None)
            if "+" not in s[10:] and not s.endswith("Z")
            else None
        )
    except ValueError:
        pass
    for fmt in _DT_FORMATS:
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    return None


def parse_instant(s: str, tz: ZoneInfo) -> datetime | None:
    """An aware UTC datetime from ISO text with an offset, or naive text read in ``tz``."""
    s = (s or "").strip()
    if not s:
        return None
    if s.endswith("Z") or re.search(r"[+-][0-9][0-9]:?[0-9][0-9]$", s[10:]):
        try:
            return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            return None
    d = parse_local(s)
    if d is None:
        return None
    return d.replace(tzinfo=tz).astimezone(UTC)


def from_epoch(value: Any, unit: str = "s") -> datetime | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if unit == "ms":
        v /= 1000.0
    if not (0 < v < 7_000_000_000):
        return None
    return datetime.fromtimestamp(v, tz=UTC)


# ── text helpers ──────────────────────────────────────────────────────────────────────────────────
AT_ALL_TOKENS = ("@所有人", "@all", "@All", "@全体成员")
_MENTION = re.compile("@([^@\\s\u2005\u2006\u200b,，:：]{1,32})(?:\u2005|\u2006| |$)", re.M)
INVISIBLE = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2068\u2069\ufeff"), None)


def mentions_in(text: str | None) -> tuple[list[str], bool]:
    """(@names, at_all) from WeChat-style text: ``@名字`` ended by U+2005, a space or end of line."""
    if not text or "@" not in text:
        return [], False
    at_all = any(t in text for t in AT_ALL_TOKENS)
    names = [m for m in _MENTION.findall(text) if m not in ("所有人", "all", "All", "全体成员")]
    return list(dict.fromkeys(names)), at_all


@cache
def python_space_chars() -> str:
    """The characters Python's ``\\s`` matches (str patterns: every character ``isspace``, which
    ``str.strip`` strips), for RE2 character classes: RE2's ``\\s`` is ASCII whitespace only."""
    return "".join(filter(str.isspace, map(chr, range(0x10000))))


def py_strip_sql(x: str) -> str:
    """SQL for Python's ``str.strip`` of ``x`` (every :func:`python_space_chars` character; DuckDB's
    ``trim(x)`` strips spaces only). ``trim(x, characters)`` costs ten times a plain one per row, so
    it runs only where the first or the last character is such a space. (Not ``unicode(x) IN (…)``:
    DuckDB plans a long IN list as a join, and the insert then no longer keeps the file order.)"""
    sp = sql_str(python_space_chars())
    return (
        f"CASE WHEN {x} <> '' AND (contains({sp}, left({x}, 1)) OR contains({sp}, right({x}, 1)))"
        f" THEN trim({x}, {sp}) ELSE {x} END"
    )


@cache
def mention_re2(group: bool = True) -> str:
    """:data:`_MENTION` for RE2 (DuckDB), Python's ``\\s`` written out (:func:`python_space_chars`);
    ``group=False``: the same without the name's group."""
    name = "[^@" + python_space_chars() + "\u2005\u2006\u200b,，:：]{1,32}"
    return "(?m)@" + (f"({name})" if group else name) + "(?:\u2005|\u2006| |$)"


#: what ends a mention after its name (:func:`mention_re2`): none of these can end the name itself
_MENTION_END = "\u2005\u2006 "


def mentions_sql(col: str) -> str:
    """DuckDB SQL for ``mentions_in(col)[0]``: the @names in order of first appearance, without the
    @all tokens (``list_distinct`` does not keep the order, so a fold appends each name not yet seen).

    The whole matches are extracted, not the name group: without a group RE2 finds a match's bounds
    with its DFA instead of the slower submatch engines (1M WeChat messages, 10% with @: 0.15 -> 0.08
    s). The name is the match without its @ and its end (the name's class excludes the end
    characters). They are extracted once: a lambda that refers to them again
    (``list_position(found, x)``) would run the extraction again for every name (0.22 s of 1.2 s)."""
    whole = sql_str(mention_re2(group=False))
    found = (
        f"list_filter(list_transform(regexp_extract_all({col}, {whole}, 0),"
        f" lambda m_: rtrim(substr(m_, 2), {sql_str(_MENTION_END)})),"
        " lambda m_: m_ NOT IN ('所有人', 'all', 'All', '全体成员'))"
    )
    return (
        f"list_reduce({found}, lambda acc_, x_: CASE WHEN list_contains(acc_, x_) THEN acc_"
        " ELSE list_append(acc_, x_) END, []::VARCHAR[])"
    )


# ── phone numbers as senders (WhatsApp shows unsaved contacts by number) ──────────────────────────
#: full-width digits/signs (Chinese input methods) and the dashes phones print (iOS: U+2011) -> ASCII
_PHONE_MAP_FROM = "＋０１２３４５６７８９（）－\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00a0\u202f\u2007"
_PHONE_MAP_TO = "+0123456789()--------   "
_PHONE_TABLE = {**str.maketrans(_PHONE_MAP_FROM, _PHONE_MAP_TO), **INVISIBLE, 0x200B: None}
#: after mapping: an optional +, then digits with spaces, brackets, dashes, dots or slashes between
PHONE_RE = r"\+?[0-9][0-9 ()./-]{5,}[0-9]"
_PHONE = re.compile(PHONE_RE)


def normalize_phone(s: str | None) -> str | None:
    """The canonical form of a phone number written as a sender or roster alias, else None.

    ``+86 138 0013 8000``, ``+86 138-0013-8000``, ``‪+86 138 0013 8000‬`` (bidi marks), ``008613800138000``,
    ``8613800138000`` and ``138 0013 8000`` all become ``+8613800138000``: an 11-digit Chinese mobile
    number (1[3-9]…) without a country code gets +86; ``00`` is the international prefix. Other numbers
    keep their digits (with + when written with one). 7–15 digits (ITU-T E.164)."""
    if not s:
        return None
    t = s.translate(_PHONE_TABLE).strip()
    if not _PHONE.fullmatch(t):
        return None
    digits = "".join(c for c in t if "0" <= c <= "9")
    if not 7 <= len(digits) <= 15:
        return None
    if t.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789":
        return "+86" + digits
    if len(digits) == 13 and digits.startswith("861") and digits[3] in "3456789":
        return "+" + digits
    return digits


def _repaired_values(values: tuple) -> tuple[list, int]:
    """A column of strings (or lists of strings) with lone surrogates replaced (:func:`repaired`),
    and how many values were repaired."""
    out, k = [], 0
    for v in values:
        if isinstance(v, str):
            if (r := repaired(v)) is not None:
                v, k = r, k + 1
        elif isinstance(v, list | tuple):
            fixed, j = _repaired_values(tuple(v))
            v, k = (fixed, k + 1) if j else (v, k)
        out.append(v)
    return out, k


class RawSink:
    """Collects raw message rows and hands them on in record batches of BATCH_ROWS (memory stays flat
    in file size). :meth:`add` takes keyword arguments named after RAW's fields; :meth:`row` is the
    positional fast path for the readers' inner loops."""

    _NAMES = tuple(RAW.names)
    #: the fields :meth:`row` takes, in order (source, platform and seq are filled in)
    ROW_FIELDS = (
        "message_id",
        "native_id",
        "chat_key",
        "chat_name",
        "sender_key",
        "sender_name",
        "ts",
        "kind",
        "text",
        "reply_native",
        "reply_to",
        "mentions",
        "at_all",
        "forwarded",
    )

    def __init__(self, emit, source: str, platform: str):
        self._emit = emit
        self.source = source
        self.platform = platform
        self._done = 0  # rows handed on
        self._rows: list[tuple] = []

    @property
    def count(self) -> int:
        """Rows added so far (handed on or buffered)."""
        return self._done + len(self._rows)

    def add(self, **row: Any) -> None:
        get = row.get
        self._rows.append(tuple(get(n) for n in self.ROW_FIELDS))
        if len(self._rows) >= BATCH_ROWS:
            self.flush()

    def row(self, *fields: Any) -> None:
        """One row: the 14 :attr:`ROW_FIELDS` in order. ``ts`` is an aware datetime or, faster, integer
        microseconds since the epoch (one form per file)."""
        self._rows.append(fields)
        if len(self._rows) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        rows = self._rows
        if not rows:
            return
        self._rows = []
        n = len(rows)
        cols = list(zip(*rows, strict=True))
        n_repaired = 0
        try:
            arrays = self._arrays(cols, n)
        except UnicodeEncodeError:  # a lone surrogate (a JSON escape of half an emoji): repaired, counted
            for i, c in enumerate(cols):  # (only strings and lists of them are touched)
                cols[i], k = _repaired_values(c)
                n_repaired += k
            arrays = self._arrays(cols, n)
        self._done += n
        self._emit(pa.Table.from_arrays(arrays, schema=RAW), repaired=n_repaired)

    def _arrays(self, cols: list, n: int) -> list:
        f = RAW.field
        arrays = [
            pa.array(cols[0], f("message_id").type),
            pa.array(cols[1], f("native_id").type),
            pa.repeat(self.source, n),
            pa.repeat(self.platform, n),
        ]
        arrays += [pa.array(c, RAW.field(i + 4).type) for i, c in enumerate(cols[2:])]
        arrays.append(pa.array(np.arange(self._done, self._done + n, dtype=np.int64)))
        return arrays


def number_rows(db, base: int) -> None:
    """Number the staging rows just inserted with ``seq`` NULL ``base + 1, base + 2, …`` in file order.

    For readers that insert straight from DuckDB's read_csv/read_json: ``row_number() OVER ()`` in the
    insert would make the whole pipeline, parsing included, single-threaded. Such an insert is a batch
    insert: DuckDB appends the rows in source order (``preserve_insertion_order``, on by default and set
    by the run), so ``rowid`` follows the file and the rows of one insert get consecutive rowids. Checked
    here; if they were not consecutive, the rank of the rowid numbers them (same order, a sort instead of
    an addition)."""
    lo, hi, n = db.execute("SELECT min(rowid), max(rowid), count(*) FROM raw WHERE seq IS NULL").fetchall()[0]
    if not n:
        return
    if hi - lo + 1 == n:
        db.execute(f"UPDATE raw SET seq = rowid + {base + 1 - lo} WHERE seq IS NULL")
    else:  # pragma: no cover - not seen with DuckDB 2.0; the numbering never depends on it
        db.execute(
            "UPDATE raw SET seq = k.seq"
            f" FROM (SELECT rowid AS rid, {base} + row_number() OVER (ORDER BY rowid) AS seq"
            " FROM raw WHERE seq IS NULL) k WHERE raw.rowid = k.rid"
        )


#: GLOB of a local time ``YYYY-MM-DD HH:MM`` (append ``":" + DIGIT * 2`` for the seconds), for the
#: vectorised readers' SQL: DuckDB matches such a GLOB several times faster than RE2 a full-match
#: regex (the generic reader's times of 1M records: 0.19 -> 0.11 s)
DIGIT = "[0-9]"
MINUTES_GLOB = f"{DIGIT * 4}-{DIGIT * 2}-{DIGIT * 2} {DIGIT * 2}:{DIGIT * 2}"
#: A local time as Excel and WPS write it when they re-save a CSV file (``2024/5/6 9:05``, seconds
#: optional), for the vectorised readers' SQL: the RE2 pattern and DuckDB's strptime formats, which
#: read it as :func:`parse_local` does (``%Y/%m/%d %H:%M[:%S]``)
EXCEL_TIME_RE2 = "'[0-9]{4}/[0-9]{1,2}/[0-9]{1,2} [0-9]{1,2}:[0-9]{2}(:[0-9]{2})?'"
EXCEL_TIME_FORMATS = "['%Y/%m/%d %H:%M:%S', '%Y/%m/%d %H:%M']"


def read_csv_sql(path: Path, delim: str = ",") -> str:
    """DuckDB's ``read_csv`` of a UTF-8 CSV file as zhijian's readers read one: the header, every
    column as text, RFC 4180 quoting, strict. With 16 MiB buffers: with DuckDB's default ones each
    thread crosses more buffer boundaries (132 MB PyWxDump CSV, 2 threads: the read 0.27 -> 0.22 s,
    0.48 -> 0.41 CPU-s; 8 MiB is as slow as the default, 64 MiB no faster). Such an insert must be
    numbered in its own transaction (:func:`staged_insert`)."""
    return (
        f"read_csv({sql_str(str(path))}, header=true, all_varchar=true, delim={sql_str(delim)}, quote='\"',"
        " escape='\"', strict_mode=true, buffer_size=16777216)"
    )


@contextmanager
def staged_insert(db):
    """A vectorised reader's INSERT into the staging table and its numbering
    (:func:`number_rows`) in one transaction, rolled back whole when a statement in it fails (or the
    block raises). The first UPDATE committed on its own after a large parallel insert can cost far
    more than the update itself: DuckDB then reorganises the insert's row groups (1M PyWxDump
    records read with 16 MiB buffers: 0.55 s, against 0.02 s on the transaction's own rows). Row ids
    inside the transaction are its own, consecutive in file order; :func:`number_rows` numbers from
    their minimum."""
    db.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def sql_str(v: str) -> str:
    """A SQL string literal of ``v`` (quotes doubled)."""
    return "'" + v.replace("'", "''") + "'"


def temp_table(db, name: str, columns: dict[str, list], types: dict[str, str] | None = None) -> None:
    """A temporary table from Python lists of equal length, passed as list parameters; each column
    VARCHAR unless ``types`` names another SQL type. (Not through pyarrow: any of its conversions,
    of Python objects or numpy arrays, imports pandas: 0.25-0.4 s that an import does not need.)"""
    cols = list(columns)
    types = types or {}
    db.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT "
        + ", ".join(f"unnest(${i + 1}::{types.get(c, 'VARCHAR')}[]) AS {c}" for i, c in enumerate(cols)),
        [columns[c] for c in cols],
    )


class _LeaveToPython(Exception):
    """Raised inside :func:`staged_insert` to roll a vectorised read back for the Python reader."""


def csv_vectorised(run, path: Path, enc: str, header: list[str], select, delim: str = ",") -> int | None:
    """Read a CSV export with DuckDB's reader and map it in SQL: ``select(col)`` is the SELECT over
    ``src`` (the file, every column text; ``col(name)`` is the SQL of a column, NULL when the file
    has none) that yields the staging columns, with ``bad`` non-NULL for a record the SQL cannot map
    exactly as the Python reader does. Returns the records staged, or None (nothing left staged) when
    the Python reader must read the file: one such record, a blank header name or one named twice,
    a header DuckDB's reader names otherwise than ``header`` (Python's reader, white space stripped),
    a file DuckDB's reader rejects (bytes that are not UTF-8 after the encoding was decided, quoting
    Python's reader takes, a record with more or fewer fields than the header)."""
    import duckdb

    if len(set(header)) != len(header) or "" in header:
        return None
    src = path
    if enc == "gb18030":
        src = transcode_to_utf8(path, enc, run.work / f"utf8-{len(run.summary.files)}.csv")

    def col(name: str) -> str:
        return 's."' + name.replace('"', '""') + '"' if name in header else "NULL::VARCHAR"

    reader = read_csv_sql(src, delim)
    try:
        if [r[0] for r in run.db.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()] != header:
            return None
    except duckdb.Error:
        return None
    return insert_mapped(run, f"INSERT INTO raw WITH src AS (SELECT * FROM {reader}) " + select(col))


def insert_mapped(run, sql: str) -> int | None:
    """Run a vectorised reader's INSERT ``sql`` into the staging table and number its rows, all or
    nothing (:func:`staged_insert`): the records staged, or None, with nothing left staged, when
    DuckDB fails on the file or one record is marked for the Python reader (``bad`` set)."""
    import duckdb

    db = run.db
    base = run.seq
    try:
        with staged_insert(db):
            db.execute(sql)
            if db.execute("SELECT count(*) FROM raw WHERE seq IS NULL AND bad IS NOT NULL").fetchall()[0][0]:
                raise _LeaveToPython
            number_rows(db, base)
    except (duckdb.Error, _LeaveToPython):
        return None
    n_rows = db.execute(f"SELECT count(*) FROM raw WHERE seq > {base}").fetchall()[0][0]
    run.seq = base + n_rows + 1
    return n_rows


def mention_cols_sql(kind: str, text: str) -> str:
    """The staging columns mentions, at_all and forwarded, as :func:`mentions_in` gives them for a
    text message (none for another kind)."""
    return (
        f"CASE WHEN {kind} = 'text' AND contains({text}, '@') THEN {mentions_sql(text)} ELSE []::VARCHAR[] END,"
        f" CASE WHEN {kind} = 'text' AND contains({text}, '@') THEN contains({text}, '@所有人')"
        f" OR contains({text}, '@all') OR contains({text}, '@All') OR contains({text}, '@全体成员') ELSE false END,"
        f" {kind} = 'forward'"
    )


# ── vectorised readers: SQL over DuckDB's JSON fragments, Python for the odd records ─────────────
#: staging marker in ``bad``: the record's JSON is in ``text`` and :func:`convert_staged` maps it
STAGED_PY = "\x00python"


def json_fields_sql(fields: Sequence[str]) -> tuple[str, str, str]:
    """SQL to read only ``fields`` of JSON records, each as a JSON fragment (absent and null alike are
    NULL), packed in a struct ``s``, and to rebuild a record of them for :func:`convert_staged`:
    ``(columns, struct, record)`` for ``read_json(…, records=true, columns={columns})``,
    ``struct_pack(struct) AS s`` and ``json_object(record)``. DuckDB's reader costs per field it
    takes, present in the records or not, and much less than reading whole records."""
    columns = "{" + ", ".join(f"{sql_str(f)}: 'JSON'" for f in fields) + "}"
    struct = ", ".join(f'"{f}" := "{f}"' for f in fields)
    record = ", ".join(f'{sql_str(f)}, s."{f}"' for f in fields)
    return columns, struct, record


def json_kind_sql(x: str) -> str:
    """SQL: the JSON type of fragment ``x`` as json_type names it (NULL when absent or null in a
    json_transform struct). The fragments json_transform writes are minified and re-serialised, so the
    first character tells the type where json_type would parse every fragment again."""
    return (
        f"CASE WHEN {x} IS NULL THEN NULL ELSE CASE left({x}::VARCHAR, 1) WHEN '\"' THEN 'VARCHAR'"
        " WHEN '{' THEN 'OBJECT' WHEN '[' THEN 'ARRAY' WHEN 't' THEN 'BOOLEAN' WHEN 'f' THEN 'BOOLEAN'"
        " WHEN 'n' THEN 'NULL' ELSE 'NUMBER' END END"
    )


def json_text_sql(x: str) -> str:
    """SQL: the text of string fragment ``x`` (of another type: what ``->>`` gives); a string without
    a backslash is the text between its quotes. ``->>`` of a number, boolean, array or object is the
    fragment itself (DuckDB re-serialises what it reads as ``->>`` serialises; checked on fragments
    of every type in tests/test_ingest_wecom_vectorised.py), so only escaped strings are parsed."""
    return (
        f"CASE WHEN left({x}::VARCHAR, 1) <> '\"' THEN nullif({x}::VARCHAR, 'null')"
        f" WHEN contains({x}::VARCHAR, '\\') THEN {x} ->> '$'"
        f" ELSE substr({x}::VARCHAR, 2, length({x}::VARCHAR) - 2) END"
    )


_CONVERTED = pa.schema(
    [
        ("seq", pa.int64()),
        ("native_id", pa.string()),
        ("chat_key", pa.string()),
        ("chat_name", pa.string()),
        ("sender_key", pa.string()),
        ("sender_name", pa.string()),
        ("ts", pa.int64()),
        ("kind", pa.string()),
        ("text", pa.string()),
        ("reply_native", pa.string()),
        ("mentions", pa.list_(pa.string())),
        ("at_all", pa.bool_()),
        ("forwarded", pa.bool_()),
        ("bad", pa.string()),
    ]
)


#: the SQL types of :data:`_CONVERTED`'s columns other than VARCHAR (for :func:`temp_table`)
_CONVERTED_SQL = {
    "seq": "BIGINT",
    "ts": "BIGINT",
    "mentions": "VARCHAR[]",
    "at_all": "BOOLEAN",
    "forwarded": "BOOLEAN",
}
#: up to this many converted records per batch reach DuckDB as list parameters (:func:`temp_table`),
#: beyond it as an Arrow table: pyarrow's conversion is about 5x faster per record, but its first use
#: imports pandas (0.25 s, the list parameters of 20k records); most exports leave a few records to
#: Python, or none
STAGED_LIST_ROWS = 20_000


def convert_staged(run, base: int, convert, batch: int = 50_000, *, hi: int | None = None) -> None:
    """Map the staged records (rows after ``base``, up to ``hi`` if given) a vectorised reader's SQL
    left to Python — marked
    :data:`STAGED_PY`, their JSON in ``text`` — with ``convert(obj)``: the 14 :attr:`RawSink.ROW_FIELDS`
    (``ts`` in microseconds) or the reason to skip the record. In batches of ``batch`` records, each
    read in full before its update runs on the connection."""
    db = run.db
    marker = "'" + STAGED_PY + "'"
    upto = "" if hi is None else f" AND seq <= {int(hi)}"
    seqs = db.execute(
        f"SELECT seq FROM raw WHERE seq > {base}{upto} AND bad = {marker} ORDER BY seq"
    ).fetchnumpy()["seq"]
    loads = json.loads
    for k in range(0, len(seqs), batch):
        first, last = int(seqs[k]), int(seqs[min(k + batch, len(seqs)) - 1])
        rows = db.execute(
            f"SELECT seq, text FROM raw WHERE seq BETWEEN {first} AND {last} AND bad = {marker} ORDER BY seq"
        ).fetchall()
        out = []
        for seq, js in rows:
            try:
                r = convert(loads(js))
            except (ValueError, RecursionError) as e:
                r = convert(e)
            if isinstance(r, str):
                out.append((seq, *([None] * 9), None, False, False, r))
            else:
                _mid, nid, chat, name, frm, sname, ts, kind, text, rn, _rt, ments, at_all, fwd = r
                out.append((seq, nid, chat, name, frm, sname, ts, kind, text, rn, ments, at_all, fwd, None))
        arrow = len(out) > STAGED_LIST_ROWS
        if arrow:
            t = pa.Table.from_arrays(
                [pa.array(c, f.type) for c, f in zip(zip(*out, strict=True), _CONVERTED, strict=True)],
                schema=_CONVERTED,
            )
            db.register("_staged_batch", t)
        else:
            cols = zip(*out, strict=True)
            temp_table(
                db, "_staged_batch", dict(zip(_CONVERTED.names, map(list, cols), strict=True)), _CONVERTED_SQL
            )
        try:
            db.execute(
                "UPDATE raw SET native_id = u.native_id, chat_key = u.chat_key, chat_name = u.chat_name,"
                " sender_key = u.sender_key, sender_name = u.sender_name,"
                " ts = timezone('UTC', make_timestamp(u.ts)), kind = u.kind, text = u.text,"
                " reply_native = u.reply_native, mentions = u.mentions, at_all = u.at_all,"
                " forwarded = u.forwarded, bad = u.bad FROM _staged_batch u WHERE raw.seq = u.seq"
            )
        finally:
            if arrow:
                db.unregister("_staged_batch")
            else:
                db.execute("DROP TABLE IF EXISTS _staged_batch")


class NotUtf8(ImportFormatError):
    """DuckDB met bytes that are not UTF-8 (the encoding was decided on the first megabytes)."""


def read_with_encoding(read, run, path: Path) -> tuple[int, str]:
    """``read(run, path, enc)`` with the encoding decided on the first megabytes (a full strict decode
    of a large file costs a single-threaded pass). DuckDB's readers reject invalid UTF-8 themselves
    (``read`` raises :class:`NotUtf8`), and then the whole file decides."""
    enc = detect_encoding(path, full=False)
    if enc != "gb18030":
        try:
            return read(run, path, enc)
        except NotUtf8:
            pass
    return read(run, path, detect_encoding(path))


def staged_read_error(e: Exception, zh: str, en: str, path: Path) -> ImportFormatError:
    """The import error for a DuckDB reader's failure (its first line quoted); :class:`NotUtf8` when
    the bytes were not UTF-8, so :func:`read_with_encoding` retries with the whole file's encoding."""
    msg = str(e).split("\n")[0][:300]
    full = str(e).lower()
    err = NotUtf8 if "unicode" in full or "utf-8" in full or "utf8" in full else ImportFormatError
    return err(f"{zh}：{msg}", f"{en}: {msg}", path=str(path))


def finish_staged(run, path: Path, base: int, where) -> tuple[int, int]:
    """After a vectorised reader's insert (rows numbered ``base + 1 …``, problems in ``bad``): report
    the skipped records and delete them. The first ones the summary has room for are listed with
    ``where(ordinals) -> {ordinal: position text}``, the others counted by reason. Returns
    (rows staged, rows skipped)."""
    db = run.db
    n_rows = db.execute(f"SELECT count(*) FROM raw WHERE seq > {base}").fetchall()[0][0]
    bad = dict(
        db.execute(
            f"SELECT bad, count(*) FROM raw WHERE seq > {base} AND bad IS NOT NULL GROUP BY bad"
        ).fetchall()
    )
    n_bad = sum(bad.values())
    if bad:
        listed = db.execute(
            f"SELECT seq - {base}, bad FROM raw WHERE seq > {base} AND bad IS NOT NULL ORDER BY seq"
            f" LIMIT {run.listing_room()}"
        ).fetchall()
        at = where([k for k, _ in listed]) if listed else {}
        for k, reason in listed:
            run.skip(path, at[k], reason)
            bad[reason] -= 1
        for reason, n in bad.items():
            run.skip(path, "", reason, count=n)
        db.execute(f"DELETE FROM raw WHERE seq > {base} AND bad IS NOT NULL")
    return n_rows, n_bad


def record_lines(path: Path, enc: str, ordinals: list[int], *, csv_file: bool) -> dict[int, int]:
    """The physical line on which each record (1-based ordinal, blank lines not counted, as DuckDB's
    readers count them) starts: a CSV record may span lines (quoted newlines), a JSON Lines file may
    hold blank lines. Only called for skipped records (the bulk read numbers records, not lines); reads
    the file up to the last of them."""
    wanted = set(ordinals)
    top = max(wanted)
    out: dict[int, int] = {}
    try:
        if csv_file:
            # a long message is one field (raised here, where it is needed, not for every importer)
            csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
            with open_text(path, enc, newline="") as f:
                r = csv.reader(f)
                next(r, None)  # header
                end = r.line_num
                k = 0
                for row in r:
                    start, end = end + 1, r.line_num
                    if not row:  # an empty line is no record
                        continue
                    k += 1
                    if k in wanted:
                        out[k] = start
                    if k >= top:
                        break
        else:
            with open(path, "rb") as f:  # lines end with \n only, as for the JSON Lines reader
                k = 0
                for n, line in enumerate(f, 1):
                    if not line.lstrip(codecs.BOM_UTF8 if n == 1 else b"").strip(b" \t\r\n"):
                        continue
                    k += 1
                    if k in wanted:
                        out[k] = n
                    if k >= top:
                        break
    except (csv.Error, UnicodeError, OSError):
        pass
    # the file could not be re-read the same way (it was readable a moment ago): the record ordinal
    offset = 1 if csv_file else 0
    return {k: out.get(k, k + offset) for k in wanted}


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Raw rows -> Arrow (missing keys are nulls; the run treats null flags as false)."""
    return pa.Table.from_pylist(rows, schema=RAW)


class ChatSink:
    """The fast path of :class:`RawSink` for a file that holds one chat and no native ids (WhatsApp):
    per message only sender, time, kind, text, mentions and @all are stored; the rest is constant."""

    def __init__(self, emit, source: str, platform: str, chat_key: str, chat_name: str):
        self._emit = emit
        self.const = (source, platform, chat_key, chat_name)
        self.count = 0
        self._reset()

    def _reset(self) -> None:
        self.sk: list = []
        self.sn: list = []
        self.ts: list = []
        self.kind: list = []
        self.text: list = []
        self.ment: list = []
        self.atall: list = []

    def add(self, sender, name, ts, kind, text, mentions=None, at_all=False) -> None:
        self.sk.append(sender)
        self.sn.append(name)
        self.ts.append(ts)
        self.kind.append(kind)
        self.text.append(text)
        self.ment.append(mentions)
        self.atall.append(at_all)
        if len(self.ts) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        n = len(self.ts)
        if not n:
            return
        source, platform, chat_key, chat_name = self.const
        none = pa.nulls(n, pa.string())
        cols = {
            "message_id": none,
            "native_id": none,
            "source": pa.array([source] * n, pa.string()),
            "platform": pa.array([platform] * n, pa.string()),
            "chat_key": pa.array([chat_key] * n, pa.string()),
            "chat_name": pa.array([chat_name] * n, pa.string()),
            "sender_key": pa.array(self.sk, pa.string()),
            "sender_name": pa.array(self.sn, pa.string()),
            "ts": pa.array(self.ts, RAW.field("ts").type),
            "kind": pa.array(self.kind, pa.string()),
            "text": pa.array(self.text, pa.string()),
            "reply_native": none,
            "reply_to": none,
            "mentions": pa.array(self.ment, RAW.field("mentions").type),
            "at_all": pa.array(self.atall, pa.bool_()),
            "forwarded": pa.nulls(n, pa.bool_()),
            "seq": pa.array(np.arange(self.count, self.count + n, dtype=np.int64)),
        }
        self.count += n
        self._reset()
        self._emit(pa.table(cols, schema=RAW))
