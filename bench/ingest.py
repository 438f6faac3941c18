"""Import throughput: MB/s, messages/s and peak RSS per format on generated files, plus whatstk
(from PyPI) parsing the same WhatsApp file for a side-by-side ratio.

    .venv/bin/python bench/ingest.py                      # 1M messages per format (issue 3)
    .venv/bin/python bench/ingest.py --messages 200000    # a quicker run
    .venv/bin/python bench/ingest.py --formats canonical_csv,whatsapp_txt
    .venv/bin/python bench/ingest.py --messages 200000,1000000   # peak RSS at two sizes
    ZHIJIAN_IMPORT_MEMORY=64MB .venv/bin/python bench/ingest.py --messages 200000,1000000

    .venv/bin/python bench/ingest.py --formats canonical_csv,canonical_jsonl --cli   # + end-to-end CLI

Each import runs ``--runs`` times (default 3), each in its own process and fresh workspace, so peak RSS is
per format; wall and CPU seconds are the medians of the runs, peak RSS the largest. It is also sampled per
phase ("parse": reading the file into the staging table, which streaming keeps flat; "finish": ids and
the lake write). The staging DuckDB holds up to ``ZHIJIAN_IMPORT_MEMORY`` (default 384 MB) while
reading and ``ZHIJIAN_IMPORT_FINISH_MEMORY`` (default 384 MB) while finishing before it spills to
disk, so below those the RSS still grows with the staged rows; a smaller reading limit shows the
readers' own footprint. "MB/cpu-s" is the file size over the process CPU time: on a shared machine
(load average above the core count) wall-clock MB/s mostly measures the other work, CPU time much
less so. ``--cli`` also times ``zhijian import --json`` end to end in a fresh workspace (interpreter start,
module imports, the import itself, the summary): the figure a user sees. Files are generated into a temporary folder (``--keep DIR`` keeps them). Texts are Chinese
work-group messages of realistic length; 300 groups, 1,500 senders; ``telegram_account``
is a whole-account export (20 chats), ``slack`` an export folder (20 channels of day files, its MB
the sum of its files), the other JSON files one array.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

TEXTS = [
    "请各单位于今天下午五点前报送本周工作总结，收到请回复。",
    "收到",
    "好的",
    "@所有人\u2005明天上午九点在三楼会议室召开防汛工作会议，请准时参加。",
    "已报送",
    "请大家在群里接龙报平安：\n1. 张三 平安\n2. 李四 平安",
    "关于做好近期安全生产工作的通知，请各村认真学习并转发到各自的工作群。",
    "今天的学习强国积分请截图发到群里。",
    "1",
    "收到，马上落实",
]
BASE = datetime(2026, 1, 1, 8, 0, 0)


def _rows(n: int, seed: int = 1):
    rnd = random.Random(seed)
    for i in range(n):
        g = rnd.randrange(300)
        u = rnd.randrange(1500)
        ts = BASE + timedelta(seconds=i * 15 + rnd.randrange(10))
        yield i, g, u, ts, TEXTS[rnd.randrange(len(TEXTS))]


def gen_canonical_csv(path: Path, n: int) -> None:
    import csv

    from zhijian.ingest.canonical import COLUMNS

    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)  # the canonical header, as zhijian export writes it
        for i, g, u, ts, text in _rows(n):
            w.writerow(
                [
                    f"m{i:09d}",
                    f"G{g:04d}",
                    f"工作群{g}",
                    f"wx{u:05d}",
                    f"干部{u}",
                    ts.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
                    "text",
                    text,
                    "true" if text.startswith("@所有人") else "false",
                    "[]",
                    "",
                    "false",
                ]
            )


def gen_canonical_jsonl(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i, g, u, ts, text in _rows(n):
            f.write(
                json.dumps(
                    {
                        "message_id": f"m{i:09d}",
                        "group_id": f"G{g:04d}",
                        "group_name": f"工作群{g}",
                        "sender_id": f"wx{u:05d}",
                        "sender_name": f"干部{u}",
                        "ts": ts.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
                        "kind": "text",
                        "text": text,
                        "at_all": text.startswith("@所有人"),
                        "mentions": [],
                        "reply_to": None,
                        "forwarded": False,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )


def gen_pywxdump_csv(path: Path, n: int) -> None:
    import csv

    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "msg", "src", "CreateTime"]
        )
        for i, g, u, ts, text in _rows(n):
            w.writerow(
                [
                    i + 1,
                    7437267147299592543 + i,
                    "文本",
                    0,
                    f"wxid_{u:05d}",
                    f"{10000000 + g}@chatroom",
                    text,
                    "",
                    ts.strftime("%Y-%m-%d %H:%M:%S"),
                ]
            )


def gen_wecom_jsonl(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i, g, u, ts, text in _rows(n):
            f.write(
                json.dumps(
                    {
                        "msgid": f"{17955920891003447432 + i}_{int(ts.timestamp())}",
                        "action": "send",
                        "from": f"user{u:05d}",
                        "tolist": ["a", "b"],
                        "roomid": f"wr{g:08d}",
                        "msgtime": int(ts.timestamp() * 1000),
                        "msgtype": "text",
                        "text": {"content": text},
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )


def gen_whatsapp_txt(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for _i, _g, u, ts, text in _rows(n):
            f.write(f"{ts:%d/%m/%Y}, {ts:%H:%M} - 干部{u}: {text}\n")


def gen_telegram_json(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"name": "工作群", "type": "private_supergroup", "id": 1700000001, "messages": [\n')
        for i, _g, u, ts, text in _rows(n):
            f.write(("," if i else "") + _tg_message(i, u, ts, text) + "\n")
        f.write("]}\n")


def _tg_message(i: int, u: int, ts, text: str) -> str:
    """One Telegram Desktop message object, as JSON."""
    return json.dumps(
        {
            "id": i + 1,
            "type": "message",
            "date": ts.strftime("%Y-%m-%dT%H:%M:%S"),
            "date_unixtime": str(int(ts.timestamp())),
            "from": f"干部{u}",
            "from_id": f"user{u}",
            "text": text,
            "text_entities": [{"type": "plain", "text": text}],
        },
        ensure_ascii=False,
    )


def gen_telegram_account(path: Path, n: int, chats: int = 20) -> None:
    """A whole-account export (``chats.list``): the shape that used to be loaded whole."""
    per = -(-n // chats)
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            '{"about": "Here is the data you requested.", "personal_information": {"user_id": 1, "first_name": "王"},\n'
            ' "contacts": {"about": "", "list": [{"first_name": "李", "phone_number": "+86 138 0000 0000"}]},\n'
            ' "chats": {"about": "", "list": [\n'
        )
        rows = _rows(n)
        for c in range(chats):
            f.write(
                ("," if c else "")
                + json.dumps(
                    {"name": f"工作群{c}", "type": "private_supergroup", "id": 1700000000 + c},
                    ensure_ascii=False,
                )[:-1]
                + ', "messages": [\n'
            )
            for k in range(per):
                row = next(rows, None)
                if row is None:
                    break
                i, _g, u, ts, text = row
                f.write(("," if k else "") + _tg_message(i, u, ts, text) + "\n")
            f.write("]}\n")
        f.write(']}, "left_chats": {"about": "", "list": []}}\n')


def gen_pywxdump_json(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n")
        for i, g, u, ts, text in _rows(n):
            f.write(
                ("," if i else "")
                + json.dumps(
                    {
                        "id": i + 1,
                        "MsgSvrID": str(7437267147299592543 + i),
                        "type_name": "文本",
                        "is_sender": 0,
                        "talker": f"wxid_{u:05d}",
                        "room_name": f"{10000000 + g}@chatroom",
                        "msg": text,
                        "src": "",
                        "CreateTime": ts.strftime("%Y-%m-%d %H:%M:%S"),
                    },
                    ensure_ascii=False,
                    indent=2,
                )
                + "\n"
            )
        f.write("]\n")


def _js(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def gen_wechatmsg_csv(path: Path, n: int) -> None:
    """WeChatMsg/留痕 ≤0.2.x CSV of one group chat (its header, as tests/data/exports/wechatmsg)."""
    import csv

    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["localId", "TalkerId", "Type", "SubType", "IsSender", "CreateTime", "Status", "StrContent",
             "StrTime", "Remark", "NickName", "Sender"]
        )  # fmt: skip
        for i, _g, u, ts, text in _rows(n):
            w.writerow(
                [i + 1, 5, 1, 0, 0, int(ts.timestamp()), "", text, ts.strftime("%Y-%m-%d %H:%M:%S"), "",
                 f"干部{u}", f"wxid_{u:05d}"]
            )  # fmt: skip


def gen_memotrace_csv(path: Path, n: int) -> None:
    """MemoTrace ≥2 CSV of one group chat (its header, as tests/data/exports/memotrace)."""
    import csv

    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["消息ID", "类型", "发送人", "时间", "内容", "备注", "昵称", "更多信息"])
        for i, _g, u, ts, text in _rows(n):
            w.writerow(
                [7437267147299592543 + i, "文本", f"wxid_{u:05d}", ts.strftime("%Y-%m-%d %H:%M:%S"), text, "",
                 f"干部{u}", ""]
            )  # fmt: skip


def gen_generic_csv(path: Path, n: int) -> None:
    """A DingTalk group's records as a spreadsheet lists them, imported with ``--map`` (MAPPINGS)."""
    import csv

    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["时间", "群名称", "发送人", "昵称", "内容"])
        for _i, g, u, ts, text in _rows(n):
            w.writerow([ts.strftime("%Y-%m-%d %H:%M:%S"), f"工作群{g}", f"staff{u:05d}", f"干部{u}", text])


