"""The analysis pipeline: runs each step over the lake in the engine and writes findings.

A step is a function ``step(ctx: AnalysisContext) -> StepResult`` in its own module, listed in
:data:`STEPS` in running order. Steps read lake datasets and the inventory snapshot through the
context, write derived datasets with ``ctx.lake.replace(...)``, and return finding drafts; the
pipeline upserts all drafts in one store transaction at the end (stable ids, workflow kept).
"""

from __future__ import annotations

import datetime as dt
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zhijian.analysis.calendar import calendar_table, with_working_time
from zhijian.analysis.findings import FindingDraft, UpsertResult, upsert_findings
from zhijian.config import Config
from zhijian.lake import Lake
from zhijian.store.models import AnalysisRun
from zhijian.store.snapshot import inventory_tables
from zhijian.workspace import Workspace

#: Steps in running order, as "module:function". Each module owns one concept.
STEPS: list[str] = [
    "zhijian.analysis.labels:step",
    "zhijian.analysis.signals:step",
    "zhijian.analysis.dedup:step",
    "zhijian.analysis.multireport:step",
    "zhijian.analysis.lifecycle:step",
    "zhijian.analysis.overlap:step",
    "zhijian.analysis.recommend:step",
    "zhijian.analysis.burden:step",
]


@dataclass
class StepResult:
    findings: list[FindingDraft] = field(default_factory=list)
    rules_run: set[str] = field(default_factory=set)  # rule ids evaluated (found or not)
    datasets: dict[str, int] = field(default_factory=dict)  # lake datasets written: rows
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class AnalysisContext:
    ws: Workspace
    lake: Lake
    config: Config
    as_of: dt.date  # reference date for "days since"; default: day after the newest message
    first_day: dt.date | None
    last_day: dt.date | None
    uncovered_years: list[int] = field(default_factory=list)
    shared: dict[str, Any] = field(default_factory=dict)  # values steps hand to later steps

    @property
    def policy(self):
        return self.config.policy

    def messages(self):
        """The messages table with ``workday`` and ``after_hours`` (local working time) added."""
        key = "_messages_wt"
        if key not in self.shared:
            t = self.lake.table("messages")
            self.shared[key] = with_working_time(t, self.lake.table("calendar"), self.policy.working_hours)
        return self.shared[key]

    def inventory(self, name: str):
        """Inventory snapshot from the store: units, people, groups, apps, accounts."""
        return self.lake.table(f"inv_{name}")


def _load(spec: str) -> Callable[[AnalysisContext], StepResult]:
    mod, fn = spec.split(":")
    return getattr(importlib.import_module(mod), fn)


def prepare(ws: Workspace, engine: str | None = None, as_of: dt.date | None = None) -> AnalysisContext:
    lake = ws.lake(engine)
    for name, table in inventory_tables(ws.store).items():
        lake.register(f"inv_{name}", table)
    msgs = lake.table("messages")
    rng = lake.to_arrow(msgs.aggregate(lo=msgs.local_ts.min(), hi=msgs.local_ts.max()))
    lo, hi = rng.column("lo")[0].as_py(), rng.column("hi")[0].as_py()
    first = lo.date() if lo else None
    last = hi.date() if hi else None
    if as_of is None:
        as_of = (last + dt.timedelta(days=1)) if last else dt.date.today()
    cal_start = min(d for d in (first, as_of - dt.timedelta(days=400)) if d)
    cal_end = max(d for d in (last, as_of + dt.timedelta(days=60)) if d)
    cal, uncovered = calendar_table(cal_start, cal_end, ws.config.policy.working_hours)
    lake.register("calendar", cal)
    return AnalysisContext(ws, lake, ws.config, as_of, first, last, uncovered)


@dataclass
class AnalysisSummary:
    engine: str
    as_of: dt.date
    steps: dict[str, dict[str, Any]]
    findings: UpsertResult
    seconds: float
    uncovered_years: list[int]


def run_analysis(
    ws: Workspace,
    engine: str | None = None,
    as_of: dt.date | None = None,
    progress: Callable[[str, str], None] | None = None,
    steps: list[str] | None = None,
) -> AnalysisSummary:
    """Run every step (or the named ones) and upsert the findings; re-runs update, never duplicate."""
    t0 = time.perf_counter()
    ctx = prepare(ws, engine, as_of)
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    drafts: list[FindingDraft] = []
    rules_run: set[str] = set()
    report: dict[str, dict[str, Any]] = {}
    for spec in STEPS:
        name = spec.split(":")[0].rsplit(".", 1)[-1]
        if steps is not None and name not in steps:
            continue
        if progress:
            progress(name, "start")
        s0 = time.perf_counter()
        res = _load(spec)(ctx)
        drafts.extend(res.findings)
        rules_run |= res.rules_run | {d.rule_id for d in res.findings}
        report[name] = {
            "seconds": round(time.perf_counter() - s0, 2),
            "findings": len(res.findings),
            "datasets": res.datasets,
            **res.metrics,
        }
        if progress:
            progress(name, "done")
    up = upsert_findings(ws.store, drafts, rules_run)
    if (
        steps is None
    ):  # evidence messages in context for the web's finding pages (analysis/evidence_context.py)
        from zhijian.analysis.evidence_context import build as build_evidence_context

        report["evidence_context"] = build_evidence_context(ws)
    seconds = time.perf_counter() - t0
    with ws.store.session() as s:
        s.add(
            AnalysisRun(
                started_at=started,
                finished_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                engine=ctx.lake.engine,
                summary={
                    "as_of": ctx.as_of.isoformat(),
                    "steps": report,
                    "findings": {"new": up.new, "updated": up.updated, "deactivated": up.deactivated},
                    "by_category": up.by_category,
                },
            )
        )
    return AnalysisSummary(ctx.lake.engine, ctx.as_of, report, up, seconds, ctx.uncovered_years)
