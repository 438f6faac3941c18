"""The 目录清单 workbook (XlsxWriter): a summary sheet per unit, one sheet per object type, the
findings behind the counts, fill-in instructions, and a hidden marker sheet for the round trip.

Object sheets: a title row, the header row (frozen, with filters), one row per object. Hidden
columns at the right carry the object key (Recommendation id), the unit code and the conclusion
used by the summary's formulas (研判结论 when filled in, else the system's suggestion), so the
summary recounts itself when a unit edits its decisions. Formulas are written with their values.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import xlsxwriter

from zhijian.report.catalog import OBJECT_KINDS, CatalogRow, catalog_rows
from zhijian.report.names import OBJECT_TYPES_ZH, STATUSES_ZH, category_name
from zhijian.report.scope import Scope, resolve_scope
from zhijian.store.queries import list_findings
from zhijian.workspace import Workspace

MARKER_SHEET = "_zhijian"
MARKER = "zhijian-catalog"
FORMAT_VERSION = 1
TITLE_ROW = 0
HEADER_ROW = 1  # 0-based; data starts on the next row
SHEET_NAMES = {"group": "工作群", "app": "政务应用", "account": "政务公众号"}
DECISION_CHOICES = ["保留", "合并", "清除"]
#: Column headers used by the round trip (the reader finds them by name, not by position).
COL_KEY, COL_DECISION, COL_REASON, COL_DEADLINE = "对象编号", "研判结论", "理由", "整改时限"


@dataclass(frozen=True)
class Col:
    header: str
    width: float
    hidden: bool = False


def columns(kind: str) -> list[Col]:
    owner = "群主" if kind == "group" else "主办单位"
    members = {"group": "成员数", "app": "用户数", "account": "粉丝数"}[kind]
    return [
        Col("序号", 6),
        Col("名称", 28),
        Col("平台", 10),
        Col("所属单位", 18),
        Col(owner, 14),
        Col("类型", 14),
        Col("建立时间", 12),
        Col(members, 9),
        Col("最近活跃", 12),
        Col("用途", 26),
        Col("系统建议", 10),
        Col(COL_DECISION, 11),
        Col(COL_REASON, 40),
        Col(COL_DEADLINE, 12),
        Col("问题线索数", 10),
        Col(COL_KEY, 2, hidden=True),
        Col("单位编码", 2, hidden=True),
        Col("采用结论", 2, hidden=True),
    ]


def _col_letter(i: int) -> str:
    return xlsxwriter.utility.xl_col_to_name(i)


def build_inventory_xlsx(ws: Workspace, unit_id: str | None = None, scope: Scope | None = None) -> bytes:
    """The 目录清单 of the workspace (or of a unit's subtree) as xlsx bytes."""
    scope = scope or resolve_scope(ws, unit_id)
    rows = catalog_rows(ws, scope)
    findings, _ = list_findings(ws.store, unit_id=scope.unit_id, limit=None)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
    )
    wb.set_properties(
        {
            "title": f"{scope.title}政务移动互联网应用程序、政务公众账号和工作群组目录清单",
            "author": "zhijian",
            "comments": MARKER,
        }
    )
    f = _formats(wb)
    summary = wb.add_worksheet("汇总")
    sheets = {k: wb.add_worksheet(SHEET_NAMES[k]) for k in OBJECT_KINDS}
    for kind in OBJECT_KINDS:
        _object_sheet(sheets[kind], kind, rows[kind], scope, f)
    _summary_sheet(summary, rows, scope, f)
    _findings_sheet(wb.add_worksheet("问题线索"), findings, f)
    _readme_sheet(wb.add_worksheet("填表说明"), f)
    marker = wb.add_worksheet(MARKER_SHEET)
    marker.write_string(0, 0, MARKER)
    marker.write_number(1, 0, FORMAT_VERSION)
    marker.write_string(2, 0, scope.unit_id or "")
    marker.write_string(3, 0, dt.datetime.now().replace(microsecond=0).isoformat())
    marker.hide()
    summary.activate()
    wb.close()
    return buf.getvalue()


def _formats(wb) -> dict:
    base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter", "border": 1}
    return {
        "title": wb.add_format(
            {"font_name": "方正小标宋简体", "font_size": 16, "align": "center", "valign": "vcenter"}
        ),
        "head": wb.add_format(
            {
                **base,
                "bold": True,
                "bg_color": "#D9E1F2",
                "align": "center",
                "text_wrap": True,
                "font_name": "黑体",
            }
        ),
        "text": wb.add_format({**base, "text_wrap": True}),
        "center": wb.add_format({**base, "align": "center"}),
        "num": wb.add_format({**base, "num_format": "#,##0"}),
        "date": wb.add_format({**base, "num_format": "yyyy-mm-dd", "align": "center"}),
        "pct": wb.add_format({**base, "num_format": "0.0%"}),
        "edit": wb.add_format({**base, "bg_color": "#FFF2CC", "align": "center"}),
        "edit_text": wb.add_format({**base, "bg_color": "#FFF2CC", "text_wrap": True}),
        "edit_date": wb.add_format(
            {**base, "bg_color": "#FFF2CC", "num_format": "yyyy-mm-dd", "align": "center"}
        ),
        "note": wb.add_format({"font_name": "宋体", "font_size": 10, "text_wrap": True, "valign": "top"}),
        "bold": wb.add_format({**base, "bold": True}),
        "bold_pct": wb.add_format({**base, "bold": True, "num_format": "0.0%"}),
    }