def gen_generic_jsonl(path: Path, n: int) -> None:
    """DingTalk robot callbacks, one JSON object per line, imported with ``--map`` (MAPPINGS)."""
    with open(path, "w", encoding="utf-8") as f:
        for i, g, u, ts, text in _rows(n):
            rec = {
                "msgId": f"msg{i:09d}",
                "createAt": int(ts.timestamp() * 1000),
                "conversationTitle": f"工作群{g}",
                "senderStaffId": f"staff{u:05d}",
                "senderNick": f"干部{u}",
                "text": {"content": text},
                "msgtype": "text",
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def gen_wechatmsg_html(path: Path, n: int) -> None:
    """WeChatMsg ≤0.2.x HTML: one JS object literal per message inside ``const chatMessages = [ … ]``."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>工作群</title></head><body>\n<script>\n'
            "/*注意看这是分割线*/\nconst chatMessages = [\n"
        )
        for _i, _g, u, ts, text in _rows(n):
            f.write(
                f"{{ type:1, text: {_js(text)}, is_send:0, avatar_path:'./avatar/{u}.png', "
                f"timestamp:{int(ts.timestamp())}, is_chatroom:1, displayname:'干部{u}'}},\n"
            )
        f.write("];\n/*注意看这是分割线*/\nfunction render(){}\n</script></body></html>\n")


#: the Slack generator's channels and the share of messages of each kind of markup
SLACK_CHANNELS = 20
SLACK_MARKUP = [
    "<@{u}> 请看一下这份通知",
    "<@{u}|{name}> 收到，马上落实",
    "<!channel> 明天上午九点开会，请准时参加。",
    "<!here> 今天的材料请在五点前报送",
    "通知全文见 <https://example.gov.cn/notice?id={i}&amp;from=slack|通知全文>",
    "<https://example.gov.cn/doc/{i}>",
    "A &amp; B 两个村 &lt;本周&gt; 的报表已汇总",
    "请到 <#C0000001|general> 频道查看",
]


def _slack_message(i: int, u: int, ts: str, text: str, rnd: random.Random, thread: str | None) -> dict:
    """One message of a Slack export day file, with the fields Slack writes."""
    uid = f"U{u:08d}"
    r = rnd.random()
    if r < 0.25:  # Slack markup: mentions, @channel/@here, links, entities
        text = rnd.choice(SLACK_MARKUP).format(u=f"U{rnd.randrange(1500):08d}", name=f"干部{u}", i=i)
    m: dict = {"client_msg_id": f"{i:08x}-9879-1093-8ce7-c20b00ad3096", "type": "message"}
    if r > 0.995:
        m.update(subtype="channel_join", user=uid, text=f"<@{uid}> has joined the channel")
    elif r > 0.985:
        m.update(
            subtype="bot_message", bot_id="B00000001", username="监控机器人", text="【告警】水位超过警戒线"
        )
    else:
        m.update(user=uid, text=text)
    m["ts"] = ts
    if thread:
        m["thread_ts"] = thread
    m["team"] = "T00000001"
    if 0.96 < r <= 0.975:  # a file (an image or a document), sometimes without text
        img = r < 0.968
        m["files"] = [
            {
                "id": f"F{i:08d}",
                "created": int(float(ts)),
                "name": "现场照片.jpg" if img else "防汛工作方案.docx",
                "title": "现场照片" if img else "防汛工作方案",
                "mimetype": "image/jpeg" if img else "application/msword",
                "filetype": "jpg" if img else "docx",
                "size": 123456,
                "url_private": f"https://files.slack.com/files-pri/T00000001-F{i:08d}/x",
            }
        ]
        if r < 0.964:
            m["text"] = ""
    elif 0.975 < r <= 0.985:  # a link preview or a shared message
        share = r < 0.978
        m["attachments"] = [
            {
                "fallback": "关于做好近期安全生产工作的通知",
                "title": "" if share else "安全生产工作的通知",
                "from_url": f"https://example.gov.cn/a/{i}",
                "text": "正文摘要",
                **({"is_share": True, "is_msg_unfurl": True} if share else {}),
            }
        ]
        m["text"] = ""
    if "user" in m and "subtype" not in m:
        m["blocks"] = [
            {
                "type": "rich_text",
                "block_id": f"b{i % 9973}",
                "elements": [
                    {
                        "type": "rich_text_section",
                        "elements": [{"type": "broadcast", "range": "channel"}]
                        if m["text"].startswith("<!channel>")
                        else [{"type": "text", "text": m["text"]}],
                    }
                ],
            }
        ]
        m["user_team"] = "T00000001"
        m["user_profile"] = {
            "avatar_hash": "g0123456789a",
            "image_72": f"https://avatars.slack-edge.com/{u}_72.png",
            "first_name": "",
            "real_name": f"干部{u}",
            "display_name": "" if u % 7 == 0 else f"小{u}",
            "team": "T00000001",
            "name": f"ganbu{u}",
            "is_restricted": False,
            "is_ultra_restricted": False,
        }
    return m


def gen_slack(path: Path, n: int, channels: int = 0) -> None:
    """A Slack workspace export folder: channels.json, users.json (1,500 users) and one folder per
    channel (``channels``, default SLACK_CHANNELS) of YYYY-MM-DD.json day files, pretty-printed with
    escaped slashes as Slack writes them. A quarter of the texts carry Slack markup (SLACK_MARKUP); one message in ten
    is a thread reply; a few are files, link previews, shared messages, joins and bot messages."""
    from datetime import UTC

    rnd = random.Random(7)
    channels = channels or SLACK_CHANNELS
    path.mkdir(parents=True, exist_ok=True)
    chans = [{"id": f"C{c:07d}", "name": "general" if c == 1 else f"工作群-{c}", "created": 1700000000}
             for c in range(1, channels + 1)]  # fmt: skip
    users = [
        {"id": f"U{u:08d}", "name": f"ganbu{u}", "real_name": f"干部{u}",
         "profile": {"display_name": "" if u % 7 == 0 else f"小{u}", "real_name": f"干部{u}"}}
        for u in range(1500)
    ]  # fmt: skip

    def dump(obj) -> str:
        return json.dumps(obj, ensure_ascii=False, indent=4).replace("/", "\\/")

    (path / "channels.json").write_text(dump(chans), encoding="utf-8")
    (path / "users.json").write_text(dump(users), encoding="utf-8")
    days: dict[tuple[str, str], list[dict]] = {}
    recent: dict[str, list[str]] = {}
    for i, g, u, ts, text in _rows(n):
        ch = chans[g % channels]["name"]
        t = ts.replace(tzinfo=UTC)
        tss = f"{int(t.timestamp())}.{(i * 7919) % 1000000:06d}"
        past = recent.setdefault(ch, [])
        thread = rnd.choice(past) if past and rnd.random() < 0.1 else None
        past.append(tss)
        del past[:-50]
        days.setdefault((ch, t.strftime("%Y-%m-%d")), []).append(_slack_message(i, u, tss, text, rnd, thread))
    for (ch, day), msgs in days.items():
        (path / ch).mkdir(exist_ok=True)
        (path / ch / f"{day}.json").write_text(dump(msgs), encoding="utf-8")


GENERATORS = {
    "canonical_csv": ("messages.csv", gen_canonical_csv),
    "canonical_jsonl": ("messages.jsonl", gen_canonical_jsonl),
    "pywxdump_csv": ("wxid_me_0_n.csv", gen_pywxdump_csv),
    "wecom_json": ("archive.jsonl", gen_wecom_jsonl),
    "whatsapp_txt": ("WhatsApp Chat with 工作群.txt", gen_whatsapp_txt),
    "telegram_json": ("result.json", gen_telegram_json),
    "telegram_account": ("account/result.json", gen_telegram_account),
    "pywxdump_json": ("wxid_me_0_n.json", gen_pywxdump_json),
    "wechatmsg_csv": ("工作群_utf8.csv", gen_wechatmsg_csv),
    "memotrace_csv": ("工作群.csv", gen_memotrace_csv),
    "generic_csv": ("钉钉群记录.csv", gen_generic_csv),
    "generic_jsonl": ("dingtalk_robot.jsonl", gen_generic_jsonl),
    "wechatmsg_html": ("工作群.html", gen_wechatmsg_html),
    "slack": ("slack_export", gen_slack),
    # the same messages in 300 channels: 15x the day files, a few KB each (DuckDB's reader is then
    # given them in pieces: slack._pieces)
    "slack_small_files": ("slack_export", lambda path, n: gen_slack(path, n, channels=300)),
}
#: ``--map`` of the generic formats
MAPPINGS = {
    "generic_csv": {
        "ts": "时间",
        "group": "群名称",
        "sender": "发送人",
        "sender_name": "昵称",
        "text": "内容",
    },
    "generic_jsonl": {
        "ts": "createAt",
        "group": "conversationTitle",
        "sender": "senderStaffId",
        "sender_name": "senderNick",
        "text": "text.content",
        "message_id": "msgId",
        "kind": "msgtype",
    },
}

#: the child scripts' peak RSS: their own VmHWM (Linux carries ru_maxrss across exec, so it would
#: also count the benchmark's forked parent, which holds the generated export: 2 GB for Slack)
HWM = r"""
def hwm_mb():
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) for x in f if x.startswith("VmHWM:")) / 1024
"""

CHILD = (
    HWM
    + r"""
