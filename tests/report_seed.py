"""A small, realistic county for the report tests, written through the store models and the lake:
a unit tree, people, groups / apps / accounts, findings with deadlines and workflow states,
recommendations, messages (Parquet through Lake.append_batch) and weekly indicators (Lake.replace)."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
from sqlalchemy import select

from zhijian.lake.schema import INDICATORS, MEMBERSHIPS, MERGE_PLAN, MESSAGES
from zhijian.store.models import (
    Account,
    App,
    Finding,
    FindingEvent,
    Group,
    Person,
    Recommendation,
    Unit,
)

CAMPAIGN = dt.date(2026, 4, 6)  # a Monday
FIRST_WEEK = dt.date(2026, 2, 2)
WEEKS = 16
TODAY = dt.date(2026, 6, 1)

UNITS = [
    # id, name, parent, level
    ("C1", "青山县", None, "county"),
    ("D1", "县委办公室", "C1", "county"),
    ("D2", "县教育局", "C1", "county"),
    ("T1", "东山镇", "C1", "township"),
    ("V1", "东山村", "T1", "village"),
    ("V2", "西河村", "T1", "village"),
    ("T2", "南湖镇", "C1", "township"),
]
PEOPLE_PER_UNIT = {"C1": 2, "D1": 6, "D2": 8, "T1": 5, "V1": 3, "V2": 3, "T2": 3}

GROUPS = [
    # id, name, unit, purpose, type, members, action, merge_into
    ("G1", "县委办工作群", "D1", "日常工作通知", "fixed", 45, "keep", None),
    ("G2", "县委办信息报送群", "D1", "信息报送", "fixed", 40, "merge", "G1"),
    ("G3", "教育局党建群", "D2", "党建工作", "fixed", 30, "keep", None),
    ("G4", "教育局临时迎检群", "D2", "迎检", "temporary", 25, "remove", None),
    ("G5", "东山镇工作群", "T1", "镇村工作调度", "fixed", 60, "keep", None),
    ("G6", "东山镇防汛临时群", "T1", "防汛", "temporary", 20, "remove", None),
    ("G7", "东山村两委群", "V1", "村务", "fixed", 9, "review", None),
    ("G8", "西河村网格群", "V2", "网格管理", "fixed", 12, "merge", "G5"),
    ("G9", "南湖镇工作群", "T2", "镇村工作调度", "fixed", 50, "keep", None),
    ("G10", "南湖镇已解散群", "T2", "旧工作群", "fixed", 10, "remove", None),
]
APPS = [
    ("A1", "青山智慧党建", "D1", ["学习", "考勤"], ["checkin", "points"], "remove"),
    ("A2", "青山教育通", "D2", ["填报"], [], "keep"),
    ("A3", "东山镇网格通", "T1", ["网格上报"], ["checkin"], "remove"),
]
ACCOUNTS = [
    ("AC1", "青山发布", "D1", "keep"),
    ("AC2", "青山教育", "D2", "merge"),
    ("AC3", "南湖镇发布", "T2", "remove"),
]


def seed(ws, *, with_messages: bool = True, with_indicators: bool = True) -> dict:
    rng = random.Random(7)
    now = dt.datetime(2026, 5, 30, 12, 0)
    people: dict[str, list[str]] = {}
    with ws.store.session() as s:
        paths: dict[str, str] = {}
        for uid, name, parent, level in UNITS:
            paths[uid] = (paths[parent] if parent else "/") + f"{uid}/"
            s.add(Unit(id=uid, name=name, parent_id=parent, level=level, path=paths[uid]))
        s.flush()
        surnames = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗"
        k = 0
        for uid, n in PEOPLE_PER_UNIT.items():
            for _ in range(n):
                k += 1
                pid = f"P{k:03d}"
                s.add(
                    Person(id=pid, name=surnames[k % len(surnames)] + "某" + str(k), unit_id=uid, aliases=[])
                )
                people.setdefault(uid, []).append(pid)
        s.flush()
        for gid, name, uid, purpose, gtype, members, _action, _into in GROUPS:
            s.add(
                Group(
                    id=gid,
                    name=name,
                    platform="wechat",
                    unit_id=uid,
                    owner_id=people[uid][0],
                    purpose=purpose,
                    group_type=gtype,
                    created_on=dt.date(2025, 3, 1) if gid != "G6" else dt.date(2026, 5, 1),
                    end_date=dt.date(2026, 3, 31) if gtype == "temporary" else None,
                    member_count=members,
                    status="dissolved" if gid == "G10" else "active",
                    registered=gid != "G7",
                    tags=[],
                )
            )
        for aid, name, uid, funcs, feats, _ in APPS:
            s.add(
                App(
                    id=aid,
                    name=name,
                    platform="app",
                    unit_id=uid,
                    purpose=name + "业务",
                    functions=funcs,
                    features=feats,
                    launched_on=dt.date(2024, 6, 1),
                    last_active_on=dt.date(2026, 5, 20),
                    users=300,
                    registered=True,
                    tags=[],
                )
            )
        for acid, name, uid, _ in ACCOUNTS:
            s.add(
                Account(
                    id=acid,
                    name=name,
                    platform="wechat_oa",
                    unit_id=uid,
                    purpose="政务信息发布",
                    functions=["发布"],
                    created_on=dt.date(2020, 1, 1),
                    last_post_on=dt.date(2026, 2, 1),
                    followers=5000,
                    registered=True,
                    tags=[],
                )
            )
        s.flush()
        for gid, _name, uid, _p, _t, _m, action, into in GROUPS:
            s.add(
                Recommendation(
                    id=f"group:{gid}",
                    object_type="group",
                    object_id=gid,
                    unit_id=uid,
                    action=action,
                    merge_into=f"group:{into}" if into else None,
                    reasons=[{"code": "X", "text": f"{_name}研判理由"}],
                    evidence={},
                    updated_at=now,
                )
            )
        for aid, _name, uid, _f, _ft, action in APPS:
            s.add(
                Recommendation(
                    id=f"app:{aid}",
                    object_type="app",
                    object_id=aid,
                    unit_id=uid,
                    action=action,
                    reasons=["含打卡积分功能"] if action == "remove" else [],
                    evidence={},
                    updated_at=now,
                )
            )
        for acid, _name, uid, action in ACCOUNTS:
            s.add(
                Recommendation(
                    id=f"account:{acid}",
                    object_type="account",
                    object_id=acid,
                    unit_id=uid,
                    action=action,
                    reasons=["长期未更新"],
                    evidence={},
                    updated_at=now,
                )
            )
        s.flush()
    msgs = _messages(ws, rng) if with_messages else {}
    with ws.store.session() as s:
        # findings: id, category, object type/id, unit, severity, status, deadline, messages
        specs = [
            ("F1", "GROUP_ROLLCALL_INSTANT", "group", "G5", "T1", "high", "rectifying", dt.date(2026, 5, 15)),
            ("F2", "GROUP_ROLLCALL_INSTANT", "group", "G1", "D1", "medium", "closed", dt.date(2026, 5, 15)),
            ("F3", "AFTER_HOURS", "group", "G9", "T2", "high", "assigned", dt.date(2026, 6, 30)),
            ("F4", "MANDATORY_CHECKIN_POINTS", "app", "A1", "D1", "high", "verified", dt.date(2026, 5, 1)),
            ("F5", "ZOMBIE", "account", "AC3", "T2", "medium", "open", None),
            ("F6", "STALE_TEMP_GROUP", "group", "G4", "D2", "medium", "assigned", dt.date(2026, 4, 30)),
            ("F7", "EXCESSIVE_TRACE", "group", "G8", "V2", "low", "closed", dt.date(2026, 5, 20)),
        ]
        for fid, cat, ot, oid, uid, sev, status, deadline in specs:
            mids = msgs.get(oid, [])[:5]
            s.add(
                Finding(
                    id=fid,
                    category=cat,
                    rule_id=f"rule.{cat.lower()}",
                    object_type=ot,
                    object_id=oid,
                    unit_id=uid,
                    period="2026-03",
                    severity=sev,
                    title=f"{oid}存在{cat}问题",
                    summary="详见证据消息",
                    evidence={
                        "message_ids": mids,
                        "message_count": len(mids),
                        "object_ids": [oid],
                        "metrics": {},
                    },
                    policy={},
                    status=status,
                    assignee_unit_id=uid,
                    deadline=deadline,
                    first_seen_at=now,
                    last_seen_at=now,
                    active=True,
                    updated_at=now,
                )
            )
        s.flush()
        # F2 closed on time, F7 closed late, F4 verified on time
        for fid, at in (
            ("F2", dt.datetime(2026, 5, 10)),
            ("F7", dt.datetime(2026, 5, 25)),
            ("F4", dt.datetime(2026, 4, 28)),
        ):
            to = "verified" if fid == "F4" else "closed"
            s.add(
                FindingEvent(
                    finding_id=fid,
                    at=at,
                    action="close" if to == "closed" else "verify",
                    from_status="submitted",
                    to_status=to,
                    note="整改完成",
                )
            )
    _memberships_and_plan(ws, people)
    if with_indicators:
        _indicators(ws, rng)
    return {"people": people, "messages": msgs}


TEXTS = [
    "各位注意：收到请回复，今天下班前报送材料",
    "@所有人 请大家今晚十点前接龙报平安，赵某3负责统计",
    "请各村上传巡河照片5张，县委办公室要检查",
    "明天上午开会，请准时参加",
    "收到",
]


def _messages(ws, rng: random.Random) -> dict[str, list[str]]:
    rows = []
    by_group: dict[str, list[str]] = {}
    for gid, *_ in GROUPS:
        for w in range(WEEKS):
            for i in range(6 if dt.date(2026, 2, 2) + dt.timedelta(weeks=w) < CAMPAIGN else 3):
                day = FIRST_WEEK + dt.timedelta(weeks=w, days=i % 5)
                local = dt.datetime.combine(day, dt.time(9 + i, 5))
                mid = f"M-{gid}-{w}-{i}"
                text = TEXTS[(w + i) % len(TEXTS)]
                if gid == "G9":
                    text = text.replace("县委办公室", "南湖镇")
                rows.append(
                    {
                        "message_id": mid,
                        "source": "test",
                        "group_id": gid,
                        "sender_id": "P001",
                        "sender_name": None,
                        "ts": (local - dt.timedelta(hours=8)).replace(tzinfo=dt.UTC),
                        "local_ts": local,
                        "kind": "text",
                        "text": text,
                        "reply_to": None,
                        "mentions": [],
                        "at_all": False,
                        "forwarded": False,
                        "batch_id": "b1",
                    }
                )
                if text != "收到":
                    by_group.setdefault(gid, []).append(mid)
    ws.lake().append_batch("messages", "b1", pa.Table.from_pylist(rows, schema=MESSAGES))
    return by_group


METRICS = ("demands_received", "after_hours_demands_received", "groups_joined", "burden_index")
BASES = (30.0, 8.0, 12.0, 50.0)
EFFECT = 0.6  # after the campaign every weekly figure is 60 % of before


def _indicators(ws, rng: random.Random) -> None:
    rows = []
    with ws.store.session() as s:
        people = list(s.execute(select(Person.id, Person.unit_id)).all())
    for w in range(WEEKS):
        week = FIRST_WEEK + dt.timedelta(weeks=w)
        factor = EFFECT if week >= CAMPAIGN else 1.0
        for metric, base in zip(METRICS, BASES, strict=True):
            for scope, sid in (
                ("county", "C1"),
                ("unit", "C1"),
                ("unit", "D1"),
                ("unit", "D2"),
                ("unit", "T1"),
                ("unit", "T2"),
                ("unit", "V1"),
            ):
                rows.append(
                    {
                        "scope": scope,
                        "scope_id": sid,
                        "period": week.isoformat(),
                        "metric": metric,
                        "value": round(base * factor * (1 + rng.uniform(-0.1, 0.1)), 3),
                    }
                )
            for pid, _uid in people:
                rows.append(
                    {
                        "scope": "person",
                        "scope_id": pid,
                        "period": week.isoformat(),
                        "metric": metric,
                        "value": round(base * factor * (1 + rng.uniform(-0.2, 0.2)), 3),
                    }
                )
    ws.lake().replace("indicators", pa.Table.from_pylist(rows, schema=INDICATORS))


def _memberships_and_plan(ws, people: dict[str, list[str]]) -> None:
    """Everyone of a unit is in its groups; the merge plan: G2 into G1, G8 into G5."""
    rows = []
    for gid, _name, uid, *_ in GROUPS:
        for pid in people[uid]:
            rows.append(
                {
                    "group_id": gid,
                    "person_id": pid,
                    "role": "member",
                    "joined_at": None,
                    "left_at": None,
                    "batch_id": "b1",
                }
            )
    ws.lake().append_batch("memberships", "b1", pa.Table.from_pylist(rows, schema=MEMBERSHIPS))
    plan = [
        {
            "plan_id": "G1",
            "object_type": "group",
            "object_id": "G2",
            "target_id": "G1",
            "action": "merge",
            "daily_messages": 1.2,
            "projected_daily_messages": 2.3,
            "members_before": 40,
            "members_after": 46,
        },
        {
            "plan_id": "G5",
            "object_type": "group",
            "object_id": "G8",
            "target_id": "G5",
            "action": "merge",
            "daily_messages": 0.8,
            "projected_daily_messages": 1.9,
            "members_before": 12,
            "members_after": 66,
        },
    ]
    ws.lake().replace("merge_plan", pa.Table.from_pylist(plan, schema=MERGE_PLAN))
