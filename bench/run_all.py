"""The benchmark suite (``make bench``): import, analysis and web-page loads on demo workspaces, side by
side with the baselines a user would otherwise use, run in the same invocation.

    .venv/bin/python bench/run_all.py                         # 1M and 10M messages, median of 3 runs
    .venv/bin/python bench/run_all.py --quick                 # 100k only, 1 run (development)
    .venv/bin/python bench/run_all.py --sizes 0.25M,1M,4M,10M # scaling curve: the log-log slope, the
                                                              # cost per message and the marginal cost
                                                              # per added message (print_scaling)
    .venv/bin/python bench/run_all.py --compare               # also print the change against the last run

Stages (each measured in a child process; peak RSS samples the child and all its descendants, i.e. the
Spark JVM too):

* ``import``            zhijian import of the demo county's files into a fresh workspace
* ``analysis``          the whole ``run_analysis`` on DuckDB (rows ``analysis/<step>`` = that step's
                        wall time inside the same run; their RSS is the run's)
* ``analysis[spark]``   the same analysis on Spark local[2] (sizes ≤ ``--spark-max``)
* ``labels[re]``        a plain Python ``re`` loop over the same rule pack (bench/detect_labels.PyClassifier)
* ``dedup[core]``       zhijian's near-duplicate core over the notices (what datasketch replaces)
* ``dedup[datasketch]`` datasketch MinHashLSH over the same normalised notice texts (bench/detect.run_datasketch)
* ``whatsapp``          zhijian import of a WhatsApp .txt export; ``whatsapp[whatstk]`` whatstk parsing it
* ``web``               page and API loads against the analysed workspace (bench/web.run_load)

Demo workspaces are cached under bench/cache/ (git-ignored); results go to bench/results/*.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / "cache"
RESULTS = HERE / "results"
SEED = 7


# ── measuring ──────────────────────────────────────────────────────────────────────────────────────
class TreeRSS:
    """Peak resident memory of a process and all its descendants (sampled every 0.1 s)."""

    def __init__(self, pid: int):
        import psutil

        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                pass
            self._stop.wait(0.1)

    def stop(self) -> int:
        self._stop.set()
        self._t.join()
        return self.peak


def run_child(task: str, *args: str, timeout: float | None = None) -> dict:
    """Run one measured task in a child process; returns its JSON result plus ``peak_rss_mb``."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--task", task, *args]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rss = TreeRSS(p.pid)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        rss.stop()
        return {"error": f"timeout after {timeout:.0f} s"}
    peak = rss.stop()
    if p.returncode != 0:
        return {"error": (err or out)[-1500:]}
    res = json.loads(out.strip().splitlines()[-1])
    res["peak_rss_mb"] = peak / 2**20
    res.setdefault("wall", time.perf_counter() - t0)
    return res


# ── tasks (run in the child) ───────────────────────────────────────────────────────────────────────
def _ws_paths(n: int) -> tuple[Path, Path]:
    d = CACHE / f"demo-{n}"
    return d / "exports", d / "ws"


def ensure_workspace(n: int) -> dict:
    """Generate and import the demo county of ``n`` messages once (cached); returns timings if built."""
    exports, wsdir = _ws_paths(n)
    marker = exports.parent / "ready.json"
    want = {"messages": n, "seed": SEED}
    if marker.exists() and json.loads(marker.read_text()) == want:
        return {}
    shutil.rmtree(exports.parent, ignore_errors=True)
    gen = run_child("generate", str(n))
    if "error" in gen:
        raise SystemExit(f"generate {n} failed:\n{gen['error']}")
    imp = run_child("import", str(n), str(wsdir))
    if "error" in imp:
        raise SystemExit(f"import {n} failed:\n{imp['error']}")
    marker.write_text(json.dumps(want))
    return {"generate": gen, "import": imp}


def task_generate(n: str) -> dict:
    from zhijian.demo import generate

    exports, _ = _ws_paths(int(n))
    t = time.perf_counter()
    generate(exports, messages=int(n), seed=SEED)
    return {"wall": time.perf_counter() - t}


