"""问题线索: findings list, detail with evidence in context, the rectification workflow,
comments and attachments."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from zhijian.store.models import FINDING_STATUSES, FindingEvent, Unit
from zhijian.store.workflow import TRANSITIONS, WorkflowError, apply
from zhijian.web import services, taxonomy
from zhijian.web.auth import Principal, units_clause
from zhijian.web.cache import scope_key
from zhijian.web.common import (
    DbId,
    cached_json,
    ctx_of,
    need,
    not_found,
    parse_date,
    render,
    visible_units,
    xlsx_response,
)
from zhijian.web.lakeview import EVIDENCE_DATASET

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["问题线索"])

VIEWERS = ("admin", "supervisor", "liaison", "owner")
MAX_ATTACHMENT = 10 * 1024 * 1024
ALLOWED_EXT = {
    ".png",
    ".jpg",
    ".jpeg",
    ".webp",
    ".pdf",
    ".docx",
    ".xlsx",
    ".doc",
    ".xls",
    ".txt",
    ".zip",
    ".ofd",
}

COLUMNS = [
    ("id", "编号"),
    ("title", "问题"),
    ("category_zh", "类别"),
    ("severity_zh", "严重程度"),
    ("unit_name", "涉及单位"),
    ("status_zh", "状态"),
    ("assignee_unit_name", "承办单位"),
    ("deadline", "整改期限"),
    ("overdue", "已逾期"),
    ("period", "期间"),
    ("rule_id", "规则"),
    ("object_type", "对象类型"),
    ("object_id", "对象编号"),
]


def _filters(category, unit, status, overdue, q) -> dict:
    return {
        "category": category or None,
        "unit": unit or None,
        "status": status or None,
        "overdue": overdue in ("1", "true", "yes", True),
        "q": (q or "").strip()[:100],
    }


@router.get("/findings", include_in_schema=False)
def findings_page(
    request: Request,
    category: str = "",
    unit: str = "",
    status: str = "",
    overdue: str = "",
    q: str = "",
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    format: str = "",
    p: Principal = Depends(need(*VIEWERS)),
):
    f = _filters(category, unit, status, overdue, q)
    c = ctx_of(request)
    if format == "xlsx":
        with c.read() as s:
            return xlsx_response("问题线索", COLUMNS, services.export_findings(s, p, **f))
    pg = _list(request, p, f, page, services.PER_PAGE)
    units = visible_units(request, p)
    tpl = "_findings_table.html" if request.headers.get("hx-request") == "true" else "findings_list.html"
    return render(
        request,
        tpl,
        pg=pg,
        f=f,
        units=units,
        categories=taxonomy.categories(),
        statuses=FINDING_STATUSES,
    )


def _list(request: Request, p: Principal, f: dict, page: int, per_page: int) -> services.Page:
    c = ctx_of(request)

    def compute() -> services.Page:
        with c.read() as s:
            return services.list_findings(s, p, page=page, per_page=per_page, **f)

    return c.cached(("findings", scope_key(p), tuple(sorted(f.items())), page, per_page), compute)


def _load(request: Request, p: Principal, fid: str, lake: bool = True) -> dict:
    """A finding's detail, computed once per store and lake version for this role and scope."""
    c = ctx_of(request)
    return c.cached(
        ("finding", fid, p.role, scope_key(p), lake),
        lambda: _compute(request, p, fid, lake),
        lake=("messages", EVIDENCE_DATASET) if lake else (),
    )


def _compute(request: Request, p: Principal, fid: str, lake: bool) -> dict:
    c = ctx_of(request)
    with c.read() as s:
        f = services.get_finding(s, p, fid)
        if f is None:
            raise not_found()
        d = services.finding_detail(s, p, f)
        d["assignable_units"] = (
            services.visible_units(s, p) if any(a["action"] == "assign" for a in d["actions"]) else []
        )
    if lake:
        d["evidence_messages"] = c.lake.evidence(list((d["evidence"] or {}).get("message_ids") or []))
    tz = ZoneInfo(c.ws.config.workspace.timezone)
    for e in d["events"]:  # stored in UTC; shown in the workspace's zone
        e["at_local"] = (
            dt.datetime.fromisoformat(e["at"])
            .replace(tzinfo=dt.UTC)
            .astimezone(tz)
            .strftime("%Y-%m-%d %H:%M")
        )
    return d


@router.get("/findings/{fid}", include_in_schema=False)
def finding_page(request: Request, fid: str, p: Principal = Depends(need(*VIEWERS))):
    d = _load(request, p, fid)
    return render(request, "finding_detail.html", fd=d, today=dt.date.today().isoformat())


def _safe_name(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^0-9A-Za-z._\-\u4e00-\u9fff]", "_", name)[:80]
    return name or "file"


async def _save_attachment(request: Request, fid: str, upload: UploadFile | None) -> str | None:
    if upload is None or not upload.filename:
        return None
    name = _safe_name(upload.filename)
    ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if ext not in ALLOWED_EXT:
        raise HTTPException(422, f"不支持的附件类型（允许：{'、'.join(sorted(ALLOWED_EXT))}）")
    data = await upload.read(MAX_ATTACHMENT + 1)
    if len(data) > MAX_ATTACHMENT:
        raise HTTPException(413, "附件不能超过 10 MB")
    ws = ctx_of(request).ws
    rel = f"findings/{fid}/{uuid.uuid4().hex[:12]}_{name}"
    path = ws.attachments / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return rel


