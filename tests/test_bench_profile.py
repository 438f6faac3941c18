"""bench/duckdb_profile.py: DuckDB's profile of each query of the near-duplicate core (issue 8 asks
what limits each stage): every intermediate table and result is profiled, with CPU time and operators."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))


def test_query_profiles_cover_each_stage(tmp_path, capsys):
    from duckdb_profile import QueryProfiles, _operators

    from zhijian.analysis.neardup import Params, cluster_texts
    from zhijian.lake import Lake

    base = "关于召开{}年安全生产工作会议的通知：定于3月5日上午9时在县政府三楼会议室召开，请各乡镇分管领导准时参加。"
    texts = [base.format(2000 + i) for i in range(40)] + ["转发：" + base.format(2001) + "请认真落实！"]
    lake = Lake(tmp_path)
    items = lake.register("t", pa.table({"key": [str(i) for i in range(len(texts))], "text": texts}))
    with QueryProfiles(lake) as prof:
        run = cluster_texts(lake, items, Params.from_policy())
        out = lake.to_arrow(run.items.select("key", "comp"))
    comp = dict(zip(out["key"].to_pylist(), out["comp"].to_pylist(), strict=True))
    assert comp["1"] == comp[str(len(texts) - 1)]  # the forwarded copy joins its notice
    labels = [q["label"] for q in prof.queries]
    for stage in ("nd_texts", "nd_docs", "nd_sig", "nd_cand"):
        assert f"stage {stage}" in labels
    assert "stage result verify_s" in labels and "to_arrow" in labels
    sig = next(q for q in prof.queries if q["label"] == "stage nd_sig")
    assert sig["info"]["query"]["cpu_time"] > 0
    ops: list = []
    for n in sig["info"]["operator"]:
        _operators(n, ops)
    # the min-hash aggregate (DuckDB picks a perfect hash aggregate for few docs)
    assert any("GROUP_BY" in label for _t, _rows, label in ops)
    prof.print()  # (it lists the costliest operators only, above 5 ms: which ones depends on timing)
    printed = capsys.readouterr().out
    assert all(f"stage {s}" in printed for s in ("nd_texts", "nd_docs", "nd_sig", "nd_cand"))
    # leaving the block restores the unprofiled functions
    from zhijian.lake.stages import Stages

    assert Stages._create.__module__ == "zhijian.lake.stages"
    lake.close()