def task_import(n: str, wsdir: str) -> dict:
    from zhijian.ingest import import_paths
    from zhijian.workspace import init_workspace

    exports, _ = _ws_paths(int(n))
    shutil.rmtree(wsdir, ignore_errors=True)
    ws = init_workspace(Path(wsdir), "青山县")
    t = time.perf_counter()
    s = import_paths(ws, [exports])
    wall = time.perf_counter() - t
    ws.close()
    return {"wall": wall, "messages": s.messages + s.system_messages}


def task_analysis(n: str, engine: str) -> dict:
    from zhijian.analysis.pipeline import run_analysis
    from zhijian.workspace import open_workspace

    _, wsdir = _ws_paths(int(n))
    root = wsdir
    if engine != "duckdb":  # analyse a copy so the DuckDB workspace (used by later stages) stays as is
        root = wsdir.parent / f"ws-{engine}"
        if not root.exists():
            shutil.copytree(wsdir, root)
    ws = open_workspace(root)
    t = time.perf_counter()
    res = run_analysis(ws, engine)
    wall = time.perf_counter() - t
    ws.close()
    return {"wall": wall, "steps": {k: v["seconds"] for k, v in res.steps.items()}}


def _messages_table(n: str):
    from zhijian.workspace import open_workspace

    _, wsdir = _ws_paths(int(n))
    ws = open_workspace(wsdir)
    return ws, ws.lake("duckdb")


def task_labels_re(n: str, sample: str) -> dict:
    """The same rule pack as a plain Python ``re`` loop (extrapolated from ``sample`` messages if smaller)."""
    sys.path.insert(0, str(HERE))
    from detect_labels import PyClassifier

    from zhijian.rules.pack import builtin_pack

    ws, lake = _messages_table(n)
    m = lake.table("messages")
    rows = lake.to_arrow(m.select("text", "kind").limit(int(sample))).to_pylist()
    total = lake.to_arrow(m.aggregate(n=m.count())).column("n")[0].as_py()
    ws.close()
    clf = PyClassifier(builtin_pack())
    t = time.perf_counter()
    hits = 0
    for r in rows:
        hits += bool(clf(r["text"] or "", r["kind"] or "text"))
    wall = time.perf_counter() - t
    return {
        "wall": wall * total / max(1, len(rows)),
        "measured_messages": len(rows),
        "extrapolated": len(rows) < total,
        "labelled": hits,
    }


def _notice_texts(lake):
    from zhijian.analysis.dedup import NOTICE_KINDS

    msgs = lake.table("messages")
    return msgs.filter(msgs.text.notnull() & msgs.kind.isin(NOTICE_KINDS))


def task_dedup_core(n: str) -> dict:
    from zhijian.analysis.neardup import Params, cluster_texts

    ws, lake = _messages_table(n)
    m = _notice_texts(lake)
    t = time.perf_counter()
    run = cluster_texts(lake, m.select(key=m.message_id, text=m.text), Params.from_policy())
    out = lake.to_arrow(run.items.select("key", "comp"))
    wall = time.perf_counter() - t
    ws.close()
    return {"wall": wall, "items": out.num_rows}


def task_dedup_datasketch(n: str) -> dict:
    sys.path.insert(0, str(HERE))
    from detect import run_datasketch

    from zhijian.analysis.neardup import Params, normalise

    ws, lake = _messages_table(n)
    m = _notice_texts(lake)
    prm = Params.from_policy()
    nt = m.select(key=m.message_id, norm=normalise(m.text))
    nt = lake.to_arrow(nt.filter(nt.norm.length() >= prm.min_fragment_chars)).column("norm").to_pylist()
    ws.close()
    texts = sorted(set(nt))  # exact duplicates collapsed, as zhijian does first
    _, wall, t_sig = run_datasketch(texts, [f"d{i}" for i in range(len(texts))])
    return {"wall": wall, "docs": len(texts), "signatures_s": t_sig}


