"""Accuracy goals of the message labels on tests/data/labels_eval.jsonl (PRODUCT.md §7: per label
precision ≥ 0.95 and recall ≥ 0.90). Labels that fall short today are marked ``xfail(strict=True)``
with the measured figure: the test then fails as soon as they reach the goal, so the mark must be
removed — the shortfall stays visible instead of being tuned away on these lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "labels_eval.jsonl"
HELDOUT = ROOT / "tests" / "data" / "labels_heldout.jsonl"
sys.path.insert(0, str(ROOT / "bench"))

from accuracy import PROPOSALS, evaluate, load_rows, with_proposals  # noqa: E402

PRECISION_GOAL, RECALL_GOAL = 0.95, 0.90

# label -> measured shortfall (bench/accuracy.py on the eval set); empty since 2026-11-29: app_usage_demand
# reached precision 1.000 after the policy-register and nominal-use masks (issue 9 notes). A label that
# falls short again goes back here with its figure.
SHORT: dict[str, str] = {}


@pytest.fixture(scope="module")
def result():
    return evaluate(load_rows(DATA))


def test_eval_set_shape():
    rows = [json.loads(x) for x in DATA.read_text(encoding="utf-8").splitlines() if x.strip()]
    assert len(rows) >= 200
    labels = {lab for r in rows for lab in r["labels"]}
    from zhijian.rules.taxonomy import label_ids

    assert labels == set(label_ids())
    for r in rows:
        assert r["text"] and r["source"] and r["labels"]
        assert r.get("origin") in ("verbatim", "reconstructed")
        assert "normal" not in r["labels"] or r["labels"] == ["normal"]
    assert sum(r["labels"] == ["normal"] for r in rows) >= 60  # hard negatives


@pytest.mark.parametrize(
    "label",
    [
        pytest.param(lab, marks=pytest.mark.xfail(strict=True, reason=SHORT[lab])) if lab in SHORT else lab
        for lab in [
            "roll_call_demand",
            "roll_call_reply",
            "checkin_demand",
            "proof_demand",
            "instant_response_demand",
            "data_request",
            "forward_like_demand",
            "app_usage_demand",
            "normal",
        ]
    ],
)
def test_label_goal(result, label):
    m = result["per_label"][label]
    assert m["precision"] >= PRECISION_GOAL and m["recall"] >= RECALL_GOAL, m


def test_no_label_collapses(result):
    """Floor for every label, short or not: a regression below it fails outright."""
    for lab, m in result["per_label"].items():
        assert m["precision"] >= 0.8 and m["recall"] >= 0.85, (lab, m)
    assert result["exact_match"] >= 0.9


def test_heldout_shape_and_floor():
    """labels_heldout.jsonl: real lines gathered in batches (``added``), each measured before the rules were
    changed for it (figures in the issue 9 notes). Later rule changes saw them, so these are regression floors,
    not held-out figures: exact match 0.952 on the 291 lines of 2026-11-29 when the first floor was set, and
    0.943 on the 176 lines of 2026-12-05 when the second was set (batches a / b measured untuned, with the
    rules as they stood before 2026-12-05: 0.713 / 0.657), and 0.821 on the 647 lines of 2026-12-06 when the
    third was set (each batch measured before the rules were tuned on it: a 0.654; b, gathered after the tuning
    on a, 0.715; c, after a and b, 0.675; d, after a, b and c, 0.611), and 0.839 on the 1,265 lines of
    2026-12-07 when the fourth was set (batches e, f, g measured with the rules of 2026-12-06 before any change
    for them: 0.601, 0.565, 0.826; h and i, gathered after the tuning on e-g: 0.734 and 0.730, where the rules
    of 2026-12-06 scored 0.741 and 0.717; j and k, gathered after the tuning on h-i: 0.725 and 0.733, where the
    rules of 2026-12-06 scored 0.711 and 0.719; l and m, nearly all ordinary text, gathered after the tuning on
    j-k: 0.906 together, where the rules of 2026-12-06 scored 0.918). The fifth floor, 0.799 on the 293 lines
    of batches n-q (gathered the next session, from less-mined pages, and measured before any change for them:
    0.652), was set when the rules had been tuned on them, and the sixth, 0.745 on the 314 lines of batches r-u
    (gathered after that tuning: 0.646 untuned, the same figure as with the rules before it, whose changes
    altered the labels of none of these lines), when the rules had been tuned on those. Batches v-y (257 lines,
    gathered after both rounds: 0.661, where the rules before the two rounds also scored 0.661 and differ on 2
    lines) are sealed: no rule was tuned on them, so their figure measures unseen text; tuning on them makes it
    one more regression floor, and the issue 9 notes must say so. Every line names the public page it quotes.
    bench/agreement.py: a second annotator, labelling 300 of these lines independently, agrees with them on
    0.920 of the lines."""
    from zhijian.rules.taxonomy import label_ids

    rows = load_rows(HELDOUT)
    assert len(rows) >= 3240
    known = set(label_ids())
    for r in rows:
        assert r["text"] and r["labels"] and set(r["labels"]) <= known
        assert r["source"].startswith(("http://", "https://")), r["source"]
        assert r.get("origin") in ("verbatim", "reconstructed")
        assert "normal" not in r["labels"] or r["labels"] == ["normal"]

    def batch(r: dict) -> str:
        return str(r.get("added", ""))[:10]

    older = [r for r in rows if batch(r) not in ("2026-12-05", "2026-12-06", "2026-12-07")]
    newer = [r for r in rows if batch(r) == "2026-12-05"]
    newest = [r for r in rows if batch(r) == "2026-12-06"]

    def batches(first: str, last: str) -> list[dict]:
        return [r for r in rows if first <= str(r.get("added", "")) <= last]

    latest = batches("2026-12-07a", "2026-12-07m")
    second_round = batches("2026-12-07n", "2026-12-07q")
    third_round = batches("2026-12-07r", "2026-12-07u")
    sealed = batches("2026-12-07v", "2026-12-07z")
    assert len(older) >= 290 and len(newer) >= 170 and len(newest) >= 640 and len(latest) >= 1260
    assert len(second_round) >= 290 and len(third_round) >= 310 and len(sealed) >= 250
    # every line classified in one query (each query compiles the whole pack), scored per group as
    # bench/accuracy.py scores a file: the share of lines whose label set equals the gold one
    from zhijian.rules.check import label_texts
    from zhijian.rules.pack import load_pack

    preds = label_texts([{"text": r["text"]} for r in rows], load_pack(None))
    right = {id(r): {x["label"] for x in p} == set(r["labels"]) for r, p in zip(rows, preds, strict=True)}

    def exact_match(group: list[dict]) -> float:
        return sum(right[id(r)] for r in group) / len(group)

    assert exact_match(older) >= 0.93
    assert exact_match(newer) >= 0.93
    assert exact_match(newest) >= 0.8
    assert exact_match(latest) >= 0.82
    assert exact_match(second_round) >= 0.77
    assert exact_match(third_round) >= 0.72
    assert exact_match(sealed) >= 0.64


def test_second_annotator_lines_are_heldout_lines():
    """labels_second_annotator.jsonl (bench/agreement.py) relabels lines of labels_heldout.jsonl: every one of
    its 300 texts is there, with labels of the taxonomy; labels_second_annotator_sealed.jsonl relabels exactly
    the lines of the sealed batches (2026-12-07v-y)."""
    from zhijian.rules.taxonomy import label_ids

    gold = {r["text"] for r in load_rows(HELDOUT)}
    second = load_rows(HELDOUT.parent / "labels_second_annotator.jsonl")
    assert len(second) == 300 and all(r["text"] in gold for r in second)
    sealed = {r["text"] for r in load_rows(HELDOUT) if str(r.get("added", "")) >= "2026-12-07v"}
    second_sealed = load_rows(HELDOUT.parent / "labels_second_annotator_sealed.jsonl")
    assert {r["text"] for r in second_sealed} == sealed and len(second_sealed) == len(sealed)
    second += second_sealed
    known = set(label_ids())
    assert all(r["labels"] and set(r["labels"]) <= known for r in second)
    assert all("normal" not in r["labels"] or r["labels"] == ["normal"] for r in second)


def test_relabel_proposals_name_gold_lines():
    """labels_relabel_proposals.jsonl (tests/data/LABELLING.md; bench/accuracy.py --proposals) proposes a new
    label set for lines of the two gold files: each names a line that is there with the labels it says the
    gold has, proposes labels of the taxonomy that differ from them, and gives its reason."""
    from zhijian.rules.taxonomy import label_ids

    known = set(label_ids())
    props = [json.loads(x) for x in PROPOSALS.read_text(encoding="utf-8").splitlines() if x.strip()]
    assert len(props) >= 100 and len({(p["file"], p["text"]) for p in props}) == len(props)
    for path in (DATA, HELDOUT):
        which = "eval" if path == DATA else "heldout"
        gold = {r["text"]: r["labels"] for r in load_rows(path)}
        mine = [p for p in props if p["file"] == which]
        assert mine
        for p in mine:
            assert p["text"] in gold and sorted(gold[p["text"]]) == sorted(p["gold"]), p["text"]
            assert p["proposed"] and set(p["proposed"]) <= known and set(p["proposed"]) != set(p["gold"])
            assert "normal" not in p["proposed"] or p["proposed"] == ["normal"]
            assert p["why"].strip()
        applied = {r["text"]: r["labels"] for r in with_proposals(load_rows(path), path)}
        assert sum(applied[t] != gold[t] for t in gold) == len(mine)
    assert {p["file"] for p in props} == {"eval", "heldout"}
