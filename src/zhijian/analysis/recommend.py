"""Pipeline step: a recommendation per group / app / account (keep / merge / remove / review) and
the merge plan, written to the store (``recommendations``) and the lake (``merge_plan``).

Decision rules for a group (facts from :mod:`lifecycle` and :mod:`overlap` of the same run):
  - **remove** only when the group has had no substantive message for at least
    ``policy.groups.inactive_days`` days (or never had one) *and* it is a zombie, empty, or a temporary
    group past its end date. An active group is never recommended for removal.
  - **merge** into another group when their members overlap (containment ≥ 0.9 or Jaccard ≥ 0.6,
    ``screening.yaml``) and they belong to the same unit or have similar names / purposes. Mergeable
    groups form connected components; each component keeps one target (registered, fixed, most
    members, busiest) and the others merge into it. The merged group's projected traffic is the sum of
    the members' daily substantive messages over the last ``merge_traffic_window_days`` days, minus
    the extra copies of the same notice (``notice_clusters``) posted in more than one of them. Above
    ``policy.groups.merged_max_daily_messages`` the whole component is turned into **review**:
    merging would create a 200–300-messages-a-day group (research/policy.md §d).
  - **review** when a person must look: inactive, off-topic, unregistered or purpose-less, temporary
    without end date or past it but still in use, similar name only, members overlapping across
    units without similar purpose, empty but still in use.
  - **keep** otherwise.
Apps: remove when idle or built below the lowest level (unless a duplicate at a permitted level can
absorb it: merge), merge the smaller of two overlapping apps into the larger, review forbidden
features and quota excess. Accounts: remove at ``cleanup_days``, review at ``zombie_days``, merge
duplicates of the same unit, keep otherwise.

Ids are ``object_type:object_id``; re-runs update action, reasons and evidence and never touch a
person's ``decision`` (nor its reason, author, time); recommendations of objects that are no longer
active are deleted unless a person has decided on them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
from sqlalchemy import select

from zhijian.analysis.activity import enriched_messages, inventory, screening_params
from zhijian.analysis.pipeline import AnalysisContext, StepResult
from zhijian.lake.schema import MERGE_PLAN
from zhijian.store.models import Recommendation

ACTION_ZH = {"keep": "保留", "merge": "合并", "remove": "清除", "review": "待研判"}


def _ensure_facts(ctx: AnalysisContext) -> None:
    if "lifecycle_facts" not in ctx.shared:
        from zhijian.analysis import lifecycle

        lifecycle.step(ctx)
    if "overlap_edges" not in ctx.shared:
        from zhijian.analysis import overlap

        overlap.step(ctx)


def _components(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    idx = {n: i for i, n in enumerate(nodes)}
    if not edges:
        return {n: i for i, n in enumerate(nodes)}
    r = np.array([idx[a] for a, _ in edges])
    c = np.array([idx[b] for _, b in edges])
    g = coo_matrix((np.ones(len(edges)), (r, c)), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(g, directed=False)
    return {n: int(labels[i]) for n, i in idx.items()}


def _plan_traffic(ctx: AnalysisContext, mapping: dict[str, str]) -> dict[str, dict[str, float]]:
    """Per plan target: substantive messages per day of the merged group (duplicate notice copies
    across its groups counted once) and its distinct current members. In the engine."""
    import ibis

    if not mapping:
        return {}
    p = screening_params()
    days = int(p["merge_traffic_window_days"])
    as_of = dt.datetime.combine(ctx.as_of, dt.time())
    lo = as_of - dt.timedelta(days=days)
    mp = ibis.memtable(pa.table({"mg": list(mapping), "target": list(mapping.values())}))
    m = enriched_messages(ctx, before=as_of)
    m = m.filter((m.local_ts >= lo) & (m.substantive == 1))
    m = m.inner_join(mp, m.group_id == mp.mg)
    tot = m.group_by("target").aggregate(n=m.count())
    cl = m.filter(m.cluster_id.notnull())
    cl = cl.group_by("target", "cluster_id").aggregate(k=cl.count())
    extra = cl.group_by("target").aggregate(extra=(cl.k - 1).sum()).rename(e_t="target")
    tot = tot.left_join(extra, tot.target == extra.e_t)
    traffic = {r["target"]: (r["n"] - (r["extra"] or 0)) / days for r in ctx.lake.to_arrow(tot).to_pylist()}
    mem = ctx.lake.table("memberships")
    cur = mem.filter(mem.left_at.isnull())
    cur = cur.inner_join(mp, cur.group_id == mp.mg)
    mm = cur.group_by("target").aggregate(members=cur.person_id.nunique())
    members = {r["target"]: r["members"] for r in ctx.lake.to_arrow(mm).to_pylist()}
    return {t: {"daily": traffic.get(t, 0.0), "members": members.get(t, 0)} for t in set(mapping.values())}


def groups_per_cadre(
    lake, fate: dict[str, str | None] | None = None, inactive: list[str] | None = None
) -> dict[str, float]:
    """Mean and 90th percentile of current groups per person, before and (with ``fate``: group ->
    target group, or None when removed) after applying a plan. Aggregates only, in the engine."""
    import ibis

    mem = lake.table("memberships")
    cur = mem.filter(mem.left_at.isnull()).select("group_id", "person_id")
    if inactive:
        cur = cur.filter(~cur.group_id.isin(inactive))

    def stats(t) -> dict[str, float]:
        per = t.group_by("person_id").aggregate(n=t.group_id.nunique())
        r = lake.to_arrow(
            per.aggregate(mean=per.n.mean(), p90=per.n.quantile(0.9), people=per.count())
        ).to_pylist()[0]
        return {k: (round(float(v), 2) if v is not None else 0.0) for k, v in r.items()}

    out = {"before": stats(cur)}
    if fate is not None:
        ft = ibis.memtable(pa.table({"fg": list(fate), "to": pa.array(list(fate.values()), pa.string())}))
        j = cur.left_join(ft, cur.group_id == ft.fg)
        j = j.filter(~(j.fg.notnull() & j.to.isnull()))  # removed groups disappear
        after = j.select("person_id", group_id=ibis.coalesce(j.to, j.group_id))
        out["after"] = stats(after)
    return out


def step(ctx: AnalysisContext) -> StepResult:
    _ensure_facts(ctx)
    facts: dict[tuple[str, str], dict[str, Any]] = ctx.shared["lifecycle_facts"]
    edges = ctx.shared.get("overlap_edges", [])
    fedges = ctx.shared.get("function_edges", {})
    fidx = ctx.shared.get("findings_by_object", {})
    gp = ctx.policy.groups
    recs: dict[tuple[str, str], dict[str, Any]] = {}

    # ── groups ──
    groups = {oid: f for (ot, oid), f in facts.items() if ot == "group"}
    for gid, f in groups.items():
        fl, mt = f["flags"], f["metrics"]
        idle = mt.get("days_idle")
        quiet = (idle is None and mt.get("substantive_messages", 0) == 0) or (
            idle is not None and idle >= gp.inactive_days
        )
        reasons: list[str] = []
        action = "keep"
        if quiet and fl & {"zombie", "empty", "temp_expired"}:
            action = "remove"
            if "zombie" in fl:
                reasons.append(f"已 {idle} 天没有实质性消息（僵尸群，阈值 {gp.zombie_days} 天）")
            if "empty" in fl:
                reasons.append(
                    f"空壳群：成员 {mt.get('members')} 人" + ("，从未有实质性消息" if idle is None else "")
                )
            if "temp_expired" in fl:
                reasons.append(f"临时群已超过解散日期 {mt.get('days_past_end')} 天")
        else:
            if "inactive" in fl:
                reasons.append(f"已 {idle} 天没有实质性消息，请确认是否仍需保留")
            if "temp_expired" in fl:
                reasons.append(f"临时群已超过解散日期 {mt.get('days_past_end')} 天但仍在使用，请续期或解散")
            if "empty" in fl:
                reasons.append(f"成员仅 {mt.get('members')} 人，但近期仍有消息，请确认")
            if "off_topic" in fl:
                reasons.append(f"闲聊消息占 {mt.get('chat_share', 0):.0%}，请整顿为工作群或解散")
            if "unregistered" in fl:
                reasons.append("未备案，请补充备案")
            if "no_purpose" in fl:
                reasons.append("未说明建群用途，请补充")
            if "temp_no_end" in fl:
                reasons.append("临时群未登记解散日期，请补充")
            if reasons:
                action = "review"
        recs[("group", gid)] = {"action": action, "reasons": reasons, "merge_into": None, "metrics": mt}

    # merge edges among groups not removed
    name = {gid: f["metrics"].get("name", gid) for gid, f in groups.items()}
    merge_edges: list[tuple[str, str]] = []
    for e in edges:
        a, b = e["small"], e["big"]
        if a not in groups or b not in groups:
            continue
        ra, rb = recs[("group", a)], recs[("group", b)]
        if ra["action"] == "remove" or rb["action"] == "remove":
            continue
        if e["mergeable"] and (e["same_unit"] or e["similar"]):
            merge_edges.append((a, b))
        elif e["mergeable"]:
            ra["reasons"].append(
                f"成员 {e['containment_small']:.0%} 在“{name[b]}”中，但所属单位和用途不同，请研判是否合并"
            )
            ra["action"] = "review" if ra["action"] == "keep" else ra["action"]
        else:
            ra["reasons"].append(f"与同单位的“{name[b]}”名称或用途相近，请研判是否重复建群")
            ra["action"] = "review" if ra["action"] == "keep" else ra["action"]

    plan_rows: list[dict[str, Any]] = []
    plans: list[dict[str, Any]] = []
    nodes = sorted({x for ed in merge_edges for x in ed})
    comp = _components(nodes, merge_edges)
    members_of: dict[int, list[str]] = {}
    for n, c in comp.items():
        members_of.setdefault(c, []).append(n)

    def rank(gid: str):
        mt = groups[gid]["metrics"]
        return (
            not mt.get("registered"),
            mt.get("group_type") == "temporary",
            -(mt.get("members") or 0),
            -(mt.get("daily_substantive") or 0.0),
            gid,
        )

    mapping: dict[str, str] = {}
    for ms in members_of.values():
        target = min(ms, key=rank)
        for g in ms:
            mapping[g] = target
    traffic = _plan_traffic(ctx, mapping)
    for ms in members_of.values():
        target = mapping[ms[0]]
        tr = traffic.get(target, {"daily": 0.0, "members": 0})
        too_busy = tr["daily"] > gp.merged_max_daily_messages
        plans.append(
            {
                "target": target,
                "groups": sorted(ms),
                "projected_daily": round(tr["daily"], 1),
                "members_after": tr["members"],
                "too_busy": too_busy,
            }
        )
        for g in sorted(ms):
            r = recs[("group", g)]
            mt = groups[g]["metrics"]
            plan_rows.append(
                {
                    "plan_id": target,
                    "object_type": "group",
                    "object_id": g,
                    "target_id": target,
                    "action": "review" if too_busy else "merge",
                    "daily_messages": float(mt.get("daily_substantive") or 0.0),
                    "projected_daily_messages": round(tr["daily"], 2),
                    "members_before": int(mt.get("members") or 0),
                    "members_after": int(tr["members"]),
                }
            )
            others = "、".join(f"“{name[x]}”" for x in sorted(ms) if x != g)
            if too_busy:
                r["reasons"].append(
                    f"与{others}成员高度重合，但合并后预计每日 {tr['daily']:.0f} 条消息，超过 {gp.merged_max_daily_messages} 条，不宜直接合并"
                )
                r["action"] = "review" if r["action"] != "remove" else r["action"]
            elif g == target:
                r["reasons"].append(
                    f"作为合并目标：并入{others}，合并后预计每日 {tr['daily']:.0f} 条消息、{tr['members']} 人"
                )
            else:
                r["action"] = "merge"
                r["merge_into"] = target
                r["reasons"].insert(
                    0, f"成员与“{name[target]}”高度重合，建议并入（合并后预计每日 {tr['daily']:.0f} 条消息）"
                )

    # ── apps ──
    inv = {}
    for otype in ("app", "account"):
        t = inventory(ctx, otype + "s")
        t = t.filter(t.status.fill_null("active") == "active")
        inv[otype] = ctx.lake.to_arrow(t.select("id", "name", "unit_id")).to_pylist()

    def obj_facts(otype: str, r: dict) -> tuple[set, dict]:
        f = facts.get((otype, r["id"]), {"flags": set(), "metrics": {}})
        mt = {"name": r["name"], "unit_id": r["unit_id"], **f["metrics"]}
        return f["flags"], mt

    oname = {(ot, r["id"]): r["name"] for ot, rows in inv.items() for r in rows}
    app_edges = {e["small"]: e for e in fedges.get("app", [])}
    for row in inv["app"]:
        oid = row["id"]
        fl, mt = obj_facts("app", row)
        reasons, action, into = [], "keep", None
        e = app_edges.get(oid)
        if "idle" in fl:
            action = "remove"
            reasons.append(f"长期无人使用（最后使用 {mt.get('last_active_on')}）")
        if "below_level" in fl:
            if e is not None and "below_level" not in facts.get(("app", e["big"]), {"flags": set()})["flags"]:
                action, into = "merge", e["big"]
                reasons.append("县以下单位不得建设政务应用：迁移至上级同类应用")
            else:
                action = "remove"
                reasons.append("县以下单位不得建设政务应用：关停注销或迁移至上级平台")
        if action == "keep" and e is not None:
            action, into = "merge", e["big"]
            reasons.append(
                f"与“{oname.get(('app', e['big']), e['big'])}”功能重合 {e['overlap']:.0%}，建议整合"
            )
        if "forbidden_feature" in fl:
            reasons.append("含打卡、积分、在线时长或排名等强制使用功能，须取消")
            action = "review" if action == "keep" else action
        if "over_quota" in fl:
            reasons.append("所属单位面向基层的应用超过上限，请整合")
            action = "review" if action == "keep" else action
        recs[("app", oid)] = {"action": action, "reasons": reasons, "merge_into": into, "metrics": mt}

    # ── accounts ──
    acc_edges = {e["small"]: e for e in fedges.get("account", [])}
    for row in inv["account"]:
        oid = row["id"]
        fl, mt = obj_facts("account", row)
        reasons, action, into = [], "keep", None
        if "account_cleanup" in fl:
            action = "remove"
            reasons.append(f"已 {mt.get('days_idle')} 天未更新，达到清理标准")
        elif "account_zombie" in fl:
            action = "review"
            reasons.append(f"已 {mt.get('days_idle')} 天未更新（僵尸账号），请整改或关停")
        elif "account_stale" in fl:
            reasons.append(f"已 {mt.get('days_idle')} 天未更新，请加强更新")
        e = acc_edges.get(oid)
        if e is not None and action != "remove":
            action, into = "merge", e["big"]
            reasons.insert(0, f"与同单位账号“{oname.get(('account', e['big']), e['big'])}”功能重复，建议整合")
        recs[("account", oid)] = {"action": action, "reasons": reasons, "merge_into": into, "metrics": mt}
    for (ot, _oid), r in recs.items():
        if r["action"] == "keep" and not r["reasons"]:
            r["reasons"].append("在用、无重复、用途明确" if ot == "group" else "未发现问题")

    ctx.lake.replace("merge_plan", pa.Table.from_pylist(plan_rows, schema=MERGE_PLAN))
    written = write_recommendations(ctx, recs, fidx)
    fate = {
        oid: (r["merge_into"] if r["action"] == "merge" else None)
        for (ot, oid), r in recs.items()
        if ot == "group" and r["action"] in ("merge", "remove")
    }
    effect = plan_effect_from(ctx.lake, recs, fate)
    ctx.shared["recommendations"] = recs
    ctx.shared["merge_plans"] = plans
    by_action: dict[str, dict[str, int]] = {}
    for (ot, _), r in recs.items():
        by_action.setdefault(ot, {}).setdefault(r["action"], 0)
        by_action[ot][r["action"]] += 1
    return StepResult(
        datasets={"merge_plan": len(plan_rows)},
        metrics={"by_action": by_action, "plans": len(plans), "written": written, "effect": effect},
    )


def plan_effect_from(
    lake, recs: dict[tuple[str, str], dict[str, Any]], fate: dict[str, str | None]
) -> dict[str, Any]:
    removed = {ot: 0 for ot in ("group", "app", "account")}
    total = {ot: 0 for ot in ("group", "app", "account")}
    for (ot, _), r in recs.items():
        total[ot] += 1
        if r["action"] in ("merge", "remove"):
            removed[ot] += 1
    return {
        "objects": {
            ot: {"before": total[ot], "after": total[ot] - removed[ot], "removed": removed[ot]}
            for ot in total
        },
        "groups_per_cadre": groups_per_cadre(lake, fate),
    }


def write_recommendations(
    ctx: AnalysisContext, recs: dict[tuple[str, str], dict[str, Any]], fidx: dict[tuple[str, str], list[str]]
) -> dict[str, int]:
    """Upsert into the store; a person's decision is never touched."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    res = {"new": 0, "updated": 0, "deleted": 0}
    from zhijian.analysis.findings import _jsonable

    with ctx.ws.store.session() as s:
        existing = {r.id: r for r in s.scalars(select(Recommendation))}
        for (ot, oid), r in recs.items():
            rid = f"{ot}:{oid}"
            row = existing.pop(rid, None)
            if row is None:
                row = Recommendation(id=rid, object_type=ot, object_id=oid)
                s.add(row)
                res["new"] += 1
            else:
                res["updated"] += 1
            mt = r["metrics"]
            row.unit_id = mt.get("unit_id")
            row.action = r["action"]
            row.merge_into = r["merge_into"]
            row.reasons = list(r["reasons"])
            row.evidence = _jsonable(
                {
                    "finding_ids": fidx.get((ot, oid), []),
                    "metrics": {k: v for k, v in mt.items() if k not in ("name", "unit_id", "purpose")},
                    "as_of": ctx.as_of,
                }
            )
            row.updated_at = now
        for row in existing.values():
            if row.decision is None:
                s.delete(row)
                res["deleted"] += 1
    return res