def _whatsapp_file(n: int) -> Path:
    sys.path.insert(0, str(HERE))
    from ingest import gen_whatsapp_txt

    d = CACHE / f"whatsapp-{n}"
    f = d / "WhatsApp Chat with 工作群.txt"
    if not f.exists():
        d.mkdir(parents=True, exist_ok=True)
        gen_whatsapp_txt(f, n)
    return f


def task_whatsapp(n: str) -> dict:
    from zhijian.ingest import import_paths
    from zhijian.workspace import init_workspace

    f = _whatsapp_file(int(n))
    wsdir = f.parent / "ws"
    shutil.rmtree(wsdir, ignore_errors=True)
    ws = init_workspace(wsdir, "测试县")
    t = time.perf_counter()
    s = import_paths(ws, [f])
    wall = time.perf_counter() - t
    ws.close()
    shutil.rmtree(wsdir, ignore_errors=True)
    return {"wall": wall, "messages": s.messages}


def task_whatstk(n: str) -> dict:
    from whatstk import WhatsAppChat

    f = _whatsapp_file(int(n))
    t = time.perf_counter()
    # max_size=None: whatstk refuses files > 50 MB by default (1M messages are larger).
    chat = WhatsAppChat.from_source(filepath=str(f), hformat="%d/%m/%Y, %H:%M - %name:", max_size=None)
    return {"wall": time.perf_counter() - t, "messages": len(chat.df)}


def task_web(n: str, duration: str) -> dict:
    import asyncio

    sys.path.insert(0, str(HERE))
    from web import make_users, pct, run_load, sample_ids, served

    from zhijian.workspace import open_workspace

    _, wsdir = _ws_paths(int(n))
    ws = open_workspace(wsdir)
    users = make_users(ws)
    ids = sample_ids(ws)
    ws.close()
    with served(wsdir) as url:
        asyncio.run(run_load(url, users, ids, 3, 4))  # warm-up
        t = time.perf_counter()
        lat, errors = asyncio.run(run_load(url, users, ids, float(duration), 10))
        wall = time.perf_counter() - t
    allx = [x for xs in lat.values() for x in xs]
    return {
        "wall": wall,
        "requests": len(allx),
        "p50_ms": pct(allx, 0.5),
        "p95_ms": pct(allx, 0.95),
        "errors": sum(errors.values()),
    }


TASKS = {
    "generate": task_generate,
    "import": task_import,
    "analysis": task_analysis,
    "labels_re": task_labels_re,
    "dedup_core": task_dedup_core,
    "dedup_datasketch": task_dedup_datasketch,
    "whatsapp": task_whatsapp,
    "whatstk": task_whatstk,
    "web": task_web,
}


# ── orchestration (parent) ─────────────────────────────────────────────────────────────────────────
def parse_size(s: str) -> int:
    s = s.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000}.get(s[-1:], 1)
    return int(float(s[:-1] if s[-1:] in "KM" else s) * mult)


def fmt_size(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1e3:g}k"


def measure(name: str, n: int, runs: int, task: str, *args: str, timeout: float | None = None) -> dict:
    results = []
    for i in range(runs):
        r = run_child(task, *args, timeout=timeout)
        if "error" in r:
            print(
                f"  {name} @ {fmt_size(n)}: FAILED ({r['error'].strip().splitlines()[-1][:200]})", flush=True
            )
            return {"stage": name, "messages": n, "error": r["error"][-500:], "runs": i}
        results.append(r)
        print(
            f"  {name} @ {fmt_size(n)} run {i + 1}/{runs}: {r['wall']:.2f} s, {r['peak_rss_mb']:,.0f} MB",
            flush=True,
        )
    row = {
        "stage": name,
        "messages": n,
        "runs": runs,
        "wall": statistics.median(r["wall"] for r in results),
        "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in results),
        "all_walls": [round(r["wall"], 3) for r in results],
    }
    extra = {k: v for k, v in results[0].items() if k not in ("wall", "peak_rss_mb")}
    if "steps" in extra:
        extra["steps"] = {k: statistics.median(r["steps"][k] for r in results) for k in extra["steps"]}
    row.update(extra)
    return row


