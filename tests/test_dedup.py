"""Near-duplicate notices: clusters, cascade down the unit tree, copies per cadre, DUPLICATE_GROUP
findings, the ``zhijian dedup --jsonl`` interface and accuracy on the labelled evaluation set."""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from screen_helpers import add, group, member, msg, people, unit, write_lake
from zhijian.analysis.dedup import cluster_records, read_jsonl
from zhijian.analysis.neardup import normalise, normalise_python
from zhijian.analysis.pipeline import run_analysis
from zhijian.errors import ImportFormatError
from zhijian.lake import Lake
from zhijian.store.models import Finding

EVAL = Path(__file__).parent / "data" / "neardup_eval.jsonl"
T0 = dt.datetime(2026, 3, 2, 9, 0)
NOTICE = (
    "关于召开2026年第一季度安全生产工作会议的通知：定于3月5日上午9时在县政府三楼会议室召开安全生产工作会议，"
    "请各乡镇分管领导和安监站长准时参加，请于3月4日前将参会人员名单报县应急办。"
)


def _tree(ws):
    add(
        ws,
        unit("c", "测试县", "county"),
        unit("t1", "红旗镇", "township", "c", "/c/"),
        unit("t2", "东岭乡", "township", "c", "/c/"),
        unit("v1", "青山村", "village", "t1", "/c/t1/"),
    )
    add(
        ws,
        group("gc", "县安委会群", "c"),
        group("gt1", "红旗镇工作群", "t1"),
        group("gt2", "东岭乡工作群", "t2"),
        group("gv1", "青山村两委群", "v1"),
        group("gx", "县应急值班群", "c"),
    )
    people(ws, "c", ["a", "b", "c1", "d", "e", "f"])


def test_cascade_hops_copies_and_template_siblings(workspace):
    _tree(workspace)
    ms = [
        msg("gc", "a", T0, NOTICE, mid="n0"),
        msg("gt1", "b", T0 + dt.timedelta(minutes=12), "转发：" + NOTICE + "请认真落实！", mid="n1"),
        msg(
            "gt2",
            "c1",
            T0 + dt.timedelta(minutes=20),
            "@所有人\u2005" + NOTICE.replace("，", ", ") + "——东岭乡党政办",
            mid="n2",
        ),
        msg("gv1", "d", T0 + dt.timedelta(minutes=50), "【转】" + NOTICE[:70], mid="n3"),  # cut tail
        msg(
            "gv1", "d", T0 + dt.timedelta(minutes=55), NOTICE, mid="n4"
        ),  # the same notice again in one group
        # template siblings: another date; another subject — different notices
        msg(
            "gc",
            "a",
            T0 + dt.timedelta(days=7),
            NOTICE.replace("3月5日", "3月12日").replace("3月4日", "3月11日"),
            mid="s1",
        ),
        msg(
            "gx",
            "e",
            T0 + dt.timedelta(days=7, minutes=5),
            NOTICE.replace("3月5日", "3月12日").replace("3月4日", "3月11日"),
            mid="s2",
        ),
        msg("gc", "a", T0 + dt.timedelta(days=8), NOTICE.replace("安全生产", "森林防火"), mid="s3"),
        msg("gc", "a", T0 + dt.timedelta(days=9), "收到", mid="r1"),
    ]
    mem = [
        member(g, p)
        for g, p in [
            ("gc", "a"),
            ("gc", "d"),
            ("gt1", "b"),
            ("gt1", "d"),
            ("gt2", "c1"),
            ("gv1", "d"),
            ("gx", "e"),
            ("gx", "a"),
        ]
    ]
    write_lake(workspace, ms, mem)
    res = run_analysis(workspace, steps=["dedup"])
    lake = workspace.lake()
    rows = lake.to_arrow(lake.table("notice_clusters")).to_pylist()
    by_cluster = collections.defaultdict(dict)
    for r in rows:
        by_cluster[r["cluster_id"]][r["message_id"]] = r["hop"]
    assert by_cluster["n0"] == {"n0": 0, "n1": 1, "n2": 1, "n3": 2, "n4": 2}
    assert by_cluster["s1"] == {"s1": 0, "s2": 1}  # sibling of the same date pair: its own cluster
    assert "s3" not in {m for c in by_cluster.values() for m in c}  # another subject: alone, not a cluster
    assert res.steps["dedup"]["clusters"] == 2
    hops = {h["hop"]: h for h in res.steps["dedup"]["delay_per_hop"]}
    assert hops[1]["copies"] == 3 and hops[2]["copies"] == 2
    copies = {
        (r["person_id"], r["cluster_id"]): r for r in lake.to_arrow(lake.table("notice_copies")).to_pylist()
    }
    assert copies[("d", "n0")]["copies"] == 4 and copies[("d", "n0")]["groups"] == 3  # gc, gt1, gv1 (twice)
    assert copies[("a", "s1")]["copies"] == 2


