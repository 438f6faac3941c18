"""The WeCom archive reader's vectorised path (DuckDB's JSON reader + SQL) must give exactly what the
record-by-record reader gives: same messages, same skipped records with the same lines, on the
fixtures and on generated files full of odd records (non-objects, switch logs, missing or mistyped
fields, every msgtype, mentions with Unicode spaces, duplicates, blank lines). The reader takes only
the fields it maps, and the whole records of the records that need more (no msgtype, links, votes, an
unknown msgtype) in a second read; a file with an element that is not an object is read with whole
records throughout, and a file DuckDB cannot read at all (broken JSON) falls back to the
record-by-record reader, which names the bad line."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zhijian.ingest.wecom as wecom
from import_helpers import import_and_read

SYN = Path(__file__).parent / "data" / "exports" / "wecom"

TYPES = ["text"] * 10 + [
    "image", "file", "revoke", "agree", "disagree", "emotion", "voice", "video", "card", "note", "link", "weapp",
    "mixed", "chatrecord", "vote", "todo", "markdown", "news", "docmsg", "meeting", "location", "unknownx",
    "redpacket", "solitaire", "qydiskfile", "meeting_notification",
]  # fmt: skip
TEXTS = [
    "收到", "请@张三\u2005今天报数", "@所有人 紧急通知", "@李四\u3000x 你好", "hello @王五 there\n@赵六", "",
    "@all 请回复", "@张三\u2005@张三\u2005重复", "多行\n消息\r\n内容", "@长名字" + "甲" * 40 + " x", "a\\b \"q\"",
]  # fmt: skip


def _record(rnd: random.Random, i: int, non_objects: bool = True):
    r = rnd.random() if non_objects else rnd.uniform(0.02, 1)
    if r < 0.005:
        return [1, {"a": 2}]
    if r < 0.01:
        return 5
    if r < 0.02:
        return "string"
    if r < 0.03:
        return {"action": "switch", "time": 1, "user": "u"}
    if r < 0.035:
        return {"time": 1, "user": "u", "msgid": "x"}
    mt = rnd.choice(TYPES)
    o = {
        "msgid": f"m{i % 1500}" if rnd.random() > 0.02 else rnd.choice([123, "", None, ["a"]]),
        "action": rnd.choice(["send"] * 8 + ["recall", None, 5]),
        "from": rnd.choice(["zhangsan", "lisi", "", None, 42, '张"三', "a\\b", "é"]),
        "tolist": rnd.choice([["a", "b"], ["b", "zhangsan"], [], None, "ab", [1, "x"], 7, {"a": 1}]),
        "roomid": rnd.choice(["wrA"] * 5 + ["", None, 7, 'wr"B', "wr\\C", "群\n名"]),
        "msgtime": rnd.choice(
            [1603875609704 + i * 1000] * 8 + [1603875609704.5, "1603875609704", None, -1, 9e12]
        ),
        "msgtype": mt if rnd.random() > 0.02 else rnd.choice([None, 3, ""]),
    }
    if rnd.random() < 0.02:
        del o["msgtype"]
    key = {"markdown": "info", "news": "info", "docmsg": "doc"}.get(mt, mt)
    p: dict = {}
    if mt == "text":
        p = {"content": rnd.choice([*TEXTS, None, 12, {"a": 1}])}
    elif mt == "file":
        p = {"filename": rnd.choice(["a.xlsx", None, "", 3])}
    else:
        for k in ("content", "title", "text", "filename", "link_url", "description", "item"):
            if rnd.random() < 0.3:
                p[k] = rnd.choice([*TEXTS, None, 0, 1, [{"type": "text", "content": "x"}]])
    o[key] = p if rnd.random() > 0.03 else rnd.choice(["str", None, [1]])
    if rnd.random() < 0.01:
        o.pop("msgtime")
    return o


def _write(path: Path, n: int, seed: int, non_objects: bool = True) -> Path:
    rnd = random.Random(seed)
    recs = [_record(rnd, i, non_objects) for i in range(n)]
    if path.suffix == ".jsonl":
        with path.open("w", encoding="utf-8") as f:
            for r in recs:
                f.write(json.dumps(r, ensure_ascii=rnd.random() < 0.5) + "\n")
                if rnd.random() < 0.01:
                    f.write("\n")
    else:
        path.write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")
    return path


def _import(tmp: Path, name: str, path: Path, *, vectorised: bool, monkeypatch, reads: list | None = None):
    used: list[bool] = []
    real = wecom._wecom_vectorised
    real_read = wecom._read

    def spy(*a, **k):
        r = real(*a, **k)
        used.append(r is not None)
        return r

    def read_spy(*a, fields: bool, **k):
        r = real_read(*a, fields=fields, **k)
        if reads is not None:
            reads.append(("fields" if fields else "whole", r))
        return r

    patches = [
        (wecom, "_wecom_vectorised", spy if vectorised else (lambda *a, **k: None)),
        (wecom, "_read", read_spy),
    ]
    d, msgs = import_and_read(tmp, name, path, "wecom_json", monkeypatch, patches)
    return d, msgs, used


@pytest.mark.parametrize(
    "name",
    [
        "archive.jsonl",
        "archive_array.json",
        "gen.jsonl",
        "gen.json",
        "gen_unique.jsonl",
        "objects.jsonl",
        "objects.json",
    ],
)
def test_vectorised_equals_record_by_record(tmp_path, monkeypatch, name):
    if name.startswith(("gen", "objects")):
        n = 3000 if "unique" not in name else 1400
        path = _write(tmp_path / name, n, seed=len(name), non_objects=name.startswith("gen"))
    else:
        path = SYN / name
    reads: list = []
    fast, fast_msgs, used = _import(
        tmp_path, "a", path, vectorised=True, monkeypatch=monkeypatch, reads=reads
    )
    slow, slow_msgs, _ = _import(tmp_path, "b", path, vectorised=False, monkeypatch=monkeypatch)
    assert used == [True]  # the vectorised path really ran
    # DuckDB reads the fields (and the whole records that need more: links, votes, unknown msgtypes,
    # no msgtype, which the generated files hold) unless an element is not an object
    assert reads == ([("fields", False), ("whole", True)] if name.startswith("gen") else [("fields", True)])
    assert fast == slow
    assert fast_msgs.astype(str).equals(slow_msgs.astype(str))
    assert len(fast_msgs) > 0


def test_records_left_to_python_reach_duckdb_alike_as_arrow_or_list_parameters(tmp_path, monkeypatch):
    """common.convert_staged hands a small batch of converted records to DuckDB as list parameters
    and a large one as an Arrow table: both give the record-by-record reader's messages."""
    from zhijian.ingest import common

    path = _write(tmp_path / "gen.jsonl", 3000, seed=8, non_objects=True)
    slow, slow_msgs, _ = _import(tmp_path, "b", path, vectorised=False, monkeypatch=monkeypatch)
    for rows in (0, 1 << 30):
        monkeypatch.setattr(common, "STAGED_LIST_ROWS", rows)
        fast, fast_msgs, used = _import(tmp_path, f"a{rows}", path, vectorised=True, monkeypatch=monkeypatch)
        assert used == [True]
        assert fast == slow
        assert fast_msgs.astype(str).equals(slow_msgs.astype(str))


