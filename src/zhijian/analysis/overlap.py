"""Pipeline step: overlapping groups (DUPLICATE_GROUP) and apps / accounts with overlapping
functions (DUPLICATE), computed in the engine without an all-pairs step.

Member overlap. From the current memberships (``left_at`` null) of groups that are not gone
(:func:`zhijian.analysis.activity.group_state`: dissolved in the inventory or left by every member) and have at least ``member_overlap_min_members`` members, candidate pairs are the
pairs of groups that share a member: a self-join of memberships on ``person_id``. A person in more
than ``member_fanout_cap`` groups generates no candidates (cost per person is quadratic in their
groups), so the join stays linear in memberships; their membership still counts in the exact
intersection of the candidate pairs, added by a second, bounded join. For each pair:
``jaccard = |A∩B| / |A∪B|``, ``containment_a = |A∩B| / |A|`` ("群A的成员90%都在群B里" when ≥ 0.9).

Name / purpose similarity. Groups of the same unit; character bigrams of the name with digits, blanks,
punctuation, generic words (工作群, 微信群 …) and the unit's own name removed; candidate pairs share
a bigram in a bucket of at most ``name_bucket_cap`` groups of the unit; the similarity is the overlap
coefficient of the bigram sets (shared / bigrams of the shorter name: "防汛" vs "防汛应急" = 1). The
same measure on the declared purpose.

Only pairs with jaccard or containment ≥ ``member_overlap_report_min`` or a name/purpose similarity
≥ its threshold are written to the lake dataset ``group_overlap`` (bounded output).

Findings (one per group, listing its partners; a pair is reported on the smaller group):
  - ``overlap.members`` (DUPLICATE_GROUP): containment ≥ ``member_overlap_containment`` or jaccard
    ≥ ``member_overlap_jaccard``: a merge candidate.
  - ``overlap.name`` (DUPLICATE_GROUP, low): same unit, similar name or purpose, without such member
    overlap: for review.
  - ``overlap.app_functions`` / ``overlap.account_functions`` (DUPLICATE): apps at the same unit
    level (accounts: of the same unit) whose declared functions overlap: shared / functions of the
    smaller object ≥ ``function_overlap_min``.
"""

from __future__ import annotations

from typing import Any

from zhijian.analysis.activity import group_state, index_drafts, inventory, live_groups, screening_params
from zhijian.analysis.findings import FindingDraft
from zhijian.analysis.pipeline import AnalysisContext, StepResult

RULES = {"overlap.members", "overlap.name", "overlap.app_functions", "overlap.account_functions"}
_STRIP = "[0-9 ()（）【】_·,，.。:：;；!！?？/-]"


def _active_groups(ctx: AnalysisContext):
    return live_groups(ctx)


def member_pairs(ctx: AnalysisContext):
    """Candidate pairs with exact shared-member counts (Ibis table: group_a, group_b, shared, na, nb)."""
    p = screening_params()
    mem = ctx.lake.table("memberships")
    cur = mem.filter(mem.left_at.isnull()).select("group_id", "person_id").distinct()
    st = group_state(ctx)
    gone = st.filter(st.gone).select(gone_id="id")
    cur = cur.anti_join(gone, cur.group_id == gone.gone_id)
    size = cur.group_by("group_id").aggregate(n=cur.count()).rename(s_gid="group_id")
    size = size.filter(size.n >= int(p["member_overlap_min_members"]))
    cur = cur.inner_join(size, cur.group_id == size.s_gid).drop("s_gid")
    deg = cur.group_by("person_id").aggregate(d=cur.count()).rename(d_pid="person_id")
    cur = cur.inner_join(deg, cur.person_id == deg.d_pid).drop("d_pid")
    cap = int(p["member_fanout_cap"])
    low = cur.filter(cur.d <= cap)
    a = low.select(ga="group_id", pa_="person_id", na="n")
    b = low.select(gb="group_id", pb="person_id", nb="n")
    j = a.inner_join(b, (a.pa_ == b.pb) & (a.ga < b.gb))
    cand = j.group_by("ga", "gb", "na", "nb").aggregate(shared_low=j.count())
    high = cur.filter(cur.d > cap)
    ha = high.select(hga="group_id", hp="person_id")
    hb = high.select(hgb="group_id", hp2="person_id")
    cj = cand.select("ga", "gb")
    x = cj.inner_join(ha, cj.ga == ha.hga)
    x = x.inner_join(hb, (x.gb == hb.hgb) & (x.hp == hb.hp2))
    hi = x.group_by("ga", "gb").aggregate(shared_high=x.count()).rename(hga2="ga", hgb2="gb")
    out = cand.left_join(hi, (cand.ga == hi.hga2) & (cand.gb == hi.hgb2)).drop("hga2", "hgb2")
    shared = (out.shared_low + out.shared_high.fill_null(0)).cast("int64")
    return out.select(
        group_a="ga", group_b="gb", shared=shared, na=out.na.cast("int64"), nb=out.nb.cast("int64")
    )


