"""The demo county generator: reproducibility, scale knobs, file formats and ground-truth consistency.

The files are read back the way the importer will read them (pyarrow CSV, openpyxl)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from zhijian.demo import generate
from zhijian.errors import ZhijianError

KINDS = {
    "text",
    "image",
    "video",
    "voice",
    "file",
    "link",
    "forward",
    "system",
    "recall",
    "solitaire",
    "other",
}
DEMANDS = {
    "roll_call_demand",
    "checkin_demand",
    "proof_demand",
    "instant_response_demand",
    "data_request",
    "forward_like_demand",
    "app_usage_demand",
}
TS_RE = re.compile(r"^2026-(0[5-9]|10)-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\+08:00$")


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def read_messages(root: Path) -> pa.Table:
    opts = pacsv.ConvertOptions(
        column_types={
            c: pa.string()
            for c in (
                "message_id",
                "group_id",
                "group_name",
                "sender_id",
                "sender_name",
                "ts",
                "kind",
                "text",
                "mentions",
                "reply_to",
            )
        }
        | {"at_all": pa.bool_(), "forwarded": pa.bool_()},
        strings_can_be_null=True,
    )
    parts = [
        pacsv.read_csv(p, parse_options=pacsv.ParseOptions(newlines_in_values=True), convert_options=opts)
        for p in sorted((root / "messages").glob("*.csv"))
    ]
    return pa.concat_tables(parts)


def read_xlsx(path: Path) -> tuple[list[str], list[tuple]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    return list(rows[0]), rows[1:]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    s = generate(out, messages=40_000, seed=11)
    assert s.messages == 40_000
    return out


@pytest.fixture(scope="module")
def msgs(demo) -> dict:
    t = read_messages(demo)
    return {c: t.column(c).to_pylist() for c in t.column_names}


@pytest.fixture(scope="module")
def labels(demo) -> dict[str, dict]:
    out = {}
    with (demo / ".ground_truth" / "message_labels.jsonl").open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            out[r["message_id"]] = r
    return out


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, messages=6_000, seed=5)
    generate(b, messages=6_000, seed=5)
    generate(c, messages=6_000, seed=6)
    da, db, dc = _digest(a), _digest(b), _digest(c)
    assert da == db
    assert len(da) >= 17 and ".ground_truth/summary.json" in da
    assert da["messages/2026-05.csv"] != dc["messages/2026-05.csv"]
    assert da["花名册.xlsx"] != dc["花名册.xlsx"]


def test_scale_knobs(tmp_path):
    small = generate(tmp_path / "s", messages=15_000, seed=1)
    big = generate(tmp_path / "b", messages=150_000, seed=1)
    assert small.messages == 15_000 and big.messages == 150_000
    assert big.people > 2 * small.people
    assert big.groups > 1.5 * small.groups
    assert big.planted_messages > 5 * small.planted_messages
    assert big.storms > 4 * small.storms
    n_rows = sum(
        len(p.read_text(encoding="utf-8").splitlines()) > 0
        for p in (tmp_path / "b" / "messages").glob("*.csv")
    )
    assert n_rows == 6  # one file per month, May … October


def test_too_few_messages_is_a_user_error(tmp_path):
    with pytest.raises(ZhijianError):
        generate(tmp_path, messages=10)
    with pytest.raises(ZhijianError):
        generate(tmp_path, messages=5_000, seed=-1)
    assert not (tmp_path / "messages").exists()  # nothing written


def test_inventory_files(demo):
    units = pacsv.read_csv(
        demo / "单位.csv",
        convert_options=pacsv.ConvertOptions(
            column_types={"单位编码": pa.string(), "上级单位编码": pa.string()}, strings_can_be_null=True
        ),
    ).to_pylist()
    assert list(units[0]) == ["单位编码", "单位名称", "上级单位编码", "层级", "类别"]
    codes = {u["单位编码"] for u in units}
    names = {u["单位名称"] for u in units}
    assert len(codes) == len(units) and len(names) == len(units)
    assert {u["层级"] for u in units} == {"省", "市", "县", "乡镇", "村"}
    for u in units:
        assert u["上级单位编码"] is None or u["上级单位编码"] in codes
    assert sum(u["层级"] == "乡镇" for u in units) >= 2
    assert any(u["单位名称"].endswith("残联") for u in units) and any(
        u["单位名称"].endswith("民政局") for u in units
    )

    head, people = read_xlsx(demo / "花名册.xlsx")
    assert head == ["人员编号", "姓名", "单位", "职务", "微信号", "企业微信ID", "手机号"]
    assert people[0][0] == "P00001"
    assert all(p[2] in names for p in people)
    assert len({p[4] for p in people}) == len(people)
    assert all(re.fullmatch(r"1[3-9][0-9]{9}", p[6]) for p in people)
    assert len({p[1][0] for p in people}) > 20  # varied surnames
    pids = {p[0] for p in people}

    head, groups = read_xlsx(demo / "工作群摸底表.xlsx")
    assert head == [
        "群ID",
        "群名称",
        "平台",
        "群主",
        "所属单位",
        "建群目的",
        "群类型",
        "建群时间",
        "预计解散时间",
        "成员数",
        "是否备案",
        "标签",
        "状态",
        "实际解散时间",
    ]
    assert {g[12] for g in groups} == {"在用", "已解散", "已合并"}  # the campaign dissolved and merged groups
    assert all((g[12] == "在用") == (g[13] is None) for g in groups)
    assert {g[2] for g in groups} <= {"微信", "企业微信", "钉钉"}
    assert {g[6] for g in groups} == {"固定", "临时"}
    assert all(g[3] in pids and g[4] in names for g in groups)
    assert all(isinstance(g[7], dt.datetime) for g in groups)
    assert all((g[8] is not None) == (g[6] == "临时") for g in groups)
    assert {g[10] for g in groups} == {"是", "否"}

    head, apps = read_xlsx(demo / "政务应用摸底表.xlsx")
    assert head == [
        "应用名称",
        "平台",
        "主办单位",
        "功能",
        "强制功能",
        "上线时间",
        "最近活跃时间",
        "用户数",
        "是否备案",
        "标签",
        "状态",
        "关停时间",
    ]
    assert {a[10] for a in apps} == {"在用", "已关停"} and all(
        (a[10] == "在用") == (a[11] is None) for a in apps
    )
    feats = {f for a in apps if a[4] for f in a[4].split(",")}
    assert feats <= {"打卡", "积分", "在线时长", "排名"} and {"打卡", "积分"} <= feats
    assert len(apps) >= 20
    head, accts = read_xlsx(demo / "政务公众号摸底表.xlsx")
    assert head == [
        "账号名称",
        "平台",
        "主办单位",
        "开设时间",
        "最近更新时间",
        "粉丝数",
        "是否备案",
        "功能",
        "状态",
        "注销时间",
    ]
    assert {a[8] for a in accts} == {"在用", "已注销"}
    assert len(accts) >= 12

    mem = pacsv.read_csv(
        demo / "群成员.csv",
        convert_options=pacsv.ConvertOptions(
            column_types={"退群时间": pa.string(), "入群时间": pa.string()}, strings_can_be_null=True
        ),
    ).to_pylist()
    assert list(mem[0]) == ["群ID", "微信号", "角色", "入群时间", "退群时间"]
    assert {m["角色"] for m in mem} == {"群主", "管理员", "成员"}


def test_messages_format(msgs):
    n = len(msgs["message_id"])
    assert n == 40_000
    assert len(set(msgs["message_id"])) == n
    assert msgs["message_id"] == sorted(msgs["message_id"])
    assert all(TS_RE.match(t) for t in msgs["ts"])
    assert msgs["ts"] == sorted(msgs["ts"])  # time order (same offset everywhere)
    assert set(msgs["kind"]) <= KINDS and {"text", "image", "system", "solitaire", "recall"} <= set(
        msgs["kind"]
    )
    ids = set(msgs["message_id"])
    for m in msgs["mentions"]:
        assert isinstance(json.loads(m), list)
    assert all(r is None or r in ids for r in msgs["reply_to"])
    assert any(msgs["at_all"]) and any(msgs["forwarded"])
    for k, s in zip(msgs["kind"], msgs["sender_id"], strict=True):
        assert (s is None) == (k == "system")
    # working-hours curve: most traffic on weekdays in the daytime
    hours = [int(t[11:13]) for t in msgs["ts"]]
    day = sum(8 <= h < 18 for h in hours) / n
    assert 0.7 < day < 0.97


def test_senders_are_members_at_the_time(demo, msgs):
    mem = pacsv.read_csv(
        demo / "群成员.csv",
        convert_options=pacsv.ConvertOptions(
            column_types={"退群时间": pa.string(), "入群时间": pa.string()}, strings_can_be_null=True
        ),
    ).to_pylist()
    spans: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for m in mem:
        iso = [x.replace(" ", "T") + "+08:00" if x else "9999" for x in (m["入群时间"], m["退群时间"])]
        spans.setdefault((m["群ID"], m["微信号"]), []).append((iso[0], iso[1]))
    listed = {m["群ID"] for m in mem}
    bad = 0
    for g, s, t in zip(msgs["group_id"], msgs["sender_id"], msgs["ts"], strict=True):
        if s is None or g not in listed:  # groups outside the 摸底表 have no member list
            continue
        if not any(a <= t < b for a, b in spans.get((g, s), [])):
            bad += 1
    assert bad == 0


def test_ground_truth_ids_exist_and_labels_are_plausible(demo, msgs, labels):
    text = dict(zip(msgs["message_id"], msgs["text"], strict=True))
    group = dict(zip(msgs["message_id"], msgs["group_id"], strict=True))
    ts = dict(zip(msgs["message_id"], msgs["ts"], strict=True))
    assert set(labels) <= set(text)
    cats = {r["category"] for r in labels.values()}
    assert {"demand", "reply", "notice_origin", "notice_copy", "negative", "multi_report", "jielong"} <= cats
    seen = {lab for r in labels.values() for lab in r["labels"]}
    assert DEMANDS | {"roll_call_reply", "normal"} <= seen
    from zhijian.demo.texts import FULLWIDTH, TRAD

    back = {
        ord(v) if isinstance(v, str) else v: k for k, v in (TRAD | FULLWIDTH).items()
    }  # traditional / full-width variants back to plain
    n_variant = 0
    for mid, r in labels.items():
        t = text[mid].translate(back)
        n_variant += t != text[mid]
        assert group[mid] == r["group_id"]
        if "roll_call_demand" in r["labels"]:
            assert re.search(r"回复|接龙|扣1|报到|报个到|收到", t), t
        if "checkin_demand" in r["labels"]:
            assert re.search(r"打卡|签到|定位|位置", t), t
        if "app_usage_demand" in r["labels"]:
            assert re.search(r"下载|注册|登录|积分|在线|学习|安装|APP|App", t), t
        if "forward_like_demand" in r["labels"]:
            assert re.search(r"转发|点赞|投票|关注|评论|在看", t), t
        if r["labels"] == ["roll_call_reply"] and r["category"] == "reply":
            assert len(t.split("\n「")[0]) <= 30, t  # short, possibly quoting the demand below
        if r.get("hard_negative"):
            assert r["labels"] == ["normal"]
            assert re.search(
                r"不得|严禁|不用|无需|取消|禁止|不再|不要求|不必|勿|不作|问责|不发|不@|无须|只发|解散|看到即可|？|简化",
                t,
            ), t
        if r["urgent"]:
            assert re.search("紧急|应急|安保", t)
    assert n_variant > 0
    assert any("\n「" in text[m] for m, r in labels.items() if r["category"] == "reply")
    # reply storms: replies follow their demand in the same group and are roll-call replies
    n = 0
    with (demo / ".ground_truth" / "reply_storms.jsonl").open(encoding="utf-8") as f:
        for line in f:
            s = json.loads(line)
            n += 1
            d = s["demand_id"]
            assert "roll_call_demand" in labels[d]["labels"] or labels[d]["category"] == "urgent"
            for rid in s["reply_ids"]:
                assert group[rid] == s["group_id"] == group[d]
                assert ts[rid] >= ts[d]
                assert labels[rid]["labels"] == ["roll_call_reply"]
    assert n > 50


def test_notice_clusters_and_siblings(demo, msgs):
    text = dict(zip(msgs["message_id"], msgs["text"], strict=True))
    clusters: dict[str, list[dict]] = {}
    with (demo / ".ground_truth" / "notice_clusters.jsonl").open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            assert r["message_id"] in text
            clusters.setdefault(r["cluster_id"], []).append(r)
    multi = [c for c in clusters.values() if len(c) > 1]
    assert len(multi) >= 10
    prefixed = 0
    for c in multi:
        origin = [r for r in c if r["hop"] == 0]
        assert len(origin) == 1
        body = text[origin[0]["message_id"]].split("\n")[0]  # the title line travels with every copy
        for r in c:
            assert body[:12] in text[r["message_id"]].replace("\n", "").replace(" ", "")
            if r["hop"]:
                assert r["parent_id"] is not None
                prefixed += text[r["message_id"]].startswith(
                    ("转发", "【转发】", "转：", "请", "@所有人", "转")
                )
    assert prefixed > 10
    sib = json.loads((demo / ".ground_truth" / "template_siblings.json").read_text(encoding="utf-8"))
    assert sib and all(len(s["clusters"]) >= 2 for s in sib)
    # siblings are different notices: their origins differ
    for s in sib[:5]:
        origins = {text[[r for r in clusters[c] if r["hop"] == 0][0]["message_id"]] for c in s["clusters"]}
        assert len(origins) == len(s["clusters"])


def test_multi_reporting_and_after_hours(demo, msgs, labels):
    ts = dict(zip(msgs["message_id"], msgs["ts"], strict=True))
    cases = json.loads((demo / ".ground_truth" / "multi_reporting.json").read_text(encoding="utf-8"))
    assert cases
    for c in cases:
        units = {r["unit"] for r in c["requests"]}
        assert len(units) >= 2
        days = sorted(ts[r["message_id"]][:10] for r in c["requests"])
        assert (dt.date.fromisoformat(days[-1]) - dt.date.fromisoformat(days[0])).days <= 7
        for r in c["requests"]:
            assert "data_request" in labels[r["message_id"]]["labels"]
    ah = json.loads((demo / ".ground_truth" / "after_hours.json").read_text(encoding="utf-8"))
    assert ah["demands"]
    import chinese_calendar as cc

    for mid in ah["demands"]:
        r = labels[mid]
        assert set(r["labels"]) & DEMANDS and not r["urgent"] and r["after_hours"]
        t = dt.datetime.fromisoformat(ts[mid]).replace(tzinfo=None)
        m = t.hour * 60 + t.minute
        assert not cc.is_workday(t.date()) or not (510 <= m < 720 or 840 <= m < 1050)
    # completeness: every non-urgent planted demand after hours outside exempt groups is listed
    listed = set(ah["demands"]) | set(ah["urgent_exempt"]) | set(ah["exempt_group"])
    for mid, r in labels.items():
        if set(r["labels"]) & DEMANDS and r["after_hours"]:
            assert mid in listed


def test_group_lifecycle_ground_truth_matches_the_data(demo, msgs, labels):
    g = json.loads((demo / ".ground_truth" / "groups.json").read_text(encoding="utf-8"))
    as_of = dt.datetime(2026, 11, 1)
    last: dict[str, str] = {}
    for mid, gid, kind, t in zip(msgs["message_id"], msgs["group_id"], msgs["kind"], msgs["ts"], strict=True):
        if kind in ("system", "recall"):
            continue
        if mid in labels and labels[mid]["labels"] == ["roll_call_reply"]:
            continue
        last[gid] = max(last.get(gid, ""), t)
    zombies = {z["group_id"] for z in g["zombie"]}
    assert zombies
    for z in g["zombie"]:
        if z["group_id"] in last:
            silent = (as_of - dt.datetime.fromisoformat(last[z["group_id"]]).replace(tzinfo=None)).days
            assert silent > 90
    for z in g["inactive"]:
        silent = (
            as_of - dt.datetime.fromisoformat(last[z["group_id"]]).replace(tzinfo=None)
        ).total_seconds() / 86400
        assert 30 < silent <= 90
    # zombie groups still receive stray "收到" replies or system messages (which must not count)
    zombie_traffic = sum(
        1
        for gid, t in zip(msgs["group_id"], msgs["ts"], strict=True)
        if gid in zombies and t > last.get(gid, "")
    )
    assert zombie_traffic > 0
    dissolved = {d["group_id"] for d in g["dissolved_by_campaign"]}
    assert not dissolved & zombies
    _head, inv = read_xlsx(demo / "工作群摸底表.xlsx")
    inv_ids = {r[0] for r in inv}
    assert g["unregistered"] and not set(g["unregistered"]) & inv_ids
    assert set(g["unregistered"]) & set(msgs["group_id"])  # discovered through the exports
    assert g["expired_temp"] and g["planted_overlaps"] and g["duplicates"] and g["off_topic"]
    for o in g["planted_overlaps"]:
        assert any(
            x["group_id"] == o["group_id"] and x["contained_in"] == o["overlaps"] for x in g["overlaps"]
        )


def test_apps_accounts_and_campaign(demo):
    apps = json.loads((demo / ".ground_truth" / "apps.json").read_text(encoding="utf-8"))
    assert any(a["exempt"] for a in apps["apps"]) and any(a["below_county"] for a in apps["apps"])
    assert any(a["forbidden_features"] for a in apps["apps"]) and len(apps["duplicate_sets"]) >= 2
    accts = json.loads((demo / ".ground_truth" / "accounts.json").read_text(encoding="utf-8"))["accounts"]
    assert any(a["stale"] and not a["zombie"] for a in accts) and any(a["cleanup"] for a in accts)
    camp = json.loads((demo / ".ground_truth" / "campaign.json").read_text(encoding="utf-8"))
    assert camp["campaign_date"] == "2026-08-01"
    real = camp["realised"]
    assert real["groups"]["change"] < -0.2
    assert real["roll_call_demand"]["change"] < -0.25
    assert real["after_hours_demands"]["change"] < -0.25


def test_demo_files_import_cleanly(tmp_path):
    """The importer reads every generated file: nothing skipped, every sender matched to the roster."""
    from zhijian.ingest import import_paths
    from zhijian.workspace import init_workspace

    out = tmp_path / "exports"
    s = generate(out, messages=6_000, seed=2)
    ws = init_workspace(tmp_path / "ws", "青山县")
    try:
        r = import_paths(ws, [out]).to_dict()
    finally:
        ws.close()
    _head, inv = read_xlsx(out / "工作群摸底表.xlsx")
    _head, roster = read_xlsx(out / "花名册.xlsx")
    n_members = len((out / "群成员.csv").read_text(encoding="utf-8").splitlines()) - 1
    assert r["messages"] + r["system_messages"] == s.messages
    assert r["skipped_count"] == 0 and not r["unknown_headers"]
    assert r["people_unmatched"] == 0 and r["people"] == len(roster)
    assert (
        r["inventory_groups"] == len(inv) and r["new_groups"] >= 1
    )  # unregistered groups found in the exports
    assert r["memberships"] == n_members
    assert r["units"] == s.units and r["apps"] == s.apps and r["accounts"] == s.accounts
