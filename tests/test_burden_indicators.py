"""Burden indicators: hand-computed weekly figures, the privacy threshold, a property test on the
after-hours definition, campaign before/after with its bootstrap CI, 精简率, and what-if."""

from __future__ import annotations

import datetime as dt
import itertools

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screen_helpers import add, group, member, msg, people, unit, write_lake
from zhijian.analysis import burden
from zhijian.analysis.calendar import calendar_table
from zhijian.analysis.pipeline import AnalysisContext, prepare, run_analysis
from zhijian.config import Config
from zhijian.lake import Lake
from zhijian.lake.schema import MEMBERSHIPS, MESSAGES, SCHEMAS
from zhijian.store.models import App
from zhijian.store.snapshot import SNAPSHOTS


def _person_values(lake, ws_or_ctx=None) -> dict[tuple[str, str], float]:
    t = lake.table("indicators")
    rows = lake.to_arrow(t.filter(t.scope == "person")).to_pylist()
    return {(r["scope_id"], r["metric"]): r["value"] for r in rows}


@pytest.fixture
def small(tmp_path):
    """Six people of one township in two groups during the May Day week of 2026 (holiday 05-01..05-05)."""
    from zhijian.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws", "测试县")
    add(
        ws,
        unit("C", "青山县", "county"),
        unit("T1", "青山镇", "township", "C", "/C/"),
        unit("T2", "河口镇", "township", "C", "/C/"),
    )
    P = [f"p{i}" for i in range(6)]
    people(ws, "T1", P)
    people(ws, "T2", ["x1", "x2"])
    add(
        ws,
        group("G1", "青山镇防汛工作群", "T1"),
        group("G2", "青山镇打卡群", "T1"),
        App(id="A1", name="学习强国", unit_id="C"),
    )
    mems = [member("G1", p) for p in P] + [
        member("G2", "p0"),
        member("G2", "p1", joined=dt.datetime(2026, 5, 6, 12)),
    ]
    mems += [member("G1", "x1"), member("G1", "x2", left=dt.datetime(2026, 5, 4, 9))]
    ms = [
        msg("G1", "p0", dt.datetime(2026, 5, 4, 10), "请回复收到", mid="m0"),  # holiday: after hours
        msg("G1", "p1", dt.datetime(2026, 5, 4, 10, 5), "收到", mid="m1"),
        msg("G1", "p0", dt.datetime(2026, 5, 4, 22), "今晚十点前报送材料", mid="m2"),
        msg("G2", "p0", dt.datetime(2026, 5, 5, 10), "请在学习强国打卡", mid="m3"),
        msg("G2", "p0", dt.datetime(2026, 5, 7, 10), "请在学习强国打卡", mid="n2"),
        msg("G1", "p2", dt.datetime(2026, 5, 7, 11), "请在学习强国打卡", mid="n1"),
        msg("G1", "p3", dt.datetime(2026, 5, 7, 21), "紧急：防汛转移", mid="u1"),  # urgent, after hours
        msg("G1", None, dt.datetime(2026, 5, 7, 21, 5), "p5 撤回了一条消息", kind="recall", mid="r1"),
    ]
    labels = [
        ("m0", "roll_call_demand"),
        ("m1", "roll_call_reply"),
        ("m2", "data_request"),
        ("m3", "checkin_demand"),
        ("n2", "checkin_demand"),
        ("n1", "checkin_demand"),
        ("u1", "instant_response_demand"),
    ]
    clusters = [
        {"cluster_id": "c1", "message_id": "n1", "group_id": "G1", "sender_id": "p2", "ts": None, "hop": 0},
        {"cluster_id": "c1", "message_id": "n2", "group_id": "G2", "sender_id": "p0", "ts": None, "hop": 1},
    ]
    write_lake(ws, ms, mems, labels=labels, urgent=["u1"], clusters=clusters)
    yield ws
    ws.close()


