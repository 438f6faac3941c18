"""A chain of intermediate results, with the Python work of each stage overlapped with the engine.

An analysis that computes a chain of intermediate tables (normalise → signatures → candidates →
verify, say) spends part of its wall time in Python building and compiling each stage's Ibis
expression (with Ibis 12, 0.02-0.1 s per stage), during which the engine waits. :class:`Stages`
lets stage k+1 be built and compiled while the engine computes stage k: on DuckDB, each stage's SQL
is compiled in the calling thread and run in order by one background thread (DuckDB releases the
GIL while it runs a query), and :meth:`Stages.add` returns at once an *unbound* Ibis table of the
stage's name and schema for the next stages to be built on. Only that thread uses the connection
until :meth:`Stages.wait`; afterwards :meth:`Stages.bound` gives the tables bound to the backend.

On other engines (Spark) the stages run one after the other, as :func:`materialize` does.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

import pyarrow as pa


def materialize(lake, expr, prefix: str = "zj"):
    """Compute an intermediate result once and return it as a table (Ibis ``cache()`` drops its
    tables too early with ibis 12 + DuckDB 2, and its DROP statement fails to parse there)."""
    name = f"_{prefix}_{uuid.uuid4().hex[:12]}"
    con = lake.con
    if lake.engine == "spark":
        # same as ibis's PySpark cache(): a cached DataFrame behind a temporary view
        con._run_pre_execute_hooks(expr)  # registers the memtables the expression reads
        df = con._session.sql(con.compile(expr)).cache()
        df.createTempView(name)
        return con.table(name)
    return con.create_table(name, expr, temp=True)


class Stages:
    """Materialised stages of one computation (see the module docstring). Use as a context manager:
    leaving it waits for the background thread; leaving it on an error first cancels the stages
    not started and interrupts the running one."""

    def __init__(self, lake):
        self.lake = lake
        self.con = lake.con
        self._ex = ThreadPoolExecutor(1, thread_name_prefix="zj-stages") if lake.engine == "duckdb" else None
        self._futures: list[Future] = []
        #: engine seconds per timing key (the time running each stage's query)
        self.timings: dict[str, float] = {}
        #: rows of each stage table by name (DuckDB reports them with the CREATE)
        self.rows: dict[str, int] = {}

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._ex is None:
            return
        if exc_type is not None:
            # the calling thread failed or was interrupted: drop the stages still waiting and stop
            # the one running (DuckDB's interrupt does nothing when no query runs)
            self._ex.shutdown(wait=False, cancel_futures=True)
            try:
                self.con.con.interrupt()
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass
        self._ex.shutdown(wait=True)

    def add(self, expr, prefix: str, timing: str | None = None):
        """A table holding the result of ``expr``, computed after the stages added before it."""
        if self._ex is None:
            t0 = time.perf_counter()
            out = materialize(self.lake, expr, prefix)
            self._time(timing, time.perf_counter() - t0)
            return out
        import ibis

        self._raise_failed()
        name = f"_{prefix}_{uuid.uuid4().hex[:12]}"
        sql = self.con.compile(expr)  # Python only: the connection is the background thread's
        self._futures.append(self._ex.submit(self._create, expr, name, sql, timing))
        return ibis.table(expr.schema(), name=name)

    def fetch(self, expr, timing: str | None = None) -> pa.Table:
        """``expr`` computed after every stage, as Arrow (compiled while the stages run)."""
        if self._ex is None:
            t0 = time.perf_counter()
            out = self.lake.to_arrow(expr)
            self._time(timing, time.perf_counter() - t0)
            return out
        from ibis.backends.duckdb.converter import DuckDBPyArrowData

        self._raise_failed()
        sql = self.con.compile(expr)
        fut = self._ex.submit(self._query, expr, sql, timing)
        self.wait()
        # the conversion ibis's DuckDB to_pyarrow applies to the engine's Arrow result
        return expr.__pyarrow_result__(fut.result(), data_mapper=DuckDBPyArrowData)

    def wait(self) -> None:
        """Wait for every stage added so far (raising the first error)."""
        futures, self._futures = self._futures, []
        for f in futures:
            f.result()

    def bound(self, table):
        """The stage table bound to the backend (after :meth:`wait`)."""
        return table if self._ex is None else self.con.table(table.get_name())

    def row_count(self, table) -> int:
        """Rows of a stage table (after :meth:`wait`)."""
        n = self.rows.get(table.get_name())
        return n if n is not None else self.lake.to_arrow(table.count()).as_py()

    # -- the background thread -------------------------------------------------------------------
    def _create(self, expr, name: str, sql: str, timing: str | None) -> None:
        t0 = time.perf_counter()
        self.con._run_pre_execute_hooks(expr)  # registers the memtables the expression reads
        ((n,),) = self.con.raw_sql(f'CREATE TEMP TABLE "{name}" AS {sql}').fetchall()
        self.rows[name] = n
        self._time(timing, time.perf_counter() - t0)

    def _query(self, expr, sql: str, timing: str | None) -> pa.Table:
        t0 = time.perf_counter()
        self.con._run_pre_execute_hooks(expr)
        out = self.con.con.sql(sql).to_arrow_table()  # (con.con: the DuckDB connection under ibis)
        self._time(timing, time.perf_counter() - t0)
        return out

    def _time(self, key: str | None, s: float) -> None:
        if key:
            self.timings[key] = self.timings.get(key, 0.0) + s

    def _raise_failed(self) -> None:
        """A stage that failed fails the chain at once (the later ones would only miss its table)."""
        if any(f.done() and f.exception() is not None for f in self._futures):
            self.wait()
