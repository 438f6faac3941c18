"""目录清单: groups, apps and public accounts; list, detail, screening decision."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from zhijian.store.models import Person
from zhijian.web import services
from zhijian.web.auth import Principal
from zhijian.web.cache import scope_key
from zhijian.web.common import cached_json, ctx_of, need, not_found, render, visible_units, xlsx_response

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["目录清单"])

VIEWERS = ("admin", "supervisor", "liaison", "owner")
DECIDERS = ("admin", "supervisor")
Kind = Literal["groups", "apps", "accounts"]

COLUMNS = {
    "group": [
        ("name", "群名称"),
        ("id", "编号"),
        ("platform", "平台"),
        ("unit_name", "所属单位"),
        ("group_type", "类型"),
        ("member_count", "成员数"),
        ("status_zh", "状态"),
        ("registered", "已备案"),
        ("end_date", "预计解散"),
        ("recommendation_zh", "研判建议"),
        ("purpose", "用途"),
    ],
    "app": [
        ("name", "应用名称"),
        ("id", "编号"),
        ("platform", "形态"),
        ("unit_name", "主办单位"),
        ("users", "用户数"),
        ("features", "功能"),
        ("last_active_on", "最近活跃"),
        ("status_zh", "状态"),
        ("registered", "已备案"),
        ("recommendation_zh", "研判建议"),
    ],
    "account": [
        ("name", "账号名称"),
        ("id", "编号"),
        ("platform", "平台"),
        ("unit_name", "主办单位"),
        ("followers", "关注数"),
        ("last_post_on", "最近更新"),
        ("status_zh", "状态"),
        ("registered", "已备案"),
        ("recommendation_zh", "研判建议"),
    ],
}


def _filters(q, unit, status, registered, recommendation, sort, order) -> dict:
    return {
        "q": (q or "").strip()[:100],
        "unit": unit or None,
        "status": status or None,
        "registered": registered or None,
        "recommendation": recommendation or None,
        "sort": sort or "name",
        "order": "desc" if order == "desc" else "asc",
    }


@router.get("/inventory", include_in_schema=False)
def inventory_root(p: Principal = Depends(need(*VIEWERS))):
    return RedirectResponse("/inventory/groups", 303)


@router.get("/inventory/{kind}", include_in_schema=False)
def inventory_page(
    request: Request,
    kind: Kind,
    q: str = "",
    unit: str = "",
    status: str = "",
    registered: str = "",
    recommendation: str = "",
    sort: str = "name",
    order: str = "asc",
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    format: str = "",
    p: Principal = Depends(need(*VIEWERS)),
):
    otype = services.KINDS[kind]
    f = _filters(q, unit, status, registered, recommendation, sort, order)
    c = ctx_of(request)
    if format == "xlsx":
        with c.read() as s:
            rows = services.export_inventory(s, p, otype, **f)
        return xlsx_response(f"目录清单_{services.KIND_ZH[otype]}", COLUMNS[otype], rows)
    pg = _list(request, p, otype, f, page, services.PER_PAGE)
    units = visible_units(request, p)
    tpl = "_inventory_table.html" if request.headers.get("hx-request") == "true" else "inventory_list.html"
    return render(
        request,
        tpl,
        kind=kind,
        otype=otype,
        pg=pg,
        f=f,
        units=units,
        KIND_ZH=services.KIND_ZH,
        OBJ_STATUS_ZH=services.OBJ_STATUS_ZH,
        REC_ZH=services.REC_ZH,
    )


def _list(request: Request, p: Principal, otype: str, f: dict, page: int, per_page: int) -> services.Page:
    c = ctx_of(request)

    def compute() -> services.Page:
        with c.read() as s:
            return services.list_inventory(s, p, otype, page=page, per_page=per_page, **f)

    return c.cached(("inventory", otype, scope_key(p), tuple(sorted(f.items())), page, per_page), compute)


def _detail(request: Request, p: Principal, otype: str, oid: str) -> dict:
    """An object's detail, computed once per store and lake version for this scope."""
    return ctx_of(request).cached(
        ("object", otype, oid, scope_key(p)),
        lambda: _compute_detail(request, p, otype, oid),
        lake=("memberships", "indicators", "messages") if otype == "group" else (),
    )


