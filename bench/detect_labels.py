"""Message-label throughput: ``classify`` (Ibis → DuckDB) vs a plain Python ``re`` loop over the
same rules, on a table of chat messages.

    .venv/bin/python bench/detect_labels.py [--messages 1000000] [--python-sample 200000] [--threads N]
                                           [--source synthetic|demo] [--repeat 3] [--flags]

``--source synthetic`` (default) generates message shapes seen in work groups with random filler
(about half the texts are distinct); ``--source demo`` uses the demo county's messages (generated
and imported once, cached like bench/detect.py under /tmp/zhijian-bench-detect/<messages>; the
county's chat is repetitive — about 5% distinct texts — as real group chat is with its stickers,
"[图片]" and "收到"). ``classify`` labels each distinct (text, kind, at_all) once, so the figure
depends on that ratio: both are printed, with wall and CPU time (CPU time / cores is what the stage
would take on an idle machine) and the load average.

The Python loop applies the same normalisation, masks and rules (a faithful re-implementation of
the compiled pack with ``re``) to a sample — every message, no deduplication — and is
extrapolated; both outputs are compared on the sample (rule ids per label must agree), which
doubles as a check that the patterns mean the same in RE2 and Python.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

# Message shapes seen in work groups (policy.md §d): notices with demands, confirmations, chatter.
DEMANDS = [
    "@所有人 请各村于今天下午{h}点前将{x}报送至镇党政办邮箱，收到请回复",
    "请各位{m}分钟内回复收到",
    "请大家明早{h}点前在钉钉打卡",
    "今晚前报{n}张活动照片",
    "请大家积极转发至朋友圈并截图发群里",
    "请各位党员每天登录学习强国，积分不低于{n}0分",
    "请各单位统计{x}，明天上午{h}点前上报",
    "#接龙\n今晚{h}点前报平安\n\n1. 张三\n2. 李四",
    "请驻村干部每晚{h}点在群里发送实时定位",
    "请帮忙投个票，谢谢！",
]
NEGATIVES = [
    "今天不用回复收到",
    "取消今日打卡",
    "不得要求基层干部在工作群回复收到",
    "明天上午{h}点在三楼会议室召开{x}工作会议，请准时参加",
    "今天还需要打卡吗？",
]
REPLIES = [
    "收到",
    "收到！",
    "好的",
    "1",
    "收到[抱拳]",
    "好的，马上落实",
    "已阅",
    "张三收到",
    "{n}. 王五 已完成",
    "👍",
]
WORDS = (
    "安全生产 防汛 秸秆禁烧 人居环境 乡村振兴 网格 走访 台账 表格 会议 党建 学习 材料 群众 "
    "企业 项目 资金 检查 整改 天气 道路 村里 今天 明天 下午 上午 大家 我们 工作 情况 看看 可以 "
    "辛苦 谢谢 好的 已经 还是 这个 那个 问题 时间 地方 需要 安排 老师 孩子 吃饭"
).split()
ITEMS = [
    "企业摸排情况表",
    "60岁以上老人名单",
    "防汛物资台账",
    "秸秆禁烧巡查记录",
    "低保户信息表",
    "人居环境整治总结",
]


def gen_texts(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        r = rnd.random()
        fill = {
            "h": rnd.randint(1, 12),
            "m": rnd.choice([5, 10, 15, 30]),
            "n": rnd.randint(1, 9),
            "x": rnd.choice(ITEMS),
        }
        if r < 0.12:
            t = rnd.choice(DEMANDS).format(**fill)
        elif r < 0.16:
            t = rnd.choice(NEGATIVES).format(**fill)
        elif r < 0.45:
            t = rnd.choice(REPLIES).format(**fill)
        else:
            t = "".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 14)))
        out.append(t)
    return out


# ── the plain Python loop over the same compiled rules ────────────────────────────────────────────
class PyClassifier:
    def __init__(self, pack):
        from zhijian.rules.pack import fullwidth_map
        from zhijian.rules.taxonomy import label_ids

        frm, to = pack.trad_map
        f2, t2 = fullwidth_map()
        self.table = str.maketrans(frm + f2, to + t2)
        self.masks = [(m.view, re.compile(m.compiled), m.replace) for m in pack.masks]
        self.views = pack.views()
        self.gates = {}
        for name in self.views[1:]:
            rules = [r for r in pack.rules if r.view == name]
            if rules and all(r.max_len is not None for r in rules):
                lim = max(400, max(r.max_len for r in rules))
                self.gates[name] = lambda b, lim=lim: len(b) <= lim
            elif rules:
                from zhijian.rules.factors import gate_regex

                pats = [r.compiled for r in rules] + [
                    m.compiled for m in pack.masks if m.view == name and m.replace not in ("。", "", " ")
                ]
                g = gate_regex(pats)
                if g is not None:
                    rx = re.compile(g)
                    self.gates[name] = lambda b, rx=rx: rx.search(b) is not None
        self.labels = [x for x in label_ids() if x != "normal"]
        self.rules = {
            lab: [
                (
                    r.id,
                    r.view,
                    re.compile(r.compiled),
                    [re.compile(u) for u in r.compiled_unless],
                    r.max_len,
                    r.kinds,
                    r.at_all,
                )
                for r in pack.label_rules(lab)
            ]
            for lab in self.labels
        }
        self.skip = set(pack.skip_kinds)

    def __call__(self, text: str, kind: str = "text", at_all: bool = False) -> dict[str, str]:
        base = re.sub(r"[ \t\n]+$", "", (text or "").translate(self.table).lower())
        vw = {"base": base}
        for name in self.views[1:]:
            gate = self.gates.get(name)
            if gate is not None and not gate(base):
                vw[name] = ""
                continue
            v = base
            for mview, rx, rep in self.masks:
                if mview == name:
                    v = rx.sub(rep, v)
            vw[name] = v
        out = {}
        for lab in self.labels:
            for rid, view, rx, unless, max_len, kinds, want_at_all in self.rules[lab]:
                v = vw[view]
                if want_at_all is not None and bool(at_all) != want_at_all:
                    continue
                if kinds is not None and kind not in kinds:
                    continue
                if kinds is None and kind in self.skip:
                    continue
                if max_len is not None and len(v) > max_len:
                    continue
                if rx.search(v) and not any(u.search(v) for u in unless):
                    out[lab] = rid
                    break
        return out


def demo_table(messages: int, cache: Path | None = None):
    """The demo county's messages (text, kind, at_all), generated and imported once (cached)."""
    import pyarrow.dataset as ds

    sys.path.insert(0, str(Path(__file__).parent))
    from detect import prepare

    ws, _exports, _prep = prepare(messages, 7, cache or Path("/tmp/zhijian-bench-detect") / str(messages))
    path = ws.root / "lake" / "messages"
    return ds.dataset(path, format="parquet", partitioning="hive").to_table(
        columns=["message_id", "text", "kind", "at_all"]
    )