def bench_size(n: int, a: argparse.Namespace) -> list[dict]:
    print(f"\n== {fmt_size(n)} messages ==", flush=True)
    built = ensure_workspace(n)
    if built:
        print(
            f"  built workspace: generate {built['generate']['wall']:.1f} s, import {built['import']['wall']:.1f} s"
        )
    _, wsdir = _ws_paths(n)
    rows = []
    scratch = str(wsdir.parent / "ws-import")
    rows.append(measure("import", n, a.runs, "import", str(n), scratch))
    shutil.rmtree(scratch, ignore_errors=True)
    an = measure("analysis", n, a.runs, "analysis", str(n), "duckdb")
    rows.append(an)
    for step, secs in (an.get("steps") or {}).items():
        rows.append(
            {"stage": f"analysis/{step}", "messages": n, "runs": a.runs, "wall": secs, "peak_rss_mb": None}
        )
    if not a.no_baselines:
        rows.append(measure("labels[re]", n, a.runs, "labels_re", str(n), str(a.re_sample)))
        rows.append(measure("dedup[core]", n, a.runs, "dedup_core", str(n)))
        if n <= a.datasketch_max:
            rows.append(measure("dedup[datasketch]", n, a.runs, "dedup_datasketch", str(n)))
        wn = min(n, a.whatsapp_max)
        rows.append(measure("whatsapp", wn, a.runs, "whatsapp", str(wn)))
        rows.append(measure("whatsapp[whatstk]", wn, a.runs, "whatstk", str(wn)))
    if not a.no_web:
        rows.append(measure("web", n, 1 if a.quick else a.runs, "web", str(n), str(a.web_seconds)))
    if not a.no_spark and n <= a.spark_max:
        rows.append(
            measure(
                "analysis[spark]",
                n,
                1 if a.quick else a.runs,
                "analysis",
                str(n),
                "spark",
                timeout=a.spark_timeout,
            )
        )
    return rows


#: Ratio column: stage → baseline stage; printed as baseline wall / stage wall (> 1: zhijian is faster).
RATIOS = {
    "analysis/labels": "labels[re]",
    "dedup[core]": "dedup[datasketch]",
    "whatsapp": "whatsapp[whatstk]",
    "analysis": "analysis[spark]",
}


def print_table(rows: list[dict]) -> None:
    by = {(r["stage"], r["messages"]): r for r in rows}
    print(f"\n{'stage':<20}{'messages':>11}{'runs':>5}{'wall s':>10}{'msgs/s':>12}{'peak RSS MB':>13}  ratio")
    for r in rows:
        if "error" in r:
            print(f"{r['stage']:<20}{r['messages']:>11,}{'':>5}{'failed':>10}")
            continue
        rate = r["messages"] / r["wall"] if r["wall"] else float("nan")
        rss = f"{r['peak_rss_mb']:,.0f}" if r.get("peak_rss_mb") is not None else "-"
        ratio = ""
        base = RATIOS.get(r["stage"])
        if base and (base, r["messages"]) in by and "error" not in by[(base, r["messages"])]:
            b = by[(base, r["messages"])]
            ratio = f"{b['wall'] / r['wall']:.2f}x ({base} wall / this wall)"
        note = ""
        if r["stage"] == "labels[re]" and r.get("extrapolated"):
            note = f" (extrapolated from {r['measured_messages']:,})"
        if r["stage"] == "web":
            note = f" ({r['requests']:,} requests, p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, {r['errors']} errors)"
            rate = float("nan")
        rate_s = f"{rate:,.0f}" if not math.isnan(rate) else "-"
        print(
            f"{r['stage']:<20}{r['messages']:>11,}{r['runs']:>5}{r['wall']:>10.2f}{rate_s:>12}{rss:>13}  {ratio}{note}"
        )