def _date(sheet, r: int, c: int, d: dt.date | None, fmt) -> None:
    if d is None:
        sheet.write_blank(r, c, None, fmt)
    else:
        sheet.write_datetime(r, c, dt.datetime(d.year, d.month, d.day), fmt)


def _object_sheet(sheet, kind: str, rows: list[CatalogRow], scope: Scope, f: dict) -> None:
    cols = columns(kind)
    ncol = len(cols)
    sheet.merge_range(
        TITLE_ROW, 0, TITLE_ROW, 14, f"{scope.title}{OBJECT_TYPES_ZH[kind]}目录清单", f["title"]
    )
    sheet.set_row(TITLE_ROW, 30)
    sheet.set_row(HEADER_ROW, 30)
    for i, c in enumerate(cols):
        sheet.write_string(HEADER_ROW, i, c.header, f["head"])
        sheet.set_column(i, i, c.width, None, {"hidden": True} if c.hidden else {})
    idx = {c.header: i for i, c in enumerate(cols)}
    dec, sug = _col_letter(idx[COL_DECISION]), _col_letter(idx["系统建议"])
    for n, row in enumerate(rows):
        r = HEADER_ROW + 1 + n
        excel_row = r + 1
        sheet.write_number(r, 0, n + 1, f["center"])
        sheet.write_string(r, 1, row.name, f["text"])
        sheet.write_string(r, 2, row.platform, f["center"])
        sheet.write_string(r, 3, row.unit_name, f["text"])
        sheet.write_string(r, 4, row.owner, f["text"])
        sheet.write_string(r, 5, row.kind, f["text"])
        _date(sheet, r, 6, row.created, f["date"])
        if row.members is None:
            sheet.write_blank(r, 7, None, f["num"])
        else:
            sheet.write_number(r, 7, row.members, f["num"])
        _date(sheet, r, 8, row.last_active, f["date"])
        sheet.write_string(r, 9, row.purpose, f["text"])
        sheet.write_string(r, 10, row.suggestion, f["center"])
        sheet.write_string(r, 11, row.decision, f["edit"])
        sheet.write_string(r, 12, row.reason, f["edit_text"])
        _date(sheet, r, 13, row.deadline, f["edit_date"])
        sheet.write_number(r, 14, len(row.finding_ids), f["center"])
        sheet.write_string(r, 15, row.key)
        sheet.write_string(r, 16, row.unit_id or "")
        sheet.write_formula(
            r,
            17,
            f'=IF({dec}{excel_row}<>"",{dec}{excel_row},IF(OR({sug}{excel_row}="待研判",'
            f'{sug}{excel_row}="豁免"),"",{sug}{excel_row}))',
            None,
            row.conclusion,
        )
    last = HEADER_ROW + max(len(rows), 1)
    sheet.freeze_panes(HEADER_ROW + 1, 2)
    sheet.autofilter(HEADER_ROW, 0, last, ncol - 1)
    # the decision column accepts only the list (room for rows a unit adds is not given: ids come from zhijian)
    sheet.data_validation(
        HEADER_ROW + 1,
        idx[COL_DECISION],
        HEADER_ROW + max(len(rows), 1),
        idx[COL_DECISION],
        {
            "validate": "list",
            "source": DECISION_CHOICES,
            "error_title": "研判结论",
            "error_message": "请从下拉列表中选择：保留、合并或清除",
            "input_title": "研判结论",
            "input_message": "保留 / 合并 / 清除",
        },
    )
    sheet.data_validation(
        HEADER_ROW + 1,
        idx[COL_DEADLINE],
        HEADER_ROW + max(len(rows), 1),
        idx[COL_DEADLINE],
        {
            "validate": "date",
            "criteria": ">=",
            "value": dt.datetime(2000, 1, 1),
            "error_message": "整改时限应为日期，如 2026-06-30",
        },
    )
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.repeat_rows(HEADER_ROW)
    sheet.fit_to_pages(1, 0)


#: Summary columns: (header, conclusion counted or None for a computed column)
SUMMARY_COLS = ["单位", "对象类型", "总数", "保留", "合并", "清除", "未研判", "拟精简率"]