def timed(con, expr, repeat: int):
    """(median wall s, median CPU s of this process — DuckDB's threads included, result)."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = con.to_pyarrow(expr)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return sorted(walls)[len(walls) // 2], sorted(cpus)[len(cpus) // 2], out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--python-sample", type=int, default=200_000)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--source", choices=["synthetic", "demo"], default="synthetic")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the engine query (median reported)")
    ap.add_argument("--flags", action="store_true", help="also time flags() (the urgent marker)")
    ap.add_argument(
        "--cache", type=Path, default=None, help="demo workspace cache (as bench/detect.py --cache)"
    )
    a = ap.parse_args()

    import tempfile

    import ibis
    import pyarrow as pa
    import pyarrow.parquet as pq

    from zhijian.analysis.classify import classify, flags
    from zhijian.rules.pack import builtin_pack

    pack = builtin_pack()
    t0 = time.perf_counter()
    if a.source == "demo":
        table = demo_table(a.messages, a.cache)
    else:
        texts = gen_texts(a.messages)
        table = pa.table(
            {
                "message_id": pa.array([f"m{i}" for i in range(len(texts))]),
                "text": pa.array(texts),
                "kind": pa.array(["text"] * len(texts)),
                "at_all": pa.array([False] * len(texts)),
            }
        )
    n_msgs = table.num_rows
    print(f"{a.source}: {n_msgs:,} messages ready in {time.perf_counter() - t0:.1f} s")

    con = ibis.duckdb.connect()
    if a.threads:
        con.raw_sql(f"SET threads = {int(a.threads)}")
    cores = a.threads or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="zhijian_bench_") as tmp:
        pq.write_table(table, f"{tmp}/messages.parquet", row_group_size=65_536)
        msgs = con.read_parquet(f"{tmp}/messages.parquet", table_name="messages")
        distinct = con.to_pyarrow(msgs.select("text", "kind", "at_all").distinct().count())
        print(
            f"distinct (text, kind, at_all): {int(distinct.as_py()):,} ({int(distinct.as_py()) / n_msgs:.1%})   "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        dt, cpu, out = timed(con, classify(msgs, pack), a.repeat)
        print(
            f"classify (Ibis → DuckDB, {cores} threads): wall {dt:.2f} s → {n_msgs / dt:,.0f} msg/s;  "
            f"CPU {cpu:.2f} s → {n_msgs * cores / cpu:,.0f} msg/s on {cores} idle cores  "
            f"({out.num_rows:,} label rows, median of {a.repeat}, load average {os.getloadavg()[0]:.2f})"
        )
        if a.flags:
            fdt, fcpu, _f = timed(con, flags(msgs, pack), a.repeat)
            print(f"flags: wall {fdt:.2f} s → {n_msgs / fdt:,.0f} msg/s;  CPU {fcpu:.2f} s")
    counts: dict[str, int] = {}
    for lab in out.column("label").to_pylist():
        counts[lab] = counts.get(lab, 0) + 1
    print("  label rows:", dict(sorted(counts.items())))

    n = min(a.python_sample, n_msgs)
    sample = table.slice(0, n)
    ids = sample.column("message_id").to_pylist()
    py = PyClassifier(pack)
    t0 = time.perf_counter()
    py_out = [
        py(x, k or "text", bool(at))
        for x, k, at in zip(
            sample.column("text").to_pylist(),
            sample.column("kind").to_pylist(),
            sample.column("at_all").to_pylist(),
            strict=True,
        )
    ]
    dtp = time.perf_counter() - t0
    print(
        f"python re loop over the same rules: {n:,} msgs in {dtp:.2f} s  →  {n / dtp:,.0f} msg/s "
        f"(engine is {(n_msgs / dt) / (n / dtp):.1f}× faster, wall clock, same load)"
    )

    pos = {mid: i for i, mid in enumerate(ids)}
    eng: dict[int, dict[str, str]] = {}
    for mid, lab, rid in zip(
        out.column("message_id").to_pylist(),
        out.column("label").to_pylist(),
        out.column("rule_id").to_pylist(),
        strict=True,
    ):
        i = pos.get(mid)
        if i is not None and lab != "normal":
            eng.setdefault(i, {})[lab] = rid
    diff = sum(1 for i in range(n) if eng.get(i, {}) != py_out[i])
    print(f"engine vs python on the sample: {n - diff:,} of {n:,} messages identical ({diff} differ)")


if __name__ == "__main__":
    main()
