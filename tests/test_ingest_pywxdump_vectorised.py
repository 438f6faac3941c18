"""The PyWxDump JSON reader's vectorised path (the array cut into pieces, DuckDB's JSON reader + the
SQL mapping the CSV reader uses) must give exactly what the streaming reader gives: same messages,
same chats, same summary, on generated files full of what real exports hold (recalled messages,
quote replies, @mentions, system messages, ids as strings and as integers, Unicode spaces around
names, every time format), pretty-printed or minified, with a BOM or in GB18030. A file with one
record of another shape (a numeric time, a missing talker, a message that is not a string, an
element that is not an object) or with broken JSON is read by the streaming reader."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

import zhijian.ingest.jsonscan as jsonscan
import zhijian.ingest.wechat as wechat
from import_helpers import import_and_read, spied_import
from zhijian.errors import ImportFormatError
from zhijian.ingest import import_paths
from zhijian.workspace import init_workspace

TEXTS = [
    "收到", "请各位今天报数", "紧急通知\n多行\r\n内容", "", " ", "\u3000\u2005", 'a\\b "q" ]}',
    "👍", "<revokemsg>\"张三\" 撤回了一条消息</revokemsg>", "撤回了一条消息", "revokemsg", "</revokemsg>x",
    "好的\n\n[引用](2024-10-04 11:43:05)张三:原来的话", "请@张三\u2005@李四\u2005@张三\u2005今天报数",
    "@所有人\u2005明天开会", "@王五\u3000x 收到", "x" * 300,
]  # fmt: skip
TYPES = [
    "文本",
    "图片",
    "引用回复",
    "消息撤回",
    " 消息撤回",
    "系统通知",
    "合并转发的聊天记录",
    "接龙",
    "未知类型",
    "",
]
TALKERS = ["wxid_a", "wxid_b", "系统", " wxid_c\u3000", "\u2005wxid_d", "张三"]
ROOMS = ["1001@chatroom", "1002@chatroom", "", None, " 1003@chatroom "]
TIMES = [
    "2024-10-04 11:43:05", "2024/10/04 11:43:05", "2024/10/4 9:05", "2024-10-04 11:43", "2024-10-04T11:43:05",
    " 2024-10-05 08:00:00 ",
]  # fmt: skip


def _record(rnd: random.Random, i: int, odd: bool) -> object:
    rec = {
        "id": i,
        "MsgSvrID": rnd.choice(
            [
                str(7437267147299592543 + i),
                7437267147299592543 + i,
                "123",
                "",
                None,
                " 74372671472995 ",
                f"00{i:08d}",
                "7.43727E+18",
                "+7437267147",
            ]
        ),
        "type_name": rnd.choice(TYPES),
        "is_sender": rnd.randint(0, 1),
        "talker": rnd.choice(TALKERS),
        "room_name": rnd.choice(ROOMS),
        "msg": rnd.choice(TEXTS),
        "src": "",
        "CreateTime": rnd.choice(TIMES),
    }
    if rnd.random() < 0.2:
        del rec["room_name"]
    if odd and rnd.random() < 0.02:
        k = rnd.randrange(6)
        if k == 0:
            rec["CreateTime"] = 1728013385
        elif k == 1:
            del rec["talker"]
        elif k == 2:
            rec["msg"] = rnd.choice([5, True, None, {"a": 1}])
        elif k == 3:
            del rec["msg"]
            rec["content"] = {"msg": "从 content 来的文字"}
        elif k == 4:
            rec["CreateTime"] = "昨天"
        else:
            return rnd.choice([5, "x", None, ["y"]])
    return rec


def _write(
    path: Path, n: int, seed: int, *, odd: bool = False, indent: int | None = 2, encoding="utf-8"
) -> Path:
    rnd = random.Random(seed)
    recs = [_record(rnd, i, odd) for i in range(1, n + 1)]
    if indent is None:
        text = json.dumps(recs, ensure_ascii=False)
    else:  # PyWxDump's layout: one object per element, the comma at the start of the next line
        text = "[\n" + "\n,".join(json.dumps(r, ensure_ascii=False, indent=indent) for r in recs) + "\n]\n"
    if encoding == "gb18030":
        text = text.replace("👍", "赞")
    path.write_text(text, encoding=encoding)
    return path


def _import(tmp: Path, name: str, path: Path, *, vectorised: bool, monkeypatch):
    return spied_import(
        tmp,
        name,
        path,
        "pywxdump_json",
        monkeypatch,
        reader=(wechat, "_pywxdump_json_vectorised"),
        copy=(jsonscan, "copy_range"),
        vectorised=vectorised,
    )


def _same(tmp_path, monkeypatch, path: Path, *, fast_expected: bool = True):
    monkeypatch.setattr(jsonscan, "PIECE_MIN_BYTES", 4096)  # several pieces, as a large file is read
    fast, fast_msgs, used = _import(tmp_path, "a", path, vectorised=True, monkeypatch=monkeypatch)
    slow, slow_msgs, _ = _import(tmp_path, "b", path, vectorised=False, monkeypatch=monkeypatch)
    assert [u for u in used if u != "piece"] == [fast_expected]
    assert fast == slow
    assert fast_msgs.astype(str).equals(slow_msgs.astype(str))
    return fast, fast_msgs, used.count("piece")


@pytest.mark.parametrize("name", ["pretty", "minified", "bom", "gbk"])
def test_vectorised_equals_streaming(tmp_path, monkeypatch, name):
    path = tmp_path / "wxid_me_0_1.json"
    if name == "pretty":
        _write(path, 3000, seed=1)
    elif name == "minified":
        _write(path, 1000, seed=2, indent=None)
    elif name == "bom":
        _write(path, 800, seed=3, encoding="utf-8-sig")
    else:
        _write(path, 800, seed=4, encoding="gb18030")
    summary, msgs, pieces = _same(tmp_path, monkeypatch, path)
    assert summary["messages"] > 500 and msgs["kind"].nunique() >= 5
    assert (msgs["kind"] == "recall").any() and msgs["at_all"].any() and msgs["mentions"].map(len).max() == 2
    assert (pieces == 1) if name == "minified" else (pieces > 1)


def test_records_of_another_shape_use_the_streaming_reader(tmp_path, monkeypatch):
    path = _write(tmp_path / "wxid_me_0_2.json", 2000, seed=5, odd=True)
    summary, msgs, _ = _same(tmp_path, monkeypatch, path, fast_expected=False)
    reasons = {s["reason"] for s in summary["skipped"]}
    assert "缺少 talker" in reasons and "不是 JSON 对象" in reasons
    assert (msgs["text"] == "从 content 来的文字").any()


def test_broken_json_falls_back_and_names_the_place(tmp_path, monkeypatch):
    path = _write(tmp_path / "wxid_me_0_3.json", 400, seed=6)
    path.write_text(path.read_text(encoding="utf-8")[:-20], encoding="utf-8")
    with pytest.raises(ImportFormatError) as e:
        import_paths(init_workspace(tmp_path / "ws"), [path], fmt="pywxdump_json")
    assert "第" in e.value.where


@pytest.mark.parametrize("stem", ["wxid_me_0_4", " wxid_me_0_5\u3000"])
def test_csv_reader_equals_the_python_mapping(tmp_path, monkeypatch, stem):
    """The CSV reader maps in SQL and strips the white space around rooms and talkers afterwards, on
    their distinct values (``wechat._strip_names``); the ids, type names and times only where they do
    not map as written. The same records as a JSON file read by the streaming reader (the Python
    mapping, ``_pywxdump_row``) give the same messages and the same summary — also for a file whose
    own name has white space around it, the chat of the records without a room."""
    rnd = random.Random(7)
    header = ["id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "msg", "src", "CreateTime"]
    recs = []
    for i in range(1, 1501):
        r = _record(rnd, i, odd=False)
        recs.append({h: "" if r.get(h) is None else str(r.get(h)) for h in header})
    csv_path = tmp_path / f"{stem}.csv"
    with open(csv_path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows([r[h] for h in header] for r in recs)
    json_dir = tmp_path / "json"
    json_dir.mkdir()
    json_path = json_dir / f"{stem}.json"
    json_path.write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")
    fast, fast_msgs = import_and_read(tmp_path, "csv", csv_path, "pywxdump_csv", monkeypatch)
    slow, slow_msgs, used = _import(tmp_path, "json", json_path, vectorised=False, monkeypatch=monkeypatch)
    for d in (fast, slow):
        for k in ("format", "formats", "files"):
            d.pop(k)
    assert fast == slow
    assert (fast_msgs["source"] == "pywxdump_csv").all()
    cols = [c for c in fast_msgs.columns if c != "source"]
    assert fast_msgs[cols].astype(str).equals(slow_msgs[cols].astype(str))
    # what the stripping had to do was there to be done
    assert (fast_msgs["kind"] == "system").any() and fast_msgs["sender_id"].isna().any()
    chats = set(fast_msgs["group_id"])
    assert len(chats) == 4


def test_id_beyond_ascii_maps_in_sql(tmp_path, monkeypatch):
    """One id in full-width digits among regular records: no server id to either reader (ASCII
    digits only), so the SQL reads the file and both give that record a content hash."""
    path = _write(tmp_path / "wxid_me_0_4.json", 300, seed=8)
    recs = json.loads(path.read_text(encoding="utf-8"))
    recs[7]["MsgSvrID"] = "７４３７２６７１４７２９９"
    path.write_text(json.dumps(recs, ensure_ascii=False, indent=2), encoding="utf-8")
    _same(tmp_path, monkeypatch, path)
