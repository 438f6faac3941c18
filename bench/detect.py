"""Benchmark: labels (if available) + conversation signals + dedup + multireport on a generated demo
county, with wall time, peak RSS, and a side-by-side with datasketch MinHashLSH over the same notices.

    .venv/bin/python bench/detect.py                       # 200k messages
    .venv/bin/python bench/detect.py --messages 1000000
    .venv/bin/python bench/detect.py --messages 10000000 --skip-datasketch
    .venv/bin/python bench/detect.py --notices 200000      # dedup only: notice-heavy synthetic set
    .venv/bin/python bench/detect.py --notices 200000 --skip-datasketch --profile   # + DuckDB's profile
    .venv/bin/python bench/detect.py --notices 200000 --ds-thresholds 0.75,0.72,0.7 --pairs 5   # medians of 5 pairs

``--notices N`` measures the near-duplicate core alone on N notice texts built like the labelled
evaluation set (bench/make_neardup_eval.py: template siblings + forwarded copies with prefixes,
signatures, closings, cut tails), where the demo county has too few notices (≈0.5% of messages) for
the comparison with datasketch to measure anything but fixed costs.

The demo files and the imported workspace are cached under ``--cache`` (default
``/tmp/zhijian-bench-detect/<messages>``). Accuracy is measured against the generator's ground
truth (``.ground_truth/notice_clusters.jsonl``): pairwise precision and recall over the messages of
notices (a pair = two messages in one cluster). Messages the generator repeats without recording
them as notices (demands drawn from a template with few slot values, in several groups) are
clustered too; their pairs count as false, and a second line gives the precision without the pairs
of two of them.
datasketch gets the engine's normalised texts (its time excludes normalisation), num_perm=128,
clusters by union-find of LSH query results — the usual way to use it — at each
``--ds-thresholds`` value (signatures computed once, counted in each row).
Template siblings chain datasketch's clusters together at low thresholds (precision near 0), so
the table shows every threshold with its precision and recall and the speed ratios (wall and CPU
seconds; CPU is the steadier figure on a shared machine) against zhijian's run in the same process,
and a line gives the ratios at zhijian's own recall, interpolated between the two thresholds
whose recalls bracket it (the comparison the goal asks for: equal recall). zhijian's figure there
includes its normalisation, which datasketch is given free; a last line runs zhijian's clustering
alone on the very docs datasketch gets (normalisation excluded on both sides, as research/engines.md
§3 measured the 7-8x of a plain MinHash-in-SQL) and gives its ratios at equal recall too. The
end-to-end line counts datasketch's own normalisation (``normalise_python`` over the raw notices,
the Python a datasketch user has to run to reach that recall): both sides then start from the raw
notices and end with clusters.
"""

from __future__ import annotations

import argparse
import collections
import gc
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


def c2(n: int) -> int:
    """Pairs among ``n`` messages of one cluster."""
    return n * (n - 1) // 2


def pr(truth: dict[str, object], pred: dict[str, object]) -> tuple[float, float]:
    """Pairwise precision/recall (a pair = two messages in one cluster), from cluster-size counts —
    never by listing pairs (a method that merges everything would need billions)."""
    cells = collections.Counter(
        (truth.get(m, ("t", m)), pred.get(m, ("p", m))) for m in set(truth) | set(pred)
    )
    tp = sum(c2(n) for n in cells.values())
    tpairs = sum(c2(n) for n in collections.Counter(truth.values()).values())
    ppairs = sum(c2(n) for n in collections.Counter(pred.values()).values())
    return (tp / ppairs if ppairs else 1.0), (tp / tpairs if tpairs else 1.0)


def precision_recorded(truth: dict[str, object], pred: dict[str, object]) -> float:
    """Pairwise precision without the pairs of two messages that are both outside the ground truth
    (the generator did not record them; a pair of a recorded and an unrecorded message is false)."""
    cells = collections.Counter((truth[m], pred[m]) for m in pred if m in truth)
    tp = sum(c2(n) for n in cells.values())
    pairs = sum(c2(n) for n in collections.Counter(pred.values()).values())
    unrec = sum(c2(n) for n in collections.Counter(c for m, c in pred.items() if m not in truth).values())
    return tp / (pairs - unrec) if pairs > unrec else 1.0


def run_datasketch(texts: list[str], keys: list[str], num_perm: int = 128, threshold: float = 0.5):
    """(labels, wall s, signature s) of datasketch MinHashLSH at one threshold."""
    res = run_datasketch_sweep(texts, keys, [threshold], num_perm)
    labels, wall, _cpu = res["runs"][threshold]
    return labels, wall, res["signatures_s"]


