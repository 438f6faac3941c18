"""Figures for the reports, gathered from the store and the lake (one place, so every report
shows the same numbers and each can list the ids behind them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from zhijian.store.models import Account, AnalysisRun, App, Group
from zhijian.store.queries import findings_by_category, list_findings
from zhijian.workspace import Workspace

DEMAND_LABELS = (
    "roll_call_demand",
    "checkin_demand",
    "proof_demand",
    "instant_response_demand",
    "data_request",
    "forward_like_demand",
    "app_usage_demand",
)


@dataclass
class SummaryData:
    name: str
    generated: dt.datetime
    as_of: str | None
    objects: dict[str, dict[str, int]]  # type -> status -> count
    messages: int
    first_day: str | None
    last_day: str | None
    findings_by_category: dict[str, int]
    findings: list[dict[str, Any]]
    weekly_demands: dict[str, dict[str, int]] = field(default_factory=dict)  # label -> week -> count
    weekly_after_hours: dict[str, int] = field(default_factory=dict)  # week -> non-urgent after-hours demands
    weeks: list[str] = field(default_factory=list)


def gather_summary(ws: Workspace, findings_limit: int | None = None) -> SummaryData:
    store = ws.store
    objects: dict[str, dict[str, int]] = {}
    with store.session() as s:
        for key, model in (("group", Group), ("app", App), ("account", Account)):
            rows = s.execute(select(model.status, func.count()).group_by(model.status)).all()
            objects[key] = {st: int(n) for st, n in rows}
        run = s.scalars(select(AnalysisRun).order_by(AnalysisRun.id.desc()).limit(1)).first()
        as_of = run.summary.get("as_of") if run else None
    lake = ws.lake()
    msgs = lake.table("messages")
    agg = lake.to_arrow(msgs.aggregate(n=msgs.count(), lo=msgs.local_ts.min(), hi=msgs.local_ts.max()))
    n = int(agg["n"][0].as_py() or 0)
    lo, hi = agg["lo"][0].as_py(), agg["hi"][0].as_py()
    rows, _ = list_findings(store, limit=findings_limit)
    data = SummaryData(
        name=ws.config.workspace.name,
        generated=dt.datetime.now().replace(microsecond=0),
        as_of=as_of,
        objects=objects,
        messages=n,
        first_day=lo.date().isoformat() if lo else None,
        last_day=hi.date().isoformat() if hi else None,
        findings_by_category=findings_by_category(store),
        findings=rows,
    )
    if n and lake.exists("message_labels"):
        _weekly(ws, data)
    return data


def _weekly(ws: Workspace, data: SummaryData) -> None:
    from zhijian.analysis.calendar import calendar_table, with_working_time

    lake = ws.lake()
    msgs = lake.table("messages")
    labels = lake.table("message_labels")
    demands = labels.filter(labels.label.isin(DEMAND_LABELS))
    j = demands.join(msgs, "message_id")
    week = j.local_ts.truncate("W").date().cast("string")
    t = lake.to_arrow(j.mutate(week=week).group_by(["label", "week"]).aggregate(n=j.message_id.count()))
    weeks: set[str] = set()
    for lab, wk, cnt in zip(t["label"].to_pylist(), t["week"].to_pylist(), t["n"].to_pylist(), strict=True):
        data.weekly_demands.setdefault(lab, {})[wk] = int(cnt)
        weeks.add(wk)
    # non-urgent demands after hours, per week
    wh = ws.config.policy.working_hours
    first = dt.date.fromisoformat(data.first_day)
    last = dt.date.fromisoformat(data.last_day)
    cal, _ = calendar_table(first, last, wh)
    lake.register("report_calendar", cal)
    dm = msgs.filter(msgs.message_id.isin(demands.message_id))
    if lake.exists("message_flags"):
        flags = lake.table("message_flags")
        dm = dm.filter(~dm.message_id.isin(flags.filter(flags.urgent).message_id))
    wt = with_working_time(dm, lake.table("report_calendar"), wh)
    wt = wt.filter(wt.after_hours)
    wk = wt.mutate(week=wt.local_ts.truncate("W").date().cast("string"))
    t2 = lake.to_arrow(wk.group_by("week").aggregate(n=wk.count()))
    data.weekly_after_hours = {
        w: int(c) for w, c in zip(t2["week"].to_pylist(), t2["n"].to_pylist(), strict=True)
    }
    data.weeks = sorted(weeks | set(data.weekly_after_hours))
