"""The import pipeline: demo-contract files (units, roster, inventories, memberships, canonical CSV),
idempotency, ids, time zones, export round trip, clear errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from ingest_demo_files import CANON_HEADER, MESSAGES, write_demo
from zhijian.errors import DataError, ImportFormatError
from zhijian.ingest import import_paths
from zhijian.ingest.export import export_messages
from zhijian.lake.schema import MEMBERSHIPS
from zhijian.lake.schema import MESSAGES as MESSAGES_SCHEMA
from zhijian.store.models import Account, App, Group, ImportBatch, Person, Unit
from zhijian.workspace import init_workspace


@pytest.fixture
def ws(tmp_path):
    w = init_workspace(tmp_path / "ws")
    yield w
    w.close()


def _messages(ws):
    return ws.lake().table("messages").execute().sort_values("message_id").reset_index(drop=True)


def test_demo_folder_imports_everything(ws, tmp_path):
    folder = write_demo(tmp_path / "demo")
    s = import_paths(ws, [folder])
    assert s.units == 4 and s.people == 3 and s.inventory_groups == 2 and s.apps == 2 and s.accounts == 1
    assert s.messages == 4 and s.system_messages == 1 and s.memberships == 3
    assert s.people_matched == 3 and s.people_unmatched == 1
    assert s.unmatched_senders == [{"sender": "raw:wx_nobody", "name": "陌生人", "messages": 1}]
    d = s.to_dict()
    for key in (
        "format",
        "messages",
        "system_messages",
        "groups",
        "senders",
        "skipped",
        "people_matched",
        "people_unmatched",
        "batch_id",
    ):
        assert key in d
    json.dumps(d, ensure_ascii=False, default=str)

    with ws.store.session() as ses:
        units = {u.id: u for u in ses.scalars(select(Unit))}
        assert units["V1"].path == "/C1/T1/V1/" and units["V1"].level == "village"
        assert units["T1"].level == "township" and units["C1"].parent_id is None
        people = {p.id: p for p in ses.scalars(select(Person))}
        assert people["P002"].aliases == ["wx_li", "li4"] and people["P002"].unit_id == "T1"
        assert people["P003"].unit_id == "V1"  # unit given by code
        groups = {g.id: g for g in ses.scalars(select(Group))}
        assert groups["G001"].owner_id == "P002" and groups["G001"].registered is True
        assert groups["G002"].owner_id == "P001" and groups["G002"].group_type == "temporary"
        assert groups["G002"].end_date.isoformat() == "2025-09-30" and groups["G002"].tags == ["应急", "安保"]
        assert groups["G002"].platform == "wecom"
        new = groups["G009"]
        assert new.registered is False and new.status == "active" and new.source == s.batch_id
        assert new.name == "未登记的群"
        apps = {a.name: a for a in ses.scalars(select(App))}
        assert apps["智慧党建"].features == ["checkin", "points"] and apps["智慧党建"].functions == [
            "学习",
            "考试",
        ]
        assert apps["东镇通"].platform == "miniprogram" and apps["东镇通"].unit_id == "T1"
        acc = ses.scalars(select(Account)).one()
        assert (
            acc.platform == "wechat_oa"
            and acc.followers == 30000
            and acc.last_post_on.isoformat() == "2026-05-01"
        )
        batch = ses.get(ImportBatch, s.batch_id)
        assert batch.status == "done" and batch.summary["messages"] == 4

    m = _messages(ws)
    assert list(m.columns) == MESSAGES_SCHEMA.names
    row = m.set_index("message_id")
    assert row.loc["m1", "sender_id"] == "P002" and row.loc["m1", "group_id"] == "G001"
    assert row.loc["m1", "ts"] == datetime.fromisoformat("2026-05-06T01:12:00+00:00")
    assert row.loc["m1", "local_ts"] == datetime(2026, 5, 6, 9, 12)
    assert row.loc["m2", "reply_to"] == "m1"
    assert row.loc["m3", "at_all"] and list(row.loc["m3", "mentions"]) == ["P003"]
    assert row.loc["m4", "kind"] == "system" and row.loc["m4", "local_ts"] == datetime(2026, 5, 7, 9, 0)
    assert row.loc["m5", "sender_id"] == "raw:wx_nobody" and row.loc["m5", "forwarded"]
    assert row.loc["m5", "text"] == "大家好\n第二行，含逗号"
    files = ws.lake().files("messages")
    assert pq.read_schema(files[0]).remove_metadata() == MESSAGES_SCHEMA
    mem = ws.lake().table("memberships").execute()
    assert list(mem.columns) == MEMBERSHIPS.names
    assert set(zip(mem.group_id, mem.person_id, mem.role, strict=True)) == {
        ("G001", "P002", "owner"),
        ("G001", "P003", "member"),
        ("G002", "P001", "owner"),
    }


def test_import_twice_adds_nothing(ws, tmp_path):
    folder = write_demo(tmp_path / "demo")
    import_paths(ws, [folder])
    before = _messages(ws)
    s2 = import_paths(ws, [folder])
    assert s2.messages == 0 and s2.system_messages == 0 and s2.duplicates == 5 and s2.memberships == 0
    assert s2.new_groups == 0
    after = _messages(ws)
    assert len(after) == len(before) == 5
    with ws.store.session() as ses:
        assert len(ses.scalars(select(Unit)).all()) == 4
        assert len(ses.scalars(select(Person)).all()) == 3
        assert len(ses.scalars(select(Group)).all()) == 3
        assert len(ses.scalars(select(ImportBatch)).all()) == 2


def test_overlapping_exports_merge(ws, tmp_path):
    write_demo(tmp_path / "a", messages=MESSAGES[:3])
    import_paths(ws, [tmp_path / "a"])
    write_demo(tmp_path / "b", messages=MESSAGES[1:])
    s = import_paths(ws, [tmp_path / "b" / "messages"])
    assert s.messages + s.system_messages == 2 and s.duplicates == 2
    assert sorted(_messages(ws).message_id) == ["m1", "m2", "m3", "m4", "m5"]


def test_canonical_without_ids_hashes_stably(ws, tmp_path):
    rows = [["", *r[1:]] for r in MESSAGES]
    write_demo(tmp_path / "d", messages=rows + [rows[1]])  # an identical record twice = two messages
    s = import_paths(ws, [tmp_path / "d"])
    assert s.messages + s.system_messages == 6
    ids = set(_messages(ws).message_id)
    assert len(ids) == 6
    s2 = import_paths(ws, [tmp_path / "d" / "messages"])
    assert s2.duplicates == 6 and s2.messages == 0
    assert set(_messages(ws).message_id) == ids


def test_tz_override_and_naive_times(ws, tmp_path):
    rows = [["x1", "G1", "群", "u1", "甲", "2026-05-06 09:00:00", "text", "hi", "false", "[]", "", "false"]]
    write_demo(tmp_path / "d", messages=rows)
    import_paths(ws, [tmp_path / "d" / "messages"], tz="Europe/Berlin")
    m = _messages(ws).iloc[0]
    assert m.ts == datetime.fromisoformat("2026-05-06T07:00:00+00:00")  # Berlin is UTC+2 in May
    assert m.local_ts == datetime(2026, 5, 6, 15, 0)  # workspace zone stays Asia/Shanghai


def test_export_round_trip_csv_jsonl_parquet(ws, tmp_path):
    import_paths(ws, [write_demo(tmp_path / "demo")])
    before = _messages(ws)
    buf = io.BytesIO()
    assert export_messages(ws, "csv", stream=buf) == 5
    text = buf.getvalue().decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == CANON_HEADER and rows[0]["ts"].endswith("Z")
    assert export_messages(ws, "jsonl", tmp_path / "m.jsonl") == 5
    assert export_messages(ws, "parquet", tmp_path / "m.parquet") == 5
    assert export_messages(ws, "csv", tmp_path / "g.csv", group="东镇工作群") == 3
    from datetime import date

    assert (
        export_messages(ws, "csv", tmp_path / "d.csv", date_from=date(2026, 5, 7), date_to=date(2026, 5, 7))
        == 2
    )

    for name, content in (("m.csv", text), ("m.jsonl", None)):
        ws2 = init_workspace(tmp_path / f"ws-{name}")
        # the roster is needed to resolve person ids again; inventory first
        write_demo(tmp_path / f"inv-{name}", messages=[])
        import_paths(ws2, [tmp_path / f"inv-{name}"])
        p = tmp_path / name
        if content is not None:
            p.write_text(content, encoding="utf-8")
        s = import_paths(ws2, [p])
        assert s.messages + s.system_messages == 5
        after = _messages(ws2)
        cols = [
            "message_id",
            "group_id",
            "sender_id",
            "sender_name",
            "ts",
            "local_ts",
            "kind",
            "text",
            "reply_to",
            "at_all",
            "forwarded",
        ]
        assert after[cols].equals(before[cols])
        assert [list(x) for x in after.mentions] == [list(x) for x in before.mentions]
        ws2.close()


def test_unknown_headers_are_reported(ws, tmp_path):
    folder = write_demo(tmp_path / "demo", messages=[])
    p = folder / "单位.csv"
    rows = list(csv.reader(p.open(encoding="utf-8")))
    rows[0].append("备注说明")
    for r in rows[1:]:
        r.append("x")
    with p.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    s = import_paths(ws, [folder])
    assert s.unknown_headers == {str(p): ["备注说明"]}


def test_columns_in_any_order_and_gbk(ws, tmp_path):
    p = tmp_path / "units.csv"
    p.write_bytes("层级,单位名称,单位编码,上级单位编码\n县,某县,C9,\n乡镇,南镇,T9,C9\n".encode("gb18030"))
    s = import_paths(ws, [p])
    assert s.units == 2 and s.files[0]["encoding"] == "GB18030/GBK"
    with ws.store.session() as ses:
        assert ses.get(Unit, "T9").path == "/C9/T9/"


def test_unknown_unit_reference_names_file_and_row(ws, tmp_path):
    folder = write_demo(tmp_path / "demo", messages=[])
    p = folder / "单位.csv"
    p.write_text(
        "单位编码,单位名称,上级单位编码,层级,类别\nC1,某县,,县,\nT1,东镇,NOPE,乡镇,\n", encoding="utf-8"
    )
    with pytest.raises(DataError) as e:
        import_paths(ws, [folder])
    assert "NOPE" in e.value.zh and e.value.where == "第 3 行" and e.value.path.endswith("单位.csv")
    assert not ws.lake().files("messages")
    with ws.store.session() as ses:
        assert ses.scalars(select(Unit)).all() == [] and ses.scalars(select(ImportBatch)).all() == []


def test_canonical_missing_columns(ws, tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("message_id,group_id,sender_id,text\n1,G,u,hi\n", encoding="utf-8")
    # without ts it is not even recognised as canonical: forcing the format names the missing column
    with pytest.raises(ImportFormatError) as e:
        import_paths(ws, [p], fmt="canonical_csv")
    assert "ts" in e.value.zh and e.value.path == str(p)


def test_bad_records_are_skipped_and_counted(ws, tmp_path):
    rows = [
        MESSAGES[0],
        ["b1", "G001", "群", "wx_li", "李四", "昨天", "text", "x", "false", "[]", "", "false"],
        [
            "b2",
            "",
            "群",
            "wx_li",
            "李四",
            "2026-05-06T09:00:00+08:00",
            "text",
            "x",
            "false",
            "[]",
            "",
            "false",
        ],
        [
            "b3",
            "G001",
            "群",
            "wx_li",
            "李四",
            "2026-05-06T09:00:00+08:00",
            "text",
            "x",
            "false",
            "[oops",
            "",
            "false",
        ],
    ]
    write_demo(tmp_path / "d", messages=rows)
    s = import_paths(ws, [tmp_path / "d" / "messages"])
    assert s.messages == 1 and s.skipped_count == 3
    assert [(k["where"], k["reason"]) for k in s.skipped] == [
        ("第 3 行", "ts 不是 ISO 8601 时间"),
        ("第 4 行", "group_id 为空"),
        ("第 5 行", "mentions 不是 JSON 数组"),
    ]


@pytest.mark.parametrize("enc", ["utf-8", "utf-8-sig", "gb18030"])
def test_skipped_records_name_their_physical_line(ws, tmp_path, enc):
    """A record may span lines (quoted newlines in CSV) and a JSON Lines file may hold blank lines: the
    line named for a skipped record is the line it starts on in the file, not its ordinal."""
    good = [
        "a1",
        "G001",
        "群",
        "wx_li",
        "李四",
        "2026-05-06T09:00:00+08:00",
        "text",
        "第一行\n第二行\n第三行",
        "false",
        "[]",
        "",
        "false",
    ]
    bad = ["b1", "G001", "群", "wx_li", "李四", "昨天", "text", "x", "false", "[]", "", "false"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerows([CANON_HEADER, good, ["a2", *good[1:]], bad, ["a3", *good[1:]], ["b2", *bad[1:]]])
    p = tmp_path / "m.csv"
    p.write_bytes(buf.getvalue().encode(enc))
    s = import_paths(ws, [p])
    assert s.messages == 3 and s.skipped_count == 2
    # header 1, a1 2-4, a2 5-7, b1 8, a3 9-11, b2 12
    assert [k["where"] for k in s.skipped] == ["第 8 行", "第 12 行"]

    def obj(row):
        return json.dumps(dict(zip(CANON_HEADER, row, strict=True)), ensure_ascii=False)

    q = tmp_path / "m.jsonl"
    q.write_bytes(
        (
            "\n".join([obj(good), "", obj(bad), "  ", "", obj(["a9", *good[1:]]), obj(["b9", *bad[1:]])])
            + "\n"
        ).encode(enc)
    )
    s = import_paths(ws, [q])
    assert s.messages == 1 and s.duplicates == 1 and s.skipped_count == 2
    assert [k["where"] for k in s.skipped] == ["第 3 行", "第 7 行"]


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_gbk_after_the_first_megabytes(ws, tmp_path, suffix):
    """The encoding is decided on the first 4 MB; when GBK bytes come later, DuckDB's reader rejects
    them and the whole file decides (the file is read as GB18030, not refused or garbled)."""
    row = [
        "",
        "G001",
        "群",
        "wx_li",
        "李四",
        "2026-05-06T09:00:00+08:00",
        "text",
        "",
        "false",
        "[]",
        "",
        "false",
    ]
    rows = [[f"a{i:06d}", *row[1:7], "x" * 80, *row[8:]] for i in range(45_000)]  # > 4 MB of ASCII
    rows.append(["z1", *row[1:7], "最后一条：中文", *row[8:]])
    p = tmp_path / f"m.{suffix}"
    if suffix == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([CANON_HEADER, *rows])
        text = buf.getvalue()
    else:
        text = "".join(
            json.dumps(dict(zip(CANON_HEADER, r, strict=True)), ensure_ascii=False) + "\n" for r in rows
        )
    p.write_bytes(text.encode("gb18030"))
    assert p.stat().st_size > 4 << 20
    s = import_paths(ws, [p])
    assert s.messages == 45_001 and s.files[0]["encoding"] == "GB18030/GBK"
    m = _messages(ws)
    assert m.loc[m.message_id == "z1", "text"].item() == "最后一条：中文"


@pytest.mark.parametrize("fmt", ["pywxdump_csv", "wecom_json"])
def test_chat_exports_gbk_after_the_first_megabytes(ws, tmp_path, fmt):
    """The vectorised PyWxDump CSV and WeCom readers also decide the encoding on the first megabytes and
    read the whole file as GB18030 when GBK bytes come later."""
    n = 45_000
    if fmt == "pywxdump_csv":
        header = ["id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "msg", "CreateTime"]
        rows = [
            [str(i), str(10**6 + i), "文本", "0", "wx_a", "room", "x" * 80, "2026-05-06 09:00:00"]
            for i in range(n)
        ]
        rows.append(
            [str(n), str(10**6 + n), "文本", "0", "wx_a", "room", "最后一条：中文", "2026-05-06 09:00:00"]
        )
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([header, *rows])
        text, p = buf.getvalue(), tmp_path / "wx.csv"
    else:
        recs = [
            {"msgid": f"m{i}", "msgtype": "text", "msgtime": 1603875609704 + i, "roomid": "r", "from": "a",
             "text": {"content": "x" * 80 if i < n else "最后一条：中文"}}
            for i in range(n + 1)
        ]  # fmt: skip
        text, p = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), tmp_path / "wecom.jsonl"
    p.write_bytes(text.encode("gb18030"))
    assert p.stat().st_size > 4 << 20
    s = import_paths(ws, [p], fmt=fmt)
    assert s.messages == n + 1 and s.files[0]["encoding"] == "GB18030/GBK"
    m = _messages(ws)
    assert (m.text == "最后一条：中文").sum() == 1


def test_canonical_flags_kinds_and_mentions_spellings(ws, tmp_path):
    """True/false, kind and mentions as people write them in a spreadsheet (the exported forms take a
    fast path; the others the general one): the same values either way, CSV and JSON Lines."""
    row = [
        "",
        "G001",
        "群",
        "wx_li",
        "李四",
        "2026-05-06T09:00:00+08:00",
        "text",
        "x",
        "false",
        "[]",
        "",
        "false",
    ]
    flags = ["true", "TRUE", " Yes ", "是", "1", "t", "y", "false", "FALSE", "0", "", "no", "否"]
    kinds = ["text", " Text ", "", "IMAGE", "text"]
    ments = ["[]", " [] ", "", '["wx_li"]', "[]"]
    rows = [[f"f{i}", *row[1:6], kinds[i % 5], "x", v, ments[i % 5], "", v] for i, v in enumerate(flags)]
    write_demo(tmp_path / "d", messages=rows)
    s = import_paths(ws, [tmp_path / "d" / "messages"])
    assert s.messages == len(flags) and s.skipped_count == 0
    m = _messages(ws).set_index("message_id")
    truthy = {"true", "TRUE", " Yes ", "是", "1", "t", "y"}
    for i, v in enumerate(flags):
        r = m.loc[f"f{i}"]
        assert bool(r.at_all) == bool(r.forwarded) == (v in truthy), v
        assert r.kind == {"text": "text", " Text ": "text", "": "text", "IMAGE": "image"}[kinds[i % 5]]
        assert list(r.mentions) == (["raw:wx_li"] if i % 5 == 3 else [])
    q = tmp_path / "m.jsonl"
    objs = [
        {
            "message_id": f"j{i}",
            "group_id": "G001",
            "sender_id": "wx_li",
            "ts": "2026-05-06T09:00:00+08:00",
            "text": "x",
            "at_all": v,
            "forwarded": v,
        }
        for i, v in enumerate([True, False, None, "是", "false"])
    ]
    q.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs), encoding="utf-8")
    import_paths(ws, [q])
    m = _messages(ws).set_index("message_id")
    assert [bool(m.loc[f"j{i}", "at_all"]) for i in range(5)] == [True, False, False, True, False]
    assert [bool(m.loc[f"j{i}", "forwarded"]) for i in range(5)] == [True, False, False, True, False]


def test_records_are_numbered_in_file_order_at_scale(ws, tmp_path):
    """Records are numbered after the (parallel) insert from the staging table's row order: over many
    row groups and two files, the first of two records with one id is the one kept, and skipped records
    name their line."""
    row = [
        "",
        "G001",
        "群",
        "wx_li",
        "李四",
        "2026-05-06T09:00:00+08:00",
        "text",
        "x",
        "false",
        "[]",
        "",
        "false",
    ]
    n = 150_000
    rows = [[f"a{i:06d}", *row[1:7], f"t{i}", *row[8:]] for i in range(n)]
    rows[140_000] = [f"a{5:06d}", *row[1:7], "later copy", *row[8:]]  # repeats a000005: the first is kept
    rows[145_000] = ["bad", *row[1:5], "昨天", *row[6:]]
    p = tmp_path / "a.csv"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([CANON_HEADER, *rows])
    p.write_text(buf.getvalue(), encoding="utf-8")
    q = tmp_path / "b.csv"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(
        [
            CANON_HEADER,
            ["bad2", *row[1:5], "", *row[6:]],
            [f"a{7:06d}", *row[1:7], "second file", *row[8:]],
            ["b1", *row[1:]],
        ]
    )
    q.write_text(buf.getvalue(), encoding="utf-8")
    s = import_paths(ws, [p, q])
    assert s.parsed == n + 1 and s.duplicates == 2 and s.messages == n - 2 + 1
    assert [k["where"] for k in s.skipped] == ["第 145002 行", "第 2 行"]
    m = _messages(ws).set_index("message_id")
    assert m.loc["a000005", "text"] == "t5" and m.loc["a000007", "text"] == "t7"


def test_pywxdump_csv_records_numbered_in_file_order_at_scale(ws, tmp_path):
    """The PyWxDump CSV reader numbers its records after the parallel insert too: over many row groups
    the first of two records with one MsgSvrID is kept, a bad time names its record, the type names map
    without a join, and mentions and recalls are still found."""
    header = ["id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "msg", "CreateTime"]
    n = 150_000
    rows = [
        [str(i), str(1_000_000 + i), "文本", "0", f"wxid_{i % 7}", "工作群", f"t{i}", "2026-05-06 09:00:00"]
        for i in range(n)
    ]
    rows[140_000][1] = str(1_000_005)  # repeats record 6's MsgSvrID: the first is kept
    rows[140_000][6] = "later copy"
    rows[145_000][7] = "昨天"
    rows[146_000][6] = "请@张三\u2005@李四\u2005@张三\u2005今天报数"
    rows[146_001][6] = "@王五\u3000x 收到"  # U+3000 is a space to Python's \\s, not to RE2's: no mention
    rows[147_000][2], rows[147_000][6] = "系统通知", '<revokemsg>"李四" 撤回了一条消息</revokemsg>'
    rows[148_000][2] = "图片"
    p = tmp_path / "wx.csv"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    p.write_text(buf.getvalue(), encoding="utf-8")
    s = import_paths(ws, [p], fmt="pywxdump_csv")
    assert s.parsed == n - 1 and s.duplicates == 1
    assert [k["where"] for k in s.skipped] == ["第 145001 条记录"]
    m = _messages(ws)
    assert (m.text == "t5").sum() == 1 and (m.text == "later copy").sum() == 0
    by_text = m.set_index("text")
    # the mentions SQL gives what common.mentions_in gives: first-seen order, Python's idea of a space
    assert list(by_text.loc["请@张三\u2005@李四\u2005@张三\u2005今天报数", "mentions"]) == [
        "raw:张三",
        "raw:李四",
    ]
    assert list(by_text.loc["@王五\u3000x 收到", "mentions"]) == []
    assert by_text.loc['"李四" 撤回了一条消息', "kind"] == "recall"
    assert by_text.loc["t148000", "kind"] == "image"
    assert (m.kind == "text").sum() == n - 4


def test_many_bad_records_are_all_counted_and_the_first_listed(ws, tmp_path):
    from zhijian.ingest.run import MAX_SKIPPED_LISTED

    row = [
        "",
        "G001",
        "群",
        "wx_li",
        "李四",
        "2026-05-06T09:00:00+08:00",
        "text",
        "x",
        "false",
        "[]",
        "",
        "false",
    ]
    rows = [[f"a{i}", *row[1:]] for i in range(10)]
    rows += [[f"b{i}", *row[1:5], "昨天", *row[6:]] for i in range(MAX_SKIPPED_LISTED + 40)]
    rows += [[f"c{i}", "", *row[2:]] for i in range(7)]
    write_demo(tmp_path / "d", messages=rows)
    s = import_paths(ws, [tmp_path / "d" / "messages"])
    assert s.messages == 10 and s.skipped_count == MAX_SKIPPED_LISTED + 47
    assert s.skipped_reasons == {"ts 不是 ISO 8601 时间": MAX_SKIPPED_LISTED + 40, "group_id 为空": 7}
    assert len(s.skipped) == MAX_SKIPPED_LISTED
    assert [k["where"] for k in s.skipped[:2]] == ["第 12 行", "第 13 行"] and s.skipped[-1][
        "where"
    ] == "第 211 行"


def test_cli_import_json_and_export(tmp_path):
    from typer.testing import CliRunner

    from zhijian.cli import app

    init_workspace(tmp_path / "w").close()
    folder = write_demo(tmp_path / "demo")
    r = CliRunner().invoke(app, ["import", str(folder), "--json", "-w", str(tmp_path / "w")])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["messages"] == 4 and d["system_messages"] == 1 and d["format"] == "mixed"
    r = CliRunner().invoke(app, ["import", str(folder), "-w", str(tmp_path / "w")])
    assert r.exit_code == 0 and "导入完成" in r.stdout
    r = CliRunner().invoke(app, ["export", "messages", "--format", "csv", "-w", str(tmp_path / "w")])
    assert r.exit_code == 0 and r.stdout.count("\n") == 7  # header + 5 rows, one with an embedded newline


def test_inventory_header_synonyms_gbk_csv(ws, tmp_path):
    """A county's own 摸底表 layout: other header names, a 序号 column, GBK CSV as Excel saves it."""
    folder = write_demo(tmp_path / "demo", messages=[])
    (folder / "工作群摸底表.xlsx").unlink()
    (folder / "政务应用摸底表.xlsx").unlink()
    (folder / "群成员.csv").unlink()  # its groups came from the removed 摸底表
    g = (
        "序号,工作群名称,所属平台,群主姓名,建群单位,建群目的/用途,群类型(固定/临时),建群日期,解散时间,群成员数,备案情况,备注说明\n"
        "1,东村防汛群,微信,王五,东村,防汛值守,临时,2025/6/1,汛期结束后解散,25,已备案,无\n"
    )
    (folder / "群摸底.csv").write_bytes(g.encode("gb18030"))
    a = (
        "应用程序名称,应用类型,建设单位,主要功能,是否有打卡功能,是否有积分,是否有排名,上线日期\n"
        "村务通,小程序,东镇,通知、填报,是,否,是,2024-03-01\n"
    )
    (folder / "应用清单.csv").write_text(a, encoding="utf-8-sig")
    s = import_paths(ws, [folder])
    assert s.inventory_groups == 1 and s.apps == 1
    assert s.unknown_headers == {str(folder / "群摸底.csv"): ["备注说明"]}
    with ws.store.session() as ses:
        g = ses.scalars(select(Group)).one()
        assert (g.name, g.owner_id, g.unit_id, g.group_type) == ("东村防汛群", "P003", "V1", "temporary")
        assert (
            g.end_date is None
            and g.end_condition == "汛期结束后解散"
            and g.registered
            and g.member_count == 25
        )
        assert g.created_on.isoformat() == "2025-06-01" and g.id.startswith("G-")
        app = ses.scalars(select(App)).one()
        assert app.features == ["checkin", "ranking"] and app.functions == ["通知", "填报"]
        assert app.platform == "miniprogram" and app.unit_id == "T1"
    again = import_paths(ws, [folder])  # upsert: same ids, nothing new
    assert again.inventory_groups == 1
    with ws.store.session() as ses:
        assert len(ses.scalars(select(Group)).all()) == 1


