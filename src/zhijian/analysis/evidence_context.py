"""Evidence messages in context, precomputed when the analysis writes its findings.

A finding's page shows each evidence message (at most ``MAX_EVIDENCE``) with up to ``CONTEXT``
messages before and after it in the same group, among the messages within ``NEAR`` of it. Looking
them up when the page is requested means scanning the messages dataset (13–18 s at 10M messages).
:func:`build` computes them once per analysis run for every active finding — one DuckDB pass:
rank the messages of the groups concerned by (ts, message_id), then an equi-join of each evidence
message's rank ± ``CONTEXT`` — and writes the lake dataset ``evidence_context`` sorted by the
evidence message id in small row groups, so a page reads a few row groups of one small file.

The file records which message files it was computed from (Parquet metadata); once an import adds
messages, :func:`lookup` reports it stale and ``LakeView`` falls back to the scan until the next
analysis. Evidence ids the file does not hold (e.g. added after the run) also take the scan.
Evidence ids absent from the lake are recorded (``k`` null) so they never trigger a scan.

Wired into ``analysis.pipeline.run_analysis`` (after the findings are upserted).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

DATASET = "evidence_context"
MAX_EVIDENCE = 10
CONTEXT = 3  # messages before and after each evidence message
NEAR = dt.timedelta(days=1)  # how far from it they may be
ROW_GROUP = 2048
META_KEY = b"zhijian.messages"
MSG_COLS = ["message_id", "group_id", "sender_id", "sender_name", "ts", "local_ts", "kind", "text", "at_all"]


def _files_key(lake_root: Path, files: list[str]) -> list[str]:
    return sorted(os.path.relpath(f, lake_root) for f in files)


def evidence_ids(evidence: dict | None) -> list[str]:
    return [str(m) for m in ((evidence or {}).get("message_ids") or [])[:MAX_EVIDENCE]]


def build(ws: Any) -> dict[str, Any]:
    """Write ``evidence_context`` for every active finding; returns rows, evidence ids and seconds.
    Needs a local lake (DuckDB reads the Parquet files); elsewhere nothing is written and the web
    looks evidence up by scanning."""
    import duckdb
    import pyarrow as pa
    from sqlalchemy import select

    from zhijian.store.models import Finding

    t0 = time.perf_counter()
    lake = ws.lake()
    root = ws.lake_root
    if "://" in str(root):
        return {"seconds": 0.0, "findings": 0, "datasets": [], "rows": 0, "skipped": "remote lake"}
    files = [str(f) for f in lake.files("messages")]
    with ws.store.session() as s:
        evs = s.execute(select(Finding.evidence).where(Finding.active.is_(True))).scalars().all()
    hids = sorted({i for e in evs for i in evidence_ids(e)})
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET preserve_insertion_order = false")
        if files and hids:
            con.register("ev_ids", pa.table({"hid": pa.array(hids, pa.string())}))
            src = "read_parquet($files, union_by_name = true)"
            near = int(NEAR.total_seconds())
            con.execute(
                f"CREATE TEMP TABLE hits AS SELECT message_id AS hid, group_id, ts AS hts FROM {src} "
                "WHERE message_id IN (SELECT hid FROM ev_ids)",
                {"files": files},
            )
            con.execute(
                "CREATE TEMP TABLE ranked AS SELECT message_id, group_id, ts, "
                "row_number() OVER (PARTITION BY group_id ORDER BY ts, message_id) AS rn "
                f"FROM {src} WHERE group_id IN (SELECT DISTINCT group_id FROM hits)",
                {"files": files},
            )
            con.execute(
                "CREATE TEMP TABLE ctx AS "
                "WITH hr AS (SELECT h.hid, h.group_id, h.hts, r.rn FROM hits h JOIN ranked r ON r.message_id = h.hid), "
                f"offs AS (SELECT unnest(range({-CONTEXT}, {CONTEXT + 1})) AS k) "
                "SELECT hr.hid, o.k::INTEGER AS k, r.message_id FROM hr CROSS JOIN offs o "
                "JOIN ranked r ON r.group_id = hr.group_id AND r.rn = hr.rn + o.k "
                f"WHERE r.ts BETWEEN hr.hts - INTERVAL {near} SECOND AND hr.hts + INTERVAL {near} SECOND"
            )
            cols = ", ".join(f"m.{c}" for c in MSG_COLS)
            tbl = con.sql(
                f"SELECT c.hid, c.k, {cols} FROM ctx c JOIN "
                f"(SELECT {', '.join(MSG_COLS)} FROM {src} WHERE message_id IN (SELECT message_id FROM ctx)) m "
                "USING (message_id) "
                "UNION ALL SELECT e.hid, NULL, "
                + ", ".join(f"NULL::{t} AS {c}" for c, t in _null_types())
                + " "
                "FROM ev_ids e WHERE e.hid NOT IN (SELECT hid FROM hits) "
                "ORDER BY 1, 2",
                params={"files": files},
            ).to_arrow_table()
        else:
            tbl = None
    finally:
        con.close()
    if tbl is None:
        tbl = _empty()
    n = tbl.num_rows
    meta = {META_KEY: json.dumps(_files_key(root, files)).encode()}
    _write(lake, tbl.replace_schema_metadata(meta))
    return {
        "seconds": round(time.perf_counter() - t0, 2),
        "findings": 0,
        "datasets": [DATASET],
        "rows": n,
        "evidence_ids": len(hids),
    }


def _null_types() -> list[tuple[str, str]]:
    return [
        ("message_id", "VARCHAR"),
        ("group_id", "VARCHAR"),
        ("sender_id", "VARCHAR"),
        ("sender_name", "VARCHAR"),
        ("ts", "TIMESTAMPTZ"),
        ("local_ts", "TIMESTAMP"),
        ("kind", "VARCHAR"),
        ("text", "VARCHAR"),
        ("at_all", "BOOLEAN"),
    ]


def _empty():
    import pyarrow as pa

    return pa.table(
        {
            "hid": pa.array([], pa.string()),
            "k": pa.array([], pa.int32()),
            "message_id": pa.array([], pa.string()),
            "group_id": pa.array([], pa.string()),
            "sender_id": pa.array([], pa.string()),
            "sender_name": pa.array([], pa.string()),
            "ts": pa.array([], pa.timestamp("us", tz="UTC")),
            "local_ts": pa.array([], pa.timestamp("us")),
            "kind": pa.array([], pa.string()),
            "text": pa.array([], pa.string()),
            "at_all": pa.array([], pa.bool_()),
        }
    )


def _write(lake: Any, tbl: Any) -> None:
    """Atomic replace of the dataset (like ``Lake.replace``) with small row groups and the metadata."""
    import shutil

    import pyarrow.parquet as pq

    tmp = lake._tmpdir()
    staged = tmp / DATASET
    staged.mkdir()
    pq.write_table(tbl, staged / "part-0.parquet", compression="zstd", row_group_size=ROW_GROUP)
    target = lake.path(DATASET)
    if target.exists():
        os.replace(target, tmp / f"{DATASET}.old")
    os.replace(staged, target)
    shutil.rmtree(tmp, ignore_errors=True)
    lake.forget(DATASET)


def fresh_file(lake_root: Path, messages_files: list[str]) -> str | None:
    """The ``evidence_context`` file when it was computed from exactly these message files."""
    import pyarrow.parquet as pq

    f = Path(lake_root) / DATASET / "part-0.parquet"
    try:
        meta = pq.read_schema(f).metadata or {}
    except (FileNotFoundError, OSError):
        return None
    try:
        built_from = json.loads(meta.get(META_KEY, b"null"))
    except ValueError:
        return None
    return str(f) if built_from == _files_key(Path(lake_root), messages_files) else None


class ContextIndex:
    """The current ``evidence_context`` file in memory (Arrow, sorted by evidence id), reloaded when
    the file changes; a lookup is a binary search and a slice."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._sig: tuple | None = None
        self._tbl = None
        self._hids = None

    def lookup(self, path: str, ids: list[str]) -> dict[str, list[dict]]:
        """Evidence id -> its context rows (``k`` = position, 0 the evidence message; a single row
        with ``k`` None when the id is not in the lake); ids the file does not hold are left out."""
        import numpy as np
        import pyarrow.parquet as pq

        st = os.stat(path)
        sig = (path, st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            if sig != self._sig:
                tbl = pq.read_table(path)
                self._tbl = tbl.combine_chunks() if tbl.num_rows else tbl
                self._hids = np.asarray(self._tbl["hid"].to_pylist(), dtype=object)
                self._sig = sig
            tbl, hids = self._tbl, self._hids
        out: dict[str, list[dict]] = {}
        for i in ids:
            lo = int(np.searchsorted(hids, i, "left"))
            hi = int(np.searchsorted(hids, i, "right"))
            if hi > lo:
                out[i] = tbl.slice(lo, hi - lo).to_pylist()
        return out
