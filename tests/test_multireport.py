"""多头填报: data requests for the same items from several units within a window."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from screen_helpers import add, group, member, msg, people, unit, write_lake
from zhijian.analysis.pipeline import run_analysis
from zhijian.store.models import Finding

T = dt.datetime(2026, 3, 2, 9, 0)


def _county(ws):
    add(
        ws,
        unit("c", "测试县", "county"),
        unit("u1", "县民政局", "department", "c", "/c/"),
        unit("u2", "县残联", "department", "c", "/c/"),
        unit("u3", "县卫健局", "department", "c", "/c/"),
    )
    add(
        ws,
        group("g1", "民政工作群", "u1"),
        group("g2", "残联工作群", "u2"),
        group("g3", "卫健工作群", "u3"),
        group("g4", "村干部群", "c"),
    )
    people(ws, "u1", ["a1", "b1"])
    people(ws, "u2", ["a2"])
    people(ws, "u3", ["a3"])


def test_same_form_and_similar_requests_from_two_units(workspace):
    _county(workspace)
    d = dt.timedelta(days=1)
    ms = [
        msg("g1", "a1", T, "请各村于3月6日前填报《残疾人基本情况统计表》，电子版发邮箱", mid="r1"),
        msg("g2", "a2", T + 2 * d, "各村：请填写《残疾人基本情况统计表》并于周五前报送", mid="r2"),
        msg("g3", "a3", T + 40 * d, "请填写《残疾人基本情况统计表》", mid="r3"),  # outside the 14-day window
        msg(
            "g4",
            "b1",
            T + 3 * d,
            "请各村报送本村60岁以上独居老人名单，包括姓名、身份证号、联系电话和居住地址",
            mid="s1",
        ),
        msg(
            "g4",
            "a3",
            T + 4 * d,
            "请各村报送本村60岁以上独居老人名单，包括姓名、身份证号、联系电话、居住地址",
            mid="s2",
        ),
        # the same unit asking twice is not 多头 (one unit)
        msg("g1", "a1", T + 5 * d, "请报送“低保对象花名册”", mid="q1"),
        msg("g4", "b1", T + 6 * d, "请再次报送“低保对象花名册”", mid="q2"),
        # different items from another unit: not the same request
        msg(
            "g2",
            "a2",
            T + 5 * d,
            "请各村报送本村适龄儿童疫苗接种名单，包括姓名、身份证号、联系电话和接种时间",
            mid="x1",
        ),
        # a same-form request that is not a data request (no label): ignored
        msg("g3", "a3", T + 3 * d, "《残疾人基本情况统计表》填报说明已更新", mid="n1"),
    ]
    labels = [(m["message_id"], "data_request") for m in ms if m["message_id"] != "n1"]
    write_lake(workspace, ms, [member("g1", "a1")], labels=labels)
    res = run_analysis(workspace, steps=["multireport"])
    with workspace.store.session() as s:
        fs = {f.rule_id: f for f in s.scalars(select(Finding).where(Finding.category == "MULTI_REPORTING"))}
    assert set(fs) == {"multireport.same_form", "multireport.similar_request"}
    form = fs["multireport.same_form"]
    assert form.evidence["message_ids"] == ["r1", "r2"] and form.evidence["object_ids"] == ["u1", "u2"]
    assert form.object_type == "message" and form.object_id == "r1" and form.period == "2026-03"
    assert "《残疾人基本情况统计表》" in form.title and "县民政局" in form.title and "县残联" in form.title
    assert form.policy["window_days"] == 14 and form.policy["min_units"] == 2
    sim = fs["multireport.similar_request"]
    assert sim.evidence["message_ids"] == ["s1", "s2"] and sim.evidence["object_ids"] == ["u1", "u3"]
    assert res.steps["multireport"]["data_requests"] == 8


def test_no_labels_no_findings(workspace):
    _county(workspace)
    write_lake(workspace, [msg("g1", "a1", T, "请填写《残疾人基本情况统计表》")], [])
    run_analysis(workspace, steps=["multireport"])
    with workspace.store.session() as s:
        assert list(s.scalars(select(Finding))) == []
