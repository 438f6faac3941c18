"""A learned baseline beside the message-label rules: character n-gram logistic regression, trained on the
labelled lines of earlier batches and tested on the lines gathered later, next to the rules on the same lines.

The rules are measured on lines they were tuned on (tests/data/labels_heldout.jsonl keeps each batch's untuned
figure in the issue 9 notes). This asks what a statistical classifier trained on the same kind of lines reaches
on lines it has not seen, and whether it adds to the rules:

    .venv/bin/python bench/ngram_baseline.py                          # test: batches 2026-12-07r and later
    .venv/bin/python bench/ngram_baseline.py --test-from 2026-12-07n  # a larger test set, a smaller training set
    .venv/bin/python bench/ngram_baseline.py --view text              # raw text instead of the demand view

To compare with the rules as they stood before they were tuned on the test lines, run this file from a worktree
of that commit with ``--heldout`` naming the current tests/data/labels_heldout.jsonl.

The features are the character 1-3-grams (seen at least twice in training) of the rules' demand view (the text
after the masks have blanked prohibitions, cancellations, questions, options and narration: the model gets
the same negation handling as the rules) or of the raw text. One logistic regression per label, L2-regularised,
classes weighted to balance, fitted with scipy's L-BFGS. Printed: exact label-set match and per-label
precision / recall of the rules, of the model at several probability thresholds, and of their union (a label
when either gives it). The rules as they stand have been tuned on the test lines too when those were added to
the held-out file, so the rules' figure here is an upper bound of theirs; the untuned figure is in the notes.

Not part of the product: labels stay rules (explainable, each with its source and span).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from accuracy import label_scores, load_rows  # noqa: E402

HELDOUT = ROOT / "tests" / "data" / "labels_heldout.jsonl"
EVAL = ROOT / "tests" / "data" / "labels_eval.jsonl"


def demand_views(texts: list[str]) -> list[str]:
    """The rules' demand view of each text (zhijian.analysis.classify, on DuckDB)."""
    import ibis

    from zhijian.analysis.classify import _prepare
    from zhijian.rules.pack import load_pack

    t = ibis.memtable({"message_id": [str(i) for i in range(len(texts))], "text": texts})
    tab, _ = _prepare(t, load_pack(None))
    got = {
        r["message_id"]: r["_v_demand"] or ""
        for r in tab.select("message_id", "_v_demand").to_pyarrow().to_pylist()
    }
    return [got[str(i)] for i in range(len(texts))]


def ngrams(s: str, n_max: int = 3) -> set[str]:
    return {s[i : i + n] for n in range(1, n_max + 1) for i in range(len(s) - n + 1)}


def featurize(
    train: list[str], test: list[str], min_df: int = 2
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    df = Counter(g for s in train for g in ngrams(s))
    vocab = {g: i for i, g in enumerate(sorted(g for g, c in df.items() if c >= min_df))}

    def matrix(texts: list[str]) -> sparse.csr_matrix:
        rows, cols = [], []
        for r, s in enumerate(texts):
            for g in ngrams(s):
                j = vocab.get(g)
                if j is not None:
                    rows.append(r)
                    cols.append(j)
        m = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(vocab)))
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())  # unit length per text
        return sparse.diags(1 / np.maximum(norms, 1e-9)) @ m

    return matrix(train), matrix(test)


def fit_logistic(x: sparse.csr_matrix, y: np.ndarray, c: float = 4.0) -> tuple[np.ndarray, float]:
    """Weights and bias minimising the class-balanced logistic loss + ||w||² / (2c·n)."""
    n, d = x.shape
    pos = max(1, int(y.sum()))
    sw = np.where(y == 1, n / (2 * pos), n / (2 * max(1, n - pos)))
    ys = np.where(y == 1, 1.0, -1.0)

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = p[:d], p[d]
        z = ys * (x @ w + b)
        lz = np.logaddexp(0, -z)
        g = -ys * sw * (1 / (1 + np.exp(z)))
        grad = np.concatenate([x.T @ g + w / c, [g.sum()]])
        return float((sw * lz).sum() + (w @ w) / (2 * c)), grad

    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return res.x[:d], float(res.x[d])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--test-from", default="2026-12-07r", help="first batch (added) of the test lines")
    ap.add_argument("--view", choices=("demand", "text"), default="demand")
    ap.add_argument("--c", type=float, default=4.0, help="inverse regularisation strength")
    ap.add_argument("--heldout", type=Path, default=HELDOUT, help="the held-out lines (default: tests/data)")
    args = ap.parse_args()

    from zhijian.rules.check import label_texts
    from zhijian.rules.pack import load_pack
    from zhijian.rules.taxonomy import label_ids

    rows = load_rows(args.heldout) + load_rows(EVAL)
    test = [r for r in rows if str(r.get("added", "")) >= args.test_from]
    train = [r for r in rows if str(r.get("added", "")) < args.test_from]
    if not test or not train:
        sys.exit(f"no lines on one side of --test-from {args.test_from}")
    labels = label_ids()
    demand = [lab for lab in labels if lab != "normal"]
    texts = [r["text"] for r in train + test]
    views = demand_views(texts) if args.view == "demand" else texts
    x_tr, x_te = featurize(views[: len(train)], views[len(train) :])
    probs = {}
    for lab in demand:
        y = np.array([lab in r["labels"] for r in train], dtype=float)
        w, b = fit_logistic(x_tr, y, args.c)
        probs[lab] = 1 / (1 + np.exp(-(x_te @ w + b)))

    gold = [set(r["labels"]) for r in test]
    rules = [
        {x["label"] for x in p} for p in label_texts([{"text": r["text"]} for r in test], load_pack(None))
    ]

    def with_normal(s: set[str]) -> set[str]:
        return s or {"normal"}

    def row(name: str, got: list[set[str]]) -> None:
        per, exact = label_scores(gold, got, labels)
        cells = " ".join(f"{per[lab]['precision']:.2f}/{per[lab]['recall']:.2f}" for lab in demand)
        print(f"{name:26s} {exact:6.3f}  {cells}")

    print(
        f"train: {len(train)} lines (before {args.test_from}), test: {len(test)} lines, "
        f"features: {x_tr.shape[1]:,} character 1-3-grams of the {args.view} view"
    )
    print(f"{'':26s} {'exact':>6s}  " + " ".join(f"{lab[:9]:>9s}" for lab in demand))
    row("rules", rules)
    for th in (0.5, 0.6, 0.7, 0.8):
        model = [with_normal({lab for lab in demand if probs[lab][i] >= th}) for i in range(len(test))]
        row(f"model p>={th}", model)
        union = [with_normal((rules[i] - {"normal"}) | (model[i] - {"normal"})) for i in range(len(test))]
        row(f"rules + model p>={th}", union)


if __name__ == "__main__":
    main()