def _summary_sheet(sheet, rows: dict[str, list[CatalogRow]], scope: Scope, f: dict) -> None:
    sheet.merge_range(0, 0, 0, len(SUMMARY_COLS) - 1, f"{scope.title}目录清单汇总（按单位）", f["title"])
    sheet.set_row(0, 30)
    for i, h in enumerate(SUMMARY_COLS):
        sheet.write_string(HEADER_ROW, i, h, f["head"])
    sheet.set_column(0, 0, 26)
    sheet.set_column(1, 1, 12)
    sheet.set_column(2, 7, 10)
    r = HEADER_ROW + 1
    key_col, unit_col, concl_col = 15, 16, 17
    for kind in OBJECT_KINDS:
        kr = rows[kind]
        if not kr:
            continue
        sname = SHEET_NAMES[kind]
        first, last_ = HEADER_ROW + 2, HEADER_ROW + 1 + len(kr)

        def rng(c: int, sname: str = sname, first: int = first, last_: int = last_) -> str:
            return f"'{sname}'!${_col_letter(c)}${first}:${_col_letter(c)}${last_}"

        unit_order: list[str] = []
        for row in kr:
            if (row.unit_id or "") not in unit_order:
                unit_order.append(row.unit_id or "")
        for uid in [*unit_order, None]:
            sub = kr if uid is None else [x for x in kr if (x.unit_id or "") == uid]
            label = "合计" if uid is None else (scope.unit_name(uid) if uid else "（未填单位）")
            bold = uid is None
            excel = r + 1
            crit = "" if uid is None else f',{rng(unit_col)},"{uid}"'
            total = len(sub)
            counts = {c: sum(1 for x in sub if x.conclusion == c) for c in DECISION_CHOICES}
            sheet.write_string(r, 0, label, f["bold"] if bold else f["text"])
            sheet.write_string(r, 1, OBJECT_TYPES_ZH[kind], f["center"])
            sheet.write_formula(r, 2, f'=COUNTIFS({rng(key_col)},"?*"{crit})', f["num"], total)
            for j, c in enumerate(DECISION_CHOICES):
                sheet.write_formula(r, 3 + j, f'=COUNTIFS({rng(concl_col)},"{c}"{crit})', f["num"], counts[c])
            sheet.write_formula(
                r, 6, f"=C{excel}-D{excel}-E{excel}-F{excel}", f["num"], total - sum(counts.values())
            )
            rate = (counts["合并"] + counts["清除"]) / total if total else 0.0
            sheet.write_formula(
                r,
                7,
                f'=IF(C{excel}=0,"",(E{excel}+F{excel})/C{excel})',
                f["bold_pct"] if bold else f["pct"],
                rate,
            )
            r += 1
        r += 1
    sheet.merge_range(r, 0, r, len(SUMMARY_COLS) - 1, "", f["note"])
    sheet.write_string(
        r,
        0,
        "说明：拟精简率 =（合并 + 清除）÷ 总数。结论以“研判结论”为准，未填写的按系统建议；"
        "“待研判”计入未研判。各数字对应的对象见各对象工作表（按单位编码筛选），"
        "问题线索见“问题线索”工作表。",
        f["note"],
    )
    sheet.set_row(r, 45)
    sheet.freeze_panes(HEADER_ROW + 1, 0)
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(HEADER_ROW)


def _findings_sheet(sheet, findings: list[dict], f: dict) -> None:
    heads = [
        ("线索编号", 22),
        ("类别", 16),
        ("单位", 18),
        ("对象类型", 10),
        ("对象编号", 18),
        ("问题", 50),
        ("状态", 10),
        ("整改时限", 12),
        ("证据消息数", 10),
    ]
    for i, (h, w) in enumerate(heads):
        sheet.write_string(0, i, h, f["head"])
        sheet.set_column(i, i, w)
    for n, x in enumerate(findings, start=1):
        sheet.write_string(n, 0, x["id"], f["text"])
        sheet.write_string(n, 1, category_name(x["category"]), f["text"])
        sheet.write_string(n, 2, x["unit_name"] or "", f["text"])
        sheet.write_string(n, 3, OBJECT_TYPES_ZH.get(x["object_type"], x["object_type"]), f["center"])
        sheet.write_string(n, 4, x["object_id"], f["text"])
        sheet.write_string(n, 5, x["title"], f["text"])
        sheet.write_string(n, 6, STATUSES_ZH.get(x["status"], x["status"]), f["center"])
        _date(sheet, n, 7, x["deadline"], f["date"])
        sheet.write_number(n, 8, int((x["evidence"] or {}).get("message_count") or 0), f["num"])
    sheet.freeze_panes(1, 1)
    sheet.autofilter(0, 0, max(len(findings), 1), len(heads) - 1)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)


README = [
    "填表说明",
    "1. 请在各对象工作表的“研判结论”列（黄色）从下拉列表选择：保留、合并或清除；“理由”列填写研判理由；"
    "“整改时限”列填写日期（如 2026-06-30）。",
    "2. “系统建议”列为指尖平台根据活跃度、成员重叠、用途等作出的建议，仅供参考，以“研判结论”为准。",
    "3. 请勿增删行、勿修改隐藏列（对象编号、单位编码），否则无法导回平台。",
    "4. 填好后将本文件报回，平台以“zhijian import 本文件”或网页“导入”功能导入，研判结论自动记入。",
    "5. “汇总”工作表按单位统计各类对象的研判结论和拟精简率，填写研判结论后自动重算。",
]


def _readme_sheet(sheet, f: dict) -> None:
    sheet.set_column(0, 0, 110)
    for i, line in enumerate(README):
        sheet.write_string(i, 0, line, f["title"] if i == 0 else f["note"])
