"""Builders for small real workspaces used by the screening and burden tests.

Everything is written through the real components: the store models (SQLite), the lake
(``Lake.append_batch`` with ``zhijian.lake.schema``, ``Lake.replace`` for derived datasets)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pyarrow as pa

from zhijian.lake.schema import MEMBERSHIPS, MESSAGES, SCHEMAS
from zhijian.store.models import Group, Person, Unit

_seq = itertools.count()
UTC = dt.UTC


def unit(uid: str, name: str, level: str, parent: str | None = None, parent_path: str = "/") -> Unit:
    return Unit(id=uid, name=name, level=level, parent_id=parent, path=f"{parent_path}{uid}/")


def add(ws, *objs: Any) -> None:
    with ws.store.session() as s:
        for o in objs:
            s.add(o)
            s.flush()


def group(gid: str, name: str, unit_id: str, **kw: Any) -> Group:
    kw.setdefault("purpose", "工作安排")
    kw.setdefault("registered", True)
    kw.setdefault("group_type", "fixed")
    kw.setdefault("created_on", dt.date(2026, 1, 1))
    kw.setdefault("status", "active")
    return Group(id=gid, name=name, unit_id=unit_id, **kw)


def people(ws, unit_id: str, ids: list[str]) -> None:
    add(ws, *[Person(id=p, name=f"人{p}", unit_id=unit_id) for p in ids])


def msg(
    gid: str,
    sender: str | None,
    local: dt.datetime,
    text: str = "请各村落实防汛工作",
    kind: str = "text",
    mid: str | None = None,
) -> dict:
    return {
        "message_id": mid or f"m{next(_seq):07d}",
        "source": "test",
        "group_id": gid,
        "sender_id": sender,
        "sender_name": None,
        "ts": (local - dt.timedelta(hours=8)).replace(tzinfo=UTC),
        "local_ts": local,
        "kind": kind,
        "text": text,
        "reply_to": None,
        "mentions": None,
        "at_all": False,
        "forwarded": False,
        "batch_id": "b1",
    }


def member(gid: str, pid: str, joined: dt.datetime | None = None, left: dt.datetime | None = None) -> dict:
    return {
        "group_id": gid,
        "person_id": pid,
        "role": "member",
        "joined_at": joined,
        "left_at": left,
        "batch_id": "b1",
    }


def write_lake(
    ws,
    messages: list[dict],
    memberships: list[dict],
    labels: list[tuple[str, str]] = (),
    urgent: list[str] = (),
    clusters: list[dict] | None = None,
    batch: str = "b1",
) -> None:
    lake = ws.lake()
    if messages:
        lake.append_batch("messages", batch, pa.Table.from_pylist(messages, schema=MESSAGES))
    if memberships:
        lake.append_batch("memberships", batch, pa.Table.from_pylist(memberships, schema=MEMBERSHIPS))
    lab = [{"message_id": m, "label": lb, "rule_id": f"test.{lb}", "span": None} for m, lb in labels]
    lake.replace("message_labels", pa.Table.from_pylist(lab, schema=SCHEMAS["message_labels"]))
    flags = pa.table(
        {
            "message_id": pa.array(list(urgent), pa.string()),
            "urgent": pa.array([True] * len(urgent), pa.bool_()),
        }
    )
    fs = SCHEMAS.get("message_flags")
    if fs is not None:  # the labels step registered a wider schema: fill the other columns with nulls
        cols = {
            f.name: flags[f.name] if f.name in flags.column_names else pa.nulls(len(urgent), f.type)
            for f in fs
        }
        flags = pa.table(cols).cast(fs)
    lake.replace("message_flags", flags)
    if clusters is not None:
        lake.replace("notice_clusters", pa.Table.from_pylist(clusters, schema=SCHEMAS["notice_clusters"]))


def daily(
    gid: str,
    senders: list[str],
    start: dt.date,
    end: dt.date,
    per_day: int = 1,
    text: str = "请各村落实防汛工作",
    hour: int = 10,
) -> list[dict]:
    """``per_day`` working-hours messages a day in [start, end], senders in turn."""
    out = []
    d = start
    i = 0
    while d <= end:
        for k in range(per_day):
            out.append(
                msg(gid, senders[i % len(senders)], dt.datetime.combine(d, dt.time(hour, k % 60)), text)
            )
            i += 1
        d += dt.timedelta(days=1)
    return out


# ── the planted screening workspace ────────────────────────────────────────────────────────────
def planted_workspace(root) -> tuple[Any, dict]:
    """A small county with one planted case per screening check (and clean objects beside them).
    Returns (workspace, expected) where expected maps rule_id -> set of object ids."""
    from zhijian.store.models import Account, App
    from zhijian.workspace import init_workspace

    ws = init_workspace(root, "测试县")
    add(
        ws,
        unit("C", "青山县", "county"),
        unit("M1", "市农业局", "city"),
        unit("D1", "县教育局", "county", "C", "/C/"),
        unit("D2", "县卫健局", "county", "C", "/C/"),
        unit("T1", "青山镇", "township", "C", "/C/"),
        unit("T2", "河口镇", "township", "C", "/C/"),
        unit("V1", "一村", "village", "T1", "/C/T1/"),
    )
    P = [f"p{i:02d}" for i in range(30)]
    Q = [f"q{i:02d}" for i in range(20)]
    R = [f"r{i}" for i in range(10)]
    S = [f"s{i}" for i in range(6)]
    T = [f"t{i}" for i in range(6)]
    E = [f"e{i}" for i in range(10)]
    people(ws, "T1", P + S)
    people(ws, "T2", Q + R + T)
    people(ws, "D1", E)
    d0, d1 = dt.date(2026, 5, 1), dt.date(2026, 10, 31)
    G = {
        "G_OK1": group("G_OK1", "青山镇党建工作群", "T1", purpose="党建学习和组织生活安排"),
        "G_OK2": group("G_OK2", "河口镇防汛群", "T2", purpose="防汛值班调度"),
        "G_ZOMBIE": group("G_ZOMBIE", "青山镇旧项目群", "T1", purpose="旧村改造项目推进"),
        "G_INACTIVE": group("G_INACTIVE", "河口镇计生群", "T2", purpose="计划生育服务"),
        "G_EMPTY": group("G_EMPTY", "青山镇便民群", "T1", purpose="便民服务咨询", member_count=2),
        "G_TEMP": group(
            "G_TEMP",
            "青山镇迎检专班群",
            "T1",
            purpose="迎接省级检查",
            group_type="temporary",
            end_date=dt.date(2026, 9, 1),
        ),
        "G_TEMP_ACTIVE": group(
            "G_TEMP_ACTIVE",
            "河口镇防疫专班群",
            "T2",
            purpose="秋冬季防疫",
            group_type="temporary",
            end_date=dt.date(2026, 10, 1),
        ),
        "G_DUP_A": group("G_DUP_A", "青山镇防汛值班群", "T1", purpose="汛期值守"),
        "G_BUSY_A": group("G_BUSY_A", "河口镇网格群", "T2", purpose="网格化管理"),
        "G_BUSY_B": group("G_BUSY_B", "河口镇网格员群", "T2", purpose="网格员调度"),
        "G_UNREG": group("G_UNREG", "青山镇志愿者群", "T1", purpose=None, registered=False),
        "G_OFFTOPIC": group("G_OFFTOPIC", "河口镇干部交流群", "T2", purpose="干部日常沟通"),
        "G_NAME_A": group("G_NAME_A", "县教育局安全工作群", "D1", purpose="校园安全检查"),
        "G_NAME_B": group("G_NAME_B", "县教育局安全生产群", "D1", purpose="安全生产月活动"),
    }
    add(ws, *G.values())
    mem = (
        [member("G_OK1", p) for p in P[:20]]
        + [member("G_OK2", q) for q in Q[:10]]
        + [member("G_ZOMBIE", p) for p in P[20:30]]
        + [member("G_INACTIVE", q) for q in Q[10:20]]
        + [member("G_EMPTY", p) for p in P[:2]]
        + [member("G_TEMP", p) for p in P[10:15] + P[20:25]]
        + [member("G_TEMP_ACTIVE", q) for q in Q[5:15]]
        + [member("G_DUP_A", p) for p in P[:10]]
        + [member("G_BUSY_A", r) for r in R]
        + [member("G_BUSY_B", r) for r in R]
        + [member("G_UNREG", s) for s in S]
        + [member("G_OFFTOPIC", t) for t in T]
        + [member("G_NAME_A", e) for e in E[:5]]
        + [member("G_NAME_B", e) for e in E[5:]]
    )
    msgs = (
        daily("G_OK1", P[:20], d0, d1)
        + daily("G_OK2", Q[:10], d0, d1)
        + daily("G_ZOMBIE", P[20:30], d0, dt.date(2026, 7, 15))
        + daily("G_INACTIVE", Q[10:20], d0, dt.date(2026, 9, 15))
        + daily("G_TEMP", P[10:15], d0, dt.date(2026, 8, 20))
        + daily("G_TEMP_ACTIVE", Q[5:15], d0, d1)
        + daily("G_DUP_A", P[:10], d0, d1)
        + daily("G_BUSY_A", R, d0, dt.date(2026, 9, 30))
        + daily("G_BUSY_B", R, d0, dt.date(2026, 9, 30))
        + daily("G_BUSY_A", R, dt.date(2026, 10, 1), d1, per_day=100, hour=9)
        + daily("G_BUSY_B", R, dt.date(2026, 10, 1), d1, per_day=100, hour=15)
        + daily("G_UNREG", S, d0, d1)
        + daily("G_OFFTOPIC", T, d0, d1, text="今天天气不错，晚上一起吃饭")
        + daily("G_OFFTOPIC", T, dt.date(2026, 10, 1), dt.date(2026, 10, 10), text="请各村落实防汛工作")
        + daily("G_NAME_A", E[:5], d0, d1)
        + daily("G_NAME_B", E[5:], d0, d1)
    )
    reply = msg("G_ZOMBIE", "p21", dt.datetime(2026, 10, 20, 10), "收到")
    system = msg("G_ZOMBIE", None, dt.datetime(2026, 10, 25, 10), "p22 加入了群聊", kind="system")
    write_lake(ws, msgs + [reply, system], mem, labels=[(reply["message_id"], "roll_call_reply")])
    add(
        ws,
        App(id="A_OK", name="家校通", unit_id="D1", functions=["家校沟通"], features=[], users=500),
        App(id="A_Q1", name="农技通", unit_id="M1", functions=["农技服务"], users=100),
        App(id="A_Q2", name="农情报送", unit_id="M1", functions=["农情填报"], users=50),
        App(
            id="A_CHECKIN",
            name="教师打卡通",
            unit_id="D1",
            functions=["考勤"],
            features=["checkin", "points"],
        ),
        App(
            id="A_EXEMPT",
            name="应急值守通",
            unit_id="D1",
            functions=["值守"],
            features=["checkin"],
            tags=["应急"],
        ),
        App(id="A_BELOW", name="一村便民通", unit_id="V1", functions=["便民"]),
        App(id="A_DUP_SMALL", name="教育学习通", unit_id="D1", functions=["学习", "考试"], users=20),
        App(id="A_DUP_BIG", name="卫健学习平台", unit_id="D2", functions=["学习", "考试", "积分"], users=300),
        App(
            id="A_IDLE",
            name="教育旧平台",
            unit_id="D1",
            functions=["旧业务"],
            last_active_on=dt.date(2026, 6, 1),
        ),
        Account(
            id="AC_OK",
            name="青山县发布",
            unit_id="C",
            functions=["信息发布"],
            last_post_on=dt.date(2026, 10, 30),
        ),
        Account(
            id="AC_STALE",
            name="教育局公众号",
            unit_id="D1",
            functions=["教育宣传"],
            last_post_on=dt.date(2026, 10, 10),
        ),
        Account(
            id="AC_ZOMBIE",
            name="教育局微博",
            unit_id="D1",
            functions=["招生信息"],
            last_post_on=dt.date(2026, 8, 20),
        ),
        Account(
            id="AC_CLEAN",
            name="教育局抖音",
            unit_id="D1",
            functions=["短视频"],
            last_post_on=dt.date(2026, 7, 1),
        ),
        Account(
            id="AC_DUP_BIG",
            name="青山镇发布",
            unit_id="T1",
            functions=["信息发布", "政策解读"],
            last_post_on=dt.date(2026, 10, 30),
            followers=900,
        ),
        Account(
            id="AC_DUP_SMALL",
            name="青山镇微讯",
            unit_id="T1",
            functions=["信息发布"],
            last_post_on=dt.date(2026, 10, 29),
            followers=50,
        ),
    )
    expected = {
        "lifecycle.group_zombie": {"G_ZOMBIE"},
        "lifecycle.group_inactive": {"G_INACTIVE", "G_TEMP"},
        "lifecycle.group_empty": {"G_EMPTY"},
        "lifecycle.temp_expired": {"G_TEMP", "G_TEMP_ACTIVE"},
        "lifecycle.group_unregistered": {"G_UNREG"},
        "lifecycle.group_no_purpose": {"G_UNREG"},
        "lifecycle.group_off_topic": {"G_OFFTOPIC"},
        "overlap.members": {"G_DUP_A", "G_BUSY_A"},
        "overlap.name": {"G_NAME_A"},
        "lifecycle.account_stale": {"AC_STALE"},
        "lifecycle.account_zombie": {"AC_ZOMBIE"},
        "lifecycle.account_cleanup": {"AC_CLEAN"},
        "overlap.account_functions": {"AC_DUP_SMALL"},
        "lifecycle.app_forbidden_feature": {"A_CHECKIN"},
        "lifecycle.app_below_level": {"A_BELOW"},
        "lifecycle.app_over_quota": {"M1"},
        "lifecycle.app_idle": {"A_IDLE"},
        "overlap.app_functions": {"A_DUP_SMALL"},
    }
    return ws, expected
