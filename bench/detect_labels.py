"""Message-label throughput: ``classify`` (Ibis → DuckDB) vs a plain Python ``re`` loop over the
same rules, on a generated table of chat messages.

    .venv/bin/python bench/detect_labels.py [--messages 1000000] [--python-sample 200000] [--threads N]

The Python loop applies the same normalisation, masks and rules (a faithful re-implementation of
the compiled pack with ``re``) to a sample and is extrapolated; both outputs are compared on the
sample (rule ids per label must agree), which doubles as a check that the patterns mean the same
in RE2 and Python.
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
    "今天不用回复收到", "取消今日打卡", "不得要求基层干部在工作群回复收到",
    "明天上午{h}点在三楼会议室召开{x}工作会议，请准时参加", "今天还需要打卡吗？",
]
REPLIES = ["收到", "收到！", "好的", "1", "收到[抱拳]", "好的，马上落实", "已阅", "张三收到", "{n}. 王五 已完成", "👍"]
WORDS = ("安全生产 防汛 秸秆禁烧 人居环境 乡村振兴 网格 走访 台账 表格 会议 党建 学习 材料 群众 "
         "企业 项目 资金 检查 整改 天气 道路 村里 今天 明天 下午 上午 大家 我们 工作 情况 看看 可以 "
         "辛苦 谢谢 好的 已经 还是 这个 那个 问题 时间 地方 需要 安排 老师 孩子 吃饭").split()
ITEMS = ["企业摸排情况表", "60岁以上老人名单", "防汛物资台账", "秸秆禁烧巡查记录", "低保户信息表", "人居环境整治总结"]


def gen_texts(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        r = rnd.random()
        fill = {"h": rnd.randint(1, 12), "m": rnd.choice([5, 10, 15, 30]), "n": rnd.randint(1, 9), "x": rnd.choice(ITEMS)}
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

                pats = [r.compiled for r in rules] + [m.compiled for m in pack.masks
                                                      if m.view == name and m.replace not in ("。", "", " ")]
                g = gate_regex(pats)
                if g is not None:
                    rx = re.compile(g)
                    self.gates[name] = lambda b, rx=rx: rx.search(b) is not None
        self.labels = [x for x in label_ids() if x != "normal"]
        self.rules = {
            lab: [(r.id, r.view, re.compile(r.compiled), [re.compile(u) for u in r.compiled_unless], r.max_len, r.kinds)
                  for r in pack.label_rules(lab)]
            for lab in self.labels
        }
        self.skip = set(pack.skip_kinds)

    def __call__(self, text: str, kind: str = "text") -> dict[str, str]:
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
            for rid, view, rx, unless, max_len, kinds in self.rules[lab]:
                v = vw[view]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--python-sample", type=int, default=200_000)
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()

    import ibis
    import pyarrow as pa

    from zhijian.analysis.classify import classify
    from zhijian.rules.pack import builtin_pack

    pack = builtin_pack()
    t0 = time.perf_counter()
    texts = gen_texts(a.messages)
    table = pa.table({
        "message_id": pa.array([f"m{i}" for i in range(len(texts))]),
        "text": pa.array(texts),
        "kind": pa.array(["text"] * len(texts)),
        "at_all": pa.array([False] * len(texts)),
    })
    print(f"generated {len(texts):,} messages in {time.perf_counter() - t0:.1f} s")

    con = ibis.duckdb.connect()
    if a.threads:
        con.raw_sql(f"SET threads = {int(a.threads)}")
    import tempfile

    import pyarrow.parquet as pq

    tmp = tempfile.mkdtemp(prefix="zhijian_bench_")
    pq.write_table(table, f"{tmp}/messages.parquet", row_group_size=65_536)
    msgs = con.read_parquet(f"{tmp}/messages.parquet", table_name="messages")
    expr = classify(msgs, pack)
    t0 = time.perf_counter()
    out = con.to_pyarrow(expr)
    dt = time.perf_counter() - t0
    print(f"classify (Ibis → DuckDB, {os.cpu_count()} cores): {dt:.2f} s  →  {len(texts) / dt:,.0f} msg/s  "
          f"({out.num_rows:,} label rows)")
    counts = {}
    for lab in out.column("label").to_pylist():
        counts[lab] = counts.get(lab, 0) + 1
    print("  label rows:", dict(sorted(counts.items())))

    n = min(a.python_sample, len(texts))
    py = PyClassifier(pack)
    t0 = time.perf_counter()
    py_out = [py(x) for x in texts[:n]]
    dtp = time.perf_counter() - t0
    print(f"python re loop over the same rules: {n:,} msgs in {dtp:.2f} s  →  {n / dtp:,.0f} msg/s "
          f"(engine is {(len(texts) / dt) / (n / dtp):.1f}× faster)")

    eng: dict[int, dict[str, str]] = {}
    for mid, lab, rid in zip(out.column("message_id").to_pylist(), out.column("label").to_pylist(),
                             out.column("rule_id").to_pylist(), strict=True):
        i = int(mid[1:])
        if i < n and lab != "normal":
            eng.setdefault(i, {})[lab] = rid
    diff = sum(1 for i in range(n) if eng.get(i, {}) != py_out[i])
    print(f"engine vs python on the sample: {n - diff:,} of {n:,} messages identical ({diff} differ)")


if __name__ == "__main__":
    main()
