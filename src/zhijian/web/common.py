"""What every route module shares: the application context, the principal dependencies, CSRF,
template rendering and xlsx export."""

from __future__ import annotations

import datetime as dt
import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from zhijian.store.workflow import STATUS_ZH
from zhijian.web.auth import ROLE_ZH, Principal, RateLimiter, csrf_ok, load_principal

COOKIE = "zhijian_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
ALL_ROLES = ("admin", "supervisor", "liaison", "owner", "cadre")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
PRINCIPAL_TTL = 30.0  # seconds
#: An integer row id in a URL: bounded so that no database ever sees an out-of-range value.
DbId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


@dataclass
class WebContext:
    ws: Any  # zhijian.workspace.Workspace
    sessions: Any  # web.sessions.StoreSessions
    limiter: RateLimiter
    templates: Jinja2Templates
    indicators: Any  # services.IndicatorCache
    lake: Any  # lakeview.LakeView
    #: (method, path) pairs that take no CSRF token: JSON login, and anonymous endpoints of later issues
    #: (e.g. the clue channel) that never rely on a cookie.
    csrf_exempt: set[tuple[str, str]] = field(default_factory=set)
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    #: Store and lake versions and the page-data cache keyed by them (web/cache.py).
    versions: Any = None
    results: Any = None

    def __post_init__(self) -> None:
        from zhijian.web.cache import ResultCache, Versions

        if self.versions is None:
            self.versions = Versions(self.ws)
        if self.results is None:
            self.results = ResultCache()

    def cached(self, key: tuple, compute, *, store: bool = True, lake: tuple[str, ...] = ()) -> Any:
        """``compute()`` once per ``key`` and version of the store (when ``store``) and of the ``lake``
        datasets it reads; the value is shared between requests and must not be mutated."""
        from zhijian.web.cache import today_key

        v = (
            self.versions.store() if store else None,
            self.versions.lake(*lake) if lake else None,
            today_key(),
        )
        return self.results.get((key, v), compute)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.ws.store.session() as s:
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction; one at a time per process so SQLite never sees two writers."""
        try:
            with self.write_lock, self.ws.store.session() as s:
                yield s
        finally:
            if getattr(self, "versions", None) is not None:
                self.versions.bump()

    @property
    def min_group(self) -> int:
        return self.ws.config.policy.privacy.min_group_size


def json_bytes(data: Any) -> bytes:
    """What FastAPI's JSONResponse would send for ``data``."""
    import json

    from fastapi.encoders import jsonable_encoder

    return json.dumps(
        jsonable_encoder(data), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode()


def cached_json(request: Request, key: tuple, data, **versions: Any) -> Response:
    """A JSON response whose encoding is cached like the data it encodes (``data()`` is the cached
    data function; ``versions`` as for :meth:`WebContext.cached`)."""
    body = ctx_of(request).cached(("json", *key), lambda: json_bytes(data()), **versions)
    return Response(body, media_type="application/json")


def ctx_of(request: Request) -> WebContext:
    return request.app.state.zj


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def session_of(request: Request):
    if not hasattr(request.state, "websession"):
        request.state.websession = ctx_of(request).sessions.get(request.cookies.get(COOKIE))
    return request.state.websession


def principal_of(request: Request) -> Principal | None:
    if hasattr(request.state, "principal"):
        return request.state.principal
    sess = session_of(request)
    p = None
    if sess is not None and sess.user_id is not None:
        # Cached in the server-side session for a short while; deactivating a user or resetting their
        # password ends their sessions (StoreSessions.drop_user), so the cache never outlives access.
        cached = sess.data.get("principal")
        if cached is not None and time.monotonic() - cached[0] < PRINCIPAL_TTL:
            p = cached[1]
        else:
            with ctx_of(request).read() as s:
                p = load_principal(s, sess.user_id)
            sess.data["principal"] = (time.monotonic(), p)
    request.state.principal = p
    return p


def visible_units(request: Request, p: Principal) -> list[dict]:
    """The units the principal may see (for filters and pickers), once per store version."""
    from zhijian.web import services
    from zhijian.web.cache import scope_key

    c = ctx_of(request)

    def compute() -> list[dict]:
        with c.read() as s:
            return services.visible_units(s, p)

    return c.cached(("units", scope_key(p)), compute)


def need(*roles: str):
    """Dependency: a logged-in principal whose role is one of ``roles`` (401 / 403 otherwise)."""
    allowed = roles or ALL_ROLES

    def dep(request: Request) -> Principal:
        p = principal_of(request)
        if p is None:
            raise HTTPException(401, "请先登录")
        if p.role not in allowed:
            raise HTTPException(403, "当前角色无权访问")
        return p

    return dep


async def csrf_guard(request: Request) -> None:
    """Global dependency: every state-changing request carries the session's CSRF token."""
    if request.method not in UNSAFE:
        return
    if (request.method, request.url.path) in ctx_of(request).csrf_exempt:
        return
    token = request.headers.get(CSRF_HEADER)
    if not token:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            v = form.get(CSRF_FIELD)
            token = v if isinstance(v, str) else None
    if not csrf_ok(session_of(request), token):
        raise HTTPException(403, "安全校验失败（CSRF），请刷新页面后重试")


def not_found() -> HTTPException:
    return HTTPException(404, "未找到，或不在您的权限范围内")


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    c = ctx_of(request)
    sess = session_of(request)
    p = principal_of(request)
    base = {
        "me": p,
        "csrf": sess.csrf if sess else "",
        "workspace_name": c.ws.config.workspace.name,
        "STATUS_ZH": STATUS_ZH,
        "ROLE_ZH": ROLE_ZH,
        "path": request.url.path,
        "hx": request.headers.get("hx-request") == "true",
        "min_group": c.min_group,
    }
    base.update(context)
    return c.templates.TemplateResponse(request, name, base, status_code=status_code)


def xlsx_response(filename: str, columns: list[tuple[str, str]], rows: list[dict]) -> Response:
    """The current list as an .xlsx file: ``columns`` are (key, Chinese header)."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    ws = wb.add_worksheet("清单")
    head = wb.add_format({"bold": True, "bg_color": "#E8EEF5", "border": 1})
    for j, (_k, h) in enumerate(columns):
        ws.write(0, j, h, head)
        ws.set_column(j, j, 14 if j else 28)
    for i, r in enumerate(rows, start=1):
        for j, (k, _h) in enumerate(columns):
            v = r.get(k)
            if isinstance(v, bool):
                v = "是" if v else "否"
            elif isinstance(v, list | dict):
                v = "、".join(map(str, v)) if isinstance(v, list) else str(v)
            if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
                v = "'" + v  # no formula injection from imported names
            ws.write(i, j, v)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
    wb.close()
    stamp = dt.date.today().strftime("%Y%m%d")
    from urllib.parse import quote

    fn = quote(f"{filename}_{stamp}.xlsx")
    return Response(
        buf.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename=export.xlsx; filename*=UTF-8''{fn}"},
    )


def parse_date(v: str | None) -> dt.date | None:
    if not v:
        return None
    try:
        return dt.date.fromisoformat(v)
    except ValueError as e:
        raise HTTPException(422, "日期格式应为 YYYY-MM-DD") from e
