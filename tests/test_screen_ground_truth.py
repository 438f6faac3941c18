"""Screening, recommendations and the campaign on the demo county, checked against its ground truth
(issue 4): every planted zombie, inactive, expired, empty, off-topic, overlapping and duplicate object
is found (recall 100%); no remove recommendation for an active, non-overlapping, purposeful group
(precision of "remove" ≥ 0.95 over the ground truth); groups the campaign dissolved or merged and
temporary groups dissolved on time are not flagged and count in 精简率; the month-4 campaign is
visible in the after-hours indicator with the planted effect inside its bootstrap CI.

One small demo county (40k messages), generated, imported and analysed once for the module."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from zhijian.analysis.campaign import generated_effect, indicator_effect, reduction_rates
from zhijian.analysis.pipeline import run_analysis
from zhijian.demo import generate
from zhijian.demo.county import CAMPAIGN, DATA_END, DATA_START
from zhijian.ingest import import_paths
from zhijian.store.models import Account, App, Finding, Group, Recommendation
from zhijian.workspace import init_workspace

MESSAGES = 40_000  # the campaign's after-hours fall needs ≈ 40 events a side to be visible
SEED = 11
PLATFORMS = {"微信公众号": "wechat_oa", "微博": "weibo", "抖音": "douyin", "今日头条": "toutiao"}


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    root = tmp_path_factory.mktemp("gt")
    exports = root / "exports"
    generate(exports, messages=MESSAGES, seed=SEED)
    ws = init_workspace(root / "ws", "青山县")
    import_paths(ws, [exports])
    run_analysis(ws)
    truth = exports / ".ground_truth"

    def gt(name: str):
        return json.loads((truth / name).read_text(encoding="utf-8"))

    with ws.store.session() as s:
        findings = [
            (f.category, f.rule_id, f.object_type, f.object_id, list(f.evidence.get("object_ids") or []))
            for f in s.scalars(select(Finding).where(Finding.active.is_(True)))
        ]
        recs = {
            (r.object_type, r.object_id): (r.action, r.merge_into) for r in s.scalars(select(Recommendation))
        }
        groups = {g.id: g.status for g in s.scalars(select(Group))}
        apps = {a.name: a.id for a in s.scalars(select(App))}
        accounts = {(a.name, a.platform): a.id for a in s.scalars(select(Account))}
    yield {
        "ws": ws,
        "gt": gt,
        "findings": findings,
        "recs": recs,
        "groups": groups,
        "apps": apps,
        "accounts": accounts,
    }
    ws.close()


def _flagged(c, *, category: str | None = None, rule: str | None = None, otype: str = "group") -> set[str]:
    return {
        oid
        for cat, rl, ot, oid, _ in c["findings"]
        if ot == otype and (category is None or cat == category) and (rule is None or rl == rule)
    }


def _linked(c, category: str, otype: str) -> set[frozenset[str]]:
    """Pairs of objects a finding of ``category`` links (its object and each object in its evidence)."""
    out = set()
    for cat, _rl, ot, oid, ids in c["findings"]:
        if cat == category and ot == otype:
            out |= {frozenset((oid, x)) for x in ids if x != oid}
    return out


def _recall(found: set, planted: set) -> float:
    return len(planted & found) / len(planted) if planted else 1.0


def test_every_planted_group_problem_is_found(county):
    g = county["gt"]("groups.json")
    ids = lambda key: {x["group_id"] if isinstance(x, dict) else x for x in g[key]}  # noqa: E731
    checks = {
        "zombie": (ids("zombie"), _flagged(county, category="ZOMBIE")),
        "inactive": (ids("inactive"), _flagged(county, rule="lifecycle.group_inactive")),
        "expired_temp": (ids("expired_temp"), _flagged(county, category="STALE_TEMP_GROUP")),
        "empty": (ids("empty"), _flagged(county, rule="lifecycle.group_empty")),
        "off_topic": (ids("off_topic"), _flagged(county, category="OFF_TOPIC_GROUP")),
        "unregistered": (
            ids("unregistered") | ids("not_registered"),
            _flagged(county, rule="lifecycle.group_unregistered"),
        ),
        "no_purpose": (ids("no_purpose"), _flagged(county, rule="lifecycle.group_no_purpose")),
    }
    for name, (planted, found) in checks.items():
        assert planted, f"the demo plants no {name} group"
        assert _recall(found, planted) == 1.0, (name, sorted(planted - found))
    pairs = _linked(county, "DUPLICATE_GROUP", "group")
    overlaps = {frozenset((o["group_id"], o["contained_in"])) for o in g["overlaps"]}
    dups = {frozenset((d["group_id"], d["duplicate_of"])) for d in g["duplicates"]}
    assert overlaps and dups
    assert _recall(pairs, overlaps) == 1.0, sorted(map(sorted, overlaps - pairs))
    assert _recall(pairs, dups) == 1.0, sorted(map(sorted, dups - pairs))


def test_every_planted_app_and_account_problem_is_found(county):
    apps = county["gt"]("apps.json")
    aid = county["apps"]
    live = [a for a in apps["apps"] if not a["closed_on"]]  # closed in the campaign: not screened
    planted = {
        "MANDATORY_CHECKIN_POINTS": {aid[a["name"]] for a in live if a["forbidden_features"]},
        "lifecycle.app_below_level": {aid[a["name"]] for a in live if a["below_county"]},
        "lifecycle.app_idle": {aid[a["name"]] for a in live if a["zombie"]},
    }
    found = {
        "MANDATORY_CHECKIN_POINTS": _flagged(county, category="MANDATORY_CHECKIN_POINTS", otype="app"),
        "lifecycle.app_below_level": _flagged(county, rule="lifecycle.app_below_level", otype="app"),
        "lifecycle.app_idle": _flagged(county, rule="lifecycle.app_idle", otype="app"),
    }
    for k, p in planted.items():
        assert p and p <= found[k], (k, sorted(p - found[k]))
    # exempt (应急 / 安保) apps keep their check-in feature without a finding
    exempt = {aid[a["name"]] for a in apps["apps"] if a["exempt"]}
    assert exempt and not exempt & found["MANDATORY_CHECKIN_POINTS"]
    app_pairs = _linked(county, "DUPLICATE", "app")
    for names in apps["duplicate_sets"]:
        members = {aid[n] for n in names}
        assert any(p <= members for p in app_pairs), names

    accts = county["gt"]("accounts.json")
    acc = county["accounts"]

    def key(a: dict) -> str:
        return acc[(a["name"], PLATFORMS[a["platform"]])]

    level = {
        "cleanup": "lifecycle.account_cleanup",
        "zombie": "lifecycle.account_zombie",
        "stale": "lifecycle.account_stale",
    }
    for a in accts["accounts"]:
        want = next((rule for lv, rule in level.items() if a[lv]), None)  # only the highest level is reported
        if a["closed_on"]:
            want = None  # closed in the campaign: nothing to screen
        got = {
            rl
            for _c, rl, ot, oid, _ in county["findings"]
            if ot == "account" and oid == key(a) and rl.startswith("lifecycle.account_")
        }
        assert got == ({want} if want else set()), (a["name"], a["platform"], a["days_since_post"], got)
    acc_pairs = _linked(county, "DUPLICATE", "account")
    zh = {code: name for name, code in PLATFORMS.items()}
    by_label = {f"{n}（{zh[p]}）": i for (n, p), i in acc.items()}
    for names in accts["duplicate_sets"]:
        members = {by_label[n] for n in names}
        assert any(p <= members for p in acc_pairs), names


def test_dissolved_groups_are_not_flagged_and_get_no_recommendation(county):
    g = county["gt"]("groups.json")
    gone = {d["group_id"] for d in g["dissolved_by_campaign"]} | {
        d["group_id"] for d in g["temp_dissolved_on_time"]
    }
    assert len(gone) >= 5 and any(d["merged_into"] for d in g["dissolved_by_campaign"])
    assert gone <= set(county["groups"])  # the inventory still lists them: the exports show the dissolution
    screened = {
        oid
        for _c, rl, ot, oid, _ in county["findings"]
        if ot == "group" and rl.split(".")[0] in ("lifecycle", "overlap")
    }
    assert not gone & screened, sorted(gone & screened)
    assert not {oid for (ot, oid) in county["recs"] if ot == "group"} & gone


def test_remove_recommendations_are_justified(county):
    g = county["gt"]("groups.json")
    ids = lambda key: {x["group_id"] if isinstance(x, dict) else x for x in g[key]}  # noqa: E731
    zombie, inactive, empty = ids("zombie"), ids("inactive"), ids("empty")
    expired = ids("expired_temp")
    justified = zombie | empty | (expired & (inactive | zombie))
    removed = {
        oid for (ot, oid), (action, _) in county["recs"].items() if ot == "group" and action == "remove"
    }
    assert removed, "no group recommended for removal"
    precision = len(removed & justified) / len(removed)
    assert precision >= 0.95, sorted(removed - justified)
    # every zombie / empty group leaves the inventory: removed, or merged into a group that overlaps it
    leaving = {
        oid
        for (ot, oid), (action, _) in county["recs"].items()
        if ot == "group" and action in ("remove", "merge")
    }
    assert (zombie | empty) <= leaving, sorted((zombie | empty) - leaving)
    # active, non-overlapping, purposeful groups: never removed
    gone = {d["group_id"] for d in g["dissolved_by_campaign"]} | {
        d["group_id"] for d in g["temp_dissolved_on_time"]
    }
    overlapping = {x for o in g["overlaps"] for x in (o["group_id"], o["contained_in"])}
    overlapping |= {x for d in g["duplicates"] for x in (d["group_id"], d["duplicate_of"])}
    problems = (
        zombie | inactive | empty | expired | ids("off_topic") | ids("no_purpose") | ids("unregistered")
    )
    healthy = set(county["groups"]) - gone - overlapping - problems
    assert len(healthy) >= 10
    assert not healthy & removed, sorted(healthy & removed)


def test_campaign_reduction_rate_matches_the_planted_dissolutions(county):
    real = county["gt"]("campaign.json")["realised"]["groups"]
    rr = reduction_rates(county["ws"], CAMPAIGN - dt.timedelta(days=1), DATA_END)
    assert (rr["group"]["before"], rr["group"]["after"]) == (real["before"], real["after"])
    assert rr["group"]["rate"] == pytest.approx(-real["change"], abs=1e-3)
    # apps and accounts the 摸底表 lists as 已关停 / 已注销 after the campaign count in their 精简率 too
    for kind, file, key in (("app", "apps.json", "apps"), ("account", "accounts.json", "accounts")):
        objs = county["gt"](file)[key]
        closed = sum(1 for a in objs if a["closed_on"] and a["closed_on"] > CAMPAIGN.isoformat())
        assert closed >= 1
        assert (rr[kind]["before"], rr[kind]["after"]) == (len(objs), len(objs) - closed), rr[kind]
        assert rr[kind]["rate"] == pytest.approx(closed / len(objs), abs=1e-3)
        assert len(rr[kind]["removed_ids"]) == closed and rr[kind]["new_ids"] == []
    # the objects listed behind the counts add up to them
    for kind, v in rr.items():
        if kind != "total":
            assert v["before"] - v["after"] == len(v["removed_ids"]) - len(v["new_ids"]), kind


def test_campaign_effect_is_visible_with_the_planted_size_in_its_ci(county):
    """The campaign multiplies the county's after-hours demands by 0.4 (−60%, campaign.json): the
    weekly after-hours demands sent fall with −60% inside the bootstrap CI and the whole CI below 0;
    per person, the same fall is inside the (two-way bootstrap) CI of after-hours demands received."""
    camp = county["gt"]("campaign.json")
    planted = camp["planted_changes"]["after_hours_demands"]
    before, after = (CAMPAIGN - DATA_START).days, (DATA_END - CAMPAIGN).days + 1
    gen = generated_effect(
        county["ws"], CAMPAIGN, before, after, metrics=("after_hours_demands",), n_boot=2000
    )
    assert len(gen["weeks"]["before"]) >= 12 and len(gen["weeks"]["after"]) >= 12
    m = gen["metrics"]["after_hours_demands"]
    lo, hi = m["ci_pct"]
    assert hi < 0, m  # visible: the whole interval is a fall
    assert lo <= planted <= hi, (planted, m)
    realised = camp["realised"]["after_hours_demands"]["change"]  # what the generator actually wrote
    assert lo <= realised <= hi, (realised, m)
    res = indicator_effect(
        county["ws"], CAMPAIGN, before, after, metrics=("after_hours_demands_received",), n_boot=2000
    )
    sc = res["scopes"][0]
    assert sc["scope_id"] == "county" and sc["people"] >= 50
    p = sc["metrics"]["after_hours_demands_received"]
    lo, hi = (x / p["before"] for x in p["ci"])
    assert p["change"] < 0 and lo <= planted <= hi, (planted, lo, hi, p)


def test_ground_truth_files_mark_the_campaign(county):
    g = county["gt"]("groups.json")
    for d in g["dissolved_by_campaign"]:
        assert CAMPAIGN.isoformat() <= d["date"] <= DATA_END.isoformat()
    for d in g["temp_dissolved_on_time"]:
        assert "temp_dissolved" in g["design"][d["group_id"]]
