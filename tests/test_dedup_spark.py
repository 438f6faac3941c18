"""Parity: the signals, dedup and multireport steps give identical datasets and findings on DuckDB
and on Spark local mode (one shared SparkSession). Fails, not skips, under CI=true without PySpark/Java."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from screen_helpers import add, group, member, msg, people, unit, write_lake
from zhijian.analysis.pipeline import run_analysis
from zhijian.store.models import Finding

STEPS = ["signals", "dedup", "multireport"]
DATASETS = {
    "reply_storms": ["demand_id"],
    "solitaire_rounds": ["round_id"],
    "demand_deadlines": ["message_id"],
    "notice_clusters": ["cluster_id", "message_id"],
    "notice_copies": ["person_id", "cluster_id"],
}


def _scenario(ws):
    add(
        ws,
        unit("c", "测试县", "county"),
        unit("t", "红旗镇", "township", "c", "/c/"),
        unit("d", "县民政局", "department", "c", "/c/"),
    )
    add(
        ws,
        group("g1", "县工作群", "c"),
        group("g2", "红旗镇群", "t"),
        group("g3", "安保群", "t", tags=["安保"]),
        group("g4", "民政群", "d"),
    )
    ppl = [f"p{i}" for i in range(10)]
    people(ws, "c", ppl[:5])
    people(ws, "t", ppl[5:8])
    people(ws, "d", ppl[8:])
    t0 = dt.datetime(2026, 3, 2, 9, 0)
    ms, labels = [], []
    notice = (
        "关于开展春季森林防火专项检查的通知：3月10日至3月14日，县防火办将对各乡镇防火物资储备、"
        "值班值守和隐患排查情况进行检查，请提前做好准备。"
    )
    for d in range(6):
        t = t0 + dt.timedelta(days=d)
        m = msg("g1", "p0", t, "@所有人 收到请回复，明天8点前报送值班表")
        ms.append(m)
        labels += [(m["message_id"], "roll_call_demand"), (m["message_id"], "data_request")]
        for i in range(1, 7):
            r = msg("g1", f"p{i}", t + dt.timedelta(minutes=i * 2), "收到")
            ms.append(r)
            labels.append((r["message_id"], "roll_call_reply"))
        ms.append(msg("g1", "p0", t + dt.timedelta(hours=1), notice.replace("3月10日", f"3月{10 + d}日")))
        ms.append(
            msg(
                "g2",
                "p5",
                t + dt.timedelta(hours=1, minutes=7),
                "转发：" + notice.replace("3月10日", f"3月{10 + d}日"),
            )
        )
        a = msg("g2", "p5", t + dt.timedelta(hours=13), "请10分钟内上传巡查照片")
        ms.append(a)
        labels += [(a["message_id"], "proof_demand"), (a["message_id"], "instant_response_demand")]
        c = msg("g3", "p6", t + dt.timedelta(hours=12), "今晚各岗位打卡签到")
        ms.append(c)
        labels.append((c["message_id"], "checkin_demand"))
    for i in range(4):
        ms.append(msg("g2", f"p{5 + (i % 3)}", t0 + dt.timedelta(hours=2, minutes=i), f"{i + 1}. 已完成"))
    r1 = msg("g4", "p8", t0, "请各村于3月6日前填报《困难群众基本情况统计表》")
    r2 = msg("g2", "p5", t0 + dt.timedelta(days=1), "请填写《困难群众基本情况统计表》，本周五前报送")
    ms += [r1, r2]
    labels += [(r1["message_id"], "data_request"), (r2["message_id"], "data_request")]
    mem = (
        [member("g1", p) for p in ppl[:7]]
        + [member("g2", p) for p in ppl[:3] + ppl[5:8]]
        + [member("g4", "p8")]
    )
    write_lake(ws, ms, mem, labels=labels)


def _snapshot(ws):
    lake = ws.lake("duckdb")  # read what each engine wrote with one reader
    out = {}
    for name, keys in DATASETS.items():
        rows = lake.to_arrow(lake.table(name)).to_pylist()
        out[name] = sorted(rows, key=lambda r: tuple(str(r[k]) for k in keys))
    with ws.store.session() as s:
        out["findings"] = sorted(
            (f.id, f.category, f.title, f.severity, f.period, f.unit_id, f.evidence, f.policy)
            for f in s.scalars(select(Finding).where(Finding.active))
        )
    return out


@pytest.mark.slow
def test_signals_dedup_multireport_parity(workspace, spark):
    _scenario(workspace)
    res_d = run_analysis(workspace, engine="duckdb", steps=STEPS)
    duck = _snapshot(workspace)
    res_s = run_analysis(workspace, engine="spark", steps=STEPS)
    assert res_s.engine == "spark"
    print({k: v["seconds"] for k, v in res_s.steps.items()})
    sp = _snapshot(workspace)
    for name in DATASETS:
        assert duck[name], name  # the scenario produces rows for every dataset
        assert sp[name] == duck[name], name
    cats = {f[1] for f in duck["findings"]}
    assert {
        "GROUP_ROLLCALL_INSTANT",
        "EXCESSIVE_TRACE",
        "AFTER_HOURS",
        "ARBITRARY_TASKS",
        "MULTI_REPORTING",
        "DUPLICATE_GROUP",
    } <= cats
    assert sp["findings"] == duck["findings"]
    for step in STEPS:
        assert res_s.steps[step]["findings"] == res_d.steps[step]["findings"]


SLOT_TEXTS = ["关于召开2026年3月5日会议", "无数字的通知", "12abc三十", "", "abc12", "5", "二〇二六年十月下旬"]


def _slots_python(x: str) -> str:
    import re

    from zhijian.analysis.neardup import dedup_policy

    return "|" + "|".join(re.findall(f"[{dedup_policy()['slots']['chars']}]+", x))


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_slot_sequence_same_on_each_engine(engine, request, tmp_path):
    """The slot sequence (regexp_extract_all, a builtin on both engines) equals Python's, including a
    text without slots ('|': Ibis joins an empty array to NULL on Spark) and one that is all slots."""
    import pyarrow as pa

    from zhijian.analysis.neardup import slot_sequence
    from zhijian.lake import Lake

    if engine == "spark":
        request.getfixturevalue("spark")
    lake = Lake(tmp_path, engine)
    t = lake.register("slots", pa.table({"i": list(range(len(SLOT_TEXTS))), "norm": SLOT_TEXTS}))
    got = lake.to_arrow(t.select("i", s=slot_sequence(t.norm)).order_by("i")).column("s").to_pylist()
    assert got == [_slots_python(x) for x in SLOT_TEXTS]
    assert got[1] == "|" and got[-1] == "|二〇二六|十"
    lake.close()