def _compute_detail(request: Request, p: Principal, otype: str, oid: str) -> dict:
    c = ctx_of(request)
    with c.read() as s:
        d = services.object_detail(s, p, otype, oid)
        if d is None:
            raise not_found()
        if otype == "group":
            members = c.lake.members(oid)
            names = (
                dict(
                    s.execute(
                        select(Person.id, Person.name).where(
                            Person.id.in_([m["person_id"] for m in members[:500]])
                        )
                    ).all()
                )
                if members
                else {}
            )
            d["members"] = [
                {
                    "person_id": m["person_id"],
                    "name": names.get(m["person_id"], m["person_id"]),
                    "role": m["role"],
                }
                for m in members[:500]
            ]
            d["members_total"] = len(members)
            # weekly messages from the analysis' indicators when present (no scan of the messages)
            d["activity"] = c.indicators.group_weekly(oid) or c.lake.activity(oid)
    return d


@router.get("/inventory/{kind}/{oid}", include_in_schema=False)
def object_page(request: Request, kind: Kind, oid: str, p: Principal = Depends(need(*VIEWERS))):
    otype = services.KINDS[kind]
    d = _detail(request, p, otype, oid)
    from zhijian.web import charts

    act = d.get("activity") or []
    activity_chart = charts.lines([{"name": "消息数", "points": act}], area=True) if act else None
    return render(
        request,
        "inventory_detail.html",
        kind=kind,
        o=d,
        can_decide=p.role in DECIDERS,
        activity_chart=activity_chart,
        DECISIONS=services.DECISIONS,
        REC_ZH=services.REC_ZH,
    )


def _decide(request: Request, p: Principal, otype: str, oid: str, decision: str, reason: str) -> dict:
    if decision not in services.DECISIONS:
        raise HTTPException(422, "研判结论应为保留、合并、清除或豁免")
    reason = reason.strip()
    if not reason:
        raise HTTPException(422, "请填写研判理由")
    with ctx_of(request).write() as s:
        if services.object_detail(s, p, otype, oid) is None:
            raise not_found()
        return services.decide(s, p, otype, oid, decision, reason)


@router.post("/inventory/{kind}/{oid}/decision", include_in_schema=False)
def decide_form(
    request: Request,
    kind: Kind,
    oid: str,
    decision: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=2000)] = "",
    p: Principal = Depends(need(*DECIDERS)),
):
    _decide(request, p, services.KINDS[kind], oid, decision, reason)
    return RedirectResponse(f"/inventory/{kind}/{oid}", 303)


# ── API ───────────────────────────────────────────────────────────────────────────────────────
class DecisionIn(BaseModel):
    decision: Literal["keep", "merge", "remove", "exempt"]
    reason: str = Field(min_length=1, max_length=2000)


@api.get("/inventory/{kind}", responses={401: {}, 403: {}})
def inventory_api(
    request: Request,
    kind: Kind,
    q: Annotated[str, Query(max_length=100)] = "",
    unit: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    registered: Literal["", "yes", "no"] = "",
    recommendation: Annotated[str, Query(max_length=16)] = "",
    sort: Annotated[str, Query(max_length=16)] = "name",
    order: Literal["asc", "desc"] = "asc",
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
    p: Principal = Depends(need(*VIEWERS)),
):
    """Groups, apps or accounts in the caller's scope, filtered, sorted and paged."""
    f = _filters(q, unit, status, registered, recommendation, sort, order)
    otype = services.KINDS[kind]
    key = ("inventory", otype, scope_key(p), tuple(sorted(f.items())), page, per_page)
    return cached_json(request, key, lambda: _list(request, p, otype, f, page, per_page).as_json())


@api.get("/inventory/{kind}/{oid}", responses={401: {}, 403: {}, 404: {}})
def object_api(request: Request, kind: Kind, oid: str, p: Principal = Depends(need(*VIEWERS))):
    """One object with members, weekly activity, screening results and the recommendation."""
    otype = services.KINDS[kind]
    lake = ("memberships", "indicators", "messages") if otype == "group" else ()
    return cached_json(
        request, ("object", otype, oid, scope_key(p)), lambda: _detail(request, p, otype, oid), lake=lake
    )


@api.post("/inventory/{kind}/{oid}/decision", responses={401: {}, 403: {}, 404: {}})
def decide_api(
    request: Request, kind: Kind, oid: str, body: DecisionIn, p: Principal = Depends(need(*DECIDERS))
):
    """Record the office's decision (keep / merge / remove / exempt) with its reason; audited."""
    return _decide(request, p, services.KINDS[kind], oid, body.decision, body.reason)
