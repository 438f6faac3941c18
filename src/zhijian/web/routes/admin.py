"""设置 (policy values read-only, users) and 审计日志."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from zhijian.store import audit
from zhijian.store.models import User
from zhijian.web import services
from zhijian.web.auth import AuthError, Principal, create_user, generate_password, hash_password, user_public
from zhijian.web.common import DbId, ctx_of, need, render

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["设置与审计"])
AUDITORS = ("admin", "supervisor")


@router.get("/settings", include_in_schema=False)
def settings_page(request: Request, p: Principal = Depends(need())):
    c = ctx_of(request)
    users = units = None
    if p.role == "admin":
        with c.read() as s:
            users = services.list_users(s)
            units = services.visible_units(s, p)
    return render(
        request,
        "settings.html",
        policy=services.policy_rows(c.ws.config),
        users=users,
        units=units,
        created=request.query_params.get("created"),
        error="",
    )


def _create(
    request: Request,
    p: Principal,
    username: str,
    role: str,
    unit_id: str | None,
    person_id: str | None,
    display_name: str,
) -> tuple[dict, str]:
    pw = generate_password()
    try:
        with ctx_of(request).write() as s:
            u = create_user(
                s,
                username,
                role,
                pw,
                unit_id=unit_id or None,
                person_id=person_id or None,
                display_name=display_name,
                actor=p.username,
            )
            return user_public(u), pw
    except AuthError as e:
        raise HTTPException(422, e.zh) from e


@router.post("/settings/users", include_in_schema=False)
def create_user_form(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=16)],
    unit_id: Annotated[str, Form(max_length=64)] = "",
    person_id: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=100)] = "",
    p: Principal = Depends(need("admin")),
):
    c = ctx_of(request)
    try:
        u, pw = _create(request, p, username, role, unit_id, person_id, display_name)
    except HTTPException as e:
        with c.read() as s:
            users, units = services.list_users(s), services.visible_units(s, p)
        return render(
            request,
            "settings.html",
            status_code=422,
            policy=services.policy_rows(c.ws.config),
            users=users,
            units=units,
            created=None,
            error=e.detail,
        )
    with c.read() as s:
        users, units = services.list_users(s), services.visible_units(s, p)
    # The generated password is shown once, in this response only.
    return render(
        request,
        "settings.html",
        policy=services.policy_rows(c.ws.config),
        users=users,
        units=units,
        created={"username": u["username"], "password": pw},
        error="",
    )


def _set_active(request: Request, p: Principal, uid: int, active: bool | None, reset: bool) -> dict:
    c = ctx_of(request)
    pw = None
    with c.write() as s:
        u = s.get(User, uid)
        if u is None:
            raise HTTPException(404, "用户不存在")
        if u.id == p.user_id and active is False:
            raise HTTPException(422, "不能停用自己的账号")
        before = user_public(u)
        if active is not None:
            u.active = active
        if reset:
            pw = generate_password()
            u.password_hash = hash_password(pw)
        audit.record(
            s,
            p.username,
            "user.reset_password" if reset else "user.update",
            "user",
            str(u.id),
            before,
            user_public(u),
        )
    if reset or active is False:
        c.sessions.drop_user(uid)
    return {"id": uid, "password": pw}


@router.post("/settings/users/{uid}/toggle", include_in_schema=False)
def toggle_user(request: Request, uid: DbId, p: Principal = Depends(need("admin"))):
    with ctx_of(request).read() as s:
        u = s.get(User, uid)
        if u is None:
            raise HTTPException(404, "用户不存在")
        active = not u.active
    _set_active(request, p, uid, active, False)
    return RedirectResponse("/settings", 303)


@router.post("/settings/users/{uid}/reset", include_in_schema=False)
def reset_user(request: Request, uid: DbId, p: Principal = Depends(need("admin"))):
    r = _set_active(request, p, uid, None, True)
    c = ctx_of(request)
    with c.read() as s:
        users, units = services.list_users(s), services.visible_units(s, p)
        name = s.get(User, uid).username
    return render(
        request,
        "settings.html",
        policy=services.policy_rows(c.ws.config),
        users=users,
        units=units,
        created={"username": name, "password": r["password"]},
        error="",
    )


@router.get("/audit", include_in_schema=False)
def audit_page(
    request: Request,
    page: Annotated[int, Query(ge=1, le=1000000)] = 1,
    q: str = "",
    verify: str = "",
    p: Principal = Depends(need(*AUDITORS)),
):
    with ctx_of(request).read() as s:
        pg = services.list_audit(s, page, q=q.strip()[:100])
        v = services.verify_audit(s) if verify else None
    return render(request, "audit.html", pg=pg, q=q, v=v)


# ── API ───────────────────────────────────────────────────────────────────────────────────────
class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    role: Literal["admin", "supervisor", "liaison", "owner", "cadre"]
    unit_id: str | None = Field(None, max_length=64)
    person_id: str | None = Field(None, max_length=64)
    display_name: str = Field("", max_length=100)


class UserPatch(BaseModel):
    active: bool | None = None
    reset_password: bool = False


@api.get("/policy", responses={401: {}})
def policy_api(request: Request, p: Principal = Depends(need())):
    """Every policy value with its meaning and source (read-only)."""
    return services.policy_rows(ctx_of(request).ws.config)


@api.get("/units", responses={401: {}})
def units_api(request: Request, p: Principal = Depends(need())):
    """The units the caller may see (their scope)."""
    with ctx_of(request).read() as s:
        return services.visible_units(s, p)


@api.get("/users", responses={401: {}, 403: {}})
def users_api(request: Request, p: Principal = Depends(need("admin"))):
    with ctx_of(request).read() as s:
        return services.list_users(s)


@api.post("/users", status_code=201, responses={401: {}, 403: {}, 422: {}})
def create_user_api(request: Request, body: UserIn, p: Principal = Depends(need("admin"))):
    """Create a user with a generated password, returned once in this response."""
    u, pw = _create(request, p, body.username, body.role, body.unit_id, body.person_id, body.display_name)
    return {"user": u, "password": pw}


@api.patch("/users/{uid}", responses={401: {}, 403: {}, 404: {}, 422: {}})
def patch_user_api(request: Request, uid: DbId, body: UserPatch, p: Principal = Depends(need("admin"))):
    """Deactivate / reactivate a user, or reset their password (the new one is returned once)."""
    return _set_active(request, p, uid, body.active, body.reset_password)


@api.get("/audit", responses={401: {}, 403: {}})
def audit_api(
    request: Request,
    page: Annotated[int, Query(ge=1, le=1000000)] = 1,
    q: Annotated[str, Query(max_length=100)] = "",
    p: Principal = Depends(need(*AUDITORS)),
):
    with ctx_of(request).read() as s:
        return services.list_audit(s, page, q=q.strip()).as_json()


@api.get("/audit/verify", responses={401: {}, 403: {}})
def audit_verify_api(request: Request, p: Principal = Depends(need(*AUDITORS))):
    """Recompute the hash chain: ``ok`` and the first broken entry."""
    with ctx_of(request).read() as s:
        return services.verify_audit(s)
