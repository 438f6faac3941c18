"""消息体检: paste a draft, pick the target groups and the send time; see each problem with its
rule, source and a concrete alternative (analysis/precheck.py)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from zhijian.analysis.precheck import Prechecker, PrecheckError
from zhijian.store.models import Group
from zhijian.web.auth import Principal, object_clause
from zhijian.web.common import ctx_of, need, render

log = logging.getLogger(__name__)
router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["消息体检"])


def checker(request: Request) -> Prechecker:
    return _app_checker(request.app)


def _app_checker(app) -> Prechecker:
    """The app's one draft checker, made on first use."""
    st = app.state
    if getattr(st, "prechecker", None) is None:
        st.prechecker = Prechecker(st.zj.ws)
    return st.prechecker


#: a draft that passes through every part of the check (labels, urgency, deadline)
WARM_UP_DRAFT = "请各村于今天下午5点前报送材料，收到请回复"


def warm_up(app) -> threading.Thread:
    """Check a draft twice in the background, so that the server builds the check's queries now and
    not on the first cadre's draft (2.6–4.3 s on the 1M demo county; later drafts take 0.4–0.6 s).
    Twice: a prepared query runs through Ibis the first time and compiles its SQL at the second
    (lake.prepared). For the server (``web.app.serve``), not for every app: tests build many. A
    failure is logged: the first draft then builds the queries itself, as without the warm-up.
    Nothing is written anywhere."""
    pc = _app_checker(app)

    def run() -> None:
        try:
            for _ in range(2):
                pc.check(WARM_UP_DRAFT)
        except Exception as e:  # noqa: BLE001 - the server runs on without the warm-up
            log.warning("消息体检预热失败（首次体检时再构建查询）: %s", e)

    t = threading.Thread(target=run, name="zhijian-precheck-warm-up", daemon=True)
    t.start()
    return t


def _my_groups(request: Request, p: Principal) -> list[dict]:
    with ctx_of(request).read() as s:
        rows = s.execute(
            select(Group.id, Group.name)
            .where(object_clause(p, Group), Group.status == "active")
            .order_by(Group.name)
            .limit(1000)
        ).all()
    return [{"id": i, "name": n} for i, n in rows]


def _run(
    request: Request, p: Principal, text: str, group_ids: list[str], send_at: dt.datetime | None
) -> dict:
    visible = {g["id"] for g in _my_groups(request, p)}
    bad = [g for g in group_ids if g not in visible]
    if bad:
        raise HTTPException(404, "目标群不存在，或不在您的权限范围内")
    try:
        return checker(request).check(text, group_ids, send_at)
    except PrecheckError as e:
        raise HTTPException(422, e.zh) from None


def _parse_local(v: str) -> dt.datetime | None:
    if not v:
        return None
    try:
        return dt.datetime.fromisoformat(v.replace(" ", "T"))
    except ValueError as e:
        raise HTTPException(422, "发送时间格式应为 YYYY-MM-DDTHH:MM") from e


@router.get("/precheck", include_in_schema=False)
def precheck_page(request: Request, p: Principal = Depends(need())):
    now = dt.datetime.now().replace(second=0, microsecond=0)
    return render(
        request,
        "precheck.html",
        groups=_my_groups(request, p),
        result=None,
        text="",
        chosen=[],
        send_at=now.isoformat(timespec="minutes"),
        error="",
    )


@router.post("/precheck", include_in_schema=False)
def precheck_submit(
    request: Request,
    text: Annotated[str, Form(max_length=20000)] = "",
    group_ids: Annotated[list[str] | None, Form()] = None,
    send_at: Annotated[str, Form(max_length=32)] = "",
    p: Principal = Depends(need()),
):
    group_ids = [g for g in (group_ids or []) if g][:20]
    groups = _my_groups(request, p)
    try:
        result = _run(request, p, text, group_ids, _parse_local(send_at))
        err = ""
    except HTTPException as e:
        result, err = None, e.detail
    return render(
        request,
        "precheck.html",
        status_code=200 if not err else 422,
        groups=groups,
        result=result,
        text=text,
        chosen=group_ids,
        send_at=send_at,
        error=err,
    )


class PrecheckIn(BaseModel):
    text: str = Field(min_length=1, max_length=5000)
    group_ids: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=20)
    send_at: dt.datetime | None = Field(None, description="本地时间（不带时区），缺省为现在")


@api.post("/precheck", responses={401: {}, 403: {}, 404: {}, 422: {}})
def precheck_api(request: Request, body: PrecheckIn, p: Principal = Depends(need())):
    """Check a draft message: problems with rule, source and a concrete alternative."""
    send_at = body.send_at.replace(tzinfo=None) if body.send_at else None
    return _run(request, p, body.text, body.group_ids, send_at)
