"""Reports officials send: the 目录清单 (xlsx, re-importable with decisions), the 典型问题通报
(docx), the campaign report (html / docx) and the self-contained html summary.

Plain functions for the web app (each scoped to a unit's subtree when ``unit_id`` is given):
:func:`build_inventory_xlsx`, :func:`build_notice_docx`, :func:`build_campaign`. The CLI calls
:func:`write_report`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from zhijian.errors import ZhijianError
from zhijian.workspace import Workspace

FORMATS = ("html", "xlsx", "docx")
KINDS = ("summary", "inventory", "notice", "campaign")
#: which kinds each format can produce (the first is the default)
KIND_FORMATS = {
    "inventory": ("xlsx",),
    "notice": ("docx",),
    "campaign": ("html", "docx"),
    "summary": ("html",),
}
DEFAULT_KIND = {"html": "summary", "xlsx": "inventory", "docx": "notice"}


def build_inventory_xlsx(ws: Workspace, unit_id: str | None = None) -> bytes:
    from zhijian.report.xlsx import build_inventory_xlsx as build

    return build(ws, unit_id)


def build_notice_docx(ws: Workspace, unit_id: str | None = None, **kw) -> bytes:
    """kw: date, deadline, start, end, doc_number (see :func:`zhijian.report.notice.build_notice_docx`)."""
    from zhijian.report.notice import build_notice_docx as build

    return build(ws, unit_id, **kw)


def build_campaign(
    ws: Workspace, fmt: str, campaign_date: dt.date | str, unit_id: str | None = None, **kw
) -> bytes:
    from zhijian.report.campaign import build_campaign as build

    return build(ws, fmt, campaign_date, unit_id, **kw)


def write_report(
    ws: Workspace,
    fmt: str = "html",
    output: Path | None = None,
    *,
    kind: str | None = None,
    unit_id: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    campaign: dt.date | None = None,
) -> Path:
    """Write a report of the workspace and return its path (default under ``<workspace>/reports``)."""
    if fmt not in FORMATS:
        raise ZhijianError(
            f"不支持的报告格式 {fmt!r}（可选：{'、'.join(FORMATS)}）",
            f"unknown report format {fmt!r}; use {FORMATS}",
        )
    kind = kind or ("campaign" if campaign and fmt == "docx" else DEFAULT_KIND[fmt])
    if kind not in KINDS:
        raise ZhijianError(
            f"不支持的报告类型 {kind!r}（可选：{'、'.join(KINDS)}）", f"unknown report kind {kind!r}"
        )
    if fmt not in KIND_FORMATS[kind]:
        raise ZhijianError(
            f"报告类型 {kind} 只能生成 {'、'.join(KIND_FORMATS[kind])} 格式",
            f"report kind {kind} is available as {KIND_FORMATS[kind]}",
        )
    if kind == "campaign" and campaign is None:
        raise ZhijianError(
            "整治成效报告需要整治开始日期：--campaign 2026-04-06", "campaign report needs --campaign DATE"
        )
    if kind == "summary" and unit_id:
        raise ZhijianError(
            "总览报告不分单位；按单位请用 --kind campaign、notice 或 inventory",
            "the summary is workspace-wide; use --kind campaign, notice or inventory with --unit",
        )
    suffix = f"-{unit_id}" if unit_id else ""
    out = output or ws.reports / f"{kind}{suffix}.{fmt}"
    out.parent.mkdir(parents=True, exist_ok=True)
    if kind == "summary":
        from zhijian.report.html import write_html

        return write_html(ws, out, campaign)
    if kind == "inventory":
        data = build_inventory_xlsx(ws, unit_id)
    elif kind == "notice":
        data = build_notice_docx(ws, unit_id, start=start, end=end)
    else:
        data = build_campaign(ws, fmt, campaign, unit_id, start=start, end=end)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    return out
