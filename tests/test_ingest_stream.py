"""Streaming readers (whole-account Telegram, PyWxDump JSON, WeCom arrays, WeChatMsg HTML) read across
any buffer boundary exactly like a whole-file read, and WhatsApp phone-number senders are one sender
however the number is written. Memory figures are measured in bench/ingest.py, not here."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ingest_demo_files import write_demo
from zhijian.errors import ImportFormatError
from zhijian.ingest import import_paths, jsonstream, wechat
from zhijian.ingest.common import normalize_phone
from zhijian.ingest.jsonstream import JsonReader
from zhijian.workspace import init_workspace

SYN = Path(__file__).parent / "data" / "exports"


@pytest.fixture
def ws(tmp_path):
    w = init_workspace(tmp_path / "ws")
    yield w
    w.close()


def _rows(ws) -> list[tuple]:
    m = ws.lake().table("messages").execute().sort_values(["ts", "message_id"])
    return [
        (
            r.message_id,
            r.group_id,
            r.sender_id,
            r.ts,
            r.kind,
            r.text,
            list(r.mentions),
            r.at_all,
            r.reply_to,
            r.forwarded,
        )
        for r in m.itertuples()
    ]


def _walk(r: JsonReader):
    """Rebuild a document through the pull API (containers via members/items, scalars via value)."""
    c = r.peek()
    if c == "{":
        return {k: _walk(r) for k in r.members()}
    if c == "[":
        return [_walk(r) for _ in r.items()]
    return r.value()


DOCS = [
    {"a": [1, 2.5, -3e2, True, False, None, 'x"y\\z\u2005'], "b": {}, "c": [], "长": "中文，逗号"},
    [{"id": 123456789012345678, "t": "a" * 50}, [], [[]], {"k": {"k": {"k": 0}}}],
    "just a string",
    1234567,
]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 20])
@pytest.mark.parametrize("doc", DOCS)
def test_json_reader_matches_json_loads_at_every_chunk_size(doc, chunk):
    text = "\ufeff" + json.dumps(doc, ensure_ascii=False, indent=1)
    r = JsonReader(io.StringIO(text), "x.json", chunk=chunk)
    assert _walk(r) == doc
    r.end()


@pytest.mark.parametrize("chunk", [1, 5, 1 << 20])
def test_json_reader_errors_name_the_line(chunk):
    text = '{"messages": [\n{"id": 1},\n{"id": 2,, "x": 1}\n]}'
    r = JsonReader(io.StringIO(text), "bad.json", chunk=chunk)
    with pytest.raises(ImportFormatError) as e:
        _walk(r)
    assert e.value.where.startswith("第 3 行") and "JSON" in e.value.zh
    r = JsonReader(io.StringIO('{"messages": [{"id": 1}, {"id": 2'), "cut.json", chunk=chunk)
    with pytest.raises(ImportFormatError) as e:
        _walk(r)
    assert "不完整" in e.value.zh
    r = JsonReader(io.StringIO('{"a": 1} {"b": 2}'), "two.json", chunk=chunk)
    _walk(r)
    with pytest.raises(ImportFormatError):
        r.end()


def test_json_reader_refuses_a_value_beyond_the_limit():
    r = JsonReader(io.StringIO('["' + "x" * 5000 + '"]'), "big.json", chunk=16, max_value=1000)
    with pytest.raises(ImportFormatError) as e:
        _walk(r)
    assert "过大" in e.value.zh


@pytest.mark.parametrize(
    "rel",
    [
        "telegram/result_account.json",
        "pywxdump/wxid_me_0_4.json",
        "wecom/archive_array.json",
        "wechatmsg/东镇工作群.html",
    ],
)
def test_streamed_readers_are_independent_of_buffer_size(tmp_path, monkeypatch, rel):
    out = []
    for i, chunk in enumerate((1 << 20, 3)):
        monkeypatch.setattr(jsonstream, "CHUNK", chunk)
        monkeypatch.setattr(wechat, "JS_CHUNK", chunk)
        w = init_workspace(tmp_path / f"w{i}")
        s = import_paths(w, [SYN / rel])
        out.append((s.messages, s.system_messages, s.skipped, s.groups, _rows(w)))
        w.close()
    assert out[0][0] > 0 and out[0] == out[1]


def test_telegram_chat_whose_name_follows_its_messages(ws, tmp_path):
    """tdesktop writes name/type/id before messages; if another tool reorders the keys, the rows are
    re-keyed to the chat once its id is read (no second pass over the file)."""
    data = json.loads((SYN / "telegram" / "result_account.json").read_text(encoding="utf-8"))
    chats = data["chats"]["list"]
    reordered = [
        {"messages": c["messages"], "name": c["name"], "type": c["type"], "id": c["id"]} for c in chats
    ]
    data["chats"]["list"] = reordered
    p = tmp_path / "result.json"
    p.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    s = import_paths(ws, [p])
    w2 = init_workspace(tmp_path / "w2")
    s2 = import_paths(w2, [SYN / "telegram" / "result_account.json"])
    assert (s.messages, s.system_messages, s.groups) == (s2.messages, s2.system_messages, s2.groups)
    assert _rows(ws) == _rows(w2)
    from zhijian.store.models import Group

    with ws.store.session() as sess:
        names = sorted(g.name for g in sess.query(Group).filter(Group.registered.is_(False)))
    assert names == sorted(c["name"] for c in chats)
    w2.close()


def test_pywxdump_json_object_form_and_truncation(ws, tmp_path):
    rows = json.loads((SYN / "pywxdump" / "wxid_me_0_4.json").read_text(encoding="utf-8"))
    p = tmp_path / "wrapped.json"
    p.write_text(json.dumps({"total": len(rows), "data": rows}, ensure_ascii=False), encoding="utf-8")
    s = import_paths(ws, [p], fmt="pywxdump_json")
    assert s.messages + s.system_messages == 4
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(rows, ensure_ascii=False, indent=2)[:-40], encoding="utf-8")
    with pytest.raises(ImportFormatError) as e:
        import_paths(ws, [cut], fmt="pywxdump_json")
    assert e.value.where.startswith("第 ") and "第 4 条" in e.value.where


def test_wechatmsg_html_truncated_object_is_an_error(ws, tmp_path):
    text = (SYN / "wechatmsg" / "东镇工作群.html").read_text(encoding="utf-8")
    p = tmp_path / "东镇工作群.html"
    p.write_text(text[: text.index("voice_to_text")], encoding="utf-8")
    with pytest.raises(ImportFormatError) as e:
        import_paths(ws, [p])
    assert "第 6 条" in e.value.zh


# ── WhatsApp phone-number senders ─────────────────────────────────────────────────────────────────
PHONES = [
    ("+86 138 0013 8000", "+8613800138000"),
    ("+86 138-0013-8000", "+8613800138000"),
    ("\u202a+86 138 0013 8000\u202c", "+8613800138000"),
    ("+86\u00a0138\u00a00013\u00a08000", "+8613800138000"),
    ("008613800138000", "+8613800138000"),
    ("8613800138000", "+8613800138000"),
    ("138 0013 8000", "+8613800138000"),
    ("13800138000", "+8613800138000"),
    ("＋８６ １３８ ００１３ ８０００", "+8613800138000"),
    ("+1 (555) 555\u20111234", "+15555551234"),
    ("+44 7911 123456", "+447911123456"),
    ("010-8888 6666", "01088886666"),
    ("张三", None),
    ("2023", None),
    ("Bob 2", None),
    ("12345", None),
    ("+1 2", None),
    ("", None),
]


@pytest.mark.parametrize("raw,want", PHONES)
def test_normalize_phone(raw, want):
    assert normalize_phone(raw) == want


def test_whatsapp_phone_senders_are_one_person_across_files(ws, tmp_path):
    demo = write_demo(tmp_path / "demo")
    a = tmp_path / "WhatsApp Chat with 防汛群.txt"
    a.write_text(
        "06/05/2024, 09:00 - +86 138 0000 0001: 请报送材料\n"
        "06/05/2024, 09:01 - \u202a+86 138-0000-0002\u202c: 收到\n",
        encoding="utf-8",
    )
    b = tmp_path / "_chat.txt"
    b.write_text(
        "[07/05/2024, 10:00:00] \u202a+86\u00a0138\u00a00000\u00a00001\u202c: 已报送\n"
        "[07/05/2024, 10:01:00] 13800000002: 好的\n"
        "[07/05/2024, 10:02:00] 008613800000002: 好的\n",
        encoding="utf-8",
    )
    s = import_paths(ws, [demo / "单位.csv", demo / "花名册.xlsx", a, b])
    assert s.messages == 5
    senders = sorted({r[2] for r in _rows(ws)})
    # 13800000001 is 张三's 手机号 in the roster (P001); the other number is one unmatched sender
    assert senders == ["P001", "raw:+8613800000002"]
    assert s.people_matched == 1 and s.people_unmatched == 1