def test_duplicate_group_finding_for_overlapping_groups(workspace):
    _tree(workspace)
    ms = []
    for i in range(4):
        text = NOTICE.replace("3月5日", f"3月{10 + i}日").replace(
            "安全生产", ["防汛", "消防", "禁毒", "环保"][i]
        )
        ms.append(msg("gc", "a", T0 + dt.timedelta(days=i), text))
        ms.append(msg("gx", "e", T0 + dt.timedelta(days=i, minutes=3), "转发：" + text))
        if i < 2:  # gt1 gets only two of them: below min_shared_notices
            ms.append(msg("gt1", "b", T0 + dt.timedelta(days=i, minutes=9), text))
    mem = [
        member(g, p)
        for g, p in [
            ("gc", "a"),
            ("gc", "d"),
            ("gc", "f"),
            ("gx", "d"),
            ("gx", "f"),
            ("gx", "e"),
            ("gt1", "b"),
            ("gt1", "d"),
        ]
    ]
    write_lake(workspace, ms, mem)
    run_analysis(workspace, steps=["dedup"])
    with workspace.store.session() as s:
        fs = list(s.scalars(select(Finding).where(Finding.category == "DUPLICATE_GROUP")))
    assert len(fs) == 1
    f = fs[0]
    assert f.object_id == "gc+gx" and f.evidence["object_ids"] == ["gc", "gx"]
    assert f.evidence["metrics"] == {"shared_notices": 4, "shared_members": 2}
    assert f.evidence["message_count"] == 8
    assert "4 条相同通知" in f.title and f.policy["min_shared_notices"] == 3


def _pairs(labels):
    g = collections.defaultdict(list)
    for i, lab in enumerate(labels):
        g[lab].append(i)
    return {p for v in g.values() for p in itertools.combinations(v, 2)}


def test_accuracy_on_labelled_near_duplicates():
    """Forwarded copies (prefixes, signatures, closings, cut tails, full-width digits) vs template
    siblings (another date, place or subject): pairwise precision and recall ≥ 0.95."""
    rows = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 300
    for r in rows:
        r["key"] = r["id"]
    pred = cluster_records(rows)
    truth, got = _pairs([r["notice"] for r in rows]), _pairs(pred)
    tp = len(truth & got)
    precision, recall = tp / len(got), tp / len(truth)
    assert precision >= 0.95, precision
    assert recall >= 0.95, recall
    # siblings exist in the set: a plain 'same template' rule would fail precision
    assert len({r["notice"] for r in rows}) >= 60


def test_clustering_prenormalised_texts_gives_the_same_clusters(tmp_path):
    """``cluster_texts(normalise=False)`` on the texts normalised beforehand (what bench/detect.py
    gives datasketch and zhijian's clustering alone) forms the same clusters as the full run."""
    import pyarrow as pa

    from zhijian.analysis.neardup import Params, cluster_texts

    rows = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines()]
    keys = [r["id"] for r in rows]
    raw = [r["text"] for r in rows]
    norm = [normalise_python(x) for x in raw]

    def partition(texts, normalise):
        lake = Lake(tmp_path / f"n{int(normalise)}")
        items = lake.register(f"x{int(normalise)}", pa.table({"key": keys, "text": texts}))
        run = cluster_texts(lake, items, Params.from_policy(), normalise=normalise)
        got = lake.to_arrow(run.items.select("key", "comp")).to_pylist()
        lake.close()
        by = collections.defaultdict(set)
        for r in got:
            by[r["comp"]].add(r["key"])
        return {frozenset(v) for v in by.values() if len(v) > 1}

    full = partition(raw, True)
    assert len(full) >= 60
    assert partition(norm, False) == full
    assert partition(raw, False) != full  # the raw texts as their own normal form: prefixes kept


