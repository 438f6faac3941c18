"""群主自助: an owner registers a group (purpose required; fixed or temporary, a temporary group needs an
end date or an end condition; members from an imported list), renews it, dissolves it, and sees its
health (messages per day, demands, reply storms, after-hours share, duplicated notices) from the lake.

Scope: an owner sees the groups they own (``Group.owner_id``); admin and supervisor every group, a
liaison the groups of their unit subtree (read only)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from zhijian.storable import storable_text
from zhijian.store import audit
from zhijian.store.models import Group, Person
from zhijian.web.auth import Principal, object_clause
from zhijian.web.common import ctx_of, need, not_found, parse_date, render
from zhijian.web.routes.precheck import checker

router = APIRouter()
api = APIRouter(prefix="/api/v1", tags=["群主自助"])
VIEWERS = ("owner", "admin", "supervisor", "liaison")
EDITORS = ("owner", "admin", "supervisor")
PLATFORMS = {"wechat": "微信", "wecom": "企业微信", "dingtalk": "钉钉", "qq": "QQ", "other": "其他"}
MAX_MEMBERS = 5000
HEALTH_WEEKS = 4


def _today() -> dt.date:
    return dt.date.today()


# ── members from an imported list ──────────────────────────────────────────────────────────────
def parse_member_file(name: str, data: bytes) -> list[str]:
    """Names or person ids, one per row (first column), from .csv / .txt / .xlsx; a header row
    (姓名 / name / person_id / 人员编号) is skipped."""
    if len(data) > 2 * 1024 * 1024:
        raise HTTPException(413, "成员名单文件不能超过 2 MB")
    rows: list[str] = []
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as e:  # noqa: BLE001 - any unreadable workbook is the user's input problem
            raise HTTPException(422, "成员名单不是有效的 xlsx 文件") from e
        for r in wb.active.iter_rows(values_only=True):
            if r and r[0] is not None:
                rows.append(str(r[0]).strip())
    else:
        text = None
        for enc in ("utf-8-sig", "gb18030"):  # Excel on Chinese Windows saves CSV as GBK
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            raise HTTPException(422, "成员名单文件应为 UTF-8 或 GBK 编码的文本")
        for r in csv.reader(io.StringIO(text)):
            if r and r[0].strip():
                rows.append(r[0].strip().lstrip("\ufeff"))
    if rows and rows[0].lower() in ("姓名", "name", "person_id", "人员编号", "成员", "id"):
        rows = rows[1:]
    return rows


def resolve_members(s, refs: list[str]) -> tuple[list[str], list[str]]:
    """(person ids, unresolved refs): a ref is a person id, or a name that names exactly one person."""
    refs = list(dict.fromkeys(r for r in refs if r))[:MAX_MEMBERS]
    ids, bad = [], []
    if not refs:
        return ids, bad
    by_id = set(s.execute(select(Person.id).where(Person.id.in_(refs))).scalars())
    names: dict[str, list[str]] = {}
    for pid, nm in s.execute(select(Person.id, Person.name).where(Person.name.in_(refs))):
        names.setdefault(nm, []).append(pid)
    for r in refs:
        if r in by_id:
            ids.append(r)
        elif len(names.get(r, [])) == 1:
            ids.append(names[r][0])
        else:
            bad.append(r)
    return list(dict.fromkeys(ids)), bad


def _write_memberships(ws, gid: str, owner_id: str, person_ids: list[str]) -> None:
    import pyarrow as pa

    from zhijian.lake.schema import MEMBERSHIPS

    now = dt.datetime.now().replace(microsecond=0)
    batch = f"reg-{gid}-{secrets.token_hex(3)}"
    people = list(dict.fromkeys([owner_id, *person_ids]))
    rows = [
        {
            "group_id": gid,
            "person_id": p,
            "role": "owner" if p == owner_id else "member",
            "joined_at": now,
            "left_at": None,
            "batch_id": batch,
        }
        for p in people
    ]
    ws.lake().append_batch("memberships", batch, pa.Table.from_pylist(rows, schema=MEMBERSHIPS))


# ── registration, renewal, dissolution ────────────────────────────────────────────────────────
def _s(v: str | None) -> str | None:
    """No NUL, lone surrogates as U+FFFD (neither SQLite nor PostgreSQL stores them; zhijian.storable)."""
    return None if v is None else storable_text(v)


class _Clean(BaseModel):
    @field_validator("*", mode="before")
    @classmethod
    def _clean(cls, v: Any) -> Any:
        if isinstance(v, str):
            return _s(v)
        if isinstance(v, list):
            return [_s(x) if isinstance(x, str) else x for x in v]
        return v


class RegisterIn(_Clean):
    name: str = Field(min_length=2, max_length=200)
    platform: Literal["wechat", "wecom", "dingtalk", "qq", "other"] = "wechat"
    purpose: str = Field(min_length=4, max_length=2000, description="建群目的（必填）")
    group_type: Literal["fixed", "temporary"]
    end_date: dt.date | None = None
    end_condition: str | None = Field(None, max_length=500)
    members: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=MAX_MEMBERS, description="成员：人员编号或姓名"
    )


def _check_register(body: RegisterIn) -> str | None:
    if not body.purpose.strip():
        return "请填写建群目的"
    if body.group_type == "temporary":
        if not body.end_date and not (body.end_condition or "").strip():
            return "临时群必须填写预计解散日期或解散条件"
        if body.end_date and body.end_date < _today():
            return "预计解散日期不能早于今天"
    return None


def register(request: Request, p: Principal, body: RegisterIn) -> dict:
    if p.role != "owner" or not p.person_id:
        raise HTTPException(403, "只有群主账号可以登记工作群")
    err = _check_register(body)
    if err:
        raise HTTPException(422, err)
    c = ctx_of(request)
    with c.write() as s:
        me = s.get(Person, p.person_id)
        ids, bad = resolve_members(s, body.members)
        if bad:
            raise HTTPException(422, f"以下成员在人员名册中找不到或重名：{'、'.join(bad[:20])}")
        gid = "reg-" + secrets.token_hex(6)
        g = Group(
            id=gid,
            name=body.name.strip(),
            platform=body.platform,
            unit_id=me.unit_id if me else p.unit_id,
            owner_id=p.person_id,
            purpose=body.purpose.strip(),
            group_type=body.group_type,
            created_on=_today(),
            end_date=body.end_date if body.group_type == "temporary" else None,
            end_condition=(body.end_condition or "").strip() or None
            if body.group_type == "temporary"
            else None,
            member_count=len(set(ids) | {p.person_id}),
            status="active",
            registered=True,
            registered_on=_today(),
            tags=[],
            source="registration",
        )
        s.add(g)
        s.flush()
        audit.record(s, p.username, "group.register", "group", gid, None, _public(g))
        if ids:
            _write_memberships(c.ws, gid, p.person_id, ids)
        return _public(g)


def _public(g: Group) -> dict:
    return {
        "id": g.id,
        "name": g.name,
        "platform": g.platform,
        "unit_id": g.unit_id,
        "owner_id": g.owner_id,
        "purpose": g.purpose,
        "group_type": g.group_type,
        "end_date": g.end_date.isoformat() if g.end_date else None,
        "end_condition": g.end_condition,
        "member_count": g.member_count,
        "status": g.status,
        "registered": bool(g.registered),
        "dissolved_on": g.dissolved_on.isoformat() if g.dissolved_on else None,
    }


def _editable(s, p: Principal, gid: str) -> Group:
    g = s.execute(select(Group).where(Group.id == gid, object_clause(p, Group))).scalar_one_or_none()
    if g is None:
        raise not_found()
    if p.role not in EDITORS:
        raise HTTPException(403, "当前角色无权修改工作群")
    return g


def renew(
    request: Request, p: Principal, gid: str, end_date: dt.date | None, end_condition: str | None
) -> dict:
    with ctx_of(request).write() as s:
        g = _editable(s, p, gid)
        if g.status != "active":
            raise HTTPException(409, "该群已不在用，不能续期")
        if g.group_type != "temporary":
            raise HTTPException(409, "常设群无需续期")
        if not end_date and not (end_condition or "").strip():
            raise HTTPException(422, "续期需填写新的预计解散日期或解散条件")
        if end_date and end_date <= _today():
            raise HTTPException(422, "新的解散日期应晚于今天")
        before = _public(g)
        g.end_date = end_date or g.end_date
        if (end_condition or "").strip():
            g.end_condition = end_condition.strip()
        s.flush()
        audit.record(s, p.username, "group.renew", "group", g.id, before, _public(g))
        return _public(g)


def dissolve(request: Request, p: Principal, gid: str, reason: str) -> dict:
    with ctx_of(request).write() as s:
        g = _editable(s, p, gid)
        if g.status != "active":
            raise HTTPException(409, "该群已不在用")
        before = _public(g)
        g.status = "dissolved"
        g.dissolved_on = _today()
        s.flush()
        audit.record(s, p.username, "group.dissolve", "group", g.id, before, {**_public(g), "reason": reason})
        return _public(g)


# ── health ────────────────────────────────────────────────────────────────────────────────────
HEALTH_METRICS = {
    "messages": "消息数",
    "demands": "要求类消息",
    "after_hours_demands": "非工作时间要求",
    "roll_call_replies": "“收到”类回复",
    "duplicate_copies": "重复通知",
}


def health(request: Request, gid: str) -> dict:
    """Weekly figures of the group (lake ``indicators`` scope=group, ``reply_storms``) and the
    averages over its last four weeks with data."""

    def q(table, lake):
        ind = table("indicators")
        rows = lake.to_arrow(
            ind.filter(
                (ind.scope == "group") & (ind.scope_id == gid) & ind.metric.isin(list(HEALTH_METRICS))
            ).select("period", "metric", "value")
        ).to_pylist()
        rs = table("reply_storms")
        storms = lake.to_arrow(
            rs.filter(rs.group_id == gid).select("local_ts", "replies", "members")
        ).to_pylist()
        m = table("messages")
        g = m.filter(m.group_id == gid)
        last = lake.to_arrow(g.aggregate(last=g.local_ts.max(), n=g.count())).to_pylist()[0]
        return rows, storms, last

    rows, storms, last = checker(request).query(q)
    weeks: dict[str, dict[str, float]] = {}
    for r in rows:
        weeks.setdefault(r["period"], {})[r["metric"]] = float(r["value"] or 0)
    periods = sorted(weeks)
    recent = periods[-HEALTH_WEEKS:]
    tot = {k: sum(weeks[pp].get(k, 0.0) for pp in recent) for k in HEALTH_METRICS}
    n = max(1, len(recent))
    since = dt.date.fromisoformat(recent[0]) if recent else None
    recent_storms = [x for x in storms if since and x["local_ts"] and x["local_ts"].date() >= since]
    summary = {
        "weeks": len(recent),
        "messages_per_day": round(tot["messages"] / (7 * n), 1) if recent else None,
        "demands_per_week": round(tot["demands"] / n, 1) if recent else None,
        "after_hours_share": round(tot["after_hours_demands"] / tot["demands"], 3)
        if tot["demands"]
        else None,
        "roll_call_replies_per_week": round(tot["roll_call_replies"] / n, 1) if recent else None,
        "reply_storms": len(recent_storms),
        "reply_storm_replies": int(sum(x["replies"] or 0 for x in recent_storms)),
        "duplicate_notices": int(tot["duplicate_copies"]),
        "last_message": last["last"].isoformat(sep=" ", timespec="minutes") if last["last"] else None,
        "messages_total": int(last["n"] or 0),
    }
    return {
        "summary": summary,
        "weeks": [{"period": pp, **{k: weeks[pp].get(k, 0.0) for k in HEALTH_METRICS}} for pp in periods],
        "metrics": HEALTH_METRICS,
    }


def _visible(request: Request, p: Principal, gid: str) -> dict:
    with ctx_of(request).read() as s:
        g = s.execute(select(Group).where(Group.id == gid, object_clause(p, Group))).scalar_one_or_none()
        if g is None:
            raise not_found()
        return _public(g)


def my_groups(request: Request, p: Principal) -> list[dict]:
    with ctx_of(request).read() as s:
        rows = (
            s.execute(
                select(Group).where(object_clause(p, Group)).order_by(Group.status, Group.name).limit(500)
            )
            .scalars()
            .all()
        )
        return [_public(g) for g in rows]


# ── pages ─────────────────────────────────────────────────────────────────────────────────────
@router.get("/owner", include_in_schema=False)
def owner_page(request: Request, p: Principal = Depends(need(*VIEWERS))):
    return render(request, "owner_list.html", groups=my_groups(request, p), PLATFORMS=PLATFORMS)


@router.get("/owner/register", include_in_schema=False)
def register_page(request: Request, p: Principal = Depends(need("owner"))):
    return render(
        request, "owner_register.html", error="", f={}, PLATFORMS=PLATFORMS, today=_today().isoformat()
    )


@router.post("/owner/register", include_in_schema=False)
async def register_submit(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    platform: Annotated[str, Form(max_length=16)] = "wechat",
    purpose: Annotated[str, Form(max_length=2000)] = "",
    group_type: Annotated[str, Form(max_length=16)] = "",
    end_date: Annotated[str, Form(max_length=10)] = "",
    end_condition: Annotated[str, Form(max_length=500)] = "",
    members_text: Annotated[str, Form(max_length=100000)] = "",
    members_file: Annotated[UploadFile | None, File()] = None,
    p: Principal = Depends(need("owner")),
):
    from pydantic import ValidationError
    from starlette.concurrency import run_in_threadpool

    f = {
        "name": name,
        "platform": platform,
        "purpose": purpose,
        "group_type": group_type,
        "end_date": end_date,
        "end_condition": end_condition,
        "members_text": members_text,
    }
    try:
        refs = [
            x.strip() for x in members_text.replace("，", "\n").replace(",", "\n").splitlines() if x.strip()
        ]
        if members_file is not None and members_file.filename:
            refs += parse_member_file(members_file.filename, await members_file.read(2 * 1024 * 1024 + 1))
        try:
            body = RegisterIn(
                name=name.strip(),
                platform=platform if platform in PLATFORMS else "other",
                purpose=purpose.strip(),
                group_type=group_type or "fixed",
                end_date=parse_date(end_date),
                end_condition=end_condition or None,
                members=refs,
            )
        except ValidationError as e:
            msgs = {
                "name": "群名称至少 2 个字",
                "purpose": "请填写建群目的（至少 4 个字）",
                "group_type": "请选择群类型",
            }
            loc = str(e.errors()[0]["loc"][0]) if e.errors() else ""
            raise HTTPException(422, msgs.get(loc, "提交的内容不完整或格式不正确")) from None
        g = await run_in_threadpool(register, request, p, body)
    except HTTPException as e:
        return render(
            request,
            "owner_register.html",
            status_code=e.status_code,
            error=e.detail,
            f=f,
            PLATFORMS=PLATFORMS,
            today=_today().isoformat(),
        )
    return RedirectResponse(f"/owner/groups/{g['id']}", 303)


@router.get("/owner/groups/{gid}", include_in_schema=False)
def group_page(request: Request, gid: str, p: Principal = Depends(need(*VIEWERS))):
    from zhijian.web import charts

    g = _visible(request, p, gid)
    h = health(request, gid)
    chart = None
    if h["weeks"]:
        chart = charts.lines(
            [
                {"name": zh, "points": [(w["period"], w[k]) for w in h["weeks"]]}
                for k, zh in HEALTH_METRICS.items()
            ]
        )
    return render(
        request,
        "owner_group.html",
        g=g,
        h=h,
        chart=chart,
        can_edit=p.role in EDITORS,
        error="",
        PLATFORMS=PLATFORMS,
    )


@router.post("/owner/groups/{gid}/renew", include_in_schema=False)
def renew_form(
    request: Request,
    gid: str,
    end_date: Annotated[str, Form(max_length=10)] = "",
    end_condition: Annotated[str, Form(max_length=500)] = "",
    p: Principal = Depends(need(*EDITORS)),
):
    renew(request, p, gid, parse_date(end_date), end_condition)
    return RedirectResponse(f"/owner/groups/{gid}", 303)


@router.post("/owner/groups/{gid}/dissolve", include_in_schema=False)
def dissolve_form(
    request: Request,
    gid: str,
    reason: Annotated[str, Form(max_length=500)] = "",
    p: Principal = Depends(need(*EDITORS)),
):
    dissolve(request, p, gid, reason)
    return RedirectResponse(f"/owner/groups/{gid}", 303)


# ── API ───────────────────────────────────────────────────────────────────────────────────────
class RenewIn(_Clean):
    end_date: dt.date | None = None
    end_condition: str | None = Field(None, max_length=500)


class DissolveIn(_Clean):
    reason: str = Field("", max_length=500)


@api.get("/owner/groups", responses={401: {}, 403: {}})
def groups_api(request: Request, p: Principal = Depends(need(*VIEWERS))):
    """The caller's groups (owner: the groups they own)."""
    return {"items": my_groups(request, p)}


@api.post("/owner/groups", status_code=201, responses={401: {}, 403: {}, 422: {}})
def register_api(request: Request, body: RegisterIn, p: Principal = Depends(need("owner"))):
    """Register a group: purpose required; a temporary group needs ``end_date`` or ``end_condition``;
    ``members`` are person ids or names from the roster."""
    return register(request, p, body)


@api.get("/owner/groups/{gid}/health", responses={401: {}, 403: {}, 404: {}})
def health_api(request: Request, gid: str, p: Principal = Depends(need(*VIEWERS))) -> dict[str, Any]:
    g = _visible(request, p, gid)
    return {"group": g, **health(request, gid)}


@api.post("/owner/groups/{gid}/renew", responses={401: {}, 403: {}, 404: {}, 409: {}, 422: {}})
def renew_api(request: Request, gid: str, body: RenewIn, p: Principal = Depends(need(*EDITORS))):
    return renew(request, p, gid, body.end_date, body.end_condition)


@api.post("/owner/groups/{gid}/dissolve", responses={401: {}, 403: {}, 404: {}, 409: {}})
def dissolve_api(request: Request, gid: str, body: DissolveIn, p: Principal = Depends(need(*EDITORS))):
    return dissolve(request, p, gid, body.reason)
