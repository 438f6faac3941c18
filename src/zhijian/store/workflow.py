"""The rectification loop of a finding (整改闭环), which GlobaLeaks-style intake tools lack.

::

    open ──assign(unit, deadline)──► assigned ──start──► rectifying ──submit(evidence)──► submitted
      ▲                                 ▲                                                  │
      └──────────── close ◄── verified ◄┴── verify ────────────────────────────────────────┘
                                  reopened ◄── reopen (from submitted, verified or closed) ──┘

Every transition writes a :class:`FindingEvent` and an audit entry in the same transaction.
Which role may fire which transition is data (:data:`TRANSITIONS`); whether the user may see the
finding at all (unit scope) is checked by the caller before calling :func:`apply`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from zhijian.errors import ZhijianError
from zhijian.store import audit
from zhijian.store.models import Finding, FindingEvent, Unit


class WorkflowError(ZhijianError):
    """A transition that is not allowed from the finding's status or for the user's role."""


@dataclass(frozen=True)
class Transition:
    action: str
    label: str  # Chinese button text
    from_statuses: tuple[str, ...]
    to_status: str | None  # None: no status change (comment)
    roles: tuple[str, ...]
    note_required: bool = False


OFFICE = ("admin", "supervisor")
TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("assign", "交办", ("open", "assigned", "reopened"), "assigned", OFFICE),
        Transition("start", "开始整改", ("assigned", "reopened"), "rectifying", OFFICE + ("liaison",)),
        Transition(
            "submit",
            "提交整改材料",
            ("assigned", "rectifying", "reopened"),
            "submitted",
            OFFICE + ("liaison",),
            True,
        ),
        Transition("verify", "核验通过", ("submitted",), "verified", OFFICE),
        Transition("reopen", "退回重新整改", ("submitted", "verified", "closed"), "reopened", OFFICE, True),
        Transition("close", "办结", ("open", "verified"), "closed", OFFICE, True),
        Transition(
            "comment",
            "添加备注",
            ("open", "assigned", "rectifying", "submitted", "verified", "reopened", "closed"),
            None,
            OFFICE + ("liaison", "owner"),
            True,
        ),
    )
}

STATUS_ZH = {
    "open": "待处理",
    "assigned": "已交办",
    "rectifying": "整改中",
    "submitted": "待核验",
    "verified": "已核验",
    "reopened": "已退回",
    "closed": "已办结",
}
#: Statuses in which a passed deadline makes the finding overdue.
PENDING = ("assigned", "rectifying", "reopened")


def is_overdue(f: Finding, today: dt.date | None = None) -> bool:
    today = today or dt.date.today()
    return f.deadline is not None and f.status in PENDING and f.deadline < today


def allowed_actions(f: Finding, role: str) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if f.status in t.from_statuses and role in t.roles]


def snapshot(f: Finding) -> dict:
    return {
        "status": f.status,
        "assignee_unit_id": f.assignee_unit_id,
        "deadline": f.deadline.isoformat() if f.deadline else None,
    }


def apply(
    session: Session,
    finding: Finding,
    action: str,
    *,
    actor: str,
    role: str,
    user_id: int | None = None,
    note: str = "",
    assignee_unit_id: str | None = None,
    deadline: dt.date | None = None,
    attachment: str | None = None,
    now: dt.datetime | None = None,
) -> FindingEvent:
    """Fire ``action`` on ``finding``; raises :class:`WorkflowError` when it is not allowed."""
    t = TRANSITIONS.get(action)
    if t is None:
        raise WorkflowError(f"未知的操作：{action}", f"unknown workflow action {action!r}")
    if role not in t.roles:
        raise WorkflowError(f"当前角色无权执行“{t.label}”", f"role {role} may not {action}")
    if finding.status not in t.from_statuses:
        raise WorkflowError(
            f"问题线索当前状态为“{STATUS_ZH.get(finding.status, finding.status)}”，不能执行“{t.label}”",
            f"cannot {action} a finding in status {finding.status}",
        )
    note = (note or "").strip()
    if t.note_required and not note and not (action == "close" and finding.status == "verified"):
        raise WorkflowError(f"“{t.label}”需要填写说明", f"{action} requires a note")
    if action == "submit" and not note and not attachment:
        raise WorkflowError("提交整改需要说明或附件", "submit requires evidence")
    before = snapshot(finding)
    if action == "assign":
        if not assignee_unit_id or session.get(Unit, assignee_unit_id) is None:
            raise WorkflowError("交办需要选择承办单位", "assign requires an existing assignee unit")
        if deadline is None:
            raise WorkflowError("交办需要设定整改期限", "assign requires a deadline")
        finding.assignee_unit_id = assignee_unit_id
        finding.deadline = deadline
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    from_status = finding.status
    if t.to_status is not None:
        finding.status = t.to_status
        finding.updated_at = now
    ev = FindingEvent(
        finding_id=finding.id,
        at=now,
        user_id=user_id,
        action=action,
        from_status=from_status,
        to_status=t.to_status,
        note=note,
        attachment=attachment,
    )
    session.add(ev)
    after = snapshot(finding)
    if note:
        after["note"] = note
    if attachment:
        after["attachment"] = attachment
    audit.record(session, actor, f"finding.{action}", "finding", finding.id, before, after)
    return ev
