"""Pipeline step: conversation-level signals and the group × month findings they make.

All per-message work runs in the engine (Ibis; identical on DuckDB and PySpark):

- **reply storms** (``reply_storms``): each roll-call demand collects the roll-call replies that
  follow it in the same group until the next demand, within ``window_minutes``; a storm has at least
  ``min_replies`` replies. Attention cost = replies × group members.
- **接龙 rounds** (``solitaire_rounds``): runs of 接龙 entries (kind ``solitaire`` or a numbered short
  line) in one group, a new round after a gap of ``gap_minutes``.
- **deadlines** (``demand_deadlines``): parsed from every demand (:mod:`zhijian.analysis.deadlines`),
  minutes and working minutes left.
- **after-hours demands**: any demand label outside working hours (Chinese calendar); urgent ones
  (``message_flags.urgent`` or a group tagged 安保 / 应急) are counted apart.
- **@all frequency** per group and month (metrics of the findings).

Findings (thresholds in ``signals_policy.yaml``, each with its source) are aggregated per group and
calendar month: GROUP_ROLLCALL_INSTANT, EXCESSIVE_TRACE, MANDATORY_CHECKIN_POINTS, FORWARD_LIKE_VOTE,
ARBITRARY_TASKS, AFTER_HOURS — with the demand message ids, the label rule ids and the policy value.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from zhijian.analysis.activity import DEMAND_LABELS
from zhijian.analysis.calendar import periods_minutes
from zhijian.analysis.deadlines import end_of_work_minute, with_deadlines, working_minutes
from zhijian.analysis.findings import FindingDraft
from zhijian.analysis.pipeline import AnalysisContext, StepResult
from zhijian.lake.stages import materialize


@cache
def signals_policy() -> dict[str, Any]:
    text = resources.files("zhijian.analysis").joinpath("signals_policy.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _v(section: str, key: str) -> Any:
    return signals_policy()[section][key]["value"]


def _epoch_min(ts):
    return ts.epoch_seconds().cast("int64") // 60


def _labels(lake):
    if lake.exists("message_labels"):
        return lake.table("message_labels")
    import ibis

    from zhijian.lake.schema import MESSAGE_LABELS

    return ibis.memtable(MESSAGE_LABELS.empty_table())


def _urgent_ids(lake):
    """message_id of messages flagged urgent (an empty table when there are no flags)."""
    import ibis
    import pyarrow as pa

    if lake.exists("message_flags"):
        f = lake.table("message_flags")
        if "urgent" in f.columns:
            return f.filter(f.urgent.fill_null(False)).select("message_id").distinct()
    return ibis.memtable(pa.table({"message_id": pa.array([], pa.string())}))


def group_members(memberships, groups):
    """(group_id, members): current members from memberships, else the inventory's member_count."""
    import ibis

    cur = memberships.filter(memberships.left_at.isnull())
    m = cur.group_by("group_id").aggregate(n_mem=cur.person_id.nunique().cast("int64"))
    g = groups.select(group_id=groups.id, n_inv=groups.member_count.cast("int64"))
    j = g.outer_join(m, g.group_id == m.group_id)
    gid = ibis.coalesce(j.group_id, j.group_id_right)
    return j.select(group_id=gid, members=ibis.coalesce(j.n_mem, j.n_inv, 0).cast("int64"))


