"""Prepared queries (``lake/prepared.py``): built once, run again on new rows, they give exactly what
building and running the expression each time gives: the labels and the urgent marker of the draft
check and ``check --jsonl`` in batches, and the deadlines computed in stages."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from zhijian.analysis.classify import flags
from zhijian.analysis.deadlines import with_deadlines
from zhijian.lake import Lake
from zhijian.lake.prepared import PreparedQuery
from zhijian.rules.check import Labeler, check_jsonl, label_texts
from zhijian.rules.pack import builtin_pack

DATA = Path(__file__).parent / "data"


def _lines(n: int) -> list[dict]:
    rows = [json.loads(x) for x in (DATA / "labels_eval.jsonl").read_text(encoding="utf-8").splitlines()]
    return [{"text": r["text"]} for r in rows[:n]]


@pytest.fixture(scope="module")
def pack():
    return builtin_pack()


def test_labeler_runs_agree_with_one_query(pack):
    """Every call of one Labeler (the first through Ibis, the others through the kept SQL) labels
    its texts as one query over all of them does, and marks the same ones urgent."""
    lines = _lines(90) + [{"text": "紧急！今晚10点前报送，收到请回复", "at_all": True}, {"text": ""}]
    whole = label_texts(lines, pack)
    assert {x["label"] for labs in whole for x in labs} - {"normal"}, "the lines carry labels"
    labeler = Labeler(pack)
    got = []
    for i in range(0, len(lines), 23):  # four calls of different sizes
        got += labeler.labels(lines[i : i + 23])
    assert got == whole
    assert labeler.labels([]) == []
    con = ibis.duckdb.connect()
    mt = pa.table(
        {
            "message_id": [str(i) for i in range(len(lines))],
            "text": [r["text"] for r in lines],
            "kind": ["text"] * len(lines),
            "at_all": [bool(r.get("at_all")) for r in lines],
        }
    )
    want = {r["message_id"]: r["urgent"] for r in con.to_pyarrow(flags(ibis.memtable(mt), pack)).to_pylist()}
    urgent = []
    for i in range(0, len(lines), 23):
        urgent += labeler.urgent(lines[i : i + 23])
    assert urgent == [want[str(i)] for i in range(len(lines))]
    assert any(urgent)


def test_check_jsonl_in_small_batches(tmp_path, pack):
    lines = _lines(9)
    f = tmp_path / "in.jsonl"
    f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")
    got = list(check_jsonl(f, batch=2))  # five batches through one Labeler
    assert [r["labels"] for r in got] == label_texts(lines, pack)


def test_prepared_stages_agree_and_leave_no_tables(tmp_path):
    """The deadlines, computed in three stages: a prepared query refills its stage tables on each
    run and gives what a fresh computation gives; running it adds no tables to the connection."""
    lake = Lake(tmp_path, "duckdb")
    schema = pa.schema([("message_id", pa.string()), ("text", pa.string()), ("local_ts", pa.timestamp("us"))])
    q = PreparedQuery(
        lake.con, schema, lambda t, stage: with_deadlines(lake, t, 17 * 60 + 30, 31, stage=stage)
    )
    drafts = [
        ("请各村今天下午5点前报送材料", dt.datetime(2026, 12, 7, 9, 30)),
        ("明天开会", dt.datetime(2026, 12, 7, 9, 30)),
        ("请于明天上午9点前报送", dt.datetime(2026, 12, 5, 23, 0)),
        ("10分钟内回复", dt.datetime(2026, 12, 8, 14, 0)),
        ("下周一下班前交表", dt.datetime(2026, 12, 9, 16, 0)),
    ]

    def tables() -> int:
        return lake.con.con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0]

    before = None
    found = 0
    for text, at in drafts:
        rows = pa.table({"message_id": ["d"], "text": [text], "local_ts": [at]}, schema=schema)
        got = q.run(rows)
        fresh = Lake(tmp_path / "fresh", "duckdb")
        want = fresh.to_arrow(with_deadlines(fresh, ibis.memtable(rows), 17 * 60 + 30, 31)).to_pylist()
        fresh.close()
        key = ("message_id", "pattern_id", "span", "deadline_min")
        assert [{k: r[k] for k in key} for r in got] == [{k: r[k] for k in key} for r in want]
        found += got[0]["deadline_min"] is not None
        before = before if before is not None else tables()
        assert tables() == before
    assert found >= 3
    q.close()
    assert tables() == before - 4  # the input and the three stages
    lake.close()