def run_datasketch_sweep(texts: list[str], keys: list[str], thresholds: list[float], num_perm: int = 128):
    """datasketch MinHashLSH at several thresholds; the signatures (MinHash.bulk) are computed once and
    their time is counted in every threshold's figure. Clusters = union-find of LSH query results.
    Returns {"signatures_s", "runs": {threshold: (labels, wall s, cpu s)}}."""
    from datasketch import MinHash, MinHashLSH

    t0, c0 = time.perf_counter(), time.process_time()
    sets = [[s[i : i + 3].encode("utf-8") for i in range(max(1, len(s) - 2))] for s in texts]
    mhs = MinHash.bulk(sets, num_perm=num_perm)
    t_sig, c_sig = time.perf_counter() - t0, time.process_time() - c0
    runs = {}
    for th in thresholds:
        t0, c0 = time.perf_counter(), time.process_time()
        lsh = MinHashLSH(threshold=th, num_perm=num_perm)
        for k, m in zip(keys, mhs, strict=True):
            lsh.insert(k, m)
        parent = {k: k for k in keys}

        def find(x, parent=parent):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for k, m in zip(keys, mhs, strict=True):
            for o in lsh.query(m):
                a, b = find(k), find(o)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        labels = {k: find(k) for k in keys}
        runs[th] = (labels, t_sig + time.perf_counter() - t0, c_sig + time.process_time() - c0)
    return {"signatures_s": t_sig, "runs": runs}


