"""线索征集: the anonymous clue channel (no login, no cookie, receipt only in request bodies) and
the office's side (减负办: triage into a finding, reply, close with a reason, link same matter).

Anonymity: nothing here reads the user agent; the client address is used only as an in-memory,
HMAC-keyed rate-limit key (clues/ratelimit.py); the public pages set no cookie; the receipt never
appears in a URL (follow-up is a POST whose body carries it, and the page URL does not change).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from zhijian.clues import receipts, service
from zhijian.clues.batcher import SubmitBatcher
from zhijian.clues.images import ImageRejected
from zhijian.clues.ratelimit import ClueLimiter
from zhijian.web import taxonomy
from zhijian.web.auth import Principal
from zhijian.web.common import ctx_of, need, not_found, render

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["线索征集"])
OFFICE = service.OFFICE_ROLES

#: Anonymous endpoints: they rely on no cookie, so there is nothing for CSRF to protect.
CSRF_EXEMPT = {
    ("POST", "/clues"),
    ("POST", "/clues/follow"),
    ("POST", "/clues/follow/message"),
    ("POST", "/api/v1/clues"),
    ("POST", "/api/v1/clues/lookup"),
    ("POST", "/api/v1/clues/messages"),
}


def limiter(request: Request) -> ClueLimiter:
    st = request.app.state
    if getattr(st, "clue_limiter", None) is None:
        st.clue_limiter = ClueLimiter.from_policy()
    return st.clue_limiter


def _client(request: Request) -> str:
    return limiter(request).client(request.client.host if request.client else None)


def _too_many() -> HTTPException:
    return HTTPException(429, "提交过于频繁，请稍后再试")


# ── shared reporter-side logic ───────────────────────────────────────────────────────────────
async def _read_images(files: list[Any]) -> list[bytes]:
    lim = receipts.policy()["limits"]
    out = []
    files = [f for f in files if isinstance(f, UploadFile) and (f.filename or f.size)]
    if len(files) > lim["max_images"]:
        raise service.ClueError(f"最多上传 {lim['max_images']} 张截图", "too many images")
    for f in files:
        data = await f.read(lim["max_image_bytes"] + 1)
        if len(data) > lim["max_image_bytes"]:
            raise ImageRejected(
                f"每张截图不能超过 {lim['max_image_bytes'] // (1024 * 1024)} MB", "image too large"
            )
        if data:
            out.append(data)
    return out


def batcher(request: Request) -> SubmitBatcher:
    st = request.app.state
    if getattr(st, "clue_batcher", None) is None:
        st.clue_batcher = SubmitBatcher(ctx_of(request))
    return st.clue_batcher


def _store(request: Request, nc: service.NewClue, images: list[bytes]) -> str:
    """Validate, re-encode, hash (in this worker thread, in parallel), then store through the group
    commit (returns once committed). Returns the receipt."""
    c = ctx_of(request)
    nc = service.validate(nc)
    clean = service.prepare_images(images)
    rh = service.make_receipt(c.ws.root, c.ws.config.policy.clues.receipt_digits)
    batcher(request).submit(nc, clean, rh)
    return rh[0]


async def _submit(request: Request, fields: dict[str, Any], files: list[Any]) -> str:
    lim = limiter(request)
    key = _client(request)
    if not lim.allowed("submit", key) or not lim.allowed("submit_global"):
        raise _too_many()
    nc = service.NewClue(
        category=str(fields.get("category") or ""),
        object_type=str(fields.get("object_type") or ""),
        object_name=str(fields.get("object_name") or ""),
        unit=str(fields.get("unit") or ""),
        description=str(fields.get("description") or ""),
        contact=str(fields.get("contact") or "") or None,
    )
    images = await _read_images(files)
    receipt = await run_in_threadpool(_store, request, nc, images)
    lim.hit("submit", key)
    lim.hit("submit_global")
    return receipt


def _lookup(request: Request, receipt: str) -> dict | None:
    c = ctx_of(request)
    lim = limiter(request)
    key = _client(request)
    if not lim.allowed("lookup_fail", key):
        raise _too_many()
    with c.read() as s:
        clue = service.find(s, c.ws.root, receipt)
        if clue is None:
            lim.hit("lookup_fail", key)
            return None
        return service.reporter_view(s, clue)


def _follow_up(request: Request, receipt: str, body: str) -> dict | None:
    c = ctx_of(request)
    lim = limiter(request)
    key = _client(request)
    if not lim.allowed("lookup_fail", key) or not lim.hit("message", key):
        raise _too_many()
    with c.write() as s:
        clue = service.find(s, c.ws.root, receipt)
        if clue is None:
            lim.hit("lookup_fail", key)
            return None
        service.add_reporter_message(s, clue, body)
        return service.reporter_view(s, clue)


def _form_context(request: Request) -> dict:
    from sqlalchemy import select

    from zhijian.store.models import Account, App, Group, Unit

    c = ctx_of(request)
    names: dict[str, list[str]] = {}
    with c.read() as s:
        for k, model in (("group", Group), ("app", App), ("account", Account)):
            names[k] = list(
                s.execute(
                    select(model.name).where(model.status == "active").order_by(model.name).limit(2000)
                ).scalars()
            )
        units = list(s.execute(select(Unit.name).order_by(Unit.path).limit(2000)).scalars())
    return {
        "categories": taxonomy.categories(),
        "object_types": service.OBJECT_TYPES,
        "names": names,
        "units": units,
        "limits": receipts.policy()["limits"],
    }


# ── public pages ─────────────────────────────────────────────────────────────────────────────
@router.get("/clues", include_in_schema=False)
def clue_form(request: Request):
    return render(request, "clue_form.html", error="", f={}, **_form_context(request))


@router.post("/clues", include_in_schema=False)
async def clue_form_submit(request: Request):
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    files = form.getlist("screenshots")
    try:
        receipt = await _submit(request, fields, files)
    except (service.ClueError, ImageRejected) as e:
        return render(
            request, "clue_form.html", status_code=400, error=e.zh, f=fields, **_form_context(request)
        )
    except HTTPException as e:
        return render(
            request,
            "clue_form.html",
            status_code=e.status_code,
            error=e.detail,
            f=fields,
            **_form_context(request),
        )
    return render(request, "clue_receipt.html", status_code=201, receipt=receipts.formatted(receipt))


@router.get("/clues/follow", include_in_schema=False)
def follow_form(request: Request):
    return render(request, "clue_follow.html", view=None, error="", receipt="")


@router.post("/clues/follow", include_in_schema=False)
def follow_submit(request: Request, receipt: Annotated[str, Form(max_length=64)]):
    try:
        view = _lookup(request, receipt)
    except HTTPException as e:
        return render(
            request, "clue_follow.html", status_code=e.status_code, view=None, error=e.detail, receipt=""
        )
    if view is None:
        return render(
            request,
            "clue_follow.html",
            status_code=404,
            view=None,
            error="回执无效，请核对后重新输入",
            receipt="",
        )
    return render(request, "clue_follow.html", view=view, error="", receipt=receipt)


@router.post("/clues/follow/message", include_in_schema=False)
def follow_message(
    request: Request,
    receipt: Annotated[str, Form(max_length=64)],
    body: Annotated[str, Form(max_length=20000)] = "",
):
    try:
        view = _follow_up(request, receipt, body)
    except service.ClueError as e:
        view = _lookup(request, receipt)
        return render(
            request,
            "clue_follow.html",
            status_code=400,
            view=view,
            error=e.zh,
            receipt=receipt if view else "",
        )
    except HTTPException as e:
        return render(
            request, "clue_follow.html", status_code=e.status_code, view=None, error=e.detail, receipt=""
        )
    if view is None:
        return render(
            request,
            "clue_follow.html",
            status_code=404,
            view=None,
            error="回执无效，请核对后重新输入",
            receipt="",
        )
    return render(request, "clue_follow.html", view=view, error="", receipt=receipt, sent=True)


# ── public API ───────────────────────────────────────────────────────────────────────────────
_CLUE_SCHEMA = {
    "type": "object",
    "required": ["category", "object_type", "description"],
    "properties": {
        "category": {"type": "string", "description": "问题类别（分类编号，如 GROUP_ROLLCALL_INSTANT）"},
        "object_type": {"type": "string", "enum": list(service.OBJECT_TYPES)},
        "object_name": {"type": "string", "maxLength": 200},
        "unit": {"type": "string", "maxLength": 200},
        "description": {"type": "string", "maxLength": 5000},
        "contact": {"type": "string", "maxLength": 200},
    },
}


@api.post(
    "/clues",
    status_code=201,
    responses={201: {"description": '{"receipt": "16 位回执"}'}, 400: {}, 413: {}, 415: {}, 422: {}, 429: {}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _CLUE_SCHEMA},
                "multipart/form-data": {
                    "schema": {
                        **_CLUE_SCHEMA,
                        "properties": {
                            **_CLUE_SCHEMA["properties"],
                            "screenshots": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        },
                    }
                },
            },
        }
    },
)
async def clue_api_submit(request: Request):
    """Submit an anonymous clue (JSON, or multipart with ``screenshots``). No login, no cookie. The
    receipt is returned once; only its Argon2 hash is stored."""
    ctype = request.headers.get("content-type", "")
    try:
        if ctype.startswith("application/json"):
            try:
                body = json.loads(await request.body() or b"null")
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise HTTPException(422, "请求体不是合法的 JSON") from None
            if not isinstance(body, dict) or not all(isinstance(v, str | None) for v in body.values()):
                raise HTTPException(422, "请求体应为字段均为字符串的 JSON 对象")
            receipt = await _submit(request, body, [])
        elif ctype.startswith("multipart/form-data"):
            form = await request.form()
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            receipt = await _submit(request, fields, form.getlist("screenshots"))
        else:
            raise HTTPException(415, "需要 application/json 或 multipart/form-data")
    except ImageRejected as e:
        raise HTTPException(400, e.zh) from None
    except service.ClueError as e:
        raise HTTPException(422, e.zh) from None
    return JSONResponse({"receipt": receipt}, status_code=201)


class LookupIn(BaseModel):
    receipt: str = Field(min_length=1, max_length=64)


class MessageIn(BaseModel):
    receipt: str = Field(min_length=1, max_length=64)
    body: str = Field(min_length=1, max_length=20000)


@api.post("/clues/lookup", responses={404: {}, 429: {}})
def clue_api_lookup(request: Request, body: LookupIn):
    """Status and the office's replies of the clue with this receipt (the receipt travels in the body only)."""
    view = _lookup(request, body.receipt)
    if view is None:
        raise HTTPException(404, "回执无效")
    return view


