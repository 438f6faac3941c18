"""Import throughput: MB/s, messages/s and peak RSS per format on generated files, plus whatstk
(from PyPI) parsing the same WhatsApp file for a side-by-side ratio.

    .venv/bin/python bench/ingest.py                      # 1M messages per format (issue 3)
    .venv/bin/python bench/ingest.py --messages 200000    # a quicker run
    .venv/bin/python bench/ingest.py --formats canonical_csv,whatsapp_txt

Each import runs in its own process (fresh workspace) so peak RSS is per format. Files are generated
into a temporary folder (``--keep DIR`` keeps them). Texts are Chinese work-group messages of realistic
length; 300 groups, 1,500 senders.
"""

from __future__ import annotations

import argparse
import json
import os
import random
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

    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["message_id", "group_id", "group_name", "sender_id", "sender_name", "ts", "kind", "text", "at_all",
                    "mentions", "reply_to", "forwarded"])
        for i, g, u, ts, text in _rows(n):
            w.writerow([f"m{i:09d}", f"G{g:04d}", f"工作群{g}", f"wx{u:05d}", f"干部{u}", ts.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
                        "text", text, "true" if text.startswith("@所有人") else "false", "[]", "", "false"])


def gen_canonical_jsonl(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i, g, u, ts, text in _rows(n):
            f.write(json.dumps({"message_id": f"m{i:09d}", "group_id": f"G{g:04d}", "group_name": f"工作群{g}",
                                "sender_id": f"wx{u:05d}", "sender_name": f"干部{u}",
                                "ts": ts.strftime("%Y-%m-%dT%H:%M:%S+08:00"), "kind": "text", "text": text,
                                "at_all": text.startswith("@所有人"), "mentions": [], "reply_to": None,
                                "forwarded": False}, ensure_ascii=False) + "\n")


def gen_pywxdump_csv(path: Path, n: int) -> None:
    import csv

    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "msg", "src", "CreateTime"])
        for i, g, u, ts, text in _rows(n):
            w.writerow([i + 1, 7437267147299592543 + i, "文本", 0, f"wxid_{u:05d}", f"{10000000 + g}@chatroom", text, "",
                        ts.strftime("%Y-%m-%d %H:%M:%S")])


def gen_wecom_jsonl(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i, g, u, ts, text in _rows(n):
            f.write(json.dumps({"msgid": f"{17955920891003447432 + i}_{int(ts.timestamp())}", "action": "send",
                                "from": f"user{u:05d}", "tolist": ["a", "b"], "roomid": f"wr{g:08d}",
                                "msgtime": int(ts.timestamp() * 1000), "msgtype": "text", "text": {"content": text}},
                               ensure_ascii=False) + "\n")


def gen_whatsapp_txt(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for _i, _g, u, ts, text in _rows(n):
            f.write(f"{ts:%d/%m/%Y}, {ts:%H:%M} - 干部{u}: {text}\n")


def gen_telegram_json(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"name": "工作群", "type": "private_supergroup", "id": 1700000001, "messages": [\n')
        for i, _g, u, ts, text in _rows(n):
            f.write(("," if i else "") + json.dumps({
                "id": i + 1, "type": "message", "date": ts.strftime("%Y-%m-%dT%H:%M:%S"),
                "date_unixtime": str(int(ts.timestamp())), "from": f"干部{u}", "from_id": f"user{u}",
                "text": text, "text_entities": [{"type": "plain", "text": text}]}, ensure_ascii=False) + "\n")
        f.write("]}\n")


GENERATORS = {
    "canonical_csv": ("messages.csv", gen_canonical_csv),
    "canonical_jsonl": ("messages.jsonl", gen_canonical_jsonl),
    "pywxdump_csv": ("wxid_me_0_n.csv", gen_pywxdump_csv),
    "wecom_json": ("archive.jsonl", gen_wecom_jsonl),
    "whatsapp_txt": ("WhatsApp Chat with 工作群.txt", gen_whatsapp_txt),
    "telegram_json": ("result.json", gen_telegram_json),
}

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from zhijian.workspace import init_workspace
from zhijian.ingest import import_paths
ws = init_workspace(Path(sys.argv[1]))
t = time.perf_counter()
c = time.process_time()
s = import_paths(ws, [Path(sys.argv[2])])
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "cpu": time.process_time() - c, "messages": s.messages + s.system_messages,
                  "format": s.format, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

WHATSTK = r"""
import json, resource, sys, time
from whatstk import WhatsAppChat
t = time.perf_counter()
c = time.process_time()
chat = WhatsAppChat.from_source(filepath=sys.argv[1], hformat="%d/%m/%Y, %H:%M - %name:")
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "cpu": time.process_time() - c, "messages": len(chat.df),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(cmd: list[str]) -> dict:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--formats", default=",".join(GENERATORS))
    ap.add_argument("--keep", type=Path, default=None, help="generate files here and keep them")
    ap.add_argument("--no-whatstk", action="store_true")
    args = ap.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="zhijian-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"# zhijian import benchmark — {args.messages:,} messages per format, {os.cpu_count()} cores")
    print(f"(load average {os.getloadavg()[0]:.1f}: wall-clock figures suffer when other work shares the cores)")
    print(f"{'format':<16} {'MB':>8} {'s':>7} {'MB/s':>7} {'msgs/s':>10} {'peak RSS MB':>12} {'CPU s':>7}")
    results = {}
    for fmt in formats:
        name, gen = GENERATORS[fmt]
        path = tmp / fmt / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            gen(path, args.messages)
        mb = path.stat().st_size / 1e6
        wsdir = Path(tempfile.mkdtemp(prefix="ws-", dir=tmp))
        r = run([sys.executable, "-c", CHILD, str(wsdir), str(path)])
        assert r["messages"] == args.messages, r
        results[fmt] = r
        print(f"{fmt:<16} {mb:>8.1f} {r['seconds']:>7.2f} {mb / r['seconds']:>7.1f} {r['messages'] / r['seconds']:>10,.0f} "
              f"{r['rss_mb']:>12.0f} {r['cpu']:>7.2f}", flush=True)
        if fmt == "whatsapp_txt" and not args.no_whatstk:
            w = run([sys.executable, "-c", WHATSTK, str(path)])
            print(f"{'  whatstk':<16} {mb:>8.1f} {w['seconds']:>7.2f} {mb / w['seconds']:>7.1f} "
                  f"{w['messages'] / w['seconds']:>10,.0f} {w['rss_mb']:>12.0f} {w['cpu']:>7.2f}   "
                  f"(zhijian/whatstk: {w['seconds'] / r['seconds']:.1f}x wall, {w['cpu'] / r['cpu']:.1f}x CPU; "
                  "whatstk only parses, zhijian also writes the lake)",
                  flush=True)
        import shutil

        shutil.rmtree(wsdir, ignore_errors=True)
    if args.keep is None:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    print(f"# done {time.strftime('%Y-%m-%d %H:%M:%S')}")


if __name__ == "__main__":
    main()
