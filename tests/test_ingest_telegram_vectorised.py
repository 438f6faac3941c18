"""The Telegram Desktop reader's vectorised path (byte scan for each chat's messages array, DuckDB's
JSON reader + SQL) must give exactly what the streaming reader gives: same messages, same chats,
same skipped records with the same places, on the fixtures and on generated single-chat and
account exports full of odd records (missing or mistyped dates and ids, text arrays with odd
elements, mention entities, polls, media, service messages, Unicode spaces, escaped quotes and
brackets inside strings), pretty-printed or minified, with a BOM or in GB18030. Files in another
shape, with broken JSON or with elements that are not objects fall back to the streaming reader."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import zhijian.ingest.jsonscan as jsonscan
import zhijian.ingest.telegram as telegram
from import_helpers import spied_import
from zhijian.errors import ImportFormatError

FIX = Path(__file__).parents[2] / "shared" / "fixtures" / "exports" / "telegram"
SYN = Path(__file__).parent / "data" / "exports" / "telegram"

TEXTS = [
    "收到", "请各位今天报数 [1] {x}", "紧急通知\n多行\r\n内容", "", " ", "\u3000\u2005", "a\\b \"q\" ]}",
    "👍", "hello", "\u0085\x1c", "x" * 300,
]  # fmt: skip
MEDIA = ["sticker", "video_message", "video_file", "animation", "voice_message", "audio_file", "odd", 5, None]


def _text_value(rnd: random.Random):
    r = rnd.random()
    if r < 0.6:
        return rnd.choice(TEXTS)
    if r < 0.9:
        parts = []
        for _ in range(rnd.randint(0, 4)):
            parts.append(
                rnd.choice(
                    [
                        rnd.choice(TEXTS),
                        {"type": "bold", "text": rnd.choice(TEXTS)},
                        {"type": "link", "text": "https://t.me/x"},
                        {"type": "plain"},
                        {"type": "odd", "text": rnd.choice([None, 5, ["x"]])},
                        5,
                        None,
                        ["nested"],
                    ]
                )
            )
        return parts
    return rnd.choice([None, 7, {"a": 1}, True])


def _entities(rnd: random.Random):
    r = rnd.random()
    if r < 0.7:
        return [{"type": "plain", "text": rnd.choice(TEXTS)}]
    if r < 0.8:
        return [{"type": "mention", "text": "@lisi"}, {"type": "plain", "text": " 请回复"}]
    if r < 0.85:
        return [{"type": "mention_name", "text": "王五", "user_id": rnd.choice([103, None, "x"])}]
    if r < 0.9:
        return [{"type": "plain", "text": 'says "mention" here'}]
    return rnd.choice([[], None, "odd", [5, None]])


def _message(rnd: random.Random, i: int, odd: bool = False):
    r = rnd.random() if odd else 1.0
    if r < 0.005:
        return [1, {"a": 2}]
    if r < 0.01:
        return rnd.choice([5, "string", None])
    service = rnd.random() < 0.1
    m: dict = {
        "id": rnd.choice([i] * 20 + [str(i), float(i), None, -i, 10**20]),
        "type": "service" if service else rnd.choice(["message"] * 30 + ["odd", None, 5]),
        "date": rnd.choice(["2024-05-06T09:00:00", "2024-05-06 21:30:05", "bad", None]),
        "date_unixtime": rnd.choice(
            [str(1714957200 + i * 37)] * 20
            + [1714957200 + i, "", "0", "-5", "1714957200.5", None, "x", "99999999999", 1714957200.75]
        ),
    }
    if rnd.random() < 0.02:
        del m["date_unixtime"]
    if service:
        m.update(
            actor=rnd.choice(["张三", "", None, 'a "b"']),
            actor_id=rnd.choice(["user101", "", None, 101]),
            action=rnd.choice(["create_group", "invite_members", "", None, 3]),
        )
    else:
        m.update(
            **{"from": rnd.choice(["张三", "李四", "", None, 'a "b"', 7])},
            from_id=rnd.choice(["user101", "user102", "channel9", "", None, 5]),
        )
    m["text"] = _text_value(rnd)
    m["text_entities"] = _entities(rnd)
    extra = rnd.random()
    if extra < 0.05:
        m["photo"] = rnd.choice(["(File not included.)", "", None, 0])
    elif extra < 0.12:
        m["media_type"] = rnd.choice(MEDIA)
        m["file"] = "(File not included.)"
    elif extra < 0.15:
        m["file"] = rnd.choice(["a.xlsx", "", None, 0.0])
    elif extra < 0.2:
        m["poll"] = rnd.choice(
            [
                {"question": "今天几点开会？", "answers": []},
                {"question": None},
                {"x": 1},
                "odd",
                [],
                {"question": 5},
            ]
        )
    elif extra < 0.23:
        m[rnd.choice(["location_information", "contact_information"])] = rnd.choice([{"a": 1}, {}, 0, "x"])
    if rnd.random() < 0.15:
        m["reply_to_message_id"] = rnd.choice([max(i - 1, 1), str(i), None, 0, 1.5])
    if rnd.random() < 0.08:
        m["forwarded_from"] = rnd.choice(["县应急局", "", None, 0, "0", 0.0, [], {}, False, True])
    if rnd.random() < 0.1:
        m["edited"] = "2024-05-06T09:10:00"
        m["nested"] = {"deep": [[{"]": "}"}]]}
    return m


def _chat(rnd: random.Random, ci: int, n: int, odd: bool = False) -> dict:
    head = {
        "name": rnd.choice([f"工作群{ci}", 'a "quoted" [name]', "", None]),
        "type": rnd.choice(["private_supergroup", "personal_chat", "saved_messages"]),
        "id": rnd.choice([1700000000 + ci, str(1700000000 + ci), None]),
    }
    return {**head, "messages": [_message(rnd, i, odd) for i in range(1, n + 1)]}


def _dump(obj, rnd: random.Random, indent: int | None = 1) -> str:
    return json.dumps(obj, ensure_ascii=rnd.random() < 0.5, indent=indent)


def _write_single(path: Path, n: int, seed: int, *, encoding: str = "utf-8", indent: int | None = 1) -> Path:
    rnd = random.Random(seed)
    path.write_text(_dump(_chat(rnd, 1, n), rnd, indent), encoding=encoding)
    return path


def _write_account(path: Path, n: int, seed: int) -> Path:
    rnd = random.Random(seed)
    chats = [_chat(rnd, ci, rnd.randint(0, n)) for ci in range(1, 5)]
    chats[1] = {"messages": chats[1]["messages"], **{k: v for k, v in chats[1].items() if k != "messages"}}
    chats[2]["id"], chats[2]["name"] = 1700000001, "同号的会话"  # two chats with one id
    chats[0]["id"] = 1700000001
    doc = {
        "about": "Here is the data you requested. [ { ",
        "personal_information": {"user_id": 1, "first_name": "Me"},
        "chats": {"about": "This page lists all chats", "list": chats[:3]},
        "left_chats": {"about": "left", "list": chats[3:]},
    }
    path.write_text(_dump(doc, rnd), encoding="utf-8")
    return path


def _import(tmp: Path, name: str, path: Path, *, vectorised: bool, monkeypatch):
    return spied_import(
        tmp,
        name,
        path,
        "telegram_json",
        monkeypatch,
        reader=(telegram, "_telegram_vectorised"),
        copy=(telegram, "copy_range"),
        vectorised=vectorised,
    )


def _same(tmp_path, monkeypatch, path: Path, *, fast_expected: bool = True):
    # pieces of a few kilobytes: the generated arrays are read from several files, as large ones are
    monkeypatch.setattr(jsonscan, "PIECE_MIN_BYTES", 4096)
    monkeypatch.setattr(telegram, "duckdb_threads", lambda db: 3)
    monkeypatch.setattr(telegram, "BATCH_BYTES", 150_000)  # the account's chats in several inserts
    fast, fast_msgs, used = _import(tmp_path, "a", path, vectorised=True, monkeypatch=monkeypatch)
    slow, slow_msgs, _ = _import(tmp_path, "b", path, vectorised=False, monkeypatch=monkeypatch)
    pieces = used.count("piece")
    assert [u for u in used if u != "piece"] == [fast_expected]
    assert fast == slow
    assert fast_msgs.astype(str).equals(slow_msgs.astype(str))
    fast["pieces"] = pieces
    return fast, fast_msgs


@pytest.mark.parametrize(
    "name", ["fixture", "account", "gen_single", "gen_minified", "gen_account", "gen_bom", "gen_gbk"]
)
def test_vectorised_equals_streaming(tmp_path, monkeypatch, name):
    if name == "fixture":
        path = FIX / "chat-analytics_DM_2A_7M.json"
    elif name == "account":
        path = SYN / "result_account.json"
    elif name == "gen_single":
        path = _write_single(tmp_path / "result.json", 3000, seed=1)
    elif name == "gen_minified":
        path = _write_single(tmp_path / "result.json", 1000, seed=8, indent=None)
    elif name == "gen_bom":
        path = _write_single(tmp_path / "result.json", 800, seed=2, encoding="utf-8-sig")
    elif name == "gen_gbk":
        path = tmp_path / "result.json"
        rnd = random.Random(3)
        chat = _chat(rnd, 1, 800)
        path.write_text(json.dumps(chat, ensure_ascii=False).replace("👍", "赞"), encoding="gb18030")
    else:
        path = _write_account(tmp_path / "result.json", 900, seed=4)
    summary, msgs = _same(tmp_path, monkeypatch, path)
    assert len(msgs) > 0
    if name.startswith("gen"):
        assert summary["skipped"], "the generated files hold records to skip"
        minified = name in ("gen_gbk", "gen_minified")  # one piece per chat
        assert (summary["pieces"] == 1) if minified else (summary["pieces"] > (4 if "account" in name else 1))


def test_name_after_messages_in_a_single_chat(tmp_path, monkeypatch):
    rnd = random.Random(5)
    chat = _chat(rnd, 1, 200)
    doc = {"messages": chat["messages"], "name": "后写的群名", "id": 42, "type": "private_group"}
    path = tmp_path / "late.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    summary, msgs = _same(tmp_path, monkeypatch, path)
    assert msgs["group_id"].nunique() == 1
    assert summary["skipped"] and all(s["where"].startswith("会话“后写的群名”") for s in summary["skipped"])


def test_elements_that_are_not_objects_fall_back(tmp_path, monkeypatch):
    """DuckDB's reader rejects a messages array with elements that are not objects (Telegram never
    writes one): the streaming reader runs and skips them, counted."""
    rnd = random.Random(9)
    path = tmp_path / "result.json"
    path.write_text(json.dumps(_chat(rnd, 1, 600, odd=True), ensure_ascii=False), encoding="utf-8")
    summary, _ = _same(tmp_path, monkeypatch, path, fast_expected=False)
    assert any(s["reason"] == "不是 JSON 对象" for s in summary["skipped"])


def test_array_after_messages_falls_back(tmp_path, monkeypatch):
    """A member that is an array after ``messages`` defeats the end-of-file shortcut: DuckDB rejects
    the range and the streaming reader runs, with the same result."""
    rnd = random.Random(6)
    chat = _chat(rnd, 1, 200)
    doc = {"name": "群", "id": 1, "messages": chat["messages"], "tags": [1, [2]]}
    path = tmp_path / "tail.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    _same(tmp_path, monkeypatch, path, fast_expected=False)


@pytest.mark.parametrize(
    "doc",
    [
        {"name": "x", "messages": [], "chats": {"list": []}},  # both shapes at once
        {"chats": {"list": [{"name": "a", "messages": [], "more": {"messages": [1]}}, 5]}},
        {"chats": {"list": [{"name": "a"}]}},  # a chat without messages
    ],
)
def test_odd_shapes_use_the_streaming_reader(tmp_path, monkeypatch, doc):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    try:
        _same(tmp_path, monkeypatch, path, fast_expected=False)
    except ImportFormatError:  # the streaming reader's verdict, not the vectorised reader's
        with pytest.raises(ImportFormatError):
            _import(tmp_path, "c", path, vectorised=False, monkeypatch=monkeypatch)


def test_broken_json_falls_back_and_names_the_record(tmp_path, monkeypatch):
    good = {
        "id": 1,
        "type": "message",
        "date_unixtime": "1714957200",
        "from": "a",
        "from_id": "u1",
        "text": "hi",
    }
    body = json.dumps({"name": "群", "id": 1, "messages": [good, good]})
    path = tmp_path / "broken.json"
    path.write_text(body.replace('"from": "a", ', '"from": "a" ', 1), encoding="utf-8")
    with pytest.raises(ImportFormatError) as e:
        _import(tmp_path, "a", path, vectorised=True, monkeypatch=monkeypatch)
    assert "会话“群”第 1 条" in str(e.value) and e.value.path == str(path)


@pytest.mark.parametrize("style", ["indent", "telegram", "leading_comma", "minified"])
def test_split_points_cut_between_elements_only(style):
    rnd = random.Random(7)
    msgs = [_message(rnd, i) for i in range(1, 400)]
    for m in msgs[::3]:  # nested arrays of objects, indented deeper, where no cut may fall
        if isinstance(m, dict):
            m["text_entities"] = [{"type": "plain", "text": "},\n{"}, {"type": "bold", "text": "x"}]
    if style == "indent":
        body = json.dumps(msgs, indent=1, ensure_ascii=False)
    elif style == "telegram":
        body = json.dumps({"name": "群", "messages": msgs}, indent=1, ensure_ascii=False)
    elif style == "leading_comma":
        body = "[\n" + "\n,".join(json.dumps(m, ensure_ascii=False) for m in msgs) + "\n]"
    else:
        body = json.dumps(msgs, ensure_ascii=False)
    buf = body.encode()
    start = buf.index(b"[", buf.index(b"messages") if style == "telegram" else 0)
    end = buf.rindex(b"]") + 1
    ranges = jsonscan.split_points(buf, start, end, 5)
    assert len(ranges) == (1 if style == "minified" else 5)
    got = []
    for a, b in ranges:
        got.extend(json.loads(b"[" + buf[a:b] + b"]"))
    assert got == msgs