def test_membership_of_unknown_group_is_an_error(ws, tmp_path):
    folder = write_demo(tmp_path / "demo", messages=[])
    with open(folder / "群成员.csv", "a", encoding="utf-8") as f:
        f.write("G404,wx_li,成员,2025-01-05 09:00:00,\n")
    with pytest.raises(DataError) as e:
        import_paths(ws, [folder])
    assert "G404" in e.value.zh and e.value.where == "第 5 行"


def test_inventory_status_and_dissolution_columns(ws, tmp_path):
    """A 摸底表 handed in after a campaign: 状态 + 实际解散（关停）时间 set the store status and date; a later
    sheet without those columns keeps them; a contradictory row is refused with its line."""
    folder = write_demo(tmp_path / "demo", messages=[])
    for f in ("工作群摸底表.xlsx", "政务应用摸底表.xlsx", "群成员.csv"):
        (folder / f).unlink()
    g = (
        "群名称,所属单位,建群目的,群类型,状态,实际解散时间\n"
        "东村防汛群,东村,防汛值守,临时,已解散,2026-08-20\n"
        "东村工作群,东村,村务,固定,在用,\n"
        "东村党建群,东村,党建,固定,已合并,2026-08-03\n"
    )
    (folder / "群摸底.csv").write_text(g, encoding="utf-8-sig")
    a = "应用名称,主办单位,功能,关停时间\n村务通,东镇,通知,2026-09-01\n"
    (folder / "应用清单.csv").write_text(a, encoding="utf-8-sig")
    import_paths(ws, [folder])
    with ws.store.session() as ses:
        got = {
            x.name: (x.status, x.dissolved_on and x.dissolved_on.isoformat())
            for x in ses.scalars(select(Group))
        }
        assert got == {
            "东村防汛群": ("dissolved", "2026-08-20"),
            "东村工作群": ("active", None),
            "东村党建群": ("merged", "2026-08-03"),
        }
        app = ses.scalars(select(App)).one()
        assert (app.status, app.dissolved_on.isoformat()) == ("dissolved", "2026-09-01")
    # the same groups in a sheet without lifecycle columns: statuses stay as they are
    (folder / "应用清单.csv").unlink()
    (folder / "群摸底.csv").write_text(
        "群名称,所属单位,建群目的,群类型\n东村防汛群,东村,防汛值守,临时\n", encoding="utf-8"
    )
    import_paths(ws, [folder])
    with ws.store.session() as ses:
        assert ses.scalars(select(Group).where(Group.name == "东村防汛群")).one().status == "dissolved"
    (folder / "群摸底.csv").write_text(
        "群名称,状态,实际解散时间\n东村防汛群,在用,2026-08-20\n", encoding="utf-8"
    )
    with pytest.raises(ImportFormatError) as e:
        import_paths(ws, [folder])
    assert e.value.where == "第 2 行" and "矛盾" in e.value.zh
    (folder / "群摸底.csv").write_text("群名称,状态\n东村防汛群,不知道\n", encoding="utf-8")
    with pytest.raises(ImportFormatError) as e:
        import_paths(ws, [folder])
    assert e.value.where == "第 2 行" and "状态" in e.value.zh


