"""Queries behind the pages and the API. Every function takes the :class:`Principal` and applies
its scope in SQL, so a page and its API twin cannot disagree about who sees what."""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from zhijian.store import audit
from zhijian.store.models import (
    Account,
    App,
    AuditLog,
    Finding,
    FindingEvent,
    Group,
    Person,
    Recommendation,
    Unit,
    User,
)
from zhijian.store.workflow import PENDING, STATUS_ZH, allowed_actions, is_overdue
from zhijian.web import taxonomy
from zhijian.web.auth import MODELS, Principal, finding_clause, object_clause, units_clause

KINDS = {"groups": "group", "apps": "app", "accounts": "account"}
KIND_ZH = {"group": "工作群组", "app": "政务应用", "account": "政务公众号"}
OBJ_STATUS_ZH = {
    "active": "在用",
    "dissolved": "已解散",
    "merged": "已合并",
    "removed": "已清除",
    "closed": "已关停",
    "inactive": "不活跃",
}
REDUCED = ("dissolved", "merged", "removed", "closed")
REC_ZH = {"keep": "保留", "merge": "合并", "remove": "清除", "review": "待研判", "exempt": "豁免"}
DECISIONS = ("keep", "merge", "remove", "exempt")
SEVERITY_ZH = {"low": "低", "medium": "中", "high": "高"}
PER_PAGE = 25
EXPORT_MAX = 50_000


def today() -> dt.date:
    return dt.date.today()


@dataclass
class Page:
    rows: list[dict]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    def as_json(self) -> dict:
        return {"items": self.rows, "total": self.total, "page": self.page, "per_page": self.per_page}


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, dt.date | dt.datetime) else v


# ── units ─────────────────────────────────────────────────────────────────────────────────────
def visible_units(s: Session, p: Principal) -> list[dict]:
    rows = s.execute(select(Unit).where(units_clause(p)).order_by(Unit.path)).scalars().all()
    return [
        {
            "id": u.id,
            "name": u.name,
            "level": u.level,
            "parent_id": u.parent_id,
            "depth": u.path.count("/") - 2,
        }
        for u in rows
    ]


