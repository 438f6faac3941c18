"""Parity: the whole analysis (every pipeline step) gives identical outputs on DuckDB and on Spark
local mode, on a small demo county.

One demo workspace is generated and imported once, copied twice, and analysed once per engine.
Compared exactly (rows sorted on every column): every derived lake dataset either engine wrote, the
store findings (id, category, rule, object, unit, period, severity, title, summary, evidence, policy) and
the recommendations (action, merge target, reasons, evidence). Floating-point columns are compared
with a relative tolerance of 1e-9 (sums are evaluated in a different order on the two engines).

Under CI=true a missing PySpark or Java fails the test instead of skipping it. The SparkSession is
the per-process one from :func:`zhijian.lake.engine.spark_session` (other tests reuse it).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from zhijian.store.models import Finding, Recommendation
from zhijian.workspace import init_workspace, open_workspace

#: Demo size: large enough that every planted pattern appears, small enough for Spark local on 2 cores.
MESSAGES = int(os.environ.get("ZHIJIAN_PARITY_MESSAGES", "20000"))
#: Lake folders written by import, not by the analysis.
IMPORTED = {"messages", "memberships", "_tmp"}
#: Datasets every analysis of the demo writes with rows (labels, signals, dedup, overlap, indicators …).
DERIVED = (
    "message_labels",
    "message_flags",
    "reply_storms",
    "solitaire_rounds",
    "demand_deadlines",
    "notice_clusters",
    "notice_copies",
    "group_overlap",
    "merge_plan",
    "evidence_context",
    "indicators",
)
#: Finding categories of every analysis step (messages, signals, dedup, multireport, screening).
CATEGORIES = {
    "GROUP_ROLLCALL_INSTANT",
    "EXCESSIVE_TRACE",
    "MANDATORY_CHECKIN_POINTS",
    "FORWARD_LIKE_VOTE",
    "ARBITRARY_TASKS",
    "MULTI_REPORTING",
    "AFTER_HOURS",
    "DUPLICATE_GROUP",
    "DUPLICATE",
    "ZOMBIE",
    "STALE_TEMP_GROUP",
    "OFF_TOPIC_GROUP",
    "NONCOMPLIANT_BUILD",
}

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="session")
def spark_engine(spark):
    return spark


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory) -> Path:
    from zhijian.demo import generate
    from zhijian.ingest import import_paths

    base = tmp_path_factory.mktemp("parity")
    generate(base / "exports", messages=MESSAGES, seed=11)
    ws = init_workspace(base / "ws", "青山县")
    import_paths(ws, [base / "exports"])
    ws.close()
    return base


def _analyse(base: Path, engine: str) -> Path:
    from zhijian.analysis.pipeline import run_analysis

    root = base / engine
    shutil.copytree(base / "ws", root)
    ws = open_workspace(root)
    try:
        run_analysis(ws, engine)
    finally:
        ws.close()
    return root


def _derived(root: Path) -> dict[str, pa.Table]:
    lake = root / "lake"
    out = {}
    for d in sorted(p for p in lake.iterdir() if p.is_dir() and p.name not in IMPORTED):
        files = sorted(d.rglob("*.parquet"))
        if files:
            out[d.name] = pa.concat_tables([pq.read_table(f) for f in files])
    return out


def _norm(v):
    """A comparable Python value: timestamps at µs precision (Spark returns ns), lists kept ordered."""
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    return v


def _rows(t: pa.Table) -> list[tuple]:
    rows = [tuple(_norm(r[c]) for c in t.column_names) for r in t.to_pylist()]
    return sorted(rows, key=lambda r: json.dumps(r, ensure_ascii=False, sort_keys=True, default=str))


def _close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    return a == b


def _store(root: Path) -> tuple[list[dict], list[dict]]:
    ws = open_workspace(root)
    try:
        with ws.store.session() as s:
            findings = [
                {
                    "id": f.id,
                    "category": f.category,
                    "rule_id": f.rule_id,
                    "object": (f.object_type, f.object_id),
                    "unit_id": f.unit_id,
                    "period": f.period,
                    "severity": f.severity,
                    "title": f.title,
                    "summary": f.summary,
                    "evidence": f.evidence,
                    "policy": f.policy,
                    "active": f.active,
                }
                for f in s.scalars(select(Finding).order_by(Finding.id))
            ]
            recs = [
                {
                    "id": r.id,
                    "object": (r.object_type, r.object_id),
                    "unit_id": r.unit_id,
                    "action": r.action,
                    "merge_into": r.merge_into,
                    "reasons": r.reasons,
                    "evidence": r.evidence,
                }
                for r in s.scalars(select(Recommendation).order_by(Recommendation.id))
            ]
    finally:
        ws.close()
    return findings, recs


@pytest.mark.timeout(1800)
def test_whole_analysis_identical_on_duckdb_and_spark(demo_ws: Path, spark_engine) -> None:
    duck = _analyse(demo_ws, "duckdb")
    spark = _analyse(demo_ws, "spark")

    d_sets, s_sets = _derived(duck), _derived(spark)
    assert set(d_sets) == set(s_sets), "both engines must write the same derived datasets"
    # Every step's datasets must be present (the pipeline ran end to end) and non-trivial: the demo
    # county plants reply storms, 接龙 rounds, deadlines, duplicated notices and overlapping groups.
    for name in DERIVED:
        assert name in d_sets and d_sets[name].num_rows > 0, name
    for name in sorted(d_sets):
        d, s = d_sets[name], s_sets[name]
        assert d.column_names == s.column_names, name
        assert d.num_rows == s.num_rows, f"{name}: {d.num_rows} rows on DuckDB, {s.num_rows} on Spark"
        dr, sr = _rows(d), _rows(s)
        for i, (a, b) in enumerate(zip(dr, sr, strict=True)):
            assert _close(list(a), list(b)), f"{name} row {i} differs:\nduckdb {a}\nspark  {b}"

    d_find, d_rec = _store(duck)
    s_find, s_rec = _store(spark)
    assert {f["category"] for f in d_find if f["active"]} >= CATEGORIES, "the demo must produce findings"
    assert [f["id"] for f in d_find] == [f["id"] for f in s_find]
    for a, b in zip(d_find, s_find, strict=True):
        assert _close(_norm(a), _norm(b)), f"finding {a['id']} differs:\nduckdb {a}\nspark  {b}"
    assert [r["id"] for r in d_rec] == [r["id"] for r in s_rec]
    for a, b in zip(d_rec, s_rec, strict=True):
        assert _close(_norm(a), _norm(b)), f"recommendation {a['id']} differs:\nduckdb {a}\nspark  {b}"