@api.post("/clues/messages", status_code=201, responses={404: {}, 422: {}, 429: {}})
def clue_api_message(request: Request, body: MessageIn):
    """The reporter adds a follow-up message to their clue."""
    try:
        view = _follow_up(request, body.receipt, body.body)
    except service.ClueError as e:
        raise HTTPException(422, e.zh) from None
    if view is None:
        raise HTTPException(404, "回执无效")
    return view


# ── office side ──────────────────────────────────────────────────────────────────────────────
def _purge(request: Request) -> None:
    c = ctx_of(request)
    with c.write() as s:
        service.purge_expired(s, c.ws.attachments, c.ws.config.policy.clues.retention_days)


def _office_units(request: Request, p: Principal) -> list[dict]:
    from zhijian.web import services

    with ctx_of(request).read() as s:
        return services.visible_units(s, p)


@router.get("/office/clues", include_in_schema=False)
def office_list_page(
    request: Request, status: str = "", category: str = "", p: Principal = Depends(need(*OFFICE))
):
    _purge(request)
    with ctx_of(request).read() as s:
        rows = service.office_list(s, status or None, category or None)
    return render(
        request,
        "clue_office_list.html",
        rows=rows,
        status=status,
        category=category,
        STATUS=service.STATUS_ZH,
        categories=taxonomy.categories(),
    )