TRICKY = [
    "ＡＰＰ下载：请于３月５日前完成，QQ群 PDF 文件　见附件",
    "「张三：收到」收到请回复\n\t谢谢 @所有人\u2005 关于召开会议的通知——县委办",
    "转发：【重要】各乡镇：请认真落实！关于开展（试点）工作的通知（县应急局） 2026年3月2日",
    "各位： 请知悉。特此通知 望周知 —— 镇党政办\r\n",
    "Fw: ａｂｃ－－ＸＹＺ＠ｍａｉｌ 青山县卫健局",
    "各单位工作群一律不得要求打卡接龙[抱拳][玫瑰] [2026]",
    "",
]


def test_engine_and_python_normalisation_agree(tmp_path):
    """The gated table form (normalised), the expression form (normalise) and Python agree."""
    import pyarrow as pa

    from zhijian.analysis.neardup import normalised

    rows = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines()]
    texts = [r["text"] for r in rows] + TRICKY
    lake = Lake(tmp_path)
    t = lake.register("x", pa.table({"id": list(range(len(texts))), "text": texts}))
    got = lake.to_arrow(t.select("id", norm=normalise(t.text)).order_by("id")).to_pylist()
    gated = lake.to_arrow(normalised(t, "text", "norm").select("id", "norm").order_by("id")).to_pylist()
    want = [normalise_python(x) for x in texts]
    assert [g["norm"] for g in got] == want
    assert [g["norm"] for g in gated] == want
    first = want[len(rows)]  # TRICKY[0]: full-width letters and digits, ASCII lower case
    assert first.startswith("app下载") and "3月5日" in first and "qq群pdf" in first
    # WeChat's emoji codes are not text (a bracketed number is: it is a slot)
    assert want[len(rows) + 5] == "各单位工作群一律不得要求打卡接龙2026"
    lake.close()


def test_gate_literals_are_required_by_every_match():
    """A rule's gate may skip the regex only where it cannot match: every match contains a needle."""
    import re

    from zhijian.analysis.neardup import (
        _change_literals,
        _required_literals,
        dedup_policy,
        normalise_steps,
    )

    assert _required_literals("(a|b)+c") == {"c"}
    assert _required_literals("ab|cd") == {"ab", "cd"}
    assert _required_literals("(——|--|—)") == {"--", "—"}
    assert _required_literals("x?") is None and _required_literals("[^a]+") is None
    assert _required_literals("(?:abc){0,2}d") == {"d"}
    rows = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines()]
    texts = [r["text"] for r in rows] + TRICKY
    texts += ["a b c", "a  b", "a\tb", "a \u3000b", "\u2005", " "]
    gated = changed_gates = 0
    for step in normalise_steps():
        if step[0] != "replace" or not step[3]:
            continue
        gated += 1
        rx = re.compile(step[1])
        if _change_literals(step[1], step[2]):
            # a class run replaced by one of its characters: a text without a needle is unchanged
            changed_gates += 1
            for x in texts:
                if not any(n in x for n in step[3]):
                    assert rx.sub(step[2], x) == x, (step[1], x)
            continue
        for x in texts:
            for m in rx.finditer(x):
                if m.group(0):
                    assert any(n in m.group(0) for n in step[3]), (step[1], m.group(0))
    assert gated >= 5 and changed_gates == 1
    ws = next(s for s in normalise_steps() if s[0] == "replace" and "\t" in s[1])
    assert "  " in ws[3] and " " not in ws[3]  # a single space alone changes nothing
    assert _change_literals("[ab]+", "a") == {"b", "aa"}
    assert _change_literals("[ab]+", "") is None and _change_literals("[ab]+", "c") is None
    assert _change_literals("[ab]*", "a") is None and _change_literals("[^ab]+", "a") is None
    # a replacement is also gated by its own match-only search, except a class run (whitespace,
    # keep_text), which matches almost every text
    from zhijian.analysis.neardup import _class_run

    assert _class_run("[ \t]+") and _class_run("[^0-9a-z]+") and _class_run("a*")
    assert not _class_run("@[^ ]{1,20}( |$)") and not _class_run("[a]+b") and not _class_run("(ab)+")
    ids = [r["id"] for r in dedup_policy()["normalise"] if r["kind"] == "replace"]
    self_gated = dict(zip(ids, [s[4] for s in normalise_steps() if s[0] == "replace"], strict=True))
    assert not self_gated["whitespace"] and not self_gated["keep_text"]
    assert self_gated["forward_phrases"] and self_gated["signature_bare_unit"]
    # lower is fused into the full-width translation (one pass)
    kinds = [s[0] for s in normalise_steps()]
    assert kinds.count("translate") == 1 and len(kinds) == len(dedup_policy()["normalise"]) - 1


