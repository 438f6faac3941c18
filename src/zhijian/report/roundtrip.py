"""Reading a returned 目录清单 (the workbook :func:`zhijian.report.xlsx.build_inventory_xlsx` wrote)
back into the store: the 研判结论 / 理由 / 整改时限 a unit filled in land in
``Recommendation.decision`` / ``decision_reason`` / ``deadline``, each change with an audit entry.

This reader knows only zhijian's own 目录清单 layout (recognised by its hidden ``_zhijian`` marker
sheet); 摸底表 inventories from elsewhere go through :mod:`zhijian.ingest.inventory`. A workbook
scoped to a unit may only decide objects of that unit's subtree.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from zhijian.errors import DataError, ImportFormatError
from zhijian.report.names import DECISIONS_FROM_ZH
from zhijian.report.xlsx import (
    COL_DEADLINE,
    COL_DECISION,
    COL_KEY,
    COL_REASON,
    MARKER,
    MARKER_SHEET,
    SHEET_NAMES,
)
from zhijian.store import audit
from zhijian.store.models import Account, App, Group, Recommendation, Unit

MODELS = {"group": Group, "app": App, "account": Account}


@dataclass
class Decision:
    key: str  # Recommendation id: object_type:object_id
    decision: str | None  # keep | merge | remove | exempt, None = left empty
    reason: str | None
    deadline: dt.date | None
    where: str  # sheet and row, for messages


@dataclass
class CatalogImport:
    path: str
    unit_id: str | None = None
    rows: int = 0
    decided: int = 0  # rows with a decision
    changed: int = 0  # recommendations whose decision, reason or deadline changed
    created: int = 0  # recommendations created (object had none)
    unchanged: int = 0
    by_decision: dict[str, int] = field(default_factory=dict)


def is_catalog(path: Path) -> bool:
    """True for an xlsx written by zhijian's 目录清单 report (hidden marker sheet)."""
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm") or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as z:
            wbxml = z.read("xl/workbook.xml").decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError, OSError):
        return False
    if f'name="{MARKER_SHEET}"' not in wbxml:
        return False
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        return MARKER_SHEET in wb.sheetnames and wb[MARKER_SHEET]["A1"].value == MARKER
    finally:
        wb.close()


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _date(v: Any, path: str, where: str) -> dt.date | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    t = _text(v).replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").rstrip("日")
    try:
        y, m, d = (int(x) for x in t.split("-"))
        return dt.date(y, m, d)
    except ValueError:
        raise ImportFormatError(
            f"整改时限“{_text(v)}”不是日期（应为 2026-06-30）",
            f"deadline {_text(v)!r} is not a date (expected YYYY-MM-DD)",
            path=path,
            where=where,
        ) from None


