"""Campaign evaluation: 精简率 per object type, and each burden indicator before / after a date.

精简率 (reduction rate), as the provincial reports publish it (江西 2020: "42,355 → 23,065，清理率
45.53%"): objects active on the first date → objects active on the second, rate = (before − after) /
before. An object is active on day d when it was created on or before d (``created_on`` for groups
and accounts, ``launched_on`` for apps; unknown = always) and not dissolved by then
(``dissolved_on`` > d or null). An object whose status says it is gone (dissolved / merged / removed /
closed) but that has no ``dissolved_on`` counts as gone on the second date. A group the inventory
still lists as active but whose membership list shows that every member has left
(:func:`observed_dissolutions`, the same rule as :func:`zhijian.analysis.activity.group_state`) is
gone from the day the last member left: exports record dissolutions before the 摸底表 is updated.

Indicator effect: per person, the mean weekly value of a person metric (lake ``indicators``) over the
weeks before the campaign date and over the weeks after it (the week containing the date is left out
unless the date is a Monday; only weeks in which the person was in at least one group count). People
present in both windows are compared pairwise: change = mean(after − before), with a percentile
confidence interval from a two-way bootstrap that resamples people and weeks (numpy, seeded): people
of one group receive the same demands, so resampling people alone understates the uncertainty. Per
unit (subtree) only when at least ``policy.privacy.min_group_size`` people are compared; never per
person.

Burden generated: per week, the total over groups of the group metrics (demands sent, after-hours
demands, replies caused …) before / after, change = mean after / mean before − 1 with a bootstrap CI
over weeks. Per-person exposure can rise while fewer demands are sent, when merged groups reach more
people (research/policy.md §d); the report needs both.
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
#: group metrics of ``indicators`` summed per week for the burden generated (:func:`generated_effect`)
GENERATED_METRICS = (
    "messages",
    "demands",
    "after_hours_demands",
    "roll_call_replies",
    "duplicate_copies",
    "demand_load",
    "after_hours_demand_load",
)
DEFAULT_METRICS = (
    "messages_received",
    "demands_received",
    "after_hours_demands_received",
    "roll_call_replies_sent",
    "duplicate_notices_received",
    "groups_joined",
    "burden_index",
)


def _active_on(
    created: dt.date | None, dissolved: dt.date | None, status: str, d: dt.date, final: bool
) -> bool:
    if created is not None and created > d:
        return False
    if dissolved is not None:
        return dissolved > d
    return not (final and status in GONE)


def observed_dissolutions(ws) -> dict[str, dt.date]:
    """Groups whose membership list shows that nobody is left (they have membership rows and every
    row has a ``left_at``) -> the day the last member left. Engine aggregate over ``memberships``."""
    import ibis

    lake = ws.lake()
    if not lake.exists("memberships"):
        return {}
    mem = lake.table("memberships")
    agg = mem.group_by("group_id").aggregate(
        n_open=ibis.ifelse(mem.left_at.isnull(), 1, 0).cast("int64").sum(), last_left=mem.left_at.max()
    )
    agg = agg.filter(agg.n_open == 0)
    out = {}
    for r in lake.to_arrow(agg.select("group_id", "last_left")).to_pylist():
        t = r["last_left"]
        out[r["group_id"]] = t.date() if isinstance(t, dt.datetime) else t
    return out


def reduction_rates(
    ws, before: dt.date, after: dt.date, unit: str | None = None
) -> dict[str, dict[str, Any]]:
    """精简率 per object type between two dates (optionally within a unit's subtree)."""
    return reduction_rates_many(ws, before, after, [unit])[unit]


def reduction_rates_many(
    ws, before: dt.date, after: dt.date, units: list[str | None]
) -> dict[str | None, dict[str, dict[str, Any]]]:
    """:func:`reduction_rates` for several scopes (``None`` = the whole workspace) from one read of the
    objects and of the membership lists (a report's per-unit table asks for dozens of units)."""
    if after < before:
        raise ZhijianError(
            f"结束日期 {after} 早于开始日期 {before}", f"end date {after} is before start date {before}"
        )
    observed = observed_dissolutions(ws)
    with ws.store.session() as s:
        paths = dict(s.execute(select(Unit.id, Unit.path)).all())
        objects = {
            otype: s.execute(
                select(model.id, getattr(model, created_col), model.dissolved_on, model.status, model.unit_id)
            ).all()
            for otype, (model, created_col) in OBJECTS.items()
        }
    # each object's state on both dates, once
    states: dict[str, list[tuple[str, str | None, bool, bool]]] = {}
    for otype, rows in objects.items():
        st = []
        for oid, created, dissolved, status, uid in rows:
            if otype == "group" and dissolved is None and (status or "active") == "active":
                dissolved = observed.get(oid)
            st.append(
                (
                    oid,
                    uid,
                    _active_on(created, dissolved, status or "active", before, False),
                    _active_on(created, dissolved, status or "active", after, True),
                )
            )
        states[otype] = st
    result: dict[str | None, dict[str, dict[str, Any]]] = {}
    for unit in units:
        scope = None
        if unit:
            if unit not in paths:
                raise ZhijianError(f"未知单位编码 {unit!r}", f"unknown unit {unit!r}")
            prefix = paths[unit]
            scope = {uid for uid, path in paths.items() if path.startswith(prefix)}
        out: dict[str, dict[str, Any]] = {}
        for otype, st in states.items():
            n0 = n1 = 0
            removed, new = [], []
            for oid, uid, a0, a1 in st:
                if scope is not None and uid not in scope:
                    continue
                n0 += a0
                n1 += a1
                if a0 != a1:
                    (removed if a0 else new).append(oid)
            rate = round((n0 - n1) / n0, 4) if n0 else None
            out[otype] = {
                "before": n0,
                "after": n1,
                "reduced": n0 - n1,
                "rate": rate,
                # the objects behind the counts: before - after == len(removed_ids) - len(new_ids)
                "removed_ids": sorted(removed),
                "new_ids": sorted(new),
            }
        tot0 = sum(v["before"] for v in out.values())
        tot1 = sum(v["after"] for v in out.values())
        out["total"] = {
            "before": tot0,
            "after": tot1,
            "reduced": tot0 - tot1,
            "rate": round((tot0 - tot1) / tot0, 4) if tot0 else None,
        }
        result[unit] = out
    return result


def _windows(date: dt.date, before_days: int, after_days: int) -> tuple[str, str, str, str]:
    cw = date - dt.timedelta(days=date.weekday())
    first_after = cw if date.weekday() == 0 else cw + dt.timedelta(days=7)
    lo = date - dt.timedelta(days=before_days)
    hi = date + dt.timedelta(days=after_days)
    return lo.isoformat(), cw.isoformat(), first_after.isoformat(), hi.isoformat()


def _week_list(lo: str, hi: str, present: set[str]) -> list[str]:
    return sorted(w for w in present if lo <= w < hi)


def person_windows(ws, date: dt.date, before_days: int, after_days: int, metrics) -> dict[str, Any]:
    """Per person and metric, the weekly values before / after (engine aggregate), as numpy arrays.

    Returns ``people`` (present in at least one week of each window), ``weeks`` ({"before": [...],
    "after": [...]}: the weeks of each window that have indicators), ``present`` and ``values``:
    ``present[win]`` is a people × weeks 0/1 matrix (the person was in at least one group that week,
    i.e. has a ``groups_joined`` row), ``values[metric][win]`` the people × weeks matrix of the metric
    (0 where absent: only non-zero values are stored)."""
    import ibis

    lake = ws.lake()
    if not lake.exists("indicators"):
        raise ZhijianError(
            "尚无负担指标，请先运行 zhijian analyze", "no indicators yet; run zhijian analyze first"
        )
    lo, cw, fa, hi = _windows(date, before_days, after_days)
    t = lake.table("indicators")
    t = t.filter((t.scope == "person") & (t.metric.isin(["groups_joined", *metrics])))
    win = ibis.cases(
        ((t.period >= lo) & (t.period < cw), "before"),
        ((t.period >= fa) & (t.period < hi), "after"),
        else_=None,
    )
    t = t.mutate(win=win).filter(lambda x: x.win.notnull())
    rows = lake.to_arrow(t.select("scope_id", "period", "metric", "value", "win")).to_pylist()
    seen: dict[str, set[str]] = {"before": set(), "after": set()}
    for r in rows:
        if r["metric"] == "groups_joined":
            seen[r["win"]].add(r["scope_id"])
    people = sorted(seen["before"] & seen["after"])
    pos = {p: i for i, p in enumerate(people)}
    weeks_present = {r["period"] for r in rows if r["metric"] == "groups_joined"}
    weeks = {"before": _week_list(lo, cw, weeks_present), "after": _week_list(fa, hi, weeks_present)}
    wpos = {w: {p: j for j, p in enumerate(weeks[w])} for w in weeks}
    present = {w: np.zeros((len(people), len(weeks[w]))) for w in weeks}
    values = {m: {w: np.zeros((len(people), len(weeks[w]))) for w in weeks} for m in metrics}
    for r in rows:
        i = pos.get(r["scope_id"])
        if i is None:
            continue
        j = wpos[r["win"]][r["period"]]
        if r["metric"] == "groups_joined":
            present[r["win"]][i, j] = 1.0
        if r["metric"] in values:
            values[r["metric"]][r["win"]][i, j] = r["value"]
    return {
        "people": people,
        "weeks": weeks,
        "present": present,
        "values": values,
        "windows": {"before": [lo, cw], "after": [fa, hi]},
    }


def bootstrap_ci(
    diff: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``diff`` (resampling its entries), numpy, seeded."""
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


def _resample_counts(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """``k`` bootstrap resamples of ``n`` items as multiplicities (k × n)."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=k).astype(float)


def bootstrap_two_way(
    vb: np.ndarray,
    pb: np.ndarray,
    va: np.ndarray,
    pa: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile CI of the mean per-person change in weekly value, resampling people *and* weeks.

    ``vb`` / ``pb``: people × weeks values and presence (0/1) before, ``va`` / ``pa`` after. A person's
    mean is the sum of their values over the (resampled) weeks they were present divided by the number
    of such weeks. Resampling people alone would treat everyone's weeks as independent, but people of
    one group receive the same demands: the week-to-week variation of the events is shared, and only
    resampling the weeks as well gives an interval that covers it (two-way bootstrap, McCullagh 2000;
    Owen 2007, "The pigeonhole bootstrap")."""
    rng = np.random.default_rng(seed)
    n = vb.shape[0]
    if n == 0 or vb.shape[1] == 0 or va.shape[1] == 0:
        return (float("nan"), float("nan"))
    means = np.empty(n_boot)
    chunk = max(1, int(2e7 // max(n, 1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        for s in range(0, n_boot, chunk):
            k = min(chunk, n_boot - s)
            cb = _resample_counts(rng, vb.shape[1], k).T  # weeks × k
            ca = _resample_counts(rng, va.shape[1], k).T
            d = (va @ ca) / (pa @ ca) - (vb @ cb) / (pb @ cb)  # people × k
            w = _resample_counts(rng, n, k).T
            ok = ~np.isnan(d)
            w = np.where(ok, w, 0.0)
            means[s : s + k] = (np.where(ok, d, 0.0) * w).sum(axis=0) / w.sum(axis=0)
    means = means[~np.isnan(means)]
    if not len(means):
        return (float("nan"), float("nan"))
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
    """Before / after a campaign date per unit (subtree) and for the whole county: per person, the
    mean weekly value in each window; the change is the mean over people of (after − before), with a
    two-way (people × weeks) bootstrap CI (:func:`bootstrap_two_way`)."""
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
    person_path = np.array(
        [units.get(unit_of.get(p, ""), ("", "", ""))[1] or "" for p in people], dtype=object
    )
    for uid in targets:
        path = units[uid][1]
        mask = (
            np.array([pp.startswith(path) for pp in person_path], dtype=bool)
            if len(people)
            else np.zeros(0, bool)
        )
        idx = all_idx[mask]
        if len(idx) >= min_people:
            scopes.append((uid, units[uid][0], idx))
    pres_b, pres_a = pw["present"]["before"], pw["present"]["after"]
    out_scopes = []
    for sid, name, idx in scopes:
        if len(idx) < min_people:
            continue
        res = {}
        for k, m in enumerate(metrics):
            vb, va = pw["values"][m]["before"][idx], pw["values"][m]["after"][idx]
            pb, pa = pres_b[idx], pres_a[idx]
            b = vb.sum(axis=1) / pb.sum(axis=1)
            a = va.sum(axis=1) / pa.sum(axis=1)
            d = a - b
            lo, hi = bootstrap_two_way(vb, pb, va, pa, n_boot, seed + k)
            mb = float(b.mean())
            res[m] = {
                "before": round(mb, 4),
                "after": round(float(a.mean()), 4),
                "change": round(float(d.mean()), 4),
                "change_pct": round(float(d.mean()) / mb, 4) if mb else None,
                "ci": [round(lo, 4), round(hi, 4)],
            }
        out_scopes.append({"scope_id": sid, "name": name, "people": int(len(idx)), "metrics": res})
    return {
        "date": date.isoformat(),
        "windows": pw["windows"],
        "weeks": pw["weeks"],
        "min_people": min_people,
        "n_boot": n_boot,
        "seed": seed,
        "ci_method": "two-way bootstrap (people × weeks), percentile 95%",
        "scopes": out_scopes,
    }


def generated_effect(
    ws,
    date: dt.date,
    before_days: int = 56,
    after_days: int = 56,
    metrics=GENERATED_METRICS,
    unit: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Burden *generated* before / after: per week, the total over the groups (of a unit's subtree) of
    the group metrics of ``indicators`` (demands sent, after-hours demands, replies caused …); the
    change is mean weekly total after / before − 1, with a percentile bootstrap CI over the weeks of
    each window. This is what a campaign's rules act on (fewer roll calls, nothing after hours); the
    per-person figures of :func:`indicator_effect` also move with the size of the groups (merged groups
    reach more people). Group totals only: no person appears."""
    import ibis

    lake = ws.lake()
    if not lake.exists("indicators"):
        raise ZhijianError(
            "尚无负担指标，请先运行 zhijian analyze", "no indicators yet; run zhijian analyze first"
        )
    lo, cw, fa, hi = _windows(date, before_days, after_days)
    t = lake.table("indicators")
    t = t.filter((t.scope == "group") & t.metric.isin(["messages", *metrics]))
    if unit:
        with ws.store.session() as s:
            u = s.get(Unit, unit)
            if u is None:
                raise ZhijianError(f"未知单位编码 {unit!r}", f"unknown unit {unit!r}")
            scope = select(Unit.id).where(Unit.path.startswith(u.path))
            gids = [g for (g,) in s.execute(select(Group.id).where(Group.unit_id.in_(scope)))]
        t = t.filter(t.scope_id.isin(gids or [""]))
    win = ibis.cases(
        ((t.period >= lo) & (t.period < cw), "before"),
        ((t.period >= fa) & (t.period < hi), "after"),
        else_=None,
    )
    t = t.mutate(win=win).filter(lambda x: x.win.notnull())
    agg = t.group_by("win", "period", "metric").aggregate(v=t.value.sum())
    rows = lake.to_arrow(agg).to_pylist()
    present = {r["period"] for r in rows if r["metric"] == "messages"}
    weeks = {"before": _week_list(lo, cw, present), "after": _week_list(fa, hi, present)}
    tot = {m: {w: np.zeros(len(weeks[w])) for w in weeks} for m in metrics}
    wpos = {w: {p: j for j, p in enumerate(weeks[w])} for w in weeks}
    for r in rows:
        j = wpos[r["win"]].get(r["period"])
        if j is not None and r["metric"] in tot:
            tot[r["metric"]][r["win"]][j] = r["v"]
    res = {}
    for k, m in enumerate(metrics):
        b, a = tot[m]["before"], tot[m]["after"]
        if not len(b) or not len(a):
            continue
        mb, ma = float(b.mean()), float(a.mean())
        rng = np.random.default_rng(seed + k)
        bb = (_resample_counts(rng, len(b), n_boot) @ b) / len(b)
        ba = (_resample_counts(rng, len(a), n_boot) @ a) / len(a)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = ba / bb - 1.0
        ratio = ratio[np.isfinite(ratio)]
        ci = [round(float(x), 4) for x in np.quantile(ratio, [0.025, 0.975])] if len(ratio) else [None, None]
        res[m] = {
            "before": round(mb, 3),
            "after": round(ma, 3),
            "change_pct": round(ma / mb - 1.0, 4) if mb else None,
            "ci_pct": ci,
        }
    return {
        "date": date.isoformat(),
        "weeks": weeks,
        "unit": unit,
        "n_boot": n_boot,
        "seed": seed,
        "ci_method": "bootstrap over weeks, percentile 95%",
        "metrics": res,
    }


def evaluate(
    ws, date: dt.date, before_days: int = 56, after_days: int = 56, unit: str | None = None, seed: int = 0
) -> dict[str, Any]:
    """The whole campaign evaluation for the CLI and reports."""
    d0 = date - dt.timedelta(days=before_days)
    d1 = date + dt.timedelta(days=after_days)
    return {
        "reduction": reduction_rates(ws, d0, d1, unit),
        "reduction_dates": [d0.isoformat(), d1.isoformat()],
        "indicators": indicator_effect(ws, date, before_days, after_days, unit=unit, seed=seed),
        "generated": generated_effect(ws, date, before_days, after_days, unit=unit, seed=seed),
    }
