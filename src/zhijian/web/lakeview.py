"""Reads from the lake for the pages: evidence messages in context, a group's weekly activity and
members.

On the DuckDB engine (the default) the queries run directly on the lake's Parquet files
(``Lake.files``) through a DuckDB connection owned by the web app, one cursor per server thread, so
requests do not queue behind each other and skip the Ibis compile step (≈ 10 ms instead of ≈ 90 ms
per query, measured in bench/web.py). On another engine the same queries go through
``ws.lake().table(...)`` (Ibis), serialised with a lock. Results are cached per (query, dataset
files): an import or an analysis changes the files, so stale entries are never hit again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections import OrderedDict
from typing import Any

from zhijian.analysis import evidence_context as evidence_index
from zhijian.analysis.evidence_context import CONTEXT, MAX_EVIDENCE, NEAR

EVIDENCE_DATASET = evidence_index.DATASET
CACHE_SIZE = 512
MSG_COLS = ["message_id", "group_id", "sender_id", "sender_name", "ts", "local_ts", "kind", "text", "at_all"]


class LakeView:
    def __init__(self, ws):
        self.ws = ws
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._local = threading.local()
        self._db = None
        self._slots = threading.BoundedSemaphore(2)
        self._context = evidence_index.ContextIndex()

    # -- plumbing -----------------------------------------------------------------------------------
    @property
    def _duckdb(self) -> bool:
        return self.ws.config.workspace.engine == "duckdb" and "://" not in str(self.ws.config.workspace.lake)

    def _cursor(self):
        cur = getattr(self._local, "cur", None)
        if cur is None:
            import duckdb

            with self._lock:
                if self._db is None:
                    self._db = duckdb.connect()
                    self._db.execute("SET TimeZone = 'UTC'")
                cur = self._db.cursor()
            cur.execute("SET TimeZone = 'UTC'")
            self._local.cur = cur
        return cur

    def _files(self, name: str) -> list[str]:
        return [str(f) for f in self.ws.lake().files(name)]

    @staticmethod
    def _sig(files: list[str]) -> tuple:
        import os

        return tuple((f, os.stat(f).st_mtime_ns) for f in files[-3:]) + (len(files),)

    def _cached(self, key: tuple, files: list[str], compute):
        k = (key, self._sig(files))
        with self._lock:
            if k in self._cache:
                self._cache.move_to_end(k)
                return self._cache[k]
        val = compute()
        with self._lock:
            self._cache[k] = val
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return val

    def _sql(self, sql: str, params: list, heavy: bool = True) -> list[dict]:
        """Run on this thread's cursor. Scans of the messages dataset (``heavy``) take one of two slots:
        each already uses every core, more at once only thrash; small datasets never wait for them."""
        cur = self._cursor()
        with self._slots if heavy else contextlib.nullcontext():
            res = cur.execute(sql, params)
            cols = [d[0] for d in res.description]
            return [dict(zip(cols, row, strict=True)) for row in res.fetchall()]

    def _ibis(self, name: str):
        lake = self.ws.lake()
        lake.forget(name)  # pick up new batches
        return lake, lake.table(name)

    # -- queries ------------------------------------------------------------------------------------
    def evidence(self, message_ids: list[str]) -> list[dict]:
        """Each evidence message (at most ten) with up to ``CONTEXT`` messages before and after it in
        the same group, among those within ``NEAR`` of it: from the analysis' precomputed
        ``evidence_context`` (analysis/evidence_context.py) when it is current, else by scanning the messages."""
        ids = list(dict.fromkeys(str(m) for m in message_ids[:MAX_EVIDENCE]))
        files = self._files("messages")
        if not ids or not files:
            return []
        pre = self._files(EVIDENCE_DATASET)  # a new analysis run changes it
        return self._cached(("evidence", tuple(ids)), pre + files, lambda: self._evidence_any(ids, files))

    def _evidence_any(self, ids: list[str], files: list[str]) -> list[dict]:
        items: dict[str, tuple] = {}
        pre = evidence_index.fresh_file(self.ws.lake_root, files) if self._duckdb else None
        if pre is not None:
            for hid, rs in self._context.lookup(pre, ids).items():
                ctx = [r for r in rs if r["k"] is not None]
                if not ctx:
                    items[hid] = ()  # not in the lake
                    continue
                hit = next(r for r in ctx if r["k"] == 0)
                items[hid] = (hit["ts"], hit["group_id"], [_msg(r, r["k"] == 0) for r in ctx])
        missing = [i for i in ids if i not in items]
        if missing:
            items.update(self._evidence(missing, files))
        found = sorted(((v[0], hid, v) for hid, v in items.items() if v), key=lambda t: (t[0], t[1]))
        return [{"message_id": hid, "group_id": v[1], "messages": v[2]} for _ts, hid, v in found]

    def _evidence(self, ids: list[str], files: list[str]) -> dict[str, tuple]:
        """Scan: evidence id -> (its ts, its group, context messages); ids not in the lake -> ()."""
        if self._duckdb:
            # Two scans with filters the Parquet reader can push down: the evidence rows (three columns),
            # then their groups' messages within a day of each. A join here would read every column of
            # every row (measured: seconds at 10M messages).
            marks = ", ".join("?" for _ in ids)
            hits = self._sql(
                f"SELECT message_id, group_id, ts FROM read_parquet(?, union_by_name = true) "
                f"WHERE message_id IN ({marks})",
                [files, *ids],
            )
            if not hits:
                return {i: () for i in ids}
            conds, params = [], [files]
            for h in hits:
                conds.append("(group_id = ? AND ts BETWEEN ? AND ?)")
                params += [h["group_id"], h["ts"] - NEAR, h["ts"] + NEAR]
            near = self._sql(
                f"SELECT {', '.join(MSG_COLS)} FROM read_parquet(?, union_by_name = true) WHERE {' OR '.join(conds)}",
                params,
            )
            rows = [
                {**m, "hid": h["message_id"], "hts": h["ts"]}
                for h in hits
                for m in near
                if m["group_id"] == h["group_id"] and abs(m["ts"] - h["ts"]) <= NEAR
            ]
        else:
            with self._lock:
                lake, t = self._ibis("messages")
                h = t.filter(t.message_id.isin(ids)).select(hid=t.message_id, hgroup=t.group_id, hts=t.ts)
                j = t.join(h, [t.group_id == h.hgroup, t.ts >= h.hts - NEAR, t.ts <= h.hts + NEAR])
                rows = lake.to_arrow(j.select(*MSG_COLS, "hid", "hts")).to_pylist()
        # per evidence message: the messages of its group within NEAR of it, ordered; CONTEXT either side
        per: dict[str, dict[str, dict]] = {}
        for r in rows:
            per.setdefault(r["hid"], {})[r["message_id"]] = r
        out: dict[str, tuple] = {i: () for i in ids}
        for hid, msgs in per.items():
            if hid not in msgs:
                continue
            ordered = sorted(msgs.values(), key=lambda m: (m["ts"], m["message_id"]))
            pos = next(i for i, m in enumerate(ordered) if m["message_id"] == hid)
            ctx = ordered[max(0, pos - CONTEXT) : pos + CONTEXT + 1]
            out[hid] = (
                msgs[hid]["ts"],
                msgs[hid]["group_id"],
                [_msg(m, m["message_id"] == hid) for m in ctx],
            )
        return out

    def activity(self, group_id: str) -> list[tuple[str, int]]:
        """Messages per week (local calendar, weeks starting Monday) of one group."""
        files = self._files("messages")
        if not files:
            return []

        def compute():
            if self._duckdb:
                rows = self._sql(
                    "SELECT date_trunc('week', local_ts) AS week, count(*) AS n "
                    "FROM read_parquet(?, union_by_name = true) WHERE group_id = ? GROUP BY 1 ORDER BY 1",
                    [files, group_id],
                )
            else:
                with self._lock:
                    lake, t = self._ibis("messages")
                    g = t.filter(t.group_id == group_id)
                    wk = g.local_ts.truncate("W").name("week")
                    rows = lake.to_arrow(g.group_by(wk).aggregate(n=g.count()).order_by("week")).to_pylist()
            return [(_day(r["week"]), int(r["n"])) for r in rows if r["week"] is not None]

        return self._cached(("activity", group_id), files, compute)

    def members(self, group_id: str) -> list[dict]:
        """Current members (no ``left_at``) of one group: person id and role."""
        files = self._files("memberships")
        if not files:
            return []

        def compute():
            if self._duckdb:
                return self._sql(
                    "SELECT DISTINCT person_id, role FROM read_parquet(?, union_by_name = true) "
                    "WHERE group_id = ? AND left_at IS NULL ORDER BY person_id",
                    [files, group_id],
                    heavy=False,
                )
            with self._lock:
                lake, t = self._ibis("memberships")
                m = t.filter((t.group_id == group_id) & t.left_at.isnull())
                return lake.to_arrow(
                    m.select("person_id", "role").distinct().order_by("person_id")
                ).to_pylist()

        return self._cached(("members", group_id), files, compute)


def _day(v: Any) -> str:
    return (v.date() if isinstance(v, dt.datetime) else v).isoformat()


def _msg(m: dict[str, Any], hit: bool) -> dict:
    return {
        "message_id": m["message_id"],
        "sender": m["sender_name"] or m["sender_id"] or "",
        "local_ts": m["local_ts"].isoformat(sep=" ", timespec="minutes") if m["local_ts"] else "",
        "kind": m["kind"],
        "text": m["text"] or "",
        "at_all": bool(m["at_all"]),
        "hit": hit,
    }
