"""How far two careful annotators agree on the message labels: the ceiling of any accuracy figure.

``tests/data/labels_second_annotator.jsonl`` holds 300 lines drawn at random (seed 20261207) from the 1,835
lines ``tests/data/labels_heldout.jsonl`` held before batches 2026-12-07j-m, labelled a second time,
independently: the second annotator saw only
the texts and the written labelling conventions (the same ones the first labels followed), not the first
labels, the sources or the rules. This prints, per label, the precision and recall of the second
annotator against the first (the gold of ``labels_heldout.jsonl``), their exact label-set agreement,
and the rules' figures on the same lines for comparison (the rules have seen these lines: that figure
is not a held-out one).

``tests/data/labels_second_annotator_sealed.jsonl`` relabels, the same way, all 257 lines of the sealed
batches 2026-12-07v-y, on which no rule has been tuned: there the rules' figure is a held-out one.

    .venv/bin/python bench/agreement.py [--disagreements]
    .venv/bin/python bench/agreement.py --second tests/data/labels_second_annotator_sealed.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).parent))

GOLD = ROOT / "tests" / "data" / "labels_heldout.jsonl"
SECOND = ROOT / "tests" / "data" / "labels_second_annotator.jsonl"


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def agreement(gold: list[set[str]], other: list[set[str]], labels: list[str]) -> dict:
    """Exact label-set agreement and, per label, precision / recall of ``other`` against ``gold``."""
    from accuracy import label_scores

    per, exact = label_scores(gold, other, labels)
    return {"exact": exact, "per_label": per}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--disagreements", action="store_true", help="print the lines the annotators label differently"
    )
    ap.add_argument("--second", type=Path, default=SECOND, help="the second annotator's labels")
    a = ap.parse_args()

    from zhijian.rules.check import label_texts
    from zhijian.rules.pack import load_pack
    from zhijian.rules.taxonomy import label_ids

    gold_by_text = {r["text"]: set(r["labels"]) for r in _read(GOLD)}
    second = _read(a.second)
    missing = [r["text"] for r in second if r["text"] not in gold_by_text]
    if missing:
        raise SystemExit(
            f"{len(missing)} lines of {a.second.name} are not in {GOLD.name}, e.g. {missing[0][:40]!r}"
        )
    texts = [r["text"] for r in second]
    gold = [gold_by_text[t] for t in texts]
    other = [set(r["labels"]) for r in second]
    rules = [{x["label"] for x in p} for p in label_texts([{"text": t} for t in texts], load_pack(None))]
    labels = label_ids()
    ann = agreement(gold, other, labels)
    rul = agreement(gold, rules, labels)
    print(
        f"lines: {len(texts)}   exact label-set agreement: annotators {ann['exact']:.3f}, rules {rul['exact']:.3f}"
    )
    print(f"{'label':26s} {'support':>7s}   {'annotator B':>15s}   {'rules':>15s}")
    print(f"{'':26s} {'':>7s}   {'prec':>7s} {'recall':>7s}   {'prec':>7s} {'recall':>7s}")
    for lab in labels:
        x, y = ann["per_label"][lab], rul["per_label"][lab]
        print(
            f"{lab:26s} {x['support']:7d}   {x['precision']:7.3f} {x['recall']:7.3f}   "
            f"{y['precision']:7.3f} {y['recall']:7.3f}"
        )
    if a.disagreements:
        print("\nlines the annotators label differently:")
        for t, g, o in zip(texts, gold, other, strict=True):
            if g != o:
                print(f"- {t[:90]!r}\n    gold={sorted(g)} second={sorted(o)}")


if __name__ == "__main__":
    main()
