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
    base = resources.files("zhijian.web") / "static" / "vendor"
    for p in (base / "echarts.min.js", base / "echarts" / "echarts.min.js"):
        if p.is_file():
            return p.read_text(encoding="utf-8")
    raise FileNotFoundError("vendored echarts.min.js not found under zhijian/web/static/vendor")


def _env() -> Environment:
    env = Environment(loader=PackageLoader("zhijian.report", "templates"), autoescape=select_autoescape())
    env.filters["category_name"] = category_name
    env.filters["label_name"] = label_name
    env.filters["object_type"] = lambda v: OBJECT_TYPES_ZH.get(v, v)
    env.filters["status_name"] = lambda v: STATUSES_ZH.get(v, v)
    env.filters["action_name"] = lambda v: ACTIONS_ZH.get(v, v)
    env.filters["thousands"] = lambda v: f"{v:,}"
    return env


def screening_and_burden(ws: Workspace, campaign=None) -> dict:
    """The summary's screening and burden section: conclusions per object type, weekly burden trend
    lines, before/after bars (with a campaign date) and a unit tree map of burden."""
    from zhijian.report.campaign import CampaignData, _tree
    from zhijian.report.catalog import OBJECT_KINDS, catalog_rows
    from zhijian.report.figures import burden, metric_name
    from zhijian.report.scope import resolve_scope

    scope = resolve_scope(ws)
    rows = catalog_rows(ws, scope)
    screening = {
        "types": [OBJECT_TYPES_ZH[k] for k in OBJECT_KINDS],
        "series": [
            {
                "name": c or "待研判",
                "values": [sum(1 for r in rows[k] if r.conclusion == c) for k in OBJECT_KINDS],
            }
            for c in ("保留", "合并", "清除", "")
        ],
    }
    b = burden(ws, scope, campaign)
    out = {"screening": screening, "burden": None}
    if b is not None and b.series:
        tree_src = CampaignData(scope, campaign, None, [], b, None, None, None)  # type: ignore[arg-type]
        out["burden"] = {
            "weeks": b.weeks,
            "campaign": campaign.isoformat() if campaign else None,
            "trend": [
                {"name": metric_name(m), "values": [sv.get(w) for w in b.weeks]}
                for m, sv in sorted(b.series.items())
            ],
            "ba": [
                {
                    "name": c.name,
                    "before": round(c.before, 2),
                    "after": round(c.after, 2),
                    "lo": round(c.before + c.ci[0], 2) if c.ci else None,
                    "hi": round(c.before + c.ci[1], 2) if c.ci else None,
                }
                for c in b.changes
            ],
            "tree": _tree(tree_src),
            "tree_metric": metric_name(b.unit_metric) if b.unit_metric else "",
            "suppressed": b.suppressed_units,
        }
    return out


def write_html(ws: Workspace, out: Path, campaign=None) -> Path:
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
        **screening_and_burden(ws, campaign),
    }
    html = (
        _env()
        .get_template("summary.html.j2")
        .render(
            d=data,
            has_burden=charts["burden"] is not None,
            privacy_min=ws.config.policy.privacy.min_group_size,
            charts_json=json.dumps(charts, ensure_ascii=False).replace("</", "<\\/"),
            echarts=echarts_source(),
        )
    )
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