@router.get("/office/clues/{clue_id}", include_in_schema=False)
def office_detail_page(request: Request, clue_id: str, p: Principal = Depends(need(*OFFICE))):
    with ctx_of(request).read() as s:
        d = service.office_detail(s, clue_id)
    if d is None:
        raise not_found()
    return render(
        request,
        "clue_office_detail.html",
        d=d,
        units=_office_units(request, p),
        error="",
        retention=ctx_of(request).ws.config.policy.clues.retention_days,
    )


def _office_act(request: Request, p: Principal, clue_id: str, action: str, data: dict) -> dict:
    c = ctx_of(request)
    try:
        with c.write() as s:
            if action == "reply":
                service.reply(s, p.username, clue_id, data.get("body", ""))
                return {"ok": True}
            if action == "triage":
                fid = service.triage(
                    s,
                    p.username,
                    clue_id,
                    data.get("title", ""),
                    data.get("summary", ""),
                    data.get("unit_id") or None,
                    data.get("severity") or "medium",
                )
                return {"ok": True, "finding_id": fid}
            if action == "close":
                service.close(s, p.username, clue_id, data.get("reason", ""))
                return {"ok": True}
            if action == "link":
                mid = service.link(s, p.username, clue_id, data.get("other_id", ""))
                return {"ok": True, "matter_id": mid}
    except service.ClueError as e:
        if "不存在" in e.zh and action != "link":
            raise not_found() from None
        raise HTTPException(422, e.zh) from None
    raise HTTPException(422, "未知的操作")