def read_catalog(path: Path) -> tuple[str | None, list[Decision]]:
    """(unit the workbook was scoped to, the rows' decisions) — no store access."""
    from openpyxl import load_workbook

    spath = str(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise ImportFormatError(
            f"无法读取目录清单：{e}", f"cannot read the catalog workbook: {e}", path=spath
        ) from None
    out: list[Decision] = []
    try:
        marker = wb[MARKER_SHEET]
        unit_id = _text(marker["A3"].value) or None
        for sname in SHEET_NAMES.values():
            if sname not in wb.sheetnames:
                raise ImportFormatError(
                    f"目录清单缺少工作表“{sname}”", f"catalog workbook lacks the sheet {sname!r}", path=spath
                )
            rows = wb[sname].iter_rows(values_only=True)
            idx: dict[str, int] | None = None
            line = 0
            for row in rows:
                line += 1
                cells = [_text(c) for c in row]
                if idx is None:
                    if COL_KEY in cells and COL_DECISION in cells:
                        idx = {h: i for i, h in enumerate(cells) if h}
                        missing = [h for h in (COL_REASON, COL_DEADLINE) if h not in idx]
                        if missing:
                            raise ImportFormatError(
                                f"工作表“{sname}”缺少列：{'、'.join(missing)}",
                                f"sheet {sname!r} lacks the columns {missing}",
                                path=spath,
                                where=f"第 {line} 行",
                            )
                    elif line > 10:
                        break
                    continue

                def get(h: str, row=row, idx=idx) -> Any:
                    return row[idx[h]] if idx[h] < len(row) else None

                key = _text(get(COL_KEY))
                where = f"工作表“{sname}”第 {line} 行"
                if not key:
                    if any(cells):
                        raise ImportFormatError(
                            "该行没有对象编号（隐藏列）：请勿在目录清单中新增行或修改隐藏列",
                            "row without an object key: rows must not be added and hidden columns not edited",
                            path=spath,
                            where=where,
                        )
                    continue
                dec_text = _text(get(COL_DECISION))
                decision = None
                if dec_text:
                    decision = DECISIONS_FROM_ZH.get(dec_text)
                    if decision is None:
                        raise ImportFormatError(
                            f"研判结论“{dec_text}”无法识别（应为 保留、合并 或 清除）",
                            f"unknown decision {dec_text!r}: expected 保留, 合并 or 清除",
                            path=spath,
                            where=where,
                        )
                out.append(
                    Decision(
                        key=key,
                        decision=decision,
                        reason=_text(get(COL_REASON)) or None,
                        deadline=_date(get(COL_DEADLINE), spath, where),
                        where=where,
                    )
                )
            if idx is None:
                raise ImportFormatError(
                    f"工作表“{sname}”中找不到表头（{COL_KEY}、{COL_DECISION}）",
                    f"sheet {sname!r} has no header row with {COL_KEY} and {COL_DECISION}",
                    path=spath,
                )
    finally:
        wb.close()
    return unit_id, out


def apply_decisions(session, path: Path, actor: str = "import") -> CatalogImport:
    """Read the workbook and write its decisions in the caller's transaction (all or nothing)."""
    unit_id, decisions = read_catalog(path)
    spath = str(path)
    res = CatalogImport(path=spath, unit_id=unit_id, rows=len(decisions))
    allowed: set[str] | None = None
    if unit_id:
        root = session.get(Unit, unit_id)
        if root is None:
            raise DataError(
                f"目录清单所属单位“{unit_id}”不存在", f"catalog unit {unit_id!r} is unknown", path=spath
            )
        allowed = set(session.scalars(select(Unit.id).where(Unit.path.startswith(root.path))))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for d in decisions:
        otype, _, oid = d.key.partition(":")
        model = MODELS.get(otype)
        obj = session.get(model, oid) if model is not None else None
        if obj is None:
            raise DataError(
                f"对象编号“{d.key}”在平台中不存在（目录清单是否来自本工作区？）",
                f"object {d.key!r} does not exist in this workspace",
                path=spath,
                where=d.where,
            )
        if allowed is not None and obj.unit_id not in allowed:
            raise DataError(
                f"对象“{obj.name}”不属于本目录清单的单位范围，不能在此研判",
                f"object {d.key!r} is outside the catalog's unit scope",
                path=spath,
                where=d.where,
            )
        if d.decision is None:
            continue
        res.decided += 1
        res.by_decision[d.decision] = res.by_decision.get(d.decision, 0) + 1
        rec = session.get(Recommendation, d.key)
        if rec is None:
            rec = Recommendation(
                id=d.key,
                object_type=otype,
                object_id=oid,
                unit_id=obj.unit_id,
                action="review",
                reasons=[],
                evidence={},
                updated_at=now,
            )
            session.add(rec)
            res.created += 1
            before = None
        else:
            before = {
                "decision": rec.decision,
                "decision_reason": rec.decision_reason,
                "deadline": rec.deadline.isoformat() if rec.deadline else None,
            }
        reason = d.reason if d.reason is not None else rec.decision_reason
        deadline = d.deadline if d.deadline is not None else rec.deadline
        if before is not None and (rec.decision, rec.decision_reason, rec.deadline) == (
            d.decision,
            reason,
            deadline,
        ):
            res.unchanged += 1
            continue
        rec.decision, rec.decision_reason, rec.deadline = d.decision, reason, deadline
        rec.decided_at = now
        rec.updated_at = now
        res.changed += 1
        after = {
            "decision": d.decision,
            "decision_reason": reason,
            "deadline": deadline.isoformat() if deadline else None,
            "source": Path(spath).name,
        }
        audit.record(session, actor, "recommendation.decide", "recommendation", d.key, before, after)
    session.flush()
    return res


def import_catalog(ws, path: Path, actor: str = "import") -> CatalogImport:
    """Import a returned 目录清单 into the workspace's store in one transaction."""
    with ws.store.session() as s:
        return apply_decisions(s, Path(path), actor)
