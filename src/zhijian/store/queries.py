"""Read queries over the store shared by the CLI, the reports and the web application."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from zhijian.store import Store
from zhijian.store.models import Finding, Unit


def unit_subtree_ids(session, unit_id: str) -> list[str]:
    """The unit and all its descendants (through the materialised path)."""
    u = session.get(Unit, unit_id)
    if u is None:
        return []
    return list(session.scalars(select(Unit.id).where(Unit.path.startswith(u.path))))


def list_findings(
    store: Store,
    *,
    category: str | None = None,
    unit_id: str | None = None,
    status: str | None = None,
    active_only: bool = True,
    limit: int | None = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Findings as dicts (newest analysis first, then severity), with the unit's name; and the total."""
    U = aliased(Unit)
    with store.session() as s:
        q = select(Finding, U.name).outerjoin(U, U.id == Finding.unit_id)
        if active_only:
            q = q.where(Finding.active.is_(True))
        if category:
            q = q.where(Finding.category == category)
        if status:
            q = q.where(Finding.status == status)
        if unit_id:
            q = q.where(Finding.unit_id.in_(unit_subtree_ids(s, unit_id)))
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        sev = {"high": 0, "medium": 1, "low": 2}
        q = q.order_by(Finding.category, Finding.period.desc(), Finding.id).offset(offset)
        if limit:
            q = q.limit(limit)
        rows = []
        for f, uname in s.execute(q).all():
            rows.append(
                {
                    "id": f.id,
                    "category": f.category,
                    "rule_id": f.rule_id,
                    "object_type": f.object_type,
                    "object_id": f.object_id,
                    "unit_id": f.unit_id,
                    "unit_name": uname,
                    "period": f.period,
                    "severity": f.severity,
                    "severity_rank": sev.get(f.severity, 1),
                    "title": f.title,
                    "summary": f.summary,
                    "status": f.status,
                    "deadline": f.deadline,
                    "evidence": f.evidence,
                    "policy": f.policy,
                }
            )
    return rows, int(total)


def findings_by_category(store: Store, unit_ids: list[str] | None = None) -> dict[str, int]:
    with store.session() as s:
        q = select(Finding.category, func.count()).where(Finding.active.is_(True)).group_by(Finding.category)
        if unit_ids is not None:
            q = q.where(Finding.unit_id.in_(unit_ids))
        return {c: int(n) for c, n in s.execute(q).all()}