def _bigrams(t):
    """(oid, uid, bg) distinct character bigrams of ``t.txt``, in the engine."""
    import ibis

    t = t.filter(t.txt.length() >= 2)
    e = t.select("oid", "uid", "txt", i=ibis.range(0, t.txt.length() - 1).unnest())
    e = e.select("oid", "uid", bg=e.txt.substr(e.i, 2))
    return e.distinct()


def normalised_text(ctx: AnalysisContext, column: str):
    """Active groups with a unit: ``oid``, ``uid``, ``txt`` = the column without digits, blanks,
    punctuation, generic words (工作群, 微信群 …) and the unit's own name."""
    p = screening_params()
    g = _active_groups(ctx)
    g = g.filter(g.unit_id.notnull())
    units = inventory(ctx, "units").select(u_id="id", u_name="name")
    g = g.left_join(units, g.unit_id == units.u_id)
    txt = g[column].fill_null("").replace(g.u_name.fill_null("\x00"), "")
    txt = txt.re_replace(_STRIP, "")
    txt = txt.re_replace("|".join(p["generic_words"]), "")
    return g.select(oid=g.id, uid=g.unit_id, txt=txt)


def text_pairs(ctx: AnalysisContext, column: str):
    """Same-unit pairs of groups by the overlap coefficient of the bigram sets of ``column``
    (name or purpose): shared bigrams / bigrams of the shorter text."""
    import ibis

    p = screening_params()
    bg = _bigrams(normalised_text(ctx, column))
    n = bg.group_by("oid").aggregate(nbg=bg.count()).rename(n_oid="oid")
    # a purpose of one or two words ("工作安排") says nothing about the work: needs min bigrams
    n = n.filter(n.nbg >= int(p[f"{column}_min_bigrams"]))
    bg = bg.semi_join(n, bg.oid == n.n_oid)
    bucket = bg.group_by("uid", "bg").aggregate(k=bg.count()).rename(k_uid="uid", k_bg="bg")
    bucket = bucket.filter(bucket.k <= int(p["name_bucket_cap"]))
    bg = bg.inner_join(bucket, (bg.uid == bucket.k_uid) & (bg.bg == bucket.k_bg)).select("oid", "uid", "bg")
    a = bg.select(ga="oid", ua="uid", ba="bg")
    b = bg.select(gb="oid", ub="uid", bb="bg")
    j = a.inner_join(b, (a.ua == b.ub) & (a.ba == b.bb) & (a.ga < b.gb))
    sh = j.group_by("ga", "gb").aggregate(shared=j.count())
    na = n.select(na_oid="n_oid", na="nbg")
    nb = n.select(nb_oid="n_oid", nb="nbg")
    sh = sh.inner_join(na, sh.ga == na.na_oid)
    sh = sh.inner_join(nb, sh.gb == nb.nb_oid)
    sim = sh.shared.cast("float64") / ibis.least(sh.na, sh.nb).cast("float64")
    return sh.select(group_a="ga", group_b="gb", sim=sim)


def group_overlap(ctx: AnalysisContext):
    """The bounded ``group_overlap`` table as an Ibis expression."""
    import ibis

    p = screening_params()
    mp = member_pairs(ctx)
    jac = mp.shared.cast("float64") / (mp.na + mp.nb - mp.shared).cast("float64")
    mp = mp.mutate(jaccard=jac, ca=mp.shared.cast("float64") / mp.na, cb=mp.shared.cast("float64") / mp.nb)
    rmin = float(p["member_overlap_report_min"])
    mp = mp.filter((mp.jaccard >= rmin) | (mp.ca >= rmin) | (mp.cb >= rmin))
    nm = text_pairs(ctx, "name")
    nm = nm.filter(nm.sim >= float(p["name_similarity_min"])).rename(
        n_a="group_a", n_b="group_b", name_sim="sim"
    )
    pp = text_pairs(ctx, "purpose")
    pp = pp.filter(pp.sim >= float(p["purpose_similarity_min"])).rename(
        p_a="group_a", p_b="group_b", purpose_sim="sim"
    )
    keys = (
        mp.select("group_a", "group_b")
        .union(nm.select(group_a="n_a", group_b="n_b"))
        .union(pp.select(group_a="p_a", group_b="p_b"))
        .distinct()
    )
    mr = mp.rename(m_a="group_a", m_b="group_b")
    t = keys.left_join(mr, (keys.group_a == mr.m_a) & (keys.group_b == mr.m_b))
    t = t.left_join(nm, (t.group_a == nm.n_a) & (t.group_b == nm.n_b))
    t = t.left_join(pp, (t.group_a == pp.p_a) & (t.group_b == pp.p_b))
    g = _active_groups(ctx).select(u_id="id", u_unit="unit_id")
    g2 = g.select(u_id2="u_id", u_unit2="u_unit")
    t = t.left_join(g, t.group_a == g.u_id)
    t = t.left_join(g2, t.group_b == g2.u_id2)
    same = (t.u_unit.notnull() & (t.u_unit == t.u_unit2)).fill_null(False)
    return t.select(
        "group_a",
        "group_b",
        shared_members=t.shared.fill_null(0),
        members_a=t.na,
        members_b=t.nb,
        jaccard=t.jaccard.fill_null(0.0),
        containment_a=t.ca.fill_null(0.0),
        containment_b=t.cb.fill_null(0.0),
        name_similarity=t.name_sim.fill_null(0.0),
        purpose_similarity=t.purpose_sim.fill_null(0.0),
        same_unit=ibis.ifelse(same, True, False),
    )


