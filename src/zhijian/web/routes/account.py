"""Login, logout, password change (pages and API)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from zhijian.store import audit
from zhijian.store.models import User
from zhijian.web.auth import Principal, password_problem, user_public, verify_password
from zhijian.web.common import COOKIE, ctx_of, need, principal_of, render, session_of

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["账号"])


def _cookie(request: Request, resp: Response, token: str) -> None:
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"
    resp.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=secure, path="/")


def _client_key(request: Request) -> str:
    # In-memory rate-limit key only; never stored or logged.
    return "c:" + (request.client.host if request.client else "-")


def _login(request: Request, username: str, password: str) -> tuple[int | None, str]:
    """(user id, '') on success, (None, Chinese reason) on failure."""
    c = ctx_of(request)
    keys = ("u:" + username.strip().lower(), _client_key(request))
    wait = c.limiter.blocked(*keys)
    if wait > 0:
        return None, f"登录失败次数过多，请 {int(wait // 60) + 1} 分钟后再试"
    with c.write() as s:
        u = s.execute(select(User).where(User.username == username.strip())).scalar_one_or_none()
        ok = verify_password(u.password_hash if u else None, password) and u is not None and u.active
        if not ok:
            c.limiter.fail(*keys)
            return None, "用户名或密码错误"
        c.limiter.reset(*keys)
        audit.record(s, u.username, "user.login", "user", str(u.id), None, None)
        return u.id, ""


def _safe_next(nxt: str | None) -> str:
    if not nxt or not nxt.startswith("/") or nxt.startswith("//") or urlparse(nxt).netloc or "\\" in nxt:
        return "/dashboard"
    return nxt


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str | None = None):
    if principal_of(request) is not None:
        return RedirectResponse(_safe_next(next), 303)
    sess = session_of(request)
    resp = None
    if sess is None:
        token, sess = ctx_of(request).sessions.create(None)
        request.state.websession = sess
        resp = render(request, "login.html", next=_safe_next(next), error="")
        _cookie(request, resp, token)
        return resp
    return render(request, "login.html", next=_safe_next(next), error="")


@router.post("/login", include_in_schema=False)
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form()] = "/dashboard",
):
    uid, err = _login(request, username, password)
    if uid is None:
        return render(
            request, "login.html", status_code=401, next=_safe_next(next), error=err, username=username
        )
    c = ctx_of(request)
    c.sessions.delete(request.cookies.get(COOKIE))  # rotate: no session fixation
    token, _ = c.sessions.create(uid)
    resp = RedirectResponse(_safe_next(next), 303)
    _cookie(request, resp, token)
    return resp


@router.post("/logout", include_in_schema=False)
def logout(request: Request):
    ctx_of(request).sessions.delete(request.cookies.get(COOKIE))
    resp = RedirectResponse("/login", 303)
    resp.delete_cookie(COOKIE, path="/")
    resp.headers["Clear-Site-Data"] = '"cookies", "storage"'
    return resp


@router.get("/account/password", include_in_schema=False)
def password_page(request: Request, p: Principal = Depends(need())):
    return render(request, "password.html", error="", done=False)


def _change_password(request: Request, p: Principal, old: str, new: str) -> str:
    problem = password_problem(new)
    if problem:
        return problem
    c = ctx_of(request)
    with c.write() as s:
        u = s.get(User, p.user_id)
        if not verify_password(u.password_hash, old):
            return "原密码不正确"
        from zhijian.web.auth import hash_password

        u.password_hash = hash_password(new)
        u.password_changed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        audit.record(s, p.username, "user.password", "user", str(u.id), None, None)
    return ""


@router.post("/account/password", include_in_schema=False)
def password_submit(
    request: Request,
    old_password: Annotated[str, Form(max_length=200)],
    new_password: Annotated[str, Form(max_length=200)],
    p: Principal = Depends(need()),
):
    err = _change_password(request, p, old_password, new_password)
    return render(request, "password.html", status_code=400 if err else 200, error=err, done=not err)


# ── API ───────────────────────────────────────────────────────────────────────────────────────
class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class LoginOut(BaseModel):
    user: dict
    csrf_token: str


class PasswordIn(BaseModel):
    old_password: str = Field(max_length=200)
    new_password: str = Field(max_length=200)


@api.post("/auth/login", response_model=LoginOut, responses={401: {}, 415: {}})
def api_login(request: Request, body: LoginIn, response: Response):
    """JSON login. Returns the CSRF token to send as ``X-CSRF-Token`` on state-changing calls."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(415, "需要 application/json")
    uid, err = _login(request, body.username, body.password)
    if uid is None:
        raise HTTPException(401, err)
    c = ctx_of(request)
    c.sessions.delete(request.cookies.get(COOKIE))
    token, sess = c.sessions.create(uid)
    _cookie(request, response, token)
    with c.read() as s:
        return {"user": user_public(s.get(User, uid)), "csrf_token": sess.csrf}


@api.post("/auth/logout", status_code=204, responses={403: {}})
def api_logout(request: Request):
    ctx_of(request).sessions.delete(request.cookies.get(COOKIE))
    resp = Response(status_code=204)
    resp.delete_cookie(COOKIE, path="/")
    return resp


@api.get("/me", responses={401: {}})
def api_me(request: Request, p: Principal = Depends(need())):
    sess = session_of(request)
    return {
        "id": p.user_id,
        "username": p.username,
        "display_name": p.display_name,
        "role": p.role,
        "unit_id": p.unit_id,
        "person_id": p.person_id,
        "csrf_token": sess.csrf if sess else None,
    }


@api.post("/me/password", status_code=204, responses={400: {}, 401: {}, 403: {}})
def api_password(request: Request, body: PasswordIn, p: Principal = Depends(need())):
    err = _change_password(request, p, body.old_password, body.new_password)
    if err:
        raise HTTPException(400, err)
    return Response(status_code=204)
