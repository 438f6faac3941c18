"""Campaign figures for the reports, each with the ids behind it (traceability):

- 精简率 per object type and unit (:func:`zhijian.analysis.campaign.reduction_rates`: objects active on
  the campaign date → on the end date, ``(before − after) ÷ before``); plus the planned rate of the screening
  (合并 + 清除 among objects in use, by the unit's decision or else the recommendation);
- burden indicators before / after the campaign date: the change per person with its 95 % bootstrap
  interval from :func:`zhijian.analysis.campaign.indicator_effect`, and the weekly trend lines from the
  county / unit rows of the lake ``indicators`` (written by the burden step);
- the merge plan's effect (``zhijian.analysis.recommend.read_plan``);
- rectification progress of the findings by deadline and status (on time, late, pending, overdue).

Privacy: indicators are read at county, unit and group scope only, never per person; a unit's
figures appear only when the unit's subtree has at least ``policy.privacy.min_group_size`` people.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select

from zhijian.report.catalog import OBJECT_KINDS, catalog_rows
from zhijian.report.scope import Scope
from zhijian.store.models import Account, App, Finding, FindingEvent, Group
from zhijian.workspace import Workspace

MODELS = {"group": Group, "app": App, "account": Account}
CREATED = {"group": "created_on", "app": "launched_on", "account": "created_on"}
#: Chinese names of burden metrics (the burden step's own names win when it exposes them).
METRIC_ZH = {
    "groups_joined": "加入工作群数",
    "messages_received": "收到消息数",
    "demands_received": "收到各类要求数",
    "replies_required": "需回复数",
    "replies_sent": "回复数",
    "after_hours_demands": "非工作时间要求数",
    "after_hours_demands_received": "非工作时间要求数",
    "duplicate_notices": "重复通知数",
    "duplicate_notice_copies": "重复通知副本数",
    "checkin_apps": "打卡积分类应用要求数",
    "burden_index": "负担综合指数",
    "people": "人数",
}
DONE = ("verified", "closed")
PROGRESS_BUCKETS = ("已按期整改", "逾期后完成", "整改中（未逾期）", "已逾期未完成", "未设时限")


def metric_name(metric: str) -> str:
    try:  # the burden step documents its metrics; its names win
        from zhijian.analysis.burden import METRICS

        spec = METRICS.get(metric)
        if isinstance(spec, dict) and spec.get("zh"):
            return str(spec["zh"])
    except ImportError:
        pass
    return METRIC_ZH.get(metric, metric)


# ── 精简率 ──────────────────────────────────────────────────────────────────────────────────────────
@dataclass
class Reduction:
    object_type: str
    unit_id: str | None  # None: the whole scope
    before: int
    after: int
    planned: int  # in use now and planned for merge or removal
    # the objects behind the counts (the same definition of "in use on a day" as before / after):
    removed_ids: list[str] = field(default_factory=list)  # in use on the campaign date, not at the end
    new_ids: list[str] = field(default_factory=list)  # not in use on the campaign date, in use at the end

    @property
    def rate(self) -> float | None:
        return (self.before - self.after) / self.before if self.before else None

    @property
    def planned_rate(self) -> float | None:
        return self.planned / self.after if self.after else None


def reductions(ws: Workspace, scope: Scope, campaign: dt.date, end: dt.date | None = None) -> list[Reduction]:
    """Per object type: the scope's total, then each unit (its subtree) with objects, in path order.
    The counts are :func:`zhijian.analysis.campaign.reduction_rates` (campaign date → ``end``)."""
    from zhijian.analysis.campaign import reduction_rates_many

    end = end or scope.end or dt.date.today()
    rows = catalog_rows(ws, scope)
    planned = {r.key for k in OBJECT_KINDS for r in rows[k] if r.conclusion in ("合并", "清除")}
    objs: dict[str, list[Any]] = {}
    with ws.store.session() as s:
        for kind, model in MODELS.items():
            objs[kind] = [o for o in s.scalars(select(model)) if scope.contains(o.unit_id)]
            for o in objs[kind]:
                s.expunge(o)
    with_objects = {o.unit_id for v in objs.values() for o in v if o.unit_id in scope.units}
    units = [
        u
        for u in sorted(scope.units.values(), key=lambda u: u.path)
        if u.id != scope.unit_id
        and any(scope.units[x].path.startswith(u.path) for x in with_objects)
        and not all(scope.units[x].path.startswith(u.path) for x in with_objects)
    ]  # would repeat the total
    out: list[Reduction] = []
    rates = reduction_rates_many(ws, campaign, end, [scope.unit_id, *(u.id for u in units)])
    per_unit = {None: rates[scope.unit_id], **{u.id: rates[u.id] for u in units}}
    for kind in OBJECT_KINDS:
        for uid, rr in per_unit.items():
            r = rr[kind]
            if uid is not None and not (r["before"] or r["after"] or r["removed_ids"] or r["new_ids"]):
                continue
            path = scope.units[uid].path if uid else None
            active = [
                o
                for o in objs[kind]
                if o.status == "active"
                and (
                    path is None
                    or (o.unit_id in scope.units and scope.units[o.unit_id].path.startswith(path))
                )
            ]
            out.append(
                Reduction(
                    kind,
                    uid,
                    r["before"],
                    r["after"],
                    sum(1 for o in active if f"{kind}:{o.id}" in planned),
                    r["removed_ids"],
                    r["new_ids"],
                )
            )
    return out


# ── burden before / after ──────────────────────────────────────────────────────────────────────────
@dataclass
class Change:
    metric: str
    before: float
    after: float
    ci: tuple[float, float] | None  # 95 % interval of the mean change per person
    people: int  # people compared (present before and after)

    @property
    def change(self) -> float:
        return self.after - self.before

    @property
    def change_pct(self) -> float | None:
        return self.change / self.before if self.before else None

    @property
    def name(self) -> str:
        return metric_name(self.metric)


@dataclass
class Burden:
    scope_label: str  # what the headline series is about
    scope_kind: str  # county | unit
    scope_id: str | None
    weeks: list[str]
    series: dict[str, dict[str, float]]  # metric -> week -> value (county / unit rows of indicators)
    changes: list[Change]  # zhijian.analysis.campaign.indicator_effect of the headline scope
    units: list[dict[str, Any]]  # per unit (privacy-checked): unit_id, name, before, after, change …
    suppressed_units: int  # units left out for having too few people
    unit_metric: str | None
    rows: int  # indicator rows read for the trend (for the appendix)
    windows: dict[str, Any] = field(default_factory=dict)


def _in_range(week: str, scope: Scope) -> bool:
    return (scope.start is None or week >= scope.start.isoformat()) and (
        scope.end is None or week <= scope.end.isoformat()
    )


def burden(ws: Workspace, scope: Scope, campaign: dt.date | None) -> Burden | None:
    lake = ws.lake()
    if not lake.exists("indicators"):
        return None
    ind = lake.table("indicators")
    ind = ind.filter(ind.scope.isin(["county", "unit"]))  # trend lines: never person-level rows
    t = [
        r for r in lake.to_arrow(ind).to_pylist() if r["value"] is not None and _in_range(r["period"], scope)
    ]
    if scope.unit_id is None:
        kind, sid = "county", None
        head = [r for r in t if r["scope"] == "county"]
        if not head:  # no county rows: the root units stand for the whole
            roots = {u.id for u in scope.units.values() if u.parent_id is None}
            head = [r for r in t if r["scope"] == "unit" and r["scope_id"] in roots]
    else:
        kind, sid = "unit", scope.unit_id
        head = [r for r in t if r["scope"] == "unit" and r["scope_id"] == scope.unit_id]
        if not scope.unit_figures_allowed(scope.unit_id):
            head = []
    series: dict[str, dict[str, float]] = {}
    for r in head:
        m = series.setdefault(r["metric"], {})
        m[r["period"]] = m.get(r["period"], 0.0) + float(r["value"])
    for drop in ("people", "members"):
        series.pop(drop, None)
    weeks = sorted({w for v in series.values() for w in v})
    unit_metric = "burden_index" if "burden_index" in series else (sorted(series)[0] if series else None)
    changes: list[Change] = []
    units: list[dict[str, Any]] = []
    windows: dict[str, Any] = {}
    if campaign is not None:
        from zhijian.analysis.campaign import DEFAULT_METRICS, indicator_effect
        from zhijian.errors import ZhijianError

        before_days = (campaign - scope.start).days if scope.start else 56
        after_days = (scope.end - campaign).days + 1 if scope.end else 56
        metrics = [m for m in DEFAULT_METRICS if m in series] or list(DEFAULT_METRICS)
        try:
            eff = indicator_effect(ws, campaign, before_days, after_days, metrics=metrics, unit=scope.unit_id)
        except ZhijianError:
            eff = {"scopes": []}
        windows = eff.get("windows", {})
        for sc in eff["scopes"]:
            is_head = sc["scope_id"] == ("county" if sid is None else sid)
            if is_head:
                changes = [
                    Change(m, v["before"], v["after"], tuple(v["ci"]) if v.get("ci") else None, sc["people"])
                    for m, v in sc["metrics"].items()
                ]
            elif sc["scope_id"] in scope.units and unit_metric in sc["metrics"]:
                u, v = scope.units[sc["scope_id"]], sc["metrics"][unit_metric]
                units.append(
                    {
                        "unit_id": u.id,
                        "name": u.name,
                        "path": u.path,
                        "parent_id": u.parent_id,
                        "people": sc["people"],
                        "before": v["before"],
                        "after": v["after"],
                        "change": v["change"],
                        "change_pct": v["change_pct"],
                        "ci": tuple(v["ci"]),
                        "mean": v["after"],
                    }
                )
    elif unit_metric:
        per: dict[str, list[float]] = {}
        for r in t:
            if (
                r["scope"] == "unit"
                and r["metric"] == unit_metric
                and r["scope_id"] in scope.units
                and r["scope_id"] != sid
                and scope.unit_figures_allowed(r["scope_id"])
            ):
                per.setdefault(r["scope_id"], []).append(float(r["value"]))
        for uid, vals in per.items():
            u = scope.units[uid]
            units.append(
                {
                    "unit_id": uid,
                    "name": u.name,
                    "path": u.path,
                    "parent_id": u.parent_id,
                    "mean": float(np.mean(vals)),
                }
            )
    units.sort(key=lambda x: x["path"])
    shown = {x["unit_id"] for x in units}
    suppressed = sum(
        1
        for u in scope.units.values()
        if u.id != sid and u.id not in shown and 0 < scope.people_per_unit.get(u.id, 0) < scope.min_group_size
    )
    return Burden(
        scope.title, kind, sid, weeks, series, changes, units, suppressed, unit_metric, len(head), windows
    )


# ── merge plan ─────────────────────────────────────────────────────────────────────────────────────
def merge_plan(ws: Workspace, scope: Scope) -> dict[str, Any] | None:
    """Merge plans whose groups all lie in the scope; cadres' groups before/after for the whole only."""
    try:
        from zhijian.analysis.recommend import read_plan
    except ImportError:
        return None
    lake = ws.lake()
    if not lake.exists("merge_plan"):
        return None
    plan = read_plan(ws)
    with ws.store.session() as s:
        gunits = dict(s.execute(select(Group.id, Group.unit_id)).all())
        gnames = dict(s.execute(select(Group.id, Group.name)).all())
    plans = []
    for p in plan["plans"]:
        ids = [g["id"] for g in p["groups"]] + [p["target"]]
        if all(scope.contains(gunits.get(i)) for i in ids):
            plans.append(
                {
                    **p,
                    "target_name": gnames.get(p["target"], p["target"]),
                    "group_names": [gnames.get(g["id"], g["id"]) for g in p["groups"]],
                }
            )
    return {
        "plans": plans,
        "groups_per_cadre": plan.get("groups_per_cadre") if scope.unit_id is None else None,
    }