def test_code_point_shingles_match_python(tmp_path):
    """Shingles from split('') + ascii() equal the Python code-point 3-grams (first max_shingles)."""
    import pyarrow as pa

    from zhijian.analysis.neardup import P, Params, shingles

    p = Params.from_policy()
    texts = ["关于召开2026年第一季度安全生产工作会议的通知", "abc", "x" * 300, "〇一二三䶿鿿㐀"]
    lake = Lake(tmp_path)
    docs = lake.register(
        "d", pa.table({"doc": list(range(len(texts))), "norm": texts, "n": [len(x) for x in texts]})
    )
    got = collections.defaultdict(list)
    for r in lake.to_arrow(shingles(docs, p)).to_pylist():
        got[r["doc"]].append(r["x"])
    for i, x in enumerate(texts):
        want = [
            (ord(x[j]) * 2**42 + ord(x[j + 1]) * 2**21 + ord(x[j + 2])) % P
            for j in range(min(len(x) - 2, p.max_shingles))
        ]
        assert sorted(got[i]) == sorted(want), x
    lake.close()


def test_dedup_cli_jsonl(tmp_path):
    f = tmp_path / "in.jsonl"
    lines = [
        {"id": 1, "text": NOTICE},
        {"id": "x", "text": "转发：" + NOTICE},
        {"id": 3, "text": NOTICE.replace("3月5日", "3月6日")},
        {"id": 4, "text": "收到"},
        {"id": 5, "text": NOTICE[:60] + "……"},
    ]
    f.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "zhijian.cli", "dedup", "--jsonl", str(f)],
        capture_output=True,
        text=True,
        check=True,
    )
    got = [json.loads(x) for x in out.stdout.splitlines()]
    assert got == [
        {"id": 1, "cluster": 1},
        {"id": "x", "cluster": 1},
        {"id": 3, "cluster": 3},
        {"id": 4, "cluster": 4},
        {"id": 5, "cluster": 1},
    ]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "a"}\n{"id": 2}\n', encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "zhijian.cli", "dedup", "--jsonl", str(bad)], capture_output=True, text=True
    )
    assert r.returncode == 2 and "(line 2)" in r.stderr and "Traceback" not in r.stderr
    with pytest.raises(ImportFormatError):
        read_jsonl(tmp_path / "missing.jsonl")


