"""Pipeline step: weekly burden indicators per person, group, unit and county (lake ``indicators``).

Definitions (Viva-Insights style: each metric is a count over one ISO week, Monday 00:00 to Monday
00:00 local wall-clock time; ``period`` is the week's Monday 'YYYY-MM-DD'). They are also data:
:data:`METRICS` (Chinese name, definition, scopes) for the UI and the reports.

- A person **receives** a message when they are a member of its group at the message time
  (``joined_at`` ≤ t < ``left_at``; null ``joined_at`` = since always, null ``left_at`` = still a
  member) and did not send it. System and recall messages are never received.
- Labels come from ``message_labels``; "demand" = any demand label; "after hours" uses
  ``local_ts``, the configured working hours and the Chinese calendar; urgent messages
  (``message_flags.urgent``) are exempt from after-hours counts.
- **Duplicate notice copies** received in a week = copies of notices (``notice_clusters``)
  received that week − distinct notices received that week.
- **Apps demanded** = distinct inventory apps named in the check-in / app-usage demands received.
- **Burden generated** (group, sending unit): counts of what a group / the senders of a unit sent,
  and the *recipient load* Σ over messages of their recipients (Viva's "generated workload").
- Unit and county figures are the **mean per person** over the people of the unit's subtree
  (roster) who were in at least one group that week, and are written only when that is at least
  ``policy.privacy.min_group_size`` people (Viva minimum group size). Sending-unit figures follow the
  same threshold. Person rows exist so a cadre can see their own figures (only non-zero values are
  stored; a missing metric is 0). Nothing ranks individuals.

Cost: linear. The messages are read once into sums per (group, week, sender) (``burden_sw``);
people who were members for the whole week take the group's week totals minus what they sent
themselves, and a group's recipient load is (whole-week members − the sender if one of them) ×
its messages + the partial members' receipts; only membership intervals that start or end inside a
week are joined message by message. Notice copies and apps are expanded per (person, week, item),
which is what "distinct notices received" needs. Inside :func:`compute` the week key is a date;
outputs carry the 'YYYY-MM-DD' string.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from zhijian.analysis.activity import DEMAND_LABELS, drop_scratch, enriched_messages, inventory, materialize
from zhijian.analysis.pipeline import AnalysisContext, StepResult

LABEL_ZH = {
    "roll_call_demand": "接龙/报数/回复“收到”要求",
    "checkin_demand": "打卡签到要求",
    "proof_demand": "拍照截图留痕要求",
    "instant_response_demand": "立即响应要求",
    "data_request": "材料数据报送要求",
    "forward_like_demand": "转发点赞投票要求",
    "app_usage_demand": "下载注册使用应用要求",
}

#: metric -> message column summed for "received" (per person)
RECEIVED_COLS: dict[str, str] = {
    "messages_received": "counted",
    "demands_received": "demand",
    "after_hours_demands_received": "ah_demand",
    "after_hours_messages_received": "ah_message",
    **{f"{lb}_received": f"l_{lb}" for lb in DEMAND_LABELS},
}
PERSON_METRICS = (
    "groups_joined",
    *RECEIVED_COLS,
    "roll_call_replies_sent",
    "duplicate_notices_received",
    "apps_demanded",
    "burden_index",
)
GROUP_METRICS = (
    "members",
    "messages",
    "demands",
    "after_hours_demands",
    "roll_call_replies",
    "duplicate_copies",
    "message_load",
    "demand_load",
    "after_hours_demand_load",
)
SENDER_METRICS = ("demands_sent", "demand_load_generated", "after_hours_demand_load_generated")

METRICS: dict[str, dict[str, Any]] = {
    "groups_joined": {
        "zh": "所在工作群数",
        "scopes": ["person", "unit", "county"],
        "definition": "本周内曾是成员的工作群个数（单位、全县为人均值）",
    },
    "messages_received": {
        "zh": "收到消息数",
        "scopes": ["person", "unit", "county"],
        "definition": "本周所在群中他人发送的消息条数（不含系统、撤回消息）；成员身份按消息发送时计",
    },
    "demands_received": {
        "zh": "收到要求数",
        "scopes": ["person", "unit", "county"],
        "definition": "收到的消息中带任一“要求”标签（接龙、打卡、留痕、立即响应、材料、转发点赞、应用使用）的条数",
    },
    "after_hours_demands_received": {
        "zh": "非工作时间收到要求数",
        "scopes": ["person", "unit", "county"],
        "definition": "在非工作时间（按工作时段和法定节假日、调休）收到且未标注紧急/应急/安保的要求条数",
    },
    "after_hours_messages_received": {
        "zh": "非工作时间收到消息数",
        "scopes": ["person", "unit", "county"],
        "definition": "在非工作时间收到且未标注紧急的消息条数",
    },
    **{
        f"{lb}_received": {
            "zh": f"收到{zh}",
            "scopes": ["person", "unit", "county"],
            "definition": f"收到的带“{lb}”标签（{zh}）的消息条数",
        }
        for lb, zh in LABEL_ZH.items()
    },
    "roll_call_replies_sent": {
        "zh": "被要求回复次数",
        "scopes": ["person", "unit", "county"],
        "definition": "本人发送的“收到/好的/1/已阅/接龙”类回复条数（roll_call_reply 标签）",
    },
    "duplicate_notices_received": {
        "zh": "重复通知份数",
        "scopes": ["person", "unit", "county"],
        "definition": "本周收到的同一通知（近似重复通知聚类）的多余份数：收到份数 − 不同通知数",
    },
    "apps_demanded": {
        "zh": "被要求使用的应用数",
        "scopes": ["person", "unit", "county"],
        "definition": "本周收到的打卡、应用使用要求中点名的不同政务应用个数（按目录清单中的应用名称）",
    },
    "burden_index": {
        "zh": "负担指数",
        "scopes": ["person", "unit", "county"],
        "definition": "按 burden_index.yaml 的权重加权求和（单位：相当于几条普通要求/周）",
    },
    "people": {
        "zh": "人数",
        "scopes": ["unit", "county"],
        "definition": "本周至少在一个工作群中的本单位（含下级）人员数；少于最小统计人数不公布",
    },
    "members": {"zh": "群成员数", "scopes": ["group"], "definition": "本周内曾是该群成员的人数"},
    "messages": {
        "zh": "发送消息数",
        "scopes": ["group"],
        "definition": "群内本周消息条数（不含系统、撤回消息）",
    },
    "demands": {"zh": "发出要求数", "scopes": ["group"], "definition": "群内本周带要求标签的消息条数"},
    "after_hours_demands": {
        "zh": "非工作时间发出要求数",
        "scopes": ["group"],
        "definition": "群内本周非工作时间、非紧急的要求条数",
    },
    "roll_call_replies": {
        "zh": "引发回复数",
        "scopes": ["group"],
        "definition": "群内本周“收到/接龙”类回复条数",
    },
    "duplicate_copies": {
        "zh": "重复通知条数",
        "scopes": ["group"],
        "definition": "群内本周转发自他处的重复通知条数（聚类中非首发）",
    },
    "message_load": {
        "zh": "消息触达人次",
        "scopes": ["group"],
        "definition": "Σ 每条消息的接收人数（生成的阅读负担）",
    },
    "demand_load": {
        "zh": "要求触达人次",
        "scopes": ["group"],
        "definition": "Σ 每条要求的接收人数（生成的负担）",
    },
    "after_hours_demand_load": {
        "zh": "非工作时间要求触达人次",
        "scopes": ["group"],
        "definition": "Σ 每条非工作时间要求的接收人数",
    },
    "demands_sent": {
        "zh": "本单位人员发出要求数",
        "scopes": ["unit"],
        "definition": "本单位（含下级）人员本周发出的要求条数",
    },
    "demand_load_generated": {
        "zh": "本单位生成的要求触达人次",
        "scopes": ["unit"],
        "definition": "本单位人员发出的每条要求的接收人数之和",
    },
    "after_hours_demand_load_generated": {
        "zh": "本单位非工作时间要求触达人次",
        "scopes": ["unit"],
        "definition": "本单位人员在非工作时间发出的非紧急要求的接收人数之和",
    },
}

INDEX_YAML = Path(__file__).with_name("burden_index.yaml")


@functools.cache
def index_weights() -> dict[str, float]:
    data = yaml.safe_load(INDEX_YAML.read_text(encoding="utf-8"))
    return {k: float(v["weight"]) for k, v in data["weights"].items()}


def _index_expr(t):
    """The composite index of a row of metrics: Σ weight × metric, in the order of burden_index.yaml."""
    import ibis

    idx = ibis.literal(0.0)
    for metric, weight in index_weights().items():
        idx = idx + t[metric].cast("float64") * weight
    return idx


def _prep(m):
    # inside compute() the week key ``period`` is the Monday as a date (cheap to hash and join);
    # it becomes the 'YYYY-MM-DD' string only in the aggregated outputs (:func:`_period_str`)
    wk = m.local_ts.truncate("W")
    m = m.mutate(wk=wk, period=wk.date(), sender=m.sender_id.fill_null(""))
    return m


def _period_str(p):
    return p.cast("string")


def _weeks(m):
    import ibis

    w = m.select("wk").distinct()
    return w.mutate(period=w.wk.date(), ps=_period_str(w.wk.date()), wk_end=w.wk + ibis.interval(days=7))


def membership_weeks(mem, weeks):
    """Membership intervals × weeks they overlap, with ``fc`` = member for the whole week."""
    mem = mem.select("group_id", "person_id", "joined_at", "left_at").distinct()
    j = mem.cross_join(weeks)
    ov = (j.joined_at.isnull() | (j.joined_at < j.wk_end)) & (j.left_at.isnull() | (j.left_at > j.wk))
    j = j.filter(ov)
    fc = (j.joined_at.isnull() | (j.joined_at <= j.wk)) & (j.left_at.isnull() | (j.left_at >= j.wk_end))
    return j.mutate(fc=fc)


def _matched_apps(ctx: AnalysisContext, m):
    """(message_id, app_id) for check-in / app-usage demands that name an inventory app."""
    apps = inventory(ctx, "apps").select(app_id="id", app_name="name")
    apps = apps.filter(apps.app_name.length() >= 2)
    d = m.filter((m.l_checkin_demand == 1) | (m.l_app_usage_demand == 1))
    d = d.select("message_id", "group_id", "sender", "period", "local_ts", text=d.app_text.fill_null(""))
    # names are matched once per distinct text (demands repeat templates), then joined back
    texts = d.select(t_text="text").distinct()
    hits = texts.cross_join(apps)
    hits = hits.filter(hits.t_text.contains(hits.app_name)).select("t_text", "app_id")
    j = d.inner_join(hits, d.text == hits.t_text)
    return j.select("message_id", "group_id", "sender", "period", "local_ts", item="app_id")


def _distinct_items_received(items, fcw, partial):
    """Per (person, period): items (clusters / apps) received from others, decomposed as in the module
    docstring. ``items``: message_id, group_id, sender, period, local_ts, item. Returns
    (person_id, period, copies, n_distinct)."""
    gwi = items.group_by("group_id", "period", "item").aggregate(n=items.count())
    swi = items.group_by("group_id", "period", "item", "sender").aggregate(own=items.count())
    swi = swi.rename(s_g="group_id", s_p="period", s_i="item")
    f = fcw.inner_join(gwi, [fcw.group_id == gwi.group_id, fcw.period == gwi.period]).select(
        "person_id", "period", "item", n=gwi.n.cast("int64")
    )
    # minus the copies the person sent themselves (own ≤ n per group, so every group's term n − own
    # stays ≥ 0 and an item is received iff its total over groups is > 0)
    o = fcw.inner_join(
        swi, (fcw.group_id == swi.s_g) & (fcw.period == swi.s_p) & (fcw.person_id == swi.sender)
    )
    o = o.select("person_id", "period", item=o.s_i, n=(-o.own).cast("int64"))
    pj = partial.select(
        pg="group_id", pp="period", person_id="person_id", joined_at="joined_at", left_at="left_at"
    )
    x = pj.inner_join(items, (pj.pg == items.group_id) & (pj.pp == items.period))
    x = x.filter(
        (x.joined_at.isnull() | (x.local_ts >= x.joined_at))
        & (x.left_at.isnull() | (x.local_ts < x.left_at))
        & (x.sender != x.person_id)
    )
    p = x.group_by("person_id", "period", "item").aggregate(n=x.count())
    u = f.union(o).union(p.select("person_id", "period", "item", n=p.n.cast("int64")))
    per = u.group_by("person_id", "period", "item").aggregate(n=u.n.sum())
    per = per.filter(per.n > 0)
    return per.group_by("person_id", "period").aggregate(copies=per.n.sum(), n_distinct=per.count())


def compute(ctx: AnalysisContext, m=None, mem=None) -> dict[str, Any]:
    """Wide Ibis tables ``person`` (person_id, period, PERSON_METRICS), ``group`` (group_id, period,
    GROUP_METRICS) and ``sent`` (per group, week and sender: what was sent and its recipient load, for
    the sending units).
    ``m`` / ``mem`` default to the lake's enriched messages and memberships; what-if passes
    transformed ones."""
    import ibis

    m = _prep(m if m is not None else enriched_messages(ctx))
    cols = sorted(set(RECEIVED_COLS.values()))
    keep = [
        "message_id",
        "group_id",
        "sender",
        "local_ts",
        "period",
        "wk",
        "cluster_id",
        "demand",
        "l_roll_call_reply",
        "l_checkin_demand",
        "l_app_usage_demand",
        "dup_copy",
        "app_text",
        *cols,
    ]
    m = m.select(*dict.fromkeys(keep))  # enriched messages are materialised once per run (activity.py)
    mem = mem if mem is not None else ctx.lake.table("memberships")
    weeks = _weeks(m)
    mw = materialize(ctx, membership_weeks(mem, weeks), "burden_mw")
    # the one message-level aggregate: sums per (group, week, sender); group figures, own messages,
    # replies sent and the burden generated are all derived from it
    ssums = {c: m[c].sum().cast("int64") for c in (*cols, "l_roll_call_reply")}
    ssums["dup_counted"] = (m.dup_copy * m.counted).sum().cast("int64")
    gsw = materialize(ctx, m.group_by("group_id", "period", "sender").aggregate(**ssums), "burden_sw")
    gw = gsw.group_by("group_id", "period").aggregate(**{c: gsw[c].sum() for c in cols})
    sw = gsw.select(s_g="group_id", s_p="period", sender="sender", **{f"o_{c}": gsw[c] for c in cols})
    fcw = mw.filter(mw.fc).select("group_id", "person_id", "period")
    partial = mw.filter(~mw.fc).select("group_id", "person_id", "period", "joined_at", "left_at")

    # received by people who were members all week: group totals minus own messages
    f = fcw.inner_join(gw, [fcw.group_id == gw.group_id, fcw.period == gw.period])
    f = f.left_join(sw, (f.group_id == sw.s_g) & (f.period == sw.s_p) & (f.person_id == sw.sender))
    f = f.select("person_id", "period", **{c: (f[c] - f[f"o_{c}"].fill_null(0)).cast("int64") for c in cols})
    # received by people who joined / left during the week: message by message
    pj = partial.rename(pg="group_id", pp="period")
    x = pj.inner_join(m, (pj.pg == m.group_id) & (pj.pp == m.period))
    x = x.filter(
        (x.joined_at.isnull() | (x.local_ts >= x.joined_at))
        & (x.left_at.isnull() | (x.local_ts < x.left_at))
        & (x.sender != x.person_id)
    )
    # the partial members' receipts per (person, group, week, sender), computed once: they give the
    # partial members' figures and the partial part of each sender's recipient load
    xs = x.group_by("person_id", "group_id", "period", "sender").aggregate(
        **{c: x[c].sum().cast("int64") for c in cols}
    )
    xs = materialize(ctx, xs, "burden_px")
    p = xs.group_by("person_id", "period").aggregate(**{c: xs[c].sum().cast("int64") for c in cols})
    recv = f.union(p.select("person_id", "period", *cols))
    recv = recv.group_by("person_id", "period").aggregate(**{c: recv[c].sum() for c in cols})
    # the per-person tables are joined on the period string (``ps``)
    recv = materialize(
        ctx, recv.select(*cols, r_pid="person_id", r_p=_period_str(recv.period)), "burden_recv"
    )

    joined = mw.group_by("person_id", period=mw.ps).aggregate(groups_joined=mw.group_id.nunique())
    sent = gsw.filter(gsw.sender != "")
    sent = sent.group_by("sender", "period").aggregate(roll_call_replies_sent=sent.l_roll_call_reply.sum())
    sent = sent.select("sender", "roll_call_replies_sent", t_p=_period_str(sent.period))
    notices = m.filter(m.cluster_id.notnull() & (m.counted == 1)).select(
        "message_id", "group_id", "sender", "period", "local_ts", item="cluster_id"
    )
    dup = _distinct_items_received(notices, fcw, partial)
    dup = dup.select(d_pid="person_id", d_p=_period_str(dup.period), dup=dup.copies - dup.n_distinct)
    dup = materialize(ctx, dup, "burden_dup")
    apps = _distinct_items_received(_matched_apps(ctx, m), fcw, partial)
    apps = apps.select(a_pid="person_id", a_p=_period_str(apps.period), n_apps="n_distinct")
    apps = materialize(ctx, apps, "burden_apps")

    per = joined.left_join(recv, (joined.person_id == recv.r_pid) & (joined.period == recv.r_p))
    per = per.left_join(sent, (per.person_id == sent.sender) & (per.period == sent.t_p))
    per = per.left_join(dup, (per.person_id == dup.d_pid) & (per.period == dup.d_p))
    per = per.left_join(apps, (per.person_id == apps.a_pid) & (per.period == apps.a_p))
    vals: dict[str, Any] = {"groups_joined": per.groups_joined.cast("int64")}
    for metric, c in RECEIVED_COLS.items():
        vals[metric] = per[c].fill_null(0).cast("int64")
    vals["roll_call_replies_sent"] = per.roll_call_replies_sent.fill_null(0).cast("int64")
    vals["duplicate_notices_received"] = per.dup.fill_null(0).cast("int64")
    vals["apps_demanded"] = per.n_apps.fill_null(0).cast("int64")
    person = per.select("person_id", "period", **vals)
    person = person.mutate(burden_index=_index_expr(person))

    # recipients of a message = whole-week members − the sender if one of them + partial members at
    # its time t. Summed per (group, week, sender): Σ counted·rcpt = (n_fc − sf)·Σ counted + Σ over
    # the partial (member, message) pairs x of counted — no per-message join.
    nfc = (
        fcw.group_by("group_id", "period").aggregate(n_fc=fcw.count()).rename(n_g="group_id", n_per="period")
    )
    sfc = fcw.select(sf_g="group_id", sf_p="period", sf_person="person_id", sf=ibis.literal(1))
    px = xs.group_by(x_g=xs.group_id, x_p=xs.period, x_s=xs.sender).aggregate(
        x_counted=xs.counted.sum(), x_demand=xs.demand.sum(), x_ah=xs.ah_demand.sum()
    )
    r = gsw.left_join(nfc, (gsw.group_id == nfc.n_g) & (gsw.period == nfc.n_per))
    r = r.left_join(sfc, (r.group_id == sfc.sf_g) & (r.period == sfc.sf_p) & (r.sender == sfc.sf_person))
    r = r.left_join(px, (r.group_id == px.x_g) & (r.period == px.x_p) & (r.sender == px.x_s))
    base = r.n_fc.fill_null(0) - r.sf.fill_null(0)
    sums = {
        "messages": r.counted,
        "demands": r.demand,
        "after_hours_demands": r.ah_demand,
        "roll_call_replies": r.l_roll_call_reply,
        "duplicate_copies": r.dup_counted,
        "message_load": r.counted * base + r.x_counted.fill_null(0),
        "demand_load": r.demand * base + r.x_demand.fill_null(0),
        "after_hours_demand_load": r.ah_demand * base + r.x_ah.fill_null(0),
    }
    gs = r.select(
        "group_id", "sender", period=_period_str(r.period), **{k: v.cast("int64") for k, v in sums.items()}
    )
    gs = materialize(ctx, gs, "burden_gs")
    g = gs.group_by("group_id", "period").aggregate(**{k: gs[k].sum() for k in sums})
    gm = mw.group_by("group_id", "ps").aggregate(members=mw.person_id.nunique())
    gm = gm.select(gm_g="group_id", gm_p="ps", members="members")
    grp = gm.left_join(g, (gm.gm_g == g.group_id) & (gm.gm_p == g.period))
    grp = grp.select(
        group_id="gm_g",
        period="gm_p",
        members=grp.members.cast("int64"),
        **{k: grp[k].fill_null(0).cast("int64") for k in GROUP_METRICS if k != "members"},
    )
    return {
        "person": materialize(ctx, person, "burden_person"),
        "group": materialize(ctx, grp, "burden_group"),
        "sent": gs,
    }


def _ancestors(ctx: AnalysisContext):
    """(unit_id, ancestor_id) for every unit and each of its ancestors (itself included), from the
    materialised ``path`` of the (small) unit inventory."""
    import ibis
    import pyarrow as pa

    units = ctx.lake.to_arrow(inventory(ctx, "units").select("id", "path")).to_pylist()
    pairs = [(u["id"], a) for u in units for a in (u["path"] or f"/{u['id']}/").strip("/").split("/") if a]
    return ibis.memtable(
        pa.table(
            {"au": [a for a, _ in pairs], "anc": [b for _, b in pairs]},
            schema=pa.schema([("au", pa.string()), ("anc", pa.string())]),
        )
    )


def aggregate_units(ctx: AnalysisContext, person, min_people: int):
    """Unit (subtree) and county means per person of the person metrics, with ``people``; rows
    only where people ≥ ``min_people``. Returns (unit_wide, county_wide) Ibis tables.

    The means of the integer metrics are exact sums / people. ``burden_index`` is linear, so its
    mean is the index of the means (:func:`_index_expr` on the mean row): summing the people's float
    indices instead would depend on the order rows reach the sum (engine, plan, threads) in the
    last bit."""
    people = inventory(ctx, "people").select(pp_id="id", pp_unit="unit_id")
    anc = _ancestors(ctx)
    j = person.inner_join(people, person.person_id == people.pp_id)
    j = j.inner_join(anc, j.pp_unit == anc.au)
    metrics = [c for c in PERSON_METRICS if c != "burden_index"]
    u = j.group_by(unit_id=j.anc, period=j.period).aggregate(
        people=j.person_id.nunique(), **{k: j[k].cast("float64").sum() for k in metrics}
    )
    u = u.filter(u.people >= min_people)
    u = u.select(
        "unit_id", "period", people=u.people.cast("float64"), **{k: u[k] / u.people for k in metrics}
    )
    u = u.mutate(burden_index=_index_expr(u))
    c = person.group_by("period").aggregate(
        people=person.person_id.nunique(), **{k: person[k].cast("float64").sum() for k in metrics}
    )
    c = c.filter(c.people >= min_people)
    c = c.select("period", people=c.people.cast("float64"), **{k: c[k] / c.people for k in metrics})
    c = c.mutate(burden_index=_index_expr(c))
    return u, c


def sender_units(ctx: AnalysisContext, sent, min_people: int):
    """Burden generated by the senders of each unit (subtree), for units with ≥ min_people people.
    ``sent``: per (group_id, period, sender) sums ``demands``, ``demand_load``,
    ``after_hours_demand_load`` (``compute()["sent"]``)."""
    people = inventory(ctx, "people").select(sp_id="id", sp_unit="unit_id")
    anc = _ancestors(ctx)
    heads = people.inner_join(anc, people.sp_unit == anc.au)
    heads = heads.group_by(h_u=heads.anc).aggregate(n_head=heads.sp_id.nunique())
    heads = heads.filter(heads.n_head >= min_people)
    r = sent.inner_join(people, sent.sender == people.sp_id)
    r = r.inner_join(anc, r.sp_unit == anc.au)
    r = r.inner_join(heads, r.anc == heads.h_u)
    return r.group_by(unit_id=r.anc, period=r.period).aggregate(
        demands_sent=r.demands.sum().cast("float64"),
        demand_load_generated=r.demand_load.sum().cast("float64"),
        after_hours_demand_load_generated=r.after_hours_demand_load.sum().cast("float64"),
    )


def _long(t, scope: str, id_col: str | None, metrics, nonzero: bool):
    import ibis

    parts = []
    for k in metrics:
        v = t[k].cast("float64")
        sel = t.select(
            scope=ibis.literal(scope),
            scope_id=t[id_col].cast("string") if id_col else ibis.literal(scope),
            period=t.period,
            metric=ibis.literal(k),
            value=v,
        )
        if nonzero:
            sel = sel.filter(sel.value != 0)
        parts.append(sel)
    out = parts[0]
    for x in parts[1:]:
        out = out.union(x)
    return out


def indicators_expr(ctx: AnalysisContext, m=None, mem=None):
    """The whole ``indicators`` table (long form) as one Ibis expression."""
    min_people = ctx.policy.privacy.min_group_size
    res = compute(ctx, m, mem)
    u, c = aggregate_units(ctx, res["person"], min_people)
    su = sender_units(ctx, res["sent"], min_people)
    return (
        _long(res["person"], "person", "person_id", PERSON_METRICS, True)
        .union(_long(res["group"], "group", "group_id", GROUP_METRICS, True))
        .union(_long(u, "unit", "unit_id", ("people", *PERSON_METRICS), False))
        .union(_long(su, "unit", "unit_id", SENDER_METRICS, False))
        .union(_long(c, "county", None, ("people", *PERSON_METRICS), False))
    )


def step(ctx: AnalysisContext) -> StepResult:
    try:
        n = ctx.lake.replace("indicators", indicators_expr(ctx))
    finally:
        drop_scratch(ctx)
    t = ctx.lake.table("indicators")
    counts = ctx.lake.to_arrow(t.group_by("scope").aggregate(n=t.count())).to_pylist()
    return StepResult(
        datasets={"indicators": n}, metrics={"rows_by_scope": {r["scope"]: r["n"] for r in counts}}
    )


def read_indicators(ws, unit: str | None = None, date_from=None, date_to=None) -> dict[str, Any]:
    """Weekly figures of the county (or one unit) from the lake, for the CLI and reports.
    A unit below the privacy threshold has no rows: ``withheld`` is then true."""
    lake = ws.lake()
    if not lake.exists("indicators"):
        from zhijian.errors import ZhijianError

        raise ZhijianError(
            "尚无负担指标，请先运行 zhijian analyze", "no indicators yet; run zhijian analyze first"
        )
    t = lake.table("indicators")
    t = t.filter((t.scope == "unit") & (t.scope_id == unit)) if unit else t.filter(t.scope == "county")
    if date_from:
        t = t.filter(t.period >= date_from.isoformat())
    if date_to:
        t = t.filter(t.period <= date_to.isoformat())
    rows = lake.to_arrow(t.select("period", "metric", "value")).to_pylist()
    weeks: dict[str, dict[str, float]] = {}
    for r in rows:
        weeks.setdefault(r["period"], {})[r["metric"]] = r["value"]
    return {
        "scope": "unit" if unit else "county",
        "scope_id": unit or "county",
        "withheld": bool(unit) and not rows,
        "min_people": ws.config.policy.privacy.min_group_size,
        "weeks": [{"period": p, **weeks[p]} for p in sorted(weeks)],
        "metrics": {k: {"zh": v["zh"], "definition": v["definition"]} for k, v in METRICS.items()},
    }