def test_hand_computed_week(small):
    ws = small
    run_analysis(ws, steps=["burden"])
    lake = ws.lake()
    v = _person_values(lake)
    get = lambda p, m: v.get((p, m), 0.0)  # noqa: E731 - missing = 0 by definition
    # p1: G1 all week; G2 from Wed 12:00 (so m3 on Tue is not received, n2 on Thu is)
    assert get("p1", "messages_received") == 5  # m0 m2 n1 u1 (G1) + n2 (G2); own m1 and the recall excluded
    assert get("p1", "demands_received") == 5
    assert get("p1", "after_hours_demands_received") == 2  # m0 (holiday), m2 (22:00); u1 is urgent
    assert get("p1", "checkin_demand_received") == 2
    assert get("p1", "duplicate_notices_received") == 1  # c1 through G1 and G2
    assert get("p1", "apps_demanded") == 1
    assert get("p1", "roll_call_replies_sent") == 1
    assert get("p1", "groups_joined") == 2
    # p0 sent m0 m2 m3 n2: receives m1 n1 u1 only
    assert get("p0", "messages_received") == 3 and get("p0", "demands_received") == 2
    # x2 left G1 before any message of the week; still counted as having been in the group
    assert get("x2", "messages_received") == 0 and get("x2", "groups_joined") == 1
    w = burden.index_weights()
    expected = (
        5 * w["demands_received"]
        + 2 * w["after_hours_demands_received"]
        + 1 * w["roll_call_replies_sent"]
        + 1 * w["data_request_received"]
        + 1 * w["duplicate_notices_received"]
        + 1 * w["apps_demanded"]
        + 2 * w["groups_joined"]
    )
    assert get("p1", "burden_index") == pytest.approx(expected)
    t = lake.table("indicators")
    rows = lake.to_arrow(t.filter(t.scope != "person")).to_pylist()
    g = {(r["scope_id"], r["metric"]): r["value"] for r in rows if r["scope"] == "group"}
    assert g[("G1", "members")] == 8 and g[("G2", "members")] == 2
    assert g[("G1", "demand_load")] == 3 * 6 + 1 * 6  # m0 m2 n1 to 6 others each (x2 gone), u1 to 6
    assert g[("G2", "demand_load")] == 1  # m3 to nobody (p1 not yet in), n2 to p1
    units = {(r["scope_id"], r["metric"]) for r in rows if r["scope"] == "unit"}
    assert ("T1", "people") in units and ("C", "people") in units
    assert not any(sid == "T2" for sid, _ in units)  # 2 people < 5: withheld
    assert {r["period"] for r in rows} == {"2026-05-04"}
    c = {r["metric"]: r["value"] for r in rows if r["scope"] == "county"}
    assert c["people"] == 8


def test_metrics_are_documented():
    for m in (*burden.PERSON_METRICS, *burden.GROUP_METRICS, *burden.SENDER_METRICS, "people"):
        assert burden.METRICS[m]["zh"] and burden.METRICS[m]["definition"]
    assert set(burden.index_weights()) <= set(burden.PERSON_METRICS)


# ── property: one more after-hours demand ────────────────────────────────────────────────────────
WEEK = dt.datetime(2026, 6, 8)  # a Monday without holidays
_ids = itertools.count()


def _bare_ctx(root) -> AnalysisContext:
    cfg = Config()
    lake = Lake(root / "lake")
    for name, (_model, cols) in SNAPSHOTS.items():
        lake.register(f"inv_{name}", pa.schema([(c, t) for c, t in cols.items()]).empty_table())
    cal, _ = calendar_table(dt.date(2026, 6, 1), dt.date(2026, 6, 30), cfg.policy.working_hours)
    lake.register("calendar", cal)
    return AnalysisContext(None, lake, cfg, dt.date(2026, 6, 15), dt.date(2026, 6, 8), dt.date(2026, 6, 14))


def _after_hours_counts(ctx) -> dict[str, int]:
    p = burden.compute(ctx)["person"]
    rows = ctx.lake.to_arrow(p.select("person_id", "after_hours_demands_received")).to_pylist()
    return {r["person_id"]: r["after_hours_demands_received"] for r in rows}


