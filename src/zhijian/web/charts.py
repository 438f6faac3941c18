"""ECharts options built on the server (plain JSON: no functions), embedded in pages as
``<script type="application/json">`` and drawn by static/app.js — no inline scripts."""

from __future__ import annotations

from typing import Any

PALETTE = ["#2f5d8a", "#5b8db8", "#8fb3d1", "#c9a227", "#7a9a5b", "#b5654a", "#8c6bb1", "#4a9a9a"]
_BASE: dict[str, Any] = {
    "color": PALETTE,
    "textStyle": {
        "fontFamily": "system-ui, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif"
    },
    "animation": False,
    "tooltip": {"trigger": "axis"},
    "grid": {"left": 8, "right": 16, "top": 28, "bottom": 8, "containLabel": True},
}


def bar(labels: list[str], values: list[float], *, horizontal: bool = False, name: str = "") -> dict:
    cat = {
        "type": "category",
        "data": labels,
        "axisLabel": {"interval": 0, "width": 110, "overflow": "truncate"},
    }
    val = {"type": "value", "minInterval": 1}
    return {
        **_BASE,
        "xAxis": val if horizontal else cat,
        "yAxis": {**cat, "inverse": True} if horizontal else val,
        "series": [{"type": "bar", "name": name, "data": values, "barMaxWidth": 28}],
    }


def lines(series: list[dict], *, area: bool = False) -> dict:
    """``series``: [{"name", "points": [(x, y), …]}]; the x axis is the union of all x values."""
    xs = sorted({x for s in series for x, _ in s["points"]})
    out = []
    for s in series:
        m = dict(s["points"])
        out.append(
            {
                "type": "line",
                "name": s["name"],
                "data": [m.get(x) for x in xs],
                "showSymbol": len(xs) < 40,
                "connectNulls": True,
                **({"areaStyle": {"opacity": 0.15}} if area else {}),
            }
        )
    return {
        **_BASE,
        "legend": {"top": 0, "type": "scroll"},
        "grid": {**_BASE["grid"], "top": 36},
        "xAxis": {"type": "category", "data": xs, "boundaryGap": False},
        "yAxis": {"type": "value"},
        "series": out,
    }


def pie(items: list[tuple[str, float]]) -> dict:
    return {
        **_BASE,
        "tooltip": {"trigger": "item"},
        "legend": {"bottom": 0, "type": "scroll"},
        "series": [
            {
                "type": "pie",
                "radius": ["40%", "68%"],
                "center": ["50%", "45%"],
                "data": [{"name": n, "value": v} for n, v in items],
                "label": {"formatter": "{b} {c}"},
            }
        ],
    }


def reduction(rows: list[tuple[str, int, int]]) -> dict:
    """精简率: stacked bars of reduced vs remaining per object type (label, reduced, total)."""
    labels = [r[0] for r in rows]
    return {
        **_BASE,
        "legend": {"top": 0},
        "grid": {**_BASE["grid"], "top": 36},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {"type": "bar", "name": "已精简", "stack": "t", "data": [r[1] for r in rows], "barMaxWidth": 40},
            {
                "type": "bar",
                "name": "在册",
                "stack": "t",
                "data": [r[2] - r[1] for r in rows],
                "barMaxWidth": 40,
            },
        ],
    }
