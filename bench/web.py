"""Web latency under loopback load: p50 / p95 of the main pages and API calls.

    .venv/bin/python bench/web.py                       # synthetic county, 500k messages
    .venv/bin/python bench/web.py --messages 10000000   # 10M-message workspace
    .venv/bin/python bench/web.py --workspace demo-ws   # an existing workspace (e.g. the demo)

The server runs as a separate process (``zhijian serve``, one uvicorn worker); N concurrent
clients (asyncio + httpx, logged in as a supervisor and as a liaison) request a fixed mix of pages
and API calls for D seconds. Prints one line per URL and the totals; goal p95 < 300 ms, 0 errors.
Then ``--prechecks`` drafts go one after another through the draft check (``POST /api/v1/precheck``),
which runs the rule pack's label, marker and deadline queries on each draft: its latency is printed
on its own line.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_synthetic(root: Path, n_messages: int, seed: int = 7) -> None:
    """A county with 12 townships × 8 villages, 1,500 people, 300 groups, 25 apps, 15 accounts,
    3,000 findings, ``n_messages`` messages and 26 weeks of indicators."""
    from zhijian.lake.schema import INDICATORS, MEMBERSHIPS, MESSAGES
    from zhijian.store.models import Account, App, Finding, Group, Person, Recommendation, Unit
    from zhijian.workspace import init_workspace

    rng = random.Random(seed)
    ws = init_workspace(root, "压测县")
    now = dt.datetime(2026, 6, 1)
    units, people, groups = [], [], []
    units.append(Unit(id="C", name="压测县", parent_id=None, level="county", kind="government", path="/C/"))
    for t in range(12):
        tid = f"T{t:02d}"
        units.append(
            Unit(
                id=tid,
                name=f"第{t + 1}镇",
                parent_id="C",
                level="township",
                kind="township",
                path=f"/C/{tid}/",
            )
        )
        for v in range(8):
            vid = f"{tid}V{v}"
            units.append(
                Unit(
                    id=vid,
                    name=f"第{t + 1}镇{v + 1}村",
                    parent_id=tid,
                    level="village",
                    kind="village",
                    path=f"/C/{tid}/{vid}/",
                )
            )
    leaf = [u.id for u in units if u.level != "county"]
    for i in range(1500):
        people.append(Person(id=f"P{i:04d}", name=f"干部{i:04d}", unit_id=rng.choice(leaf), aliases=[]))
    for g in range(300):
        groups.append(
            Group(
                id=f"G{g:03d}",
                name=f"工作群{g:03d}",
                unit_id=rng.choice(leaf),
                owner_id=f"P{rng.randrange(1500):04d}",
                member_count=rng.randrange(3, 200),
                status=rng.choice(["active"] * 8 + ["dissolved", "merged"]),
                group_type=rng.choice(["fixed", "fixed", "temporary"]),
            )
        )
    apps = [
        App(id=f"A{i:02d}", name=f"政务应用{i:02d}", unit_id=rng.choice(leaf), users=rng.randrange(10, 5000))
        for i in range(25)
    ]
    accounts = [Account(id=f"O{i:02d}", name=f"公众号{i:02d}", unit_id=rng.choice(leaf)) for i in range(15)]
    cats = [
        "ZOMBIE",
        "AFTER_HOURS",
        "GROUP_ROLLCALL_INSTANT",
        "DUPLICATE_GROUP",
        "EXCESSIVE_TRACE",
        "FORCED_USE",
    ]
    findings, recs = [], []
    for i in range(3000):
        g = groups[i % 300]
        findings.append(
            Finding(
                id=f"F{i:05d}",
                category=cats[i % len(cats)],
                rule_id="bench",
                object_type="group",
                object_id=g.id,
                unit_id=g.unit_id,
                period=f"2026-{1 + i % 6:02d}",
                title=f"{g.name}：问题 {i}",
                first_seen_at=now,
                last_seen_at=now,
                updated_at=now,
                status=rng.choice(["open", "open", "assigned", "submitted", "closed"]),
                evidence={
                    "message_ids": [f"m{rng.randrange(n_messages)}" for _ in range(5)],
                    "message_count": 5,
                },
            )
        )
    for g in groups[:200]:
        recs.append(
            Recommendation(
                id=f"group:{g.id}",
                object_type="group",
                object_id=g.id,
                unit_id=g.unit_id,
                action=rng.choice(["keep", "merge", "remove"]),
                reasons=["压测"],
                evidence={},
                updated_at=now,
            )
        )
    with ws.store.session() as s:
        for u in units:
            s.add(u)
        s.flush()
        s.add_all(people)
        s.flush()
        s.add_all(groups + apps + accounts)
        s.flush()
        s.add_all(findings + recs)
    lake = ws.lake()
    start = np.datetime64("2026-01-01T00:00:00", "us")
    chunk = 2_000_000
    texts = np.array(
        ["请各单位今晚十点前报送材料", "收到", "收到请回复", "好的", "明天上午九点开会", "请转发并点赞"]
    )
    for b, lo in enumerate(range(0, n_messages, chunk)):
        n = min(chunk, n_messages - lo)
        r = np.random.default_rng(seed + b)
        ts = start + r.integers(0, 180 * 86400 * 10**6, n).astype("timedelta64[us]")
        ids = np.char.add("m", np.arange(lo, lo + n).astype(str))
        gid = np.char.add("G", np.char.zfill(r.integers(0, 300, n).astype(str), 3))
        sid = np.char.add("P", np.char.zfill(r.integers(0, 1500, n).astype(str), 4))
        tbl = pa.table(
            {
                "message_id": ids,
                "source": np.full(n, "bench"),
                "group_id": gid,
                "sender_id": sid,
                "sender_name": sid,
                "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "local_ts": pa.array(ts + np.timedelta64(8, "h"), pa.timestamp("us")),
                "kind": np.full(n, "text"),
                "text": texts[r.integers(0, len(texts), n)],
                "reply_to": pa.nulls(n, pa.string()),
                "mentions": pa.nulls(n, pa.list_(pa.string())),
                "at_all": np.zeros(n, bool),
                "forwarded": np.zeros(n, bool),
                "batch_id": np.full(n, f"b{b}"),
            }
        ).cast(MESSAGES)
        lake.append_batch("messages", f"b{b}", tbl)
    mem = [
        {
            "group_id": f"G{g:03d}",
            "person_id": f"P{rng.randrange(1500):04d}",
            "role": "member",
            "joined_at": None,
            "left_at": None,
            "batch_id": "m",
        }
        for g in range(300)
        for _ in range(30)
    ]
    lake.append_batch("memberships", "m", pa.Table.from_pylist(mem, schema=MEMBERSHIPS))
    ind = []
    for w in range(26):
        period = (dt.date(2026, 1, 5) + dt.timedelta(weeks=w)).isoformat()
        for u in units:
            for metric in ("demands", "after_hours_share", "roll_call_demands"):
                ind.append(
                    {
                        "scope": "county" if u.level == "county" else "unit",
                        "scope_id": u.id,
                        "period": period,
                        "metric": metric,
                        "value": rng.random() * 10,
                    }
                )
    # the analysis writes each group's weekly message count (analysis/burden.py, scope "group")
    for w in range(26):
        period = (dt.date(2026, 1, 5) + dt.timedelta(weeks=w)).isoformat()
        for g in range(300):
            ind.append(
                {
                    "scope": "group",
                    "scope_id": f"G{g:03d}",
                    "period": period,
                    "metric": "messages",
                    "value": float(n_messages // 300 // 26),
                }
            )
    lake.replace("indicators", pa.Table.from_pylist(ind, schema=INDICATORS))
    # what `zhijian analyze` does after writing findings: the evidence messages in context
    from zhijian.analysis.evidence_context import build

    print(f"evidence context: {build(ws)}")
    ws.close()


def make_users(ws) -> dict[str, str]:
    from sqlalchemy import select

    from zhijian.store.models import Unit, User
    from zhijian.web.auth import create_user, generate_password, hash_password

    out = {}
    with ws.store.session() as s:
        town = s.execute(select(Unit).where(Unit.level == "township").order_by(Unit.id)).scalars().first()
        root = s.execute(select(Unit).where(Unit.parent_id.is_(None))).scalars().first()
        for name, role, unit in (
            ("bench-supervisor", "supervisor", root),
            ("bench-liaison", "liaison", town or root),
        ):
            pw = generate_password()
            u = s.execute(select(User).where(User.username == name)).scalar_one_or_none()
            if u is None:
                create_user(s, name, role, pw, unit_id=unit.id if unit else None, actor="bench")
            else:
                u.password_hash = hash_password(pw)
            out[name] = pw
    return out


def sample_ids(ws) -> dict[str, list[str]]:
    from sqlalchemy import select

    from zhijian.store.models import Finding, Group

    with ws.store.session() as s:
        f = s.execute(select(Finding.id).where(Finding.active.is_(True)).limit(200)).scalars().all()
        g = s.execute(select(Group.id).limit(200)).scalars().all()
    return {"finding": list(f), "group": list(g)}


async def run_load(url: str, users: dict[str, str], ids: dict[str, list[str]], duration: float, conc: int):
    import httpx

    routes = [
        ("page 总览", lambda r, ids: "/dashboard"),
        ("page 目录清单", lambda r, ids: "/inventory/groups"),
        ("page 目录清单 搜索", lambda r, ids: "/inventory/groups?q=1&status=active"),
        ("page 群详情", lambda r, ids: f"/inventory/groups/{r.choice(ids['group'])}"),
        ("page 问题线索", lambda r, ids: "/findings"),
        ("page 问题线索 筛选", lambda r, ids: "/findings?category=ZOMBIE&status=open"),
        ("page 线索详情", lambda r, ids: f"/findings/{r.choice(ids['finding'])}"),
        ("page 负担指数", lambda r, ids: "/burden"),
        ("api dashboard", lambda r, ids: "/api/v1/dashboard"),
        ("api findings", lambda r, ids: "/api/v1/findings?page=2"),
        ("api inventory", lambda r, ids: "/api/v1/inventory/groups?sort=members&order=desc"),
        ("api finding", lambda r, ids: f"/api/v1/findings/{r.choice(ids['finding'])}"),
    ]
    lat: dict[str, list[float]] = {name: [] for name, _ in routes}
    errors: dict[str, int] = {}
    clients = []
    scoped: dict[str, dict[str, list[str]]] = {}
    for i in range(conc):
        name = "bench-supervisor" if i % 2 == 0 else "bench-liaison"
        cl = httpx.AsyncClient(base_url=url, timeout=30)
        r = await cl.post("/api/v1/auth/login", json={"username": name, "password": users[name]})
        r.raise_for_status()
        if name not in scoped:  # each user requests only objects in their scope
            f = (await cl.get("/api/v1/findings", params={"per_page": 200})).json()["items"]
            g = (await cl.get("/api/v1/inventory/groups", params={"per_page": 200})).json()["items"]
            scoped[name] = {
                "finding": [x["id"] for x in f] or ids["finding"],
                "group": [x["id"] for x in g] or ids["group"],
            }
        clients.append((cl, scoped[name]))
    stop = time.monotonic() + duration

    async def worker(cl, my_ids, seed):
        rng = random.Random(seed)
        while time.monotonic() < stop:
            name, path = rng.choice(routes)
            p = path(rng, my_ids)
            t0 = time.perf_counter()
            try:
                r = await cl.get(p)
                why = None if r.status_code == 200 else f"HTTP {r.status_code}"
            except Exception as e:  # noqa: BLE001 - counted as an error
                why = type(e).__name__
            dt_ms = (time.perf_counter() - t0) * 1000
            if why is None:
                lat[name].append(dt_ms)
            else:
                errors[f"{name}: {why}"] = errors.get(f"{name}: {why}", 0) + 1

    await asyncio.gather(*(worker(c, my, i) for i, (c, my) in enumerate(clients)))
    for c, _ in clients:
        await c.aclose()
    return lat, errors


#: drafts for the draft check (消息体检), each a different text: demands, deadlines, plain notices
DRAFTS = [
    "请各村今天下午5点前报送本周工作总结，收到请回复。",
    "@所有人 明天上午9点在三楼会议室召开防汛工作会议，请准时参加。",
    "请大家把今天的学习强国积分截图发到群里。",
    "紧急！今晚10点前各村上报巡查情况。",
    "关于做好近期安全生产工作的通知，请各村认真学习。",
    "请各单位10分钟内回复是否收到。",
    "周五前把花名册交到党政办。",
    "今天的会议改到下午三点。",
]


async def run_precheck(url: str, users: dict[str, str], n: int) -> list[float]:
    """Latency of ``POST /api/v1/precheck``, one draft after another (the checker serialises drafts:
    its queries share one connection), after one warm-up draft that builds them."""
    import httpx

    lat = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as cl:
        r = await cl.post(
            "/api/v1/auth/login", json={"username": "bench-liaison", "password": users["bench-liaison"]}
        )
        r.raise_for_status()
        cl.headers["X-CSRF-Token"] = r.json()["csrf_token"]  # a state-changing request carries it
        for i in range(n + 1):
            body = {"text": DRAFTS[i % len(DRAFTS)] + ("" if i < len(DRAFTS) else f"（{i}）")}
            t0 = time.perf_counter()
            r = await cl.post("/api/v1/precheck", json=body)
            r.raise_for_status()
            if i:
                lat.append((time.perf_counter() - t0) * 1000)
    return lat


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): unlike latency, not inflated by other
    load on the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children (the uvicorn workers of ``--workers N``)."""
    total = cpu_seconds(pid)
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                total += cpu_seconds(int(d.name))
    return total


