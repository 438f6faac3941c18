"""Screening on a planted county: every planted case is found and nothing else; recommendations,
the merge plan, the bounded overlap dataset, and idempotent re-runs that keep people's decisions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from screen_helpers import planted_workspace
from zhijian.analysis.pipeline import run_analysis
from zhijian.analysis.recommend import read_plan
from zhijian.lake.schema import SCHEMAS
from zhijian.store.models import Finding, Recommendation

SCREEN = ["lifecycle", "overlap", "recommend"]


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    ws, expected = planted_workspace(tmp_path_factory.mktemp("screen") / "ws")
    res = run_analysis(ws, steps=SCREEN)
    yield ws, expected, res
    ws.close()


def _active_findings(ws) -> dict[str, set[str]]:
    got: dict[str, set[str]] = {}
    with ws.store.session() as s:
        for f in s.scalars(select(Finding).where(Finding.active.is_(True))):
            got.setdefault(f.rule_id, set()).add(f.object_id)
    return got


def _recs(ws) -> dict[str, Recommendation]:
    with ws.store.session() as s:
        return {r.id: r for r in s.scalars(select(Recommendation))}


def test_every_planted_case_found_and_nothing_else(screened):
    ws, expected, res = screened
    assert res.as_of == dt.date(2026, 11, 1)
    assert _active_findings(ws) == expected


def test_findings_carry_evidence_and_policy(screened):
    ws, _, _ = screened
    with ws.store.session() as s:
        f = s.scalars(select(Finding).where(Finding.rule_id == "lifecycle.group_zombie")).one()
        assert f.category == "ZOMBIE" and f.object_id == "G_ZOMBIE"
        # the roll-call reply of 10-20 and the system message of 10-25 are not activity
        assert f.evidence["metrics"]["last_substantive_on"] == "2026-07-15"
        assert f.evidence["metrics"]["days_idle"] == 109
        assert len(f.evidence["message_ids"]) == 1
        assert f.policy == {"groups.zombie_days": 90}
        assert "109" in f.title and "僵尸群" in f.title
        off = s.scalars(select(Finding).where(Finding.rule_id == "lifecycle.group_off_topic")).one()
        assert off.category == "OFF_TOPIC_GROUP" and off.evidence["message_count"] > 0
        assert off.policy == {"groups.off_topic_share": 0.6}
        dup = s.scalars(
            select(Finding).where(Finding.rule_id == "overlap.members", Finding.object_id == "G_DUP_A")
        ).one()
        assert (
            dup.category == "DUPLICATE_GROUP"
            and "100%" in dup.title
            and "G_OK1" in dup.evidence["object_ids"]
        )
        quota = s.scalars(select(Finding).where(Finding.rule_id == "lifecycle.app_over_quota")).one()
        assert sorted(quota.evidence["object_ids"]) == ["A_Q1", "A_Q2"]


def test_recommendations(screened):
    ws, _, _ = screened
    recs = _recs(ws)
    act = {k: (r.action, r.merge_into) for k, r in recs.items()}
    assert act["group:G_ZOMBIE"] == ("remove", None)
    assert act["group:G_EMPTY"] == ("remove", None)
    assert act["group:G_TEMP"] == ("remove", None)  # past its end date and quiet since
    assert act["group:G_TEMP_ACTIVE"][0] == "review"  # past its end date but still in use
    assert act["group:G_DUP_A"] == ("merge", "G_OK1")
    assert act["group:G_OK1"] == ("keep", None) and act["group:G_OK2"] == ("keep", None)
    # the merged group would carry 200 messages a day: flagged instead of merged
    assert act["group:G_BUSY_A"][0] == "review" and act["group:G_BUSY_B"][0] == "review"
    assert any("200" in x and "150" in x for x in recs["group:G_BUSY_A"].reasons)
    for g in ("G_INACTIVE", "G_UNREG", "G_OFFTOPIC", "G_NAME_A"):
        assert act[f"group:{g}"][0] == "review", g
    assert act["app:A_BELOW"][0] == "remove" and act["app:A_IDLE"][0] == "remove"
    assert act["app:A_DUP_SMALL"] == ("merge", "A_DUP_BIG")
    assert act["app:A_EXEMPT"][0] == "keep"
    assert act["account:AC_CLEAN"][0] == "remove" and act["account:AC_DUP_SMALL"] == ("merge", "AC_DUP_BIG")
    assert all(r.reasons for r in recs.values())


def test_never_remove_an_active_group(screened):
    ws, _, _ = screened
    inactive_days = ws.config.policy.groups.inactive_days
    for r in _recs(ws).values():
        if r.object_type == "group" and r.action == "remove":
            idle = r.evidence["metrics"]["days_idle"]
            assert idle is None or idle >= inactive_days, r.id


def test_merge_plan_and_effect(screened):
    ws, _, _ = screened
    plan = read_plan(ws)
    by_target = {p["target"]: p for p in plan["plans"]}
    assert set(by_target) == {"G_OK1", "G_BUSY_A"}
    assert by_target["G_OK1"]["action"] == "merge" and by_target["G_OK1"]["projected_daily"] == pytest.approx(
        2.0
    )
    assert by_target["G_OK1"]["members_after"] == 20
    assert by_target["G_BUSY_A"]["action"] == "review" and by_target["G_BUSY_A"][
        "projected_daily"
    ] == pytest.approx(200.0)
    g = plan["groups_per_cadre"]
    assert g["after"]["mean"] < g["before"]["mean"]


def test_group_overlap_dataset_is_bounded(screened):
    ws, _, _ = screened
    lake = ws.lake()
    t = lake.to_arrow(lake.table("group_overlap"))
    assert t.schema.names == SCHEMAS["group_overlap"].names
    rows = t.to_pylist()
    for r in rows:
        assert r["group_a"] < r["group_b"]
        assert (
            max(r["jaccard"], r["containment_a"], r["containment_b"]) >= 0.5
            or r["name_similarity"] >= 0.8
            or r["purpose_similarity"] >= 0.8
        )
    pair = next(r for r in rows if {r["group_a"], r["group_b"]} == {"G_DUP_A", "G_OK1"})
    assert pair["shared_members"] == 10 and pair["jaccard"] == pytest.approx(0.5)
    # 14 groups = 91 pairs; only the overlapping ones are written
    assert len(rows) < 15


def test_rerun_updates_and_keeps_decisions(tmp_path):
    ws, expected = planted_workspace(tmp_path / "ws")
    try:
        run_analysis(ws, steps=SCREEN)
        with ws.store.session() as s:
            n_find = len(s.scalars(select(Finding)).all())
            n_rec = len(s.scalars(select(Recommendation)).all())
            r = s.get(Recommendation, "group:G_ZOMBIE")
            r.decision, r.decision_reason = "keep", "年底还要用"
            f = s.scalars(select(Finding).where(Finding.rule_id == "lifecycle.group_zombie")).one()
            f.status = "assigned"
        res2 = run_analysis(ws, steps=SCREEN)
        assert res2.findings.new == 0 and res2.findings.deactivated == 0
        with ws.store.session() as s:
            assert len(s.scalars(select(Finding)).all()) == n_find
            assert len(s.scalars(select(Recommendation)).all()) == n_rec
            r = s.get(Recommendation, "group:G_ZOMBIE")
            assert (r.action, r.decision, r.decision_reason) == ("remove", "keep", "年底还要用")
            assert (
                s.scalars(select(Finding).where(Finding.rule_id == "lifecycle.group_zombie")).one().status
                == "assigned"
            )
        # the person's decision wins in the plan's effect
        assert read_plan(ws)["by_type"]["group"].get("keep", 0) == 4
        assert _active_findings(ws) == expected
    finally:
        ws.close()