def print_scaling(rows: list[dict]) -> dict:
    """Cost per message across sizes and the log-log slope of wall time vs messages (1.0 = linear)."""
    out = {}
    sizes = sorted({r["messages"] for r in rows if r["stage"] == "analysis" and "error" not in r})
    if len(sizes) < 2:
        return out
    print("\nscaling (wall time per million messages; flat within ±30% = near-linear)")
    for stage in (
        "import",
        "analysis",
        *sorted({r["stage"] for r in rows if r["stage"].startswith("analysis/")}),
    ):
        pts = [
            (r["messages"], r["wall"])
            for r in rows
            if r["stage"] == stage and "error" not in r and r["messages"] in sizes and r["wall"] > 0
        ]
        if len(pts) < 2:
            continue
        xs = [math.log(n) for n, _ in pts]
        ys = [math.log(w) for _, w in pts]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
        per = [w / n * 1e6 for n, w in pts]
        ref = per[-1]
        spread = max(abs(p / ref - 1) for p in per)
        if spread <= 0.30:
            verdict = "flat"
        elif per[-1] < per[0]:
            verdict = "falling: fixed costs dominate the small sizes"
        else:
            verdict = "NOT flat: cost per message grows"
        print(
            f"  {stage:<22} slope {slope:4.2f}  s/M msgs: "
            + ", ".join(f"{fmt_size(n)} {p:.2f}" for (n, _), p in zip(pts, per, strict=True))
            + f"  → {verdict} (±{spread:.0%})"
        )
        out[stage] = {"slope": slope, "s_per_million": per, "spread": spread}
        marginal = marginal_costs(pts)
        if marginal:
            m_spread, m_verdict = marginal_verdict(marginal, max(w for _, w in pts))
            print(
                f"  {'':<22} {'':<10} marginal s/M msgs: "
                + ", ".join(f"{fmt_size(a)}→{fmt_size(b)} {m:.2f}" for a, b, m in marginal)
                + f"  → {m_verdict} (±{m_spread:.0%})"
            )
            out[stage].update(
                marginal_s_per_million=[m for _, _, m in marginal],
                marginal_spread=m_spread if math.isfinite(m_spread) else None,  # (strict JSON)
            )
    return out


def marginal_costs(pts: list[tuple[int, float]]) -> list[tuple[int, int, float]]:
    """Seconds per million messages *added* between consecutive sizes: (Δ wall) / (Δ messages).

    The cost per message of a whole run falls with size while fixed costs (engine start, query
    compilation, the inventory snapshot) weigh on the small sizes. The marginal cost leaves the fixed
    costs out; an all-pairs step or a per-group Python loop shows in it as a cost per added message
    that grows with the size. [(smaller size, larger size, s per million added), …]"""
    pts = sorted(pts)
    return [
        (n1, n2, (w2 - w1) / (n2 - n1) * 1e6)
        for (n1, w1), (n2, w2) in zip(pts, pts[1:], strict=False)
        if n2 > n1
    ]


def marginal_verdict(marginal: list[tuple[int, int, float]], largest_wall: float) -> tuple[float, str]:
    """(spread, verdict) of the marginal costs: flat within ±30% of the last; otherwise "grows" only
    when the last exceeds the first by more than 30%. A stage that takes under 2 s at the largest
    size adds too little per message for the differences between runs to mean anything, and a
    marginal cost at or below zero is run-to-run noise."""
    costs = [m for _, _, m in marginal]
    first, last = costs[0], costs[-1]
    spread = max(abs(m / last - 1) for m in costs) if last > 0 else math.inf
    if spread <= 0.30:
        return spread, "flat"
    if largest_wall < 2.0 or first <= 0 or last <= 0:
        return spread, "too small or noisy to judge"
    if last > 1.3 * first:
        return spread, "NOT flat: the cost per added message grows"
    return spread, "not growing"