# ── rectification ──────────────────────────────────────────────────────────────────────────────────
@dataclass
class Progress:
    buckets: dict[str, list[str]]  # bucket -> finding ids
    by_unit: dict[str, dict[str, int]]  # unit id -> bucket -> n
    total: int


def rectification(ws: Workspace, scope: Scope, today: dt.date | None = None) -> Progress:
    today = today or dt.date.today()
    buckets: dict[str, list[str]] = {b: [] for b in PROGRESS_BUCKETS}
    by_unit: dict[str, dict[str, int]] = {}
    with ws.store.session() as s:
        fs = [
            f for f in s.scalars(select(Finding).where(Finding.active.is_(True))) if scope.contains(f.unit_id)
        ]
        done_at: dict[str, dt.date] = {}
        for fid, at in s.execute(
            select(FindingEvent.finding_id, FindingEvent.at)
            .where(FindingEvent.to_status.in_(DONE))
            .order_by(FindingEvent.at)
        ):
            done_at.setdefault(fid, at.date())
        for f in fs:
            if f.status in DONE:
                d = done_at.get(f.id)
                b = "逾期后完成" if (f.deadline and d and d > f.deadline) else "已按期整改"
            elif f.deadline is None:
                b = "未设时限"
            elif f.deadline < today:
                b = "已逾期未完成"
            else:
                b = "整改中（未逾期）"
            buckets[b].append(f.id)
            u = by_unit.setdefault(f.unit_id or "", {k: 0 for k in PROGRESS_BUCKETS})
            u[b] += 1
    for v in buckets.values():
        v.sort()
    return Progress(buckets, by_unit, sum(len(v) for v in buckets.values()))
