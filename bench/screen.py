"""Benchmark: burden indicators + screening (lifecycle, overlap, recommend, burden) at scale.

Generates a synthetic county straight into a workspace (vectorised numpy → Parquet; the inventory
in the store), then runs the four pipeline steps on DuckDB and prints wall time per step and the
peak RSS of the process (DuckDB runs in-process).

    .venv/bin/python bench/screen.py --messages 1000000 [--groups 1000] [--dir /tmp/zj-bench]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa


class PeakRSS:
    def __init__(self):
        self.peak = 0
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        p = psutil.Process()
        while not self._stop:
            self.peak = max(self.peak, p.memory_info().rss)
            time.sleep(0.05)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *a):
        self._stop = True
        self._t.join()


def generate(root: Path, n_msgs: int, n_groups: int, seed: int = 1):
    from sqlalchemy import insert

    from zhijian.lake.schema import MEMBERSHIPS, MESSAGES, SCHEMAS
    from zhijian.store.models import App, Group, Person, Unit
    from zhijian.workspace import init_workspace

    rng = np.random.default_rng(seed)
    ws = init_workspace(root, "基准县")
    n_people = max(50, n_groups * 5)
    n_units = max(5, n_groups // 20)
    units = [{"id": "C", "name": "基准县", "parent_id": None, "level": "county", "kind": None, "path": "/C/"}]
    units += [{"id": f"U{i}", "name": f"第{i}镇", "parent_id": "C", "level": "township", "kind": None,
               "path": f"/C/U{i}/"} for i in range(n_units)]
    pu = rng.integers(0, n_units, n_people)
    people = [{"id": f"P{i}", "name": f"人{i}", "unit_id": f"U{pu[i]}", "title": None, "aliases": []} for i in range(n_people)]
    gu = rng.integers(0, n_units, n_groups)
    groups = [{"id": f"G{i}", "name": f"第{gu[i]}镇工作群{i}", "platform": "wechat", "unit_id": f"U{gu[i]}",
               "purpose": f"事项{i}", "group_type": "temporary" if i % 10 == 0 else "fixed",
               "created_on": dt.date(2026, 1, 1), "end_date": dt.date(2026, 8, 1) if i % 10 == 0 else None,
               "status": "active", "registered": i % 7 != 0, "tags": []} for i in range(n_groups)]
    apps = [{"id": f"A{i}", "name": f"应用{i}号", "unit_id": f"U{i % n_units}", "functions": ["学习", f"f{i % 5}"],
             "features": ["checkin"] if i % 3 == 0 else [], "tags": [], "status": "active", "registered": True,
             "platform": "app"} for i in range(25)]
    with ws.store.session() as s:
        s.execute(insert(Unit), units)
        s.execute(insert(Person), people)
        s.execute(insert(Group), groups)
        s.execute(insert(App), apps)
    # memberships: ~20 people per group from the group's unit mostly; overlapping copies for 5% of groups
    size = rng.integers(8, 40, n_groups)
    g_idx = np.repeat(np.arange(n_groups), size)
    p_idx = rng.integers(0, n_people, g_idx.size)
    dup = np.arange(n_groups)[(np.arange(n_groups) % 20 == 1)]
    first = np.concatenate([[0], np.cumsum(size)[:-1]])
    for g in dup:  # group g copies the members of g-1 (as many as fit)
        k = min(size[g], size[g - 1])
        p_idx[first[g] : first[g] + k] = p_idx[first[g - 1] : first[g - 1] + k]
    mem = pa.table({
        "group_id": pa.array([f"G{i}" for i in g_idx]), "person_id": pa.array([f"P{i}" for i in p_idx]),
        "role": pa.nulls(g_idx.size, pa.string()), "joined_at": pa.nulls(g_idx.size, pa.timestamp("us")),
        "left_at": pa.nulls(g_idx.size, pa.timestamp("us")), "batch_id": pa.array(["b"] * g_idx.size),
    }, schema=MEMBERSHIPS)
    lake = ws.lake()
    lake.append_batch("memberships", "b", mem)
    # messages: Zipf-ish activity per group; 10% of groups go silent after July (zombies)
    weights = 1.0 / (np.arange(n_groups) + 10.0)
    weights /= weights.sum()
    mg = rng.choice(n_groups, n_msgs, p=weights)
    secs = rng.integers(0, 184 * 86400, n_msgs)
    silent = mg % 10 == 3
    secs[silent] = secs[silent] % (70 * 86400)
    base = np.datetime64("2026-05-01T00:00:00")
    local = base + secs.astype("timedelta64[s]")
    # sender: a member of the group (approximately: a random member slot)
    sender = p_idx[first[mg] + (rng.integers(0, 1 << 30, n_msgs) % size[mg])]
    kind_r = rng.random(n_msgs)
    texts = np.array(["请各村落实防汛工作", "收到", "今天天气不错", "请于今晚十点前报送材料", "请在应用3号打卡"])
    ti = rng.choice(5, n_msgs, p=[0.35, 0.3, 0.15, 0.1, 0.1])
    ids = np.char.add("m", np.arange(n_msgs).astype(str))
    local_pa = pa.array(local.astype("datetime64[us]"), pa.timestamp("us"))
    utc = pa.array((local - np.timedelta64(8, "h")).astype("datetime64[us]"), pa.timestamp("us", tz="UTC"))
    msgs = pa.table({
        "message_id": pa.array(ids), "source": pa.array(np.full(n_msgs, "bench")),
        "group_id": pa.array(np.char.add("G", mg.astype(str))), "sender_id": pa.array(np.char.add("P", sender.astype(str))),
        "sender_name": pa.nulls(n_msgs, pa.string()), "ts": utc, "local_ts": local_pa,
        "kind": pa.array(np.where(kind_r < 0.01, "system", "text")), "text": pa.array(texts[ti]),
        "reply_to": pa.nulls(n_msgs, pa.string()), "mentions": pa.nulls(n_msgs, pa.list_(pa.string())),
        "at_all": pa.array(np.zeros(n_msgs, bool)), "forwarded": pa.array(np.zeros(n_msgs, bool)),
        "batch_id": pa.array(np.full(n_msgs, "b")),
    }, schema=MESSAGES)
    lake.append_batch("messages", "b", msgs)
    lab_map = {1: "roll_call_reply", 3: "data_request", 4: "checkin_demand"}
    sel = np.isin(ti, list(lab_map))
    labels = pa.table({
        "message_id": pa.array(ids[sel]), "label": pa.array(np.vectorize(lab_map.get)(ti[sel]).astype(str)),
        "rule_id": pa.array(np.full(sel.sum(), "bench")), "span": pa.nulls(int(sel.sum()), pa.string()),
    }, schema=SCHEMAS["message_labels"])
    lake.replace("message_labels", labels)
    # notice clusters: every "请各村落实防汛工作" sent the same day in groups of the same unit = one notice
    nsel = np.flatnonzero(ti == 0)
    day = secs[nsel] // 86400
    cid = np.char.add(np.char.add("c", gu[mg[nsel]].astype(str)), np.char.add("-", day.astype(str)))
    order = np.lexsort((secs[nsel], cid))
    cs = cid[order]
    hop = np.zeros(len(cs), np.int32)
    same = np.concatenate([[False], cs[1:] == cs[:-1]])
    hop[same] = 1
    lake.replace("notice_clusters", pa.table({
        "cluster_id": pa.array(cs), "message_id": pa.array(ids[nsel][order]),
        "group_id": pa.array(np.char.add("G", mg[nsel][order].astype(str))), "sender_id": pa.nulls(len(cs), pa.string()),
        "ts": pa.nulls(len(cs), pa.timestamp("us", tz="UTC")), "hop": pa.array(hop),
    }, schema=SCHEMAS["notice_clusters"]))
    return ws


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--groups", type=int, default=None)
    ap.add_argument("--dir", default="/tmp/zhijian-bench-screen")
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("--keep", action="store_true", help="reuse the generated workspace if present")
    a = ap.parse_args()
    root = Path(a.dir)
    n_groups = a.groups or max(50, a.messages // 1000)
    t0 = time.perf_counter()
    if a.keep and (root / "zhijian.toml").exists():
        from zhijian.workspace import open_workspace

        ws = open_workspace(root)
    else:
        shutil.rmtree(root, ignore_errors=True)
        ws = generate(root, a.messages, n_groups)
    gen = time.perf_counter() - t0
    from zhijian.analysis.pipeline import run_analysis

    with PeakRSS() as rss:
        t1 = time.perf_counter()
        res = run_analysis(ws, engine=a.engine, steps=["lifecycle", "overlap", "recommend", "burden"])
        wall = time.perf_counter() - t1
    print(f"messages={a.messages:,} groups={n_groups:,} engine={a.engine} generate={gen:.1f}s")
    for name, st in res.steps.items():
        print(f"  {name:10s} {st['seconds']:7.2f}s findings={st['findings']} datasets={st.get('datasets')}")
    print(f"indicators + screening: wall {wall:.1f}s, peak RSS {rss.peak / 2**20:,.0f} MB")
    print(f"findings by category: {res.findings.by_category}")


if __name__ == "__main__":
    main()