def function_pairs(ctx: AnalysisContext, kind: str):
    """Apps (same unit level) or accounts (same unit) whose declared functions overlap."""
    import ibis

    p = screening_params()
    t = inventory(ctx, "apps" if kind == "app" else "accounts")
    t = t.filter(t.status.fill_null("active") == "active")
    if kind == "app":
        u = inventory(ctx, "units").select(u_id="id", key="level")
        t = t.left_join(u, t.unit_id == u.u_id).drop("u_id")
    else:
        t = t.mutate(key=t.unit_id)
    t = t.filter(t.key.notnull())
    f = t.select(oid="id", key="key", fn=t.functions.unnest())
    f = f.mutate(fn=f.fn.strip()).filter(lambda x: x.fn.length() > 0).distinct()
    n = f.group_by("oid").aggregate(nf=f.count())
    a = f.select(a_id="oid", a_key="key", a_fn="fn")
    b = f.select(b_id="oid", b_key="key", b_fn="fn")
    j = a.inner_join(b, (a.a_key == b.b_key) & (a.a_fn == b.b_fn) & (a.a_id < b.b_id))
    sh = j.group_by("a_id", "b_id").aggregate(shared=j.count(), fns=j.a_fn.collect())
    na = n.select(na_id="oid", na="nf")
    nb = n.select(nb_id="oid", nb="nf")
    sh = sh.inner_join(na, sh.a_id == na.na_id)
    sh = sh.inner_join(nb, sh.b_id == nb.nb_id)
    coef = sh.shared.cast("float64") / ibis.least(sh.na, sh.nb).cast("float64")
    sh = sh.mutate(overlap=coef)
    return sh.filter(sh.overlap >= float(p["function_overlap_min"])).select(
        "a_id", "b_id", "shared", "fns", "overlap"
    )


def _fmt(x: float) -> str:
    return f"{x:.0%}"


