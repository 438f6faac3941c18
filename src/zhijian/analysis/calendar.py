"""Working time: the workspace's working hours and the Chinese statutory calendar.

A day is a working day when it is a configured weekday and not a statutory holiday, or when it is
a 调休 working day (a weekend day made a working day). Holidays and 调休 days come from the
``chinesecalendar`` package (the State Council's annual notices); years it does not cover fall back
to the configured weekdays, and :func:`calendar_table` reports them in ``uncovered_years``.

Engine use: :func:`with_working_time` joins a small calendar table (one row per local date) onto a
table with ``local_ts`` and adds ``workday`` and ``after_hours``. All arithmetic is on the naive
local wall-clock time (research/engines.md pitfall 4: sessions are UTC).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa

from zhijian.config import WorkingHours

try:  # the import name of the chinesecalendar distribution
    import chinese_calendar as _cc
except ImportError:  # pragma: no cover - it is a declared dependency
    _cc = None


@dataclass(frozen=True)
class DayInfo:
    day: dt.date
    workday: bool
    holiday: str | None  # name of the statutory holiday, if any
    in_lieu: bool  # a weekend day that is a working day (调休上班)


def day_info(day: dt.date, wh: WorkingHours) -> DayInfo:
    weekday_ok = day.isoweekday() in wh.weekdays
    if wh.chinese_calendar and _cc is not None:
        try:
            is_holiday, name = _cc.get_holiday_detail(day)
        except NotImplementedError:
            return DayInfo(day, weekday_ok, None, False)
        official_workday = _cc.is_workday(day)
        if day.isoweekday() >= 6 and official_workday:
            return DayInfo(day, True, None, True)
        if is_holiday and name is not None:
            return DayInfo(day, False, str(name), False)
    return DayInfo(day, weekday_ok, None, False)


def covered(day: dt.date) -> bool:
    if _cc is None:
        return False
    try:
        _cc.is_workday(day)
    except NotImplementedError:
        return False
    return True


def periods_minutes(wh: WorkingHours) -> list[tuple[int, int]]:
    out = []
    for p in wh.periods:
        a, b = p.split("-")
        out.append((int(a[:2]) * 60 + int(a[3:]), int(b[:2]) * 60 + int(b[3:])))
    return out


def is_working_time(ts: dt.datetime, wh: WorkingHours) -> bool:
    """Whether a local wall-clock time falls in working hours (for single messages, e.g. the pre-send check)."""
    if not day_info(ts.date(), wh).workday:
        return False
    m = ts.hour * 60 + ts.minute
    return any(a <= m < b for a, b in periods_minutes(wh))


def next_working_time(ts: dt.datetime, wh: WorkingHours) -> dt.datetime:
    """The first working minute at or after ``ts`` (e.g. "schedule it for Monday 08:30")."""
    day = ts.date()
    for _ in range(400):
        if day_info(day, wh).workday:
            for a, _b in periods_minutes(wh):
                start = dt.datetime.combine(day, dt.time(a // 60, a % 60))
                end_m = _b
                if day == ts.date():
                    m = ts.hour * 60 + ts.minute
                    if a <= m < end_m:
                        return ts
                    if m >= end_m:
                        continue
                if start >= ts.replace(second=0, microsecond=0) or day != ts.date():
                    return start
        day += dt.timedelta(days=1)
    return ts


def working_minutes_between(start: dt.datetime, end: dt.datetime, wh: WorkingHours) -> int:
    """Working minutes in [start, end) — e.g. how much working time a deadline leaves."""
    if end <= start:
        return 0
    total = 0
    day = start.date()
    pm = periods_minutes(wh)
    while day <= end.date():
        if day_info(day, wh).workday:
            for a, b in pm:
                s = dt.datetime.combine(day, dt.time(a // 60, a % 60))
                e = dt.datetime.combine(day, dt.time(b // 60, b % 60))
                lo, hi = max(s, start), min(e, end)
                if hi > lo:
                    total += int((hi - lo).total_seconds() // 60)
        day += dt.timedelta(days=1)
    return total


def calendar_table(start: dt.date, end: dt.date, wh: WorkingHours) -> tuple[pa.Table, list[int]]:
    """One row per local date in [start, end]: day, workday, holiday, in_lieu; and the uncovered years."""
    days, work, hol, lieu = [], [], [], []
    uncovered: set[int] = set()
    d = start
    while d <= end:
        info = day_info(d, wh)
        if wh.chinese_calendar and not covered(d):
            uncovered.add(d.year)
        days.append(d)
        work.append(info.workday)
        hol.append(info.holiday)
        lieu.append(info.in_lieu)
        d += dt.timedelta(days=1)
    table = pa.table(
        {
            "cal_day": pa.array(days, pa.date32()),
            "workday": pa.array(work, pa.bool_()),
            "holiday": pa.array(hol, pa.string()),
            "in_lieu": pa.array(lieu, pa.bool_()),
        }
    )
    return table, sorted(uncovered)


def with_working_time(t, cal, wh: WorkingHours):
    """Add ``workday`` and ``after_hours`` to an Ibis table with ``local_ts``, joining the calendar
    Ibis table ``cal`` (from :func:`calendar_table`). A day missing from the calendar counts by weekday."""
    import ibis

    day = t.local_ts.date()
    joined = t.left_join(cal, day == cal.cal_day)
    minute = joined.local_ts.hour().cast("int64") * 60 + joined.local_ts.minute().cast("int64")
    in_period = ibis.literal(False)
    for a, b in periods_minutes(wh):
        in_period = in_period | ((minute >= a) & (minute < b))
    weekday_ok = joined.local_ts.day_of_week.index().cast("int64").isin([d - 1 for d in wh.weekdays])
    workday = joined.workday.fill_null(weekday_ok) if hasattr(joined.workday, "fill_null") else joined.workday
    out = joined.mutate(workday=workday).mutate(after_hours=~(workday & in_period))
    return out.drop("cal_day", "holiday", "in_lieu")