def unit_names(s: Session, ids: set[str]) -> dict[str, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(s.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all())


def _unit_filter(s: Session, col, unit_id: str | None):
    """Restrict to a unit and its sub-units (the unit filter of the lists)."""
    if not unit_id:
        return None
    u = s.get(Unit, unit_id)
    if u is None:
        return col.is_(None) & col.isnot(None)  # matches nothing
    return col.in_(select(Unit.id).where(Unit.path.startswith(u.path, autoescape=True)))


# ── inventory ─────────────────────────────────────────────────────────────────────────────────
SORTS = {
    "group": {
        "name": Group.name,
        "members": Group.member_count,
        "status": Group.status,
        "end": Group.end_date,
    },
    "app": {"name": App.name, "users": App.users, "status": App.status, "active": App.last_active_on},
    "account": {
        "name": Account.name,
        "followers": Account.followers,
        "status": Account.status,
        "post": Account.last_post_on,
    },
}


def inventory_query(
    s: Session,
    p: Principal,
    otype: str,
    *,
    q: str = "",
    unit: str | None = None,
    status: str | None = None,
    registered: str | None = None,
    recommendation: str | None = None,
    sort: str = "name",
    order: str = "asc",
):
    model = MODELS[otype]
    rec = aliased(Recommendation)
    stmt = (
        select(model, Unit.name, rec.action, rec.decision)
        .outerjoin(Unit, Unit.id == model.unit_id)
        .outerjoin(rec, and_(rec.object_type == otype, rec.object_id == model.id))
        .where(object_clause(p, model))
    )
    if q:
        stmt = stmt.where(or_(model.name.contains(q, autoescape=True), model.id == q))
    uf = _unit_filter(s, model.unit_id, unit)
    if uf is not None:
        stmt = stmt.where(uf)
    if status:
        stmt = stmt.where(model.status == status)
    if registered in ("yes", "no"):
        stmt = stmt.where(model.registered.is_(registered == "yes"))
    if recommendation:
        stmt = stmt.where(func.coalesce(rec.decision, rec.action) == recommendation)
    col = SORTS[otype].get(sort, model.name)
    col = col.desc() if order == "desc" else col.asc()
    return stmt.order_by(col.nulls_last() if order == "desc" else col, model.id)


def _object_row(
    otype: str, o: Any, unit_name: str | None, rec_action: str | None, decision: str | None
) -> dict:
    d: dict[str, Any] = {
        "id": o.id,
        "name": o.name,
        "platform": o.platform,
        "unit_id": o.unit_id,
        "unit_name": unit_name,
        "status": o.status,
        "status_zh": OBJ_STATUS_ZH.get(o.status, o.status),
        "registered": bool(o.registered),
        "purpose": o.purpose,
        "tags": list(o.tags or []),
        "recommendation": rec_action,
        "decision": decision,
        "recommendation_zh": REC_ZH.get(decision or rec_action or "", ""),
    }
    if otype == "group":
        d.update(
            group_type=o.group_type,
            member_count=o.member_count,
            owner_id=o.owner_id,
            end_date=_iso(o.end_date),
            created_on=_iso(o.created_on),
        )
    elif otype == "app":
        d.update(users=o.users, features=list(o.features or []), last_active_on=_iso(o.last_active_on))
    else:
        d.update(followers=o.followers, last_post_on=_iso(o.last_post_on))
    return d


def list_inventory(
    s: Session, p: Principal, otype: str, page: int = 1, per_page: int = PER_PAGE, **filters
) -> Page:
    stmt = inventory_query(s, p, otype, **filters)
    total = s.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    page = max(1, page)
    rows = s.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page([_object_row(otype, *r) for r in rows], total, page, per_page)


def export_inventory(s: Session, p: Principal, otype: str, **filters) -> list[dict]:
    stmt = inventory_query(s, p, otype, **filters).limit(EXPORT_MAX)
    return [_object_row(otype, *r) for r in s.execute(stmt).all()]


def object_detail(s: Session, p: Principal, otype: str, oid: str) -> dict | None:
    model = MODELS[otype]
    o = s.execute(select(model).where(model.id == oid, object_clause(p, model))).scalar_one_or_none()
    if o is None:
        return None
    rec = s.execute(
        select(Recommendation).where(Recommendation.object_type == otype, Recommendation.object_id == oid)
    ).scalar_one_or_none()
    unit = s.get(Unit, o.unit_id) if o.unit_id else None
    d = _object_row(
        otype, o, unit.name if unit else None, rec.action if rec else None, rec.decision if rec else None
    )
    d["type"] = otype
    d["type_zh"] = KIND_ZH[otype]
    if otype == "group":
        owner = s.get(Person, o.owner_id) if o.owner_id else None
        d["owner_name"] = owner.name if owner else None
        d["end_condition"] = o.end_condition
    if rec is not None:
        d["rec"] = {
            "action": rec.action,
            "action_zh": REC_ZH.get(rec.action, rec.action),
            "merge_into": rec.merge_into,
            "reasons": list(rec.reasons or []),
            "evidence": rec.evidence or {},
            "decision": rec.decision,
            "decision_zh": REC_ZH.get(rec.decision or "", ""),
            "decision_reason": rec.decision_reason,
            "decided_at": _iso(rec.decided_at),
            "deadline": _iso(rec.deadline),
        }
    fs = s.execute(
        select(Finding)
        .where(Finding.object_type == otype, Finding.object_id == oid, finding_clause(p))
        .order_by(Finding.last_seen_at.desc())
    ).scalars()
    d["findings"] = [_finding_row(f, {}) for f in fs]
    return d


def decide(s: Session, p: Principal, otype: str, oid: str, decision: str, reason: str) -> dict:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    o = s.get(MODELS[otype], oid)
    rid = f"{otype}:{oid}"
    rec = s.get(Recommendation, rid)
    before = None
    if rec is None:
        rec = Recommendation(
            id=rid,
            object_type=otype,
            object_id=oid,
            unit_id=o.unit_id,
            action="review",
            reasons=[],
            evidence={},
            updated_at=now,
        )
        s.add(rec)
    else:
        before = {"decision": rec.decision, "decision_reason": rec.decision_reason}
    rec.decision = decision
    rec.decision_reason = reason
    rec.decided_by = p.user_id
    rec.decided_at = now
    rec.updated_at = now
    s.flush()
    after = {"decision": decision, "decision_reason": reason, "recommendation": rec.action}
    audit.record(s, p.username, "recommendation.decide", otype, oid, before, after)
    return after


# ── findings ──────────────────────────────────────────────────────────────────────────────────
def _finding_row(f: Finding, names: dict[str, str]) -> dict:
    return {
        "id": f.id,
        "category": f.category,
        "category_zh": taxonomy.name(f.category),
        "rule_id": f.rule_id,
        "object_type": f.object_type,
        "object_id": f.object_id,
        "unit_id": f.unit_id,
        "unit_name": names.get(f.unit_id or ""),
        "period": f.period,
        "severity": f.severity,
        "severity_zh": SEVERITY_ZH.get(f.severity, f.severity),
        "title": f.title,
        "status": f.status,
        "status_zh": STATUS_ZH.get(f.status, f.status),
        "assignee_unit_id": f.assignee_unit_id,
        "assignee_unit_name": names.get(f.assignee_unit_id or ""),
        "deadline": _iso(f.deadline),
        "overdue": is_overdue(f),
        "active": bool(f.active),
        "last_seen_at": _iso(f.last_seen_at),
    }


def findings_query(
    s: Session,
    p: Principal,
    *,
    category: str | None = None,
    unit: str | None = None,
    status: str | None = None,
    overdue: bool = False,
    q: str = "",
    object_type: str | None = None,
    object_id: str | None = None,
    include_inactive: bool = False,
):
    stmt = select(Finding).where(finding_clause(p))
    if not include_inactive:
        stmt = stmt.where(Finding.active.is_(True))
    if category:
        stmt = stmt.where(Finding.category == category)
    uf = _unit_filter(s, Finding.unit_id, unit)
    if uf is not None:
        stmt = stmt.where(or_(uf, _unit_filter(s, Finding.assignee_unit_id, unit)))
    if status:
        stmt = stmt.where(Finding.status == status)
    if overdue:
        stmt = stmt.where(Finding.status.in_(PENDING), Finding.deadline < today())
    if q:
        stmt = stmt.where(or_(Finding.title.contains(q, autoescape=True), Finding.id == q))
    if object_type:
        stmt = stmt.where(Finding.object_type == object_type)
    if object_id:
        stmt = stmt.where(Finding.object_id == object_id)
    sev = case({"high": 0, "medium": 1, "low": 2}, value=Finding.severity, else_=3)
    return stmt.order_by(
        Finding.deadline.is_(None), Finding.deadline, sev, Finding.last_seen_at.desc(), Finding.id
    )


def list_findings(s: Session, p: Principal, page: int = 1, per_page: int = PER_PAGE, **filters) -> Page:
    stmt = findings_query(s, p, **filters)
    total = s.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    page = max(1, page)
    fs = s.execute(stmt.limit(per_page).offset((page - 1) * per_page)).scalars().all()
    names = unit_names(s, {f.unit_id for f in fs} | {f.assignee_unit_id for f in fs})
    return Page([_finding_row(f, names) for f in fs], total, page, per_page)


def export_findings(s: Session, p: Principal, **filters) -> list[dict]:
    fs = s.execute(findings_query(s, p, **filters).limit(EXPORT_MAX)).scalars().all()
    names = unit_names(s, {f.unit_id for f in fs} | {f.assignee_unit_id for f in fs})
    return [_finding_row(f, names) for f in fs]


def get_finding(s: Session, p: Principal, fid: str) -> Finding | None:
    return s.execute(select(Finding).where(Finding.id == fid, finding_clause(p))).scalar_one_or_none()


def finding_detail(s: Session, p: Principal, f: Finding) -> dict:
    names = unit_names(s, {f.unit_id, f.assignee_unit_id})
    d = _finding_row(f, names)
    d.update(
        summary=f.summary,
        evidence=f.evidence or {},
        policy=f.policy or {},
        first_seen_at=_iso(f.first_seen_at),
        category_info=taxonomy.categories().get(f.category),
        rule=taxonomy.rule_info(f.rule_id),
        actions=[
            {"action": t.action, "label": t.label, "note_required": t.note_required}
            for t in allowed_actions(f, p.role)
        ],
    )
    model = MODELS.get(f.object_type)
    obj = s.get(model, f.object_id) if model is not None else None
    d["object_name"] = obj.name if obj is not None else None
    d["object_visible"] = (
        obj is not None
        and s.execute(select(model.id).where(model.id == f.object_id, object_clause(p, model))).first()
        is not None
    )
    evs = s.execute(
        select(FindingEvent, User.username, User.display_name)
        .outerjoin(User, User.id == FindingEvent.user_id)
        .where(FindingEvent.finding_id == f.id)
        .order_by(FindingEvent.id)
    ).all()
    d["events"] = [
        {
            "id": e.id,
            "at": _iso(e.at),
            "user": dn or un or "系统",
            "action": e.action,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "to_status_zh": STATUS_ZH.get(e.to_status or "", ""),
            "note": e.note,
            "attachment": e.attachment.rsplit("/", 1)[-1] if e.attachment else None,
        }
        for e, un, dn in evs
    ]
    return d


# ── dashboard ─────────────────────────────────────────────────────────────────────────────────
def dashboard(s: Session, p: Principal, lake_reader=None, min_group: int = 5) -> dict:
    objects = {}
    reduction = {}
    for otype, model in MODELS.items():
        rows = s.execute(
            select(model.status, func.count()).where(object_clause(p, model)).group_by(model.status)
        ).all()
        by = {st: n for st, n in rows}
        total = sum(by.values())
        reduced = sum(n for st, n in by.items() if st in REDUCED)
        objects[otype] = {"total": total, "by_status": by, "active": by.get("active", 0)}
        reduction[otype] = {
            "total": total,
            "reduced": reduced,
            "rate": round(reduced / total, 4) if total else None,
        }
    fc = finding_clause(p)
    by_cat = s.execute(
        select(Finding.category, func.count()).where(fc, Finding.active.is_(True)).group_by(Finding.category)
    ).all()
    by_status = s.execute(
        select(Finding.status, func.count()).where(fc, Finding.active.is_(True)).group_by(Finding.status)
    ).all()
    overdue = s.execute(
        select(func.count()).where(fc, Finding.status.in_(PENDING), Finding.deadline < today())
    ).scalar_one()
    all_total = sum(r["total"] for r in reduction.values())
    all_reduced = sum(r["reduced"] for r in reduction.values())
    out = {
        "objects": objects,
        "reduction": reduction,
        "reduction_rate": round(all_reduced / all_total, 4) if all_total else None,
        "findings_by_category": sorted(
            [{"category": c, "category_zh": taxonomy.name(c), "count": n} for c, n in by_cat],
            key=lambda r: -r["count"],
        ),
        "findings_by_status": {st: n for st, n in by_status},
        "findings_total": sum(n for _, n in by_status),
        "findings_overdue": overdue,
        "burden_trend": [],
    }
    if lake_reader is not None:
        out["burden_trend"] = burden_trend(s, p, lake_reader, min_group)
    return out


# ── burden (indicators) ───────────────────────────────────────────────────────────────────────
HEADCOUNT_METRICS = ("people", "headcount", "members", "n_people", "persons")
METRIC_ZH = {
    "messages": "消息数",
    "demands": "要求类消息",
    "demands_per_person": "人均收到要求",
    "roll_call_demands": "接龙/报数要求",
    "roll_call_replies": "接龙/收到回复",
    "after_hours_demands": "非工作时间要求",
    "after_hours_share": "非工作时间占比",
    "proof_demands": "留痕要求",
    "checkin_demands": "打卡签到要求",
    "duplicate_notices": "重复通知",
    "groups_per_person": "人均所在工作群",
    "messages_per_person": "人均消息数",
    "people": "人数",
}


def metric_zh(metric: str) -> str:
    """Chinese name of an indicator: the analysis' own definitions first (analysis/burden.py)."""
    try:
        from zhijian.analysis.burden import METRICS

        zh = (METRICS.get(metric) or {}).get("zh")
    except Exception:  # noqa: BLE001 - the analysis package is optional for the web app
        zh = None
    return zh or METRIC_ZH.get(metric, metric)


class IndicatorCache:
    """The ``indicators`` dataset, read once per file change and indexed by (scope, scope id).

    The person rows (most of the dataset: people × weeks × metrics) stay in one Arrow table sorted
    by (scope, scope id) and are sliced per request; no request loops over the whole dataset."""

    COLS = ["scope", "scope_id", "period", "metric", "value"]

    def __init__(self, ws):
        self.ws = ws
        self._lock = threading.Lock()
        self._sig: tuple | None = None
        self._tbl = None  # pyarrow.Table sorted by scope, scope_id
        self._spans: dict[tuple[str, str], tuple[int, int]] = {}
        self._scopes: dict[str, tuple[int, int]] = {}
        self._slices: dict[tuple[str, str], list[dict]] = {}

    def _load(self) -> None:
        files = self.ws.lake().files("indicators")
        sig = tuple((str(f), f.stat().st_mtime_ns) for f in files)
        with self._lock:
            if sig == self._sig:
                return
            import numpy as np
            import pyarrow as pa
            import pyarrow.compute as pc
            import pyarrow.parquet as pq

            spans: dict[tuple[str, str], tuple[int, int]] = {}
            scopes: dict[str, tuple[int, int]] = {}
            tbl = None
            if files:
                tbl = pq.read_table(
                    [str(f) for f in files] if len(files) > 1 else str(files[0]), columns=self.COLS
                )
                tbl = tbl.select(self.COLS).sort_by([("scope", "ascending"), ("scope_id", "ascending")])
                tbl = tbl.combine_chunks() if tbl.num_rows else tbl
                if tbl.num_rows:
                    sc = tbl["scope"].to_numpy(zero_copy_only=False)
                    sid = pc.fill_null(tbl["scope_id"].cast(pa.string()), "").to_numpy(zero_copy_only=False)
                    brk = np.flatnonzero((sc[1:] != sc[:-1]) | (sid[1:] != sid[:-1])) + 1
                    starts = np.concatenate(([0], brk))
                    ends = np.concatenate((brk, [tbl.num_rows]))
                    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
                        spans[(sc[a], sid[a])] = (a, b)
                        lo, hi = scopes.get(sc[a], (a, b))
                        scopes[sc[a]] = (min(lo, a), max(hi, b))
            self._tbl, self._spans, self._scopes, self._slices = tbl, spans, scopes, {}
            self._sig = sig

    def signature(self) -> tuple | None:
        self._load()
        return self._sig

    def for_scope(self, scope: str, scope_id: str) -> list[dict]:
        """Rows of one scope id (``scope``, ``scope_id``, ``period``, ``metric``, ``value``)."""
        self._load()
        with self._lock:
            key = (scope, scope_id)
            rows = self._slices.get(key)
            if rows is None:
                span = self._spans.get(key)
                rows = self._tbl.slice(span[0], span[1] - span[0]).to_pylist() if span else []
                if len(self._slices) > 5000:
                    self._slices.clear()
                self._slices[key] = rows
            return rows

    def scope_rows(self, scope: str) -> list[dict]:
        """Every row of one scope (county, unit, group; a person's rows: :meth:`for_scope`)."""
        self._load()
        with self._lock:
            key = (scope, "\x00all")
            rows = self._slices.get(key)
            if rows is None:
                span = self._scopes.get(scope)
                rows = self._tbl.slice(span[0], span[1] - span[0]).to_pylist() if span else []
                self._slices[key] = rows
            return rows

    def rows(self) -> list[dict]:
        """Every row except the person scope (kept for callers that filter themselves)."""
        self._load()
        out: list[dict] = []
        for scope in sorted(self._scopes):
            if scope != "person":
                out += self.scope_rows(scope)
        return out

    def group_weekly(self, group_id: str, metric: str = "messages") -> list[tuple[str, int]] | None:
        """A group's weekly series from the analysis (None when the analysis did not write it)."""
        pts = sorted(
            (r["period"], int(r["value"] or 0))
            for r in self.for_scope("group", group_id)
            if r["metric"] == metric
        )
        return pts or None


def _headcounts(s: Session) -> dict[str, int]:
    """People per unit including sub-units (from the roster in the store)."""
    paths = dict(s.execute(select(Unit.id, Unit.path)).all())
    direct = dict(s.execute(select(Person.unit_id, func.count()).group_by(Person.unit_id)).all())
    out: dict[str, int] = defaultdict(int)
    for uid, n in direct.items():
        if uid not in paths:
            continue
        for anc in paths[uid].strip("/").split("/"):
            out[anc] += n
    return out


def burden_trend(s: Session, p: Principal, cache: IndicatorCache, min_group: int = 5) -> list[dict]:
    """A trend line for the principal's own scope: county (whole tree), their unit, or themselves."""
    if p.whole_tree:
        rows = cache.scope_rows("county")
    elif p.role == "liaison" and p.unit_id:
        if _headcounts(s).get(p.unit_id, 0) < min_group:
            return []
        rows = cache.for_scope("unit", p.unit_id)
    elif p.role == "cadre" and p.person_id:
        rows = cache.for_scope("person", p.person_id)
    else:
        return []
    series: dict[str, dict[str, float]] = defaultdict(dict)
    for r in rows:
        if r["value"] is not None:
            if r["metric"] in HEADCOUNT_METRICS:
                continue
            series[r["metric"]][r["period"]] = series[r["metric"]].get(r["period"], 0.0) + float(r["value"])
    return [
        {"metric": m, "metric_zh": metric_zh(m), "points": sorted(v.items())}
        for m, v in sorted(series.items())
    ][:6]


def burden_units(s: Session, p: Principal, cache: IndicatorCache, period: str | None, min_group: int) -> dict:
    """Unit figures of one period; units with fewer than ``min_group`` people are withheld."""
    rows = cache.scope_rows("unit")
    periods = sorted({r["period"] for r in rows})
    if not periods:
        return {"periods": [], "period": None, "metrics": [], "units": [], "min_group": min_group}
    period = period if period in periods else periods[-1]
    visible = {u["id"]: u for u in visible_units(s, p)}
    heads = _headcounts(s)
    data: dict[str, dict[str, float]] = defaultdict(dict)
    metrics: set[str] = set()
    for r in rows:
        if r["period"] == period and r["scope_id"] in visible:
            if r["metric"] in HEADCOUNT_METRICS:
                heads[r["scope_id"]] = int(r["value"] or 0)
                continue
            data[r["scope_id"]][r["metric"]] = r["value"]
            metrics.add(r["metric"])
    units = []
    for uid, vals in data.items():
        n = heads.get(uid, 0)
        shown = n >= min_group
        units.append(
            {
                "unit_id": uid,
                "unit_name": visible[uid]["name"],
                "level": visible[uid]["level"],
                "people": n if shown else None,
                "withheld": not shown,
                "values": vals if shown else {},
            }
        )
    units.sort(key=lambda u: (u["withheld"], u["unit_name"]))
    ms = sorted(metrics)
    return {
        "periods": periods,
        "period": period,
        "metrics": [{"metric": m, "metric_zh": metric_zh(m)} for m in ms],
        "units": units,
        "min_group": min_group,
    }


def burden_person(p: Principal, cache: IndicatorCache) -> dict:
    """A cadre's own figures (only ever their own person id)."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    if p.person_id:
        for r in cache.for_scope("person", p.person_id):
            out[r["period"]][r["metric"]] = r["value"]
    periods = sorted(out)
    metrics = sorted({m for v in out.values() for m in v})
    return {
        "periods": periods,
        "metrics": [{"metric": m, "metric_zh": metric_zh(m)} for m in metrics],
        "values": {k: dict(v) for k, v in out.items()},
    }


# ── audit ─────────────────────────────────────────────────────────────────────────────────────
def list_audit(s: Session, page: int = 1, per_page: int = 50, q: str = "") -> Page:
    stmt = select(AuditLog)
    if q:
        stmt = stmt.where(
            or_(AuditLog.actor == q, AuditLog.object_id == q, AuditLog.action.contains(q, autoescape=True))
        )
    total = s.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = s.execute(
        stmt.order_by(AuditLog.id.desc()).limit(per_page).offset((max(1, page) - 1) * per_page)
    ).scalars()
    return Page(
        [
            {
                "id": a.id,
                "at": _iso(a.at),
                "actor": a.actor,
                "action": a.action,
                "object_type": a.object_type,
                "object_id": a.object_id,
                "before": a.before,
                "after": a.after,
                "hash": a.hash,
            }
            for a in rows
        ],
        total,
        max(1, page),
        per_page,
    )


def verify_audit(s: Session) -> dict:
    ok, bad = audit.verify(s)
    return {"ok": ok, "first_bad_id": bad, "entries": audit.count(s)}


# ── users ─────────────────────────────────────────────────────────────────────────────────────
def list_users(s: Session) -> list[dict]:
    rows = s.execute(select(User, Unit.name).outerjoin(Unit, Unit.id == User.unit_id).order_by(User.id)).all()
    return [
        {
            "id": u.id,
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "unit_id": u.unit_id,
            "unit_name": un,
            "person_id": u.person_id,
            "active": u.active,
            "created_at": _iso(u.created_at),
        }
        for u, un in rows
    ]


def policy_rows(cfg) -> list[dict]:
    """Every policy value with its meaning and source, for the read-only settings page."""
    from pydantic import BaseModel

    out: list[dict] = []

    def walk(model: BaseModel, prefix: str) -> None:
        for name, field in type(model).model_fields.items():
            val = getattr(model, name)
            key = f"{prefix}.{name}"
            if isinstance(val, BaseModel):
                walk(val, key)
            else:
                out.append(
                    {
                        "key": key,
                        "value": val,
                        "description": field.description or "",
                        "source": (field.json_schema_extra or {}).get("source", ""),
                    }
                )

    walk(cfg.policy, "policy")
    return out