import json, resource, sys, threading, time
from pathlib import Path
from zhijian.workspace import init_workspace
from zhijian.ingest import import_paths
from zhijian.ingest.run import ImportRun

# peak RSS per phase, sampled from /proc every 20 ms: "parse" = reading the file into the staging
# table (what streaming keeps flat), "finish" = resolving ids and writing the lake batch
PAGE = resource.getpagesize()
peak = {"parse": 0, "finish": 0}
phase = ["parse"]
stop = threading.Event()

def sample():
    with open("/proc/self/statm") as f:
        while not stop.is_set():
            f.seek(0)
            rss = int(f.read().split()[1]) * PAGE
            if rss > peak[phase[0]]:
                peak[phase[0]] = rss
            time.sleep(0.02)

finish = ImportRun.finish_messages
def finish_messages(self):
    phase[0] = "finish"
    return finish(self)
ImportRun.finish_messages = finish_messages

ws = init_workspace(Path(sys.argv[1]))
threading.Thread(target=sample, daemon=True).start()
t = time.perf_counter()
c = time.process_time()
s = import_paths(ws, [Path(sys.argv[2])], mapping=json.loads(sys.argv[3]) if len(sys.argv) > 3 else None)
dt = time.perf_counter() - t
stop.set()
print(json.dumps({"seconds": dt, "cpu": time.process_time() - c, "messages": s.messages + s.system_messages,
                  "format": s.format, "rss_mb": hwm_mb(),
                  "parse_rss_mb": peak["parse"] / 2**20, "finish_rss_mb": peak["finish"] / 2**20}))
