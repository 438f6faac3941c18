import datetime as dt

import ibis
import pyarrow as pa

from zhijian.analysis.calendar import (
    calendar_table,
    day_info,
    is_working_time,
    next_working_time,
    with_working_time,
    working_minutes_between,
)
from zhijian.config import WorkingHours

WH = WorkingHours()


def test_statutory_holidays_and_in_lieu_days():
    assert not day_info(dt.date(2026, 10, 1), WH).workday  # 国庆节
    assert day_info(dt.date(2026, 10, 1), WH).holiday
    assert not day_info(dt.date(2026, 11, 28), WH).workday  # a Saturday
    assert day_info(dt.date(2026, 11, 27), WH).workday
    # a weekend working day (调休) of 2026: 2026-01-04 is a Sunday made a working day
    lieu = [
        d
        for d in (
            dt.date(2026, 1, 4),
            dt.date(2026, 2, 14),
            dt.date(2026, 2, 28),
            dt.date(2026, 5, 9),
            dt.date(2026, 9, 20),
            dt.date(2026, 10, 10),
        )
        if day_info(d, WH).in_lieu
    ]
    assert lieu, "expected at least one 调休 working day in 2026"
    for d in lieu:
        assert d.isoweekday() >= 6 and day_info(d, WH).workday


def test_working_time_and_helpers():
    assert is_working_time(dt.datetime(2026, 11, 27, 9, 0), WH)
    assert not is_working_time(dt.datetime(2026, 11, 27, 12, 30), WH)
    assert not is_working_time(dt.datetime(2026, 11, 27, 22, 40), WH)
    assert next_working_time(dt.datetime(2026, 11, 28, 22, 40), WH) == dt.datetime(2026, 11, 30, 8, 30)
    assert (
        working_minutes_between(dt.datetime(2026, 11, 27, 15, 0), dt.datetime(2026, 11, 27, 17, 0), WH) == 120
    )
    assert (
        working_minutes_between(dt.datetime(2026, 11, 27, 11, 0), dt.datetime(2026, 11, 27, 15, 0), WH) == 120
    )


def test_engine_after_hours_matches_python():
    times = [dt.datetime(2026, 9, 25, 8, 0) + dt.timedelta(minutes=37 * i) for i in range(1200)]
    cal, uncovered = calendar_table(dt.date(2026, 9, 1), dt.date(2026, 11, 30), WH)
    assert uncovered == []
    t = ibis.memtable(
        pa.table({"i": list(range(len(times))), "local_ts": pa.array(times, pa.timestamp("us"))})
    )
    con = ibis.duckdb.connect()
    out = con.to_pyarrow(with_working_time(t, ibis.memtable(cal), WH).order_by("i"))
    got = out["after_hours"].to_pylist()
    assert got == [not is_working_time(x, WH) for x in times]
