"""我的负担: a cadre (or an owner, who is a person too) sees their own weekly indicators and their
trend — only ever the ``person`` rows of their own person id, never anyone else's, no ranking."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request

from zhijian.web.auth import Principal
from zhijian.web.common import ctx_of, need, render

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["我的负担"])
ROLES = ("cadre", "owner")
TREND = (
    "burden_index",
    "demands_received",
    "after_hours_demands_received",
    "roll_call_replies_sent",
    "duplicate_notices_received",
)


def _names() -> dict[str, dict]:
    try:
        from zhijian.analysis.burden import METRICS
    except Exception:  # noqa: BLE001 - the burden module is another package's; degrade to ids
        return {}
    return METRICS


def my_burden(request: Request, p: Principal) -> dict:
    if not p.person_id:
        raise HTTPException(403, "该账号未关联人员，无个人负担数据")
    weeks: dict[str, dict[str, float]] = {}
    for r in ctx_of(request).indicators.for_scope("person", p.person_id):
        if r["value"] is not None:
            weeks.setdefault(r["period"], {})[r["metric"]] = float(r["value"])
    periods = sorted(weeks)
    names = _names()
    metrics = sorted({m for w in weeks.values() for m in w}, key=lambda m: (m not in TREND, m))
    latest = periods[-1] if periods else None
    prev = periods[-5:-1]
    rows = []
    for m in metrics:
        cur = weeks[latest].get(m, 0.0) if latest else None
        avg = sum(weeks[pp].get(m, 0.0) for pp in prev) / len(prev) if prev else None
        info = names.get(m, {})
        rows.append(
            {
                "metric": m,
                "metric_zh": info.get("zh", m),
                "definition": info.get("definition", ""),
                "latest": cur,
                "previous_avg": round(avg, 2) if avg is not None else None,
                "change": round(cur - avg, 2) if (cur is not None and avg is not None) else None,
            }
        )
    return {
        "person_id": p.person_id,
        "periods": periods,
        "latest": latest,
        "metrics": rows,
        "series": {m: [[pp, weeks[pp].get(m, 0.0)] for pp in periods] for m in metrics},
    }


@router.get("/me", include_in_schema=False)
def me_page(request: Request, p: Principal = Depends(need(*ROLES))):
    from zhijian.web import charts

    d = my_burden(request, p)
    trend = [m for m in TREND if m in d["series"]][:4]
    zh = {r["metric"]: r["metric_zh"] for r in d["metrics"]}
    chart = (
        charts.lines([{"name": zh[m], "points": [tuple(x) for x in d["series"][m]]} for m in trend])
        if trend
        else None
    )
    return render(request, "me.html", d=d, chart=chart)


@api.get("/me/burden", responses={401: {}, 403: {}})
def me_api(request: Request, p: Principal = Depends(need(*ROLES))):
    """The caller's own weekly indicators (person scope), latest week vs. the four weeks before."""
    return my_burden(request, p)