def compare(current: list[dict], previous_file: Path, probes: dict | None = None) -> None:
    prev = json.loads(previous_file.read_text())
    pb = {(r["stage"], r["messages"]): r for r in prev["rows"] if "error" not in r}
    print(f"\ncompared with {previous_file.name} ({prev.get('started', '?')})")
    if probes and prev.get("machine_probe"):  # the same loop then and now: how comparable the runs are
        then, now = prev["machine_probe"], probes
        print(
            "machine probe (one core, start/end): then "
            f"{then['start']['one_core_s']:.2f}/{then['end']['one_core_s']:.2f} s, "
            f"now {now['start']['one_core_s']:.2f}/{now['end']['one_core_s']:.2f} s"
        )
    print(f"{'stage':<20}{'messages':>11}{'before s':>10}{'now s':>10}{'change':>9}")
    for r in current:
        k = (r["stage"], r["messages"])
        if "error" in r or k not in pb:
            continue
        b = pb[k]["wall"]
        print(f"{r['stage']:<20}{r['messages']:>11,}{b:>10.2f}{r['wall']:>10.2f}{(r['wall'] / b - 1):>+9.0%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", help=argparse.SUPPRESS)
    ap.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", default="1M,10M", help="comma-separated sizes, e.g. 0.25M,1M,4M,10M")
    ap.add_argument("--runs", type=int, default=3, help="runs per figure (median reported)")
    ap.add_argument("--quick", action="store_true", help="100k messages, 1 run")
    ap.add_argument(
        "--compare", action="store_true", help="print the change against the previous results file"
    )
    ap.add_argument("--no-spark", action="store_true")
    ap.add_argument("--no-web", action="store_true")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument(
        "--spark-max", type=parse_size, default=parse_size("1M"), help="largest size run on Spark"
    )
    ap.add_argument("--spark-timeout", type=float, default=3600)
    ap.add_argument(
        "--datasketch-max",
        type=parse_size,
        default=parse_size("1M"),
        help="largest size for datasketch (it holds every signature in memory)",
    )
    ap.add_argument("--whatsapp-max", type=parse_size, default=parse_size("1M"))
    ap.add_argument(
        "--re-sample", type=int, default=1_000_000, help="messages the Python re loop really runs"
    )
    ap.add_argument("--web-seconds", type=float, default=20)
    a = ap.parse_args()

    if a.task:
        sys.path.insert(0, str(ROOT / "src"))
        res = TASKS[a.task](*a.args)
        print(json.dumps(res, default=str))
        return

    if a.quick:
        a.sizes, a.runs = "100k", 1
    sizes = [parse_size(s) for s in a.sizes.split(",")]
    started = dt.datetime.now().isoformat(timespec="seconds")
    print(
        f"zhijian benchmark suite: sizes {', '.join(fmt_size(n) for n in sizes)}, {a.runs} run(s) each, "
        f"{os.cpu_count()} cores"
    )
    from machine_probe import describe, probe

    probes = {"start": probe()}
    print(describe(probes["start"], "at start"))
    rows: list[dict] = []
    for n in sizes:
        rows += bench_size(n, a)
        print_table(rows)
    scaling = print_scaling(rows)
    probes["end"] = probe()
    print(describe(probes["end"], "at end"))
    RESULTS.mkdir(parents=True, exist_ok=True)
    previous = sorted(RESULTS.glob("run-*.json"))
    out = RESULTS / f"run-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    out.write_text(
        json.dumps(
            {
                "started": started,
                "sizes": sizes,
                "runs": a.runs,
                "cores": os.cpu_count(),
                "machine_probe": probes,
                "rows": rows,
                "scaling": scaling,
            },
            indent=1,
            default=str,
        ),
        encoding="utf-8",
    )
    print(f"\nresults: {out.relative_to(ROOT)}")
    if a.compare:
        if previous:
            compare(rows, previous[-1], probes)
        else:
            print("no previous results to compare with")


if __name__ == "__main__":
    main()
