"""Pipeline step: near-duplicate notices across groups, their cascade, and copies per cadre.

Clusters come from :mod:`zhijian.analysis.neardup` (normalised text, exact duplicates first, MinHash
LSH, exact slot-aware verification, connected components). For every cluster of ≥ 2 messages:

- ``notice_clusters`` (cluster_id = the first copy's message id, message_id, group_id, sender_id, ts,
  hop): hop 0 is the first copy; a later copy is ``level(unit of its group) − level(unit of the first
  copy's group)`` hops down the unit tree (province → city → county → township → village), at least 1
  (a copy in a group of the same level or of an unknown unit is one forward away);
- ``notice_copies`` (person_id, cluster_id, copies, groups): how many copies of one notice each cadre
  received through the groups they are a member of (for the burden step);
- DUPLICATE_GROUP evidence findings: two groups with common members that received the same notices
  at least ``min_shared_notices`` times.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from zhijian.analysis.findings import FindingDraft
from zhijian.analysis.neardup import Params, _val, cluster_texts, dedup_policy
from zhijian.analysis.pipeline import AnalysisContext, StepResult

#: Message kinds whose text can be a notice.
NOTICE_KINDS = ("text", "forward", "link", "file", "other")
RULE_DUPLICATE_GROUP = "dedup.duplicate_group"


#: Rank of each unit level, top down (store.models.UNIT_LEVELS).
LEVEL_RANK = {"province": 0, "city": 1, "county": 2, "township": 3, "village": 4}


def level_rank(level):
    """Ibis expression: the rank of a unit level (null for an unknown level)."""
    import ibis

    return ibis.cases(
        *[(level == k, ibis.literal(v, "int64")) for k, v in LEVEL_RANK.items()], else_=ibis.null("int64")
    )


def clusters(ctx_lake, msgs, units=None, groups=None, p: Params | None = None):
    """(notice_clusters Ibis expression, metrics) for the messages table ``msgs``."""
    import ibis

    m = msgs.filter(msgs.text.notnull() & msgs.kind.isin(NOTICE_KINDS))
    run = cluster_texts(ctx_lake, m.select(key=m.message_id, text=m.text), p)
    j = m.select("message_id", "group_id", "sender_id", "ts").join(run.items, m.message_id == run.items.key)
    size = j.message_id.count().over(ibis.window(group_by=j.comp))
    j = j.mutate(size=size)
    j = j.filter(j.size >= 2)
    w = ibis.window(group_by=j.comp, order_by=[j.ts, j.message_id])
    j = j.mutate(cluster_id=j.message_id.first().over(w), rk=ibis.row_number().over(w))
    if groups is not None and units is not None:
        gu = groups.select(gid=groups.id, gunit=groups.unit_id)
        ud = units.select(uid=units.id, depth=level_rank(units.level))
        gd = gu.left_join(ud, gu.gunit == ud.uid).select("gid", "depth")
        j = j.left_join(gd, j.group_id == gd.gid).drop("gid")
    else:
        j = j.mutate(depth=ibis.null("int64"))
    first_depth = j.depth.first().over(ibis.window(group_by=j.comp, order_by=[j.ts, j.message_id]))
    j = j.mutate(first_depth=first_depth)
    down = j.depth - j.first_depth
    hop = ibis.cases((j.rk == 0, 0), (down.notnull() & (down >= 1), down), else_=1)
    out = j.select("cluster_id", "message_id", "group_id", "sender_id", "ts", hop=hop.cast("int32"))
    return out, run.metrics


def notice_copies(nc, messages, memberships):
    """Copies of each notice received per cadre through their groups (member at the local send time)."""
    mem = memberships.select("group_id", "person_id", "joined_at", "left_at").distinct()
    loc = messages.select("message_id", "local_ts")
    j = nc.join(loc, "message_id").join(mem, "group_id")
    ok = (j.joined_at.isnull() | (j.joined_at <= j.local_ts)) & (
        j.left_at.isnull() | (j.left_at > j.local_ts)
    )
    j = j.filter(ok)
    return j.group_by(["person_id", "cluster_id"]).aggregate(
        copies=j.message_id.nunique().cast("int64"), groups=j.group_id.nunique().cast("int64")
    )


def duplicate_group_pairs(nc, memberships, min_shared: int, min_members: int):
    """Pairs of groups with common members that received the same notices ≥ ``min_shared`` times."""
    cg = nc.select("cluster_id", "group_id").distinct()
    a = cg.rename(g1="group_id")
    b = cg.rename(g2="group_id")
    pairs = a.join(b, "cluster_id").filter(lambda t: t.g1 < t.g2)
    pc = pairs.group_by(["g1", "g2"]).aggregate(notices=pairs.cluster_id.nunique().cast("int64"))
    pc = pc.filter(pc.notices >= min_shared)
    mem = memberships.filter(memberships.left_at.isnull()).select("group_id", "person_id").distinct()
    m1 = mem.rename(g1="group_id")
    m2 = mem.rename(g2="group_id")
    shared = pc.join(m1, "g1").join(m2, ["g2", "person_id"])
    sm = shared.group_by(["g1", "g2"]).aggregate(shared_members=shared.person_id.nunique().cast("int64"))
    out = pc.join(sm, ["g1", "g2"]).filter(lambda t: t.shared_members >= min_members)
    ev = pairs.join(out.select("g1", "g2"), ["g1", "g2"]).join(
        nc.select("cluster_id", "message_id", "group_id"), "cluster_id"
    )
    ev = ev.filter((ev.group_id == ev.g1) | (ev.group_id == ev.g2))
    ids = ev.group_by(["g1", "g2"]).aggregate(message_ids=ev.message_id.collect(distinct=True))
    return out.join(ids, ["g1", "g2"])


def step(ctx: AnalysisContext) -> StepResult:
    lake = ctx.lake
    policy = dedup_policy()["duplicate_group"]
    min_shared = int(_val(policy, "min_shared_notices"))
    min_members = int(_val(policy, "min_shared_members"))
    expr, metrics = clusters(lake, lake.table("messages"), ctx.inventory("units"), ctx.inventory("groups"))
    n = lake.replace("notice_clusters", expr)
    nc = lake.table("notice_clusters")
    mem = lake.table("memberships")
    n_copies = lake.replace("notice_copies", notice_copies(nc, lake.table("messages"), mem))
    stats = lake.to_arrow(
        nc.aggregate(clusters=nc.cluster_id.nunique(), messages=nc.count(), groups=nc.group_id.nunique())
    ).to_pylist()[0]
    first = nc.filter(nc.hop == 0).select(cluster_id="cluster_id", ts0="ts")
    d = nc.join(first, "cluster_id").filter(lambda t: t.hop > 0)
    d = d.mutate(delay=(d.ts.epoch_seconds() - d.ts0.epoch_seconds()).cast("int64") // 60)
    hops = lake.to_arrow(
        d.group_by("hop").aggregate(copies=d.count(), median_delay_min=d.delay.median()).order_by("hop")
    ).to_pylist()
    metrics.update(stats)
    metrics["delay_per_hop"] = hops

    pairs = lake.to_arrow(duplicate_group_pairs(nc, mem, min_shared, min_members).order_by(["g1", "g2"]))
    groups = lake.to_arrow(ctx.inventory("groups").select("id", "name", "unit_id"))
    names = dict(zip(groups["id"].to_pylist(), groups["name"].to_pylist(), strict=True))
    gunit = dict(zip(groups["id"].to_pylist(), groups["unit_id"].to_pylist(), strict=True))
    findings = [_finding(r, names, gunit, min_shared, min_members, policy) for r in pairs.to_pylist()]
    return StepResult(
        findings=findings,
        rules_run={RULE_DUPLICATE_GROUP},
        datasets={"notice_clusters": n, "notice_copies": n_copies},
        metrics=metrics,
    )


def _finding(r: dict[str, Any], names, gunit, min_shared, min_members, policy) -> FindingDraft:
    g1, g2 = r["g1"], r["g2"]
    n1, n2 = names.get(g1, g1), names.get(g2, g2)
    oid = f"{g1}+{g2}"
    if len(oid) > 64:
        import hashlib

        oid = hashlib.sha1(oid.encode()).hexdigest()[:20]
    ids = sorted(r["message_ids"] or [])
    return FindingDraft(
        category="DUPLICATE_GROUP",
        rule_id=RULE_DUPLICATE_GROUP,
        object_type="group",
        object_id=oid,
        unit_id=gunit.get(g2) or gunit.get(g1),
        title=f"群“{n1}”与群“{n2}”：{r['notices']} 条相同通知重复下发，共同成员 {r['shared_members']} 人",
        summary="两个有共同成员的工作群收到同一批通知，成员重复接收，可考虑合并或明确分工。",
        severity="medium",
        message_ids=ids,
        object_ids=[g1, g2],
        metrics={"shared_notices": r["notices"], "shared_members": r["shared_members"]},
        policy={
            "min_shared_notices": min_shared,
            "min_shared_members": min_members,
            "source": policy["min_shared_notices"]["source"],
        },
    )


# ── evaluation interface: zhijian dedup --jsonl FILE ──────────────────────────────────────────────
def read_jsonl(path) -> list[dict[str, Any]]:
    """Lines {"id", "text"}; every bad line is an ImportFormatError naming the file and line."""
    import json
    from pathlib import Path

    from zhijian.errors import ImportFormatError

    path = Path(path)
    if not path.exists():
        raise ImportFormatError("找不到输入文件", "input file not found", path=str(path))
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ImportFormatError(
                    f"第 {no} 行不是 JSON：{e.msg}",
                    f"line {no} is not JSON: {e.msg}",
                    path=str(path),
                    where=f"line {no}",
                ) from e
            if not isinstance(obj, dict) or "id" not in obj or not isinstance(obj.get("text"), str):
                raise ImportFormatError(
                    f'第 {no} 行应为 {{"id": …, "text": "…"}}',
                    f'line {no}: expected {{"id": …, "text": "…"}}',
                    path=str(path),
                    where=f"line {no}",
                )
            key = str(obj["id"])
            if key in seen:
                raise ImportFormatError(
                    f"第 {no} 行的 id {key!r} 重复",
                    f"line {no}: duplicate id {key!r}",
                    path=str(path),
                    where=f"line {no}",
                )
            seen.add(key)
            rows.append({"id": obj["id"], "key": key, "text": obj["text"]})
    return rows


def cluster_records(rows: list[dict[str, Any]], engine: str = "duckdb", p: Params | None = None) -> list[Any]:
    """The cluster of each record, in input order: the id of the cluster's first record (input order);
    a record without near-duplicates is its own cluster."""
    import tempfile

    from zhijian.lake import Lake

    if not rows:
        return []
    with tempfile.TemporaryDirectory(prefix="zhijian-dedup-") as tmp:
        lake = Lake(tmp, engine)
        try:
            items = lake.register(
                "dedup_input",
                pa.table(
                    {
                        "key": [r["key"] for r in rows],
                        "text": [r["text"] for r in rows],
                        "pos": pa.array(range(len(rows)), pa.int64()),
                    }
                ),
            )
            run = cluster_texts(lake, items.select("key", "text"), p)
            got = lake.to_arrow(run.items.select("key", "comp")).to_pylist()
        finally:
            lake.close()
    comp = {r["key"]: r["comp"] for r in got}
    first: dict[int, Any] = {}
    out = []
    for r in rows:
        c = comp.get(r["key"])
        if c is None:
            out.append(r["id"])
            continue
        first.setdefault(c, r["id"])
        out.append(first[c])
    return out
