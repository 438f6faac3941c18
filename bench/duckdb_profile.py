"""What limits each engine stage: DuckDB's own profile of every query a block of code runs.

    with QueryProfiles(lake) as prof:
        run = cluster_texts(lake, items, params)
    prof.print()

Each query the lake runs through :class:`zhijian.lake.stages.Stages` (neardup's intermediate tables)
or ``Lake.to_arrow`` is profiled by DuckDB (``PRAGMA enable_profiling='no_output'`` and ``get_profiling_information``:
the same figures EXPLAIN ANALYZE shows, without running the query twice). For each query it prints
the wall time (the engine's; for ``to_arrow`` also Ibis's compilation), DuckDB's CPU time (all threads), the share of the threads' capacity it used, what it
spilled to disk and its peak buffer memory, then its most expensive operators by CPU time with the
rows they produced. CPU time near threads × wall is a CPU-bound stage; bytes spilled or read with
low CPU use point at I/O; peak buffer memory at the memory limit points at memory.
"""

from __future__ import annotations

import json
import time
from typing import Any


class QueryProfiles:
    def __init__(self, lake, top: int = 6):
        self.lake = lake
        self.top = top
        self.queries: list[dict[str, Any]] = []
        self._undo: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> QueryProfiles:
        from zhijian.lake import Lake
        from zhijian.lake.stages import Stages

        self._raw = self.lake.con.con  # the DuckDB connection under Ibis
        self._raw.execute("PRAGMA enable_profiling='no_output'")
        create, query, to_arrow = Stages._create, Stages._query, Lake.to_arrow

        # (Stages run their queries in a background thread, which alone uses the connection while
        # they run: the profile read right after a query there is that query's)
        def profiled_create(st, expr, name, sql, timing):
            stage = name.rsplit("_", 1)[0].lstrip("_")
            return self._run(f"stage {stage}", lambda: create(st, expr, name, sql, timing))

        def profiled_query(st, expr, sql, timing):
            return self._run(f"stage result {timing or ''}".strip(), lambda: query(st, expr, sql, timing))

        def profiled_to_arrow(lake, expr):
            return self._run("to_arrow", lambda: to_arrow(lake, expr))

        self._undo = [(Stages, "_create", create), (Stages, "_query", query), (Lake, "to_arrow", to_arrow)]
        Stages._create, Stages._query, Lake.to_arrow = profiled_create, profiled_query, profiled_to_arrow
        return self

    def __exit__(self, *exc) -> None:
        for owner, name, orig in self._undo:
            setattr(owner, name, orig)
        self._raw.execute("PRAGMA disable_profiling")

    def _run(self, label: str, fn):
        t0 = time.perf_counter()
        out = fn()
        wall = time.perf_counter() - t0
        info = json.loads(self._raw.get_profiling_information(format="json"))
        self.queries.append({"label": label, "wall": wall, "info": info})
        return out

    def print(self) -> None:
        threads = int(self._raw.execute("SELECT current_setting('threads')").fetchall()[0][0])
        print(f"\nDuckDB profile per query ({threads} threads; CPU = all threads' operator time)")
        for q in self.queries:
            info = q["info"]
            cpu = float(info.get("query", {}).get("cpu_time", 0.0))
            sysinfo = info.get("system", {})
            spilled = sysinfo.get("total_bytes_spilled", 0) / 2**20
            peak = sysinfo.get("peak_buffer_memory", 0) / 2**20
            use = cpu / (q["wall"] * threads) if q["wall"] else 0.0
            print(
                f"  {q['label']:<22} wall {q['wall']:6.3f} s  cpu {cpu:6.3f} s  ({use:4.0%} of {threads} threads)"
                f"  spilled {spilled:6.1f} MB  peak buffers {peak:7.1f} MB"
            )
            ops: list[tuple[float, int, str]] = []
            for n in info.get("operator", []):
                _operators(n, ops)
            for t, rows, label in sorted(ops, key=lambda o: -o[0])[: self.top]:
                if t < 0.005:
                    break
                print(f"      {t:6.3f} s {rows:>11,} rows  {label[:110]}")


def _operators(n: dict[str, Any], out: list[tuple[float, int, str]]) -> None:
    """(CPU seconds, rows produced, operator and its main detail) of ``n`` and the operators under it."""
    extra = n.get("extra_info") or {}
    label = n.get("name", "?")
    for k in ("Aggregates", "Join Type", "Function", "Table", "Expression", "Projections"):
        if k in extra:
            v = extra[k]
            label += f" {k.lower()}: " + (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
            break
    out.append((float(n.get("timing", 0.0)), int(n.get("intermediate_rows", 0) or 0), label))
    for c in n.get("children", []):
        _operators(c, out)