def compare_datasketch(
    label,
    texts,
    docs,
    truth,
    thresholds,
    ours,
    norm_s: float | None = None,
    pairs: int = 1,
    rerun=None,
    rerun_same_input=None,
    norm_wall: float | None = None,
) -> None:
    """Run the datasketch sweep on the distinct normalised ``texts`` (``docs``: text -> item keys) and
    print one row per threshold with the speed ratios against ``ours`` = (wall, cpu, precision, recall).
    ``norm_s``: CPU seconds the same normalisation took in Python (``normalise_python`` over the raw
    texts); when given, a last column shows the CPU ratio of datasketch *with* that normalisation, the
    end-to-end job a datasketch user has to do (the other columns give it the normalisation free), and
    ``norm_wall`` (its wall seconds) adds the wall ratio of that job and a line with both ratios at
    equal recall: each side then starts from the same raw notices and ends with clusters.

    ``pairs`` > 1 (with ``rerun``, which times zhijian's run again and returns (wall, cpu)): zhijian
    and the datasketch sweep run alternately ``pairs`` times; each ratio is taken within a pair (two
    runs close in time, so a shared host's changing speed affects both alike) and the table shows the
    medians, with the range of the wall ratio.

    ``rerun_same_input`` (returns (wall, cpu, precision, recall)): zhijian's clustering alone on the
    very docs datasketch gets (the normalised texts, ``cluster_texts(..., normalise=False)``), run
    in each pair too; a last line gives its ratios at equal recall, normalisation excluded on both
    sides as in research/engines.md §3 (where the 7-8x of a plain MinHash-in-SQL was measured)."""
    import os
    import statistics

    keys = [f"d{i}" for i in range(len(texts))]
    t_z, c_z, p_z, r_z = ours
    z_runs = [(t_z, c_z)]
    same_runs = []  # zhijian's clustering alone on the same docs: (wall, cpu, precision, recall)
    sweeps = []
    with PeakRSS() as rss:
        for i in range(pairs):
            if i:
                gc.collect()
                z_runs.append(rerun())
            if rerun_same_input is not None:
                gc.collect()
                same_runs.append(rerun_same_input())
            gc.collect()
            sw = run_datasketch_sweep(texts, keys, thresholds)
            if i:  # only the first sweep's clusters are scored: keep the times (the clusters' objects
                #     would otherwise slow the next runs' garbage collections)
                sw["runs"] = {th: (None, w, c) for th, (_lab, w, c) in sw["runs"].items()}
            sweeps.append(sw)
    res = sweeps[0]
    print(
        f"{label}: {len(texts):,} docs (normalisation given for free), signatures {res['signatures_s']:.1f} s, "
        f"peak {rss.peak / 2**20:,.0f} MB, load {os.getloadavg()[0]:.1f}"
        + (f"; {pairs} alternating pairs of runs, medians" if pairs > 1 else "")
    )
    if pairs > 1:
        print(f"  zhijian runs: {', '.join(f'{w:.2f} s wall / {c:.2f} s cpu' for w, c in z_runs)}")
    print(
        f"  {'threshold':>9} {'wall s':>8} {'cpu s':>8} {'precision':>9} {'recall':>7} {'wall ratio':>10} {'cpu ratio':>9}"
        + (f" {'wall ratio range':>17}" if pairs > 1 else "")
        + (f" {'cpu ratio incl. Python normalisation':>37}" if norm_s is not None else "")
        + (f" {'wall ratio incl. it':>19}" if norm_wall is not None else "")
    )
    med = statistics.median
    t_m, c_m = med(w for w, _ in z_runs), med(c for _, c in z_runs)
    best = None
    rows = []  # (recall, wall ratio, cpu ratio, threshold) per threshold, for the equal-recall line
    same_rows = []  # the same against zhijian's clustering alone on the same docs
    e2e_rows = []  # the same with datasketch's Python normalisation counted (both sides from the raw texts)
    for th in thresholds:
        lab = res["runs"][th][0]
        walls = [sw["runs"][th][1] for sw in sweeps]
        cpus = [sw["runs"][th][2] for sw in sweeps]
        wr = [w / z[0] for w, z in zip(walls, z_runs, strict=True)]
        cr = [c / z[1] for c, z in zip(cpus, z_runs, strict=True)]
        ds = {m: lab[k] for k, x in zip(keys, texts, strict=True) for m in docs[x]}
        sizes = collections.Counter(ds.values())
        p, r = pr(truth, {m: c for m, c in ds.items() if sizes[c] > 1})
        # the ratios with datasketch's Python normalisation counted (end to end)
        e2e_cr = (
            None if norm_s is None else med((c + norm_s) / z[1] for c, z in zip(cpus, z_runs, strict=True))
        )
        e2e_wr = (
            None
            if norm_wall is None
            else med((w + norm_wall) / z[0] for w, z in zip(walls, z_runs, strict=True))
        )
        print(
            f"  {th:>9.2f} {med(walls):>8.1f} {med(cpus):>8.1f} {p:>9.3f} {r:>7.3f} {med(wr):>9.1f}x {med(cr):>8.1f}x"
            + (f" {min(wr):>8.1f}x-{max(wr):.1f}x" if pairs > 1 else "")
            + (f" {e2e_cr:>36.1f}x" if e2e_cr is not None else "")
            + (f" {e2e_wr:>18.1f}x" if e2e_wr is not None else "")
        )
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if best is None or f1 > best[0]:
            best = (f1, th, med(wr), med(cr), p, r)
        rows.append((r, med(wr), med(cr), th))
        if e2e_cr is not None and e2e_wr is not None:
            e2e_rows.append((r, e2e_wr, e2e_cr, th))
        if same_runs:
            same_rows.append(
                (
                    r,
                    med(w / z[0] for w, z in zip(walls, same_runs, strict=True)),
                    med(c / z[1] for c, z in zip(cpus, same_runs, strict=True)),
                    th,
                )
            )
    _, th, wr_m, cr_m, p, r = best
    print(
        f"  zhijian {t_m:.1f} s wall / {c_m:.1f} s cpu, precision {p_z:.3f} recall {r_z:.3f}; datasketch's best F1 "
        f"(threshold {th}): precision {p:.3f} recall {r:.3f} -> {wr_m:.1f}x wall, {cr_m:.1f}x cpu"
    )
    print("  " + equal_recall(rows, r_z))
    if e2e_rows:
        print(
            "  end to end (datasketch also normalises the raw notices, with normalise_python; zhijian's time "
            "includes its own normalisation): " + equal_recall(e2e_rows, r_z)
        )
    if same_runs:
        _w, _c, p_s, r_s = same_runs[0]
        print(
            f"  same input for both (the {len(texts):,} normalised docs; normalisation excluded on both sides): "
            f"zhijian's clustering alone {med(w for w, *_ in same_runs):.2f} s wall / "
            f"{med(c for _, c, *_ in same_runs):.2f} s cpu ({len(same_runs)} runs, medians), precision {p_s:.3f} "
            f"recall {r_s:.3f}"
        )
        print("  " + equal_recall(same_rows, r_s))


def equal_recall(rows: list[tuple[float, float, float, float]], recall: float) -> str:
    """The speed ratios at zhijian's recall: linear interpolation in recall between the two
    datasketch thresholds whose recalls bracket it (rows: recall, wall ratio, cpu ratio, threshold)."""
    rows = sorted(rows)
    for (r0, w0, c0, t0), (r1, w1, c1, t1) in zip(rows, rows[1:], strict=False):
        if r0 <= recall <= r1 and r1 > r0:
            f = (recall - r0) / (r1 - r0)
            return (
                f"at zhijian's recall {recall:.3f} (between datasketch's thresholds {t0} and {t1}, linear in "
                f"recall): {w0 + f * (w1 - w0):.1f}x wall, {c0 + f * (c1 - c0):.1f}x cpu"
            )
    if rows and recall > rows[-1][0]:
        return (
            f"no threshold run reaches zhijian's recall {recall:.3f}: at equal recall datasketch needs a lower "
            f"threshold, and more time, than the {rows[-1][1]:.1f}x wall of threshold {rows[-1][3]}"
        )
    return f"every threshold run has a recall above zhijian's {recall:.3f}: run higher thresholds for equal recall"


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


