"""What a report may show: the unit subtree it is scoped to, the period, and the privacy rules.

A report scoped to a unit lists only objects, findings and figures of that unit and its
descendants; names of units outside the scope are replaced by "某单位" in quoted message text.
Unit figures need at least ``policy.privacy.min_group_size`` people; figures about individual
cadres are never shown (reports read ``indicators`` at group, unit and county scope only).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import select

from zhijian.errors import ZhijianError
from zhijian.store.models import Person, Unit
from zhijian.workspace import Workspace

REDACTED_UNIT = "某单位"


class ReportError(ZhijianError):
    """A report request that cannot be served (unknown unit, bad dates, missing data)."""


@dataclass
class Scope:
    unit_id: str | None  # None: the whole workspace
    unit_ids: set[str] | None  # the subtree (None: everything)
    units: dict[str, Unit]  # every unit in scope, by id
    title: str  # workspace name, or the unit's name
    start: dt.date | None = None
    end: dt.date | None = None
    min_group_size: int = 5
    people_per_unit: dict[str, int] = field(default_factory=dict)  # people of the unit's subtree
    _outside: list[str] = field(default_factory=list)  # names of units outside the scope
    _outside_re: re.Pattern | None = None

    def contains(self, unit_id: str | None) -> bool:
        if self.unit_ids is None:
            return True
        return unit_id is not None and unit_id in self.unit_ids

    def unit_name(self, unit_id: str | None) -> str:
        if not unit_id:
            return ""
        u = self.units.get(unit_id)
        return u.name if u is not None else REDACTED_UNIT

    def unit_figures_allowed(self, unit_id: str) -> bool:
        return self.people_per_unit.get(unit_id, 0) >= self.min_group_size

    def redact(self, text: str | None) -> str:
        """Text with the names of units outside the scope replaced (for quoted messages)."""
        if not text:
            return ""
        if self._outside_re is None:
            return text
        return self._outside_re.sub(REDACTED_UNIT, text)

    def in_period(self, d: dt.date | None) -> bool:
        if d is None:
            return True
        return (self.start is None or d >= self.start) and (self.end is None or d <= self.end)


def resolve_scope(
    ws: Workspace, unit_id: str | None = None, start: dt.date | None = None, end: dt.date | None = None
) -> Scope:
    if start and end and start > end:
        raise ReportError(f"起始日期 {start} 晚于截止日期 {end}", f"--from {start} is after --to {end}")
    with ws.store.session() as s:
        all_units = {u.id: u for u in s.scalars(select(Unit))}
        people_by_unit: dict[str, int] = {}
        for uid in s.scalars(select(Person.unit_id)):
            if uid is not None:
                people_by_unit[uid] = people_by_unit.get(uid, 0) + 1
        for u in all_units.values():
            s.expunge(u)
    if unit_id is not None:
        root = all_units.get(unit_id)
        if root is None:
            by_name = [u for u in all_units.values() if u.name == unit_id]
            if len(by_name) == 1:
                root = by_name[0]
            else:
                raise ReportError(
                    f"找不到单位“{unit_id}”（请填写单位编码或唯一的单位名称）",
                    f"unknown unit {unit_id!r}: give a unit code or a unique unit name",
                )
        units = {k: u for k, u in all_units.items() if u.path.startswith(root.path)}
        title = root.name
        unit_ids: set[str] | None = set(units)
        unit_id = root.id
    else:
        units, title, unit_ids = all_units, ws.config.workspace.name, None
    # people of each unit's subtree (unit figures are about everyone under the unit)
    subtree_people: dict[str, int] = {}
    for u in units.values():
        subtree_people[u.id] = sum(
            n
            for uid, n in people_by_unit.items()
            if uid in all_units and all_units[uid].path.startswith(u.path)
        )
    outside = sorted(
        {u.name for k, u in all_units.items() if k not in units} - {u.name for u in units.values()},
        key=len,
        reverse=True,
    )
    sc = Scope(
        unit_id=unit_id,
        unit_ids=unit_ids,
        units=units,
        title=title,
        start=start,
        end=end,
        min_group_size=ws.config.policy.privacy.min_group_size,
        people_per_unit=subtree_people,
        _outside=outside,
    )
    if outside:
        sc._outside_re = re.compile("|".join(re.escape(n) for n in outside if n))
    return sc
