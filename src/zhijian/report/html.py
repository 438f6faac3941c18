"""The self-contained HTML summary: figures, ECharts charts (the vendored library is inlined, so
the file opens offline) and an appendix listing the findings behind every number."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from zhijian.report.data import gather_summary
from zhijian.report.names import ACTIONS_ZH, OBJECT_TYPES_ZH, STATUSES_ZH, category_name, label_name
from zhijian.workspace import Workspace


def echarts_source() -> str:
    return (resources.files("zhijian.web") / "static" / "vendor" / "echarts.min.js").read_text(encoding="utf-8")


def _env() -> Environment:
    env = Environment(loader=PackageLoader("zhijian.report", "templates"), autoescape=select_autoescape())
    env.filters["category_name"] = category_name
    env.filters["label_name"] = label_name
    env.filters["object_type"] = lambda v: OBJECT_TYPES_ZH.get(v, v)
    env.filters["status_name"] = lambda v: STATUSES_ZH.get(v, v)
    env.filters["action_name"] = lambda v: ACTIONS_ZH.get(v, v)
    env.filters["thousands"] = lambda v: f"{v:,}"
    return env


def write_html(ws: Workspace, out: Path) -> Path:
    data = gather_summary(ws)
    charts = {
        "categories": {
            "names": [category_name(c) for c in data.findings_by_category],
            "values": list(data.findings_by_category.values()),
        },
        "weeks": data.weeks,
        "demands": [
            {"name": label_name(lab), "values": [series.get(w, 0) for w in data.weeks]}
            for lab, series in sorted(data.weekly_demands.items())
        ],
        "after_hours": [data.weekly_after_hours.get(w, 0) for w in data.weeks],
    }
    html = (
        _env()
        .get_template("summary.html.j2")
        .render(
            d=data,
            charts_json=json.dumps(charts, ensure_ascii=False).replace("</", "<\\/"),
            echarts=echarts_source(),
        )
    )
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
