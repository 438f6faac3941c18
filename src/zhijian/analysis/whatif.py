"""What-if: apply a merge plan or a working-hours rule to the data and project the indicators.

Both scenarios transform the engine tables and recompute the burden indicators with the same code as
the pipeline (:func:`zhijian.analysis.burden.compute`), then compare county and unit means per person
and week with the unchanged data:

- **merge plan**: the store's recommendations (a person's decision wins over the advice): groups to
  ``remove`` disappear with their messages and memberships; groups to ``merge`` are folded into their
  target: their messages move there, their members become members of the target (one membership per
  person), and copies of the same notice (``notice_clusters``) that end up in the same merged group
  are kept once.
- **working hours**: ``periods`` re-computes after-hours against other working hours; rule
  ``urgent-only`` defers every non-urgent message sent after hours to working time (it no longer
  counts as after-hours; counts stay in the same week).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
from sqlalchemy import select

from zhijian.analysis import burden
from zhijian.analysis.activity import enriched_messages
from zhijian.errors import ZhijianError
from zhijian.store.models import Recommendation

COMPARE = (
    "groups_joined",
    "messages_received",
    "demands_received",
    "after_hours_demands_received",
    "after_hours_messages_received",
    "duplicate_notices_received",
    "roll_call_replies_sent",
    "burden_index",
)


def _fate(ws) -> dict[str, str | None]:
    fate: dict[str, str | None] = {}
    with ws.store.session() as s:
        for r in s.scalars(select(Recommendation).where(Recommendation.object_type == "group")):
            act = r.decision if r.decision in ("keep", "merge", "remove") else r.action
            if act == "remove":
                fate[r.object_id] = None
            elif act == "merge" and r.merge_into:
                fate[r.object_id] = r.merge_into
    # follow chains (a -> b -> c) so every merged group lands on a final target
    for g in list(fate):
        seen, t = {g}, fate[g]
        while t is not None and t in fate and t not in seen:
            seen.add(t)
            t = fate[t]
        fate[g] = t
    return fate


def apply_merge_plan(ctx, fate: dict[str, str | None]):
    """(messages, memberships) Ibis tables with the plan applied."""
    import ibis

    ft = ibis.memtable(
        pa.table(
            {"fg": list(fate), "to": pa.array(list(fate.values()), pa.string())},
            schema=pa.schema([("fg", pa.string()), ("to", pa.string())]),
        )
    )
    m = enriched_messages(ctx)
    m = m.left_join(ft, m.group_id == ft.fg)
    m = m.filter(~(m.fg.notnull() & m.to.isnull()))
    m = m.mutate(group_id=ibis.coalesce(m.to, m.group_id)).drop("fg", "to")
    # one copy per notice cluster per (merged) group: keep the earliest
    rn = ibis.row_number().over(group_by=[m.group_id, m.cluster_id], order_by=[m.local_ts, m.message_id])
    m = m.mutate(_rn=rn)
    m = m.filter(m.cluster_id.isnull() | (m._rn == 0)).drop("_rn")
    mem = ctx.lake.table("memberships")
    mem = mem.left_join(ft, mem.group_id == ft.fg)
    mem = mem.filter(~(mem.fg.notnull() & mem.to.isnull()))
    mem = mem.mutate(group_id=ibis.coalesce(mem.to, mem.group_id))
    still = ibis.ifelse(mem.left_at.isnull(), 1, 0)
    mem = mem.group_by("group_id", "person_id").aggregate(
        joined_at=mem.joined_at.min(), left_max=mem.left_at.max(), open_=still.max()
    )
    mem = mem.select(
        "group_id",
        "person_id",
        "joined_at",
        left_at=ibis.ifelse(mem.open_ == 1, ibis.null("timestamp"), mem.left_max),
    )
    return m, mem


def apply_working_hours(ctx, periods: list[str] | None, rule: str | None):
    import ibis

    from zhijian.analysis.calendar import with_working_time
    from zhijian.config import WorkingHours

    m = enriched_messages(ctx)
    if periods:
        try:
            wh = WorkingHours(**{**ctx.policy.working_hours.model_dump(), "periods": periods})
        except Exception as e:  # pydantic ValidationError
            raise ZhijianError(
                f"工作时段 {periods} 不合法（应为 HH:MM-HH:MM）", f"bad working periods {periods}: {e}"
            ) from e
        base = ctx.lake.table("messages")
        alt = with_working_time(base, ctx.lake.table("calendar"), wh).select(
            a_id="message_id", a_ah="after_hours"
        )
        m = m.inner_join(alt, m.message_id == alt.a_id).drop("a_id")
        m = m.mutate(after_hours=m.a_ah).drop("a_ah")
        m = m.mutate(
            ah_demand=ibis.ifelse((m.demand == 1) & m.after_hours & ~m.urgent, 1, 0).cast("int64"),
            ah_message=ibis.ifelse((m.counted == 1) & m.after_hours & ~m.urgent, 1, 0).cast("int64"),
        )
    if rule == "urgent-only":
        m = m.mutate(ah_demand=ibis.literal(0).cast("int64"), ah_message=ibis.literal(0).cast("int64"))
    elif rule not in (None, ""):
        raise ZhijianError(
            f"未知的工作时间规则 {rule!r}（可选 urgent-only）", f"unknown rule {rule!r}; use urgent-only"
        )
    return m, ctx.lake.table("memberships")


def _summary(ctx, person, lo: str | None, hi: str | None) -> dict[str, dict[str, float]]:
    """County and unit means per person-week of COMPARE metrics (≥ min_group_size people)."""
    min_people = ctx.policy.privacy.min_group_size
    if lo:
        person = person.filter(person.period >= lo)
    if hi:
        person = person.filter(person.period <= hi)
    u, c = burden.aggregate_units(ctx, person, min_people)
    out: dict[str, dict[str, float]] = {}
    for r in ctx.lake.to_arrow(c.aggregate(**{k: c[k].mean() for k in ("people", *COMPARE)})).to_pylist():
        if r["people"] is not None:
            out["county"] = {k: float(r[k]) for k in ("people", *COMPARE)}
    ua = u.group_by("unit_id").aggregate(**{k: u[k].mean() for k in ("people", *COMPARE)})
    for r in ctx.lake.to_arrow(ua).to_pylist():
        out[r["unit_id"]] = {k: float(r[k]) for k in ("people", *COMPARE)}
    return out


def project(
    ws,
    *,
    merge_plan: bool = False,
    periods: list[str] | None = None,
    rule: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> dict[str, Any]:
    """Baseline vs scenario: mean weekly indicators per person, county and units."""
    from zhijian.analysis.pipeline import prepare

    if not (merge_plan or periods or rule):
        raise ZhijianError("请指定 --merge-plan 或 --working-hours", "give --merge-plan or --working-hours")
    ctx = prepare(ws)
    lo = date_from.isoformat() if date_from else None
    hi = date_to.isoformat() if date_to else None
    base = burden.compute(ctx)["person"]
    scenario: dict[str, Any] = {}
    if merge_plan:
        fate = _fate(ws)
        if not fate:
            raise ZhijianError(
                "当前没有合并或清除建议，请先运行 zhijian screen",
                "no merge / remove recommendations; run zhijian screen",
            )
        m, mem = apply_merge_plan(ctx, fate)
        scenario = {
            "kind": "merge_plan",
            "groups_removed": sum(1 for v in fate.values() if v is None),
            "groups_merged": sum(1 for v in fate.values() if v is not None),
        }
    else:
        m, mem = apply_working_hours(ctx, periods, rule)
        scenario = {"kind": "working_hours", "periods": periods, "rule": rule}
    proj = burden.compute(ctx, m, mem)["person"]
    b = _summary(ctx, base, lo, hi)
    p = _summary(ctx, proj, lo, hi)
    rows = {}
    for sid in b:
        if sid not in p:
            continue
        rows[sid] = {
            k: {
                "before": round(b[sid][k], 3),
                "after": round(p[sid][k], 3),
                "change_pct": round((p[sid][k] - b[sid][k]) / b[sid][k], 4) if b[sid][k] else None,
            }
            for k in COMPARE
        }
    return {"scenario": scenario, "from": lo, "to": hi, "scopes": rows}