member_st = st.tuples(
    st.one_of(st.none(), st.integers(0, 167)),  # joined, hours after Monday 00:00
    st.one_of(st.none(), st.integers(1, 168)),  # left
)


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    members=st.lists(member_st, min_size=1, max_size=6),
    base=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 167), st.booleans()), max_size=12),
    extra=st.tuples(st.integers(0, 5), st.sampled_from([0, 1, 2, 3, 4]), st.sampled_from([19, 22, 23])),
)
def test_one_more_after_hours_demand_adds_exactly_one_per_recipient(tmp_path, members, base, extra):
    root = tmp_path / f"p{next(_ids)}"
    ctx = _bare_ctx(root)
    pids = [f"p{i}" for i in range(len(members))]
    mem_rows = []
    for pid, (j, lv) in zip(pids, members, strict=True):
        joined = WEEK + dt.timedelta(hours=j) if j is not None else None
        left = WEEK + dt.timedelta(hours=lv) if lv is not None else None
        if joined is not None and left is not None and left <= joined:
            left = None
        mem_rows.append(member("G", pid, joined, left))
    msgs, labels = [], []
    for s, h, is_demand in base:
        m = msg("G", pids[s % len(pids)], WEEK + dt.timedelta(hours=h))
        msgs.append(m)
        if is_demand:
            labels.append(
                {"message_id": m["message_id"], "label": "data_request", "rule_id": "t", "span": None}
            )
    lake = ctx.lake
    lake.append_batch("memberships", "b1", pa.Table.from_pylist(mem_rows, schema=MEMBERSHIPS))
    if msgs:
        lake.append_batch("messages", "b1", pa.Table.from_pylist(msgs, schema=MESSAGES))
    lake.replace("message_labels", pa.Table.from_pylist(labels, schema=SCHEMAS["message_labels"]))
    before = _after_hours_counts(ctx)

    sender = pids[extra[0] % len(pids)]
    t = WEEK + dt.timedelta(days=extra[1], hours=extra[2])  # a weekday evening: after hours
    e = msg("G", sender, t, "今晚报送表格")
    lake.append_batch("messages", "b2", pa.Table.from_pylist([e], schema=MESSAGES))
    labels.append({"message_id": e["message_id"], "label": "data_request", "rule_id": "t", "span": None})
    lake.replace("message_labels", pa.Table.from_pylist(labels, schema=SCHEMAS["message_labels"]))
    ctx2 = AnalysisContext(None, lake, ctx.config, ctx.as_of, ctx.first_day, ctx.last_day)
    after = _after_hours_counts(ctx2)
    for r in mem_rows:
        pid = r["person_id"]
        is_recipient = (
            pid != sender
            and (r["joined_at"] is None or r["joined_at"] <= t)
            and (r["left_at"] is None or t < r["left_at"])
        )
        assert after.get(pid, 0) - before.get(pid, 0) == (1 if is_recipient else 0), (pid, r, t, sender)
    lake.close()


# ── campaign and what-if ─────────────────────────────────────────────────────────────────────────
def _campaign_ws(root, drop: int):
    """20 people in 4 groups; each group sends 6 after-hours-free demands a week before 2026-08-03,
    6 − drop after; group G3 is dissolved on 2026-08-10, G4 created 2026-08-20."""
    from zhijian.workspace import init_workspace

    ws = init_workspace(root, "测试县")
    add(ws, unit("C", "青山县", "county"), unit("T1", "青山镇", "township", "C", "/C/"))
    P = [f"p{i:02d}" for i in range(20)]
    people(ws, "T1", P)
    add(
        ws,
        group("G1", "甲", "T1"),
        group("G2", "乙", "T1"),
        group("G3", "丙", "T1", status="dissolved", dissolved_on=dt.date(2026, 8, 10)),
        group("G4", "丁", "T1", created_on=dt.date(2026, 8, 20)),
        group("G5", "戊", "T1", status="removed"),
    )
    mems = [member(g, p) for g in ("G1", "G2") for p in P] + [member("G3", p) for p in P[:10]]
    ms, labels = [], []
    day = dt.date(2026, 6, 1)
    while day < dt.date(2026, 9, 28):
        if day.weekday() < 3:  # Mon–Wed, 10:00, two demands each day in G1 and G2
            n = 2 if day < dt.date(2026, 8, 3) else 2 - drop
            for g in ("G1", "G2"):
                for k in range(n):
                    m = msg(g, P[k], dt.datetime.combine(day, dt.time(10, k)), "请报送材料")
                    ms.append(m)
                    labels.append((m["message_id"], "data_request"))
        day += dt.timedelta(days=1)
    write_lake(ws, ms, mems, labels=labels)
    return ws


