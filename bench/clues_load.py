"""Load on the anonymous clue endpoint over loopback: an open-loop schedule of POST /api/v1/clues at a
fixed rate (default 200 requests/s for 30 s) against a real uvicorn server in its own process, then a
check that every accepted receipt resolves (POST /api/v1/clues/lookup) and that the store holds
exactly the accepted clues.

The server runs with the clue rate limits off (the policy's 10/hour per client and 1,000/hour per
system would reject a load test by design); everything else — validation, Argon2 hashing with the
policy's parameters, SQLite writes — is the production path.

    .venv/bin/python bench/clues_load.py [--rate 200] [--seconds 30] [--workers 64]

Prints requests sent, accepted, errors, achieved throughput, latency p50/p95/p99, lost clues, and the
Argon2 cost per hash measured on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVER = r"""
import sys, uvicorn
from zhijian.workspace import open_workspace
from zhijian.web.app import create_app
from zhijian.clues.ratelimit import ClueLimiter
ws = open_workspace(sys.argv[1])
app = create_app(ws)
app.state.clue_limiter = ClueLimiter({})  # limits off for the load test
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), access_log=False, log_level="warning",
            server_header=False)
"""

CATS = ["GROUP_ROLLCALL_INSTANT", "EXCESSIVE_TRACE", "AFTER_HOURS", "ZOMBIE", "FORWARD_LIKE_VOTE"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): a figure other load on the machine
    does not inflate, unlike latency and throughput."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(url: str, rate: float, seconds: float, timeout: float, workers: int, server_pid: int | None = None):
    """Open loop: request i is due at start + i/rate; ``workers`` threads (one keep-alive connection
    each) take the next due request. Latency is measured from the *scheduled* time, so time spent
    queued behind a slow server counts (no coordinated omission)."""
    import threading

    import httpx

    n = int(rate * seconds)
    lat: list[float] = []
    receipts: list[str] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    nxt = [0]
    start = time.perf_counter() + 0.5

    def worker():
        with httpx.Client(base_url=url, timeout=timeout) as cl:
            while True:
                with lock:
                    i = nxt[0]
                    nxt[0] += 1
                if i >= n:
                    return
                due = start + i / rate
                d = due - time.perf_counter()
                if d > 0:
                    time.sleep(d)
                body = {
                    "category": CATS[i % len(CATS)],
                    "object_type": "group",
                    "object_name": f"压测工作群{i % 97}",
                    "unit": "压测乡",
                    "description": f"第 {i} 条压测线索：晚上十点后要求回复收到。",
                }
                try:
                    r = cl.post("/api/v1/clues", json=body)
                except httpx.HTTPError as e:
                    with lock:
                        errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                    continue
                done = time.perf_counter()
                with lock:
                    lat.append(done - due)
                    if r.status_code == 201:
                        receipts.append(r.json()["receipt"])
                    else:
                        errors[f"HTTP {r.status_code}"] = errors.get(f"HTTP {r.status_code}", 0) + 1

    cpu0 = cpu_seconds(server_pid) if server_pid else None
    ts = [threading.Thread(target=worker) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    total = time.perf_counter() - start
    server_cpu = cpu_seconds(server_pid) - cpu0 if server_pid else None
    load = os.getloadavg()[0]

    # every accepted receipt must resolve
    lost: list[str] = []
    it = iter(list(receipts))

    def checker():
        with httpx.Client(base_url=url, timeout=timeout) as cl:
            while True:
                with lock:
                    rc = next(it, None)
                if rc is None:
                    return
                r = cl.post("/api/v1/clues/lookup", json={"receipt": rc})
                if r.status_code != 200:
                    with lock:
                        lost.append(rc)

    t1 = time.perf_counter()
    cs = [threading.Thread(target=checker) for _ in range(8)]
    for t in cs:
        t.start()
    for t in cs:
        t.join()
    return {
        "server_cpu_s": server_cpu,
        "loadavg_submit": load,
        "sent": n,
        "sent_in_s": seconds,
        "total_s": total,
        "lat": lat,
        "receipts": receipts,
        "errors": errors,
        "lost": lost,
        "verify_s": time.perf_counter() - t1,
    }


def argon2_ms() -> float:
    from zhijian.clues import receipts

    h = receipts.hash_receipt("1234567812345678")
    t0 = time.perf_counter()
    for _ in range(50):
        receipts.verify(h, "1234567812345678")
    return (time.perf_counter() - t0) / 50 * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--workers", type=int, default=64, help="client threads (one connection each)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    a = ap.parse_args()

    from sqlalchemy import func, select

    from zhijian.clues import receipts
    from zhijian.store.models import Clue
    from zhijian.workspace import init_workspace, open_workspace

    tmp = Path(tempfile.mkdtemp(prefix="zj-clues-load-"))
    init_workspace(tmp / "ws", "压测县").close()
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(tmp / "ws"), str(port)], env=env)
    try:
        import httpx

        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/clues", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        res = run(f"http://127.0.0.1:{port}", a.rate, a.seconds, a.timeout, a.workers, proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    ws = open_workspace(tmp / "ws")
    with ws.store.session() as s:
        stored = s.execute(select(func.count()).select_from(Clue)).scalar_one()
    ws.close()
    shutil.rmtree(tmp, ignore_errors=True)
    acc = len(res["receipts"])
    pol = receipts.policy()["argon2"]
    out = {
        "target_rate": a.rate,
        "seconds": a.seconds,
        "sent": res["sent"],
        "accepted": acc,
        "errors": sum(res["errors"].values()),
        "error_kinds": res["errors"],
        "wall_s": round(res["total_s"], 2),
        "throughput_per_s": round(acc / res["total_s"], 1),
        "p50_ms": round(pct(res["lat"], 0.5) * 1000, 1),
        "p95_ms": round(pct(res["lat"], 0.95) * 1000, 1),
        "p99_ms": round(pct(res["lat"], 0.99) * 1000, 1),
        "mean_ms": round(statistics.fmean(res["lat"]) * 1000, 1) if res["lat"] else None,
        "stored": stored,
        "lost": len(res["lost"]) + max(0, acc - stored),
        "lookup_verify_s": round(res["verify_s"], 1),
        "argon2": f"argon2id t={pol['time_cost']} m={pol['memory_kib']}KiB p={pol['parallelism']}",
        "argon2_ms_per_hash": round(argon2_ms(), 2),
        "server_cpu_ms_per_clue": round(res["server_cpu_s"] * 1000 / max(1, acc), 2),
        "cpus": os.cpu_count(),
        "loadavg_end_of_submissions": round(res["loadavg_submit"], 2),
        "loadavg_after": os.getloadavg()[0],
    }
    print(json.dumps(out, ensure_ascii=False, indent=2))
    if a.json:
        a.json.write_text(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
