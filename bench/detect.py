"""Benchmark: labels (if available) + conversation signals + dedup + multireport on a generated demo
county, with wall time, peak RSS, and a side-by-side with datasketch MinHashLSH over the same notices.

    .venv/bin/python bench/detect.py                       # 200k messages
    .venv/bin/python bench/detect.py --messages 1000000
    .venv/bin/python bench/detect.py --messages 10000000 --skip-datasketch
    .venv/bin/python bench/detect.py --notices 200000      # dedup only: notice-heavy synthetic set

``--notices N`` measures the near-duplicate core alone on N notice texts built like the labelled
evaluation set (bench/make_neardup_eval.py: template siblings + forwarded copies with prefixes,
signatures, closings, cut tails), where the demo county has too few notices (≈0.5% of messages) for
the comparison with datasketch to measure anything but fixed costs.

The demo files and the imported workspace are cached under ``--cache`` (default
``/tmp/zhijian-bench-detect/<messages>``). Accuracy is measured against the generator's ground
truth (``.ground_truth/notice_clusters.jsonl``): pairwise precision and recall over the messages of
notices (a pair = two messages in one cluster). datasketch gets the engine's normalised texts (its
time excludes normalisation), num_perm=128, threshold 0.5, clusters by union-find of LSH query
results — the usual way to use it.
"""

from __future__ import annotations

import argparse
import collections
import json
import threading
import time
from pathlib import Path

import psutil


