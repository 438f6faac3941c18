"""bench/detect.py: the equal-recall comparison with datasketch that issues 8 and 9 ask for, and the
precision against a demo ground truth that does not record every repeated message."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))


def test_equal_recall_interpolates_between_the_bracketing_thresholds():
    """bench/detect.py's equal-recall line: linear in recall between the two datasketch thresholds
    whose recalls bracket zhijian's, and an explicit statement when none does."""
    from detect import equal_recall

    rows = [(0.837, 7.4, 4.7, 0.75), (0.936, 9.3, 5.7, 0.7), (0.883, 8.6, 5.2, 0.72)]
    line = equal_recall(rows, 0.928)
    assert "between datasketch's thresholds 0.72 and 0.7" in line
    f = (0.928 - 0.883) / (0.936 - 0.883)
    assert f"{8.6 + f * 0.7:.1f}x wall" in line and f"{5.2 + f * 0.5:.1f}x cpu" in line
    assert "no threshold run reaches" in equal_recall(rows[:1], 0.928)
    assert "every threshold run has a recall above" in equal_recall([(0.95, 7.0, 4.0, 0.6)], 0.928)


def test_precision_recorded_leaves_out_only_pairs_of_two_unrecorded_messages():
    from detect import pr, precision_recorded

    truth = {"a": 1, "b": 1, "c": 2}
    # x, y, z are not in the ground truth: the pairs among them are left out, the pair (c, x) is false
    pred = {"a": "P", "b": "P", "c": "Q", "x": "Q", "y": "R", "z": "R"}
    assert pr(truth, pred)[0] == 1 / 3  # true (a, b); false (c, x) and (y, z)
    assert precision_recorded(truth, pred) == 1 / 2  # (y, z) left out
    assert precision_recorded(truth, {"a": "P", "b": "P"}) == 1.0