def test_a_shared_beginning_of_template_siblings_is_ambiguous(tmp_path):
    """A text that begins two texts that are not one notice (siblings that differ after it) is found
    in text order, whether or not the candidate edges reach both siblings; a cut copy of one notice,
    also of a forward with a longer tail, is not."""
    import pyarrow as pa

    from zhijian.analysis.neardup import Params, _prefix_ambiguous

    shared = "关于做好2026年安全生产工作的通知为切实做好安全生产工作现就有关事项通知如下一提高思想认识二压实工作责任"
    a = shared + "三加强督查检查县政府将于10月下旬对各乡镇进行抽查"
    b = shared + "三加强督查检查县政府将于11月上旬对各村社区进行抽查"
    other = "关于开展防汛应急演练的通知定于6月5日上午9时在县水利局开展防汛应急演练请各乡镇分管领导准时参加"
    texts = {
        1: shared[:30],  # begins a, b and the shared beginning
        2: shared,  # begins a and b
        3: a,
        4: b,
        5: other[:32],  # a cut copy of one notice
        6: other,
        7: other + "请各单位按时参加",  # a forward with a tail: still one notice with `other`
        8: a[:-3],  # a cut copy of a only (after the slot that tells a and b apart)
    }
    lake = Lake(tmp_path)
    docs = lake.register(
        "d",
        pa.table({"doc": list(texts), "norm": list(texts.values()), "n": [len(x) for x in texts.values()]}),
    )
    got = {r["doc"] for r in lake.to_arrow(_prefix_ambiguous(docs, Params.from_policy())).to_pylist()}
    assert got == {1, 2}
    lake.close()


def test_a_copy_cut_into_the_words_that_tell_siblings_apart_joins_its_notice():
    """A copy cut a few characters into the subject that tells two siblings apart (within the
    characters the verification trims) holds more of the sibling it was cut from: it joins that
    notice and is not taken for the shared beginning of both."""
    head = "紧急通知据气象部门预报8月22日至25日我县将出现强降雨天气请各村社区立即启动"
    tail = "应急响应落实24小时值班值守制度联络员要在岗在位重大情况及时报告"
    a, b = head + "安全生产" + tail, head + "河湖长制" + tail
    texts = {"a": a, "a-cut": head + "安全生", "b": b, "b-forward": "转发：" + b}
    rows = [{"id": k, "key": k, "text": x} for k, x in texts.items()]
    got = dict(zip(texts, cluster_records(rows), strict=True))
    assert got["a-cut"] == got["a"]
    assert got["b-forward"] == got["b"] != got["a"]


def test_copies_signed_after_the_date_stay_with_their_notice():
    """Copies that differ only in what follows the notice (the office's signature, its date, then the
    forwarding village's name: the demo's 105-message notice that split 80 + 18 + 4 + 3) form one
    cluster, whichever texts the hash functions put first in a bucket: each copy has a candidate at
    least as long (the chain runs in slot-then-length order); a template sibling (another date) stays
    apart."""
    notice = (
        "关于做好雷暴大风防范应对工作的通知\n各乡镇、县直各单位：\n据气象部门预报，{d}前后我县将出现雷暴大风天气过程。"
        "请各乡镇加强值班值守，落实巡查责任，做好群众转移避险准备。遇重大情况按程序向县防汛办报告。"
    )
    villages = [
        "下峰社区",
        "东岗社区",
        "老湾社区",
        "金鸡镇",
        "杨柳乡",
        "石桥镇",
        "新店乡",
        "北山村",
        "后溪社区",
        "白沙乡",
        "小湾社区",
    ]
    rows = []
    for n, d in (("a", "6月25日"), ("b", "7月3日")):
        base = notice.format(d=d)
        texts = [
            base,
            "请各村认真落实。" + base,
            base + "\n青山县委办公室",
            base + "\n青山县委办公室\n2026年6月23日",
        ]
        texts += [f"{base}\n青山县委办公室\n2026年6月23日\n{v}" for v in villages]
        texts += [f"{base}{v}" for v in villages[:3]]
        rows += [{"id": f"{n}{i}", "key": f"{n}{i}", "text": t, "notice": n} for i, t in enumerate(texts)]
    pred = cluster_records(rows)
    by_notice = collections.defaultdict(set)
    for r, c in zip(rows, pred, strict=True):
        by_notice[r["notice"]].add(c)
    assert len(by_notice["a"]) == 1, by_notice
    assert len(by_notice["b"]) == 1, by_notice
    assert by_notice["a"] != by_notice["b"]
