"""Benchmark: burden indicators + screening (lifecycle, overlap, recommend, burden) at scale.

Generates a synthetic county straight into a workspace (vectorised numpy → Parquet; the inventory
in the store), then runs the four pipeline steps on DuckDB and prints wall time per step and the
peak RSS of the process (DuckDB runs in-process).

    .venv/bin/python bench/screen.py --messages 1000000 [--groups 1000] [--dir /tmp/zj-bench]
    # peak RSS of the analysis alone: generate first, then analyse the kept workspace
    .venv/bin/python bench/screen.py --messages 10000000 --groups 10000 --dir /tmp/x --generate-only
    .venv/bin/python bench/screen.py --messages 10000000 --groups 10000 --dir /tmp/x --keep
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
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


def _str_ids(prefix: str, nums: np.ndarray) -> pa.Array:
    return pa.compute.binary_join_element_wise(prefix, pa.compute.cast(pa.array(nums), pa.string()), "")


def generate(root: Path, n_msgs: int, n_groups: int, seed: int = 1, chunk: int = 1_000_000):
    """Write a synthetic county straight into a workspace, ``chunk`` messages per lake batch (memory
    bounded: 10M messages need ≈ 1 GB). 10% of the groups go silent after July (zombies), 5% are
    dissolved on 2026-08-15 (every member leaves, their messages stop), 5% copy another group's
    members (overlaps)."""
    import pyarrow.compute  # noqa: F401  (pa.compute)
    from sqlalchemy import insert

    from zhijian.lake.schema import MEMBERSHIPS, MESSAGES, SCHEMAS
    from zhijian.store.models import App, Group, Person, Unit
    from zhijian.workspace import init_workspace

    rng = np.random.default_rng(seed)
    ws = init_workspace(root, "基准县")
    n_people = max(50, n_groups * 5)
    n_units = max(5, n_groups // 20)
    units = [{"id": "C", "name": "基准县", "parent_id": None, "level": "county", "kind": None, "path": "/C/"}]
    units += [
        {
            "id": f"U{i}",
            "name": f"第{i}镇",
            "parent_id": "C",
            "level": "township",
            "kind": None,
            "path": f"/C/U{i}/",
        }
        for i in range(n_units)
    ]
    pu = rng.integers(0, n_units, n_people)
    people = [
        {"id": f"P{i}", "name": f"人{i}", "unit_id": f"U{pu[i]}", "title": None, "aliases": []}
        for i in range(n_people)
    ]
    gu = rng.integers(0, n_units, n_groups)
    groups = [
        {
            "id": f"G{i}",
            "name": f"第{gu[i]}镇工作群{i}",
            "platform": "wechat",
            "unit_id": f"U{gu[i]}",
            "purpose": f"事项{i}",
            "group_type": "temporary" if i % 10 == 0 else "fixed",
            "created_on": dt.date(2026, 1, 1),
            "end_date": dt.date(2026, 8, 1) if i % 10 == 0 else None,
            "status": "active",
            "registered": i % 7 != 0,
            "tags": [],
        }
        for i in range(n_groups)
    ]
    apps = [
        {
            "id": f"A{i}",
            "name": f"应用{i}号",
            "unit_id": f"U{i % n_units}",
            "functions": ["学习", f"f{i % 5}"],
            "features": ["checkin"] if i % 3 == 0 else [],
            "tags": [],
            "status": "active",
            "registered": True,
            "platform": "app",
        }
        for i in range(25)
    ]
    with ws.store.session() as s:
        s.execute(insert(Unit), units)
        s.execute(insert(Person), people)
        s.execute(insert(Group), groups)
        s.execute(insert(App), apps)
    # memberships: 8-40 people per group; overlapping copies for 5% of groups; 5% dissolved mid-August
    size = rng.integers(8, 40, n_groups)
    g_idx = np.repeat(np.arange(n_groups), size)
    p_idx = rng.integers(0, n_people, g_idx.size)
    dup = np.arange(n_groups)[(np.arange(n_groups) % 20 == 1)]
    first = np.concatenate([[0], np.cumsum(size)[:-1]])
    for g in dup:  # group g copies the members of g-1 (as many as fit)
        k = min(size[g], size[g - 1])
        p_idx[first[g] : first[g] + k] = p_idx[first[g - 1] : first[g - 1] + k]
    dissolved = np.arange(n_groups) % 20 == 7
    gone_at = np.datetime64("2026-08-15T10:00:00")
    left = np.where(dissolved[g_idx], gone_at, np.datetime64("NaT")).astype("datetime64[us]")
    mem = pa.table(
        {
            "group_id": _str_ids("G", g_idx),
            "person_id": _str_ids("P", p_idx),
            "role": pa.nulls(g_idx.size, pa.string()),
            "joined_at": pa.nulls(g_idx.size, pa.timestamp("us")),
            "left_at": pa.array(left, pa.timestamp("us")),
            "batch_id": pa.array(["b"] * g_idx.size),
        },
        schema=MEMBERSHIPS,
    )
    lake = ws.lake()
    lake.append_batch("memberships", "b", mem)
    # messages: Zipf-ish activity per group; zombies go silent after July; dissolved groups stop on 08-15
    weights = 1.0 / (np.arange(n_groups) + 10.0)
    weights /= weights.sum()
    texts = np.array(
        ["请各村落实防汛工作", "收到", "今天天气不错", "请于今晚十点前报送材料", "请在应用3号打卡"]
    )
    lab_map = {1: "roll_call_reply", 3: "data_request", 4: "checkin_demand"}
    base = np.datetime64("2026-05-01T00:00:00")
    stop = int((gone_at - base) / np.timedelta64(1, "s"))
    labels, n_keys, n_secs, n_ids, n_grp = [], [], [], [], []
    for lo in range(0, n_msgs, chunk):
        n = min(chunk, n_msgs - lo)
        mg = rng.choice(n_groups, n, p=weights)
        secs = rng.integers(0, 184 * 86400, n)
        silent = mg % 10 == 3
        secs[silent] = secs[silent] % (70 * 86400)
        gone = dissolved[mg]
        secs[gone] = secs[gone] % stop
        local = base + secs.astype("timedelta64[s]")
        sender = p_idx[first[mg] + (rng.integers(0, 1 << 30, n) % size[mg])]
        kind_r = rng.random(n)
        ti = rng.choice(5, n, p=[0.35, 0.3, 0.15, 0.1, 0.1])
        num = np.arange(lo, lo + n)
        ids = _str_ids("m", num)
        msgs = pa.table(
            {
                "message_id": ids,
                "source": pa.array(np.full(n, "bench")),
                "group_id": _str_ids("G", mg),
                "sender_id": _str_ids("P", sender),
                "sender_name": pa.nulls(n, pa.string()),
                "ts": pa.array(
                    (local - np.timedelta64(8, "h")).astype("datetime64[us]"), pa.timestamp("us", tz="UTC")
                ),
                "local_ts": pa.array(local.astype("datetime64[us]"), pa.timestamp("us")),
                "kind": pa.array(np.where(kind_r < 0.01, "system", "text")),
                "text": pa.array(texts[ti]),
                "reply_to": pa.nulls(n, pa.string()),
                "mentions": pa.nulls(n, pa.list_(pa.string())),
                "at_all": pa.array(np.zeros(n, bool)),
                "forwarded": pa.array(np.zeros(n, bool)),
                "batch_id": pa.array(np.full(n, f"b{lo // chunk}")),
            },
            schema=MESSAGES,
        )
        lake.append_batch("messages", f"b{lo // chunk}", msgs)
        del msgs, local
        sel = np.isin(ti, list(lab_map))
        labels.append(
            pa.table(
                {
                    "message_id": ids.filter(pa.array(sel)),
                    "label": pa.array(
                        np.array(list(lab_map.values()))[np.searchsorted(np.array(list(lab_map)), ti[sel])]
                    ),
                    "rule_id": pa.array(np.full(int(sel.sum()), "bench")),
                    "span": pa.nulls(int(sel.sum()), pa.string()),
                },
                schema=SCHEMAS["message_labels"],
            )
        )
        # notices: every "请各村落实防汛工作" sent the same day in groups of the same unit = one notice
        nsel = np.flatnonzero(ti == 0)
        n_keys.append(gu[mg[nsel]].astype(np.int64) * 1000 + secs[nsel] // 86400)
        n_secs.append(secs[nsel])
        n_ids.append(num[nsel])
        n_grp.append(mg[nsel])
    lake.replace("message_labels", pa.concat_tables(labels))
    keys, nsecs, nids, ngrp = (np.concatenate(x) for x in (n_keys, n_secs, n_ids, n_grp))
    order = np.lexsort((nsecs, keys))
    ks = keys[order]
    hop = np.zeros(len(ks), np.int32)
    hop[1:][ks[1:] == ks[:-1]] = 1
    lake.replace(
        "notice_clusters",
        pa.table(
            {
                "cluster_id": _str_ids("c", ks),
                "message_id": _str_ids("m", nids[order]),
                "group_id": _str_ids("G", ngrp[order]),
                "sender_id": pa.nulls(len(ks), pa.string()),
                "ts": pa.nulls(len(ks), pa.timestamp("us", tz="UTC")),
                "hop": pa.array(hop),
            },
            schema=SCHEMAS["notice_clusters"],
        ),
    )
    return ws


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--groups", type=int, default=None)
    ap.add_argument("--dir", default="/tmp/zhijian-bench-screen")
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("--keep", action="store_true", help="reuse the generated workspace if present")
    ap.add_argument(
        "--generate-only",
        action="store_true",
        help="only write the workspace (run the analysis in a second process with --keep, so that the "
        "peak RSS is the analysis's alone)",
    )
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
    if a.generate_only:
        print(
            f"generated messages={a.messages:,} groups={n_groups:,} in {gen:.1f}s; peak RSS "
            f"{psutil.Process().memory_info().rss / 2**20:,.0f} MB (current)"
        )
        return
    from zhijian.analysis.pipeline import run_analysis

    with PeakRSS() as rss:
        t1 = time.perf_counter()
        res = run_analysis(ws, engine=a.engine, steps=["lifecycle", "overlap", "recommend", "burden"])
        wall = time.perf_counter() - t1
    print(f"messages={a.messages:,} groups={n_groups:,} engine={a.engine} generate={gen:.1f}s")
    for name, st in res.steps.items():
        print(f"  {name:10s} {st['seconds']:7.2f}s findings={st['findings']} datasets={st.get('datasets')}")
    print(
        f"indicators + screening: wall {wall:.1f}s, peak RSS {rss.peak / 2**20:,.0f} MB, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs"
    )
    print(f"findings by category: {res.findings.by_category}")


if __name__ == "__main__":
    main()
