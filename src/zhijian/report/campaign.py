"""The campaign report (html with ECharts, docx with PNG charts): 精简率 per object type and unit,
burden indicators before / after the campaign date with 95 % intervals, the merge plan's effect,
rectification progress, and appendices listing the objects, indicator rows and findings behind
every figure."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from zhijian.report import charts, official
from zhijian.report.figures import (
    PROGRESS_BUCKETS,
    Burden,
    Progress,
    Reduction,
    burden,
    merge_plan,
    metric_name,
    rectification,
    reductions,
)
from zhijian.report.names import OBJECT_TYPES_ZH
from zhijian.report.notice import cn_date
from zhijian.report.scope import ReportError, Scope, resolve_scope
from zhijian.workspace import Workspace

FORMATS = ("html", "docx")


@dataclass
class CampaignData:
    scope: Scope
    campaign: dt.date
    today: dt.date
    reductions: list[Reduction]
    burden: Burden | None
    plan: dict[str, Any] | None
    progress: Progress
    generated: dt.datetime


def gather_campaign(
    ws: Workspace, scope: Scope, campaign: dt.date, today: dt.date | None = None
) -> CampaignData:
    return CampaignData(
        scope=scope,
        campaign=campaign,
        today=today or dt.date.today(),
        reductions=reductions(ws, scope, campaign),
        burden=burden(ws, scope, campaign),
        plan=merge_plan(ws, scope),
        progress=rectification(ws, scope, today),
        generated=dt.datetime.now().replace(microsecond=0),
    )


def build_campaign(
    ws: Workspace,
    fmt: str,
    campaign_date: dt.date | str,
    unit_id: str | None = None,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    today: dt.date | None = None,
) -> bytes:
    """The campaign report as html or docx bytes, for the workspace or a unit's subtree."""
    if fmt not in FORMATS:
        raise ReportError(
            f"整治成效报告只支持 {'、'.join(FORMATS)} 格式", f"campaign report formats: {FORMATS}"
        )
    if isinstance(campaign_date, str):
        try:
            campaign_date = dt.date.fromisoformat(campaign_date)
        except ValueError:
            raise ReportError(
                f"整治开始日期“{campaign_date}”不是日期（应为 2026-04-06）",
                f"campaign date {campaign_date!r} is not YYYY-MM-DD",
            ) from None
    if (start and start >= campaign_date) or (end and end < campaign_date):
        raise ReportError(
            f"整治开始日期 {campaign_date} 应在 --from 与 --to 之间（前后都要有数据才能对比）",
            f"the campaign date {campaign_date} must lie between --from and --to",
        )
    scope = resolve_scope(ws, unit_id, start, end)
    d = gather_campaign(ws, scope, campaign_date, today)
    if fmt == "html":
        return render_html(d).encode("utf-8")
    return official.to_bytes(render_docx(d))


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def _num(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


def _ci(ci: tuple[float, float] | None) -> str:
    return "—" if ci is None else f"[{ci[0]:+.2f}, {ci[1]:+.2f}]"


def reduction_table(d: CampaignData) -> list[list[str]]:
    sc = d.scope
    return [
        [
            OBJECT_TYPES_ZH[r.object_type],
            "合计" if r.unit_id is None else sc.unit_name(r.unit_id),
            r.before,
            r.after,
            _pct(r.rate),
            r.planned,
            _pct(r.planned_rate),
        ]
        for r in d.reductions
    ]


REDUCTION_HEAD = ["对象类型", "单位", "整治前（个）", "现有（个）", "精简率", "拟合并清除（个）", "拟精简率"]
BURDEN_HEAD = [
    "指标（每人每周）",
    "整治前均值",
    "整治后均值",
    "变化",
    "变化率",
    "变化的95%置信区间",
    "比较人数",
]
PROGRESS_HEAD = ["单位", *PROGRESS_BUCKETS, "合计"]


def burden_table(b: Burden) -> list[list[str]]:
    return [
        [c.name, _num(c.before), _num(c.after), f"{c.change:+.2f}", _pct(c.change_pct), _ci(c.ci), c.people]
        for c in b.changes
    ]


def progress_table(d: CampaignData) -> list[list[Any]]:
    rows = []

    def order(kv):
        u = d.scope.units.get(kv[0])
        return u.path if u is not None else "~"

    for uid, counts in sorted(d.progress.by_unit.items(), key=order):
        rows.append(
            [
                d.scope.unit_name(uid) or "（未确定单位）",
                *[counts[b] for b in PROGRESS_BUCKETS],
                sum(counts.values()),
            ]
        )
    rows.append(["合计", *[len(d.progress.buckets[b]) for b in PROGRESS_BUCKETS], d.progress.total])
    return rows


def _summary_sentences(d: CampaignData) -> list[str]:
    out = []
    totals = {r.object_type: r for r in d.reductions if r.unit_id is None}
    parts = [
        f"{OBJECT_TYPES_ZH[k]}由{r.before}个减至{r.after}个（精简率{_pct(r.rate)}）"
        for k, r in totals.items()
        if r.before or r.after
    ]
    if parts:
        out.append(f"自{cn_date(d.campaign)}整治开始以来，" + "，".join(parts) + "。")
    if d.burden and d.burden.changes:
        ch = []
        for c in d.burden.changes:
            pct = _pct(abs(c.change_pct)) if c.change_pct is not None else "—"
            verb = "降至" if c.change < 0 else "升至" if c.change > 0 else "持平于"
            trend = "下降" if c.change < 0 else "上升" if c.change > 0 else "变化"
            ch.append(f"{c.name}由每周{_num(c.before)}{verb}{_num(c.after)}，{trend}{pct}")
        out.append("基层负担方面，" + "；".join(ch) + "。")
    p = d.progress
    if p.total:
        done = len(p.buckets["已按期整改"]) + len(p.buckets["逾期后完成"])
        out.append(
            f"问题线索{p.total}条，已整改{done}条（其中按期{len(p.buckets['已按期整改'])}条），"
            f"整改中{len(p.buckets['整改中（未逾期）'])}条，已逾期未完成{len(p.buckets['已逾期未完成'])}条。"
        )
    return out


# ── html ───────────────────────────────────────────────────────────────────────────────────────────
def render_html(d: CampaignData) -> str:
    from zhijian.report.html import _env, echarts_source

    b = d.burden
    chart = {
        "reduction": {
            "types": [OBJECT_TYPES_ZH[r.object_type] for r in d.reductions if r.unit_id is None],
            "before": [r.before for r in d.reductions if r.unit_id is None],
            "after": [r.after for r in d.reductions if r.unit_id is None],
        },
        "weeks": b.weeks if b else [],
        "campaign": d.campaign.isoformat(),
        "trend": [
            {"name": metric_name(m), "values": [s.get(w) for w in b.weeks]}
            for m, s in sorted(b.series.items())
        ]
        if b
        else [],
        "ba": [
            {
                "name": c.name,
                "before": round(c.before, 2),
                "after": round(c.after, 2),
                "lo": round(c.before + c.ci[0], 2) if c.ci else None,
                "hi": round(c.before + c.ci[1], 2) if c.ci else None,
            }
            for c in b.changes
        ]
        if b
        else [],
        "tree": _tree(d),
        "tree_metric": metric_name(b.unit_metric) if b and b.unit_metric else "",
        "progress": {
            "buckets": list(PROGRESS_BUCKETS),
            "values": [len(d.progress.buckets[k]) for k in PROGRESS_BUCKETS],
        },
    }
    return (
        _env()
        .get_template("campaign.html.j2")
        .render(
            d=d,
            sc=d.scope,
            summary=_summary_sentences(d),
            reduction_head=REDUCTION_HEAD,
            reduction_rows=reduction_table(d),
            burden_head=BURDEN_HEAD,
            burden_rows=burden_table(b) if b else [],
            progress_head=PROGRESS_HEAD,
            progress_rows=progress_table(d),
            buckets=PROGRESS_BUCKETS,
            unit_metric_name=chart["tree_metric"],
            chart_json=json.dumps(chart, ensure_ascii=False).replace("</", "<\\/"),
            echarts=echarts_source(),
        )
    )


def _tree(d: CampaignData) -> list[dict[str, Any]]:
    """Units with burden figures as an ECharts treemap (children under their parents when shown)."""
    b = d.burden
    if not b or not b.units:
        return []
    nodes = {
        u["unit_id"]: {"name": u["name"], "value": round(u.get("after", u["mean"]), 2), "children": []}
        for u in b.units
    }
    roots = []
    for u in b.units:
        parent = u["parent_id"]
        if parent in nodes:
            nodes[parent]["children"].append(nodes[u["unit_id"]])
        else:
            roots.append(nodes[u["unit_id"]])
    for n in nodes.values():
        if not n["children"]:
            del n["children"]
    return roots


# ── docx ───────────────────────────────────────────────────────────────────────────────────────────
def render_docx(d: CampaignData):
    sc = d.scope
    doc = official.new_document()
    official.title(doc, f"{sc.title}整治“指尖上的形式主义”工作成效报告")
    official.centered(doc, f"（{cn_date(d.campaign)}整治开始，统计至{cn_date(d.today)}）")
    official.heading1(doc, "一、总体成效")
    for s in _summary_sentences(d) or ["暂无可统计的数据。"]:
        official.para(doc, s)

    official.heading1(doc, "二、精简情况")
    official.para(
        doc,
        "精简率按各省通报口径计算：（整治前数量 − 现有数量）÷ 整治前数量；"
        "拟精简率为现有对象中研判为合并或清除的比例（以单位研判结论为准，未研判的按系统建议）。",
    )
    official.caption(doc, "表1  各类对象精简情况")
    official.table(doc, REDUCTION_HEAD, reduction_table(d), widths_mm=[20, 34, 18, 18, 18, 24, 20], size=10.5)
    tot = [r for r in d.reductions if r.unit_id is None]
    if tot:
        official.picture(
            doc,
            charts.before_after(
                [OBJECT_TYPES_ZH[r.object_type] for r in tot],
                [r.before for r in tot],
                [r.after for r in tot],
                "对象数量（个）",
            ),
        )
        official.caption(doc, "图1  整治前后对象数量")

    official.heading1(doc, "三、基层负担变化")
    b = d.burden
    if b is None or not b.changes:
        official.para(
            doc,
            "暂无干部个人周负担指标（请先运行负担分析），或参与比较的人数不足"
            f"{sc.min_group_size}人，按隐私规则不作整治前后对比。",
        )
        if b is not None and b.series:
            official.picture(
                doc,
                charts.lines(
                    b.weeks,
                    {metric_name(m): [s.get(w, 0.0) for w in b.weeks] for m, s in sorted(b.series.items())},
                    "负担指标周趋势",
                    marker=d.campaign.isoformat(),
                ),
            )
            official.caption(doc, "图2  负担指标周趋势")
    else:
        official.para(
            doc,
            f"以下为{b.scope_label}干部每人每周负担指标在整治前后的均值比较（同一批人前后配对）；"
            "置信区间由按人重抽样（自助法）得出，区间不含0表示变化在统计上可信。",
        )
        official.caption(doc, "表2  负担指标整治前后对比")
        official.table(doc, BURDEN_HEAD, burden_table(b), widths_mm=[36, 18, 18, 16, 16, 32, 18], size=10.5)
        official.picture(
            doc,
            charts.before_after(
                [c.name for c in b.changes],
                [c.before for c in b.changes],
                [c.after for c in b.changes],
                "负担指标整治前后（每周均值）",
                ci=[(c.before + c.ci[0], c.before + c.ci[1]) if c.ci else None for c in b.changes],
            ),
        )
        official.caption(doc, "图2  负担指标整治前后对比（误差线为95%置信区间）")
        official.picture(
            doc,
            charts.lines(
                b.weeks,
                {metric_name(m): [s.get(w, 0.0) for w in b.weeks] for m, s in sorted(b.series.items())},
                "负担指标周趋势",
                marker=d.campaign.isoformat(),
            ),
        )
        official.caption(doc, "图3  负担指标周趋势")
        if b.units:
            official.caption(doc, f"表3  各单位{metric_name(b.unit_metric or '')}（每周）")
            official.table(
                doc,
                ["单位", "整治前", "整治后", "变化率", "95%置信区间"],
                [
                    [
                        u["name"],
                        _num(u.get("before")),
                        _num(u.get("after")),
                        _pct(u.get("change_pct")),
                        _ci(u.get("ci")),
                    ]
                    for u in b.units
                ],
                widths_mm=[50, 22, 22, 22, 36],
                size=10.5,
            )
        if b.suppressed_units:
            official.para(
                doc, f"另有{b.suppressed_units}个单位人数不足{sc.min_group_size}人，按隐私规则不单独列示。"
            )

    official.heading1(doc, "四、合并方案效果")
    plan = d.plan
    if not plan or not plan["plans"]:
        official.para(doc, "本范围内暂无工作群合并方案。")
    else:
        official.caption(doc, "表4  工作群合并方案")
        official.table(
            doc,
            ["并入目标群", "被合并的群", "合并后成员（人）", "合并后预计日均消息（条）", "方案"],
            [
                [
                    p["target_name"],
                    "、".join(p["group_names"]),
                    p.get("members_after") or "—",
                    _num(p.get("projected_daily")),
                    "待研判（合并后过于繁忙）" if p["action"] == "review" else "合并",
                ]
                for p in plan["plans"]
            ],
            widths_mm=[34, 50, 22, 26, 22],
            size=10.5,
        )
        gpc = plan.get("groups_per_cadre") or {}
        if gpc.get("before") and gpc.get("after"):
            official.para(
                doc,
                f"按合并和清除方案执行后，干部人均所在工作群由{gpc['before'].get('mean')}个降至"
                f"{gpc['after'].get('mean')}个（90%分位由{gpc['before'].get('p90')}个降至"
                f"{gpc['after'].get('p90')}个）。",
            )

    official.heading1(doc, "五、整改进度")
    p = d.progress
    official.para(doc, f"截至{cn_date(d.today)}，问题线索{p.total}条。按期与逾期按整改时限和办结时间判定。")
    official.caption(doc, "表5  各单位整改进度（条）")
    official.table(doc, PROGRESS_HEAD, progress_table(d), widths_mm=[34, 20, 20, 22, 22, 18, 16], size=10.5)
    if p.total:
        official.picture(
            doc,
            charts.bar_h(
                list(PROGRESS_BUCKETS), [len(p.buckets[k]) for k in PROGRESS_BUCKETS], "整改进度（条）"
            ),
        )
        official.caption(doc, "图4  整改进度")

    # appendices: what each figure is made of
    official.page_break(doc)
    official.plain(doc, "附件")
    official.title(doc, "数据来源清单")
    official.heading2(doc, "（一）精简情况涉及的对象")
    official.table(
        doc,
        ["对象类型", "单位", "已不再使用的对象编号", "整治后新建的对象编号"],
        [
            [
                OBJECT_TYPES_ZH[r.object_type],
                "合计" if r.unit_id is None else sc.unit_name(r.unit_id),
                "、".join(r.removed_ids) or "—",
                "、".join(r.new_ids) or "—",
            ]
            for r in d.reductions
        ],
        widths_mm=[20, 34, 50, 48],
        size=9,
    )
    official.heading2(doc, "（二）整改进度涉及的问题线索")
    official.table(
        doc,
        ["整改状态", "线索数", "线索编号"],
        [[k, len(p.buckets[k]), "、".join(p.buckets[k]) or "—"] for k in PROGRESS_BUCKETS],
        widths_mm=[34, 18, 100],
        size=9,
    )
    if b is not None and b.series:
        official.heading2(doc, "（三）负担指标（数据湖 indicators 数据集）")
        official.para(
            doc,
            f"范围：{'全县' if b.scope_kind == 'county' else '单位'} {b.scope_label}，共{b.rows}行周指标。",
        )
        official.table(
            doc,
            ["周", *[metric_name(m) for m in sorted(b.series)]],
            [[w, *[_num(b.series[m].get(w)) for m in sorted(b.series)]] for w in b.weeks],
            size=9,
        )
    return doc