def _act(
    request: Request,
    p: Principal,
    fid: str,
    action: str,
    note: str,
    assignee_unit_id: str | None,
    deadline: dt.date | None,
    attachment: str | None,
) -> dict:
    t = TRANSITIONS.get(action)
    if t is None:
        raise HTTPException(422, "未知的操作")
    c = ctx_of(request)
    with c.write() as s:
        f = services.get_finding(s, p, fid)
        if f is None:
            raise not_found()
        if p.role not in t.roles:
            raise HTTPException(403, f"当前角色无权执行“{t.label}”")
        if p.role == "liaison" and action in ("start", "submit"):
            ok = (
                f.assignee_unit_id
                and s.execute(select(Unit.id).where(Unit.id == f.assignee_unit_id, units_clause(p))).first()
            )
            if not ok:
                raise HTTPException(403, "该问题未交办给本单位")
        if action == "assign" and assignee_unit_id:
            vis = s.execute(select(Unit.id).where(Unit.id == assignee_unit_id, units_clause(p))).first()
            if not vis:
                raise HTTPException(422, "承办单位不存在或不在权限范围内")
        try:
            ev = apply(
                s,
                f,
                action,
                actor=p.username,
                role=p.role,
                user_id=p.user_id,
                note=note,
                assignee_unit_id=assignee_unit_id,
                deadline=deadline,
                attachment=attachment,
            )
        except WorkflowError as e:
            s.rollback()
            raise HTTPException(409, e.zh) from e
        return {"id": f.id, "status": f.status, "event_id": ev.id}


@router.post("/findings/{fid}/action", include_in_schema=False)
async def finding_action_form(
    request: Request,
    fid: str,
    action: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=5000)] = "",
    assignee_unit_id: Annotated[str, Form(max_length=64)] = "",
    deadline: Annotated[str, Form(max_length=10)] = "",
    attachment: Annotated[UploadFile | None, File()] = None,
    p: Principal = Depends(need(*VIEWERS)),
):
    from starlette.concurrency import run_in_threadpool

    # scope check before writing anything to disk
    await run_in_threadpool(lambda: _visible_or_404(request, p, fid))
    rel = await _save_attachment(request, fid, attachment)
    await run_in_threadpool(
        _act, request, p, fid, action, note, assignee_unit_id or None, parse_date(deadline), rel
    )
    return RedirectResponse(f"/findings/{fid}", 303)


def _visible_or_404(request: Request, p: Principal, fid: str) -> None:
    with ctx_of(request).read() as s:
        if services.get_finding(s, p, fid) is None:
            raise not_found()


@router.get("/findings/{fid}/attachments/{event_id}", include_in_schema=False)
def attachment_download(request: Request, fid: str, event_id: DbId, p: Principal = Depends(need(*VIEWERS))):
    return _attachment(request, p, fid, event_id)


def _attachment(request: Request, p: Principal, fid: str, event_id: int):
    c = ctx_of(request)
    with c.read() as s:
        if services.get_finding(s, p, fid) is None:
            raise not_found()
        ev = s.get(FindingEvent, event_id)
        if ev is None or ev.finding_id != fid or not ev.attachment:
            raise not_found()
        rel = ev.attachment
    path = (c.ws.attachments / rel).resolve()
    if not path.is_relative_to(c.ws.attachments.resolve()) or not path.exists():
        raise not_found()
    return FileResponse(path, filename=path.name.split("_", 1)[-1], content_disposition_type="attachment")


# ── API ───────────────────────────────────────────────────────────────────────────────────────
class ActionIn(BaseModel):
    action: Literal["assign", "start", "submit", "verify", "reopen", "close", "comment"]
    note: str = Field("", max_length=5000)
    assignee_unit_id: str | None = Field(None, max_length=64)
    deadline: dt.date | None = None


@api.get("/findings", responses={401: {}, 403: {}})
def findings_api(
    request: Request,
    category: Annotated[str, Query(max_length=32)] = "",
    unit: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    overdue: bool = False,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
    p: Principal = Depends(need(*VIEWERS)),
):
    """Findings in the caller's scope (by the finding's unit, the assignee unit, or the owner's groups)."""
    f = _filters(category, unit, status, overdue, q)
    key = ("findings", scope_key(p), tuple(sorted(f.items())), page, per_page)
    return cached_json(request, key, lambda: _list(request, p, f, page, per_page).as_json())


@api.get("/findings/{fid}", responses={401: {}, 403: {}, 404: {}})
def finding_api(request: Request, fid: str, p: Principal = Depends(need(*VIEWERS))):
    """One finding: evidence (with the messages in context), rule, policy, history, allowed actions."""
    key = ("finding", fid, p.role, scope_key(p))
    return cached_json(request, key, lambda: _load(request, p, fid), lake=("messages", EVIDENCE_DATASET))


@api.post("/findings/{fid}/actions", responses={401: {}, 403: {}, 404: {}, 409: {}, 422: {}})
def finding_action_api(request: Request, fid: str, body: ActionIn, p: Principal = Depends(need(*VIEWERS))):
    """Fire a workflow transition (or add a comment); audited."""
    return _act(request, p, fid, body.action, body.note, body.assignee_unit_id, body.deadline, None)


@api.get("/findings/{fid}/attachments/{event_id}", responses={401: {}, 403: {}, 404: {}})
def attachment_api(request: Request, fid: str, event_id: DbId, p: Principal = Depends(need(*VIEWERS))):
    return _attachment(request, p, fid, event_id)
