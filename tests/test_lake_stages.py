"""zhijian.lake.stages.Stages: a chain of intermediate tables computed in a background thread while
the next stages are compiled — same results as one stage after another, errors raised, not lost."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from zhijian.lake import Lake
from zhijian.lake.stages import Stages, materialize


def _data(lake):
    return lake.register("nums", pa.table({"k": list(range(1000)), "s": [str(i % 7) for i in range(1000)]}))


def test_chain_matches_one_stage_after_another(tmp_path):
    lake = Lake(tmp_path)
    t = _data(lake)
    # the reference: each stage materialised before the next is built
    a = materialize(lake, t.filter(t.k % 3 == 0), "a")
    b = materialize(lake, a.group_by("s").aggregate(n=a.k.count(), top=a.k.max()), "b")
    want = lake.to_arrow(b.order_by("s"))
    with Stages(lake) as st:
        a2 = st.add(t.filter(t.k % 3 == 0), "a", "first_s")
        b2 = st.add(a2.group_by("s").aggregate(n=a2.k.count(), top=a2.k.max()), "b", "second_s")
        # a memtable first read by a later stage is registered in the background thread
        extra = ibis.memtable(pa.table({"s": ["0", "1"], "w": [10, 20]}))
        got = st.fetch(b2.join(extra, "s").order_by("s"), "fetch_s")
        assert st.row_count(a2) == 334 and st.row_count(b2) == 7
        bound = st.bound(b2)
    assert lake.to_arrow(bound.order_by("s")).equals(want)
    assert (
        got.column("w").to_pylist() == [10, 20]
        and got.column("n").to_pylist() == want.column("n").to_pylist()[:2]
    )
    assert set(st.timings) == {"first_s", "second_s", "fetch_s"}
    lake.close()


def test_a_failing_stage_raises_and_leaves_the_connection_usable(tmp_path):
    import duckdb

    lake = Lake(tmp_path)
    t = _data(lake)
    with pytest.raises(duckdb.Error):
        with Stages(lake) as st:
            bad = st.add(t.select(x=t.s.concat("x").cast("int64")), "bad")  # fails while it runs
            later = st.add(bad.filter(bad.x > 0), "later")
            st.fetch(later.count())
    assert lake.to_arrow(t.count()).as_py() == 1000
    lake.close()


def test_an_error_in_the_caller_stops_the_running_stage(tmp_path):
    """Leaving the block on an error (or Ctrl-C) interrupts the stage DuckDB is running and drops the
    ones not started, instead of computing them all first."""
    lake = Lake(tmp_path)
    t = _data(lake)
    u = t.select(k2=t.k)
    v = t.select(k3=t.k)
    big = t.cross_join(u).cross_join(v)  # 10^9 rows: seconds of work
    names = []
    with pytest.raises(RuntimeError, match="caller failed"):
        with Stages(lake) as st:
            slow = st.add(big.aggregate(s=(big.k * big.k2 + big.k3).sum()), "slow")
            after = st.add(slow.select(s2=slow.s * 2), "after")
            names = [slow.get_name(), after.get_name()]
            raise RuntimeError("caller failed")
    assert lake.to_arrow(t.count()).as_py() == 1000  # the connection works
    left = lake.con.raw_sql("SELECT table_name FROM duckdb_tables()").fetchall()
    assert not {n for (n,) in left} & set(names)
    lake.close()
