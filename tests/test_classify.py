"""classify / flags in the engine (DuckDB), workspace overrides and `zhijian check`."""

from __future__ import annotations

import json

import ibis
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from zhijian.analysis.classify import classify, flags, load_pack
from zhijian.cli import app
from zhijian.lake import Lake
from zhijian.lake.schema import MESSAGE_FLAGS, MESSAGE_LABELS, SCHEMAS
from zhijian.rules.check import label_texts
from zhijian.rules.pack import builtin_pack


def labels_of(text: str, **kw) -> dict[str, str]:
    res = label_texts([{"text": text, **kw}], builtin_pack())[0]
    return {x["label"]: x["rule_id"] for x in res}


CASES = [
    ("@所有人，收到请回复", {"roll_call_demand"}),
    ("收到", {"roll_call_reply"}),
    ("1", {"roll_call_reply"}),
    ("收到👍", {"roll_call_reply"}),
    ("收到[抱拳]", {"roll_call_reply"}),
    ("3. 张三 已完成", {"roll_call_reply"}),
    ("「王主任：收到请回复」\n- - - - - - - - - - - - - - -\n收到", {"roll_call_reply"}),
    ("不得要求基层干部在工作群回复收到", {"normal"}),
    ("无须回复收到", {"normal"}),
    ("今天不用回复收到", {"normal"}),
    ("取消今日打卡", {"normal"}),
    ("今天还需要打卡吗？", {"normal"}),
    ("我有个工作群，群里的上级部门发消息，最后总会加一句‘收到请回复’", {"normal"}),
    ("请大家明早8点前到村委会打卡", {"checkin_demand"}),
    ("@所有人：紧急通知，今晚前报5张活动照片", {"proof_demand"}),
    ("请各村10分钟内回复", {"instant_response_demand", "roll_call_demand"}),
    ("请各单位于今天下午5点前将材料报送至党政办邮箱", {"data_request"}),
    ("请帮忙投个票", {"forward_like_demand"}),
    ("请大家下载国家反诈中心APP并完成注册", {"app_usage_demand"}),
    # traditional characters and full-width digits are normalised before matching
    ("收到請回覆", {"roll_call_demand"}),
    ("請各位１０分鐘內回覆", {"instant_response_demand", "roll_call_demand"}),
    # a prohibition governs its phrase only; the demand after the comma stands
    ("今天不用打卡，请于下午5点前报送材料", {"data_request"}),
    ("不要忘了打卡", {"checkin_demand"}),
    ("打卡时间不得晚于8:30，请大家每天按时打卡", {"checkin_demand"}),
]


@pytest.fixture(scope="module")
def case_labels() -> dict[str, set[str]]:
    """The labels of every case, classified in one query (each query compiles the whole pack)."""
    texts = [t for t, _ in CASES]
    res = label_texts([{"text": t} for t in texts], builtin_pack())
    return {t: {x["label"] for x in r} for t, r in zip(texts, res, strict=True)}


@pytest.mark.parametrize("text, expected", CASES)
def test_labels(text, expected, case_labels):
    assert case_labels[text] == expected


def test_jielong_entry_list_is_a_reply_and_its_header_not_a_new_demand():
    first = labels_of("#接龙\n请各位今晚8点前接龙报平安\n\n1. 张三")
    assert set(first) == {"roll_call_demand", "roll_call_reply"}
    later = labels_of("#接龙\n请各位今晚8点前接龙报平安\n\n1. 张三\n2. 李四\n3. 王五")
    assert set(later) == {"roll_call_reply"}


def test_kind_and_span_and_schema():
    t = ibis.memtable(
        pa.table(
            {
                "message_id": ["a", "b", "c", "d"],
                "text": ["收到请回复，今晚前报5张活动照片", "收到", None, "收到请回复"],
                "kind": ["text", "text", "image", "system"],
                "at_all": [True, False, False, False],
            }
        )
    )
    out = ibis.duckdb.connect().to_pyarrow(classify(t, builtin_pack()))
    assert out.schema.names == MESSAGE_LABELS.names
    rows = {(r["message_id"], r["label"]): r for r in out.to_pylist()}
    assert rows[("a", "roll_call_demand")]["span"] == "收到请回复"
    assert rows[("a", "proof_demand")]["rule_id"].startswith("pf.")
    assert ("a", "normal") not in rows
    assert rows[("b", "roll_call_reply")]["span"] == "收到"
    assert rows[("c", "normal")]["rule_id"] == "normal" and rows[("c", "normal")]["span"] is None
    assert set(k for k in rows if k[0] == "d") == {("d", "normal")}  # system messages are never demands