def step(ctx: AnalysisContext) -> StepResult:
    p = screening_params()
    n_pairs = ctx.lake.replace("group_overlap", group_overlap(ctx))
    # engine row order differs (DuckDB / Spark): sort, so findings list their partners identically
    pairs = sorted(
        ctx.lake.to_arrow(ctx.lake.table("group_overlap")).to_pylist(),
        key=lambda r: (r["group_a"], r["group_b"]),
    )
    inv = {
        g["id"]: g
        for g in ctx.lake.to_arrow(
            _active_groups(ctx).select("id", "name", "unit_id", "member_count")
        ).to_pylist()
    }
    cmin, jmin = float(p["member_overlap_containment"]), float(p["member_overlap_jaccard"])
    nmin, pmin = float(p["name_similarity_min"]), float(p["purpose_similarity_min"])
    by_group: dict[tuple[str, str], list[dict[str, Any]]] = {}
    edges: list[dict[str, Any]] = []
    for r in pairs:
        mergeable = max(r["containment_a"], r["containment_b"]) >= cmin or r["jaccard"] >= jmin
        similar = r["same_unit"] and (r["name_similarity"] >= nmin or r["purpose_similarity"] >= pmin)
        if not (mergeable or similar):
            continue
        # report on the smaller group (the one contained): fewer members, then id
        ka = (r["members_a"] or 0, r["group_a"])
        kb = (r["members_b"] or 0, r["group_b"])
        small, big = (r["group_a"], r["group_b"]) if ka <= kb else (r["group_b"], r["group_a"])
        cont_small = r["containment_a"] if small == r["group_a"] else r["containment_b"]
        e = {
            **r,
            "small": small,
            "big": big,
            "containment_small": cont_small,
            "mergeable": mergeable,
            "similar": similar,
        }
        edges.append(e)
        by_group.setdefault(("overlap.members" if mergeable else "overlap.name", small), []).append(e)
    drafts: list[FindingDraft] = []
    for (rule, gid), es in sorted(by_group.items()):
        es.sort(key=lambda e: (-e["containment_small"], -e["jaccard"], e["big"]))  # strongest partner first
        g = inv.get(gid, {"name": gid, "unit_id": None})
        parts = []
        for e in es:
            other = inv.get(e["big"], {"name": e["big"]})["name"]
            if rule == "overlap.members":
                parts.append(
                    f"成员 {_fmt(e['containment_small'])} 在“{other}”中（重合度 {_fmt(e['jaccard'])}）"
                )
            else:
                what = "名称" if e["name_similarity"] >= nmin else "用途"
                parts.append(
                    f"与同单位的“{other}”{what}相似（{_fmt(max(e['name_similarity'], e['purpose_similarity']))}）"
                )
        if rule == "overlap.members":
            top = max(es, key=lambda e: (e["containment_small"], e["jaccard"]))
            title = f"重复建群：“{g['name']}”的成员 {_fmt(top['containment_small'])} 都在“{inv.get(top['big'], {'name': top['big']})['name']}”里"
            sev = "high" if top["containment_small"] >= 0.99 or any(e["similar"] for e in es) else "medium"
            pol = {"member_overlap_containment": cmin, "member_overlap_jaccard": jmin}
        else:
            title = f"疑似重复建群：“{g['name']}”与同单位其他群名称或用途相近"
            sev = "low"
            pol = {"name_similarity_min": nmin, "purpose_similarity_min": pmin}
        drafts.append(
            FindingDraft(
                "DUPLICATE_GROUP",
                rule,
                "group",
                gid,
                title,
                unit_id=g.get("unit_id"),
                summary="；".join(parts) + "。",
                severity=sev,
                object_ids=[gid] + [e["big"] for e in es],
                metrics={
                    "pairs": [
                        {
                            k: e[k]
                            for k in (
                                "big",
                                "shared_members",
                                "members_a",
                                "members_b",
                                "jaccard",
                                "containment_small",
                                "name_similarity",
                                "purpose_similarity",
                            )
                        }
                        for e in es
                    ]
                },
                policy=pol,
            )
        )
    drafts += _function_findings(ctx, "app")
    drafts += _function_findings(ctx, "account")
    ctx.shared["overlap_edges"] = edges
    index_drafts(ctx, drafts)
    return StepResult(
        findings=drafts,
        rules_run=set(RULES),
        datasets={"group_overlap": n_pairs},
        metrics={"pairs": n_pairs, "flagged_pairs": len(edges)},
    )


def _function_findings(ctx: AnalysisContext, kind: str) -> list[FindingDraft]:
    p = screening_params()
    rows = sorted(
        ctx.lake.to_arrow(function_pairs(ctx, kind)).to_pylist(), key=lambda r: (r["a_id"], r["b_id"])
    )
    t = inventory(ctx, "apps" if kind == "app" else "accounts")
    size_col = "users" if kind == "app" else "followers"
    inv = {r["id"]: r for r in ctx.lake.to_arrow(t.select("id", "name", "unit_id", size_col)).to_pylist()}
    by_obj: dict[str, list[dict]] = {}
    for r in rows:
        a, b = inv[r["a_id"]], inv[r["b_id"]]
        ka, kb = (a[size_col] or 0, a["id"]), (b[size_col] or 0, b["id"])
        small, big = (a, b) if ka <= kb else (b, a)
        by_obj.setdefault(small["id"], []).append({**r, "small": small["id"], "big": big["id"]})
    edges = ctx.shared.setdefault("function_edges", {})
    edges[kind] = [e for es in by_obj.values() for e in es]
    out = []
    word = "政务应用" if kind == "app" else "政务公众账号"
    for oid, es in sorted(by_obj.items()):
        o = inv[oid]
        parts = [
            f"与“{inv[e['big']]['name']}”功能重合 {_fmt(e['overlap'])}（{'、'.join(sorted(e['fns']))}）"
            for e in es
        ]
        out.append(
            FindingDraft(
                "DUPLICATE",
                f"overlap.{kind}_functions",
                kind,
                oid,
                f"功能重复的{word}：“{o['name']}”" + parts[0],
                unit_id=o["unit_id"],
                summary="；".join(parts) + "。可整合迁移（国办函〔2026〕12号）。",
                severity="medium",
                object_ids=[oid] + [e["big"] for e in es],
                metrics={
                    "pairs": [
                        {
                            "other": e["big"],
                            "shared": e["shared"],
                            "overlap": e["overlap"],
                            "functions": sorted(e["fns"]),
                        }
                        for e in es
                    ]
                },
                policy={"function_overlap_min": float(p["function_overlap_min"])},
            )
        )
    return out
