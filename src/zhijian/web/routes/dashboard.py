"""总览: KPIs and charts of the principal's scope."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from zhijian.web import services
from zhijian.web.auth import Principal
from zhijian.web.cache import scope_key
from zhijian.web.common import cached_json, ctx_of, need, principal_of, render

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["总览"])


def _data(request: Request, p: Principal) -> dict:
    c = ctx_of(request)

    def compute() -> dict:
        with c.read() as s:
            return services.dashboard(s, p, c.indicators, c.min_group)

    return c.cached(("dashboard", scope_key(p)), compute, lake=("indicators",))


def _page_data(request: Request, p: Principal) -> tuple[dict, dict, dict | None]:
    """The dashboard with its charts and (for a cadre) their own figures, once per data version."""
    c = ctx_of(request)

    def compute():
        d = _data(request, p)
        person = services.burden_person(p, c.indicators) if p.role == "cadre" else None
        return d, _charts(d), person

    return c.cached(("dashboard_page", scope_key(p)), compute, lake=("indicators",))


@router.get("/", include_in_schema=False)
def root(request: Request):
    return RedirectResponse("/dashboard" if principal_of(request) else "/login", 303)


@router.get("/dashboard", include_in_schema=False)
def dashboard_page(request: Request, p: Principal = Depends(need())):
    d, ch, person = _page_data(request, p)
    return render(request, "dashboard.html", d=d, ch=ch, person=person, KIND_ZH=services.KIND_ZH)


def _charts(d: dict) -> dict:
    from zhijian.store.workflow import STATUS_ZH
    from zhijian.web import charts

    ch = {
        "cat": charts.bar(
            [r["category_zh"] for r in d["findings_by_category"]],
            [r["count"] for r in d["findings_by_category"]],
            horizontal=True,
            name="问题线索",
        ),
        "status": charts.pie([(STATUS_ZH.get(k, k), v) for k, v in d["findings_by_status"].items()]),
        "reduction": charts.reduction(
            [(services.KIND_ZH[k], r["reduced"], r["total"]) for k, r in d["reduction"].items()]
        ),
        "trend": charts.lines(
            [{"name": t["metric_zh"], "points": t["points"]} for t in d["burden_trend"][:4]], area=False
        )
        if d["burden_trend"]
        else None,
    }
    return ch


@api.get("/dashboard", responses={401: {}})
def dashboard_api(request: Request, p: Principal = Depends(need())):
    """KPIs of the caller's scope: objects by type and status, 精简率, findings by category, burden trend."""
    return cached_json(request, ("dashboard", scope_key(p)), lambda: _data(request, p), lake=("indicators",))
