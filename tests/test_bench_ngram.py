"""bench/ngram_baseline.py: the learned baseline fits what it is given (its figures are in the issue 9 notes)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from ngram_baseline import featurize, fit_logistic, ngrams  # noqa: E402


def test_ngrams_are_character_1_to_3_grams():
    assert ngrams("收到了") == {"收", "到", "了", "收到", "到了", "收到了"}


def test_logistic_regression_separates_its_training_lines_and_generalises_to_a_shared_ngram():
    pos = [
        "请各单位于今天下午5点前报送材料",
        "请于周五前报送统计表",
        "各村明天上午报送名单",
        "请尽快报送总结",
    ]
    neg = ["今天天气很好", "会议改到三楼", "谢谢大家的支持", "明天放假一天"]
    x_tr, x_te = featurize(pos + neg, ["请各乡镇报送台账", "大家周末愉快"], min_df=1)
    w, b = fit_logistic(x_tr, np.array([1.0] * len(pos) + [0.0] * len(neg)))
    p_tr = 1 / (1 + np.exp(-(x_tr @ w + b)))
    p_te = 1 / (1 + np.exp(-(x_te @ w + b)))
    assert (p_tr[: len(pos)] > 0.5).all() and (p_tr[len(pos) :] < 0.5).all()
    assert p_te[0] > 0.5 > p_te[1]