"""
)

WHATSTK = (
    HWM
    + r"""
import json, sys, time
import inspect
from whatstk import WhatsAppChat
from whatstk.whatsapp.parser import df_from_whatsapp
# whatstk >= 0.8 refuses files over 50 MB unless the limit is lifted
extra = {"max_size": None} if "max_size" in inspect.signature(df_from_whatsapp).parameters else {}
t = time.perf_counter()
c = time.process_time()
chat = WhatsAppChat.from_source(filepath=sys.argv[1], hformat="%d/%m/%Y, %H:%M - %name:", **extra)
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "cpu": time.process_time() - c, "messages": len(chat.df), "rss_mb": hwm_mb()}))
"""
)


def run_cli(path: Path, tmp: Path) -> tuple[float, float]:
    """Wall and CPU seconds (this child and its threads) of ``zhijian import --json`` in a fresh workspace."""
    zj = Path(sys.executable).with_name("zhijian")
    wsdir = Path(tempfile.mkdtemp(prefix="ws-cli-", dir=tmp))
    subprocess.run([str(zj), "init", str(wsdir)], check=True, capture_output=True)
    before = os.times()
    t = time.perf_counter()
    r = subprocess.run(
        [str(zj), "import", "--json", "-w", str(wsdir), str(path)], capture_output=True, text=True
    )
    dt = time.perf_counter() - t
    after = os.times()
    shutil.rmtree(wsdir, ignore_errors=True)
    if r.returncode != 0:
        raise SystemExit(f"zhijian import failed:\n{r.stderr[-2000:]}")
    return dt, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def _bytes(path: Path) -> int:
    """The size of a file, or of the files in a folder (a Slack export)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def run(cmd: list[str]) -> dict:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _median_run(rs: list[dict]) -> dict:
    """One figure per measure from several runs: the median wall and CPU seconds (a shared host
    slows some runs by up to 2x), the largest peak RSS."""
    import statistics

    out = dict(rs[0])
    for k in ("seconds", "cpu"):
        out[k] = statistics.median(x[k] for x in rs)
    for k in ("rss_mb", "parse_rss_mb", "finish_rss_mb"):
        if k in out:
            out[k] = max(x[k] for x in rs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--messages",
        default="1000000",
        help="messages per file; several sizes comma-separated (e.g. 200000,1000000) compare peak RSS",
    )
    ap.add_argument("--formats", default=",".join(GENERATORS))
    ap.add_argument("--keep", type=Path, default=None, help="generate files here and keep them")
    ap.add_argument("--no-whatstk", action="store_true")
    ap.add_argument("--cli", action="store_true", help="also time `zhijian import --json` end to end")
    ap.add_argument(
        "--runs",
        type=int,
        default=3,
        help="runs per file: wall and CPU seconds are their medians (default 3)",
    )
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    from machine_probe import describe, probe  # (bench/ is on the path of a script run from it)

    formats = [f for f in args.formats.split(",") if f]
    sizes = [int(x) for x in args.messages.split(",") if x]
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="zhijian-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(
        f"# zhijian import benchmark — {', '.join(f'{n:,}' for n in sizes)} messages per format, {os.cpu_count()} cores"
    )
    print(
        f"(load average {os.getloadavg()[0]:.1f} at start: wall-clock figures suffer when other work shares the cores)"
    )
    print(describe(probe(), "at start"))
    print(f"wall and CPU seconds: median of {args.runs} run(s); peak RSS: the largest")
    print(
        f"{'format':<17} {'messages':>9} {'MB':>7} {'s':>6} {'MB/s':>6} {'msgs/s':>9} {'peak RSS MB':>11} "
        f"{'parse':>6} {'finish':>6} {'CPU s':>6} {'MB/cpu-s':>8} {'load':>5}"
    )
    for fmt in formats:
        name, gen = GENERATORS[fmt]
        parse_rss = []
        for n in sizes:
            path = tmp / f"{fmt}-{n}" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                gen(path, n)
            mb = _bytes(path) / 1e6
            rs = []
            for _ in range(args.runs):  # each in a fresh workspace and process
                wsdir = Path(tempfile.mkdtemp(prefix="ws-", dir=tmp))
                mapping = [json.dumps(MAPPINGS[fmt])] if fmt in MAPPINGS else []
                rs.append(run([sys.executable, "-c", CHILD, str(wsdir), str(path), *mapping]))
                shutil.rmtree(wsdir, ignore_errors=True)
                assert rs[-1]["messages"] == n, rs[-1]
            r = _median_run(rs)
            parse_rss.append(r["parse_rss_mb"])
            print(
                f"{fmt:<17} {n:>9,} {mb:>7.1f} {r['seconds']:>6.2f} {mb / r['seconds']:>6.1f} "
                f"{n / r['seconds']:>9,.0f} {r['rss_mb']:>11.0f} {r['parse_rss_mb']:>6.0f} {r['finish_rss_mb']:>6.0f} "
                f"{r['cpu']:>6.2f} {mb / r['cpu']:>8.1f} {os.getloadavg()[0]:>5.1f}",
                flush=True,
            )
            if args.cli:
                cw, cc = run_cli(path, tmp)
                print(
                    f"{'  zhijian import':<17} {n:>9,} {mb:>7.1f} {cw:>6.2f} {mb / cw:>6.1f} {n / cw:>9,.0f} "
                    f"{'':>11} {'':>6} {'':>6} {cc:>6.2f} {mb / cc:>8.1f} {os.getloadavg()[0]:>5.1f}   "
                    f"(CLI end to end: start-up, module imports, import, summary)",
                    flush=True,
                )
            if fmt == "whatsapp_txt" and not args.no_whatstk:
                w = _median_run([run([sys.executable, "-c", WHATSTK, str(path)]) for _ in range(args.runs)])
                print(
                    f"{'  whatstk':<17} {n:>9,} {mb:>7.1f} {w['seconds']:>6.2f} {mb / w['seconds']:>6.1f} "
                    f"{w['messages'] / w['seconds']:>9,.0f} {w['rss_mb']:>11.0f} {'':>6} {'':>6} {w['cpu']:>6.2f} "
                    f"{mb / w['cpu']:>8.1f} {os.getloadavg()[0]:>5.1f}   (whatstk/zhijian: {w['seconds'] / r['seconds']:.1f}x wall, "
                    f"{w['cpu'] / r['cpu']:.1f}x CPU; whatstk only parses, zhijian also writes the lake)",
                    flush=True,
                )
        if len(sizes) > 1:
            print(
                f"{'':<17} parse-phase peak RSS {parse_rss[0]:.0f} → {parse_rss[-1]:.0f} MB for "
                f"{sizes[-1] / sizes[0]:.0f}x the messages ({parse_rss[-1] - parse_rss[0]:+.0f} MB)",
                flush=True,
            )
    if args.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)
    print(describe(probe(), "at end"))
    print(f"# done {time.strftime('%Y-%m-%d %H:%M:%S')}")


if __name__ == "__main__":
    main()