def read_plan(ws) -> dict[str, Any]:
    """The current merge plan and recommendations from the lake and the store (for ``zhijian plan``)."""
    lake = ws.lake()
    rows = lake.to_arrow(lake.table("merge_plan")).to_pylist() if lake.exists("merge_plan") else []
    with ws.store.session() as s:
        recs = s.scalars(select(Recommendation)).all()
        rec_rows = [
            {
                "object_type": r.object_type,
                "object_id": r.object_id,
                "unit_id": r.unit_id,
                "action": r.action,
                "merge_into": r.merge_into,
                "reasons": list(r.reasons or []),
                "decision": r.decision,
            }
            for r in recs
        ]
    plans: dict[str, dict[str, Any]] = {}
    for r in rows:
        p = plans.setdefault(
            r["plan_id"],
            {
                "target": r["target_id"],
                "groups": [],
                "action": r["action"],
                "projected_daily": r["projected_daily_messages"],
                "members_after": r["members_after"],
            },
        )
        p["groups"].append(
            {"id": r["object_id"], "daily": r["daily_messages"], "members": r["members_before"]}
        )
    by_type: dict[str, dict[str, int]] = {}
    fate: dict[str, str | None] = {}
    for r in rec_rows:
        eff = r["decision"] if r["decision"] in ("keep", "merge", "remove") else r["action"]
        by_type.setdefault(r["object_type"], {}).setdefault(eff, 0)
        by_type[r["object_type"]][eff] += 1
        if r["object_type"] == "group" and eff in ("merge", "remove"):
            fate[r["object_id"]] = r["merge_into"] if eff == "merge" else None
    return {
        "plans": list(plans.values()),
        "recommendations": rec_rows,
        "by_type": by_type,
        "groups_per_cadre": groups_per_cadre(lake, fate) if lake.exists("memberships") else {},
    }