SERVER_PIDS: list[int] = []


@contextmanager
def served(workspace: Path, timeout: float = 90, workers: int = 1):
    """Run ``zhijian serve`` on a free loopback port for the block; yields the base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhijian.cli", "serve", "-w", str(workspace), "--port", str(port)]
        + (["--workers", str(workers)] if workers > 1 else []),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise SystemExit("server did not start") from None
                time.sleep(0.2)
        SERVER_PIDS[:] = [proc.pid]
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workspace", type=Path)
    ap.add_argument("--messages", type=int, default=500_000)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes (zhijian serve --workers)"
    )
    ap.add_argument(
        "--prechecks", type=int, default=20, help="drafts checked one after another after the load (0: none)"
    )
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from zhijian.workspace import open_workspace

    tmp = None
    if args.workspace is None:
        tmp = tempfile.TemporaryDirectory(prefix="zhijian-bench-web-")
        root = Path(tmp.name) / "ws"
        t0 = time.perf_counter()
        build_synthetic(root, args.messages)
        print(f"synthetic workspace: {args.messages:,} messages, built in {time.perf_counter() - t0:.1f} s")
    else:
        root = args.workspace
    ws = open_workspace(root)
    users = make_users(ws)
    ids = sample_ids(ws)
    ws.close()
    try:
        with served(root, workers=args.workers) as url:
            asyncio.run(run_load(url, users, ids, 3, 4 * args.workers))  # warm-up (caches, DuckDB connection)
            load0 = os.getloadavg()[0]
            cpu0 = tree_cpu_seconds(SERVER_PIDS[0])
            lat, errors = asyncio.run(run_load(url, users, ids, args.duration, args.concurrency))
            cpu = tree_cpu_seconds(SERVER_PIDS[0]) - cpu0
            load1 = os.getloadavg()[0]
            pre = asyncio.run(run_precheck(url, users, args.prechecks)) if args.prechecks else []
    finally:
        if tmp is not None:
            tmp.cleanup()
    total = sum(len(v) for v in lat.values())
    print(f"{args.concurrency} clients, {args.duration:.0f} s, loopback, {args.workers} uvicorn worker(s)")
    print(f"{'request':<22}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for name, xs in lat.items():
        print(
            f"{name:<22}{len(xs):>7}{pct(xs, 0.5):>10.1f}{pct(xs, 0.95):>10.1f}{max(xs, default=float('nan')):>10.1f}"
        )
    allx = [x for xs in lat.values() for x in xs]
    print(
        f"{'all':<22}{total:>7}{pct(allx, 0.5):>10.1f}{pct(allx, 0.95):>10.1f}{max(allx, default=0):>10.1f}"
    )
    print(f"throughput {total / args.duration:.0f} req/s, errors {sum(errors.values())} {errors or ''}")
    print(f"mean {statistics.fmean(allx):.1f} ms")
    print(
        f"server CPU {cpu * 1000 / max(1, total):.1f} ms per request (not inflated by other load); "
        f"load average {load0:.2f} before, {load1:.2f} after; {os.cpu_count()} CPUs"
    )
    if pre:
        print(
            f"draft check (POST /api/v1/precheck, {len(pre)} drafts one after another, no other load): "
            f"p50 {pct(pre, 0.5):.0f} ms, p95 {pct(pre, 0.95):.0f} ms, max {max(pre):.0f} ms"
        )


if __name__ == "__main__":
    main()
