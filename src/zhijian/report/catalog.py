"""The 目录清单 (inventory list) as rows: every active group, app and public account in the scope,
with the screening recommendation, the unit's decision, the reasons and the rectification deadline.

The xlsx writer (:mod:`zhijian.report.xlsx`) and the campaign report read these rows; the round trip
(:mod:`zhijian.report.roundtrip`) reads decisions back by the ``key`` (= Recommendation id,
``object_type:object_id``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from zhijian.report.names import (
    ACTIONS_ZH,
    DECISIONS_ZH,
    FEATURES_ZH,
    GROUP_TYPES_ZH,
    platform_name,
)
from zhijian.report.scope import Scope
from zhijian.store.models import Account, App, Finding, Group, Person, Recommendation
from zhijian.workspace import Workspace

OBJECT_KINDS = ("group", "app", "account")
MODELS = {"group": Group, "app": App, "account": Account}


def rec_key(object_type: str, object_id: str) -> str:
    return f"{object_type}:{object_id}"


@dataclass
class CatalogRow:
    key: str
    object_type: str
    object_id: str
    name: str
    platform: str
    unit_id: str | None
    unit_name: str
    owner: str  # 群主 (groups) or 主办单位 (apps, accounts)
    kind: str  # 类型
    created: dt.date | None
    members: int | None
    last_active: dt.date | None
    purpose: str
    suggestion: str  # system recommendation, Chinese ('' when none)
    decision: str  # the unit's decision, Chinese ('' when none)
    reason: str
    deadline: dt.date | None
    finding_ids: list[str] = field(default_factory=list)

    @property
    def conclusion(self) -> str:
        """The decision when made, else the system's suggestion (待研判 counts as none)."""
        if self.decision:
            return self.decision
        return self.suggestion if self.suggestion in DECISIONS_ZH.values() else ""


def reason_text(reasons: Any) -> str:
    """Recommendation reasons (strings, or dicts with a Chinese text) as one line."""
    out: list[str] = []
    for r in reasons or []:
        if isinstance(r, str):
            out.append(r)
        elif isinstance(r, dict):
            for k in ("text_zh", "text", "zh", "reason", "title", "summary"):
                if r.get(k):
                    out.append(str(r[k]))
                    break
            else:
                if r.get("code") or r.get("category"):
                    out.append(str(r.get("code") or r.get("category")))
    return "；".join(dict.fromkeys(out))


def group_last_active(ws: Workspace) -> dict[str, dt.date]:
    """Day of the newest non-system message per group (from the lake)."""
    lake = ws.lake()
    if not lake.exists("messages"):
        return {}
    m = lake.table("messages")
    m = m.filter(m.kind != "system")
    t = lake.to_arrow(m.group_by("group_id").aggregate(last=m.local_ts.max()))
    return {
        g: v.date()
        for g, v in zip(t["group_id"].to_pylist(), t["last"].to_pylist(), strict=True)
        if v is not None
    }


def catalog_rows(ws: Workspace, scope: Scope) -> dict[str, list[CatalogRow]]:
    """Rows per object type (active objects of the scope), ordered by unit path then name."""
    last_group = group_last_active(ws)
    out: dict[str, list[CatalogRow]] = {k: [] for k in OBJECT_KINDS}
    with ws.store.session() as s:
        recs = {r.id: r for r in s.scalars(select(Recommendation))}
        people = dict(s.execute(select(Person.id, Person.name)).all())
        findings: dict[tuple[str, str], list[str]] = {}
        for fid, ot, oid in s.execute(
            select(Finding.id, Finding.object_type, Finding.object_id).where(Finding.active.is_(True))
        ):
            findings.setdefault((ot, oid), []).append(fid)
        names: dict[str, dict[str, str]] = {}
        for kind, model in MODELS.items():
            objs = [o for o in s.scalars(select(model)) if scope.contains(o.unit_id)]
            names[kind] = {o.id: o.name for o in objs}
            for o in objs:
                if o.status != "active":
                    continue
                rec = recs.get(rec_key(kind, o.id))
                suggestion = ACTIONS_ZH.get(rec.action, rec.action) if rec else ""
                decision = DECISIONS_ZH.get(rec.decision or "", "") if rec else ""
                if rec is None:
                    reason = ""
                elif rec.decision and rec.decision_reason:
                    reason = rec.decision_reason
                else:
                    reason = reason_text(rec.reasons)
                    if rec.action == "merge" and rec.merge_into:
                        target = rec.merge_into.split(":", 1)[-1]
                        tname = names[kind].get(target) or target
                        reason = f"建议并入“{tname}”" + (f"；{reason}" if reason else "")
                if kind == "group":
                    owner = people.get(o.owner_id, "") if o.owner_id else ""
                    gtype = GROUP_TYPES_ZH.get(o.group_type, o.group_type)
                    if o.group_type == "temporary" and o.end_date:
                        gtype += f"（至 {o.end_date.isoformat()}）"
                    created, members, last = o.created_on, o.member_count, last_group.get(o.id)
                elif kind == "app":
                    owner = scope.unit_name(o.unit_id)
                    feats = [FEATURES_ZH.get(f, f) for f in (o.features or [])]
                    gtype = "、".join(o.functions or []) + (f"（含{'、'.join(feats)}功能）" if feats else "")
                    created, members, last = o.launched_on, o.users, o.last_active_on
                else:
                    owner = scope.unit_name(o.unit_id)
                    gtype = "、".join(o.functions or [])
                    created, members, last = o.created_on, o.followers, o.last_post_on
                out[kind].append(
                    CatalogRow(
                        key=rec_key(kind, o.id),
                        object_type=kind,
                        object_id=o.id,
                        name=o.name,
                        platform=platform_name(o.platform),
                        unit_id=o.unit_id,
                        unit_name=scope.unit_name(o.unit_id),
                        owner=owner,
                        kind=gtype,
                        created=created,
                        members=members,
                        last_active=last,
                        purpose=o.purpose or "",
                        suggestion=suggestion,
                        decision=decision,
                        reason=reason,
                        deadline=rec.deadline if rec else None,
                        finding_ids=sorted(findings.get((kind, o.id), [])),
                    )
                )
    for kind in OBJECT_KINDS:
        out[kind].sort(
            key=lambda r: (scope.units[r.unit_id].path if r.unit_id in scope.units else "~", r.name)
        )
    return out
