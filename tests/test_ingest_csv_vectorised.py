"""The WeChatMsg/留痕, MemoTrace and generic (``--map``) CSV readers map a file in SQL
(``common.csv_vectorised``) when every record maps there exactly as the Python loop maps it, and leave
the file to the Python loop otherwise. Both ways must give the same messages and the same summary, on
generated files full of what real exports hold: recalled messages and WeChatMsg's re-edit link, quote
and app messages, @mentions and @所有人, system messages without a sender, white space around names
and cells, multi-line texts, blank lines, a BOM, GB18030 or tabs; epoch seconds, milliseconds and
local times. A file with one record of another shape (a time in another form, a type that is not a
number) is read by the Python loop."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

import zhijian.ingest.generic as generic
import zhijian.ingest.wechat as wechat
from import_helpers import import_and_read

TEXTS = [
    "收到", "请各位今天报数", "紧急通知\n多行\r\n内容", "", " ", "\u3000\u2005", 'a\\b "q" ,x',
    "👍", '<revokemsg>"张三" 撤回了一条消息</revokemsg>', '"李四" 撤回了一条消息', "revokemsg",
    '你撤回了一条消息 \u3000<a href="weixin://revoke_edit_click">重新编辑</a>',
    "请@张三\u2005@李四\u2005@张三\u2005今天报数", "@所有人\u2005明天开会", "@王五\u3000x 收到",
    "<msg><appmsg><title>#接龙\n1. 张三</title></appmsg></msg>", "x" * 300,
]  # fmt: skip
NAMES = ["wxid_a", "wxid_b", "", " wxid_c\u3000", "\u2005王五", "张三"]


def _wechatmsg_record(rnd: random.Random, i: int, odd: bool) -> list[str]:
    typ, sub = rnd.choice([(1, 0), (3, 0), (34, 0), (43, 0), (47, 0), (49, 53), (49, 6), (49, 19), (49, 99),
                           (10000, 0), (10002, 0), (1, 0)])  # fmt: skip
    t, s = str(typ), str(sub)
    if rnd.random() < 0.05:
        t = rnd.choice(["01", "-1", ""])
    if rnd.random() < 0.05:
        s = ""
    ct = str(1700000000 + i * 37)
    if odd and rnd.random() < 0.01:
        k = rnd.randrange(3)
        ct, t = [(" 1700000000", t), ("", t), (ct, "文本")][k]
    return [
        str(i), "5", t, s, rnd.choice(["0", "1", " 1 ", "", "\u30001"]), ct, "",
        rnd.choice(TEXTS), "2023-11-15 09:20:34", rnd.choice(["", "王科长", " 备注 "]),
        rnd.choice(["", "王某某", "\u2005李四 "]), rnd.choice(NAMES),
    ]  # fmt: skip


def _memotrace_record(rnd: random.Random, i: int, odd: bool) -> list[str]:
    tm = f"2024-05-06 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
    if rnd.random() < 0.1:
        tm = tm[:16]
    if rnd.random() < 0.1:  # as Excel re-saves it
        tm = f"2024/5/6 {i // 3600 % 24}:{i // 60 % 60:02d}" + rnd.choice(["", f":{i % 60:02d}"])
    if odd and rnd.random() < 0.01:
        tm = rnd.choice(
            ["2024-5-6 9:05", " 2024-05-06 09:00:00", "昨天", "2024/2/30 9:05", "2024-02-30 09:05:00"]
        )
    if odd and rnd.random() < 0.005:
        return ["７４３７２６７１４７２", "文本", "张三", tm, "全角数字的消息ID", "", "", ""]
    return [
        rnd.choice([str(7437267147299592543 + i), "", "123", " 74372671472995 ", "7.43727E+18"]),
        rnd.choice(["文本", "图片", "系统消息", "消息撤回", " 文本", "引用回复", "未知类型", ""]),
        rnd.choice(NAMES), tm, rnd.choice(TEXTS), rnd.choice(["", "王科长", " 备注 "]),
        rnd.choice(["", "王某某", "\u2005李四 "]), "more",
    ]  # fmt: skip


HEADERS = {
    "wechatmsg_csv": [
        "localId", "TalkerId", "Type", "SubType", "IsSender", "CreateTime", "Status", "StrContent", "StrTime",
        "Remark", "NickName", "Sender",
    ],
    "memotrace_csv": ["消息ID", "类型", "发送人", "时间", "内容", "备注", "昵称", "更多信息"],
}  # fmt: skip
RECORDS = {"wechatmsg_csv": _wechatmsg_record, "memotrace_csv": _memotrace_record}


def _write(path: Path, fmt: str, n: int, seed: int, *, odd=False, encoding="utf-8", blank=False) -> Path:
    rnd = random.Random(seed)
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADERS[fmt])
        for i in range(1, n + 1):
            rec = RECORDS[fmt](rnd, i, odd)
            if encoding == "gb18030":
                rec = [c.replace("👍", "赞") for c in rec]
            w.writerow(rec)
            if blank and i % 97 == 0:
                f.write("\r\n")
    return path


def _both(tmp_path, monkeypatch, path: Path, fmt: str, mapping=None):
    used: list[bool] = []
    module = generic if fmt.startswith("generic") else wechat
    attr = "_jsonl_vectorised" if fmt == "generic_jsonl" else "csv_vectorised"
    real = getattr(module, attr)

    def spy(*a, **k):
        r = real(*a, **k)
        used.append(r is not None)
        return r

    fast = import_and_read(tmp_path, "fast", path, fmt, monkeypatch, [(module, attr, spy)], mapping)
    slow = import_and_read(
        tmp_path, "slow", path, fmt, monkeypatch, [(module, attr, lambda *a, **k: None)], mapping
    )
    assert fast[0] == slow[0]
    assert fast[1].astype(str).equals(slow[1].astype(str))
    return fast, used


@pytest.mark.parametrize("fmt", ["wechatmsg_csv", "memotrace_csv"])
@pytest.mark.parametrize("variant", ["plain", "bom", "gbk", "blank_lines"])
def test_sql_mapping_equals_the_python_loop(tmp_path, monkeypatch, fmt, variant):
    name = {"wechatmsg_csv": "东镇工作群_utf8.csv", "memotrace_csv": "防汛工作群.csv"}[fmt]
    enc = {"bom": "utf-8-sig", "gbk": "gb18030"}.get(variant, "utf-8")
    path = _write(tmp_path / name, fmt, 3000, seed=len(variant), encoding=enc, blank=variant == "blank_lines")
    (summary, msgs), used = _both(tmp_path, monkeypatch, path, fmt)
    assert used == [True]
    assert summary["messages"] > 2000 and msgs["kind"].nunique() >= 5 and summary["skipped_count"] == 0
    assert (msgs["kind"] == "recall").any() and msgs["at_all"].any() and msgs["mentions"].map(len).max() == 2
    assert msgs["sender_id"].isna().any() and msgs["sender_name"].isna().any()
    # WeChatMsg drops its re-edit link; MemoTrace keeps the text as written
    assert msgs["text"].str.contains("revoke_edit_click").any() == (fmt == "memotrace_csv")


@pytest.mark.parametrize("fmt", ["wechatmsg_csv", "memotrace_csv"])
def test_a_record_of_another_shape_leaves_the_file_to_python(tmp_path, monkeypatch, fmt):
    path = _write(tmp_path / "群.csv", fmt, 3000, seed=9, odd=True)
    (summary, _msgs), used = _both(tmp_path, monkeypatch, path, fmt)
    assert used == [False]
    assert summary["messages"] > 2000


GENERIC_MAP = {
    "ts": "时间", "text": "内容", "sender": "发送人", "sender_name": "昵称", "group": "群", "group_name": "群名称",
    "kind": "类型", "message_id": "消息ID", "reply_to": "回复",
}  # fmt: skip


def _generic_record(rnd: random.Random, i: int, odd: bool) -> list[str]:
    base = 1714957200 + i * 31
    ts = rnd.choice([str(base), str(base * 1000 + i % 1000), "2024-05-06 09:12:00", "2024-05-06T09:12",
                     " 2024-05-06 09:12:05 ", "2024/5/6 9:05", "2024/12/16 23:05:59", "2024-05-06T09:12:07",
                     "2024-05-06 09:12"])  # fmt: skip
    if odd and rnd.random() < 0.01:
        ts = rnd.choice(
            [
                "2024-5-6T9:05",
                "1714957200.5",
                "2024-05-06T09:12:00+08:00",
                "昨天",
                "9999999999",
                "2024-13-06 09:12:00",
                "2024-02-30T09:12",
            ]
        )
    return [
        ts, rnd.choice(TEXTS), rnd.choice(NAMES), rnd.choice(["", "王某某", "\u2005李四 "]),
        rnd.choice(["", "群A", " 群B ", "\u3000"]), rnd.choice(["", "A 群", " 名称 "]),
        rnd.choice(["", "文本", "图片", "image", "IMAGE", " Link ", "红包", "系统", "撤回"]),
        rnd.choice(["", str(9000 + i), f" m{i} "]), rnd.choice(["", "", "m1"]), "x",
    ]  # fmt: skip


HEADERS["generic_csv"] = ["时间", "内容", "发送人", "昵称", "群", "群名称", "类型", "消息ID", "回复", "其他"]
RECORDS["generic_csv"] = _generic_record


@pytest.mark.parametrize("variant", ["plain", "gbk", "tabs", "blank_lines"])
def test_generic_csv_sql_mapping_equals_the_python_loop(tmp_path, monkeypatch, variant):
    enc = "gb18030" if variant == "gbk" else "utf-8"
    path = _write(
        tmp_path / "钉钉群.csv", "generic_csv", 3000, seed=3, encoding=enc, blank=variant == "blank_lines"
    )
    if variant == "tabs":
        rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
        with path.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f, delimiter="\t").writerows(rows)
    (summary, msgs), used = _both(tmp_path, monkeypatch, path, "generic_csv", mapping=GENERIC_MAP)
    assert used == [True]
    assert summary["messages"] > 2000 and msgs["kind"].nunique() >= 5 and summary["skipped_count"] == 0
    assert msgs["at_all"].any() and msgs["mentions"].map(len).max() == 2 and summary["groups"] >= 3
    assert msgs["reply_to"].notna().any() and msgs["sender_id"].isna().any()


def test_generic_csv_record_of_another_shape_leaves_the_file_to_python(tmp_path, monkeypatch):
    path = _write(tmp_path / "钉钉群.csv", "generic_csv", 3000, seed=4, odd=True)
    (summary, _msgs), used = _both(tmp_path, monkeypatch, path, "generic_csv", mapping=GENERIC_MAP)
    assert used == [False]
    assert summary["messages"] > 2000


JSONL_MAP = {
    "ts": "createAt", "text": "text.content", "sender": "senderStaffId", "sender_name": "senderNick",
    "group": "conversationTitle", "kind": "msgtype", "message_id": "msgId",
}  # fmt: skip


def _jsonl_record(rnd: random.Random, i: int, odd: bool) -> dict | str:
    base = 1714957200 + i * 31
    rec: dict = {
        "msgId": rnd.choice([f"msg{i}", f" m{i} ", None]),
        "createAt": rnd.choice(
            [base * 1000 + i % 1000, base, str(base), f" {base * 1000} ", "2024-05-06 09:12:05"]
        ),
        "conversationTitle": rnd.choice(["钉钉防汛群", " 群B ", "", None]),
        "senderStaffId": rnd.choice(["s001", " s002 ", "", None]),
        "senderNick": rnd.choice(["张三", "\u2005李四 ", None]),
        "text": rnd.choice([{"content": rnd.choice(TEXTS)}, {"content": None}, {}, "纯文本"]),
        "msgtype": rnd.choice(["text", "", "picture", "file", "文本"]),
    }
    for k in list(rec):
        if rec[k] is None and rnd.random() < 0.5:
            del rec[k]
    if odd and rnd.random() < 0.01:
        k = rnd.randrange(4)
        if k == 0:
            rec["senderStaffId"] = 12345
        elif k == 1:
            rec["createAt"] = 1714957200.5
        elif k == 2:
            return "[1, 2]"
        else:
            return '{"broken": '
    return rec


def _write_jsonl(path: Path, n: int, seed: int, *, odd=False, encoding="utf-8") -> Path:
    rnd = random.Random(seed)
    with open(path, "w", encoding=encoding) as f:
        for i in range(1, n + 1):
            rec = _jsonl_record(rnd, i, odd)
            line = rec if isinstance(rec, str) else json.dumps(rec, ensure_ascii=False)
            if encoding == "gb18030":
                line = line.replace("👍", "赞")
            f.write(line + "\n")
            if i % 101 == 0:
                f.write("\n")
    return path


@pytest.mark.parametrize("variant", ["plain", "gbk"])
def test_generic_jsonl_sql_mapping_equals_the_python_loop(tmp_path, monkeypatch, variant):
    enc = "gb18030" if variant == "gbk" else "utf-8"
    path = _write_jsonl(tmp_path / "robot.jsonl", 3000, seed=5, encoding=enc)
    (summary, msgs), used = _both(tmp_path, monkeypatch, path, "generic_jsonl", mapping=JSONL_MAP)
    assert used == [True]
    assert summary["messages"] > 2000 and msgs["kind"].nunique() >= 3 and summary["skipped_count"] == 0
    assert msgs["at_all"].any() and msgs["mentions"].map(len).max() == 2 and summary["groups"] >= 3
    assert (msgs["text"] == "").any() and msgs["sender_id"].isna().any()


def test_generic_jsonl_record_of_another_shape_leaves_the_file_to_python(tmp_path, monkeypatch):
    path = _write_jsonl(tmp_path / "robot.jsonl", 3000, seed=6, odd=True)
    (summary, _msgs), used = _both(tmp_path, monkeypatch, path, "generic_jsonl", mapping=JSONL_MAP)
    assert used == [False]
    assert summary["messages"] > 2000 and summary["skipped_count"] > 0


def test_memotrace_id_beyond_ascii_maps_in_sql(tmp_path, monkeypatch):
    """One record whose id is written in full-width digits, among regular ones: no server id to
    either reader (ASCII digits only), so both give it a content hash and the SQL maps the file."""
    path = _write(tmp_path / "群.csv", "memotrace_csv", 500, seed=3)
    with open(path, "a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerow(
            ["７４３７２６７１４７２", "文本", "张三", "2024-05-06 09:00:00", "全角", "", "", ""]
        )
    (summary, msgs), used = _both(tmp_path, monkeypatch, path, "memotrace_csv")
    assert used == [True]
    assert summary["skipped_count"] == 0 and (msgs["text"] == "全角").sum() == 1