@router.post("/office/clues/{clue_id}/{action}", include_in_schema=False)
async def office_action_form(
    request: Request, clue_id: str, action: str, p: Principal = Depends(need(*OFFICE))
):
    form = await request.form()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        res = await run_in_threadpool(_office_act, request, p, clue_id, action, data)
    except HTTPException as e:
        if e.status_code != 422:
            raise
        d = await run_in_threadpool(_detail_or_404, request, clue_id)
        return render(
            request,
            "clue_office_detail.html",
            status_code=422,
            d=d,
            units=await run_in_threadpool(_office_units, request, p),
            error=e.detail,
            retention=ctx_of(request).ws.config.policy.clues.retention_days,
        )
    del res
    return RedirectResponse(f"/office/clues/{clue_id}", 303)


def _detail_or_404(request: Request, clue_id: str) -> dict:
    with ctx_of(request).read() as s:
        d = service.office_detail(s, clue_id)
    if d is None:
        raise not_found()
    return d


@router.get("/office/clues/{clue_id}/attachments/{att_id}", include_in_schema=False)
def office_attachment(request: Request, clue_id: str, att_id: str, p: Principal = Depends(need(*OFFICE))):
    return _attachment(request, clue_id, att_id)


def _attachment(request: Request, clue_id: str, att_id: str):
    c = ctx_of(request)
    with c.read() as s:
        r = service.attachment_path(s, c.ws.attachments, clue_id, att_id)
    if r is None:
        raise not_found()
    path, media = r
    return FileResponse(
        path, media_type=media, filename=f"screenshot{path.suffix}", content_disposition_type="inline"
    )


class OfficeActionIn(BaseModel):
    body: str = Field("", max_length=5000)
    title: str = Field("", max_length=500)
    summary: str = Field("", max_length=5000)
    unit_id: str | None = Field(None, max_length=64)
    severity: str = Field("medium", max_length=8)
    reason: str = Field("", max_length=2000)
    other_id: str = Field("", max_length=32)


@api.get("/office/clues", responses={401: {}, 403: {}})
def office_list_api(
    request: Request, status: str = "", category: str = "", p: Principal = Depends(need(*OFFICE))
):
    """Clues for the office (dates only, never a time; no reporter metadata exists)."""
    _purge(request)
    with ctx_of(request).read() as s:
        return {"items": service.office_list(s, status or None, category or None)}


@api.get("/office/clues/{clue_id}", responses={401: {}, 403: {}, 404: {}})
def office_detail_api(request: Request, clue_id: str, p: Principal = Depends(need(*OFFICE))):
    return _detail_or_404(request, clue_id)


@api.post("/office/clues/{clue_id}/{action}", responses={401: {}, 403: {}, 404: {}, 422: {}})
def office_action_api(
    request: Request, clue_id: str, action: str, body: OfficeActionIn, p: Principal = Depends(need(*OFFICE))
):
    """``action``: reply (body), triage (title, summary, unit_id, severity), close (reason), link (other_id)."""
    _detail_or_404(request, clue_id)
    return _office_act(request, p, clue_id, action, body.model_dump())


@api.get("/office/clues/{clue_id}/attachments/{att_id}", responses={401: {}, 403: {}, 404: {}})
def office_attachment_api(request: Request, clue_id: str, att_id: str, p: Principal = Depends(need(*OFFICE))):
    return _attachment(request, clue_id, att_id)
