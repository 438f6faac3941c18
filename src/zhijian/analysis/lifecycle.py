"""Pipeline step: lifecycle screening of the inventory (groups, apps, public accounts).

All per-message and per-group work runs in the engine (one aggregate over the messages, joins with
the inventory snapshot); Python only turns the flagged rows into findings. Checks and their rule ids:

Groups that are not gone (:func:`zhijian.analysis.activity.group_state`: dissolved / merged in the
inventory, or every member has left by ``as_of``; a dissolved group is never a zombie or expired):
  - ``lifecycle.group_zombie`` (ZOMBIE): no substantive message for ``policy.groups.zombie_days``
    days before ``as_of`` (substantive: see :mod:`zhijian.analysis.activity`; roll-call replies,
    system and recall messages never count).
  - ``lifecycle.group_inactive`` (ZOMBIE, low): idle ``inactive_days`` ≤ d < ``zombie_days``.
  - ``lifecycle.group_empty`` (ZOMBIE): fewer than ``empty_min_members`` members, or not one
    substantive message at all (for groups older than ``inactive_days``).
  - ``lifecycle.temp_expired`` (STALE_TEMP_GROUP): a temporary group still active more than
    ``temp_end_grace_days`` days after its end date.
  - ``lifecycle.temp_no_end`` (NONCOMPLIANT_BUILD): a temporary group without an end date.
  - ``lifecycle.group_unregistered`` / ``lifecycle.group_no_purpose`` (NONCOMPLIANT_BUILD).
  - ``lifecycle.group_off_topic`` (OFF_TOPIC_GROUP): over the last ``off_topic_window_days`` days,
    with at least ``off_topic_min_messages`` substantive messages, the share of chat (substantive
    messages that are not work messages, :func:`zhijian.analysis.activity.work_message_expr`)
    exceeds ``policy.groups.off_topic_share``.
Accounts: ``lifecycle.account_stale|zombie|cleanup`` (ZOMBIE) from ``last_post_on`` (or
``created_on`` if it never posted) against ``policy.accounts``; only the highest level is reported.
Apps: ``lifecycle.app_forbidden_feature`` (MANDATORY_CHECKIN_POINTS, features ∩
``policy.apps.forbidden_features``, objects tagged with an ``exempt_tags`` tag exempt),
``lifecycle.app_below_level`` and ``lifecycle.app_over_quota`` (NONCOMPLIANT_BUILD),
``lifecycle.app_idle`` (ZOMBIE, ``last_active_on`` older than ``policy.apps.idle_days``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from zhijian.analysis.activity import (
    enriched_messages,
    group_state,
    index_drafts,
    inventory,
    live_groups,
    screening_params,
)
from zhijian.analysis.findings import FindingDraft
from zhijian.analysis.pipeline import AnalysisContext, StepResult

UNIT_LEVELS = ("province", "city", "county", "township", "village")
LEVEL_ZH = {"province": "省级", "city": "市级", "county": "县级", "township": "乡镇级", "village": "村级"}
FEATURE_ZH = {"checkin": "打卡签到", "points": "积分", "online_time": "在线时长", "ranking": "排名"}

RULES = {
    "lifecycle.group_zombie",
    "lifecycle.group_inactive",
    "lifecycle.group_empty",
    "lifecycle.temp_expired",
    "lifecycle.temp_no_end",
    "lifecycle.group_unregistered",
    "lifecycle.group_no_purpose",
    "lifecycle.group_off_topic",
    "lifecycle.account_stale",
    "lifecycle.account_zombie",
    "lifecycle.account_cleanup",
    "lifecycle.app_forbidden_feature",
    "lifecycle.app_below_level",
    "lifecycle.app_over_quota",
    "lifecycle.app_idle",
}


def _midnight(d: dt.date) -> dt.datetime:
    return dt.datetime.combine(d, dt.time())


def _active(t):
    return t.filter(t.status.fill_null("active") == "active")


def group_stats(ctx: AnalysisContext):
    """Per inventory group that is not gone (:func:`live_groups`), computed in the engine: member count, last substantive message,
    substantive counts overall / in the off-topic window / in the merge-traffic window, chat share,
    substantive messages after the end date. Returns an Ibis table."""
    import ibis

    p = screening_params()
    as_of = _midnight(ctx.as_of)
    win_lo = _midnight(ctx.as_of - dt.timedelta(days=int(p["off_topic_window_days"])))
    traffic_lo = _midnight(ctx.as_of - dt.timedelta(days=int(p["merge_traffic_window_days"])))
    m = enriched_messages(ctx, before=as_of)
    groups = live_groups(ctx)
    gsel = groups.select(gid="id", g_end="end_date")
    m = m.inner_join(gsel, m.group_id == gsel.gid)
    sub = m.substantive == 1
    in_win = sub & (m.local_ts >= win_lo)
    work = in_win & m.work
    after_end = sub & m.g_end.notnull() & (m.local_ts.date() > m.g_end)
    agg = m.group_by("group_id").aggregate(
        n_counted=m.counted.sum(),
        n_sub=m.substantive.sum(),
        last_sub_ts=m.local_ts.max(where=sub),
        last_sub_id=m.message_id.argmax(m.local_ts, where=sub),
        n_win_sub=ibis.ifelse(in_win, 1, 0).cast("int64").sum(),
        n_win_work=ibis.ifelse(work, 1, 0).cast("int64").sum(),
        n_traffic=ibis.ifelse(sub & (m.local_ts >= traffic_lo), 1, 0).cast("int64").sum(),
        n_after_end=ibis.ifelse(after_end, 1, 0).cast("int64").sum(),
    )
    mem = ctx.lake.table("memberships")
    cur = mem.filter(mem.left_at.isnull())
    mc = cur.group_by("group_id").aggregate(n_members=cur.person_id.nunique()).rename(mc_gid="group_id")
    g = groups.left_join(agg, groups.id == agg.group_id).drop("group_id")
    g = g.left_join(mc, g.id == mc.mc_gid).drop("mc_gid")
    return g.mutate(
        members=g.member_count.fill_null(g.n_members).fill_null(0).cast("int64"),
        n_sub=g.n_sub.fill_null(0).cast("int64"),
        n_counted=g.n_counted.fill_null(0).cast("int64"),
        n_win_sub=g.n_win_sub.fill_null(0).cast("int64"),
        n_win_work=g.n_win_work.fill_null(0).cast("int64"),
        n_traffic=g.n_traffic.fill_null(0).cast("int64"),
        n_after_end=g.n_after_end.fill_null(0).cast("int64"),
    )


def _chat_samples(ctx: AnalysisContext, group_ids: list[str], per_group: int = 20) -> dict[str, list[str]]:
    """Up to ``per_group`` chat message ids per flagged group (evidence), in the engine."""
    import ibis

    if not group_ids:
        return {}
    p = screening_params()
    as_of = _midnight(ctx.as_of)
    win_lo = _midnight(ctx.as_of - dt.timedelta(days=int(p["off_topic_window_days"])))
    m = enriched_messages(ctx, before=as_of)
    m = m.filter(m.group_id.isin(group_ids), m.substantive == 1, m.local_ts >= win_lo)
    m = m.filter(~m.work)
    m = m.mutate(rn=ibis.row_number().over(group_by=m.group_id, order_by=[m.local_ts.desc(), m.message_id]))
    rows = ctx.lake.to_arrow(m.filter(m.rn < per_group).select("group_id", "message_id")).to_pylist()
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r["group_id"], []).append(r["message_id"])
    return out


def _days(as_of: dt.date, d: Any) -> int | None:
    if d is None:
        return None
    if isinstance(d, dt.datetime):
        d = d.date()
    return (as_of - d).days


def step(ctx: AnalysisContext) -> StepResult:
    pol = ctx.policy
    gp = pol.groups
    p = screening_params()
    as_of = ctx.as_of
    drafts: list[FindingDraft] = []
    facts: dict[tuple[str, str], dict[str, Any]] = {}  # (object_type, id) -> facts for recommend

    def fact(otype: str, oid: str) -> dict[str, Any]:
        return facts.setdefault((otype, oid), {"flags": set(), "metrics": {}})

    have_messages = ctx.first_day is not None
    zombie_cut = as_of - dt.timedelta(days=gp.zombie_days)
    inactive_cut = as_of - dt.timedelta(days=gp.inactive_days)
    grace_cut = as_of - dt.timedelta(days=gp.temp_end_grace_days)

    gs = group_stats(ctx)
    rows = ctx.lake.to_arrow(gs).to_pylist()
    window_days = int(p["merge_traffic_window_days"])
    off_topic: list[dict] = []
    for g in rows:
        gid, name, unit = g["id"], g["name"], g["unit_id"]
        last = g["last_sub_ts"].date() if g["last_sub_ts"] is not None else None
        idle = _days(as_of, last)
        created = g["created_on"]
        f = fact("group", gid)
        f["metrics"].update(
            name=name,
            unit_id=unit,
            members=g["members"],
            substantive_messages=g["n_sub"],
            last_substantive_on=last,
            days_idle=idle,
            daily_substantive=round(g["n_traffic"] / window_days, 2),
            registered=bool(g["registered"]),
            purpose=g["purpose"],
            group_type=g["group_type"],
            tags=list(g["tags"] or []),
        )
        base_metrics = {
            "members": g["members"],
            "substantive_messages": g["n_sub"],
            "last_substantive_on": last,
            "days_idle": idle,
        }
        ev_ids = [g["last_sub_id"]] if g["last_sub_id"] else []
        # zombie / inactive: only groups that have had substantive messages (else: empty)
        if have_messages and last is not None and last <= zombie_cut:
            f["flags"].add("zombie")
            drafts.append(
                FindingDraft(
                    "ZOMBIE",
                    "lifecycle.group_zombie",
                    "group",
                    gid,
                    f"僵尸群：“{name}”已 {idle} 天没有实质性消息",
                    unit_id=unit,
                    summary=f"最后一条实质性消息在 {last}（不计“收到”类回复和系统消息），超过 {gp.zombie_days} 天。建议清理。",
                    severity="high",
                    message_ids=ev_ids,
                    object_ids=[gid],
                    metrics=base_metrics,
                    policy={"groups.zombie_days": gp.zombie_days},
                )
            )
        elif have_messages and last is not None and last <= inactive_cut:
            f["flags"].add("inactive")
            drafts.append(
                FindingDraft(
                    "ZOMBIE",
                    "lifecycle.group_inactive",
                    "group",
                    gid,
                    f"不活跃群：“{name}”已 {idle} 天没有实质性消息",
                    unit_id=unit,
                    summary=f"最后一条实质性消息在 {last}，超过 {gp.inactive_days} 天未达 {gp.zombie_days} 天。请群主确认是否仍需保留。",
                    severity="low",
                    message_ids=ev_ids,
                    object_ids=[gid],
                    metrics=base_metrics,
                    policy={"groups.inactive_days": gp.inactive_days, "groups.zombie_days": gp.zombie_days},
                )
            )
        few = g["members"] < gp.empty_min_members
        old_enough = created is None or created <= inactive_cut
        silent = have_messages and g["n_sub"] == 0 and old_enough
        if few or silent:
            f["flags"].add("empty")
            why = []
            if few:
                why.append(f"成员仅 {g['members']} 人（少于 {gp.empty_min_members} 人）")
            if silent:
                why.append(
                    "从未有过实质性消息" + ("（数据中没有该群任何消息）" if g["n_counted"] == 0 else "")
                )
            drafts.append(
                FindingDraft(
                    "ZOMBIE",
                    "lifecycle.group_empty",
                    "group",
                    gid,
                    f"空壳群：“{name}”" + "，".join(why),
                    unit_id=unit,
                    summary="；".join(why) + "。建议清理或说明用途。",
                    severity="medium",
                    object_ids=[gid],
                    metrics={**base_metrics, "no_substantive": silent},
                    policy={
                        "groups.empty_min_members": gp.empty_min_members,
                        "groups.inactive_days": gp.inactive_days,
                    },
                )
            )
        if g["group_type"] == "temporary":
            end = g["end_date"]
            if end is None:
                f["flags"].add("temp_no_end")
                drafts.append(
                    FindingDraft(
                        "NONCOMPLIANT_BUILD",
                        "lifecycle.temp_no_end",
                        "group",
                        gid,
                        f"临时群未登记解散日期：“{name}”",
                        unit_id=unit,
                        summary="临时工作群应在登记时填写预计解散日期。",
                        severity="low",
                        object_ids=[gid],
                        metrics=base_metrics,
                        policy={"groups.temp_end_grace_days": gp.temp_end_grace_days},
                    )
                )
            elif end < grace_cut:
                f["flags"].add("temp_expired")
                past = (as_of - end).days
                f["metrics"]["days_past_end"] = past
                f["metrics"]["substantive_after_end"] = g["n_after_end"]
                drafts.append(
                    FindingDraft(
                        "STALE_TEMP_GROUP",
                        "lifecycle.temp_expired",
                        "group",
                        gid,
                        f"临时群逾期未解散：“{name}”已超过解散日期 {past} 天",
                        unit_id=unit,
                        summary=f"预计解散日期 {end}，宽限 {gp.temp_end_grace_days} 天后仍在使用；此后有 {g['n_after_end']} 条实质性消息。",
                        severity="medium",
                        message_ids=ev_ids,
                        object_ids=[gid],
                        metrics={
                            **base_metrics,
                            "end_date": end,
                            "days_past_end": past,
                            "substantive_after_end": g["n_after_end"],
                        },
                        policy={"groups.temp_end_grace_days": gp.temp_end_grace_days},
                    )
                )
        if not g["registered"]:
            f["flags"].add("unregistered")
            drafts.append(
                FindingDraft(
                    "NONCOMPLIANT_BUILD",
                    "lifecycle.group_unregistered",
                    "group",
                    gid,
                    f"未备案工作群：“{name}”",
                    unit_id=unit,
                    summary="该群未在目录清单中备案（若干意见 2023：工作群应“已经批准设立”）。",
                    severity="low",
                    object_ids=[gid],
                    metrics=base_metrics,
                    policy={},
                )
            )
        if not (g["purpose"] or "").strip():
            f["flags"].add("no_purpose")
            drafts.append(
                FindingDraft(
                    "NONCOMPLIANT_BUILD",
                    "lifecycle.group_no_purpose",
                    "group",
                    gid,
                    f"工作群未说明用途：“{name}”",
                    unit_id=unit,
                    summary="备案信息中没有建群用途（银川 2019：每个群应明确职能）。",
                    severity="low",
                    object_ids=[gid],
                    metrics=base_metrics,
                    policy={},
                )
            )
        n_win = g["n_win_sub"]
        if n_win >= int(p["off_topic_min_messages"]):
            chat_share = 1.0 - g["n_win_work"] / n_win
            f["metrics"]["chat_share"] = round(chat_share, 4)
            if chat_share > gp.off_topic_share:
                f["flags"].add("off_topic")
                off_topic.append({**g, "chat_share": chat_share, "idle": idle})

    samples = _chat_samples(ctx, [g["id"] for g in off_topic])
    for g in off_topic:
        gid = g["id"]
        drafts.append(
            FindingDraft(
                "OFF_TOPIC_GROUP",
                "lifecycle.group_off_topic",
                "group",
                gid,
                f"工作群变聊天群：“{g['name']}”近 {p['off_topic_window_days']} 天 {g['chat_share']:.0%} 的消息与工作无关",
                unit_id=g["unit_id"],
                summary=f"近 {p['off_topic_window_days']} 天 {g['n_win_sub']} 条实质性消息中，{g['n_win_sub'] - g['n_win_work']} 条不含工作要求、通知或工作词语。",
                severity="medium",
                message_ids=samples.get(gid, []),
                object_ids=[gid],
                metrics={
                    "window_days": p["off_topic_window_days"],
                    "messages": g["n_win_sub"],
                    "work_messages": g["n_win_work"],
                    "chat_share": round(g["chat_share"], 4),
                },
                policy={"groups.off_topic_share": gp.off_topic_share},
            )
        )

    drafts += _accounts(ctx, fact)
    drafts += _apps(ctx, fact)
    ctx.shared["lifecycle_facts"] = facts
    index_drafts(ctx, drafts)
    by_rule: dict[str, int] = {}
    for d in drafts:
        by_rule[d.rule_id] = by_rule.get(d.rule_id, 0) + 1
    gone = group_state(ctx)
    gone = gone.filter(gone.gone)
    gone_by = {
        r["gone_by"]: r["n"]
        for r in ctx.lake.to_arrow(gone.group_by("gone_by").aggregate(n=gone.count())).to_pylist()
    }
    return StepResult(
        findings=drafts,
        rules_run=set(RULES),
        metrics={
            "by_rule": by_rule,
            "groups_screened": len(rows),
            "groups_gone": {
                "inventory": gone_by.get("inventory", 0),
                "members_only": gone_by.get("members", 0),
            },
        },
    )


def _accounts(ctx: AnalysisContext, fact) -> list[FindingDraft]:
    acp = ctx.policy.accounts
    as_of = ctx.as_of
    acc = _active(inventory(ctx, "accounts"))
    last = acc.last_post_on.fill_null(acc.created_on)
    acc = acc.mutate(last_day=last).filter(
        last.notnull() & (last <= as_of - dt.timedelta(days=acp.stale_days))
    )
    out = []
    for a in ctx.lake.to_arrow(acc).to_pylist():
        idle = _days(as_of, a["last_day"])
        never = a["last_post_on"] is None
        if idle >= acp.cleanup_days:
            rule, sev, word, pol = (
                "lifecycle.account_cleanup",
                "high",
                "应予清理",
                {"accounts.cleanup_days": acp.cleanup_days},
            )
        elif idle >= acp.zombie_days:
            rule, sev, word, pol = (
                "lifecycle.account_zombie",
                "medium",
                "僵尸账号",
                {"accounts.zombie_days": acp.zombie_days},
            )
        else:
            rule, sev, word, pol = (
                "lifecycle.account_stale",
                "low",
                "更新不及时",
                {"accounts.stale_days": acp.stale_days},
            )
        level = rule.rsplit("_", 1)[-1]
        f = fact("account", a["id"])
        f["flags"].add(f"account_{level}")
        f["metrics"].update(
            name=a["name"],
            unit_id=a["unit_id"],
            days_idle=idle,
            last_post_on=a["last_post_on"],
            followers=a["followers"],
            functions=list(a["functions"] or []),
        )
        since = "开设以来从未发布" if never else f"最后发布于 {a['last_post_on']}"
        out.append(
            FindingDraft(
                "ZOMBIE",
                rule,
                "account",
                a["id"],
                f"政务公众账号{word}：“{a['name']}”已 {idle} 天未更新",
                unit_id=a["unit_id"],
                summary=f"{since}，已 {idle} 天未更新。",
                severity=sev,
                object_ids=[a["id"]],
                metrics={
                    "last_post_on": a["last_post_on"],
                    "days_idle": idle,
                    "never_posted": never,
                    "followers": a["followers"],
                },
                policy=pol,
            )
        )
    return out


def _apps(ctx: AnalysisContext, fact) -> list[FindingDraft]:
    ap = ctx.policy.apps
    as_of = ctx.as_of
    apps = _active(inventory(ctx, "apps"))
    units = inventory(ctx, "units").select(u_id="id", u_level="level", u_name="name")
    a = apps.left_join(units, apps.unit_id == units.u_id).drop("u_id")
    # forbidden features, unless tagged exempt: unnest in the engine
    fx = a.select("id", feature=a.features.unnest())
    fx = fx.filter(fx.feature.isin(list(ap.forbidden_features)))
    tx = a.select("id", tag=a.tags.unnest())
    exempt = tx.filter(tx.tag.isin(list(ap.exempt_tags))).select(ex_id="id").distinct()
    fx = fx.anti_join(exempt, fx.id == exempt.ex_id)
    forb = fx.group_by("id").aggregate(bad=fx.feature.collect()).rename(f_id="id")
    below = [lv for lv in UNIT_LEVELS if UNIT_LEVELS.index(lv) > UNIT_LEVELS.index(ap.lowest_build_level)]
    a = a.left_join(forb, a.id == forb.f_id).drop("f_id")
    rows = ctx.lake.to_arrow(a).to_pylist()
    out: list[FindingDraft] = []
    idle_cut = as_of - dt.timedelta(days=ap.idle_days)
    for r in rows:
        f = fact("app", r["id"])
        f["metrics"].update(
            name=r["name"],
            unit_id=r["unit_id"],
            users=r["users"],
            level=r["u_level"],
            functions=list(r["functions"] or []),
            last_active_on=r["last_active_on"],
        )
        if r["bad"]:
            bad = sorted(set(r["bad"]))
            f["flags"].add("forbidden_feature")
            zh = "、".join(FEATURE_ZH.get(x, x) for x in bad)
            out.append(
                FindingDraft(
                    "MANDATORY_CHECKIN_POINTS",
                    "lifecycle.app_forbidden_feature",
                    "app",
                    r["id"],
                    f"政务应用设置强制使用功能：“{r['name']}”含{zh}",
                    unit_id=r["unit_id"],
                    summary=f"除安保、应急等特殊规定外，政务应用程序不得设置{zh}等强制使用功能（若干意见 2023；国办函〔2026〕12号）。",
                    severity="high",
                    object_ids=[r["id"]],
                    metrics={"features": bad},
                    policy={
                        "apps.forbidden_features": list(ap.forbidden_features),
                        "apps.exempt_tags": list(ap.exempt_tags),
                    },
                )
            )
        if r["u_level"] in below:
            f["flags"].add("below_level")
            out.append(
                FindingDraft(
                    "NONCOMPLIANT_BUILD",
                    "lifecycle.app_below_level",
                    "app",
                    r["id"],
                    f"县以下违规建设政务应用：“{r['name']}”（{LEVEL_ZH.get(r['u_level'], r['u_level'])}单位{r['u_name'] or ''}主办）",
                    unit_id=r["unit_id"],
                    summary="县以下（不含县级）单位原则上不得开发建设政务应用程序（国办函〔2026〕12号）。",
                    severity="high",
                    object_ids=[r["id"]],
                    metrics={"unit_level": r["u_level"]},
                    policy={"apps.lowest_build_level": ap.lowest_build_level},
                )
            )
        if r["last_active_on"] is not None and r["last_active_on"] <= idle_cut:
            idle = _days(as_of, r["last_active_on"])
            f["flags"].add("idle")
            out.append(
                FindingDraft(
                    "ZOMBIE",
                    "lifecycle.app_idle",
                    "app",
                    r["id"],
                    f"僵尸应用：“{r['name']}”已 {idle} 天无人使用",
                    unit_id=r["unit_id"],
                    summary=f"最后使用于 {r['last_active_on']}，超过 {ap.idle_days} 天。",
                    severity="medium",
                    object_ids=[r["id"]],
                    metrics={"last_active_on": r["last_active_on"], "days_idle": idle},
                    policy={"apps.idle_days": ap.idle_days},
                )
            )
    # quota: active apps per province- or city-level unit (engine aggregate over the small inventory)
    q = a.filter(a.u_level.isin(["province", "city"]))
    q = q.group_by("unit_id", "u_name").aggregate(n=q.count(), ids=q.id.collect())
    q = q.filter(q.n > ap.max_per_unit)
    for r in ctx.lake.to_arrow(q).to_pylist():
        ids = sorted(r["ids"])
        for i in ids:
            fact("app", i)["flags"].add("over_quota")
        out.append(
            FindingDraft(
                "NONCOMPLIANT_BUILD",
                "lifecycle.app_over_quota",
                "unit",
                r["unit_id"],
                f"{r['u_name'] or r['unit_id']}面向基层的政务应用 {r['n']} 个，超过 {ap.max_per_unit} 个",
                unit_id=r["unit_id"],
                summary="省、市两级面向基层的政务应用程序原则上不超过 1 个（四川“四个一律”；国办函〔2026〕12号）。",
                severity="medium",
                object_ids=ids,
                metrics={"apps": r["n"]},
                policy={"apps.max_per_unit": ap.max_per_unit},
            )
        )
    return out
