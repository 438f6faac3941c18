"""负担指数: unit figures from the lake's ``indicators`` with the minimum-group rule; a cadre sees
only their own figures."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.params import Query
from markupsafe import Markup

from zhijian.web import services
from zhijian.web.auth import Principal
from zhijian.web.cache import scope_key
from zhijian.web.common import cached_json, ctx_of, need, render

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["负担指数"])
UNIT_VIEWERS = ("admin", "supervisor", "liaison")


def _data(request: Request, p: Principal, period: str | None) -> dict:
    c = ctx_of(request)
    if p.role == "cadre":
        return c.cached(
            ("burden_person", p.person_id),
            lambda: {"person": services.burden_person(p, c.indicators)},
            store=False,
            lake=("indicators",),
        )
    if p.role not in UNIT_VIEWERS:
        raise HTTPException(403, "当前角色无权查看单位负担指数")

    def compute() -> dict:
        with c.read() as s:
            d = services.burden_units(s, p, c.indicators, period, c.min_group)
            d["trend"] = services.burden_trend(s, p, c.indicators, c.min_group)
        return d

    return c.cached(("burden", scope_key(p), period), compute, lake=("indicators",))


@router.get("/burden", include_in_schema=False)
def burden_page(request: Request, period: str = "", p: Principal = Depends(need())):
    from zhijian.web import charts

    b = _data(request, p, period or None)
    trend = b.get("trend") or []
    tc = (
        ctx_of(request).cached(
            ("burden_chart", scope_key(p), period),
            lambda: charts.lines([{"name": t["metric_zh"], "points": t["points"]} for t in trend[:4]]),
            lake=("indicators",),
        )
        if trend
        else None
    )
    units_table = None
    if "units" in b:
        templates = ctx_of(request).templates

        units_table = ctx_of(request).cached(  # the big table, rendered once per data version
            ("burden_table", scope_key(p), period),
            lambda: Markup(templates.get_template("_burden_units.html").render(b=b)),
            lake=("indicators",),
        )
    return render(request, "burden.html", b=b, trend_chart=tc, units_table=units_table)


@api.get("/burden", responses={401: {}, 403: {}})
def burden_api(request: Request, period: str = Query("", max_length=32), p: Principal = Depends(need())):
    """Unit figures of one period (units under the minimum group size are withheld), or for a cadre
    their own figures."""
    key = ("burden", scope_key(p), period or None)
    return cached_json(request, key, lambda: _data(request, p, period or None), lake=("indicators",))