def test_campaign_effect_and_reduction(tmp_path):
    from zhijian.analysis.campaign import evaluate

    ws = _campaign_ws(tmp_path / "ws", drop=1)
    try:
        run_analysis(ws, steps=["burden"])
        res = evaluate(ws, dt.date(2026, 8, 3), before_days=56, after_days=56)
        red = res["reduction"]
        # active 2026-06-08: G1 G2 G3 G5 (G5 gone without a date) -> 2026-09-28: G1 G2 G4
        assert red["group"] == {
            "before": 4,
            "after": 3,
            "reduced": 1,
            "rate": 0.25,
            "removed_ids": ["G3", "G5"],
            "new_ids": ["G4"],
        }
        county = next(s for s in res["indicators"]["scopes"] if s["scope_id"] == "county")
        d = county["metrics"]["demands_received"]
        # before: 2 groups × 3 days × 2 demands = 12 a week minus own; after: 6 a week minus own
        assert d["before"] > d["after"]
        assert d["ci"][0] <= d["change"] <= d["ci"][1]
        assert d["ci"][1] < 0
        # planted effect: 6 fewer demands a week for people who never send (18 of 20)
        assert d["ci"][0] <= -5.4 <= d["ci"][1] or abs(d["change"] - (-5.4)) < 0.01
        assert all(s["people"] >= 5 for s in res["indicators"]["scopes"])
    finally:
        ws.close()


def test_whatif_working_hours_and_merge(small):
    from zhijian.analysis.whatif import project

    ws = small
    r = project(ws, rule="urgent-only")
    c = r["scopes"]["county"]
    assert c["after_hours_demands_received"]["before"] > 0
    assert c["after_hours_demands_received"]["after"] == 0
    assert c["demands_received"]["after"] == c["demands_received"]["before"]
    # 24-hour working days: the demands of this week were sent on the May Day holiday, still after hours
    r2 = project(ws, periods=["00:00-23:59"])
    assert (
        r2["scopes"]["county"]["after_hours_demands_received"]["after"]
        == c["after_hours_demands_received"]["before"]
    )
    assert (
        r2["scopes"]["county"]["after_hours_messages_received"]["after"]
        == c["after_hours_messages_received"]["before"]
    )
    from zhijian.errors import ZhijianError

    with pytest.raises(ZhijianError):
        project(ws, periods=["25:00-26:00"])


def test_whatif_merge_plan(tmp_path):
    from screen_helpers import planted_workspace
    from zhijian.analysis.whatif import project

    ws, _ = planted_workspace(tmp_path / "ws")
    try:
        run_analysis(ws, steps=["lifecycle", "overlap", "recommend"])
        r = project(ws, merge_plan=True)
        assert r["scenario"]["groups_merged"] == 1 and r["scenario"]["groups_removed"] == 3
        c = r["scopes"]["county"]
        assert c["groups_joined"]["after"] < c["groups_joined"]["before"]
    finally:
        ws.close()


def test_prepare_runs_on_empty_lake(tmp_path):
    from zhijian.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws")
    try:
        res = run_analysis(ws, steps=["lifecycle", "overlap", "recommend", "burden"])
        assert res.findings.new == 0
        ctx = prepare(ws)
        assert ctx.first_day is None
    finally:
        ws.close()
