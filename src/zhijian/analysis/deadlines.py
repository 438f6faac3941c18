"""Deadlines parsed from demands ("10分钟内", "今天下午5点前", "明早8点前", "本周五前", "11月3日12时前"),
in the engine: the patterns are data (``deadline_patterns.yaml``), each compiled to ``re_extract``
expressions; all time arithmetic is in int64 epoch minutes of the naive local wall-clock time (the
engine session is UTC on both engines, so the epoch of a naive timestamp is its wall-clock reading).

Working minutes left are counted against the calendar table (statutory holidays, 调休 workdays) and
the configured working periods, with a range join over at most ``max_days`` calendar days.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from zhijian.analysis.calendar import periods_minutes
from zhijian.errors import ConfigError

DAY = 1440
_TOMORROW = ("明天", "明日", "明早", "明晚")
_PM_DAY = ("今晚", "明晚", "今夜")
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}


@cache
def deadline_patterns() -> dict[str, Any]:
    text = resources.files("zhijian.analysis").joinpath("deadline_patterns.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    for i, p in enumerate(data["patterns"]):
        for k in ("id", "kind", "regex", "source"):
            if k not in p:
                raise ConfigError(
                    f"deadline_patterns.yaml 第 {i + 1} 条缺少 {k}",
                    f"pattern {i + 1} lacks {k}",
                    path="deadline_patterns.yaml",
                )
    return data


def _group(text, regex: str, idx: int | None):
    import ibis

    if not idx:
        return ibis.null("string")
    g = text.re_extract(regex, idx)
    return ibis.ifelse(g == "", ibis.null("string"), g)  # engines return '' for an unmatched group


def _number(s):
    import ibis

    nums = deadline_patterns()["numerals"]["value"]
    return ibis.cases(
        *[(s == k, ibis.literal(v, "int64")) for k, v in nums.items()], else_=s.try_cast("int64")
    )


def _minute(s):
    import ibis

    s2 = s.replace("分", "")
    return ibis.cases(
        (s.isnull(), ibis.literal(0, "int64")), (s2 == "半", ibis.literal(30, "int64")), else_=_number(s2)
    )


def _hour(h, ampm, dayword=None):
    import ibis

    pm = ampm.isin(["下午", "晚上"])
    if dayword is not None:
        pm = pm | dayword.isin(list(_PM_DAY))
    noon = (ampm == "中午") & (h <= 2)
    return ibis.ifelse((pm.fill_null(False) & (h < 12)) | noon.fill_null(False), h + 12, h)


def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date, in integer arithmetic (H. Hinnant's
    algorithm): portable, and an impossible date (2月30日) cannot raise as make_date would."""
    import ibis

    y2 = y - ibis.ifelse(m <= 2, 1, 0)
    era = y2 // 400
    yoe = y2 - era * 400
    mp = ibis.ifelse(m > 2, m - 3, m + 9)
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def with_deadlines(lake, t, end_of_work: int, max_days: int, stage=None):
    """Add ``pattern_id``, ``span``, ``deadline_min`` (epoch minutes, local) and ``_t0`` to ``t``
    (needs ``message_id``, ``text`` and ``local_ts``); rows without a deadline get nulls.

    Computed in three materialised stages (regex groups -> numbers -> deadlines): written as one
    expression, every group would be re-extracted inside every use and the SQL text explodes."""
    import ibis

    from zhijian.lake.stages import materialize

    if stage is None:  # (a prepared query passes its own: zhijian.lake.prepared)

        def stage(expr, prefix):
            return materialize(lake, expr, prefix)

    pats = deadline_patterns()["patterns"]
    t0 = t.local_ts.epoch_seconds().cast("int64") // 60
    cols: dict[str, Any] = {
        "_t0": t0,
        "_wd": t.local_ts.day_of_week.index().cast("int64"),
        "_year": t.local_ts.year().cast("int64"),
    }
    for i, p in enumerate(pats):
        rx = p["regex"]
        cols[f"m{i}"] = t.text.re_search(rx)
        cols[f"s{i}"] = t.text.re_extract(rx, 0)
        for name, idx in p.get("groups", {}).items():
            cols[f"g{i}_{name}"] = _group(t.text, rx, idx)
    a = stage(t.mutate(**cols), "dl_a")

    nums: dict[str, Any] = {}
    for i, p in enumerate(pats):
        for name in p.get("groups", {}):
            c = a[f"g{i}_{name}"]
            if name in ("number", "hour", "month", "day") and not (p["kind"] == "clock" and name == "day"):
                nums[f"n{i}_{name}"] = _number(c)
            elif name == "minute":
                nums[f"n{i}_{name}"] = _minute(c)
    b = stage(a.mutate(**nums), "dl_b")

    t0 = b._t0
    day0 = t0 - t0 % DAY
    dls: dict[str, Any] = {}
    for i, p in enumerate(pats):
        kind = p["kind"]
        g = p.get("groups", {})

        def col(name, i=i, g=g):
            return b[f"n{i}_{name}"] if name in g else None

        def grp(name, i=i, g=g):
            return b[f"g{i}_{name}"] if name in g else ibis.null("string")

        if kind == "offset":
            dl = t0 + (col("number") * int(p["unit_minutes"]) if "number" in g else int(p["minutes"]))
        elif kind == "clock":
            dw = grp("day")
            h = _hour(col("hour"), grp("ampm"), dw)
            mi = col("minute") if "minute" in g else 0
            off = ibis.ifelse(dw.isin(list(_TOMORROW)).fill_null(False), DAY, 0)
            base = day0 + off + h * 60 + mi
            dl = ibis.ifelse(dw.isnull() & (base <= t0), base + DAY, base)
        elif kind == "end_of_work":
            base = day0 + end_of_work
            dl = ibis.ifelse(base <= t0, base + DAY, base)
        elif kind == "end_of_day":
            dl = day0 + DAY
        elif kind == "weekday":
            wk = grp("week")
            target = ibis.cases(*[(grp("weekday") == k, v) for k, v in _WEEKDAYS.items()])
            off = ibis.ifelse(wk == "下周", 7, 0)
            base = day0 + (target - b._wd + off) * DAY + end_of_work
            dl = ibis.ifelse((base <= t0) & ~wk.isin(["本周", "这周"]), base + 7 * DAY, base)
        elif kind == "date":
            mo, dd = col("month"), col("day")
            hr = col("hour")
            mi = col("minute") if "minute" in g else 0
            tod = ibis.ifelse(hr.isnull(), end_of_work, _hour(hr, grp("ampm")) * 60 + mi)
            valid = (mo >= 1) & (mo <= 12) & (dd >= 1) & (dd <= 31)
            this_year = days_from_civil(b._year, mo, dd) * DAY + tod
            nxt = days_from_civil(b._year + 1, mo, dd) * DAY + tod
            dl = ibis.ifelse(valid, ibis.ifelse(this_year + DAY <= t0, nxt, this_year), ibis.null("int64"))
        else:
            raise ConfigError(
                f"deadline_patterns.yaml：未知的类型 {kind!r}（{p['id']}）",
                f"unknown kind {kind!r} in {p['id']}",
                path="deadline_patterns.yaml",
            )
        dls[f"d{i}"] = dl.cast("int64")
    c = stage(b.mutate(**dls), "dl_c")
    oks = [
        c[f"m{i}"]
        & c[f"d{i}"].notnull()
        & (c[f"d{i}"] - c._t0 <= max_days * DAY)
        & (c[f"d{i}"] >= c._t0 - DAY)
        for i in range(len(pats))
    ]
    pid = ibis.cases(*[(ok, p["id"]) for ok, p in zip(oks, pats, strict=True)], else_=ibis.null("string"))
    span = ibis.cases(*[(ok, c[f"s{i}"]) for i, ok in enumerate(oks)], else_=ibis.null("string"))
    dl = ibis.cases(*[(ok, c[f"d{i}"]) for i, ok in enumerate(oks)], else_=ibis.null("int64"))
    return c.select(*t.columns, "_t0", pattern_id=pid, span=span, deadline_min=dl)


def working_minutes(dl, cal, periods: list[tuple[int, int]], max_days: int):
    """(message_id, working_minutes_left) for a table ``dl`` with ``_t0`` and ``deadline_min``,
    counting the working periods of working days in [t0, deadline)."""
    import ibis

    c = cal.select(
        dm=(cal.cal_day.cast("timestamp").epoch_seconds().cast("int64") // 60), workday=cal.workday
    )
    c = c.filter(c.workday)
    d = dl.select("message_id", "_t0", "deadline_min")
    j = d.join(c, [c.dm >= d._t0 - d._t0 % DAY, c.dm < d.deadline_min, c.dm <= d._t0 + max_days * DAY])
    overlap = ibis.literal(0, "int64")
    for a, b in periods:
        lo = ibis.greatest(j.dm + a, j._t0)
        hi = ibis.least(j.dm + b, j.deadline_min)
        overlap = overlap + ibis.greatest(hi - lo, 0)
    j = j.mutate(ov=overlap)
    return j.group_by("message_id").aggregate(working_minutes_left=j.ov.sum().cast("int64"))


def end_of_work_minute(wh) -> int:
    return max(b for _a, b in periods_minutes(wh))