def reply_storms(msgs, labels, members, window_minutes: int, solitaire_pattern: str):
    """One row per demand (any demand label: a roll-call demand, but also an instant-response order or a
    notice ending in 收到请回复 draws 收到 replies): the roll-call replies that follow it in the same group
    until the next demand, within the window."""
    import ibis

    lab = labels.filter(labels.label.isin([*DEMAND_LABELS, "roll_call_reply"]))
    flags = lab.group_by("message_id").aggregate(
        d=lab.label.isin(list(DEMAND_LABELS)).cast("int64").max(),
        r=(lab.label == "roll_call_reply").cast("int64").max(),
    )
    m = msgs.select("message_id", "group_id", "sender_id", "local_ts", "kind", "text")
    ev = m.left_join(flags, m.message_id == flags.message_id)
    # a 接龙 entry (kind solitaire, or WeChat's '#接龙' list) is a reply even when it repeats the demand
    jl = (ev.kind == "solitaire") | ev.text.fill_null("").re_search(solitaire_pattern)
    r = ibis.ifelse(jl, 1, ev.r.fill_null(0))
    d = ibis.ifelse(r == 1, 0, ev.d.fill_null(0))
    ev = ev.select("message_id", "group_id", "sender_id", "local_ts", d=d, r=r).filter(
        lambda t: (t.d == 1) | (t.r == 1)
    )
    w = ibis.cumulative_window(group_by=ev.group_id, order_by=[ev.local_ts, ev.message_id])
    ev = ev.mutate(seq=ev.d.sum().over(w), tm=_epoch_min(ev.local_ts))
    dem = ev.filter(ev.d == 1).select(
        demand_id=ev.message_id,
        group_id=ev.group_id,
        sender_id=ev.sender_id,
        local_ts=ev.local_ts,
        seq=ev.seq,
        t0=ev.tm,
    )
    rep = ev.filter((ev.r == 1) & (ev.d == 0) & (ev.seq >= 1)).select(
        gid=ev.group_id, rseq=ev.seq, rsender=ev.sender_id, rt=ev.tm
    )
    j = dem.left_join(
        rep,
        [dem.group_id == rep.gid, dem.seq == rep.rseq, rep.rt <= dem.t0 + window_minutes, rep.rt >= dem.t0],
    )
    agg = j.group_by(["demand_id", "group_id", "sender_id", "local_ts", "t0"]).aggregate(
        replies=j.rt.count().cast("int64"), people=j.rsender.nunique().cast("int64"), last=j.rt.max()
    )
    agg = agg.left_join(members, agg.group_id == members.group_id).drop("group_id_right")
    mem = agg.members.fill_null(0)
    return agg.select(
        "demand_id",
        "group_id",
        "sender_id",
        "local_ts",
        "replies",
        "people",
        span_minutes=ibis.coalesce(agg["last"] - agg.t0, 0).cast("int64"),
        members=mem.cast("int64"),
        attention_cost=(agg.replies * mem).cast("int64"),
    )


def solitaire_rounds(msgs, gap_minutes: int, entry_pattern: str, max_chars: int, solitaire_pattern: str):
    import ibis

    txt = msgs.text.fill_null("")
    entry = (
        (msgs.kind == "solitaire")
        | txt.re_search(solitaire_pattern)
        | (txt.re_search(entry_pattern) & (txt.length() <= max_chars))
    )
    e = msgs.filter(entry).select("message_id", "group_id", "sender_id", "local_ts")
    e = e.mutate(tm=_epoch_min(e.local_ts))
    w = ibis.window(group_by=e.group_id, order_by=[e.local_ts, e.message_id])
    e = e.mutate(prev=e.tm.lag().over(w))
    e = e.mutate(new=ibis.ifelse(e.prev.isnull() | (e.tm - e.prev > gap_minutes), 1, 0))
    e = e.mutate(
        rnd=e.new.sum().over(ibis.cumulative_window(group_by=e.group_id, order_by=[e.local_ts, e.message_id]))
    )
    wr = ibis.window(group_by=[e.group_id, e.rnd], order_by=[e.local_ts, e.message_id])
    e = e.mutate(first=e.message_id.first().over(wr))
    r = e.group_by(["group_id", "rnd", "first"]).aggregate(
        start_local=e.local_ts.min(),
        end_local=e.local_ts.max(),
        entries=e.count().cast("int64"),
        people=e.sender_id.nunique().cast("int64"),
    )
    r = r.filter(r.entries >= 2)
    return r.select(
        round_id=r["first"],
        group_id=r.group_id,
        start_local=r.start_local,
        end_local=r.end_local,
        entries=r.entries,
        people=r.people,
    )


def demand_deadlines(lake, msgs, labels, cal, wh, max_days: int):
    import ibis

    dm = labels.filter(labels.label.isin(list(DEMAND_LABELS))).select("message_id").distinct()
    t = msgs.select("message_id", "group_id", "local_ts", "text").join(dm, "message_id")
    t = t.filter(t.text.notnull())
    d = with_deadlines(lake, t, end_of_work_minute(wh), max_days)
    d = d.filter(d.deadline_min.notnull())
    wm = working_minutes(d, cal, periods_minutes(wh), max_days)
    j = d.left_join(wm, d.message_id == wm.message_id)
    left = j.deadline_min - j._t0
    return j.select(
        message_id=j.message_id,
        group_id=j.group_id,
        local_ts=j.local_ts,
        pattern_id=j.pattern_id,
        span=j.span,
        deadline_local=j.local_ts + left.as_interval("m"),
        minutes_left=ibis.greatest(left, 0).cast("int64"),
        working_minutes_left=j.working_minutes_left.fill_null(0).cast("int64"),
    )