def test_broken_json_falls_back_and_names_the_line(tmp_path, monkeypatch):
    good = '{"msgid": "m1", "msgtype": "text", "msgtime": 1603875609704, "roomid": "r", "from": "a", "text": {"content": "hi"}}'
    path = tmp_path / "broken.jsonl"
    path.write_text(
        good + "\n" + '{"msgid": "m2", ' + "\n" + good.replace("m1", "m3") + "\n", encoding="utf-8"
    )
    s, msgs, used = _import(tmp_path, "a", path, vectorised=True, monkeypatch=monkeypatch)
    assert used == [False] and len(msgs) == 2
    assert s["skipped"] == [{"file": str(path), "where": "第 2 行", "reason": "不是完整的 JSON 对象"}]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(json_values, min_size=1, max_size=30))
def test_json_text_sql_is_the_value_of_any_fragment(tmp_path_factory, values):
    """json_text_sql reads a fragment's text without parsing it (but for escaped strings): it must
    equal ``->> '$'`` for fragments of every type and number form, as DuckDB's JSON readers write them."""
    import duckdb

    from zhijian.ingest.common import json_text_sql

    path = tmp_path_factory.mktemp("frag") / "v.jsonl"
    path.write_text("".join(json.dumps({"v": v}) + "\n" for v in values), encoding="utf-8")
    db = duckdb.connect()
    for src in (
        f"SELECT v FROM read_json('{path}', format='newline_delimited', records=true, columns={{'v': 'JSON'}})",
        f"SELECT json_transform(json, '{{\"v\": \"JSON\"}}').v AS v FROM read_json_objects('{path}')",
    ):
        rows = db.execute(f"SELECT {json_text_sql('v')}, v ->> '$' FROM ({src})").fetchall()
        assert [a for a, _ in rows] == [b for _, b in rows]


def test_a_key_given_twice_is_left_to_the_record_by_record_reader(tmp_path, monkeypatch):
    """DuckDB keeps the first value of a key given twice, Python's json the last: such a file is read
    record by record, as the reference reader reads it."""
    good = '{"msgid": "m1", "msgtype": "text", "msgtime": 1603875609704, "roomid": "r", "from": "a", "text": {"content": "hi"}}'
    twice = good.replace('"from": "a"', '"from": "a", "from": "b"').replace("m1", "m2")
    path = tmp_path / "twice.jsonl"
    path.write_text(good + "\n" + twice + "\n", encoding="utf-8")
    fast, fast_msgs, used = _import(tmp_path, "a", path, vectorised=True, monkeypatch=monkeypatch)
    slow, slow_msgs, _ = _import(tmp_path, "b", path, vectorised=False, monkeypatch=monkeypatch)
    assert used == [False] and fast == slow and fast_msgs.astype(str).equals(slow_msgs.astype(str))
    assert sorted(fast_msgs["sender_id"]) == ["raw:a", "raw:b"]  # the last "from" of the second record