class PeakRSS:
    """Samples the RSS of this process and its children (a Spark JVM included) every 50 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        p = psutil.Process()
        while not self._stop.is_set():
            try:
                rss = p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
            except psutil.Error:
                rss = 0
            self.peak = max(self.peak, rss)
            time.sleep(0.05)

    def __enter__(self) -> PeakRSS:
        self.peak = psutil.Process().memory_info().rss
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


def prepare(messages: int, seed: int, cache: Path):
    from zhijian.demo import generate
    from zhijian.ingest import import_paths
    from zhijian.workspace import init_workspace, open_workspace

    exports, wsdir = cache / "exports", cache / "ws"
    marker = cache / "ready.json"
    want = {"messages": messages, "seed": seed}
    if marker.exists() and json.loads(marker.read_text()) == want:
        return open_workspace(wsdir), exports, {}
    import shutil

    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    t = time.perf_counter()
    generate(exports, messages=messages, seed=seed)
    t_gen = time.perf_counter() - t
    ws = init_workspace(wsdir, "青山县")
    t = time.perf_counter()
    import_paths(ws, [exports])
    t_imp = time.perf_counter() - t
    marker.write_text(json.dumps(want))
    return ws, exports, {"generate": t_gen, "import": t_imp}


def pr(truth: dict[str, object], pred: dict[str, object]) -> tuple[float, float]:
    """Pairwise precision/recall (a pair = two messages in one cluster), from cluster-size counts —
    never by listing pairs (a method that merges everything would need billions)."""

    def c2(n: int) -> int:
        return n * (n - 1) // 2

    cells = collections.Counter(
        (truth.get(m, ("t", m)), pred.get(m, ("p", m))) for m in set(truth) | set(pred)
    )
    tp = sum(c2(n) for n in cells.values())
    tpairs = sum(c2(n) for n in collections.Counter(truth.values()).values())
    ppairs = sum(c2(n) for n in collections.Counter(pred.values()).values())
    return (tp / ppairs if ppairs else 1.0), (tp / tpairs if tpairs else 1.0)


def run_datasketch(texts: list[str], keys: list[str], num_perm: int = 128, threshold: float = 0.5):
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    sets = [[s[i : i + 3].encode("utf-8") for i in range(max(1, len(s) - 2))] for s in texts]
    mhs = MinHash.bulk(sets, num_perm=num_perm)
    t_sig = time.perf_counter() - t0
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for k, m in zip(keys, mhs, strict=True):
        lsh.insert(k, m)
    parent = {k: k for k in keys}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for k, m in zip(keys, mhs, strict=True):
        for o in lsh.query(m):
            a, b = find(k), find(o)
            if a != b:
                parent[max(a, b)] = min(a, b)
    wall = time.perf_counter() - t0
    return {k: find(k) for k in keys}, wall, t_sig


def synthetic_notices(n: int, seed: int = 7) -> tuple[list[str], list[str]]:
    """(texts, true notice ids) — ~n texts: template siblings, each forwarded 1–5 times."""
    import random
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from make_neardup_eval import TEMPLATES, fill, forward

    from zhijian.analysis.neardup import normalise_python

    rnd = random.Random(seed)
    texts, truth = [], []
    seen: set[str] = set()
    k = 0
    while len(texts) < n:
        tpl = TEMPLATES[k % len(TEMPLATES)]
        base = fill(tpl, rnd)
        key = normalise_python(base)
        if key in seen:  # two fills that read the same are one notice: keep the truth consistent
            continue
        seen.add(key)
        nid = f"n{k}"
        k += 1
        texts.append(base)
        truth.append(nid)
        for _ in range(rnd.randint(1, 5)):
            texts.append(forward(base, rnd)[0])
            truth.append(nid)
    return texts[:n], truth[:n]


def bench_notices(n: int, engine: str, skip_datasketch: bool) -> None:
    import tempfile

    import pyarrow as pa

    from zhijian.analysis.neardup import Params, cluster_texts, normalise_python
    from zhijian.lake import Lake

    texts, truth_ids = synthetic_notices(n)
    keys = [f"t{i}" for i in range(len(texts))]
    truth = dict(zip(keys, truth_ids, strict=True))
    with tempfile.TemporaryDirectory() as tmp, PeakRSS() as rss:
        lake = Lake(tmp, engine)
        items = lake.register("bench_notices", pa.table({"key": keys, "text": texts}))
        t = time.perf_counter()
        run = cluster_texts(lake, items, Params.from_policy())
        got = lake.to_arrow(run.items.select("key", "comp")).to_pylist()
        t_z = time.perf_counter() - t
        lake.close()
    comp = {r["key"]: r["comp"] for r in got}
    sizes = collections.Counter(comp.values())
    ours = {k: c for k, c in comp.items() if sizes[c] > 1}
    p, r = pr(truth, ours)
    print(f"notices {len(texts):,} ({len(set(truth_ids)):,} distinct notices)")
    print(
        f"zhijian      {t_z:8.1f} s  peak {rss.peak / 2**20:8,.0f} MB  precision {p:.3f} recall {r:.3f}  {run.metrics}"
    )
    if skip_datasketch:
        return
    norm = [normalise_python(x) for x in texts]  # given to datasketch for free
    docs: dict[str, list[str]] = collections.defaultdict(list)
    for k, x in zip(keys, norm, strict=True):
        if len(x) >= 20:
            docs[x].append(k)
    dtexts = list(docs)
    dkeys = [f"d{i}" for i in range(len(dtexts))]
    with PeakRSS() as rss:
        lab, t_ds, t_sig = run_datasketch(dtexts, dkeys)
    ds = {m: lab[k] for k, x in zip(dkeys, dtexts, strict=True) for m in docs[x]}
    sizes = collections.Counter(ds.values())
    ds = {m: c for m, c in ds.items() if sizes[c] > 1}
    p2, r2 = pr(truth, ds)
    print(
        f"datasketch   {t_ds:8.1f} s  peak {rss.peak / 2**20:8,.0f} MB  precision {p2:.3f} recall {r2:.3f}"
        f"  ({len(dtexts):,} docs, signatures {t_sig:.1f} s; normalisation not counted)"
    )
    print(f"speed ratio datasketch / zhijian: {t_ds / t_z:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--skip-datasketch", action="store_true")
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("--notices", type=int, default=0, help="dedup only, on N synthetic notice texts")
    ap.add_argument(
        "--steps",
        default=None,
        help="comma-separated analysis steps to time (e.g. labels); "
        "the dedup accuracy and datasketch comparison run only when dedup is among them",
    )
    args = ap.parse_args()
    if args.notices:
        bench_notices(args.notices, args.engine, args.skip_datasketch)
        return
    cache = args.cache or Path("/tmp/zhijian-bench-detect") / str(args.messages)

    from zhijian.analysis.pipeline import run_analysis

    ws, exports, prep = prepare(args.messages, args.seed, cache)
    for k, v in prep.items():
        print(f"{k:<12} {v:8.1f} s")
    try:
        import zhijian.analysis.classify  # noqa: F401

        steps = ["labels", "signals", "dedup", "multireport"]
    except ImportError:
        steps = ["signals", "dedup", "multireport"]
    if args.steps:
        steps = [x.strip() for x in args.steps.split(",") if x.strip()]
    rows = []
    for step in steps:
        with PeakRSS() as rss:
            t = time.perf_counter()
            res = run_analysis(ws, engine=args.engine, steps=[step])
            wall = time.perf_counter() - t
        rows.append((step, wall, rss.peak / 2**20, res.steps[step]))
    print(f"\n{'stage':<12} {'messages':>10} {'wall s':>8} {'msgs/s':>10} {'peak RSS MB':>12}")
    for step, wall, peak, _info in rows:
        print(f"{step:<12} {args.messages:>10,} {wall:>8.1f} {args.messages / wall:>10,.0f} {peak:>12,.0f}")
    if "dedup" not in steps:
        return
    dd = dict((r[0], r[3]) for r in rows)["dedup"]
    print(
        f"\ndedup: {dd['clusters']:,} clusters, {dd['messages']:,} messages in clusters, "
        f"{dd['candidate_edges']:,} candidate edges, {dd['verified_edges']:,} verified"
    )

    # accuracy against the generator's ground truth
    truth = {}
    with (exports / ".ground_truth" / "notice_clusters.jsonl").open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            truth[r["message_id"]] = r["cluster_id"]
    lake = ws.lake(args.engine)
    nc = lake.to_arrow(lake.table("notice_clusters").select("message_id", "cluster_id")).to_pylist()
    ours = {r["message_id"]: r["cluster_id"] for r in nc}
    p, r = pr(truth, ours)
    print(f"zhijian dedup   precision {p:.3f}  recall {r:.3f}  (pairs vs ground truth)")

    # zhijian's near-duplicate core alone on the notices (what datasketch replaces)
    from zhijian.analysis.dedup import NOTICE_KINDS
    from zhijian.analysis.neardup import Params, cluster_texts, normalise

    msgs = lake.table("messages")
    m = msgs.filter(msgs.text.notnull() & msgs.kind.isin(NOTICE_KINDS))
    prm = Params.from_policy()
    with PeakRSS() as rss:
        t = time.perf_counter()
        run = cluster_texts(lake, m.select(key=m.message_id, text=m.text), prm)
        core = lake.to_arrow(run.items.select("key", "comp"))
        t_core = time.perf_counter() - t
    n_items = core.num_rows
    print(f"zhijian core    {t_core:8.1f} s  peak {rss.peak / 2**20:,.0f} MB  ({n_items:,} notice messages)")
    if args.skip_datasketch:
        return
    nt = m.select(key=m.message_id, norm=normalise(m.text))
    nt = lake.to_arrow(nt.filter(nt.norm.length() >= prm.min_fragment_chars)).to_pylist()
    docs: dict[str, list[str]] = collections.defaultdict(list)
    for x in nt:
        docs[x["norm"]].append(x["key"])
    texts = list(docs)
    keys = [f"d{i}" for i in range(len(texts))]
    with PeakRSS() as rss:
        lab, t_ds, t_sig = run_datasketch(texts, keys)
    ds = {}
    for k, tx in zip(keys, texts, strict=True):
        for mid in docs[tx]:
            ds[mid] = lab[k]
    sizes = collections.Counter(ds.values())
    ds = {mid: c for mid, c in ds.items() if sizes[c] > 1}
    p2, r2 = pr(truth, ds)
    print(
        f"datasketch      {t_ds:8.1f} s  peak {rss.peak / 2**20:,.0f} MB  ({len(texts):,} docs; signatures {t_sig:.1f} s)"
    )
    print(f"datasketch      precision {p2:.3f}  recall {r2:.3f}")
    print(
        f"speed ratio (datasketch / zhijian core): {t_ds / t_core:.1f}x   recall zhijian {r:.3f} vs datasketch {r2:.3f}"
    )


if __name__ == "__main__":
    main()