def _selection(rule: dict[str, Any], dem, deadlines):
    """The demand rows (message_id, group_id, year, month, label rule id) a finding rule counts."""
    s = dem.filter(dem.label.isin(rule["labels"]))
    if rule.get("after_hours"):
        s = s.filter(s.after_hours & ~s.urgent)
    if rule.get("exempt_group_tags"):
        s = s.filter(~s.exempt_group)
    if "max_working_minutes" in rule:
        dl = deadlines.filter(deadlines.working_minutes_left <= int(rule["max_working_minutes"])).select(
            dl_id="message_id"
        )
        s = s.join(dl, s.message_id == dl.dl_id).drop("dl_id")
    return s


def demands(ctx: AnalysisContext, labels=None, groups=None):
    """Demand rows (message_id, group_id, label, rule_id, year, month, after_hours, urgent, exempt_group).

    ``urgent``: flagged urgent by the labels step, or (with ``after_hours.urgent_exempt``) sent in a
    group tagged with an exempt tag (安保 / 应急)."""
    import ibis

    lake = ctx.lake
    labels = labels if labels is not None else _labels(lake)
    groups = groups if groups is not None else ctx.inventory("groups")
    msgs = ctx.messages()
    urgent = _urgent_ids(lake).select(u_id="message_id", u=ibis.literal(True))
    exempt_tags = list(ctx.policy.apps.exempt_tags)
    g = groups.select(g_id=groups.id, g_tags=groups.tags)
    lab = labels.filter(labels.label.isin(list(DEMAND_LABELS))).select(
        lid="message_id", label="label", rule_id="rule_id"
    )
    m = msgs.select("message_id", "group_id", "local_ts", "after_hours", "at_all")
    dem = m.join(lab, m.message_id == lab.lid)
    dem = dem.left_join(urgent, dem.message_id == urgent.u_id)
    dem = dem.left_join(g, dem.group_id == g.g_id)
    exempt = ibis.literal(False)
    for tag in exempt_tags:
        exempt = exempt | dem.g_tags.contains(tag).fill_null(False)
    urgent_flag = dem.u.fill_null(False)
    if ctx.policy.after_hours.urgent_exempt:
        urgent_flag = urgent_flag | exempt
    dem = dem.select(
        "message_id",
        "group_id",
        "label",
        "rule_id",
        year=dem.local_ts.year().cast("int64"),
        month=dem.local_ts.month().cast("int64"),
        after_hours=dem.after_hours.fill_null(False),
        urgent=urgent_flag,
        exempt_group=exempt,
    )
    return dem