def timed_clustering(
    engine: str, keys: list[str], texts: list[str], normalise: bool = True
) -> tuple[float, float, dict[str, int], dict]:
    """(wall s, cpu s, key -> component, metrics) of one ``cluster_texts`` run on ``texts`` in a fresh
    lake, connected (the engine's backend imported) before the clock starts."""
    import tempfile

    import pyarrow as pa

    from zhijian.analysis.neardup import Params, cluster_texts
    from zhijian.lake import Lake

    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake(tmp, engine)
        lake.con  # noqa: B018
        items = lake.register("bench_notices", pa.table({"key": keys, "text": texts}))
        t, c = time.perf_counter(), time.process_time()
        run = cluster_texts(lake, items, Params.from_policy(), normalise=normalise)
        got = lake.to_arrow(run.items.select("key", "comp")).to_pylist()
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        lake.close()
    return wall, cpu, {r["key"]: r["comp"] for r in got}, run.metrics


def bench_notices(
    n: int, engine: str, skip_datasketch: bool, thresholds: list[float], profile: bool = False, pairs: int = 1
) -> None:
    import tempfile

    import pyarrow as pa

    from zhijian.analysis.neardup import Params, cluster_texts, normalise_python
    from zhijian.lake import Lake

    texts, truth_ids = synthetic_notices(n)
    keys = [f"t{i}" for i in range(len(texts))]
    truth = dict(zip(keys, truth_ids, strict=True))
    import os

    with PeakRSS() as rss:
        t_z, c_z, comp, metrics = timed_clustering(engine, keys, texts)
    sizes = collections.Counter(comp.values())
    ours = {k: c for k, c in comp.items() if sizes[c] > 1}
    p, r = pr(truth, ours)
    print(f"notices {len(texts):,} ({len(set(truth_ids)):,} distinct notices), load {os.getloadavg()[0]:.1f}")
    print(
        f"zhijian      {t_z:8.1f} s wall {c_z:8.1f} s cpu  peak {rss.peak / 2**20:8,.0f} MB  "
        f"precision {p:.3f} recall {r:.3f}  {metrics}"
    )
    if profile and engine == "duckdb":
        from duckdb_profile import QueryProfiles

        with tempfile.TemporaryDirectory() as tmp:  # a second run, profiled (the timed one was not)
            lake = Lake(tmp, engine)
            items = lake.register("bench_notices", pa.table({"key": keys, "text": texts}))
            with QueryProfiles(lake) as prof:
                run = cluster_texts(lake, items, Params.from_policy())
                lake.to_arrow(run.items.select("key", "comp"))
            prof.print()
            lake.close()
    if skip_datasketch:
        return
    t0, c0 = time.perf_counter(), time.process_time()
    norm = [normalise_python(x) for x in texts]  # given to datasketch for free (its cost: last columns)
    norm_s, norm_wall = time.process_time() - c0, time.perf_counter() - t0
    docs: dict[str, list[str]] = collections.defaultdict(list)
    for k, x in zip(keys, norm, strict=True):
        if len(x) >= 20:
            docs[x].append(k)
    print(f"normalise_python over the {len(texts):,} raw texts: {norm_wall:.1f} s wall, {norm_s:.1f} s cpu")

    def rerun() -> tuple[float, float]:
        """zhijian's run again, as the first (fresh lake, same result)."""
        wall, cpu, again, _ = timed_clustering(engine, keys, texts)
        assert again == comp, "a second run gave other clusters"
        return wall, cpu

    doc_texts = list(docs)
    doc_keys = [f"d{i}" for i in range(len(doc_texts))]

    def same_input() -> tuple[float, float, float, float]:
        """zhijian's clustering alone on the docs datasketch gets (already normalised, distinct)."""
        wall, cpu, by_doc, _ = timed_clustering(engine, doc_keys, doc_texts, normalise=False)
        per_msg = {
            m: by_doc[k] for k, x in zip(doc_keys, doc_texts, strict=True) if k in by_doc for m in docs[x]
        }
        sizes = collections.Counter(per_msg.values())
        return (wall, cpu, *pr(truth, {m: c for m, c in per_msg.items() if sizes[c] > 1}))

    compare_datasketch(
        "datasketch",
        doc_texts,
        docs,
        truth,
        thresholds,
        (t_z, c_z, p, r),
        norm_s,
        pairs=pairs,
        rerun=rerun,
        rerun_same_input=same_input,
        norm_wall=norm_wall,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--skip-datasketch", action="store_true")
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("--notices", type=int, default=0, help="dedup only, on N synthetic notice texts")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="with --notices on DuckDB: run the core once more with DuckDB's profiler and print each "
        "query's CPU use, spill and costliest operators (bench/duckdb_profile.py)",
    )
    ap.add_argument(
        "--pairs",
        type=int,
        default=1,
        help="with --notices: run zhijian and datasketch alternately this many times and report "
        "medians of the ratios within each pair (a shared host's speed changes between minutes)",
    )
    ap.add_argument(
        "--ds-thresholds",
        default="0.5,0.8,0.9,0.95",
        help="datasketch MinHashLSH thresholds to run (comma-separated; one signature pass for all)",
    )
    ap.add_argument(
        "--steps",
        default=None,
        help="comma-separated analysis steps to time (e.g. labels); "
        "the dedup accuracy and datasketch comparison run only when dedup is among them",
    )
    args = ap.parse_args()
    thresholds = [float(x) for x in args.ds_thresholds.split(",") if x.strip()]
    from machine_probe import describe, probe  # (bench/ is on the path of a script run from it)

    print(describe(probe(), "at start"))
    if args.notices:
        bench_notices(args.notices, args.engine, args.skip_datasketch, thresholds, args.profile, args.pairs)
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
    # The generator records the notices it plants and their copies; other messages it repeats
    # word for word in several groups (demands drawn from a template with few slot values) are
    # copies too, but not in its ground truth, and their pairs count as false ones above, growing
    # with the square of the county's size. Show them, and the precision without the pairs of two
    # such messages (a pair of a planted notice and an unrecorded message still counts as false).
    outside = collections.Counter(c for m, c in ours.items() if m not in truth)
    if outside:
        p_rec = precision_recorded(truth, ours)
        c0, n0 = outside.most_common(1)[0]
        m0 = next(m for m, c in ours.items() if c == c0 and m not in truth)
        t0 = lake.to_arrow(lake.table("messages").filter(lambda t: t.message_id == m0).select("text"))
        head = (t0["text"][0].as_py() or "")[:40] if t0.num_rows else ""
        print(
            f"                {sum(outside.values()):,} clustered messages are not in the ground truth "
            f"({sum(1 for n in outside.values() if n > 1):,} clusters of ≥ 2; largest {n0:,}: “{head}…”); "
            f"precision without the pairs of two of them {p_rec:.3f}"
        )

    # zhijian's near-duplicate core alone on the notices (what datasketch replaces)
    from zhijian.analysis.dedup import NOTICE_KINDS
    from zhijian.analysis.neardup import Params, cluster_texts, normalise

    msgs = lake.table("messages")
    m = msgs.filter(msgs.text.notnull() & msgs.kind.isin(NOTICE_KINDS))
    prm = Params.from_policy()
    with PeakRSS() as rss:
        t, c = time.perf_counter(), time.process_time()
        run = cluster_texts(lake, m.select(key=m.message_id, text=m.text), prm)
        core = lake.to_arrow(run.items.select("key", "comp"))
        t_core, c_core = time.perf_counter() - t, time.process_time() - c
    n_items = core.num_rows
    comp = dict(zip(core["key"].to_pylist(), core["comp"].to_pylist(), strict=True))
    sizes = collections.Counter(comp.values())
    pc, rc = pr(truth, {k: v for k, v in comp.items() if sizes[v] > 1})
    print(
        f"zhijian core    {t_core:8.1f} s wall {c_core:.1f} s cpu  peak {rss.peak / 2**20:,.0f} MB  "
        f"({n_items:,} notice messages; precision {pc:.3f} recall {rc:.3f})  {run.metrics}"
    )
    if args.skip_datasketch:
        return
    nt = m.select(key=m.message_id, norm=normalise(m.text))
    nt = lake.to_arrow(nt.filter(nt.norm.length() >= prm.min_fragment_chars)).to_pylist()
    docs: dict[str, list[str]] = collections.defaultdict(list)
    for x in nt:
        docs[x["norm"]].append(x["key"])
    compare_datasketch("datasketch", list(docs), docs, truth, thresholds, (t_core, c_core, pc, rc))


if __name__ == "__main__":
    main()
