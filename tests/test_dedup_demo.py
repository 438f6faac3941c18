"""On a small generated demo county (generator → importer → labels → signals, dedup, multireport):
near-duplicate notices against the ground truth (pairwise precision and recall ≥ 0.95), and the
planted patterns these steps own found with recall ≥ 0.98 — reply storms and after-hours demands
measured on the messages the labels step labelled (so a labelling miss is not counted here), and the
planted 多头填报 cases."""

from __future__ import annotations

import collections
import itertools
import json

import pytest

from zhijian.analysis.pipeline import prepare, run_analysis
from zhijian.analysis.signals import demands

MESSAGES = 40_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from zhijian.demo import generate
    from zhijian.ingest import import_paths
    from zhijian.workspace import init_workspace

    root = tmp_path_factory.mktemp("demo")
    generate(root / "exports", messages=MESSAGES, seed=11)
    ws = init_workspace(root / "ws", "青山县")
    import_paths(ws, [root / "exports"])
    run_analysis(ws, steps=["labels", "signals", "dedup", "multireport"])
    yield ws, root / "exports" / ".ground_truth"
    ws.close()


def _pairs(labels):
    g = collections.defaultdict(list)
    for m, c in labels.items():
        g[c].append(m)
    return {tuple(sorted(p)) for v in g.values() for p in itertools.combinations(v, 2)}


def _jsonl(path):
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


@pytest.mark.slow
def test_notice_clusters_match_ground_truth(demo):
    ws, gt = demo
    truth = {r["message_id"]: r["cluster_id"] for r in _jsonl(gt / "notice_clusters.jsonl")}
    lake = ws.lake()
    ours = {
        r["message_id"]: r["cluster_id"] for r in lake.to_arrow(lake.table("notice_clusters")).to_pylist()
    }
    t, p = _pairs(truth), _pairs(ours)
    assert len(t) >= 50
    tp = len(t & p)
    assert tp / len(p) >= 0.95, ("precision", tp / len(p))
    assert tp / len(t) >= 0.95, ("recall", tp / len(t))


@pytest.mark.slow
def test_planted_patterns_found(demo):
    ws, gt = demo
    lake = ws.lake()
    labels = collections.defaultdict(set)
    for r in lake.to_arrow(lake.table("message_labels")).to_pylist():
        labels[r["message_id"]].add(r["label"])
    texts = {
        r["message_id"]: r["text"] or ""
        for r in lake.to_arrow(lake.table("messages").select("message_id", "text")).to_pylist()
    }

    def is_demand(m):
        return bool(labels[m] - {"normal", "roll_call_reply"})

    def is_reply(m):
        return "roll_call_reply" in labels[m] or texts[m].lstrip().startswith("#接龙")

    storms = {r["demand_id"] for r in lake.to_arrow(lake.table("reply_storms")).to_pylist()}
    planted = [
        s
        for s in _jsonl(gt / "reply_storms.jsonl")
        if is_demand(s["demand_id"])
        and not is_reply(s["demand_id"])
        and sum(is_reply(x) for x in s["reply_ids"]) >= 5
    ]
    assert len(planted) >= 20
    found = [s for s in planted if s["demand_id"] in storms]
    assert len(found) / len(planted) >= 0.98, (len(found), len(planted))

    ctx = prepare(ws)
    dem = lake.to_arrow(demands(ctx)).to_pylist()
    ours = {r["message_id"] for r in dem if r["after_hours"] and not r["urgent"]}
    urgent = {r["message_id"] for r in dem if r["urgent"]}
    ah = json.loads((gt / "after_hours.json").read_text(encoding="utf-8"))
    planted_ah = [m for m in ah["demands"] if is_demand(m) and m not in urgent]
    assert len(planted_ah) >= 20
    assert sum(m in ours for m in planted_ah) / len(planted_ah) >= 0.98
    assert not (ours & set(ah["urgent_exempt"]) - urgent)  # urgent ones are set apart

    from sqlalchemy import select

    from zhijian.store.models import Finding

    with ws.store.session() as s:
        fs = [
            set(f.evidence["message_ids"])
            for f in s.scalars(select(Finding).where(Finding.category == "MULTI_REPORTING", Finding.active))
        ]
    cases = json.loads((gt / "multi_reporting.json").read_text(encoding="utf-8"))
    assert cases
    hit = [c for c in cases if any(len({r["message_id"] for r in c["requests"]} & f) >= 2 for f in fs)]
    assert len(hit) / len(cases) >= 0.98, (len(hit), len(cases))
