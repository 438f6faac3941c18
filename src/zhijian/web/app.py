"""The FastAPI application factory and the server runner.

``create_app(ws)`` builds the app for a workspace: HTML pages (Jinja2, htmx, ECharts, all served
locally) and the JSON API under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``) with the same
permission checks. Later features (e.g. the anonymous clue channel) add routers to the returned
app and, for cookie-less anonymous endpoints, entries to ``app.state.zj.csrf_exempt``.
"""

from __future__ import annotations

import json
import logging
import os

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhijian.errors import ZhijianError
from zhijian.web.auth import RateLimiter
from zhijian.web.common import STATIC, TEMPLATES, WebContext, csrf_guard, is_api, render
from zhijian.web.lakeview import LakeView
from zhijian.web.services import IndicatorCache
from zhijian.web.sessions import StoreSessions

log = logging.getLogger("zhijian.web")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


_OUR_NAMES = {k.encode("latin-1") for k in SECURITY_HEADERS} | {b"cache-control"}
_PAGE_HEADERS = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()] + [
    (b"cache-control", b"no-store")
]
_STATIC_HEADERS = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()] + [
    (b"cache-control", b"public, max-age=3600")
]


class SecurityHeaders:
    """Pure ASGI middleware: security headers on every response; no caching of pages or API data."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope["path"].startswith("/static/")
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            # NUL never belongs in an id or a filter (and PostgreSQL rejects it in text)
            from starlette.responses import PlainTextResponse

            resp = PlainTextResponse("Not Found", status_code=404)
            for k, v in SECURITY_HEADERS.items():
                resp.headers[k] = v
            return await resp(scope, receive, send)

        extra = _STATIC_HEADERS if static else _PAGE_HEADERS

        async def send2(message):
            if message["type"] == "http.response.start":
                # replace any header of the same name, then append ours (raw, precomputed)
                raw = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in _OUR_NAMES]
                message["headers"] = raw + extra
            await send(message)

        await self.app(scope, receive, send2)


def create_app(
    ws,
    *,
    session_idle_seconds: float = 1800,
    session_max_age_seconds: float = 12 * 3600,
    login_limit: int = 5,
    login_window_seconds: float = 900,
) -> FastAPI:
    """The web application of workspace ``ws`` (a :class:`zhijian.workspace.Workspace`)."""
    from zhijian.web.routes import (
        account,
        admin,
        burden,
        clues,
        dashboard,
        findings,
        inventory,
        me,
        owner,
        precheck,
    )

    app = FastAPI(
        title="指尖 zhijian API",
        version="1",
        description="整治“指尖上的形式主义”工作平台的 JSON 接口。登录：POST /api/v1/auth/login，"
        "此后所有修改类请求需在 X-CSRF-Token 头中携带登录返回的 csrf_token。",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI would load scripts from a CDN; the schema is served instead
        redoc_url=None,
        dependencies=[Depends(csrf_guard)],
    )
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.auto_reload = False  # templates ship with the package: no stat() per render
    templates.env.globals["static_version"] = "1"
    #: Menu entries added by later features: (href, Chinese label, roles that see it).
    templates.env.globals["nav_extra"] = []
    app.state.zj = WebContext(
        ws=ws,
        sessions=StoreSessions(ws.store, session_idle_seconds, session_max_age_seconds),
        limiter=RateLimiter(login_limit, login_window_seconds),
        templates=templates,
        indicators=IndicatorCache(ws),
        lake=LakeView(ws),
        csrf_exempt={("POST", "/api/v1/auth/login")},
    )
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for mod in (account, dashboard, inventory, findings, burden, admin, clues, owner, me, precheck):
        app.include_router(mod.router)
        app.include_router(mod.api)
        app.state.zj.csrf_exempt |= getattr(mod, "CSRF_EXEMPT", set())

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if is_api(request) or request.url.path.startswith("/static/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        if exc.status_code == 401:
            from urllib.parse import quote

            return RedirectResponse(f"/login?next={quote(request.url.path)}", 303)
        return render(
            request, "error.html", status_code=exc.status_code, code=exc.status_code, message=exc.detail
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        if is_api(request):
            errs = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
            return JSONResponse({"detail": errs}, status_code=422)
        return render(
            request, "error.html", status_code=422, code=422, message="提交的内容不完整或格式不正确"
        )

    @app.exception_handler(OverflowError)
    async def overflow_error(request: Request, exc: OverflowError):
        # an integer the database cannot hold (SQLite raises this before the query runs)
        if is_api(request):
            return JSONResponse({"detail": "数值超出范围"}, status_code=400)
        return render(request, "error.html", status_code=400, code=400, message="数值超出范围")

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError):
        log.warning("rejected input the database cannot store: %s", type(exc.orig).__name__)
        if is_api(request):
            return JSONResponse({"detail": "提交的内容含有无法保存的字符"}, status_code=400)
        return render(
            request, "error.html", status_code=400, code=400, message="提交的内容含有无法保存的字符"
        )

    @app.exception_handler(ZhijianError)
    async def zhijian_error(request: Request, exc: ZhijianError):
        if is_api(request):
            return JSONResponse({"detail": exc.zh}, status_code=400)
        return render(request, "error.html", status_code=400, code=400, message=exc.zh)

    app.add_middleware(SecurityHeaders)
    return app


WORKSPACE_ENV = "ZHIJIAN_SERVE_WORKSPACE"
APP_KW_ENV = "ZHIJIAN_SERVE_APP_KW"


def app_from_env() -> FastAPI:
    """The app of the workspace named in ``ZHIJIAN_SERVE_WORKSPACE``: what each uvicorn worker
    process builds under ``zhijian serve --workers N``."""
    from zhijian.web.routes.precheck import warm_up
    from zhijian.workspace import open_workspace

    app = create_app(
        open_workspace(os.environ[WORKSPACE_ENV]), **json.loads(os.environ.get(APP_KW_ENV) or "{}")
    )
    warm_up(app)
    return app


def serve(ws, host: str = "127.0.0.1", port: int = 8000, workers: int = 1, **app_kw) -> None:
    """Run the app with uvicorn. The access log is off: it would record client addresses.

    ``workers`` > 1 runs that many processes. Sessions live in the store, so any process serves any
    user; the page caches follow the store's data version (web/cache.py); the login and clue rate
    limits stay in each process's memory (nothing about clients is written anywhere), so with N
    workers a client may get up to N times the per-process allowance."""
    import uvicorn

    common = dict(
        host=host, port=port, access_log=False, proxy_headers=True, server_header=False, log_level="warning"
    )
    if workers > 1:
        os.environ[WORKSPACE_ENV] = str(ws.root)
        os.environ[APP_KW_ENV] = json.dumps(app_kw)
        ws.close()
        uvicorn.run(f"{__name__}:app_from_env", factory=True, workers=workers, **common)
        return
    from zhijian.web.routes.precheck import warm_up

    app = create_app(ws, **app_kw)
    warm_up(app)
    uvicorn.Server(uvicorn.Config(app, **common)).run()
