"""Campaign evaluation: 精简率 per object type, and each burden indicator before / after a date.

精简率 (reduction rate), as the provincial reports publish it (江西 2020: "42,355 → 23,065，清理率
45.53%"): objects active on the first date → objects active on the second, rate = (before − after) /
before. An object is active on day d when it was created on or before d (``created_on`` for groups
and accounts, ``launched_on`` for apps; unknown = always) and not dissolved by then
(``dissolved_on`` > d or null). An object whose status says it is gone (dissolved / merged / removed /
closed) but that has no ``dissolved_on`` counts as gone on the second date.

Indicator effect: per person, the mean weekly value of a person metric (lake ``indicators``) over the
weeks before the campaign date and over the weeks after it (the week containing the date is left out
unless the date is a Monday; only weeks in which the person was in at least one group count). People
present in both windows are compared pairwise: change = mean(after − before), with a percentile
bootstrap confidence interval over people (numpy, seeded). Per unit (subtree) only when at least
``policy.privacy.min_group_size`` people are compared; never per person.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from sqlalchemy import select

from zhijian.errors import ZhijianError
from zhijian.store.models import Account, App, Group, Person, Unit

GONE = ("dissolved", "merged", "removed", "closed")
OBJECTS = {"group": (Group, "created_on"), "app": (App, "launched_on"), "account": (Account, "created_on")}
DEFAULT_METRICS = (
    "messages_received",
    "demands_received",
    "after_hours_demands_received",
    "roll_call_replies_sent",
    "duplicate_notices_received",
    "groups_joined",
    "burden_index",
)


def _active_on(created: dt.date | None, dissolved: dt.date | None, status: str, d: dt.date, final: bool) -> bool:
    if created is not None and created > d:
        return False
    if dissolved is not None:
        return dissolved > d
    return not (final and status in GONE)


def reduction_rates(ws, before: dt.date, after: dt.date, unit: str | None = None) -> dict[str, dict[str, Any]]:
    """精简率 per object type between two dates (optionally within a unit's subtree)."""
    if after < before:
        raise ZhijianError(f"结束日期 {after} 早于开始日期 {before}", f"end date {after} is before start date {before}")
    out: dict[str, dict[str, Any]] = {}
    with ws.store.session() as s:
        scope = None
        if unit:
            u = s.get(Unit, unit)
            if u is None:
                raise ZhijianError(f"未知单位编码 {unit!r}", f"unknown unit {unit!r}")
            scope = {uid for (uid,) in s.execute(select(Unit.id).where(Unit.path.startswith(u.path)))}
        for otype, (model, created_col) in OBJECTS.items():
            rows = s.execute(select(getattr(model, created_col), model.dissolved_on, model.status, model.unit_id)).all()
            n0 = n1 = 0
            for created, dissolved, status, uid in rows:
                if scope is not None and uid not in scope:
                    continue
                n0 += _active_on(created, dissolved, status or "active", before, False)
                n1 += _active_on(created, dissolved, status or "active", after, True)
            rate = round((n0 - n1) / n0, 4) if n0 else None
            out[otype] = {"before": n0, "after": n1, "reduced": n0 - n1, "rate": rate}
    tot0 = sum(v["before"] for v in out.values())
    tot1 = sum(v["after"] for v in out.values())
    out["total"] = {"before": tot0, "after": tot1, "reduced": tot0 - tot1, "rate": round((tot0 - tot1) / tot0, 4) if tot0 else None}
    return out


def _windows(date: dt.date, before_days: int, after_days: int) -> tuple[str, str, str, str]:
    cw = date - dt.timedelta(days=date.weekday())
    first_after = cw if date.weekday() == 0 else cw + dt.timedelta(days=7)
    lo = date - dt.timedelta(days=before_days)
    hi = date + dt.timedelta(days=after_days)
    return lo.isoformat(), cw.isoformat(), first_after.isoformat(), hi.isoformat()


def person_windows(ws, date: dt.date, before_days: int, after_days: int, metrics) -> dict[str, Any]:
    """Per person and metric, mean weekly value before / after (engine aggregate), as numpy arrays."""
    import ibis

    lake = ws.lake()
    if not lake.exists("indicators"):
        raise ZhijianError("尚无负担指标，请先运行 zhijian analyze", "no indicators yet; run zhijian analyze first")
    lo, cw, fa, hi = _windows(date, before_days, after_days)
    t = lake.table("indicators")
    t = t.filter((t.scope == "person") & (t.metric.isin(["groups_joined", *metrics])))
    win = ibis.cases(((t.period >= lo) & (t.period < cw), "before"), ((t.period >= fa) & (t.period < hi), "after"), else_=None)
    t = t.mutate(win=win).filter(lambda x: x.win.notnull())
    weeks = t.filter(t.metric == "groups_joined")
    weeks = weeks.group_by(w_pid="scope_id", w_win="win").aggregate(nw=weeks.count())
    sums = t.group_by("scope_id", "win", "metric").aggregate(v=t.value.sum())
    rows = lake.to_arrow(weeks).to_pylist()
    vals = lake.to_arrow(sums).to_pylist()
    nweeks: dict[tuple[str, str], int] = {(r["w_pid"], r["w_win"]): r["nw"] for r in rows}
    people = sorted({p for (p, w) in nweeks if (p, "before") in nweeks and (p, "after") in nweeks})
    pos = {p: i for i, p in enumerate(people)}
    arr = {m: {"before": np.zeros(len(people)), "after": np.zeros(len(people))} for m in metrics}
    for r in vals:
        i = pos.get(r["scope_id"])
        if i is None or r["metric"] not in arr:
            continue
        arr[r["metric"]][r["win"]][i] = r["v"] / nweeks[(r["scope_id"], r["win"])]
    return {"people": people, "values": arr, "windows": {"before": [lo, cw], "after": [fa, hi]}}


def bootstrap_ci(diff: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``diff`` (resampling people), numpy, seeded."""
    rng = np.random.default_rng(seed)
    n = len(diff)
    if n == 0:
        return (float("nan"), float("nan"))
    means = np.empty(n_boot)
    chunk = max(1, int(2e7 // max(n, 1)))
    for s in range(0, n_boot, chunk):
        k = min(chunk, n_boot - s)
        idx = rng.integers(0, n, size=(k, n))
        means[s : s + k] = diff[idx].mean(axis=1)
    a = (1 - level) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return float(lo), float(hi)


def indicator_effect(
    ws,
    date: dt.date,
    before_days: int = 56,
    after_days: int = 56,
    metrics=DEFAULT_METRICS,
    unit: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Before / after a campaign date per unit (subtree) and for the whole county."""
    min_people = ws.config.policy.privacy.min_group_size
    pw = person_windows(ws, date, before_days, after_days, list(metrics))
    people = pw["people"]
    with ws.store.session() as s:
        unit_of = dict(s.execute(select(Person.id, Person.unit_id)).all())
        units = {u.id: (u.name, u.path, u.level) for u in s.scalars(select(Unit))}
    scopes: list[tuple[str, str, np.ndarray]] = []
    all_idx = np.arange(len(people))
    if unit is None:
        scopes.append(("county", "全县", all_idx))
    targets = [unit] if unit else sorted(units)
    if unit and unit not in units:
        raise ZhijianError(f"未知单位编码 {unit!r}", f"unknown unit {unit!r}")
    person_path = np.array([units.get(unit_of.get(p, ""), ("", "", ""))[1] or "" for p in people], dtype=object)
    for uid in targets:
        path = units[uid][1]
        mask = np.array([pp.startswith(path) for pp in person_path], dtype=bool) if len(people) else np.zeros(0, bool)
        idx = all_idx[mask]
        if len(idx) >= min_people:
            scopes.append((uid, units[uid][0], idx))
    out_scopes = []
    for sid, name, idx in scopes:
        if len(idx) < min_people:
            continue
        res = {}
        for k, m in enumerate(metrics):
            b = pw["values"][m]["before"][idx]
            a = pw["values"][m]["after"][idx]
            d = a - b
            lo, hi = bootstrap_ci(d, n_boot, seed + k)
            mb = float(b.mean())
            res[m] = {
                "before": round(mb, 4),
                "after": round(float(a.mean()), 4),
                "change": round(float(d.mean()), 4),
                "change_pct": round(float(d.mean()) / mb, 4) if mb else None,
                "ci": [round(lo, 4), round(hi, 4)],
            }
        out_scopes.append({"scope_id": sid, "name": name, "people": int(len(idx)), "metrics": res})
    return {"date": date.isoformat(), "windows": pw["windows"], "min_people": min_people, "n_boot": n_boot,
            "seed": seed, "scopes": out_scopes}


def evaluate(ws, date: dt.date, before_days: int = 56, after_days: int = 56, unit: str | None = None,
             seed: int = 0) -> dict[str, Any]:
    """The whole campaign evaluation for the CLI and reports."""
    d0 = date - dt.timedelta(days=before_days)
    d1 = date + dt.timedelta(days=after_days)
    return {
        "reduction": reduction_rates(ws, d0, d1, unit),
        "reduction_dates": [d0.isoformat(), d1.isoformat()],
        "indicators": indicator_effect(ws, date, before_days, after_days, unit=unit, seed=seed),
    }
