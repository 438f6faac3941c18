"""Parity of the dedup step's slot sequence on DuckDB and Spark local mode (one shared SparkSession).
The whole analysis — signals, dedup and multireport among its steps — is compared on both engines by
tests/test_spark_parity.py. Fails, not skips, under CI=true without PySpark/Java."""

from __future__ import annotations

import pytest

SLOT_TEXTS = ["关于召开2026年3月5日会议", "无数字的通知", "12abc三十", "", "abc12", "5", "二〇二六年十月下旬"]


def _slots_python(x: str) -> str:
    import re

    from zhijian.analysis.neardup import dedup_policy

    return "|" + "|".join(re.findall(f"[{dedup_policy()['slots']['chars']}]+", x))


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_slot_sequence_same_on_each_engine(engine, request, tmp_path):
    """The slot sequence (regexp_extract_all, a builtin on both engines) equals Python's, including a
    text without slots ('|': Ibis joins an empty array to NULL on Spark) and one that is all slots."""
    import pyarrow as pa

    from zhijian.analysis.neardup import slot_sequence
    from zhijian.lake import Lake

    if engine == "spark":
        request.getfixturevalue("spark")
    lake = Lake(tmp_path, engine)
    t = lake.register("slots", pa.table({"i": list(range(len(SLOT_TEXTS))), "norm": SLOT_TEXTS}))
    got = lake.to_arrow(t.select("i", s=slot_sequence(t.norm)).order_by("i")).column("s").to_pylist()
    assert got == [_slots_python(x) for x in SLOT_TEXTS]
    assert got[1] == "|" and got[-1] == "|二〇二六|十"
    lake.close()