def test_flags_urgent_marker():
    t = ibis.memtable(
        pa.table(
            {
                "message_id": ["1", "2", "3", "4"],
                "text": ["紧急通知：今晚防汛值班", "非紧急不@", "明天开会", "安保工作部署"],
            }
        )
    )
    out = ibis.duckdb.connect().to_pyarrow(flags(t, builtin_pack()).order_by("message_id"))
    assert out.column("urgent").to_pylist() == [True, False, False, True]
    assert "message_flags" in SCHEMAS
    assert out.schema.names == MESSAGE_FLAGS.names


def test_lake_round_trip(tmp_path):
    lake = Lake(tmp_path / "lake")
    msgs = ibis.memtable(pa.table({"message_id": ["m1", "m2"], "text": ["请大家接龙", "好的"]}))
    n = lake.replace("message_labels", classify(msgs, load_pack(None)))
    assert n == 2
    n2 = lake.replace("message_flags", flags(msgs, load_pack(None)))
    assert n2 == 2
    got = lake.to_arrow(lake.table("message_labels")).to_pylist()
    assert {(r["message_id"], r["label"]) for r in got} == {
        ("m1", "roll_call_demand"),
        ("m2", "roll_call_reply"),
    }
    lake.close()


def test_workspace_rules_override_and_extend(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "county.yaml").write_text(
        "rules:\n"
        "  - id: rc.jielong\n    disabled: true\n"
        "  - id: county.qiandao_app\n    label: checkin_demand\n    pattern: '云签到'\n"
        "    source: 本县规定 2026\n"
        "  - id: ci.daka\n    label: checkin_demand\n    pattern: '打卡打卡'\n    source: test override\n",
        encoding="utf-8",
    )
    pack = load_pack(tmp_path)
    ids = [r.id for r in pack.rules]
    assert "rc.jielong" not in ids and "county.qiandao_app" in ids
    assert ids.index("ci.daka") < ids.index("county.qiandao_app")  # overridden in place
    res = label_texts(
        [{"text": "请大家接龙"}, {"text": "今天用云签到"}, {"text": "请大家明早8点前打卡"}], pack
    )
    assert [{x["label"] for x in r} for r in res] == [{"normal"}, {"checkin_demand"}, {"normal"}]
    assert load_pack(tmp_path / "nowhere") is builtin_pack()


def test_check_cli(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["check", "@所有人，收到请回复"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["labels"] == [
        {"label": "roll_call_demand", "rule_id": "rc.shoudao_huifu", "span": "收到请回复"}
    ]

    f = tmp_path / "in.jsonl"
    f.write_text(
        '{"text": "收到", "id": 7}\n\n{"text": "不得要求打卡"}\n{"text": "请帮忙投个票"}\n', encoding="utf-8"
    )
    r = runner.invoke(app, ["check", "--jsonl", str(f)])
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in r.output.splitlines()]
    assert [x.get("id") for x in lines] == [7, None, None]
    assert [[lab["label"] for lab in x["labels"]] for x in lines] == [
        ["roll_call_reply"],
        ["normal"],
        ["forward_like_demand"],
    ]


def test_check_cli_bad_input(tmp_path):
    from zhijian.cli import main

    f = tmp_path / "bad.jsonl"
    f.write_text('{"text": "收到"}\n{"txt": "x"}\n', encoding="utf-8")
    import subprocess
    import sys

    p = subprocess.run(
        [sys.executable, "-c", "from zhijian.cli import main; main()", "check", "--jsonl", str(f)],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2
    assert "第 2 行" in p.stderr and "Traceback" not in p.stderr
    assert main  # imported for the entry point


def test_workspace_mask_that_deletes_text_is_not_gated_out(tmp_path):
    """A mask that deletes text can join two pieces into a literal a rule needs ("打#卡" -> "打卡"), so
    the literal gate of the view must not skip such rows (compiler.view_gate)."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "county.yaml").write_text(
        "masks:\n"
        "  - id: county.strip_hash\n    view: demand\n    pattern: '#'\n    replace: ''\n"
        "    source: a county's exports that put a hash sign inside words (test)\n",
        encoding="utf-8",
    )
    pack = load_pack(tmp_path)
    text = "大家一键#三连"  # the rule's only literal (一键三连) appears only once the mask has run
    assert {x["label"] for x in label_texts([{"text": text}], pack)[0]} == {"forward_like_demand"}
    assert {x["label"] for x in label_texts([{"text": text}], builtin_pack())[0]} == {"normal"}