def test_duplicate_prefilter_hashes_the_id_parts():
    """Two PyWxDump ids of a 1M-record file whose concatenated keys DuckDB hashes alike: the import's
    duplicate check (``run._dups``) must not count them as one id, and its 64-bit prefilter, which
    hashes the three parts, tells them apart without the exact count of the strings."""
    import duckdb

    from zhijian.ingest.run import _dups

    db = duckdb.connect()
    db.execute(
        "CREATE TABLE raw AS SELECT * FROM (VALUES ('wechat', '10000176@chatroom', '7437267147299924295'),"
        " ('wechat', '10000178@chatroom', '7437267147299744295')) t(platform, chat_key, native_id)"
    )
    key = "concat_ws(chr(31), platform, coalesce(chat_key, ''), native_id)"
    queries = []

    class Spy:
        def execute(self, sql):
            queries.append(sql)
            return db.execute(sql)

    # (DuckDB 2.0 hashes the two concatenations alike: _dups(db, "raw", key) needs the exact count)
    assert _dups(Spy(), "raw", key, "hash(platform, coalesce(chat_key, ''), native_id)") == 0
    assert len(queries) == 1
    db.execute("INSERT INTO raw VALUES ('wechat', '10000176@chatroom', '7437267147299924295')")
    assert _dups(db, "raw", key, "hash(platform, coalesce(chat_key, ''), native_id)") == 1
