"""Reports: html (self-contained, ECharts inlined), and later xlsx / docx."""

from __future__ import annotations

from pathlib import Path

from zhijian.errors import ZhijianError
from zhijian.workspace import Workspace

FORMATS = ("html",)


def write_report(ws: Workspace, fmt: str = "html", output: Path | None = None) -> Path:
    """Write a report of the workspace and return its path (default under ``<workspace>/reports``)."""
    if fmt not in FORMATS:
        raise ZhijianError(
            f"不支持的报告格式 {fmt!r}（可选：{'、'.join(FORMATS)}）", f"unknown report format {fmt!r}; use {FORMATS}"
        )
    from zhijian.report.html import write_html

    out = output or ws.reports / "summary.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_html(ws, out)
