"""Accuracy of the message labels against tests/data/labels_eval.jsonl.

Prints per-label precision / recall / F1, a confusion table (gold label × predicted label, counting
each (message, gold, predicted) pair of the multi-label sets) and the lines that were wrong. Runs
through the same engine path as the analysis (``classify`` on a DuckDB memtable).

    .venv/bin/python bench/accuracy.py [--data tests/data/labels_eval.jsonl] [--workspace DIR]
                                       [--origin verbatim|reconstructed] [--added BATCH] [--by-batch]
                                       [--errors]

Lines added after the rules were written carry ``"added": "<date><batch>"``; ``--added`` measures only
those (the held-out figure of that batch, before any rule was tuned on it, is in the issue 9 notes);
``--by-batch`` adds the exact-match figure of every batch (lines without ``added`` form batch "-");
``--proposals`` measures against the gold with the relabels a consistency pass proposed
(``tests/data/labels_relabel_proposals.jsonl``, under ``tests/data/LABELLING.md``) applied.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_DATA = ROOT / "tests" / "data" / "labels_eval.jsonl"


def label_scores(gold: list[set[str]], got: list[set[str]], labels: list[str]) -> tuple[dict, float]:
    """Per label precision / recall / F1 / support / tp / fp / fn of the label sets ``got`` against ``gold``
    (one set per line, in the same order), and the share of lines whose sets are equal."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for g, q in zip(gold, got, strict=True):
        for lab in labels:
            if lab in g and lab in q:
                tp[lab] += 1
            elif lab in q:
                fp[lab] += 1
            elif lab in g:
                fn[lab] += 1
    per = {}
    for lab in labels:
        prec = tp[lab] / (tp[lab] + fp[lab]) if tp[lab] + fp[lab] else 1.0
        rec = tp[lab] / (tp[lab] + fn[lab]) if tp[lab] + fn[lab] else 1.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[lab] = {
            "precision": prec,
            "recall": rec,
            "f1": f1,
            "support": tp[lab] + fn[lab],
            "tp": tp[lab],
            "fp": fp[lab],
            "fn": fn[lab],
        }
    exact = sum(1 for g, q in zip(gold, got, strict=True) if g == q)
    return per, exact / len(gold) if gold else 1.0


def evaluate(rows: list[dict], workspace: Path | None = None) -> dict:
    from zhijian.rules.check import label_texts
    from zhijian.rules.pack import load_pack
    from zhijian.rules.taxonomy import label_ids

    pack = load_pack(workspace)
    preds = label_texts([{"text": r["text"]} for r in rows], pack)
    labels = label_ids()
    golds = [set(r["labels"]) for r in rows]
    gots = [{x["label"] for x in p} for p in preds]
    confusion: Counter = Counter()
    errors = []
    for r, p, gold, got in zip(rows, preds, golds, gots, strict=True):
        for g in gold:
            for q in got:
                confusion[(g, q)] += 1
        if gold != got:
            errors.append({"text": r["text"], "gold": sorted(gold), "got": p, "source": r.get("source")})
    per, exact = label_scores(golds, gots, labels)
    return {
        "per_label": per,
        "confusion": confusion,
        "errors": errors,
        "n": len(rows),
        "exact_match": exact,
        "labels": labels,
    }


PROPOSALS = ROOT / "tests" / "data" / "labels_relabel_proposals.jsonl"


def with_proposals(rows: list[dict], path: Path) -> list[dict]:
    """``rows`` (of ``labels_eval.jsonl`` or ``labels_heldout.jsonl``, named by ``path``) with the relabels
    proposed in ``labels_relabel_proposals.jsonl`` applied: the gold as ``tests/data/LABELLING.md`` reads it."""
    which = {"labels_eval.jsonl": "eval", "labels_heldout.jsonl": "heldout"}.get(path.name)
    props = [json.loads(x) for x in PROPOSALS.read_text(encoding="utf-8").splitlines() if x.strip()]
    new = {p["text"]: p["proposed"] for p in props if p["file"] == which}
    return [{**r, "labels": new[r["text"]]} if r["text"] in new else r for r in rows]


def load_rows(
    path: Path, origin: str | None = None, added: str | None = None, proposals: bool = False
) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if proposals:
        rows = with_proposals(rows, path)
    if origin:
        rows = [r for r in rows if r.get("origin", "verbatim") == origin]
    if added:
        rows = [r for r in rows if r.get("added") == added]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--workspace", type=Path, default=None)
    ap.add_argument("--origin", choices=["verbatim", "reconstructed"], default=None)
    ap.add_argument("--added", default=None, help="only lines of this batch (their 'added' field)")
    ap.add_argument("--by-batch", action="store_true", help="exact label-set match per 'added' batch")
    ap.add_argument("--errors", action="store_true", help="print every wrong line")
    ap.add_argument(
        "--proposals",
        action="store_true",
        help="apply the relabels of tests/data/labels_relabel_proposals.jsonl (LABELLING.md) first",
    )
    a = ap.parse_args()
    rows = load_rows(a.data, a.origin, a.added, a.proposals)
    res = evaluate(rows, a.workspace)
    labs = res["labels"]
    print(f"lines: {res['n']}   exact label-set match: {res['exact_match']:.3f}")
    print(
        f"{'label':26s} {'prec':>6s} {'recall':>6s} {'f1':>6s} {'support':>7s} {'tp':>4s} {'fp':>4s} {'fn':>4s}"
    )
    for lab in labs:
        m = res["per_label"][lab]
        print(
            f"{lab:26s} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} {m['support']:7d} "
            f"{m['tp']:4d} {m['fp']:4d} {m['fn']:4d}"
        )
    short = {
        lab: lab.replace("_demand", "")
        .replace("instant_response", "instant")
        .replace("forward_like", "fwd_like")[:9]
        for lab in labs
    }
    print("\nconfusion (rows = gold, columns = predicted):")
    print(" " * 12 + "".join(f"{short[x]:>10s}" for x in labs))
    for g in labs:
        print(f"{short[g]:12s}" + "".join(f"{res['confusion'].get((g, q), 0):10d}" for q in labs))
    if a.by_batch:
        print("\nexact label-set match per batch ('added'):")
        wrong = {e["text"] for e in res["errors"]}
        batches: dict[str, list[int]] = {}
        for r in rows:
            n_ok = batches.setdefault(r.get("added", "-"), [0, 0])
            n_ok[0] += 1
            n_ok[1] += r["text"] not in wrong
        for b, (n, ok) in sorted(batches.items()):
            print(f"  {b:14s} {n:5d} lines  {ok / n:.3f}")
    if a.errors:
        print("\nwrong lines:")
        for e in res["errors"]:
            got = ", ".join(f"{x['label']}[{x['rule_id']}:{x['span']}]" for x in e["got"])
            print(f"- {e['text'][:90]!r}\n    gold={e['gold']} got={got}")


if __name__ == "__main__":
    main()
