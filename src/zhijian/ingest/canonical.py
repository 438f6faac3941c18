"""zhijian's canonical message files — exactly what ``zhijian export messages --format csv|jsonl``
writes: message_id, group_id, group_name, sender_id, sender_name, ts, kind, text, at_all, mentions,
reply_to, forwarded. Read vectorised by DuckDB (no per-row Python), so large files import at disk
speed. ``message_id`` is kept as the lake id when present; ``ts`` is ISO 8601 with an offset (naive
times are read in the export zone)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from zhijian.errors import ImportFormatError
from zhijian.ingest.common import (
    finish_staged,
    number_rows,
    open_text,
    read_csv_sql,
    read_with_encoding,
    record_lines,
    sql_str,
    staged_insert,
    staged_read_error,
    transcode_to_utf8,
)

COLUMNS = (
    "message_id",
    "group_id",
    "group_name",
    "sender_id",
    "sender_name",
    "ts",
    "kind",
    "text",
    "at_all",
    "mentions",
    "reply_to",
    "forwarded",
)
REQUIRED = ("group_id", "ts")
TRUE = "['true', '1', 't', 'yes', 'y', '是']"


def _flag(c: str) -> str:
    """A true/false text column as BOOLEAN (``TRUE`` after lower/trim, else false). The exported forms
    'true'/'false' are compared first: lower/trim on every row cost more than the rest of the column's
    handling, and ``IN (…)`` of six values became a join."""
    return (
        f"CASE WHEN {c} = 'false' THEN false WHEN {c} = 'true' THEN true"
        f" ELSE coalesce(list_contains({TRUE}, lower(trim({c}))), false) END"
    )


def is_canonical(header: list[str]) -> bool:
    h = {c.strip().lstrip("\ufeff").lower() for c in header}
    return {"message_id", "group_id", "ts"} <= h or (
        {"group_id", "ts", "text"} <= h and ("sender_id" in h or "sender_name" in h)
    )


def _csv_header(path: Path, enc: str) -> list[str]:
    with open_text(path, enc, newline="") as f:
        try:
            row = next(csv.reader(f), [])
        except csv.Error as e:
            raise ImportFormatError(
                f"CSV 表头无法解析：{e}", f"cannot parse CSV header: {e}", path=str(path), where="第 1 行"
            ) from None
    return [c.strip().lstrip("\ufeff") for c in row]


def import_csv(run, path: Path) -> tuple[int, str]:
    return read_with_encoding(_import_csv, run, path)


def _import_csv(run, path: Path, enc: str) -> tuple[int, str]:
    header = _csv_header(path, enc)
    missing = [c for c in REQUIRED if c not in header]
    if "sender_id" not in header and "sender_name" not in header:
        missing.append("sender_id")
    if missing:
        raise ImportFormatError(
            f"规范消息 CSV 缺少列：{', '.join(missing)}（应有 {', '.join(COLUMNS)}）",
            f"canonical message CSV is missing columns {missing}; expected {', '.join(COLUMNS)}",
            path=str(path),
            where="第 1 行（表头）",
        )
    src = path
    if enc == "gb18030":
        src = transcode_to_utf8(path, enc, run.work / f"utf8-{len(run.summary.files)}.csv")
    source = read_csv_sql(src)
    n = _load(run, path, source, header, "canonical_csv", enc)
    return n, enc


def import_jsonl(run, path: Path) -> tuple[int, str]:
    return read_with_encoding(_import_jsonl, run, path)


def _import_jsonl(run, path: Path, enc: str) -> tuple[int, str]:
    src = path
    if enc == "gb18030":
        src = transcode_to_utf8(path, enc, run.work / f"utf8-{len(run.summary.files)}.jsonl")
    # JSON values -> text: a VARCHAR column gives strings unquoted and other values (booleans, numbers,
    # arrays, objects) as their JSON text, JSON null as NULL -- what json_type/json_extract_string did per
    # value, at half the cost
    cols = ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in COLUMNS)
    source = f"read_json({sql_str(str(src))}, format='newline_delimited', columns={{{cols}}})"
    n = _load(run, path, source, list(COLUMNS), "canonical_jsonl", enc)
    return n, enc


def _load(run, path: Path, source: str, header: list[str], fmt: str, enc: str) -> int:
    """One vectorised pass: every record lands in the staging table, numbered in file order; records
    with a problem carry a reason and are then skipped with the line they start on.

    The records are numbered after the insert (:func:`~zhijian.ingest.common.number_rows`), not by
    ``row_number() OVER ()`` in it: that window makes the whole pipeline, parsing included,
    single-threaded."""

    def col(c: str) -> str:
        if c not in header:
            return "NULL::VARCHAR"
        return f'"{c}"'

    db = run.db
    base = run.seq
    q = f"""
        INSERT INTO raw
        WITH src AS (SELECT {", ".join(f"{col(c)} AS {c}" for c in COLUMNS)} FROM {source}),
        typed AS (
          SELECT *, try_cast(ts AS TIMESTAMPTZ) AS ts_v,
                 CASE WHEN mentions IS NULL OR mentions = '[]' OR mentions = '' THEN []::VARCHAR[]
                      WHEN trim(mentions) IN ('', '[]') THEN []::VARCHAR[]
                      ELSE try(from_json(mentions, '["VARCHAR"]')) END AS mentions_v
          FROM src)
        SELECT nullif(message_id, ''), NULL, '{fmt}', '', group_id, nullif(group_name, ''),
               nullif(sender_id, ''), nullif(sender_name, ''), ts_v,
               CASE WHEN kind = 'text' THEN 'text' ELSE coalesce(nullif(lower(trim(kind)), ''), 'text') END,
               text, NULL, nullif(reply_to, ''), mentions_v, {_flag("at_all")}, {_flag("forwarded")},
               NULL::BIGINT,
               CASE
                 WHEN group_id IS NULL OR group_id = '' THEN 'group_id 为空'
                 WHEN ts IS NULL OR ts = '' THEN 'ts 为空'
                 WHEN ts_v IS NULL THEN 'ts 不是 ISO 8601 时间'
                 WHEN mentions_v IS NULL THEN 'mentions 不是 JSON 数组'
               END,
               {run.file_no}
        FROM typed
    """
    db.execute("SET TimeZone=" + sql_str(run.tzname))  # naive ts are in the export zone
    try:
        with staged_insert(db):
            db.execute(q)
            number_rows(db, base)
    except duckdb.Error as e:
        db.execute(f"DELETE FROM raw WHERE seq IS NULL OR seq > {base}")
        raise staged_read_error(
            e, "文件无法按规范消息格式读取", "cannot read as canonical messages", path
        ) from None
    finally:
        db.execute("SET TimeZone='UTC'")
    csv_file = fmt == "canonical_csv"

    def where(ordinals: list[int]) -> dict[int, str]:  # the line a record starts on (a re-read)
        lines = record_lines(path, enc, ordinals, csv_file=csv_file)
        return {k: f"第 {lines[k]} 行" for k in ordinals}

    n_rows, n_bad = finish_staged(run, path, base, where)
    run.seq = base + n_rows + 1
    return n_rows - n_bad
