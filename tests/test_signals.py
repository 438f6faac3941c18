"""Conversation signals on small real workspaces: reply storms, 接龙 rounds, deadlines, after-hours
demands and the group × month findings (labels written into the lake by the test)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from sqlalchemy import select

from screen_helpers import add, group, member, msg, people, unit, write_lake
from zhijian.analysis.pipeline import run_analysis
from zhijian.store.models import Finding

MON = dt.datetime(2026, 3, 2, 9, 0)  # Monday 2026-03-02, a working day
P = [f"p{i}" for i in range(12)]


def _findings(ws) -> list[Finding]:
    with ws.store.session() as s:
        return list(
            s.scalars(select(Finding).where(Finding.active).order_by(Finding.rule_id, Finding.object_id))
        )


def _table(ws, name: str) -> list[dict]:
    lake = ws.lake()
    return lake.to_arrow(lake.table(name)).to_pylist()


@pytest.fixture
def county(workspace):
    add(workspace, unit("c", "测试县", "county"))
    add(
        workspace,
        group("g1", "防汛工作群", "c"),
        group("g2", "安保值班群", "c", tags=["安保"]),
        group("g3", "党建群", "c"),
    )
    people(workspace, "c", P)
    return workspace


def _storms(days: int, replies: int, gid: str = "g1"):
    ms, labels = [], []
    for d in range(days):
        t = MON + dt.timedelta(days=d)
        m = msg(gid, "p0", t, "@所有人 明天防汛检查，收到请回复")
        ms.append(m)
        labels.append((m["message_id"], "roll_call_demand"))
        for i in range(1, replies + 1):
            r = msg(gid, P[i], t + dt.timedelta(minutes=i), "收到")
            ms.append(r)
            labels.append((r["message_id"], "roll_call_reply"))
    return ms, labels


def test_reply_storms_and_rollcall_finding_aggregated_per_group_month(county):
    ms, labels = _storms(days=5, replies=7)
    # a late reply (3 h later) is outside the 120-minute window; a reply before the first demand counts nowhere
    late = msg("g1", "p9", MON + dt.timedelta(hours=3), "收到")
    early = msg("g1", "p9", MON - dt.timedelta(hours=1), "收到")
    ms += [late, early]
    labels += [(late["message_id"], "roll_call_reply"), (early["message_id"], "roll_call_reply")]
    # the group below the threshold (3 demands in a month) gets no finding
    ms3, labels3 = _storms(days=3, replies=2, gid="g3")
    write_lake(
        county, ms + ms3, [member(g, p) for g in ("g1", "g3") for p in P[:10]], labels=labels + labels3
    )
    res = run_analysis(county, steps=["signals"])
    storms = sorted(_table(county, "reply_storms"), key=lambda r: r["local_ts"])
    assert len(storms) == 5  # g3's demands have 2 replies each: below min_replies = 5
    s0 = storms[0]
    assert (s0["replies"], s0["people"], s0["span_minutes"], s0["members"]) == (7, 7, 7, 10)
    assert s0["attention_cost"] == 70
    fs = [f for f in _findings(county) if f.rule_id == "signals.rollcall_month"]
    assert len(fs) == 1  # one finding per group and month, not five rows
    f = fs[0]
    assert (f.category, f.object_id, f.period) == ("GROUP_ROLLCALL_INSTANT", "g1", "2026-03")
    assert "5 次" in f.title and "35 条回复" in f.title and "防汛工作群" in f.title
    assert f.evidence["message_count"] == 5
    assert f.evidence["metrics"]["label_rule_ids"] == ["test.roll_call_demand"]
    assert f.policy["min_per_month"] == 4 and f.policy["source"]
    assert res.steps["signals"]["reply_storms"] == 5


def test_solitaire_rounds(county):
    ms = [msg("g1", P[i], MON + dt.timedelta(minutes=i), f"{i + 1}. 人{P[i]} 已完成") for i in range(4)]
    ms += [
        msg("g1", P[i], MON + dt.timedelta(hours=3, minutes=i), f"{i + 1}．人{P[i]} 已到岗") for i in range(3)
    ]
    ms += [
        msg("g1", "p1", MON + dt.timedelta(hours=5), "", kind="solitaire"),
        msg("g1", "p2", MON + dt.timedelta(hours=5, minutes=2), None, kind="solitaire"),
    ]
    ms.append(
        msg(
            "g1",
            "p0",
            MON + dt.timedelta(hours=7),
            "1. 各村要加强巡查，发现险情及时上报，确保人民群众生命财产安全，不得瞒报漏报迟报。"
            "2. 各村要落实值班制度。",
        )
    )
    write_lake(county, ms, [])
    run_analysis(county, steps=["signals"])
    rounds = sorted(_table(county, "solitaire_rounds"), key=lambda r: r["start_local"])
    assert [(r["entries"], r["people"]) for r in rounds] == [(4, 4), (3, 3), (2, 2)]
    assert rounds[0]["round_id"] == ms[0]["message_id"]


DEADLINE_CASES = [
    (MON, "请10分钟内报送值班表", "deadline.minutes", 10, 10),
    (MON, "请十分钟内回复", "deadline.minutes", 10, 10),
    (MON, "请半小时内上报", "deadline.half_hour", 30, 30),
    (MON, "请两小时内上报", "deadline.hours", 120, 120),
    (MON, "请立即上报人员名单", "deadline.immediate", 0, 0),
    (MON, "马上报送", "deadline.immediate", 0, 0),
    (
        MON,
        "请今天下午5点前报送统计表",
        "deadline.clock",
        480,
        360,
    ),  # 09:00 -> 17:00; 12:00-14:00 is not working time
    (MON, "请下午五点半前报送统计表", "deadline.clock", 510, 390),
    (dt.datetime(2026, 3, 2, 21, 0), "请明早8点前上报", "deadline.clock", 660, 0),
    (dt.datetime(2026, 3, 2, 21, 0), "请明早9点前上报", "deadline.clock", 720, 30),
    (MON, "请于下班前报送", "deadline.end_of_work", 510, 390),
    (MON, "请本周五前报送", "deadline.weekday", 4 * 1440 + 510, 390 + 4 * 420),
    (MON, "请于3月3日12时前报送材料", "deadline.date", 1440 + 180, 390 + 210),
    (MON, "请于十一月三日前报送", "deadline.date", None, None),  # beyond max_days: not a short deadline
    (MON, "请各村认真落实", None, None, None),
    # Friday 2026-04-03 16:00; 4-4..4-6 are the 清明 holidays: Monday's deadline leaves only Friday's 90 minutes
    (dt.datetime(2026, 4, 3, 16, 0), "请4月7日9时前报送", "deadline.date", 4 * 1440 - 420, 90 + 30),
]


def test_deadline_parsing(county):
    """One workspace, one run: every phrase is a separate demand message."""
    ms = [msg("g1", "p0", sent, text) for sent, text, *_ in DEADLINE_CASES]
    write_lake(county, ms, [], labels=[(m["message_id"], "data_request") for m in ms])
    run_analysis(county, steps=["signals"])
    rows = {r["message_id"]: r for r in _table(county, "demand_deadlines")}
    for m, (sent, text, pattern, minutes, working) in zip(ms, DEADLINE_CASES, strict=True):
        r = rows.get(m["message_id"])
        if pattern is None or minutes is None:
            assert r is None, text
            continue
        got = (r["pattern_id"], r["minutes_left"], r["working_minutes_left"])
        assert got == (pattern, minutes, working), text
        assert r["deadline_local"] == sent + dt.timedelta(minutes=minutes), text


def test_after_hours_urgent_and_exempt_groups(county):
    ms, labels, urgent = [], [], []
    for d in range(4):  # 4 non-urgent after-hours demands in g1 (21:30 on weekdays)
        m = msg("g1", "p0", MON + dt.timedelta(days=d, hours=12, minutes=30), "请今晚上传巡查照片")
        ms.append(m)
        labels.append((m["message_id"], "proof_demand"))
    for d in range(3):  # urgent after-hours demands are set apart
        m = msg("g3", "p0", MON + dt.timedelta(days=d, hours=13), "紧急：请立即上报险情")
        ms.append(m)
        labels.append((m["message_id"], "instant_response_demand"))
        urgent.append(m["message_id"])
    for d in range(3):  # a 安保 group is exempt from check-in findings and after-hours findings
        m = msg("g2", "p0", MON + dt.timedelta(days=d, hours=13), "今晚各岗位打卡签到")
        ms.append(m)
        labels.append((m["message_id"], "checkin_demand"))
    sat = msg("g3", "p0", dt.datetime(2026, 3, 7, 10, 0), "请在学习强国APP打卡")  # Saturday daytime
    ms.append(sat)
    labels.append((sat["message_id"], "app_usage_demand"))
    write_lake(county, ms, [], labels=labels, urgent=urgent)
    run_analysis(county, steps=["signals"])
    by = {(f.rule_id, f.object_id): f for f in _findings(county)}
    ah = by[("signals.after_hours_month", "g1")]
    assert ah.category == "AFTER_HOURS" and ah.evidence["message_count"] == 4
    # 3 urgent demands are set apart; the one non-urgent Saturday demand is reported (threshold 1 per month)
    assert by[("signals.after_hours_month", "g3")].evidence["message_count"] == 1
    assert ("signals.after_hours_month", "g2") not in by  # 安保 group
    assert ("signals.checkin_month", "g2") not in by
    ck = by[("signals.checkin_month", "g3")]
    assert ck.category == "MANDATORY_CHECKIN_POINTS" and ck.evidence["message_ids"] == [sat["message_id"]]
    assert by[("signals.instant_month", "g3")].evidence["metrics"]["urgent_after_hours"] == 3
    assert by[("signals.proof_month", "g1")].category == "EXCESSIVE_TRACE"


def test_short_deadline_data_requests_and_forward_like(county):
    a = msg("g1", "p0", MON + dt.timedelta(hours=1), "请各村今天下午3点前报送防汛物资统计表")
    b = msg(
        "g1", "p0", MON + dt.timedelta(days=1), "请各村本周五前报送防汛物资统计表"
    )  # 4 working days: fine
    c = msg("g3", "p0", MON, "请大家为我县参评项目投票并截图")
    write_lake(
        county,
        [a, b, c],
        [],
        labels=[
            (a["message_id"], "data_request"),
            (b["message_id"], "data_request"),
            (c["message_id"], "forward_like_demand"),
        ],
    )
    run_analysis(county, steps=["signals"])
    by = {(f.rule_id, f.object_id): f for f in _findings(county)}
    arb = by[("signals.short_deadline_month", "g1")]
    assert arb.category == "ARBITRARY_TASKS" and arb.evidence["message_ids"] == [a["message_id"]]
    assert arb.policy["max_working_minutes"] == 240
    assert by[("signals.forward_like_month", "g3")].category == "FORWARD_LIKE_VOTE"


def test_rerun_updates_and_deactivates(county):
    ms, labels = _storms(days=4, replies=5)
    write_lake(county, ms, [], labels=labels)
    run_analysis(county, steps=["signals"])
    assert [f.rule_id for f in _findings(county)] == ["signals.rollcall_month"]
    # the labels change (e.g. a rule was corrected): only 2 demands remain -> the finding goes inactive
    from zhijian.lake.schema import SCHEMAS

    keep = [
        {"message_id": m, "label": lb, "rule_id": "x", "span": None}
        for m, lb in labels
        if lb == "roll_call_demand"
    ][:2]
    county.lake().replace("message_labels", pa.Table.from_pylist(keep, schema=SCHEMAS["message_labels"]))
    run_analysis(county, steps=["signals"])
    assert _findings(county) == []
