"""The lake: Parquet datasets, one folder per table, opened through Ibis on an engine.

Analysis code never touches files or a particular engine: it asks :class:`Lake` for Ibis tables
and hands results back to :meth:`Lake.replace` (derived datasets) or :meth:`Lake.append_batch`
(imports). Writes are atomic: files are written under ``lake/_tmp`` and moved into place with a
rename, so a crash never leaves a partial dataset visible.

Layout::

    lake/messages/batch=<id>/part-0.parquet   append-only, one folder per import batch
    lake/memberships/batch=<id>/part-0.parquet
    lake/<derived>/part-0.parquet             replaced whole by each analysis run
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from zhijian.lake.schema import APPEND_ONLY, DICTIONARY_COLUMNS, SCHEMAS, WRITER_OPTIONS

__all__ = ["Lake", "SCHEMAS"]


class Lake:
    """A lake rooted at ``root``, queried with the given engine ('duckdb' or 'spark')."""

    def __init__(self, root: Path | str, engine: str = "duckdb", spark_conf: dict[str, Any] | None = None):
        self.root = Path(root)
        self.engine = engine
        self._spark_conf = spark_conf or {}
        self._con = None
        self._registered: dict[str, Any] = {}

    # -- engine -------------------------------------------------------------------------------------
    @property
    def con(self):  # -> ibis.BaseBackend
        if self._con is None:
            from zhijian.lake.engine import connect

            self._con = connect(self.engine, self._spark_conf)
        return self._con

    def close(self) -> None:
        if self._con is not None and self.engine == "duckdb":
            self._con.disconnect()
        self._con = None
        self._registered.clear()

    # -- reading ------------------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        return self.root / name

    def files(self, name: str) -> list[Path]:
        d = self.path(name)
        if not d.exists():
            return []
        return sorted(p for p in d.rglob("*.parquet") if "_tmp" not in p.parts)

    def exists(self, name: str) -> bool:
        return bool(self.files(name))

    def table(self, name: str):  # -> ibis.Table
        """The dataset as an Ibis table (an empty table of the right schema if nothing is there)."""
        import ibis

        if name in self._registered:
            return self._registered[name]
        files = self.files(name)
        schema = SCHEMAS.get(name)
        if not files:
            if schema is None:
                raise KeyError(f"lake dataset {name!r} does not exist")
            t = ibis.memtable(schema.empty_table())
        else:
            if self.engine == "spark":
                # ibis's PySpark read_parquet takes one path; Spark's reader takes many.
                df = self.con._session.read.option("mergeSchema", "true").parquet(*[str(f) for f in files])
                df.createOrReplaceTempView(f"lake_{name}")
                t = self.con.table(f"lake_{name}")
            else:
                t = self.con.read_parquet([str(f) for f in files], table_name=f"lake_{name}")
            if schema is not None:
                # Normalise column order and types: older batches may miss optional columns.
                t = t.select([t[f.name] for f in schema])
        self._registered[name] = t
        return t

    def register(self, name: str, data: pa.Table):  # -> ibis.Table
        """Make an in-memory Arrow table (e.g. a store snapshot) queryable as ``name``."""
        import ibis

        if self.engine == "spark":
            # Spark dialect difference: ibis ships a memtable to Spark through pandas, where a null
            # string becomes NaN and then the *string* 'NaN' (e.g. a group without unit_id got
            # unit_id 'NaN' → FOREIGN KEY failure on the findings). Parquet keeps nulls exactly and a
            # file under the lake is also visible to executors on a cluster.
            # (The file must not be named after ``name``: Spark skips files whose name starts with "_".)
            d = self._tmpdir()
            pq.write_table(data, d / "part-0.parquet")
            df = self.con._session.read.parquet(str(d / "part-0.parquet"))
            df.createOrReplaceTempView(f"reg_{name}")
            t = self.con.table(f"reg_{name}")
            self._registered[name] = t
            return t
        t = ibis.memtable(data)  # ibis 12: memtable() takes no name
        self._registered[name] = t
        return t

    def forget(self, name: str) -> None:
        self._registered.pop(name, None)

    def to_arrow(self, expr) -> pa.Table:
        """Execute an Ibis expression and return Arrow (results fully consumed: engines.md pitfall 11)."""
        return self.con.to_pyarrow(expr)

    # -- writing ------------------------------------------------------------------------------------
    def _tmpdir(self) -> Path:
        d = self.root / "_tmp" / uuid.uuid4().hex
        d.mkdir(parents=True, exist_ok=True)
        return d

    def replace(self, name: str, data: pa.Table | Iterable[pa.RecordBatch] | Any) -> int:
        """Replace a derived dataset whole, atomically. ``data`` is Arrow or an Ibis expression."""
        if name in APPEND_ONLY:
            raise ValueError(f"{name} is append-only; use append_batch")
        schema = SCHEMAS.get(name)
        tmp = self._tmpdir()
        staged = tmp / name
        staged.mkdir()
        if not isinstance(data, pa.Table) and self.engine == "duckdb" and schema is not None:
            # an Ibis expression on DuckDB streams into the file batch by batch, cast to the dataset's
            # schema: a derived dataset of tens of millions of rows (indicators at 10M messages) is never
            # held whole in Python. (ibis 12's to_pyarrow_batches calls fetch_record_batch, which DuckDB
            # 2.0's connection no longer has; the relation's Arrow reader is what its to_pyarrow uses.)
            reader = self.con._to_duckdb_relation(data).to_arrow_reader(1 << 20)
            rows = self._write_batches(reader, schema, staged / "part-0.parquet")
        else:
            if not isinstance(data, pa.Table):
                data = self.to_arrow(data)
            if schema is not None:
                data = data.select(schema.names).cast(schema)
            pq.write_table(data, staged / "part-0.parquet", compression="zstd")
            rows = data.num_rows
        target = self.path(name)
        old = None
        if target.exists():
            old = tmp / f"{name}.old"
            os.replace(target, old)
        os.replace(staged, target)
        shutil.rmtree(tmp, ignore_errors=True)
        self.forget(name)
        return rows

    @staticmethod
    def _write_batches(reader: pa.RecordBatchReader, schema: pa.Schema | None, path: Path) -> int:
        """Write a record-batch stream to one Parquet file (cast to ``schema`` when given); fully
        consumes the stream (DuckDB refuses a new statement while a result is unfinished)."""
        target = schema if schema is not None else reader.schema
        rows = 0
        with pq.ParquetWriter(path, target, compression="zstd") as w:
            for b in reader:
                if b.num_rows == 0:
                    continue
                t = pa.Table.from_batches([b])
                if schema is not None:
                    t = t.select(schema.names).cast(schema)
                w.write_table(t)
                rows += b.num_rows
            if rows == 0:
                w.write_table(target.empty_table())
        return rows

    def stage_batch(self, name: str, batch_id: str, schema: pa.Schema | None = None) -> StagedBatch:
        """Begin writing an import batch: write record batches, then ``commit()``; until then
        nothing is visible, and an interrupted process leaves only a folder under ``_tmp``."""
        return StagedBatch(self, name, batch_id, schema or SCHEMAS[name])

    def append_batch(self, name: str, batch_id: str, data: pa.Table) -> int:
        with self.stage_batch(name, batch_id) as st:
            st.write(data)
        return data.num_rows

    def drop_batch(self, name: str, batch_id: str) -> None:
        shutil.rmtree(self.path(name) / f"batch={batch_id}", ignore_errors=True)
        self.forget(name)

    def clean_tmp(self) -> None:
        """Remove what interrupted writes left behind (never visible to readers)."""
        shutil.rmtree(self.root / "_tmp", ignore_errors=True)


class StagedBatch:
    def __init__(self, lake: Lake, name: str, batch_id: str, schema: pa.Schema):
        self.lake, self.name, self.batch_id, self.schema = lake, name, batch_id, schema
        self.dir = lake._tmpdir()
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._parts = 0

    def write(self, data: pa.Table | pa.RecordBatch) -> None:
        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        if data.num_rows == 0:
            return
        data = data.select(self.schema.names).cast(self.schema)
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self.dir / "part-0.parquet",
                self.schema,
                compression="zstd",
                use_dictionary=DICTIONARY_COLUMNS.get(self.name, True),
                **WRITER_OPTIONS.get(self.name, {}),
            )
        self._writer.write_table(data)
        self.rows += data.num_rows

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            target = self.lake.path(self.name) / f"batch={self.batch_id}"
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                raise FileExistsError(f"batch {self.batch_id} already exists in {self.name}")
            os.replace(self.dir, target)
        self.lake.forget(self.name)
        shutil.rmtree(self.dir, ignore_errors=True)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> StagedBatch:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
