"""``zhijian export messages``: the normalised messages as canonical CSV / JSONL / Parquet, the same
files :mod:`zhijian.ingest.canonical` reads back (round trip keeps message ids)."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import IO

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import select

from zhijian.errors import ImportFormatError
from zhijian.ingest.canonical import COLUMNS
from zhijian.ingest.common import sql_str
from zhijian.store.models import Group

EXPORT_FORMATS = ("csv", "jsonl", "parquet")


def export_messages(
    ws,
    fmt: str,
    output: Path | None = None,
    *,
    group: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    stream: IO[bytes] | None = None,
) -> int:
    """Write the messages; ``output`` None means ``stream`` (default stdout), except for parquet.
    ``group`` is a group id or exact name; dates are local calendar days, inclusive. Returns rows."""
    if fmt not in EXPORT_FORMATS:
        raise ImportFormatError(
            f"导出格式只能是 {', '.join(EXPORT_FORMATS)}", f"export format must be one of {EXPORT_FORMATS}"
        )
    if fmt == "parquet" and output is None:
        raise ImportFormatError("Parquet 格式必须用 --output 指定文件", "parquet needs --output FILE")
    with ws.store.session() as s:
        groups = list(s.execute(select(Group.id, Group.name)))
    gids = None
    if group:
        gids = [g for g, n in groups if g == group or n == group]
        if not gids:
            raise ImportFormatError(
                f"找不到工作群“{group}”（按群ID或群名称）", f"no group {group!r} (by id or name)"
            )
    files = ws.lake().files("messages")
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    gt = pa.table(
        {"gid": [g for g, _ in groups], "gname": [n for _, n in groups]},
        schema=pa.schema([("gid", pa.string()), ("gname", pa.string())]),
    )
    con.register("gnames", gt)
    where = ["true"]
    if gids:
        where.append("m.group_id IN (" + ", ".join(sql_str(g) for g in gids) + ")")
    if date_from:
        where.append(f"m.local_ts >= TIMESTAMP {sql_str(date_from.isoformat())}")
    if date_to:
        where.append(f"m.local_ts < TIMESTAMP {sql_str(date_to.isoformat())} + INTERVAL 1 DAY")
    if files:
        src = "read_parquet([" + ", ".join(sql_str(str(f)) for f in files) + "])"
    else:
        from zhijian.lake.schema import MESSAGES

        con.register("empty_messages", MESSAGES.empty_table())
        src = "empty_messages"
    base = f"""
        SELECT m.message_id, m.group_id, g.gname AS group_name, m.sender_id, m.sender_name, m.ts, m.kind, m.text,
               m.at_all, m.mentions, m.reply_to, m.forwarded
        FROM {src} m LEFT JOIN gnames g ON g.gid = m.group_id
        WHERE {" AND ".join(where)}
        ORDER BY m.ts, m.group_id, m.message_id
    """
    if fmt == "parquet":
        tmp = Path(str(output) + ".tmp")
        con.execute(f"COPY ({base}) TO {sql_str(str(tmp))} (FORMAT parquet, COMPRESSION zstd)")
        os.replace(tmp, output)
        return con.execute(f"SELECT count(*) FROM read_parquet({sql_str(str(output))})").fetchall()[0][0]
    ts_text = (
        "CASE WHEN microsecond(ts) % 1000000 = 0 THEN strftime(ts, '%Y-%m-%dT%H:%M:%SZ') "
        "ELSE strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') END"
    )
    if fmt == "csv":
        q = f"""SELECT message_id, group_id, group_name, sender_id, sender_name, {ts_text} AS ts, kind, text,
                       CASE WHEN at_all THEN 'true' ELSE 'false' END AS at_all, CAST(to_json(mentions) AS VARCHAR) AS mentions,
                       reply_to, CASE WHEN forwarded THEN 'true' ELSE 'false' END AS forwarded FROM ({base})"""
    else:
        q = f"""SELECT CAST(to_json(struct_pack(message_id, group_id, group_name, sender_id, sender_name,
                       ts := {ts_text}, kind, text, at_all, mentions, reply_to, forwarded)) AS VARCHAR) AS line FROM ({base})"""
    out: IO[bytes]
    tmp = None
    if output is not None:
        tmp = Path(str(output) + ".tmp")
        out = open(tmp, "wb")
    else:
        out = stream or sys.stdout.buffer
    n = 0
    try:
        reader = con.sql(q).to_arrow_reader(50_000)
        if fmt == "csv":
            out.write((",".join(COLUMNS) + "\n").encode())
        for b in reader:
            n += b.num_rows
            if fmt == "csv":
                t = pa.Table.from_batches([b]).cast(pa.schema([(c, pa.string()) for c in COLUMNS]))
                pacsv.write_csv(t, out, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
            else:
                out.write(("\n".join(b.column(0).to_pylist()) + "\n").encode("utf-8"))
        out.flush()
    finally:
        if tmp is not None:
            out.close()
    if tmp is not None:
        os.replace(tmp, output)
    return n
