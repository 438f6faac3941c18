"""Month-by-month message generation for the demo county.

Two kinds of rows:

* **planted** rows (demands, reply storms, 接龙, notices and their forwarded copies, hard negatives,
  multi-reporting requests, system and stray messages): built event by event in Python, each with a
  dense ``uid`` and a label mask, so the ground truth knows exactly what each one is;
* **background** rows (ordinary work talk, chatter, pictures, files, links …): vectorised with numpy,
  texts taken from pre-built pools with ``pyarrow.compute.take``.

Times are int64 seconds of local wall-clock time since :data:`EPOCH` (Asia/Shanghai, no DST).
Rows that spill into the next month (a storm after a 23:50 demand) are carried over.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import re
from array import array
from dataclasses import dataclass, field

import numpy as np

from zhijian.demo import lexicon as lx
from zhijian.demo import texts as tx
from zhijian.demo.county import AS_OF, CAMPAIGN, DATA_END, DATA_START, County

EPOCH = dt.datetime(2026, 1, 1)
DAY = 86_400
T_START = int((dt.datetime.combine(DATA_START, dt.time()) - EPOCH).total_seconds())
T_END = int((AS_OF - EPOCH).total_seconds())
T_CAMPAIGN = int((dt.datetime.combine(CAMPAIGN, dt.time()) - EPOCH).total_seconds())
N_DAYS = (DATA_END - DATA_START).days + 1

# Planted base rates per county per working day at the default scale (500k messages), before the campaign.
RATES = {tx.RC: 13.0, tx.DR: 15.0, tx.PF: 6.0, tx.CK: 4.0, tx.IN: 4.0, tx.FL: 3.0, tx.AU: 3.0}
#: Planted campaign effect: multiplier on each demand kind's rate from the campaign date on.
EFFECTS = {tx.RC: 0.5, tx.DR: 0.7, tx.PF: 0.6, tx.CK: 0.5, tx.IN: 0.5, tx.FL: 0.4, tx.AU: 0.5}
RC_TAIL_P = (0.35, 0.3)  # probability of a "收到请回复" tail on another demand, before / after
P_AFTER_HOURS = 0.16  # share of non-urgent demands sent after hours before the campaign
AFTER_HOURS_EFFECT = 0.4  # after-hours demands fall by 60%
CASCADES_PER_DAY = 2.6
NOTICES_PER_DAY = 5.0
NEGATIVES_PER_DAY = 4.0
URGENT_PER_DAY = 0.5
MULTI_CASES = 40

CAT_NAMES = (
    "demand",
    "urgent",
    "reply",
    "jielong",
    "nag",
    "notice_origin",
    "notice_copy",
    "notice",
    "negative",
    "multi_report",
    "stray_reply",
    "system",
)
CAT = {n: i for i, n in enumerate(CAT_NAMES)}

AFF = {  # kind -> affinity per demand kind
    tx.RC: {"default": 1.0, "chat": 0.2, "empty": 0.0},
    tx.CK: {"default": 0.4, "township_grid": 3.0, "village_grid": 3.0, "county": 1.5, "township_staff": 1.0},
    tx.PF: {
        "default": 0.7,
        "township_villages": 2.0,
        "village_core": 1.5,
        "township_grid": 2.0,
        "organ_link": 1.5,
        "temp": 1.5,
    },
    tx.IN: {"default": 1.0, "county": 1.5, "chat": 0.2},
    tx.DR: {
        "default": 0.8,
        "organ_link": 3.0,
        "county": 2.0,
        "township_villages": 2.0,
        "township_staff": 1.0,
        "temp": 1.5,
        "village_core": 0.6,
        "chat": 0.1,
    },
    tx.FL: {"default": 0.8, "organ": 1.5, "county": 2.0, "township_staff": 1.5, "chat": 0.5},
    tx.AU: {"default": 0.8, "township_party": 3.0, "county": 1.5, "organ": 1.2},
}
EXEMPT_KINDS = ("county_emergency", "township_emergency")
TOWNSHIP_TOPICS = (
    "镇村道路维护",
    "村级集体经济",
    "村务公开",
    "驻村工作日志",
    "镇村环境卫生评比",
    "村级活动场所管理",
    "农村公益性岗位",
    "村级财务",
    "房前屋后清理",
    "五保户走访",
)


def _epoch(d: dt.date) -> int:
    return int((dt.datetime.combine(d, dt.time()) - EPOCH).total_seconds())


def iso(t: int) -> str:
    return (EPOCH + dt.timedelta(seconds=int(t))).strftime("%Y-%m-%dT%H:%M:%S+08:00")


def local_dt(t: int) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=int(t))


@dataclass
class Buf:
    """Planted rows of one month (column lists)."""

    ts: list = field(default_factory=list)
    g: list = field(default_factory=list)
    sender: list = field(default_factory=list)
    kind: list = field(default_factory=list)
    text: list = field(default_factory=list)
    at_all: list = field(default_factory=list)
    mentions: list = field(default_factory=list)
    reply_to: list = field(default_factory=list)  # uid or -1
    fwd: list = field(default_factory=list)
    uid: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts)


class Generator:
    def __init__(self, county: County, plan: dict, messages: int, seed: int):
        self.c = county
        self.s = messages / 500_000
        self.n_target = messages
        ss = np.random.SeedSequence(seed)
        a, b = ss.spawn(2)
        self.rng = np.random.default_rng(a)
        self.r = random.Random(int(b.generate_state(1)[0]))
        self.G = len(county.groups)
        self.people = county.people
        self.units = county.units
        # calendar
        import chinese_calendar as cc

        days = [DATA_START + dt.timedelta(days=i) for i in range(N_DAYS)]
        self.days = days
        self.workday = np.array([cc.is_workday(d) for d in days])
        self.day_t = np.array([_epoch(d) for d in days], np.int64)
        # time-of-day distributions (per minute)
        m = np.arange(1440)
        h = m / 60.0
        work = (
            np.exp(-((h - 10.0) ** 2) / 2.6)
            + 0.9 * np.exp(-((h - 15.6) ** 2) / 2.4)
            + 0.18 * np.exp(-((h - 20.5) ** 2) / 3.0)
            + 0.02
        )
        work[(h < 6.5)] *= 0.01
        work[(h >= 12.0) & (h < 14.0)] *= 0.35
        off = np.exp(-((h - 10.5) ** 2) / 8.0) + 0.8 * np.exp(-((h - 20.0) ** 2) / 6.0) + 0.02
        off[h < 7] *= 0.05
        self.p_work = work / work.sum()
        self.p_off = off / off.sum()
        in_work = ((m >= 510) & (m < 720)) | ((m >= 840) & (m < 1050))
        dw = np.where(in_work, work, 0.0)
        self.work_minutes = [int(x) for x in np.nonzero(in_work)[0]]
        self.work_cum = list(np.cumsum(dw[in_work]))
        ev = np.where((h >= 18.5) & (h < 23.9), np.exp(-((h - 21.8) ** 2) / 2.5), 0.0) + np.where(
            (h >= 6.5) & (h < 8.3), 0.25, 0.0
        )
        self.eve_minutes = [int(x) for x in np.nonzero(ev > 0)[0]]
        self.eve_cum = list(np.cumsum(ev[ev > 0]))
        self.system_events: list[tuple[int, int, str, int]] = []  # (ts, group, what, person/group)
        self._groups_setup(plan)
        self._texts_setup()
        # planted registry (by uid)
        self.p_mask = array("H")
        self.p_cat = array("B")
        self.p_num = array("q")
        self.p_extra: dict[int, dict] = {}
        self.storms: list[tuple[int, list[int], int]] = []  # (demand uid, reply uids, group)
        self.clusters: list[dict] = []  # cluster records
        self.cluster_of: dict[int, tuple[int, int, int]] = {}  # uid -> (cluster idx, hop, parent uid)
        self.multi: list[dict] = []
        self.notice_bodies: set[str] = set()
        self.carry = Buf()
        self.msg_counter = 0
        self.sub_last = np.full(self.G, -1, np.int64)
        self.mix = np.zeros((self.G, 6), np.int64)  # work, chat, media, demand, reply, system/other
        self._membership_events()

    # ── setup ──────────────────────────────────────────────────────────────────────────────────
    def _groups_setup(self, plan: dict) -> None:
        c = self.c
        gs = c.groups
        G = self.G
        self.g_start = np.array([_epoch(g.created) for g in gs], np.int64)
        self.g_end = np.array(
            [
                _epoch(g.dissolved) + 17 * 3600 + int(self.rng.integers(0, 3600)) if g.dissolved else T_END
                for g in gs
            ],
            np.int64,
        )
        self.g_cut = np.array([_epoch(g.cut) if g.cut else T_END for g in gs], np.int64)
        self.exempt = np.array(
            [
                g.kind in EXEMPT_KINDS or any(t in ("应急", "安保") for t in g.tags) or "应急" in g.name
                for g in gs
            ]
        )
        self.kind = [g.kind for g in gs]
        # substantive weight per group and day, with merges moving traffic into the survivor
        W = np.zeros((G, N_DAYS))
        for i, g in enumerate(gs):
            a = max(0, (g.created - DATA_START).days + 1)
            end = min(self.g_cut[i], self.g_end[i] - 17 * 3600)
            b = int(min(N_DAYS, max(0, (end - T_START) // DAY)))
            if b > a:
                W[i, a:b] = g.weight
        for i, day, into in plan["dissolved"]:
            if into is not None:
                k = (day - DATA_START).days
                W[into, k:] += 0.8 * gs[i].weight
        self.W = W
        # members: flat arrays with join/leave times
        off, flat, join, left = [0], [], [], []
        for i, g in enumerate(gs):
            n = len(g.members)
            j = np.full(n, self.g_start[i] + 9 * 3600, np.int64)
            lft = np.full(n, self.g_end[i], np.int64)
            if n > 3:
                late = self.rng.random(n) < 0.04
                late[0] = False
                lo = max(self.g_start[i], T_START)
                hi = min(self.g_end[i], T_END) - DAY
                if hi > lo:
                    j[late] = self._daytime(self.rng.integers(lo, hi, late.sum()))
                quit_ = (self.rng.random(n) < 0.02) & ~late
                quit_[0] = False
                if hi > lo:
                    lft[quit_] = self._daytime(self.rng.integers(lo, hi, quit_.sum()))
            flat.append(g.members)
            join.append(j)
            left.append(lft)
            off.append(off[-1] + n)
        # merges: members of a merged group join the survivor
        self.extra_members: list[tuple[int, int, int]] = []  # (group, person, join ts)
        for i, _day, into in plan["dissolved"]:
            if into is None:
                continue
            have = set(gs[into].members.tolist())
            newp = [int(p) for p in gs[i].members if int(p) not in have]
            t = self.g_end[i] - 1800
            for p in newp:
                self.extra_members.append((into, p, t))
            if newp:
                self.system_events.append((t + 600, into, "merge", i))
        self.extra_by_group: dict[int, list[tuple[int, int]]] = {}
        for gg, p, t in self.extra_members:
            self.extra_by_group.setdefault(gg, []).append((p, t))
        self.m_off = np.array(off, np.int64)
        self.m_flat = np.concatenate(flat).astype(np.int32)
        self.m_join = np.concatenate(join)
        self.m_left = np.concatenate(left)

    def _daytime(self, t: np.ndarray) -> np.ndarray:
        """The same days, at a time between 08:00 and 22:00."""
        return t - t % DAY + self.rng.integers(8 * 3600, 22 * 3600, len(t))

    def _texts_setup(self) -> None:
        r = self.r
        c = self.c
        names = sorted({p.name for p in c.people})[:400]
        vills = [c.units[v].short for v in c.villages][:80]
        topics = sorted({t for v in lx.ORGAN_TOPICS.values() for t in v})
        titles = ("书记", "镇长", "主任", "局长", "部长")
        work, chat, files, links = tx.background_pools(r, topics, vills, names, titles)
        gwork, _c, _f, _l = tx.background_pools(
            r, TOWNSHIP_TOPICS, vills, names, ("书记", "镇长", "主任"), n_chat=10
        )
        import pyarrow as pa

        self.pool_work = pa.array(work)
        self.pool_work_grass = pa.array(gwork)
        self.g_grass = np.array([self.units[g.unit].kind in ("township", "village") for g in c.groups])
        self.pool_chat = pa.array(chat)
        self.pool_files = pa.array(files)
        self.pool_links = pa.array(links)
        self.county_apps = {}
        self.county_accts = {}
        for a in c.apps:
            if a.closed is None:  # closed in the campaign: nobody is asked to use it
                self.county_apps.setdefault(c.units[a.unit].county, []).append(a.name)
        for a in c.accounts:
            if a.closed is None:
                self.county_accts.setdefault(c.units[a.unit].county, []).append(a.name)

    def _membership_events(self) -> None:
        gs = self.c.groups
        for i in range(self.G):
            o, n = self.m_off[i], self.m_off[i + 1] - self.m_off[i]
            owner = int(gs[i].owner)
            for k in range(1, n):
                jt = int(self.m_join[o + k])
                if T_START <= jt < T_END and jt > self.g_start[i] + 9 * 3600:
                    self.system_events.append((jt, i, "join", int(self.m_flat[o + k])))
                lt = int(self.m_left[o + k])
                if T_START <= lt < self.g_end[i] and self.r.random() < 0.5:
                    self.system_events.append((lt, i, "kick", int(self.m_flat[o + k])))
            if T_START <= self.g_start[i] < T_END:
                self.system_events.append((int(self.g_start[i]) + 9 * 3600 - 60, i, "create", owner))
            if self.g_end[i] < T_END:
                self.system_events.append((int(self.g_end[i]) - 1, i, "dissolve", owner))
            # non-substantive traffic after the last substantive day: system notes and stray replies
            cut = int(self.g_cut[i])
            end = int(min(self.g_end[i], T_END))
            if cut < end and gs[i].kind != "empty":
                t = cut + int(self.rng.integers(2, 9)) * DAY
                while t < end - DAY:
                    kind = "stray" if self.r.random() < 0.6 else "rename"
                    self.system_events.append((t + int(self.rng.integers(8 * 3600, 20 * 3600)), i, kind, -1))
                    t += int(self.rng.integers(4, 16)) * DAY
        self.system_events.sort()

    # ── helpers ────────────────────────────────────────────────────────────────────────────────
    def present(self, g: int, t: int) -> np.ndarray:
        o, e = self.m_off[g], self.m_off[g + 1]
        ok = (self.m_join[o:e] <= t) & (self.m_left[o:e] > t)
        mem = self.m_flat[o:e][ok]
        ex = self.extra_by_group.get(g)
        if ex:
            extra = [p for p, jt in ex if jt <= t]
            if extra:
                mem = np.concatenate([mem, np.array(extra, np.int32)])
        return mem

    def active(self, g: int, t: int) -> bool:
        """Whether a substantive message may be sent in group g at t."""
        return self.g_start[g] + 9 * 3600 <= t < min(self.g_cut[g], self.g_end[g]) and t < T_END

    def work_time(self, day: int) -> int:
        m = self.r.choices(self.work_minutes, cum_weights=self.work_cum)[0]
        return int(self.day_t[day]) + m * 60 + self.r.randrange(60)

    def after_time(self, day: int) -> int:
        """An after-hours time near ``day``: an evening, an early morning, or the next day off."""
        r = self.r
        if r.random() < 0.4:
            for k in range(1, 7):
                if day + k < N_DAYS and not self.workday[day + k]:
                    m = r.randrange(9 * 60, 21 * 60)
                    return int(self.day_t[day + k]) + m * 60 + r.randrange(60)
        m = r.choices(self.eve_minutes, cum_weights=self.eve_cum)[0]
        return int(self.day_t[day]) + m * 60 + r.randrange(60)

    def is_after(self, t: int) -> bool:
        day = (t - T_START) // DAY
        if day < 0 or day >= N_DAYS or not self.workday[day]:
            return True
        m = (t - int(self.day_t[day])) // 60
        return not (510 <= m < 720 or 840 <= m < 1050)

    def defer(self, t: int) -> int:
        """Forwarders often wait for working hours; after the campaign most do (下班时间原则上不发工作信息)."""
        if not self.is_after(t) or self.r.random() > (0.7 if t >= T_CAMPAIGN else 0.3):
            return t
        day = (t - T_START) // DAY
        m = (t - int(self.day_t[min(max(day, 0), N_DAYS - 1)])) // 60
        if 0 <= day < N_DAYS and self.workday[day] and m < 510:
            return int(self.day_t[day]) + 510 * 60 + self.r.randrange(1800)
        if 0 <= day < N_DAYS and self.workday[day] and 720 <= m < 840:
            return int(self.day_t[day]) + 840 * 60 + self.r.randrange(1800)
        for k in range(1, 10):
            if day + k < N_DAYS and self.workday[day + k]:
                return int(self.day_t[day + k]) + 510 * 60 + self.r.randrange(3600)
        return t

    def new_uid(self, mask: int, cat: str) -> int:
        self.p_mask.append(mask)
        self.p_cat.append(CAT[cat])
        self.p_num.append(-1)
        return len(self.p_mask) - 1

    def emit(
        self,
        buf: Buf,
        t: int,
        g: int,
        sender: int,
        kind: str,
        text: str,
        mask: int,
        cat: str,
        *,
        at_all: bool = False,
        mentions: list[str] | None = None,
        reply_to: int = -1,
        fwd: bool = False,
        extra: dict | None = None,
    ) -> int:
        uid = self.new_uid(mask, cat)
        buf.ts.append(t)
        buf.g.append(g)
        buf.sender.append(sender)
        buf.kind.append(kind)
        buf.text.append(text)
        buf.at_all.append(at_all or "@所有人" in text[:16])
        buf.mentions.append(json.dumps(mentions, ensure_ascii=False) if mentions else "[]")
        buf.reply_to.append(reply_to)
        buf.fwd.append(fwd)
        buf.uid.append(uid)
        if extra:
            self.p_extra[uid] = extra
        return uid

    def ctx(self, g: int, now: int, topic: str | None = None) -> dict:
        grp = self.c.groups[g]
        u = self.units[grp.unit]
        cty = u.county
        if u.kind == "organ":
            topics = lx.ORGAN_TOPICS.get(u.short, ["重点工作"])
        else:
            topics = TOWNSHIP_TOPICS
        return {
            "apps": self.county_apps.get(cty, []) + ["学习强国"],
            "accounts": self.county_accts.get(cty, []),
            "unit": u.short,
            "topics": topics,
            "topic": topic,
            "now": local_dt(now),
        }

    def leader_of(self, g: int, t: int) -> int:
        mem = self.present(g, t)
        owner = int(self.c.groups[g].owner)
        leaders = [int(p) for p in mem[:12] if self.people[p].leader]
        if self.r.random() < 0.55 or not leaders:
            return owner
        return self.r.choice(leaders)

    # ── planted events ─────────────────────────────────────────────────────────────────────────
    def storm(
        self, buf: Buf, duid: int, g: int, t0: int, sender: int, text: str, nested: bool = False
    ) -> None:
        r = self.r
        mem = self.present(g, t0)
        mem = mem[mem != sender]
        n = len(mem)
        if n == 0:
            return
        p = r.uniform(0.45, 0.92) if n <= 150 else r.uniform(0.2, 0.5)
        k = min(200, max(1, int(round(n * p))))
        who = self.rng.choice(mem, size=k, replace=False)
        delays = np.sort(np.minimum(self.rng.lognormal(math.log(100), 1.3, k), 8 * 3600)).astype(np.int64)
        times = t0 + 5 + delays
        end = min(int(self.g_end[g]), T_END)
        jl = "接龙" in text
        status = next(
            (
                s
                for key, s in (
                    ("平安", "平安"),
                    ("学习", "已学习"),
                    ("参会", "参会"),
                    ("报到", "到岗"),
                    ("签到", "已签到"),
                    ("巡查", "已报送"),
                )
                if key in text
            ),
            "已完成",
        )
        solitaire = jl and k <= 40 and r.random() < 0.35
        clause = next((c for c in re.split("[，。！,]", text) if "接龙" in c), text.split("，")[0])
        head = "#接龙\n" + clause.strip()[:30]
        entries: list[str] = []
        rids: list[int] = []
        for j in range(k):
            t = int(times[j])
            if t >= end:
                break
            pj = int(who[j])
            pers = self.people[pj]
            unit = self.units[pers.unit].short
            if jl:
                entry = tx.jielong_entry(r, len(entries) + 1, unit, pers.name, status)
                entries.append(entry)
                if solitaire:
                    txt = head + "\n\n" + "\n".join(entries)
                    rid = self.emit(buf, t, g, pj, "solitaire", txt, tx.RR, "jielong")
                else:
                    rid = self.emit(buf, t, g, pj, "text", entry, tx.RR, "jielong")
            else:
                x = r.random()
                if x < 0.05:  # a reply quoting the demand
                    rid = self.emit(
                        buf,
                        t,
                        g,
                        pj,
                        "text",
                        tx.quote_reply(r, self.people[sender].display, text),
                        tx.RR,
                        "reply",
                        reply_to=duid,
                    )
                else:
                    rid = self.emit(
                        buf,
                        t,
                        g,
                        pj,
                        "text",
                        tx.reply(r, unit, pers.name),
                        tx.RR,
                        "reply",
                        reply_to=duid if x < 0.22 else -1,
                    )
            rids.append(rid)
        self.storms.append((duid, rids, g))
        # a nag for those who did not reply
        if not nested and rids and n <= 80 and r.random() < 0.25:
            replied = set(int(x) for x in who[: len(rids)])
            missing = [int(p) for p in mem if int(p) not in replied]
            tn = int(times[min(len(rids), k) - 1]) + r.randrange(600, 3600)
            if missing and tn < end and self.active(g, tn):
                pick = missing[: r.randint(1, min(4, len(missing)))]
                ntext, nmask = tx.nag(r, [self.people[p].display for p in pick])
                nid = self.emit(
                    buf,
                    tn,
                    g,
                    sender,
                    "text",
                    ntext,
                    nmask,
                    "nag",
                    mentions=[self.people[p].wxid for p in pick],
                )
                rr = []
                for q, p in enumerate(pick):
                    tq = tn + 30 + q * r.randrange(20, 300)
                    if tq < end:
                        rr.append(
                            self.emit(
                                buf, tq, g, p, "text", tx.reply(r, "", self.people[p].name), tx.RR, "reply"
                            )
                        )
                self.storms.append((nid, rr, g))

    def demand_event(self, buf: Buf, kind: int, g: int, day: int, campaign: bool) -> None:
        r = self.r
        t = self.work_time(day)
        after = (not self.exempt[g]) and r.random() < (P_AFTER_HOURS * (self._ah_after if campaign else 1.0))
        if after:
            t = self.after_time(day)
        if not self.active(g, t):
            return
        sender = self.leader_of(g, t)
        ctx = self.ctx(g, t)
        ctx["p_rc_tail"] = RC_TAIL_P[1 if campaign else 0]
        text, mask = tx.demand(kind, r, ctx)
        if after and any(m in text for m in tx.URGENT_MARKERS):
            text = text.replace("紧急", "").replace("应急", "").replace("安保", "")
        mentions = None
        if kind in (tx.DR, tx.PF) and r.random() < 0.1:
            mem = self.present(g, t)
            pick = [int(p) for p in self.rng.choice(mem, size=min(len(mem), r.randint(1, 3)), replace=False)]
            text = " ".join("@" + self.people[p].display for p in pick) + " " + text
            mentions = [self.people[p].wxid for p in pick]
        extra = {"deadline": ctx["_deadline"]} if "_deadline" in ctx else None
        uid = self.emit(buf, t, g, sender, "text", text, mask, "demand", mentions=mentions, extra=extra)
        if mask & tx.RC and r.random() < 0.9:
            self.storm(buf, uid, g, t, sender, text)

    def urgent_event(self, buf: Buf, g: int, day: int) -> None:
        t = self.after_time(day) if self.r.random() < 0.7 else self.work_time(day)
        if not self.active(g, t):
            return
        sender = self.leader_of(g, t)
        text, mask = tx.urgent_demand(self.r, self.ctx(g, t))
        uid = self.emit(buf, t, g, sender, "text", text, mask, "urgent", at_all=self.r.random() < 0.5)
        if mask & tx.RC or self.r.random() < 0.5:
            self.storm(buf, uid, g, t, sender, text, nested=True)

    def is_present(self, g: int, p: int, t: int) -> bool:
        o, e = self.m_off[g], self.m_off[g + 1]
        idx = np.nonzero(self.m_flat[o:e] == p)[0] + o
        if any(self.m_join[i] <= t < self.m_left[i] for i in idx):
            return True
        return any(q == p and jt <= t for q, jt in self.extra_by_group.get(g, ()))

    def _township_groups(self, person: int, t: int, prefer: tuple[str, ...]) -> list[int]:
        out = []
        for gi in self._groups_of_person.get(person, ()):
            if self.kind[gi] in prefer and self.active(gi, t) and self.is_present(gi, person, t + 300):
                out.append(gi)
        return out

    def cascade(
        self,
        buf: Buf,
        g0: int,
        t0: int,
        sender: int,
        paras,
        org: str,
        template: int | None,
        cat: str = "notice_origin",
        extra: dict | None = None,
    ) -> int:
        r = self.r
        text, mask = tx.render_notice(paras)
        cl = len(self.clusters)
        uid = self.emit(buf, t0, g0, sender, "text", text, mask, cat, extra=extra)
        self.clusters.append({"template": template, "origin": uid, "members": [uid], "group": g0})
        self.cluster_of[uid] = (cl, 0, -1)
        if mask & tx.RC and r.random() < 0.8:
            self.storm(buf, uid, g0, t0, sender, text, nested=True)
        flood = "防汛" in text or "降雨" in text or "强降水" in text
        got = {g0}
        mem0 = self.present(g0, t0)
        town_members = [int(p) for p in mem0 if self.c.person_unit_kind[p] == 1 and int(p) != sender]
        r.shuffle(town_members)
        done_towns = set()
        for p in town_members:
            tw = self.people[p].unit
            if tw in done_towns or r.random() > 0.85:
                continue
            done_towns.add(tw)
            t1 = self.defer(t0 + int(self.rng.lognormal(math.log(1500), 0.9)))
            prefer = (
                ("township_villages", "township_staff")
                + (("township_emergency",) if flood else ())
                + (("township_party",) if r.random() < 0.3 else ())
            )
            targets = [gi for gi in self._township_groups(p, t1, prefer) if gi not in got]
            if not targets:
                continue
            if not flood:
                targets = targets[: r.choice((1, 1, 2))]
            unit = self.units[tw].short
            for gi in targets:
                t1b = t1 + r.randrange(5, 240)
                if not self.active(gi, t1b):
                    continue
                got.add(gi)
                ctext, cmask, verbatim = tx.forward_copy(paras, r, org, unit)
                cu = self.emit(buf, t1b, gi, p, "text", ctext, cmask, "notice_copy", fwd=verbatim)
                self.clusters[cl]["members"].append(cu)
                self.cluster_of[cu] = (cl, 1, uid)
                if cmask & tx.RC and r.random() < 0.7:
                    self.storm(buf, cu, gi, t1b, p, ctext, nested=True)
                if self.kind[gi] != "township_villages":
                    continue
                # hop 2: village cadres pass it on to their village groups
                mem1 = self.present(gi, t1b)
                vmem = [int(q) for q in mem1 if self.c.person_unit_kind[q] == 2 and self.people[q].leader]
                seen_v = set()
                for q in vmem:
                    vu = self.people[q].unit
                    if vu in seen_v or r.random() > 0.5:
                        continue
                    seen_v.add(vu)
                    t2 = self.defer(t1b + int(self.rng.lognormal(math.log(2400), 0.9)))
                    tg = [
                        x
                        for x in self._township_groups(q, t2, ("village_core", "village_leaders"))
                        if x not in got
                    ][:1]
                    for gj in tg:
                        got.add(gj)
                        src_paras = paras
                        ctext2, cmask2, verb2 = tx.forward_copy(src_paras, r, org, self.units[vu].short)
                        cu2 = self.emit(buf, t2, gj, q, "text", ctext2, cmask2, "notice_copy", fwd=verb2)
                        self.clusters[cl]["members"].append(cu2)
                        self.cluster_of[cu2] = (cl, 2, cu)
                        if cmask2 & tx.RC and r.random() < 0.6:
                            self.storm(buf, cu2, gj, t2, q, ctext2, nested=True)
        return uid

    def notice_event(self, buf: Buf, g: int, day: int, cascade: bool) -> None:
        r = self.r
        t = self.work_time(day)
        if not self.active(g, t):
            return
        sender = self.leader_of(g, t)
        grp = self.c.groups[g]
        u = self.units[grp.unit]
        org = u.name if u.kind == "organ" else u.short + "人民政府"
        ctx = self.ctx(g, t)
        ctx["township"] = u.kind != "organ"
        general = u.kind != "organ" or u.short in ("应急管理局", "县委办", "县政府办", "水利局")
        campaign = t >= T_CAMPAIGN
        for _try in range(8):  # every notice is a different notice: its body (without the date line) is new
            k = r.randrange(len(tx.NOTICE_TEMPLATES))
            while not general and tx.NOTICE_TEMPLATES[k][0] in ("weather", "holiday"):
                k = r.randrange(len(tx.NOTICE_TEMPLATES))
            slots = tx.notice_slots(r, ctx["now"], org, ctx["topics"])
            paras = tx.notice(
                k, slots, r, ctx, with_demand=(0.45 if cascade else 0.2) * (0.625 if campaign else 1.0)
            )
            key = "".join(p for p, m in paras[:-1] if m == 0)  # title and body, not the demand line
            if key not in self.notice_bodies:
                break
        else:
            return
        self.notice_bodies.add(key)
        extra = {"deadline": ctx["_deadline"]} if "_deadline" in ctx else None
        if cascade:
            self.cascade(buf, g, t, sender, paras, org, k, extra=extra)
        else:
            text, mask = tx.render_notice(paras, r.choice(("\n", "")))
            uid = self.emit(buf, t, g, sender, "text", text, mask, "notice", extra=extra)
            self.clusters.append({"template": k, "origin": uid, "members": [uid], "group": g})
            self.cluster_of[uid] = (len(self.clusters) - 1, 0, -1)
            if mask & tx.RC and r.random() < 0.8:
                self.storm(buf, uid, g, t, sender, text, nested=True)

    def negative_event(self, buf: Buf, g: int, day: int, campaign: bool) -> None:
        t = self.work_time(day) if self.r.random() < 0.8 else self.after_time(day)
        if not self.active(g, t):
            return
        text = tx.negative(self.r, campaign)
        self.emit(buf, t, g, self.leader_of(g, t), "text", text, 0, "negative", extra={"hard_negative": True})

    def multi_case(self, buf: Buf, case: dict) -> None:
        """Several units ask for the same item within days (多头填报)."""
        r = self.r
        uids = []
        for (organ_unit, form), day in zip(case["requests"], case["days"], strict=True):
            g = self._request_group(organ_unit)
            if g is None:
                continue
            t = self.work_time(day)
            if not self.active(g, t):
                continue
            sender = self.leader_of(g, t)
            now = local_dt(t)
            phrase, due = tx.deadline(r, now, short=r.random() < 0.6)
            fields = r.choice(lx.MULTI_FIELDS)
            item = case["item"]
            tpl = r.choice(
                (
                    "请各乡镇于{dl}报送{form}（含{fields}），逾期未报的将予以通报",
                    "麻烦各乡镇统计一下辖区{item}情况，填写{form}，{dl}发我邮箱",
                    "关于开展{item}信息摸排的通知：请各乡镇对辖区{item}进行全面摸排，填写《{form}》，于{dl}报{unit}",
                    "【{unit}】请各乡镇{dl}报送《{form}》，需填写{fields}，电子版和盖章扫描件各一份",
                    "各乡镇：为掌握全县{item}底数，请于{dl}将{form}报送我单位，收到请回复",
                )
            )
            text = tpl.format(
                dl=phrase, form=form, fields=fields, item=item, unit=self.units[organ_unit].short
            )
            mask = tx.DR | (tx.RC if "收到请回复" in text else 0)
            ex = {"deadline": due, "multi_case": case["id"]}
            org = self.units[organ_unit].name
            if r.random() < 0.6:
                paras = [(text + "。", mask), (org, 0)]
                uid = self.cascade(buf, g, t, sender, paras, org, None, cat="multi_report", extra=ex)
            else:
                text = tx.noisy(text + "。", r, 0.5)
                uid = self.emit(buf, t, g, sender, "text", text, mask, "multi_report", extra=ex)
                if mask & tx.RC:
                    self.storm(buf, uid, g, t, sender, text, nested=True)
            uids.append((uid, organ_unit, g))
        if len({u for _x, u, _g in uids}) >= 2:
            self.multi.append({"id": case["id"], "item": case["item"], "requests": uids})

    def _request_group(self, organ_unit: int) -> int | None:
        best = None
        for i, g in enumerate(self.c.groups):
            if g.unit == organ_unit and g.kind == "organ_link" and g.cut is None and g.dissolved is None:
                return i
            if best is None and g.unit == organ_unit and g.kind == "organ_link":
                best = i
        return best

    def plan_multi(self) -> list[dict]:
        r = self.r
        cases = []
        n = max(2, int(round(MULTI_CASES * self.s)))
        work_days = [d for d in range(N_DAYS - 6) if self.workday[d]]
        camp_day = (CAMPAIGN - DATA_START).days
        before = [d for d in work_days if d < camp_day]
        after = [d for d in work_days if d >= camp_day]
        n_before = int(round(n / (1 + EFFECTS[tx.DR])))  # the campaign cuts 多头填报 like other data requests
        for k in range(n):
            cty = k % len(self.c.counties)
            item = lx.MULTI_ITEMS[r.randrange(len(lx.MULTI_ITEMS))]
            reqs = [(self.c.organs[(cty, o)], form) for o, form in item[1:] if (cty, o) in self.c.organs]
            if len(reqs) < 2:
                continue
            r.shuffle(reqs)
            d0 = r.choice(before if k < n_before else after)
            days = [d0] + [min(N_DAYS - 1, d0 + r.randint(0, 5)) for _ in reqs[1:]]
            cases.append({"id": f"MR{k + 1:04d}", "item": item[0], "requests": reqs, "days": days})
        return cases

    # ── system messages ────────────────────────────────────────────────────────────────────────
    def system_rows(self, buf: Buf, lo: int, hi: int) -> None:
        r = self.r
        gs = self.c.groups
        for t, g, what, who in self._sys_iter(lo, hi):
            owner = gs[g].owner
            od = self.people[owner].display
            if what == "join":
                self.emit(
                    buf, t, g, -1, "system", f"“{od}”邀请“{self.people[who].display}”加入了群聊", 0, "system"
                )
            elif what == "kick":
                self.emit(
                    buf, t, g, -1, "system", f"“{od}”将“{self.people[who].display}”移出了群聊", 0, "system"
                )
            elif what == "create":
                self.emit(buf, t, g, -1, "system", f"“{od}”创建了群聊“{gs[g].name}”", 0, "system")
            elif what == "dissolve":
                self.emit(buf, t, g, -1, "system", "群主已解散该群聊", 0, "system")
            elif what == "merge":
                ex = self.extra_by_group.get(g, [])
                names = [self.people[p].display for p, _t in ex[:3]]
                n = len(ex)
                self.emit(
                    buf, t, g, -1, "system", f"“{od}”邀请“{'”、“'.join(names)}”等{n}人加入了群聊", 0, "system"
                )
                if self.active(g, t + 120):
                    self.emit(
                        buf,
                        t + 120,
                        g,
                        owner,
                        "text",
                        f"根据整治要求，原“{gs[who].name}”并入本群，今后相关工作在本群开展",
                        0,
                        "notice",
                    )
            elif what == "stray":
                mem = self.present(g, t)
                if len(mem):
                    p = int(mem[r.randrange(len(mem))])
                    self.emit(buf, t, g, p, "text", tx.pick(r, tx.REPLIES), tx.RR, "stray_reply")
            elif what == "rename":
                if r.random() < 0.5:
                    self.emit(buf, t, g, -1, "system", f"“{od}”修改群名为“{gs[g].name}”", 0, "system")
                else:
                    mem = self.present(g, t)
                    if len(mem):
                        p = int(mem[r.randrange(len(mem))])
                        self.emit(
                            buf, t, g, p, "recall", f"“{self.people[p].display}”撤回了一条消息", 0, "system"
                        )

    def _sys_iter(self, lo: int, hi: int):
        ev = self.system_events
        i = self._sys_pos
        while i < len(ev) and ev[i][0] < hi:
            if ev[i][0] >= lo:
                yield ev[i]
            i += 1
        self._sys_pos = i

    # ── month ──────────────────────────────────────────────────────────────────────────────────
    def prepare(self) -> None:
        gs = self.c.groups
        self._groups_of_person: dict[int, list[int]] = {}
        for i in range(self.G):
            for p in gs[i].members:
                self._groups_of_person.setdefault(int(p), []).append(i)
        for g, p, _t in self.extra_members:
            self._groups_of_person.setdefault(p, []).append(g)
        self._sys_pos = 0
        M = sum(RATES[k] * EFFECTS[k] for k in RATES) / sum(RATES.values())
        self._ah_after = AFTER_HOURS_EFFECT / M
        aff = {}
        for k, table in AFF.items():
            a = np.array([table.get(kd, table["default"]) for kd in self.kind])
            norm = (a * np.array([g.weight for g in gs])).sum()
            aff[k] = a / max(norm, 1e-9)
        self.aff = aff
        self.multi_cases = self.plan_multi()
        # background allocation over months: proportional to active weight × day factor
        dayf = np.where(self.workday, 1.0, 0.22)
        self.bg_cell = self.W * dayf[None, :]
        self.notice_w = np.array(
            [
                {
                    "organ_link": 3.0,
                    "county": 1.5,
                    "organ": 0.6,
                    "township_staff": 0.8,
                    "township_villages": 0.8,
                }.get(k, 0.0)
                for k in self.kind
            ]
        )
        self.casc_w = np.array([{"organ_link": 3.0, "county": 1.0}.get(k, 0.0) for k in self.kind])
        self.urg_w = np.array([1.0 if k in EXEMPT_KINDS else 0.0 for k in self.kind])

    def month(self, first: int, last: int) -> tuple[Buf, dict]:
        """Planted rows for days [first, last] (day indices); background is drawn by the caller."""
        buf = self.carry
        self.carry = Buf()
        lo = int(self.day_t[first])
        hi = int(self.day_t[last]) + DAY
        rng = self.rng
        s = self.s
        sl = slice(first, last + 1)
        W = self.W[:, sl]
        wd = self.workday[sl]
        camp = self.day_t[sl] >= T_CAMPAIGN
        events: list[tuple[int, int, int, int]] = []  # (day, order, kind code, group)
        for k, rate in RATES.items():
            # expected county-wide total per working day = rate × scale × campaign multiplier, spread over the
            # groups active that day by affinity × traffic weight
            mult = np.where(camp, EFFECTS[k], 1.0) * wd
            aw = self.aff[k][:, None] * W
            lam = rate * s * aw / np.maximum(aw.sum(axis=0), 1e-12)[None, :] * mult[None, :]
            cnt = rng.poisson(lam)
            for g, d in zip(*np.nonzero(cnt), strict=True):
                for _ in range(int(cnt[g, d])):
                    events.append((first + int(d), len(events), k, int(g)))
        for code, per_day, wvec, dayf in (
            (1000, CASCADES_PER_DAY, self.casc_w, wd * np.where(camp, 0.8, 1.0)),
            (1001, NOTICES_PER_DAY, self.notice_w, wd * 1.0),
            (1002, NEGATIVES_PER_DAY, np.ones(self.G), np.where(camp, 2.5, 1.0) * (0.3 + 0.7 * wd)),
            (
                1003,
                URGENT_PER_DAY,
                self.urg_w,
                np.array([1.0 if self.days[first + i].month <= 9 else 0.2 for i in range(last - first + 1)]),
            ),
        ):
            tot = (wvec[:, None] * (W > 0)).sum(axis=0)
            lam = per_day * s * wvec[:, None] * (W > 0) * dayf[None, :] / np.maximum(tot, 1e-9)
            cnt = rng.poisson(lam)
            for g, d in zip(*np.nonzero(cnt), strict=True):
                for _ in range(int(cnt[g, d])):
                    events.append((first + int(d), len(events), code, int(g)))
        events.sort()
        for day, _o, code, g in events:
            campaign = self.day_t[day] >= T_CAMPAIGN
            if code < 1000:
                self.demand_event(buf, code, g, day, campaign)
            elif code == 1000:
                self.notice_event(buf, g, day, cascade=True)
            elif code == 1001:
                self.notice_event(buf, g, day, cascade=False)
            elif code == 1002:
                self.negative_event(buf, g, day, campaign)
            else:
                self.urgent_event(buf, g, day)
        for case in self.multi_cases:
            if first <= case["days"][0] <= last:
                self.multi_case(buf, case)
        self.system_rows(buf, lo, hi)
        # split off what spills into the next month
        ts = np.array(buf.ts, np.int64)
        spill = ts >= hi
        drop = ts >= T_END
        if spill.any():
            keep = Buf()
            for name in Buf.__dataclass_fields__:
                col = getattr(buf, name)
                setattr(keep, name, [v for v, sp in zip(col, spill, strict=True) if not sp])
                if hi < T_END:
                    setattr(
                        self.carry,
                        name,
                        [v for v, sp, dr in zip(col, spill, drop, strict=True) if sp and not dr],
                    )
            buf = keep
        return buf, {"lo": lo, "hi": hi, "first": first, "last": last}

    def background(self, n: int, first: int, last: int):
        """``n`` background rows over days [first, last]: (ts, group, sender, kind code, pool code, pool index)."""
        rng = self.rng
        cells = self.bg_cell[:, first : last + 1]
        p = cells.ravel() / cells.sum()
        cnt = rng.multinomial(n, p).reshape(cells.shape)
        g, d = np.nonzero(cnt)
        reps = cnt[g, d]
        g = np.repeat(g, reps).astype(np.int64)
        d = np.repeat(d, reps).astype(np.int64) + first
        wd = self.workday[d]
        m = np.where(
            wd, rng.choice(1440, size=len(g), p=self.p_work), rng.choice(1440, size=len(g), p=self.p_off)
        )
        ts = self.day_t[d] + m * 60 + rng.integers(0, 60, len(g))
        # senders: skewed towards each group's talkative members; must be present at the time
        nmem = self.m_off[g + 1] - self.m_off[g]
        idx = np.minimum((nmem * rng.random(len(g)) ** 1.7).astype(np.int64), nmem - 1)
        flat = self.m_off[g] + idx
        ok = (self.m_join[flat] <= ts) & (self.m_left[flat] > ts)
        flat = np.where(ok, flat, self.m_off[g])
        sender = self.m_flat[flat]
        # keep within the group's substantive life
        okg = (ts >= self.g_start[g] + 9 * 3600) & (ts < np.minimum(self.g_cut[g], self.g_end[g]))
        ts, g, sender = ts[okg], g[okg], sender[okg]
        k = len(g)
        chat_share = np.array([x.chat_share for x in self.c.groups])[g]
        u = rng.random(k)
        # kinds: 0 text-work 1 text-chat 2 image 3 voice 4 video 5 file 6 link 7 sticker 8 recall
        kind = np.where(u < chat_share, 1, 0)
        v = rng.random(k)
        media = np.select(
            [v < 0.12, v < 0.15, v < 0.165, v < 0.205, v < 0.235, v < 0.27, v < 0.28],
            [2, 3, 4, 5, 6, 7, 8],
            default=-1,
        )
        kind = np.where(media >= 0, media, kind)
        kind = np.where((kind == 5) & (chat_share > 0.5), 7, kind)
        return ts, g, sender, kind
