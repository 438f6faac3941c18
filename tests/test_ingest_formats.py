"""Every chat-export fixture imports with exact counts, senders and first/last timestamps.

F = real files in ../shared/fixtures/exports (see SOURCES.md there); S = synthetic files under
tests/data/exports (README.md there: built from research/formats.md, for formats without a public sample).
Timestamps are local wall-clock times in the workspace zone (Asia/Shanghai)."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from zhijian.errors import ImportFormatError
from zhijian.ingest import import_paths
from zhijian.workspace import init_workspace

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT.parent / "shared" / "fixtures" / "exports"
SYN = Path(__file__).parent / "data" / "exports"
MAPS = {
    "generic/钉钉群记录_gbk.csv": {"ts": "时间", "group": "群名称", "sender": "发送人", "text": "内容"},
    "generic/dingtalk_robot.jsonl": {
        "ts": "createAt",
        "group": "conversationTitle",
        "sender": "senderStaffId",
        "sender_name": "senderNick",
        "text": "text.content",
        "message_id": "msgId",
    },
}

CASES = [
    (
        "F",
        "slack/slackdump_source_export.zip",
        "slack",
        15,
        1,
        ["UO0EC43A4792", "UO1D8E698D", "UOB5F987BF17", "UOF82F39AE"],
        "2025-01-10T11:08:34.897649",
        "2025-01-24T18:59:02.919259",
    ),
    (
        "F",
        "slack/zulip_message_with_workspace_mentions.json",
        "slack",
        1,
        0,
        ["U06NU4E26M9"],
        "2026-02-26T21:27:29.216879",
        "2026-02-26T21:27:29.216879",
    ),
    (
        "F",
        "slack/zulip_random_2017-06-25.json",
        "slack",
        1,
        1,
        ["U6006P1CN"],
        "2017-06-25T22:30:43.277604",
        "2017-06-25T22:31:11.279035",
    ),
    (
        "F",
        "telegram/chat-analytics_DM_2A_7M.json",
        "telegram_json",
        6,
        2,
        ["user300000000", "user700000000"],
        "2019-07-05T16:55:32",
        "2023-08-11T10:11:02",
    ),
    (
        "F",
        "wechat-pywxdump/weclone_example_chat.csv",
        "pywxdump_csv",
        34,
        1,
        ["xinglaifaxianzhe", "我"],
        "2023-08-12T23:22:41",
        "2023-08-13T14:15:14",
    ),
    (
        "F",
        "wechat-pywxdump/weclone_test_person_0_730.csv",
        "pywxdump_csv",
        96,
        0,
        ["12345iru2zsmo22", "test_person"],
        "2024-10-04T11:42:00",
        "2024-12-30T21:28:00",
    ),
    (
        "F",
        "whatsapp/chat-analytics_2A_5M.txt",
        "whatsapp_txt",
        5,
        0,
        ["A", "B"],
        "2021-01-01T12:00:00",
        "2021-01-01T12:03:00",
    ),
    (
        "F",
        "whatsapp/chat-analytics_4A_11M.txt",
        "whatsapp_txt",
        11,
        3,
        ["Alice", "Bob", "Eve", "Mallory", "Trent"],
        "2020-12-09T23:16:00",
        "2020-12-09T23:56:00",
    ),
    (
        "F",
        "whatsapp/chat-analytics_4A_11M.zip",
        "whatsapp_txt",
        11,
        3,
        ["Alice", "Bob", "Eve", "Mallory", "Trent"],
        "2020-12-09T23:16:00",
        "2020-12-09T23:56:00",
    ),
    (
        "F",
        "whatsapp/pustur_short-chat.txt",
        "whatsapp_txt",
        3,
        2,
        ["+410123456789", "Sample User", "TestBot"],
        "2017-03-06T00:45:00",
        "2017-05-08T01:48:00",
    ),
    (
        "F",
        "whatsapp/whatstk_example-12h-2.txt",
        "whatsapp_txt",
        18,
        2,
        ["Ash Ketchum", "Brock", "Jessie & James", "Meowth", "Misty", "Prof. Oak", "Raichu", "Wobbuffet"],
        "2016-04-15T15:04:00",
        "2016-10-31T23:45:00",
    ),
    (
        "F",
        "whatsapp/whatstk_example-12h.txt",
        "whatsapp_txt",
        18,
        2,
        ["Ash Ketchum", "Brock", "Jessie & James", "Meowth", "Misty", "Prof. Oak", "Raichu", "Wobbuffet"],
        "2016-04-15T15:04:00",
        "2016-10-31T23:45:00",
    ),
    (
        "F",
        "whatsapp/whatstk_lorem.txt",
        "whatsapp_txt",
        500,
        0,
        ["+1123456789", "Giuseppe", "John", "Mary"],
        "2020-01-15T02:22:56",
        "2020-05-11T22:32:48",
    ),
    (
        "S",
        "generic/dingtalk_robot.jsonl",
        "generic_jsonl",
        2,
        0,
        ["s001", "s002"],
        "2024-05-06T09:00:00",
        "2024-05-06T09:01:00",
    ),
    (
        "S",
        "generic/钉钉群记录_gbk.csv",
        "generic_csv",
        3,
        0,
        ["张三", "李四"],
        "2024-05-06T09:00:00",
        "2024-05-06T21:30:00",
    ),
    (
        "S",
        "memotrace/防汛工作群.csv",
        "memotrace_csv",
        4,
        1,
        ["李四", "王科长", "赵六"],
        "2024-05-06T09:12:00",
        "2024-05-06T21:40:00",
    ),
    (
        "S",
        "pywxdump/wxid_me_0_4.json",
        "pywxdump_json",
        3,
        1,
        ["wxid_li4", "wxid_me"],
        "2024-10-04T11:43:05",
        "2024-10-04T11:46:00",
    ),
    (
        "S",
        "telegram/result_account.json",
        "telegram_json",
        5,
        1,
        ["user1", "user101", "user102", "user103"],
        "2024-05-06T09:00:00",
        "2024-05-07T20:01:00",
    ),
    (
        "S",
        "wechatmsg/东镇工作群.html",
        "wechatmsg_html",
        6,
        0,
        ["我", "李四", "王科长"],
        "2023-11-15T09:20:34",
        "2023-11-15T09:28:20",
    ),
    (
        "S",
        "wechatmsg/东镇工作群.txt",
        "wechatmsg_txt",
        6,
        1,
        ["李四", "王科长", "赵六"],
        "2023-11-15T09:20:34",
        "2023-11-15T09:30:00",
    ),
    (
        "S",
        "wechatmsg/东镇工作群_utf8.csv",
        "wechatmsg_csv",
        8,
        1,
        ["wxid_abc123", "wxid_li4", "wxid_me"],
        "2023-11-15T09:20:34",
        "2023-11-15T09:30:00",
    ),
    (
        "S",
        "wecom/archive.jsonl",
        "wecom_json",
        28,
        1,
        [
            "XuJinSheng",
            "ken",
            "kenshin",
            "lisi",
            "wangwu",
            "wmExternal",
            "woJ7ijBwAAmqwojT8r_DaNMbr_NAvaag",
            "zhangsan",
        ],
        "2019-01-10T10:38:14.783000",
        "2024-05-06T09:37:20",
    ),
    (
        "S",
        "wecom/archive_array.json",
        "wecom_json",
        4,
        0,
        ["XuJinSheng", "ken", "kenshin", "woJ7ijBwAAmqwojT8r_DaNMbr_NAvaag"],
        "2019-01-10T10:38:14.783000",
        "2020-10-28T17:00:57.905000",
    ),
    (
        "S",
        "whatsapp/android_ambiguous.txt",
        "whatsapp_txt",
        2,
        0,
        ["A", "B"],
        "2021-04-03T09:00:00",
        "2021-06-05T10:00:00",
    ),
    (
        "S",
        "whatsapp/android_de_dotted.txt",
        "whatsapp_txt",
        3,
        1,
        ["Anna", "Bernd"],
        "2016-04-15T15:04:00",
        "2016-04-16T08:01:00",
    ),
    (
        "S",
        "whatsapp/android_zh_ampm.txt",
        "whatsapp_txt",
        4,
        1,
        ["张三", "李四", "王五"],
        "2024-05-06T09:00:00",
        "2024-05-07T00:10:00",
    ),
    (
        "S",
        "whatsapp/ios_bracketed_12h.txt",
        "whatsapp_txt",
        5,
        2,
        ["+8613800000001", "张三", "李四"],
        "2023-12-25T10:30:45",
        "2023-12-26T09:01:00",
    ),
]


@pytest.fixture
def ws(tmp_path):
    w = init_workspace(tmp_path / "ws")
    yield w
    w.close()


def _msgs(ws):
    return ws.lake().table("messages").execute().sort_values(["ts", "message_id"]).reset_index(drop=True)


@pytest.mark.parametrize("where,rel,fmt,n,n_sys,senders,first,last", CASES, ids=[c[1] for c in CASES])
def test_fixture_imports_exactly(ws, where, rel, fmt, n, n_sys, senders, first, last):
    path = (FIX if where == "F" else SYN) / rel
    if where == "F" and not path.exists():
        pytest.skip("shared fixtures not available")
    s = import_paths(ws, [path], mapping=MAPS.get(rel))
    assert s.format == fmt
    assert (s.messages, s.system_messages) == (n, n_sys)
    assert s.skipped_count == (1 if rel == "wecom/archive.jsonl" else 0)  # the WeCom 'switch' log record
    m = _msgs(ws)
    assert len(m) == n + n_sys
    assert sorted(x[4:] for x in set(m.sender_id.dropna())) == senders
    assert m.local_ts.min() == datetime.fromisoformat(first)
    assert m.local_ts.max() == datetime.fromisoformat(last)
    assert set(m.kind) <= {
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
    # idempotent for every format: a second import adds nothing
    s2 = import_paths(ws, [path], mapping=MAPS.get(rel))
    assert s2.messages == 0 and s2.system_messages == 0 and s2.duplicates == n + n_sys


def _row(m, text_prefix):
    hit = m[m.text.fillna("").str.startswith(text_prefix)]
    assert len(hit) == 1, (text_prefix, list(m.text))
    return hit.iloc[0]


def test_wechat_details(ws):
    import_paths(ws, [SYN / "wechatmsg" / "东镇工作群_utf8.csv"])
    m = _msgs(ws)
    r = _row(m, "@所有人")
    assert r.at_all and r.kind == "text" and r.sender_id == "raw:wxid_abc123" and r.sender_name == "王某某"
    assert list(_row(m, "@王某某").mentions) == ["raw:王某某"]
    assert _row(m, '"李四" 撤回').kind == "recall"
    assert _row(m, "<msg><appmsg><title>#接龙").kind == "solitaire"
    assert set(m.kind) == {"text", "recall", "image", "solitaire", "file", "system"}


def test_pywxdump_quote_keeps_reply_only_and_excel_times(ws):
    import_paths(ws, [FIX / "wechat-pywxdump" / "weclone_test_person_0_730.csv"])
    m = _msgs(ws)
    assert not m.text.fillna("").str.contains(r"\[引用\]").any()
    assert (
        (m.kind == "recall").sum() == 2 and (m.kind == "other").sum() == 23 and (m.kind == "image").sum() == 5
    )
    assert m.message_id.is_unique


def test_wecom_every_msgtype(ws):
    import_paths(ws, [SYN / "wecom" / "archive.jsonl"])
    m = _msgs(ws)
    assert _row(m, "@所有人 请今天下班前").at_all
    assert _row(m, "群聊\ntest").kind == "forward" and _row(m, "群聊\ntest").forwarded
    assert _row(m, "撤回了一条消息").kind == "recall"
    assert _row(m, "#接龙 报平安").kind == "solitaire"
    assert _row(m, "人员信息统计\n姓名\n手机号").kind == "text"  # 填表 (collect)
    assert _row(m, "周末值班安排\n周六\n周日").kind == "text"  # vote
    assert _row(m, "防汛值班表.xlsx").kind == "file"
    assert _row(m, "恭喜发财").kind == "other"  # external_redpacket (payload key 'redpacket')
    # one-to-one chats get a stable chat of both parties; group chats the roomid
    assert m.group_id.nunique() == 4


def test_telegram_account_reply_and_forward(ws):
    s = import_paths(ws, [SYN / "telegram" / "result_account.json"])
    assert s.groups == 2 and any("2 个会话" in w for w in s.warnings)
    m = _msgs(ws)
    q = _row(m, "请@lisi")
    assert list(q.mentions) == ["raw:lisi"]
    assert _row(m, "收到").reply_to == q.message_id
    assert m[m.kind == "image"].iloc[0].forwarded


def test_slack_threads_mentions_at_all(ws):
    import_paths(ws, [FIX / "slack" / "slackdump_source_export.zip"])
    m = _msgs(ws)
    assert (m.kind == "recall").sum() == 1 and (m.kind == "system").sum() == 1
    assert m.reply_to.notna().sum() == 4  # the 4 thread replies point to their parent
    assert set(m.reply_to.dropna()) <= set(m.message_id)
    ws2 = init_workspace(ws.root.parent / "ws2")
    import_paths(ws2, [FIX / "slack" / "zulip_message_with_workspace_mentions.json"])
    assert _msgs(ws2).iloc[0].at_all
    ws2.close()


def test_whatsapp_variants(ws):
    import_paths(ws, [SYN / "whatsapp" / "ios_bracketed_12h.txt"])
    m = _msgs(ws)
    assert _row(m, "请大家今晚8点前报平安").text == "请大家今晚8点前报平安\n第二行说明"
    assert (
        m.iloc[0].kind == "system"
        and m.iloc[0].sender_id is None
        or str(m.iloc[0].sender_id) in ("None", "nan")
    )
    assert _row(m, "张三 changed the subject").kind == "system"
    assert _row(m, "image omitted").kind == "image" and _row(m, "This message was deleted").kind == "recall"
    assert list(_row(m, "@李四").mentions) == ["raw:李四"]


def test_whatsapp_date_order_forced(tmp_path):
    p = SYN / "whatsapp" / "android_ambiguous.txt"
    a = init_workspace(tmp_path / "a")
    s = import_paths(a, [p])
    assert any("--date-order" in w for w in s.warnings)
    b = init_workspace(tmp_path / "b")
    s2 = import_paths(b, [p], date_order="mdy")
    assert not s2.warnings
    assert _msgs(b).local_ts.min() == datetime(2021, 3, 4, 9, 0)
    assert _msgs(a).local_ts.min() == datetime(2021, 4, 3, 9, 0)
    a.close()
    b.close()


def test_whatsapp_12h_variants_agree():
    # "3:04 PM" and "3:04 p.m." give the same instants
    from zhijian.ingest.whatsapp import HEADER, _hour, _parts

    for line in (
        "2016-04-15, 3:04 PM - A: x",
        "2016-04-15, 3:04 p.m. - A: x",
        "[2016/04/15 15:04] A: x",
        "2016/4/15 下午3:04 - A: x",
        "15.04.2016, 15:04 - A: x",
    ):
        d, ampm, h, mi, _s, rest = _parts(HEADER.match(line))
        assert (_hour(h, ampm), mi, rest) == (15, 4, "A: x"), line


def test_memotrace_xlsx(ws, tmp_path):
    rows = list(csv.reader((SYN / "memotrace" / "防汛工作群.csv").open(encoding="utf-8-sig")))
    wb = Workbook()
    sh = wb.active
    sh.title = "聊天记录"
    for r in rows:
        sh.append(r)
    wb.create_sheet("成员信息").append(["wxid", "昵称"])
    p = tmp_path / "防汛工作群.xlsx"
    wb.save(p)
    s = import_paths(ws, [p])
    assert s.format == "memotrace_xlsx" and (s.messages, s.system_messages) == (4, 1)
    # the same chat as the CSV: ids come from 消息ID, so importing the CSV adds nothing
    s2 = import_paths(ws, [SYN / "memotrace" / "防汛工作群.csv"])
    assert s2.duplicates == 5 and s2.messages == 0


def test_senders_resolve_through_roster(ws, tmp_path):
    roster = tmp_path / "花名册.csv"
    roster.write_text(
        "人员编号,姓名,单位,职务,微信号,企业微信ID,手机号\nP1,王某某,,,wxid_abc123,,\nP2,李四,,,,,\n",
        encoding="utf-8",
    )
    s = import_paths(ws, [roster, SYN / "wechatmsg" / "东镇工作群_utf8.csv"])
    m = _msgs(ws)
    # P1 by 微信号; P2 by the unique exact name 李四 (the export's nickname); wxid_me matches nobody
    assert set(m.sender_id.dropna()) == {"P1", "P2", "raw:wxid_me"}
    assert s.people_matched == 2 and s.people_unmatched == 1
    assert list(_row(m, "@王某某").mentions) == ["P1"]  # unique roster name
    assert s.unmatched_senders == [{"sender": "raw:wxid_me", "name": "", "messages": 1}]


def test_folder_with_mixed_formats_is_one_batch(ws):
    s = import_paths(ws, [SYN / "whatsapp", SYN / "wechatmsg" / "东镇工作群.txt"])
    assert s.format == "mixed" and len(s.files) == 5
    assert len({b for b in _msgs(ws).batch_id}) == 1


def test_gbk_whatsapp_is_detected(ws, tmp_path):
    p = tmp_path / "WhatsApp Chat with 防汛群.txt"
    p.write_bytes((SYN / "whatsapp" / "android_zh_ampm.txt").read_text(encoding="utf-8").encode("gb18030"))
    s = import_paths(ws, [p])
    assert s.files[0]["encoding"] == "GB18030/GBK" and s.messages == 4
    from zhijian.store.models import Group

    with ws.store.session() as ses:
        assert ses.get(Group, _msgs(ws).group_id[0]).name == "防汛群"


def test_llm_json_is_rejected(ws, tmp_path):
    p = tmp_path / "train.json"
    p.write_text('[{"conversations": [{"role": "user", "content": "你好"}]}]', encoding="utf-8")
    with pytest.raises(ImportFormatError) as e:
        import_paths(ws, [p])
    assert "训练数据" in e.value.zh


def test_pywxdump_csv_vectorised_path(ws, tmp_path):
    """The DuckDB reader of PyWxDump CSV: GBK, Excel times, @mentions, quote, 2.x content JSON, bad time."""
    rows = [
        ["id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "msg", "src", "CreateTime"],
        [
            "1",
            "8192964515963336399",
            "文本",
            "0",
            "wxid_a",
            "9@chatroom",
            "@所有人\u2005请报送",
            "",
            "2024/10/4 9:05",
        ],
        [
            "2",
            "8.19296E+18",
            "文本",
            "0",
            "wxid_b",
            "9@chatroom",
            "@张三\u2005收到 @李四 好",
            "",
            "2024-10-04 09:06:00",
        ],
        [
            "3",
            "8192964515963336401",
            "引用回复",
            "1",
            "wxid_me",
            "9@chatroom",
            "好的\n\n[引用](2024-10-04 09:05:00)张三:@所有人 请报送",
            "",
            "2024-10-04 09:07:00",
        ],
        [
            "4",
            "8192964515963336402",
            "系统通知",
            "0",
            "系统",
            "9@chatroom",
            '"张三"邀请"王五"加入了群聊',
            "",
            "2024-10-04 09:08:00",
        ],
        ["5", "8192964515963336403", "文本", "0", "wxid_a", "9@chatroom", "坏时间", "", "昨天"],
    ]
    p = tmp_path / "wxid_me_0_5.csv"
    with open(p, "w", encoding="gb18030", newline="") as f:
        csv.writer(f).writerows(rows)
    s = import_paths(ws, [p])
    assert s.format == "pywxdump_csv" and s.files[0]["encoding"] == "GB18030/GBK"
    assert (s.messages, s.system_messages, s.skipped_count) == (3, 1, 1)
    assert s.skipped[0]["reason"].startswith("时间无法识别")
    m = _msgs(ws)
    assert _row(m, "@所有人").at_all and list(_row(m, "@所有人").mentions) == []
    assert sorted(_row(m, "@张三").mentions) == ["raw:张三", "raw:李四"]
    assert _row(m, "好的").text == "好的"
    sysrow = m[m.kind == "system"].iloc[0]
    assert sysrow.sender_id is None or str(sysrow.sender_id) in ("None", "nan")
    assert m.local_ts.min() == datetime(2024, 10, 4, 9, 5)
    # the Excel-mangled id falls back to a content hash; the others are stable native ids
    assert s2_dups(ws, p) == 4


def s2_dups(ws, p):
    return import_paths(ws, [p]).duplicates


def test_overlapping_exports_in_one_call_merge(ws, tmp_path):
    """Two exports of the same WhatsApp chat, overlapping by two messages, in one import: no duplicates."""
    lines = (SYN / "whatsapp" / "android_zh_ampm.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "WhatsApp Chat with 防汛群.txt").write_text("".join(lines[:3]), encoding="utf-8")
    (tmp_path / "b" / "WhatsApp Chat with 防汛群.txt").write_text("".join(lines[1:]), encoding="utf-8")
    s = import_paths(ws, [tmp_path / "a", tmp_path / "b"])
    assert s.messages + s.system_messages == 5 and s.duplicates == 2
    s2 = import_paths(ws, [SYN / "whatsapp" / "android_zh_ampm.txt"])  # other file name: another chat
    assert s2.messages + s2.system_messages == 5


def test_whatsapp_bad_lines_are_skipped_with_line_numbers(ws, tmp_path):
    p = tmp_path / "WhatsApp Chat with X.txt"
    p.write_text(
        "导出说明：这一行不是消息\n13/01/2021, 09:00 - A: 第一条\n续行\n31/02/2021, 09:01 - B: 不存在的日期\n"
        "14/01/2021, 25:00 - B: 不存在的时间\n14/01/2021, 10:00 - A: 最后一条",
        encoding="utf-8",
    )
    s = import_paths(ws, [p])
    assert s.messages == 2
    assert [(k["where"], k["reason"][:7]) for k in s.skipped] == [
        ("第 1 行", "文件开头不是消"),
        ("第 4 行", "日期或时间无效"),
        ("第 5 行", "日期或时间无效"),
    ]
    assert _row(_msgs(ws), "第一条").text == "第一条\n续行"


WA_FILES = [c[1] for c in CASES if c[2] == "whatsapp_txt" and not c[1].endswith(".zip")]


@pytest.mark.parametrize("rel", WA_FILES)
def test_whatsapp_vectorised_reader_matches_reference(tmp_path, monkeypatch, rel):
    """The DuckDB reader and the per-message Python reader give the same lake rows."""
    from zhijian.ingest import chats, whatsapp

    path = (FIX if (FIX / rel).exists() else SYN) / rel
    if not path.exists():
        pytest.skip("fixture not available")
    out = []
    for i, reader in enumerate((whatsapp.whatsapp_txt, whatsapp.whatsapp_txt_python)):
        monkeypatch.setitem(chats.HANDLERS, "whatsapp_txt", reader)
        w = init_workspace(tmp_path / f"w{i}")
        s = import_paths(w, [path])
        m = _msgs(w)
        out.append(
            (
                s.messages,
                s.system_messages,
                s.skipped,
                s.warnings,
                [
                    (r.message_id, r.sender_id, r.ts, r.kind, r.text, list(r.mentions), r.at_all)
                    for r in m.itertuples()
                ],
            )
        )
        w.close()
    assert out[0] == out[1]
