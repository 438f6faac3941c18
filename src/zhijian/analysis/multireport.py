"""Pipeline step: 多头填报 — the same items requested by several units within a window.

A data request (label ``data_request``; forwarded copies of a notice — ``hop > 0`` in
``notice_clusters`` — are the forwarded request, not a new one) belongs to the unit of its sender (``people.unit_id``; the
group's unit when the sender is unknown). Two requests ask for *the same items* when they name the same
form or table (patterns in ``multireport_policy.yaml``: 《…》, “…统计表”, …台账) or when their texts are
near-duplicates by MinHash signature agreement (:mod:`zhijian.analysis.neardup`, ``verify="signature"``).
Per item key, requests are split into episodes at gaps longer than ``window_days``; an episode with
requests from at least ``min_units`` units is a MULTI_REPORTING finding with the message ids and units.
Everything per message runs in the engine.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from zhijian.analysis.findings import FindingDraft
from zhijian.analysis.neardup import Params, cluster_texts, normalise
from zhijian.analysis.pipeline import AnalysisContext, StepResult
from zhijian.lake.stages import materialize

RULE_FORM = "multireport.same_form"
RULE_SIMILAR = "multireport.similar_request"
RULE_ITEM = "multireport.same_item"
RULES = {"form": RULE_FORM, "sim": RULE_SIMILAR, "item": RULE_ITEM}


@cache
def multireport_policy() -> dict[str, Any]:
    text = resources.files("zhijian.analysis").joinpath("multireport_policy.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def requests(msgs, labels, people, groups):
    """Data requests with their requesting unit: (message_id, group_id, unit_id, local_ts, text)."""
    import ibis

    dr = labels.filter(labels.label == "data_request").select(lid="message_id").distinct()
    m = msgs.select("message_id", "group_id", "sender_id", "local_ts", "text")
    m = m.join(dr, m.message_id == dr.lid)
    pu = people.select(pid=people.id, punit=people.unit_id)
    gu = groups.select(gid=groups.id, gunit=groups.unit_id)
    m = m.left_join(pu, m.sender_id == pu.pid)
    m = m.left_join(gu, m.group_id == gu.gid)
    unit = ibis.coalesce(m.punit, m.gunit)
    return m.select("message_id", "group_id", "local_ts", "text", unit_id=unit).filter(
        lambda t: t.unit_id.notnull()
    )


def form_keys(req):
    """(message_id, key, name) for requests that name a form; one row per pattern that matched."""
    import ibis

    parts = []
    for p in multireport_policy()["form_patterns"]:
        name = req.text.re_extract(p["regex"], 1)
        t = req.filter(req.text.re_search(p["regex"])).select("message_id", name=name)
        parts.append(t)
    u = parts[0]
    for x in parts[1:]:
        u = u.union(x, distinct=False)
    key = normalise(u.name)
    u = u.mutate(key=ibis.literal("form:") + key).filter(lambda t: t.name != "")
    return u.select("message_id", "key", "name").distinct()


def item_keys(req, terms: list[str]):
    """(message_id, key, name) for requests that name a population of the item lexicon."""
    import ibis

    parts = [
        req.filter(req.text.contains(t)).select(
            "message_id", key=ibis.literal(f"item:{t}"), name=ibis.literal(t)
        )
        for t in terms
    ]
    u = parts[0]
    for x in parts[1:]:
        u = u.union(x, distinct=False)
    return u


def drop_relays(keyed, units, window_days: int):
    """Drop requests that relay an earlier request for the same key from a unit of a higher level
    within the window (a township passing a county department's request down is not a new request)."""
    from zhijian.analysis.dedup import level_rank

    up = units.select(uid=units.id, rank=level_rank(units.level))
    k = keyed.left_join(up, keyed.unit_id == up.uid).drop("uid")
    k = k.mutate(tm=k.local_ts.epoch_seconds().cast("int64") // 60)
    a = k.select(ak="key", am="message_id", ar="rank", at="tm")
    j = k.join(
        a,
        [k.key == a.ak, a.at <= k.tm, a.at >= k.tm - window_days * 1440, a.am != k.message_id, a.ar < k.rank],
    )
    relays = j.select(rk="key", rm="message_id").distinct()
    out = keyed.left_join(relays, (keyed.key == relays.rk) & (keyed.message_id == relays.rm))
    return out.filter(out.rm.isnull()).select(*keyed.columns)


def episodes(keyed, window_days: int, min_units: int):
    """Per key, split requests at gaps > window; keep episodes with ≥ min_units units."""
    import ibis

    t = keyed.mutate(tm=keyed.local_ts.epoch_seconds().cast("int64") // 60)
    w = ibis.window(group_by=t.key, order_by=[t.local_ts, t.message_id])
    t = t.mutate(prev=t.tm.lag().over(w))
    t = t.mutate(new=ibis.ifelse(t.prev.isnull() | (t.tm - t.prev > window_days * 1440), 1, 0))
    t = t.mutate(
        ep=t.new.sum().over(ibis.cumulative_window(group_by=t.key, order_by=[t.local_ts, t.message_id]))
    )
    t = t.mutate(
        first=t.message_id.first().over(
            ibis.window(group_by=[t.key, t.ep], order_by=[t.local_ts, t.message_id])
        )
    )
    e = t.group_by(["key", "ep", "first"]).aggregate(
        units=t.unit_id.nunique().cast("int64"),
        unit_ids=t.unit_id.collect(distinct=True),
        ids=t.message_id.collect(distinct=True),
        name=t.name.max(),
        start=t.local_ts.min(),
        end=t.local_ts.max(),
    )
    return e.filter(e.units >= min_units)


def step(ctx: AnalysisContext) -> StepResult:
    import ibis

    lake = ctx.lake
    pol = multireport_policy()
    window = int(pol["window_days"]["value"])
    min_units = int(pol["min_units"]["value"])
    labels = lake.table("message_labels") if lake.exists("message_labels") else None
    if labels is None:
        return StepResult(rules_run=set(RULES.values()), metrics={"data_requests": 0})
    msgs = lake.table("messages")
    if pol["exclude_copies"]["value"]:
        msgs = msgs.filter(~msgs.forwarded)
        if lake.exists("notice_clusters"):
            nc = lake.table("notice_clusters")
            copies = nc.filter(nc.hop > 0).select(cid="message_id")
            msgs = (
                msgs.left_join(copies, msgs.message_id == copies.cid)
                .filter(lambda t: t.cid.isnull())
                .drop("cid")
            )
    req = materialize(
        lake, requests(msgs, labels, ctx.inventory("people"), ctx.inventory("groups")), "mr_req"
    )
    base = req.select("message_id", "unit_id", "local_ts")

    fk = form_keys(req)
    by_form = base.join(fk, "message_id").select("message_id", "unit_id", "local_ts", "key", "name")

    st = pol["similar_text"]
    p = Params.from_policy(
        verify="signature",
        min_agreement=float(st["min_agreement"]["value"]),
        min_chars=int(st["min_chars"]["value"]),
        num_perm=int(st["num_perm"]["value"]),
        bands=int(st["bands"]["value"]),
    )
    run = cluster_texts(lake, req.select(key=req.message_id, text=req.text), p)
    it = run.items
    size = it.key.count().over(ibis.window(group_by=it.comp))
    sim = it.mutate(size=size).filter(lambda t: t.size >= 2)
    sim = sim.select(
        message_id=sim.key, key=ibis.literal("sim:") + sim.comp.cast("string"), name=ibis.null("string")
    )
    by_sim = base.join(sim, "message_id").select("message_id", "unit_id", "local_ts", "key", "name")

    items = pol["items"]
    ik = item_keys(req, list(items["terms"]["value"]))
    by_item = base.join(ik, "message_id").select("message_id", "unit_id", "local_ts", "key", "name")

    inv_units = ctx.inventory("units")
    iw = int(items["window_days"]["value"])
    keyed = drop_relays(by_form.union(by_sim, distinct=False), inv_units, window)
    eps = lake.to_arrow(episodes(keyed, window, min_units).order_by(["start", "key"])).to_pylist()
    by_item = drop_relays(by_item, inv_units, iw)
    eps += lake.to_arrow(episodes(by_item, iw, min_units).order_by(["start", "key"])).to_pylist()
    n_req = lake.to_arrow(req.count()).as_py()

    units = {
        r["id"]: r["name"] for r in lake.to_arrow(ctx.inventory("units").select("id", "name")).to_pylist()
    }
    findings: list[FindingDraft] = []
    seen: list[set[str]] = []
    for e in eps:  # one row per finding (episodes), not per message
        ids = tuple(sorted(e["ids"] or []))
        if any(set(ids) <= s for s in seen):  # the same requests found by form, wording or item: report once
            continue
        seen.append(set(ids))
        findings.append(_finding(e, ids, units, window, min_units, pol))
    return StepResult(
        findings=findings,
        rules_run=set(RULES.values()),
        metrics={
            "data_requests": n_req,
            "episodes": len(findings),
            **{f"similar_{k}": v for k, v in run.metrics.items()},
        },
    )


def _finding(e: dict[str, Any], ids, units, window: int, min_units: int, pol) -> FindingDraft:
    kind = e["key"].split(":", 1)[0]
    unit_ids = sorted(e["unit_ids"] or [])
    days = max(1, (e["end"] - e["start"]).days + 1)
    names = "、".join(units.get(u, u) for u in unit_ids[:5]) + ("等" if len(unit_ids) > 5 else "")
    what = {"form": f"《{e['name']}》", "item": f"“{e['name']}”相关数据"}.get(kind, "内容相近的材料")
    return FindingDraft(
        category="MULTI_REPORTING",
        rule_id=RULES[kind],
        object_type="message",
        object_id=e["first"],
        unit_id=unit_ids[0] if unit_ids else None,
        period=e["start"].strftime("%Y-%m"),
        title=f"{what}：{e['units']} 个单位（{names}）在 {days} 天内分别要求填报",
        summary="同一事项由多个单位分别索要，基层重复填报；建议由一个单位统一收集、数据共享。",
        severity="high" if e["units"] >= 3 else "medium",
        message_ids=list(ids),
        object_ids=unit_ids,
        metrics={"units": e["units"], "requests": len(ids), "days": days, "item": e["name"] or ""},
        policy={
            "window_days": int(pol["items"]["window_days"]["value"]) if kind == "item" else window,
            "min_units": min_units,
            "source": pol["min_units"]["source"],
            "window_source": pol["window_days"]["source"],
        },
    )