def step(ctx: AnalysisContext) -> StepResult:
    import ibis

    lake = ctx.lake
    wh = ctx.policy.working_hours
    msgs = ctx.messages()
    labels = _labels(lake)
    groups = ctx.inventory("groups")
    members = group_members(lake.table("memberships"), groups)
    datasets = {}
    datasets["reply_storms"] = lake.replace(
        "reply_storms",
        reply_storms(
            msgs, labels, members, _v("reply_storm", "window_minutes"), _v("solitaire", "solitaire_pattern")
        ).filter(lambda t: t.replies >= _v("reply_storm", "min_replies")),
    )
    datasets["solitaire_rounds"] = lake.replace(
        "solitaire_rounds",
        solitaire_rounds(
            msgs,
            _v("solitaire", "gap_minutes"),
            _v("solitaire", "entry_pattern"),
            _v("solitaire", "max_entry_chars"),
            _v("solitaire", "solitaire_pattern"),
        ),
    )
    datasets["demand_deadlines"] = lake.replace(
        "demand_deadlines",
        demand_deadlines(lake, msgs, labels, lake.table("calendar"), wh, _v("deadline", "max_days")),
    )
    deadlines = lake.table("demand_deadlines")

    dem = materialize(lake, demands(ctx, labels, groups), "sig_dem")

    rules = signals_policy()["findings"]
    parts = []
    for i, rule in enumerate(rules):
        s = _selection(rule, dem, deadlines)
        parts.append(
            s.group_by(["group_id", "year", "month"])
            .aggregate(
                count=s.message_id.nunique().cast("int64"),
                ids=s.message_id.collect(distinct=True),
                rule_ids=s.rule_id.collect(distinct=True),
            )
            .mutate(r=ibis.literal(i, "int64"))
        )
    allp = parts[0]
    for x in parts[1:]:
        allp = allp.union(x, distinct=False)
    thresholds = ibis.cases(*[(allp.r == i, int(r["min_per_month"])) for i, r in enumerate(rules)])
    hits = lake.to_arrow(
        allp.filter(allp["count"] >= thresholds).order_by(["r", "group_id", "year", "month"])
    ).to_pylist()

    # per group-month context for the titles: replies to roll calls, @all, urgent after-hours demands
    rs = reply_storms(
        msgs, labels, members, _v("reply_storm", "window_minutes"), _v("solitaire", "solitaire_pattern")
    )
    rs = rs.mutate(year=rs.local_ts.year().cast("int64"), month=rs.local_ts.month().cast("int64"))
    replies = rs.group_by(["group_id", "year", "month"]).aggregate(
        replies=rs.replies.sum().cast("int64"),
        storms=(rs.replies >= _v("reply_storm", "min_replies")).cast("int64").sum(),
        attention_cost=rs.attention_cost.sum().cast("int64"),
    )
    atall = msgs.filter(msgs.at_all).mutate(
        year=msgs.local_ts.year().cast("int64"), month=msgs.local_ts.month().cast("int64")
    )
    atall = atall.group_by(["group_id", "year", "month"]).aggregate(at_all=atall.count().cast("int64"))
    urg = dem.filter(dem.after_hours & dem.urgent)
    urg = urg.group_by(["group_id", "year", "month"]).aggregate(
        urgent_after_hours=urg.message_id.nunique().cast("int64")
    )
    ctxrows = {}
    for tbl in (replies, atall, urg):
        for r in lake.to_arrow(tbl).to_pylist():
            key = (r.pop("group_id"), r.pop("year"), r.pop("month"))
            ctxrows.setdefault(key, {}).update(r)

    ginfo = lake.to_arrow(groups.select("id", "name", "unit_id")).to_pylist()
    names = {r["id"]: r["name"] for r in ginfo}
    units = {r["id"]: r["unit_id"] for r in ginfo}
    findings = [_finding(h, rules[h["r"]], ctxrows, names, units) for h in hits]

    n_dem = lake.to_arrow(
        dem.aggregate(n=dem.message_id.nunique(), ah=dem.after_hours.cast("int64").sum())
    ).to_pylist()[0]
    metrics = {
        "demands": n_dem["n"],
        "after_hours_demands": n_dem["ah"] or 0,
        "reply_storms": datasets["reply_storms"],
        "solitaire_rounds": datasets["solitaire_rounds"],
        "deadlines": datasets["demand_deadlines"],
    }
    return StepResult(
        findings=findings, rules_run={r["rule_id"] for r in rules}, datasets=datasets, metrics=metrics
    )


def _finding(h: dict[str, Any], rule: dict[str, Any], ctxrows, names, units) -> FindingDraft:
    gid = h["group_id"]
    period = f"{h['year']:04d}-{h['month']:02d}"
    c = ctxrows.get((gid, h["year"], h["month"]), {})
    fmt = {
        "group": names.get(gid) or gid,
        "month": f"{h['year']}年{h['month']}月",
        "count": f"{h['count']:,}",
        "replies": f"{c.get('replies', 0) or 0:,}",
        "urgent": f"{c.get('urgent_after_hours', 0) or 0:,}",
    }
    metrics = {
        "count": h["count"],
        "label_rule_ids": sorted(h["rule_ids"] or []),
        "replies": c.get("replies", 0) or 0,
        "reply_storms": c.get("storms", 0) or 0,
        "attention_cost": c.get("attention_cost", 0) or 0,
        "at_all": c.get("at_all", 0) or 0,
        "urgent_after_hours": c.get("urgent_after_hours", 0) or 0,
    }
    policy = {"min_per_month": rule["min_per_month"], "source": rule["source"]}
    if "max_working_minutes" in rule:
        policy["max_working_minutes"] = rule["max_working_minutes"]
    n = h["count"]
    return FindingDraft(
        category=rule["category"],
        rule_id=rule["rule_id"],
        object_type="group",
        object_id=gid,
        unit_id=units.get(gid),
        period=period,
        title=rule["title"].format(**fmt),
        severity="high" if n >= 4 * int(rule["min_per_month"]) else "medium",
        message_ids=sorted(h["ids"] or []),
        object_ids=[gid],
        metrics=metrics,
        policy=policy,
    )
