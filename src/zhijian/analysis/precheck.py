"""消息体检: check a draft before it is sent, and say what to do instead.

``Prechecker(ws).check(text, group_ids, send_at)`` returns the problems of a draft message, each
with the rule that found it, the rule's source and a concrete alternative:

- **labels** (the same rule pack and engine path as ``zhijian check``: :func:`zhijian.rules.check.label_texts`):
  roll-call → use the read receipt (已读回执) / DING; proof photos → 过度留痕 with the category's source; …
- **after hours** (:mod:`zhijian.analysis.calendar`): "周六 22:40 is outside working time: schedule it
  for 周一 08:30"; urgent messages (the pack's ``urgent`` marker) get a note instead of a warning;
- **deadline** (:func:`zhijian.analysis.deadlines.with_deadlines`): the working hours the deadline leaves,
  against the short-deadline threshold of ``signals_policy.yaml``;
- **duplicate notice**: a near-copy already posted in the past week in a group that shares members with
  a target group → "already reached 83% of this group's members through 群X yesterday" (lake
  ``messages`` + ``memberships`` + ``notice_clusters``);
- **@所有人** with a demand, and the state of the target group (dissolved, temporary group past its end).

Advice texts and thresholds are data: ``precheck_advice.yaml``.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from zhijian.analysis.calendar import day_info, is_working_time, next_working_time, working_minutes_between
from zhijian.errors import ZhijianError
from zhijian.storable import storable_text

ADVICE_FILE = Path(__file__).with_name("precheck_advice.yaml")
WEEKDAY_ZH = "一二三四五六日"
DEMAND_LABELS = (
    "roll_call_demand",
    "checkin_demand",
    "proof_demand",
    "instant_response_demand",
    "data_request",
    "forward_like_demand",
    "app_usage_demand",
)
MAX_TEXT = 5000


class PrecheckError(ZhijianError):
    """Bad input to the pre-send check."""


@functools.cache
def advice() -> dict[str, Any]:
    return yaml.safe_load(ADVICE_FILE.read_text(encoding="utf-8"))


def _v(x: Any) -> Any:
    return x["value"] if isinstance(x, dict) and "value" in x else x


@dataclass
class Problem:
    kind: str  # label | after_hours | deadline | duplicate | at_all | group_state
    severity: str  # warn | info
    title: str
    detail: str
    alternative: str
    rule: str
    source: str
    category: str | None = None
    category_zh: str | None = None
    span: str | None = None


def when_zh(t: dt.datetime, ref: dt.datetime | None = None) -> str:
    """'周六 22:40', with 今天/昨天/明天 when ``ref`` is that close."""
    hm = t.strftime("%H:%M")
    if ref is not None:
        delta = (t.date() - ref.date()).days
        rel = {0: "今天", -1: "昨天", 1: "明天", -2: "前天", 2: "后天"}.get(delta)
        if rel:
            return f"{rel}（周{WEEKDAY_ZH[t.weekday()]}）{hm}"
    return f"{t.month}月{t.day}日（周{WEEKDAY_ZH[t.weekday()]}）{hm}"


def _hours(minutes: int) -> str:
    h = minutes / 60
    return f"{h:.0f}" if abs(h - round(h)) < 0.05 else f"{h:.1f}"


def _shingles(s: str, k: int = 3) -> set[str]:
    return {s[i : i + k] for i in range(max(1, len(s) - k + 1))}


def _category_of(label: str) -> tuple[str | None, str | None, str]:
    from zhijian.rules import taxonomy

    try:
        lab = taxonomy.label(label)
    except KeyError:
        return None, None, ""
    if not lab.maps_to:
        return None, None, ""
    cat = taxonomy.category(lab.maps_to[0])
    srcs = "；".join(f"{s.issuer}《{s.title}》（{s.date}）" for s in cat.sources[:2])
    return cat.id, cat.name_zh, srcs


#: the draft as the deadline query reads it
_DRAFT = pa.schema([("message_id", pa.string()), ("text", pa.string()), ("local_ts", pa.timestamp("us"))])


class Prechecker:
    """One per workspace: a private DuckDB lake connection (serialised), the rule pack loaded once."""

    def __init__(self, ws):
        self.ws = ws
        self._lock = threading.Lock()
        self._lake = None
        self._pack = None
        self._sigs: dict[str, tuple] = {}
        self._labeler = None
        #: (end of the working day, the prepared deadline query)
        self._deadlines: tuple[int, Any] | None = None

    # -- engine access -----------------------------------------------------------------------
    def _lake_(self):
        from zhijian.lake import Lake

        if self._lake is None:
            self._lake = Lake(self.ws.lake_root, "duckdb")
        return self._lake

    def _table(self, name: str):
        lake = self._lake_()
        files = lake.files(name)
        sig = (len(files), files[-1].stat().st_mtime_ns if files else 0)
        if self._sigs.get(name) != sig:
            lake.forget(name)
            self._sigs[name] = sig
        return lake.table(name)

    def _labeler_(self):
        """The label and marker queries on this checker's connection, built once (a draft is
        checked in a fraction of the time it takes to build them)."""
        from zhijian.rules.check import Labeler

        if self._labeler is None:
            self._labeler = Labeler(self.pack(), self._lake_().con)
        return self._labeler

    def pack(self):
        if self._pack is None:
            from zhijian.rules.pack import load_pack

            self._pack = load_pack(self.ws.root)
        return self._pack

    def query(self, fn):
        """Run ``fn(table, lake)`` on this checker's private DuckDB connection, serialised
        (``table(name)`` gives a lake dataset refreshed when its files changed)."""
        with self._lock:
            return fn(self._table, self._lake_())

    def close(self) -> None:
        self._labeler = self._deadlines = None  # their queries live on the lake's connection
        if self._lake is not None:
            self._lake.close()
            self._lake = None

    # -- the check ---------------------------------------------------------------------------
    def check(
        self, text: str, group_ids: list[str] | None = None, send_at: dt.datetime | None = None
    ) -> dict:
        text = storable_text(text).strip()
        if not text:
            raise PrecheckError("请输入要检查的消息内容", "empty draft")
        if len(text) > MAX_TEXT:
            raise PrecheckError(f"消息内容不能超过 {MAX_TEXT} 字", "draft too long")
        send_at = (send_at or dt.datetime.now()).replace(second=0, microsecond=0, tzinfo=None)
        if not 2000 <= send_at.year <= 2100:
            raise PrecheckError("发送时间应在 2000—2100 年之间", f"send time {send_at} out of range")
        group_ids = list(dict.fromkeys(g for g in (group_ids or []) if g))[:20]
        with self._lock:
            return self._check(text, group_ids, send_at)

    def _check(self, text: str, group_ids: list[str], send_at: dt.datetime) -> dict:
        wh = self.ws.config.policy.working_hours
        adv = advice()
        pack = self.pack()
        at_all = any(k in text for k in ("@所有人", "@全体成员", "@all", "＠所有人"))
        draft = [{"text": text, "at_all": at_all}]
        labeler = self._labeler_()
        labs = labeler.labels(draft)[0]
        urgent = labeler.urgent(draft)[0]
        demands = [x for x in labs if x["label"] in DEMAND_LABELS]
        groups = self._groups(group_ids)
        members = self._members(group_ids)
        audience = len(set().union(*members.values())) if members else 0
        if not audience:
            audience = sum(int(g.get("member_count") or 0) for g in groups)
        problems: list[Problem] = []

        # 1. message labels
        for x in demands:
            a = adv["labels"].get(x["label"], {})
            cat, cat_zh, cat_src = _category_of(x["label"])
            try:
                rule_src = pack.rule(x["rule_id"]).source
            except KeyError:
                rule_src = ""
            detail = f"“{x['span']}”" if x.get("span") else ""
            if x["label"] == "roll_call_demand" and audience:
                detail += f"：将要求 {audience} 人各回复一次，群里会多出约 {audience} 条“收到”"
            elif cat_zh:
                detail += f"：属于“{cat_zh}”"
            problems.append(
                Problem(
                    kind="label",
                    severity="warn",
                    title=a.get("title", x["label"]),
                    detail=detail.lstrip("："),
                    alternative=a.get("alternative", ""),
                    rule=x["rule_id"],
                    source="；".join(s for s in (rule_src, cat_src, a.get("source", "")) if s),
                    category=cat,
                    category_zh=cat_zh,
                    span=x.get("span"),
                )
            )

        # 2. after hours
        if not is_working_time(send_at, wh):
            info = day_info(send_at.date(), wh)
            nxt = next_working_time(send_at, wh)
            why = f"（{info.holiday}）" if info.holiday else ("" if info.workday else "（休息日）")
            a = adv["after_hours"]
            problems.append(
                Problem(
                    kind="after_hours",
                    severity="warn" if (demands and not urgent) else "info",
                    title=a["title"],
                    detail=f"发送时间是 {when_zh(send_at)}{why}，不在工作时间内"
                    + ("；消息标注了紧急，可以理解" if urgent else ""),
                    alternative=a["urgent_note"]
                    if urgent
                    else a["alternative"].format(next=when_zh(nxt, send_at)),
                    rule="precheck.after_hours",
                    source=a["source"],
                )
            )

        # 3. deadline
        dl = self._deadline(text, send_at)
        if dl is not None and demands:
            deadline, span = dl
            wm = working_minutes_between(send_at, deadline, wh)
            limit = self._short_deadline_minutes()
            if wm < limit:
                a = adv["deadline"]
                start = next_working_time(send_at, wh)
                suggest = start
                # the earliest time that leaves `limit` working minutes: walk working time forward
                step = start
                for _ in range(60 * 24 * 14 // 30):
                    if working_minutes_between(start, step, wh) >= limit:
                        suggest = step
                        break
                    step += dt.timedelta(minutes=30)
                problems.append(
                    Problem(
                        kind="deadline",
                        severity="warn",
                        title=a["title"],
                        detail=f"“{span}”：截止 {when_zh(deadline, send_at)}，只留出 {_hours(wm)} 个工作小时",
                        alternative=a["alternative"].format(
                            min_hours=_hours(limit), suggest=when_zh(suggest, send_at)
                        ),
                        rule="signals.short_deadline",
                        source=a["source"],
                        span=span,
                    )
                )

        # 4. duplicate notice
        problems.extend(self._duplicates(text, group_ids, members, groups, send_at))

        # 5. @所有人 with a demand
        if at_all and demands:
            a = adv["at_all"]
            problems.append(
                Problem(
                    kind="at_all",
                    severity="info",
                    title=a["title"],
                    detail=f"@所有人 并提出要求，会打扰全部 {audience or '群'} 人"
                    if audience
                    else "@所有人 并提出要求",
                    alternative=a["alternative"],
                    rule="precheck.at_all",
                    source=a["source"],
                )
            )

        # 6. target group state
        for g in groups:
            if g["status"] != "active":
                problems.append(
                    Problem(
                        kind="group_state",
                        severity="warn",
                        title="目标群已不在用",
                        detail=f"“{g['name']}”状态为 {g['status']}",
                        alternative="请改发到在用的工作群",
                        rule="precheck.group_state",
                        source=adv["group_state"]["source"],
                    )
                )
            elif g["group_type"] == "temporary" and g["end_date"] and g["end_date"] < send_at.date():
                problems.append(
                    Problem(
                        kind="group_state",
                        severity="info",
                        title="临时群已过预计解散日期",
                        detail=f"“{g['name']}”预计 {g['end_date'].isoformat()} 解散",
                        alternative="工作已结束的请解散该群；仍需使用的请在“群主自助”中续期",
                        rule="precheck.group_state",
                        source=adv["group_state"]["source"],
                    )
                )
        order = {"warn": 0, "info": 1}
        problems.sort(key=lambda p: order.get(p.severity, 2))
        return {
            "text": text,
            "send_at": send_at.isoformat(timespec="minutes"),
            "working_time": is_working_time(send_at, wh),
            "urgent": urgent,
            "audience": audience,
            "groups": [{"id": g["id"], "name": g["name"]} for g in groups],
            "labels": labs,
            "problems": [asdict(p) for p in problems],
            "ok": not any(p.severity == "warn" for p in problems),
        }

    # -- parts -------------------------------------------------------------------------------
    def _groups(self, ids: list[str]) -> list[dict]:
        from sqlalchemy import select

        from zhijian.store.models import Group

        if not ids:
            return []
        with self.ws.store.session() as s:
            rows = s.execute(select(Group).where(Group.id.in_(ids))).scalars().all()
            return [
                {
                    "id": g.id,
                    "name": g.name,
                    "status": g.status,
                    "group_type": g.group_type,
                    "end_date": g.end_date,
                    "member_count": g.member_count,
                }
                for g in rows
            ]

    def _members(self, ids: list[str]) -> dict[str, set[str]]:
        if not ids:
            return {}
        m = self._table("memberships")
        q = m.filter(m.group_id.isin(ids) & m.left_at.isnull()).select("group_id", "person_id").distinct()
        out: dict[str, set[str]] = {g: set() for g in ids}
        for r in self._lake_().to_arrow(q).to_pylist():
            out[r["group_id"]].add(r["person_id"])
        return {g: v for g, v in out.items() if v}

    @staticmethod
    def _short_deadline_minutes() -> int:
        from zhijian.analysis.signals import signals_policy

        for r in signals_policy().get("findings", []):
            if "short_deadline" in r.get("rule_id", "") and "max_working_minutes" in r:
                return int(r["max_working_minutes"])
        return 240

    def _deadline(self, text: str, send_at: dt.datetime) -> tuple[dt.datetime, str] | None:
        from zhijian.analysis.deadlines import end_of_work_minute, with_deadlines
        from zhijian.lake.prepared import PreparedQuery

        eow = end_of_work_minute(self.ws.config.policy.working_hours)
        if self._deadlines is None or self._deadlines[0] != eow:  # built once per end of the working day
            if self._deadlines is not None:
                self._deadlines[1].close()
            lake = self._lake_()
            query = PreparedQuery(
                lake.con, _DRAFT, lambda t, stage: with_deadlines(lake, t, eow, 31, stage=stage)
            )
            self._deadlines = (eow, query)
        draft = pa.table({"message_id": ["d"], "text": [text], "local_ts": [send_at]}, schema=_DRAFT)
        rows = self._deadlines[1].run(draft)
        if not rows or rows[0]["deadline_min"] is None:
            return None
        r = rows[0]
        return dt.datetime(1970, 1, 1) + dt.timedelta(minutes=int(r["deadline_min"])), r["span"]

    def _duplicates(self, text, group_ids, members, groups, send_at) -> list[Problem]:
        from zhijian.analysis.neardup import Params, normalise_python

        if not group_ids or not members:
            return []
        a = advice()["duplicate"]
        norm = normalise_python(text)
        if len(norm) < Params.from_policy().min_chars:
            return []
        sh = _shingles(norm)
        lake = self._lake_()
        m = self._table("memberships")
        msgs = self._table("messages")
        target_people = set().union(*members.values())
        overlap = (
            m.filter(m.person_id.isin(list(target_people)) & m.left_at.isnull()).select("group_id").distinct()
        )
        lo = send_at - dt.timedelta(days=int(_v(a["lookback_days"])))
        n = len(text)
        cand = msgs.filter(
            msgs.group_id.isin(overlap.group_id)
            & (msgs.local_ts >= lo)
            & (msgs.local_ts <= send_at)
            & msgs.text.notnull()
            & (msgs.text.length() >= n // 2)
            & (msgs.text.length() <= n * 2 + 20)
        ).select("message_id", "group_id", "local_ts", "text")
        cand = cand.order_by(cand.local_ts.desc()).limit(int(_v(a["max_candidates"])))
        rows = lake.to_arrow(cand).to_pylist()
        hits = []
        for r in rows:
            o = _shingles(normalise_python(r["text"]))
            score = len(sh & o) / max(1, min(len(sh), len(o)))
            if score >= float(_v(a["min_score"])):
                hits.append(r)
        if not hits:
            return []
        # every copy of the matched notices (notice_clusters), in the window
        nc = self._table("notice_clusters")
        ids = [h["message_id"] for h in hits]
        cl = nc.filter(nc.message_id.isin(ids)).select("cluster_id").distinct()
        copies = nc.filter(nc.cluster_id.isin(cl.cluster_id)).select("message_id", "group_id")
        more = msgs.filter(
            msgs.message_id.isin(copies.message_id) & (msgs.local_ts >= lo) & (msgs.local_ts <= send_at)
        )
        for r in lake.to_arrow(more.select("message_id", "group_id", "local_ts")).to_pylist():
            if r["message_id"] not in ids:
                hits.append(r)
                ids.append(r["message_id"])
        first_in: dict[str, dt.datetime] = {}
        for h in hits:
            g = h["group_id"]
            if g not in first_in or h["local_ts"] < first_in[g]:
                first_in[g] = h["local_ts"]
        src_members = self._members(list(first_in))
        names = self._names(list(first_in) + list(members))
        out = []
        for g, mem in members.items():
            if g in first_in:
                out.append(
                    Problem(
                        kind="duplicate",
                        severity="warn",
                        title=a["title"],
                        detail=f"“{names.get(g, g)}”已于 {when_zh(first_in[g], send_at)} 发过内容几乎相同的通知",
                        alternative="不必重复发送；如需提醒，请回复原消息或 @ 未办理的人",
                        rule="precheck.duplicate",
                        source=a["source"],
                    )
                )
                continue
            reached: set[str] = set()
            best, best_n = None, 0
            for h, hm in src_members.items():
                if h == g:
                    continue
                k = len(mem & hm)
                reached |= mem & hm
                if k > best_n:
                    best, best_n = h, k
            if not reached:
                continue
            share = len(reached) / len(mem)
            missing = len(mem) - len(reached)
            via = f"“{names.get(best, best)}”（{when_zh(first_in[best], send_at)}）"
            others = len([h for h in src_members if h != g and mem & src_members[h]]) - 1
            if others > 0:
                via += f"等 {others + 1} 个群"
            out.append(
                Problem(
                    kind="duplicate",
                    severity="warn" if share >= float(_v(a["min_reach"])) else "info",
                    title=a["title"],
                    detail=f"这条通知已通过{via}送达“{names.get(g, g)}” {share:.0%} 的成员（{len(mem)} 人中的 {len(reached)} 人）",
                    alternative=a["alternative"].format(missing=missing),
                    rule="precheck.duplicate",
                    source=a["source"],
                )
            )
        return out

    def _names(self, ids: list[str]) -> dict[str, str]:
        from sqlalchemy import select

        from zhijian.store.models import Group

        with self.ws.store.session() as s:
            return dict(s.execute(select(Group.id, Group.name).where(Group.id.in_(ids))).all())


def precheck(ws, text: str, group_ids: list[str] | None = None, send_at: dt.datetime | None = None) -> dict:
    """One-shot check (CLI): a fresh :class:`Prechecker`."""
    pc = Prechecker(ws)
    try:
        return pc.check(text, group_ids, send_at)
    finally:
        pc.close()
