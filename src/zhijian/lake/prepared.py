"""A query over one input table, compiled once and run again on new input rows (DuckDB).

Building and compiling the rule pack's label query costs about 0.9 s in Ibis (tens of thousands of
expression nodes, 155 KB of SQL); running it on a few rows costs a fraction of that (DuckDB binds
the SQL and compiles its regexes: about 0.4 s). A caller that asks the same question of new rows
again and again — the draft check of the web application, ``zhijian check --jsonl`` in batches —
builds the expression once over a private temporary table, keeps the SQL, and on each call
replaces the table's rows and runs that SQL.

The first run goes through Ibis (``to_pyarrow``), which registers the expression's in-memory
tables on the connection; the SQL is compiled at the second run, so a caller that runs once pays
nothing extra. Meant for small results (a few rows per input row): they come back as Python
values. Not thread-safe: one caller at a time per connection (the draft checker holds its lock).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pyarrow as pa

_NAMES = itertools.count(1)


class PreparedQuery:
    """``build(input_table, stage) -> Ibis table`` over an input of ``schema``, on the Ibis DuckDB
    connection ``con``; :meth:`run` gives its result for the rows given.

    ``stage(expr, prefix) -> table`` materialises an intermediate result, as
    :func:`zhijian.lake.stages.materialize` does, in a table of its own that each run refills
    before the query runs (a computation written in stages, such as the deadlines, keeps them)."""

    def __init__(self, con, schema: pa.Schema, build: Callable[[Any, Callable[..., Any]], Any]):
        self._con = con
        self._schema = schema
        self._name = f"_zj_prepared_input_{next(_NAMES)}"
        #: (table, SQL of its rows) of each stage, in order
        self._stages: list[tuple[str, str]] = []
        db = con.con
        db.register("_zj_prepared_schema", schema.empty_table())
        try:
            db.execute(f'CREATE TEMP TABLE "{self._name}" AS SELECT * FROM _zj_prepared_schema')
        finally:
            db.unregister("_zj_prepared_schema")
        self._expr = build(con.table(self._name), self._stage)
        self._sql: str | None = None
        self._ran = False

    def _stage(self, expr, prefix: str = "stage"):
        name = f"_zj_prepared_{prefix}_{next(_NAMES)}"
        # through Ibis (it registers the in-memory tables the expression reads), on the empty input
        self._con.create_table(name, expr, temp=True)
        self._stages.append((name, self._con.compile(expr)))
        return self._con.table(name)

    def run(self, rows: pa.Table) -> list[dict[str, Any]]:
        """The query's result rows for the input ``rows`` (a table of the input schema), as dicts of
        Python values (strings, numbers, booleans: the same from Ibis's first run and from DuckDB)."""
        db = self._con.con
        db.execute(f'DELETE FROM "{self._name}"')
        db.register("_zj_prepared_rows", rows.select(self._schema.names).cast(self._schema))
        try:
            db.execute(f'INSERT INTO "{self._name}" SELECT * FROM _zj_prepared_rows')
        finally:
            db.unregister("_zj_prepared_rows")
        for name, sql in self._stages:
            db.execute(f'DELETE FROM "{name}"')
            db.execute(f'INSERT INTO "{name}" {sql}')
        if not self._ran:
            self._ran = True
            return self._con.to_pyarrow(self._expr).to_pylist()
        if self._sql is None:
            self._sql = self._con.compile(self._expr)
        # execute(), not sql(): a relation binds the SQL when it is made and again when it runs
        # (0.2 s of the label query's 0.7 s); the rows are few, fetched as Python values
        cur = db.execute(self._sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def close(self) -> None:
        """Drop the input and stage tables (the connection stays open)."""
        for name in [self._name, *(n for n, _ in self._stages)]:
            self._con.con.execute(f'DROP TABLE IF EXISTS "{name}"')
