"""The 典型问题通报 (docx): title, 文号 placeholder, date, 主送, 基本情况, 发现的主要问题 (typical cases
with quoted messages from the lake), 下一步工作要求, 整改时限, charts, and an appendix listing every
finding counted in the notice (its id, object and evidence count)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from zhijian.report import charts, official
from zhijian.report.catalog import OBJECT_KINDS, catalog_rows
from zhijian.report.names import OBJECT_TYPES_ZH, STATUSES_ZH, category_name
from zhijian.report.scope import Scope, resolve_scope
from zhijian.store.models import Account, App, Group, Person
from zhijian.store.queries import list_findings
from zhijian.workspace import Workspace

CN_NUM = "一二三四五六七八九十"
MAX_CATEGORIES = 6
CASES_PER_CATEGORY = 2
QUOTES_PER_CASE = 2
QUOTE_CHARS = 60
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


@cache
def texts() -> dict[str, Any]:
    return yaml.safe_load((Path(__file__).parent / "texts.yaml").read_text(encoding="utf-8"))


def cn_date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


@dataclass
class Case:
    finding: dict[str, Any]
    object_name: str
    quotes: list[str] = field(default_factory=list)


@dataclass
class NoticeData:
    scope: Scope
    date: dt.date
    deadline: dt.date
    objects: dict[str, int]  # active objects per type
    conclusions: dict[str, dict[str, int]]  # type -> 保留/合并/清除/'' -> n
    messages: int
    groups_with_messages: int
    first_day: dt.date | None
    last_day: dt.date | None
    findings: list[dict[str, Any]]
    by_category: dict[str, list[dict[str, Any]]]
    cases: dict[str, list[Case]]
    object_names: dict[tuple[str, str], str]


def _in_period(f: dict[str, Any], scope: Scope) -> bool:
    p = f.get("period") or ""
    if not p or (scope.start is None and scope.end is None):
        return True
    try:
        d = dt.date.fromisoformat(p if len(p) == 10 else p + "-01")
    except ValueError:
        return True
    return scope.in_period(d)


def gather_notice(
    ws: Workspace, scope: Scope, date: dt.date | None = None, deadline: dt.date | None = None
) -> NoticeData:
    date = date or dt.date.today()
    deadline = deadline or date + dt.timedelta(days=30)
    rows = catalog_rows(ws, scope)
    objects = {k: len(rows[k]) for k in OBJECT_KINDS}
    conclusions = {
        k: {c: sum(1 for r in rows[k] if r.conclusion == c) for c in ("保留", "合并", "清除", "")}
        for k in OBJECT_KINDS
    }
    findings, _ = list_findings(ws.store, unit_id=scope.unit_id, limit=None)
    findings = [f for f in findings if _in_period(f, scope)]
    names: dict[tuple[str, str], str] = {}
    group_units: dict[str, str | None] = {}
    with ws.store.session() as s:
        for kind, model in (("group", Group), ("app", App), ("account", Account)):
            for oid, name, uid in s.execute(select(model.id, model.name, model.unit_id)):
                if scope.contains(uid):
                    names[(kind, oid)] = name
                if kind == "group":
                    group_units[oid] = uid
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        by_cat.setdefault(f["category"], []).append(f)
    by_cat = dict(sorted(by_cat.items(), key=lambda kv: (-len(kv[1]), kv[0])))
    # typical cases: most severe, best evidenced findings of the largest categories
    cases: dict[str, list[Case]] = {}
    wanted: dict[str, list[str]] = {}
    for cat, fs in list(by_cat.items())[:MAX_CATEGORIES]:
        top = sorted(
            fs,
            key=lambda f: (
                SEVERITY_RANK.get(f["severity"], 1),
                -int((f["evidence"] or {}).get("message_count") or 0),
                f["id"],
            ),
        )
        cases[cat] = []
        seen_objects: set[tuple[str, str]] = set()
        for f in top:  # one case per object: the typical cases show different objects
            if len(cases[cat]) == CASES_PER_CATEGORY:
                break
            if (f["object_type"], f["object_id"]) in seen_objects:
                continue
            seen_objects.add((f["object_type"], f["object_id"]))
            cases[cat].append(Case(f, names.get((f["object_type"], f["object_id"]), "")))
            wanted[f["id"]] = list((f["evidence"] or {}).get("message_ids") or [])[: QUOTES_PER_CASE * 3]
    quotes = _quotes(ws, scope, [m for ids in wanted.values() for m in ids], group_units)
    for cs in cases.values():
        for c in cs:
            c.quotes = [quotes[m] for m in wanted[c.finding["id"]] if m in quotes][:QUOTES_PER_CASE]
    msgs, groups, lo, hi = _message_stats(ws, scope, group_units)
    return NoticeData(
        scope, date, deadline, objects, conclusions, msgs, groups, lo, hi, findings, by_cat, cases, names
    )


def _quotes(
    ws: Workspace, scope: Scope, ids: list[str], group_units: dict[str, str | None]
) -> dict[str, str]:
    lake = ws.lake()
    if not ids or not lake.exists("messages"):
        return {}
    m = lake.table("messages")
    t = lake.to_arrow(m.filter(m.message_id.isin(ids)).select("message_id", "group_id", "local_ts", "text"))
    people = _people_pattern(ws)
    out: dict[str, str] = {}
    for mid, gid, ts, text in zip(
        *(t[c].to_pylist() for c in ("message_id", "group_id", "local_ts", "text")), strict=True
    ):
        if not text or not scope.contains(group_units.get(gid)):
            continue
        q = scope.redact(" ".join(text.split()))
        q = MENTION.sub(lambda mo: mo.group(0) if mo.group(1) in AT_ALL else "@某同志", q)
        if people is not None:
            q = people.sub("某同志", q)
        q = q.replace("“", "‘").replace("”", "’")  # quotes inside a quote
        if len(q) > QUOTE_CHARS:
            q = q[:QUOTE_CHARS] + "……"
        out[mid] = f"{ts:%m月%d日 %H:%M}，群内消息：“{q}”" if ts else f"群内消息：“{q}”"
    return out


#: @mentions in quoted messages name individual cadres: replaced, except @所有人 and the like.
MENTION = re.compile(r"@([^\s@，,。：:；;！!？?“”]+)")
AT_ALL = {"所有人", "全体成员", "all", "everyone", "channel", "here"}


def _people_pattern(ws: Workspace) -> re.Pattern | None:
    """Names of the roster (two characters or more), to keep individual cadres out of quotes."""
    with ws.store.session() as s:
        names = {n for n in s.scalars(select(Person.name)) if n and len(n) >= 2}
    if not names:
        return None
    return re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))


def _message_stats(ws: Workspace, scope: Scope, group_units: dict[str, str | None]):
    lake = ws.lake()
    if not lake.exists("messages"):
        return 0, 0, None, None
    m = lake.table("messages")
    if scope.unit_ids is not None:
        gids = [g for g, u in group_units.items() if scope.contains(u)]
        m = m.filter(m.group_id.isin(gids or ["\x00"]))
    if scope.start is not None:
        m = m.filter(m.local_ts >= dt.datetime.combine(scope.start, dt.time()))
    if scope.end is not None:
        m = m.filter(m.local_ts < dt.datetime.combine(scope.end + dt.timedelta(days=1), dt.time()))
    m = m.filter(m.kind != "system")
    t = lake.to_arrow(
        m.aggregate(n=m.count(), g=m.group_id.nunique(), lo=m.local_ts.min(), hi=m.local_ts.max())
    )
    lo, hi = t["lo"][0].as_py(), t["hi"][0].as_py()
    return (
        int(t["n"][0].as_py() or 0),
        int(t["g"][0].as_py() or 0),
        lo.date() if lo else None,
        hi.date() if hi else None,
    )


def build_notice_docx(
    ws: Workspace,
    unit_id: str | None = None,
    *,
    date: dt.date | None = None,
    deadline: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    doc_number: str | None = None,
) -> bytes:
    """The 通报 of the workspace (or of a unit's subtree) as docx bytes."""
    scope = resolve_scope(ws, unit_id, start, end)
    d = gather_notice(ws, scope, date, deadline)
    return official.to_bytes(render_notice(d, doc_number))


def render_notice(d: NoticeData, doc_number: str | None = None):
    tx = texts()["notice"]
    sc = d.scope
    doc = official.new_document()
    issuer = tx["issuer"].format(name=sc.title if sc.unit_id is None else "")
    official.letterhead(
        doc, issuer, doc_number or tx["doc_number"].format(prefix=tx["doc_number_prefix"], year=d.date.year)
    )
    official.title(doc, tx["title"].format(name=sc.title))
    official.plain(doc, tx["addressee_all"] if sc.unit_id is None else f"{sc.title}及所属各单位：")
    official.para(doc, " ".join(tx["intro"].split()))

    # 一、基本情况
    official.heading1(doc, "一、基本情况")
    period = ""
    if d.first_day and d.last_day:
        period = f"{cn_date(d.first_day)}至{cn_date(d.last_day)}，"
    total_obj = sum(d.objects.values())
    conc = {c: sum(d.conclusions[k][c] for k in OBJECT_KINDS) for c in ("保留", "合并", "清除", "")}
    official.para(
        doc,
        f"{period}共摸排在用工作群组{d.objects['group']}个、政务应用程序{d.objects['app']}个、"
        f"政务公众账号{d.objects['account']}个，合计{total_obj}个；分析工作群消息{d.messages:,}条"
        f"（涉及{d.groups_with_messages}个工作群）。经逐一研判，拟保留{conc['保留']}个、合并{conc['合并']}个、"
        f"清除{conc['清除']}个，尚待研判{conc['']}个。共发现问题线索{len(d.findings)}条，"
        f"涉及{len(d.by_category)}类问题。",
    )
    if d.by_category:
        cats = list(d.by_category)
        official.caption(doc, "表1  问题线索分类统计")
        units_of = {c: len({f["unit_id"] for f in fs if f["unit_id"]}) for c, fs in d.by_category.items()}
        official.table(
            doc,
            ["问题类别", "线索数（条）", "涉及单位（个）", "已整改（条）"],
            [
                [
                    category_name(c),
                    len(d.by_category[c]),
                    units_of[c],
                    sum(1 for f in d.by_category[c] if f["status"] in ("verified", "closed")),
                ]
                for c in cats
            ],
            widths_mm=[62, 30, 30, 30],
        )
        official.picture(
            doc,
            charts.bar_h(
                [category_name(c) for c in cats],
                [len(d.by_category[c]) for c in cats],
                "问题线索分类统计（条）",
            ),
        )
        official.caption(doc, "图1  问题线索分类统计")

    # 二、发现的主要问题
    official.heading1(doc, "二、发现的主要问题")
    if not d.cases:
        official.para(doc, "本期排查未发现需要通报的典型问题。")
    for i, (cat, cs) in enumerate(d.cases.items()):
        n = len(d.by_category[cat])
        official.heading2(doc, f"（{CN_NUM[i]}）{category_name(cat)}问题（{n}条）")
        for j, c in enumerate(cs, start=1):
            f = c.finding
            who = sc.unit_name(f["unit_id"]) or "有关单位"
            title = sc.redact(f["title"])
            named = c.object_name and c.object_name not in title
            obj = f"的{OBJECT_TYPES_ZH.get(f['object_type'], '')}“{c.object_name}”" if named else ""
            text = f"{who}{obj}：{title}"
            if f["summary"]:
                text += f"。{sc.redact(f['summary'])}"
            text = text.rstrip("。") + "。"
            if c.quotes:
                text += "例如，" + "；".join(c.quotes) + "。"
            text += f"（线索编号 {f['id']}）"
            official.para(doc, text, lead=f"典型案例{j}：")

    # 三、下一步工作要求
    official.heading1(doc, "三、下一步工作要求")
    for req in tx["requirements"]:
        official.para(
            doc, " ".join(req["text"].split()).format(deadline=cn_date(d.deadline)), lead=req["lead"]
        )

    # 四、整改时限
    official.heading1(doc, "四、整改时限")
    official.para(doc, " ".join(tx["deadline_text"].split()).format(deadline=cn_date(d.deadline)))
    units: dict[str, list[dict[str, Any]]] = {}
    for f in d.findings:
        units.setdefault(f["unit_id"] or "", []).append(f)
    if units:
        official.caption(doc, "表2  各单位整改任务")
        rows = []
        for uid, fs in sorted(units.items(), key=lambda kv: (-len(kv[1]), sc.unit_name(kv[0]))):
            dls = [f["deadline"] for f in fs if f["deadline"]]
            rows.append(
                [
                    sc.unit_name(uid) or "（未确定单位）",
                    len(fs),
                    "、".join(sorted({category_name(f["category"]) for f in fs})),
                    (max(dls) if dls else d.deadline).isoformat(),
                ]
            )
        official.table(
            doc, ["单位", "问题线索（条）", "问题类别", "整改时限"], rows, widths_mm=[38, 22, 58, 34]
        )

    doc.add_paragraph()
    official.right(doc, issuer)
    official.right(doc, cn_date(d.date))

    # 附件: every finding counted above
    official.page_break(doc)
    official.plain(doc, "附件")
    official.title(doc, "问题线索清单")
    official.para(
        doc,
        "本通报所列问题线索如下，每条线索的证据消息和对象可按线索编号在平台中查阅；"
        "各类对象数量对应的对象清单见同期《目录清单》。",
    )
    official.table(
        doc,
        ["序号", "线索编号", "类别", "单位", "对象", "状态", "证据消息"],
        [
            [
                k,
                f["id"],
                category_name(f["category"]),
                sc.unit_name(f["unit_id"]),
                d.object_names.get((f["object_type"], f["object_id"]), f["object_id"]),
                STATUSES_ZH.get(f["status"], f["status"]),
                int((f["evidence"] or {}).get("message_count") or 0),
            ]
            for k, f in enumerate(d.findings, start=1)
        ],
        widths_mm=[10, 30, 26, 26, 34, 14, 14],
        size=9,
    )
    return doc
