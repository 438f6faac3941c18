"""The demo county's inventory: unit tree, cadres, work groups, apps and public accounts.

Built with one seeded ``numpy`` generator, in a fixed order, so the same seed gives the same county.
Groups carry their design (traffic weight, planned zombie cut, dissolution, category flags); the
message generator reads it and the ground truth is computed from what was actually generated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from zhijian.demo import lexicon as lx

DATA_START = dt.date(2026, 5, 1)
DATA_END = dt.date(2026, 10, 31)  # inclusive
AS_OF = dt.datetime(2026, 11, 1, 0, 0)  # local time: the moment the data ends
CAMPAIGN = dt.date(2026, 8, 1)


@dataclass
class Unit:
    code: str
    name: str
    parent: int | None
    level: str  # 省 市 县 乡镇 村 (organs are 县 level)
    category: str
    kind: str  # province city county organ township village
    county: int = 0
    township: int | None = None  # index into County.townships (for villages and townships)
    short: str = ""  # organ short name or township name


@dataclass
class Person:
    pid: str
    name: str
    unit: int
    title: str
    wxid: str
    qyid: str
    phone: str
    display: str
    leader: bool


@dataclass
class Group:
    gid: str
    name: str
    platform: str
    owner: int  # person index
    unit: int
    purpose: str
    gtype: str  # 固定 | 临时
    created: dt.date
    end_date: dt.date | None
    members: np.ndarray  # person indices, owner first
    kind: str  # organ, organ_link, county, township_*, village_*, temp, chat, empty
    weight: float  # substantive traffic weight
    tags: list[str] = field(default_factory=list)
    registered: bool = True  # 是否备案
    in_inventory: bool = True  # listed in 工作群摸底表
    chat_share: float = 0.12
    cut: dt.date | None = None  # planned: no substantive message on or after this date
    dissolved: dt.date | None = None
    merged_into: int | None = None
    design: list[str] = field(default_factory=list)  # planted categories (design intent)
    county: int = 0
    township: int | None = None
    duplicate_of: int | None = None
    overlap_of: int | None = None


@dataclass
class App:
    name: str
    platform: str
    unit: int
    functions: list[str]
    features: list[str]
    launched: dt.date
    last_active: dt.date
    users: int
    registered: bool
    tags: list[str]
    design: list[str] = field(default_factory=list)
    dup_key: str | None = None
    closed: dt.date | None = None  # 关停 in the campaign (status + date in the 摸底表)


@dataclass
class Account:
    name: str
    platform: str
    unit: int
    created: dt.date
    last_post: dt.date
    followers: int
    registered: bool
    functions: list[str]
    design: list[str] = field(default_factory=list)
    dup_key: str | None = None
    closed: dt.date | None = None  # 注销 in the campaign


@dataclass
class County:
    units: list[Unit]
    people: list[Person]
    groups: list[Group]
    apps: list[App]
    accounts: list[Account]
    counties: list[int]  # unit index of each county
    organs: dict[tuple[int, str], int]  # (county, organ short) -> unit index
    townships: list[int]  # unit indices
    villages: list[int]
    staff: dict[int, list[int]]  # unit index -> person indices
    person_unit_kind: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))


class _Ids:
    """Unique random identifiers drawn from the seeded generator."""

    ALNUM = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.seen: set[str] = set()

    def make(self, fn) -> str:
        while True:
            s = fn()
            if s not in self.seen:
                self.seen.add(s)
                return s

    def alnum(self, n: int) -> str:
        return "".join(self.ALNUM[self.rng.integers(0, 36, n)])


def _weighted_titles(spec, n: int, rng: np.random.Generator) -> list[str]:
    out: list[str] = []
    for title, k in spec:
        out.extend([title] * k)
    if n <= len(out):
        # keep the leading (leadership) titles, sample the rest
        head = [t for t, k in spec[:2] for _ in range(k)]
        tail = out[len(head) :]
        pick = rng.choice(len(tail), size=max(0, n - len(head)), replace=False) if n > len(head) else []
        return (head + [tail[i] for i in sorted(pick)])[:n]
    filler = [t for t, _ in spec if t in ("干部", "科员", "村民小组长", "网格员")] or [spec[-1][0]]
    return out + [filler[i % len(filler)] for i in range(n - len(out))]


def _names(n: int, rng: np.random.Generator) -> list[str]:
    sur = list(lx.SURNAMES.replace("欧阳", ""))
    w = np.ones(len(sur))
    w[: lx.SURNAME_WEIGHTS_TOP] = 3.0
    w /= w.sum()
    surnames = rng.choice(len(sur), size=n, p=w)
    compound = rng.random(n) < 0.01
    one = rng.random(n) < 0.28
    i1 = rng.integers(0, len(lx.GIVEN_1), n)
    i2 = rng.integers(0, len(lx.GIVEN_2), n)
    out = []
    for i in range(n):
        s = "欧阳" if compound[i] else sur[surnames[i]]
        out.append(s + (lx.GIVEN_1[i1[i]] if one[i] else lx.GIVEN_2[i2[i]]))
    return out


def _date_between(rng: np.random.Generator, a: dt.date, b: dt.date) -> dt.date:
    span = (b - a).days
    return a + dt.timedelta(days=int(rng.integers(0, max(span, 0) + 1)))


def organ_full_name(county: str, short: str) -> str:
    """青山县 + 县委办 → 青山县委办公室; 团县委 → 共青团青山县委; 教育局 → 青山县教育局."""
    special = {
        "县委办": f"{county}委办公室",
        "县政府办": f"{county}人民政府办公室",
        "组织部": f"{county}委组织部",
        "宣传部": f"{county}委宣传部",
        "政法委": f"{county}委政法委",
        "团县委": f"共青团{county}委",
    }
    return special.get(short, county + short)


def build_county(messages: int, rng: np.random.Generator) -> County:
    s = messages / 500_000
    if s > 1.5:
        n_counties = int(round(s))
        f = s / n_counties
    else:
        n_counties, f = 1, max(s, 0.06)
    units: list[Unit] = [
        Unit("990000", lx.PROVINCE, None, "省", "省级", "province"),
        Unit("990100", lx.CITY, 0, "市", "地级市", "city"),
    ]
    organs: dict[tuple[int, str], int] = {}
    townships: list[int] = []
    villages: list[int] = []
    counties: list[int] = []
    used_vnames: set[str] = set()
    for c in range(n_counties):
        if c < len(lx.COUNTY_NAMES):
            cname = lx.COUNTY_NAMES[c]
        else:
            cname = (
                lx.COUNTY_EXTRA_A[c % 10]
                + lx.COUNTY_EXTRA_B[(c // 10) % 10]
                + lx.COUNTY_NAMES[c % 20][:-1][-1]
                + "县"
            )
        ccode = f"99{c + 1:02d}21"
        counties.append(len(units))
        units.append(Unit(ccode, cname, 1, "县", "县级行政区", "county", county=c, short=cname))
        cu = counties[-1]
        g = min(1.0, f) ** 0.5  # units and staff per unit both scale with sqrt(f): people scale with f
        n_org = max(len(lx.CORE_ORGANS) - 2, min(len(lx.ORGANS), int(round(len(lx.ORGANS) * g))))
        org_names = [o[0] for o in lx.ORGANS if o[0] in lx.CORE_ORGANS]
        org_names += [o[0] for o in lx.ORGANS if o[0] not in lx.CORE_ORGANS][: max(0, n_org - len(org_names))]
        for k, (oname, _okind, ocat) in enumerate(lx.ORGANS):
            if oname not in org_names:
                continue
            organs[(c, oname)] = len(units)
            units.append(
                Unit(
                    f"{ccode}{k + 1:03d}",
                    organ_full_name(cname, oname),
                    cu,
                    "县",
                    ocat,
                    "organ",
                    county=c,
                    short=oname,
                )
            )
        n_town = max(2, min(len(lx.TOWNSHIP_NAMES), int(round(8 * f if f > 1 else 8 * g))))
        vpt = max(2, int(round(5 * g)))
        tnames = list(lx.TOWNSHIP_NAMES)
        order = rng.permutation(len(tnames))
        for t in range(n_town):
            tname = tnames[order[t]]
            ti = len(units)
            townships.append(ti)
            units.append(
                Unit(
                    f"{ccode}{101 + t:03d}",
                    tname if c == 0 else cname + tname,
                    cu,
                    "乡镇",
                    "乡镇",
                    "township",
                    county=c,
                    township=len(townships) - 1,
                    short=tname,
                )
            )
            for v in range(vpt + int(rng.integers(0, 2)) if f >= 0.5 else vpt):
                for attempt in range(200):
                    mid = lx.VILLAGE_SECOND[rng.integers(0, len(lx.VILLAGE_SECOND))]
                    if attempt > 20:
                        mid += lx.VILLAGE_SECOND[rng.integers(0, len(lx.VILLAGE_SECOND))]
                    vn = (
                        lx.VILLAGE_FIRST[rng.integers(0, len(lx.VILLAGE_FIRST))]
                        + mid
                        + lx.VILLAGE_SUFFIX[rng.integers(0, len(lx.VILLAGE_SUFFIX))]
                    )
                    if vn not in used_vnames:
                        break
                else:
                    vn = f"{tname}第{len(villages) + 1}村"
                used_vnames.add(vn)
                villages.append(len(units))
                units.append(
                    Unit(
                        f"{ccode}{101 + t:03d}{201 + v:03d}",
                        vn,
                        ti,
                        "村",
                        "村（社区）",
                        "village",
                        county=c,
                        township=len(townships) - 1,
                        short=vn,
                    )
                )

    # ── people ──
    staff: dict[int, list[int]] = {}
    people: list[Person] = []
    ids = _Ids(rng)
    plan: list[tuple[int, str]] = []
    for ui, u in enumerate(units):
        if u.kind == "organ":
            big = u.short in ("县委办", "县政府办", "教育局", "卫健局", "农业农村局")
            n = max(3, int(round((30 if big else 20) * min(f, 1) ** 0.5 * rng.uniform(0.85, 1.15))))
            spec = lx.PARTY_TITLES if u.category.startswith("县委") else lx.ORGAN_TITLES
            if u.short in ("县委办", "县政府办"):
                spec = (("主任", 1), ("副主任", 2), ("科长", 3), ("副科长", 2), ("干部", 8), ("科员", 6))
            titles = _weighted_titles(spec, n, rng)
        elif u.kind == "township":
            n = max(7, int(round(52 * min(f, 1) ** 0.5 * rng.uniform(0.85, 1.15))))
            titles = _weighted_titles(lx.TOWNSHIP_TITLES, n, rng)
        elif u.kind == "village":
            n = (
                max(5, int(round(14 * min(f, 1.0) ** 0.5 * rng.uniform(0.85, 1.2))))
                if f < 1
                else int(rng.integers(12, 18))
            )
            titles = _weighted_titles(lx.VILLAGE_TITLES, n, rng)
        else:
            continue
        for t in titles:
            plan.append((ui, t))
    names = _names(len(plan), rng)
    for k, ((ui, title), name) in enumerate(zip(plan, names, strict=True)):
        u = units[ui]
        r = rng.random()
        if r < 0.85:
            wx = ids.make(lambda: "wxid_" + ids.alnum(14))
        else:
            wx = ids.make(lambda: "wx" + ids.alnum(6) + str(int(rng.integers(1970, 2001))))
        qy = ids.make(lambda: "QY" + str(int(rng.integers(10_000_000, 99_999_999))))
        phone = ids.make(
            lambda: (
                "1"
                + str(int(rng.choice([3, 5, 7, 8, 9])))
                + str(int(rng.integers(0, 10)))
                + f"{int(rng.integers(0, 100_000_000)):08d}"
            )
        )
        r2 = rng.random()
        if r2 < 0.7:
            disp = name
        elif r2 < 0.85:
            disp = f"{u.short}-{name}" if u.kind in ("township", "village") else f"{u.short}{name}"
        elif r2 < 0.95:
            disp = f"{name}（{title}）"
        else:
            disp = name + "🌿"
        leader = title in (
            "局长",
            "部长",
            "主任",
            "党委书记",
            "镇长",
            "党支部书记",
            "村委会主任",
            "副局长",
            "副部长",
            "副主任",
            "党委副书记",
            "副镇长",
            "办公室主任",
            "党政办主任",
            "驻村第一书记",
        )
        people.append(Person(f"P{k + 1:05d}", name, ui, title, wx, qy, phone, disp, leader))
        staff.setdefault(ui, []).append(k)

    groups = _build_groups(units, people, staff, counties, organs, townships, villages, rng, f)
    apps, accounts = _build_apps_accounts(units, counties, organs, townships, rng)
    ukind = {"organ": 0, "township": 1, "village": 2}
    puk = np.array([ukind.get(units[p.unit].kind, 0) for p in people], np.int8)
    return County(units, people, groups, apps, accounts, counties, organs, townships, villages, staff, puk)


PLATFORM_W = (("微信", 0.78), ("企业微信", 0.12), ("钉钉", 0.10))


def _gid(platform: str, ids: _Ids, rng: np.random.Generator) -> str:
    if platform == "微信":
        return ids.make(lambda: f"2000{int(rng.integers(0, 10_000_000_000)):010d}@chatroom")
    if platform == "企业微信":
        return ids.make(lambda: "wr" + ids.alnum(20))
    return ids.make(lambda: "cid" + ids.alnum(18))


def _build_groups(units, people, staff, counties, organs, townships, villages, rng, f) -> list[Group]:
    ids = _Ids(rng)
    groups: list[Group] = []
    title_of = [p.title for p in people]

    def by_title(ui: int, titles: tuple[str, ...]) -> list[int]:
        return [p for p in staff.get(ui, []) if title_of[p] in titles]

    def leaders(ui: int, k: int = 2) -> list[int]:
        ls = [p for p in staff.get(ui, []) if people[p].leader]
        return (ls or staff.get(ui, []))[:k]

    def add(
        name,
        unit,
        members,
        kind,
        weight,
        purpose,
        owner=None,
        gtype="固定",
        created=None,
        end=None,
        tags=(),
        platform=None,
        township=None,
    ):
        mem = list(dict.fromkeys(int(m) for m in members))
        if owner is None:
            owner = mem[0]
        mem = [owner] + [m for m in mem if m != owner]
        if platform is None:
            r = rng.random()
            platform = "微信" if r < 0.78 else ("企业微信" if r < 0.9 else "钉钉")
        if created is None:
            created = _date_between(rng, dt.date(2019, 3, 1), dt.date(2026, 3, 31))
        g = Group(
            _gid(platform, ids, rng),
            name,
            platform,
            owner,
            unit,
            purpose,
            gtype,
            created,
            end,
            np.array(mem, np.int32),
            kind,
            weight,
            list(tags),
            township=township,
            county=units[unit].county,
        )
        groups.append(g)
        return len(groups) - 1

    for c, cu in enumerate(counties):
        cname = units[cu].name
        c_organs = [(short, ui) for (cc, short), ui in organs.items() if cc == c]
        c_towns = [t for t in townships if units[t].county == c]
        link_groups: dict[str, int] = {}
        liaisons: dict[tuple[str, int], list[int]] = {}
        for short, ui in c_organs:
            st = staff[ui]
            add(
                f"{short}工作群" if rng.random() < 0.5 else f"{cname}{short}干部职工群",
                ui,
                st,
                "organ",
                1.0 + 0.02 * len(st),
                f"{short}内部工作沟通、通知传达",
            )
            # liaison group with the townships: the origin of notices that cascade down
            mem = leaders(ui, 3) + list(rng.choice(st, size=min(len(st), 4), replace=False))
            for t in c_towns:
                tst = staff[t]
                k = 2 if rng.random() < 0.5 else 1
                li = list(rng.choice(tst, size=min(k, len(tst)), replace=False))
                liaisons[(short, t)] = li
                mem += li
            nm = rng.choice([f"{short}乡镇工作对接群", f"{cname}{short}业务工作群", f"{short}-乡镇联络员群"])
            link_groups[short] = add(
                str(nm), ui, mem, "organ_link", 2.0, f"{short}与各乡镇业务对接、通知下发"
            )
        # county-wide groups
        top = [p for short in ("县委办", "县政府办") for p in leaders(organs[(c, short)], 3)]
        secs = [p for t in c_towns for p in by_title(t, ("党委书记", "镇长"))]
        add(
            f"{cname}乡镇党委书记群",
            organs[(c, "县委办")],
            top + secs,
            "county",
            2.5,
            "县委县政府工作部署、乡镇主要负责人沟通",
        )
        vsec = [p for v in villages if units[v].county == c for p in by_title(v, ("党支部书记",))]
        zzb = organs[(c, "组织部")]
        add(f"{cname}村（社区）党组织书记群", zzb, leaders(zzb, 3) + vsec, "county", 2.0, "村级党建工作部署")
        grid = [
            p
            for u in c_towns + [v for v in villages if units[v].county == c]
            for p in by_title(u, ("网格员",))
        ]
        gowner = organs.get((c, "政法委"), organs[(c, "县委办")])
        add(
            f"{cname}网格员工作群", gowner, leaders(gowner, 2) + grid, "county", 2.5, "网格化服务管理工作调度"
        )
        offices = [p for _, ui in c_organs for p in by_title(ui, ("办公室主任", "主任"))]
        add(
            f"{cname}县直单位办公室主任群",
            organs[(c, "县委办")],
            top + offices,
            "county",
            1.5,
            "办文办会、信息报送",
        )
        all_org = [p for _, ui in c_organs for p in staff[ui]]
        big = add(
            f"{cname}机关干部群",
            organs[(c, "县政府办")],
            top + all_org,
            "county",
            3.0,
            "县直机关工作通知、政策学习",
        )
        groups[big].chat_share = 0.3
        yj = organs[(c, "应急管理局")]
        ffx = leaders(yj, 3) + list(staff[yj][:6]) + [p for t in c_towns for p in leaders(t, 3)]
        add(
            f"{cname}防汛抗旱指挥部工作群",
            yj,
            ffx,
            "county_emergency",
            2.0,
            "防汛抗旱应急指挥调度",
            tags=["应急"],
        )
        aq = leaders(yj, 2) + [p for t in c_towns for p in by_title(t, ("副镇长",))[:1]]
        add(f"{cname}安全生产委员会办公室群", yj, aq, "county", 1.2, "安全生产监管工作", tags=["安保"])

        # townships
        for t in c_towns:
            tn = units[t].short
            tst = staff[t]
            vills = [v for v in villages if units[v].township == units[t].township]
            vcad = [p for v in vills for p in staff[v] if title_of[p] != "村民小组长"]
            tl = leaders(t, 4)
            add(f"{tn}机关干部群", t, tst, "township_staff", 2.5, "镇机关日常工作通知", township=t)
            add(
                f"{tn}村干部工作群",
                t,
                tl + vcad,
                "township_villages",
                3.0,
                "镇村工作部署、任务下达",
                township=t,
            )
            org = by_title(t, ("组织委员",)) or tl[:1]
            vsecs = [p for v in vills for p in by_title(v, ("党支部书记", "驻村第一书记"))]
            add(
                f"{tn}党建工作群",
                t,
                org + tl[:2] + vsecs + list(rng.choice(tst, 3, replace=False)),
                "township_party",
                1.5,
                "基层党建、党员教育",
                township=t,
            )
            tg = by_title(t, ("网格员",)) + [p for v in vills for p in by_title(v, ("网格员", "文书"))]
            add(f"{tn}网格员群", t, tl[:2] + tg, "township_grid", 2.0, "网格巡查、信息采集", township=t)
            fx_mem = (
                tl
                + [p for v in vills for p in by_title(v, ("党支部书记", "村委会主任", "网格员"))]
                + list(rng.choice(tst, min(8, len(tst)), replace=False))
            )
            fx = add(
                f"{tn}防汛工作群",
                t,
                fx_mem,
                "township_emergency",
                1.2,
                "汛期防汛工作调度",
                tags=["应急"],
                township=t,
            )
            # overlapping sibling: 90% of its members are in the 防汛工作群
            base = groups[fx].members
            k = max(3, int(round(len(base) * rng.uniform(0.8, 0.95))))
            sub = list(rng.choice(base, size=min(k, len(base)), replace=False))
            extra = [p for p in tst if p not in set(base.tolist())][: max(1, len(sub) // 12)]
            ov = add(
                f"{tn}防汛{rng.choice(['应急', '抢险', '值班'])}群",
                t,
                sub + extra,
                "township_emergency",
                0.7,
                "防汛应急值守",
                tags=["应急"],
                township=t,
            )
            groups[ov].overlap_of = fx
            groups[ov].design.append("overlap")
            add(
                f"{tn}乡村振兴工作群",
                t,
                tl[:3] + vcad[: max(4, len(vcad) // 2)] + list(rng.choice(tst, 4, replace=False)),
                "township_villages",
                1.5,
                "乡村振兴、产业发展",
                township=t,
            )
            add(
                f"{tn}安全生产群",
                t,
                tl[:3]
                + by_title(t, ("站所负责人",))
                + [p for v in vills for p in by_title(v, ("村委会主任",))],
                "township_other",
                1.0,
                "安全生产检查",
                township=t,
            )
            add(
                f"{tn}综治维稳群",
                t,
                tl[:2]
                + [p for v in vills for p in by_title(v, ("党支部书记",))]
                + list(rng.choice(tst, 3, replace=False)),
                "township_other",
                0.8,
                "矛盾纠纷排查化解",
                township=t,
            )
            # villages
            for v in vills:
                vn = units[v].short
                vs = staff[v]
                bao = list(rng.choice(tst, 1))
                core = [p for p in vs if title_of[p] not in ("村民小组长",)]
                add(f"{vn}两委干部群", v, core + bao, "village_core", 1.2, "村两委日常工作", township=t)
                add(
                    f"{vn}网格员群",
                    v,
                    by_title(v, ("网格员", "文书", "党支部书记")) + bao,
                    "village_grid",
                    0.6,
                    "网格员工作交流",
                    township=t,
                )
                add(f"{vn}村民小组长群", v, vs, "village_leaders", 0.6, "村民小组工作通知", township=t)
            _ = link_groups
        # temporary groups (county and township)
        themes = [
            "创文迎检",
            "第五次经济普查",
            "秋冬季森林防火专项",
            "第三次土壤普查",
            "2026年征兵",
            "秸秆禁烧专项",
            "医保征缴攻坚",
            "人口抽样调查",
            "汛期地灾巡查",
            "农村自建房排查",
        ]
        n_temp = max(6, int(round(28 * f)))
        owners_units = [ui for _, ui in c_organs] + c_towns
        for k in range(n_temp):
            th = themes[k % len(themes)]
            ui = owners_units[int(rng.integers(0, len(owners_units)))]
            uname = units[ui].short
            mem = list(rng.choice(staff[ui], size=min(len(staff[ui]), 6), replace=False))
            for t in rng.choice(c_towns, size=min(len(c_towns), 4), replace=False):
                mem += list(rng.choice(staff[t], 2, replace=False))
            created = _date_between(rng, dt.date(2026, 1, 10), dt.date(2026, 6, 20))
            end = created + dt.timedelta(days=int(rng.integers(40, 120)))
            nm = f"{uname}{th}{rng.choice(['工作群', '临时工作群', '专班群'])}"
            add(nm, ui, mem, "temp", 1.5, f"{th}工作", gtype="临时", created=created, end=end)

    return groups


def _build_apps_accounts(units, counties, organs, townships, rng):
    apps: list[App] = []
    accounts: list[Account] = []
    for c, cu in enumerate(counties):
        cn = units[cu].name[:-1]
        towns = [t for t in townships if units[t].county == c]

        def o(short: str, c=c) -> int:
            return organs.get((c, short), organs[(c, "县委办")])

        def d(a, b):
            return _date_between(rng, a, b)

        recent = (dt.date(2026, 10, 20), dt.date(2026, 10, 31))
        A = [
            (
                f"{cn}党建云",
                "APP",
                o("组织部"),
                ["党员学习", "组织生活", "积分管理", "学习打卡"],
                ["积分", "排名"],
                [],
                ["forbidden", "dup:study"],
                "study",
            ),
            (
                f"红色{cn}学习平台",
                "APP",
                o("宣传部"),
                ["党员学习", "理论学习", "学习打卡"],
                ["打卡", "积分"],
                [],
                ["forbidden", "dup:study"],
                "study",
            ),
            (
                f"{cn}网格通",
                "APP",
                o("政法委"),
                ["网格巡查", "事件上报", "定位签到"],
                ["打卡"],
                [],
                ["forbidden", "dup:grid"],
                "grid",
            ),
            (
                f"平安{cn}网格化管理",
                "小程序",
                o("政法委"),
                ["网格巡查", "事件上报"],
                [],
                [],
                ["dup:grid"],
                "grid",
            ),
            (
                f"{cn}应急通",
                "APP",
                o("应急管理局"),
                ["值班值守", "预警发布", "定位签到"],
                ["打卡"],
                ["应急"],
                ["exempt"],
                None,
            ),
            (
                f"智慧教育{cn}",
                "APP",
                o("教育局"),
                ["教师考勤", "在线培训"],
                ["打卡", "在线时长"],
                [],
                ["forbidden"],
                None,
            ),
            (f"{cn}家医随访", "APP", o("卫健局"), ["家庭医生随访", "健康档案"], [], [], [], None),
            (f"{cn}农业农村一张图", "APP", o("农业农村局"), ["农业数据填报", "项目管理"], [], [], [], None),
            (
                f"{cn}民政救助通",
                "APP",
                o("民政局"),
                ["低保核查", "残疾人信息填报", "救助审批"],
                [],
                [],
                ["dup:disabled"],
                "disabled",
            ),
            (
                f"{cn}残疾人服务平台",
                "小程序",
                o("残联"),
                ["残疾人信息填报", "救助审批", "康复服务"],
                [],
                [],
                ["dup:disabled"],
                "disabled",
            ),
            (
                f"{cn}河长巡河",
                "APP",
                o("水利局"),
                ["巡河打卡", "轨迹上传"],
                ["打卡"],
                [],
                ["forbidden"],
                None,
            ),
            (f"{cn}自然资源执法巡查", "APP", o("自然资源局"), ["执法巡查", "轨迹上传"], [], [], [], None),
            (
                f"{cn}安全生产监管",
                "APP",
                o("应急管理局"),
                ["企业检查", "隐患上报", "定位签到"],
                ["打卡"],
                ["安保"],
                ["exempt"],
                None,
            ),
            (f"{cn}统计直报", "APP", o("统计局"), ["统计直报"], [], [], [], None),
            (f"{cn}政务OA", "APP", o("县政府办"), ["公文流转", "会议通知"], [], [], [], None),
            (
                f"{cn}纪检监督",
                "小程序",
                o("纪委监委"),
                ["监督举报", "廉政学习"],
                ["积分"],
                [],
                ["forbidden"],
                None,
            ),
            (f"{cn}防返贫监测", "APP", o("农业农村局"), ["监测对象填报", "帮扶记录"], [], [], [], None),
            (f"{cn}住建安全巡查", "小程序", o("住建局"), ["自建房排查", "照片上传"], [], [], [], None),
            (
                f"{cn}志愿服务",
                "小程序",
                o("团县委"),
                ["志愿活动", "积分兑换"],
                ["积分", "排名"],
                [],
                ["forbidden"],
                None,
            ),
            (
                f"{cn}文明实践",
                "小程序",
                o("宣传部"),
                ["文明实践活动", "积分"],
                ["积分"],
                [],
                ["forbidden", "zombie"],
                None,
            ),
            (f"{cn}疫情防控", "APP", o("卫健局"), ["健康打卡"], ["打卡"], [], ["forbidden", "zombie"], None),
        ]
        for k, t in enumerate(towns[:4]):
            tn = units[t].short
            if k == 0:
                A.append(
                    (
                        f"{tn}智慧党建",
                        "小程序",
                        t,
                        ["党员学习", "学习打卡"],
                        ["打卡", "积分"],
                        [],
                        ["below_county", "forbidden"],
                        None,
                    )
                )
            elif k == 1:
                A.append(
                    (
                        f"{tn}网格巡查",
                        "小程序",
                        t,
                        ["网格巡查", "定位签到"],
                        ["打卡"],
                        [],
                        ["below_county", "forbidden"],
                        None,
                    )
                )
            elif k == 2:
                A.append(
                    (
                        f"{tn}工作考勤",
                        "APP",
                        t,
                        ["考勤打卡", "在线时长"],
                        ["打卡", "在线时长"],
                        [],
                        ["below_county", "forbidden", "zombie"],
                        None,
                    )
                )
            else:
                A.append((f"{tn}便民服务", "小程序", t, ["便民服务"], [], [], ["below_county"], None))
        for name, plat, ui, fn, feat, tags, design, dup in A:
            zombie = "zombie" in design
            last = d(dt.date(2025, 9, 1), dt.date(2026, 6, 30)) if zombie else d(*recent)
            users = int(rng.integers(15, 200)) if zombie else int(rng.integers(300, 12_000))
            reg = not ("below_county" in design and rng.random() < 0.5)
            apps.append(
                App(
                    name,
                    plat,
                    ui,
                    fn,
                    feat,
                    d(dt.date(2018, 1, 1), dt.date(2025, 6, 30)),
                    last,
                    users,
                    reg,
                    tags,
                    design,
                    dup,
                )
            )
        # accounts
        B = [
            (f"{cn}发布", "微信公众号", o("宣传部"), ["政务发布", "新闻资讯"], "fresh", None),
            (f"{cn}发布", "微博", o("宣传部"), ["政务发布"], "stale", None),
            (f"{cn}融媒", "抖音", o("宣传部"), ["短视频", "新闻资讯"], "fresh", None),
            (f"{cn}组工", "微信公众号", o("组织部"), ["党建宣传", "组工动态"], "fresh", "party"),
            (f"{cn}党建", "微信公众号", o("组织部"), ["党建宣传", "党员教育", "组工动态"], "stale", "party"),
            (f"清风{cn}", "微信公众号", o("纪委监委"), ["廉政宣传", "监督曝光"], "fresh", None),
            (f"{cn}教育", "微信公众号", o("教育局"), ["教育资讯"], "stale", None),
            (f"健康{cn}", "微信公众号", o("卫健局"), ["健康科普"], "zombie", None),
            (f"{cn}应急", "微信公众号", o("应急管理局"), ["预警发布", "安全知识"], "fresh", None),
            (f"{cn}民政", "微信公众号", o("民政局"), ["政策解读"], "cleanup", None),
            (f"{cn}残联", "微信公众号", o("残联"), ["政策解读"], "cleanup", None),
            (f"{cn}统计", "今日头条", o("统计局"), ["统计信息"], "zombie", None),
        ]
        for k, t in enumerate(towns[:3]):
            B.append(
                (
                    f"{units[t].short}发布",
                    "微信公众号",
                    t,
                    ["镇务公开", "工作动态"],
                    ("fresh", "zombie", "cleanup")[k],
                    None,
                )
            )
        for name, plat, ui, fn, state, dup in B:
            end = DATA_END
            days = {"fresh": (0, 6), "stale": (20, 50), "zombie": (66, 85), "cleanup": (100, 300)}[state]
            last = end - dt.timedelta(days=int(rng.integers(days[0], days[1] + 1)))
            design = [] if state == "fresh" else [state]
            if dup:
                design.append("dup:" + dup)
            reg = rng.random() > 0.12
            accounts.append(
                Account(
                    name,
                    plat,
                    ui,
                    d(dt.date(2014, 1, 1), dt.date(2022, 12, 31)),
                    last,
                    int(rng.integers(80, 60_000)),
                    reg,
                    fn,
                    design,
                    dup,
                )
            )
        _plant_closures(apps, accounts, cn, o)
    return apps, accounts


def _plant_closures(apps: list[App], accounts: list[Account], cn: str, o) -> None:
    """Apps and accounts the campaign closed (关停 / 注销), listed in the 摸底表 with their status and date, as
    the reports on 精简率 count them (research/policy.md). Fixed dates and no draws from the generator's random
    stream, so adding them changes nothing else in the demo."""
    c1, c2 = CAMPAIGN + dt.timedelta(days=12), CAMPAIGN + dt.timedelta(days=27)
    apps.append(
        App(
            f"{cn}扶贫帮扶打卡",
            "APP",
            o("农业农村局"),
            ["帮扶打卡", "走访记录"],
            ["打卡", "排名"],
            dt.date(2019, 3, 1),
            c1,
            860,
            True,
            [],
            ["campaign_closed"],
            None,
            c1,
        )
    )
    apps.append(
        App(
            f"{cn}干部在线学习",
            "APP",
            o("组织部"),
            ["在线学习", "学时统计"],
            ["在线时长", "积分"],
            dt.date(2020, 5, 1),
            c2,
            1_450,
            True,
            [],
            ["campaign_closed"],
            None,
            c2,
        )
    )
    accounts.append(
        Account(
            f"{cn}扶贫",
            "微信公众号",
            o("农业农村局"),
            dt.date(2016, 4, 1),
            c1 - dt.timedelta(days=40),
            2_300,
            True,
            ["扶贫动态"],
            ["campaign_closed"],
            None,
            c1,
        )
    )


def plan_lifecycle(county: County, rng: np.random.Generator, f: float) -> dict:
    """Plant the group life-cycle problems and the campaign's dissolutions and merges (design intent).

    Returns the campaign plan: ``{"dissolved": [(group index, date, merged_into or None)], ...}``."""
    groups, units = county.groups, county.units
    ids = _Ids(rng)
    ids.seen.update(g.gid for g in groups)

    def clone(src: int, name: str, keep: float, kind: str, design: str, weight: float, **kw) -> int:
        g = groups[src]
        base = g.members
        k = max(2, int(round(len(base) * keep)))
        mem = np.concatenate([[g.owner], rng.choice(base[1:], size=min(k, len(base) - 1), replace=False)])
        plat = g.platform if rng.random() < 0.7 else "微信"
        ng = Group(
            _gid(plat, ids, rng),
            name,
            plat,
            int(g.owner),
            g.unit,
            kw.pop("purpose", g.purpose),
            "固定",
            _date_between(rng, dt.date(2020, 1, 1), dt.date(2026, 4, 1)),
            None,
            mem.astype(np.int32),
            kind,
            weight,
            list(g.tags),
            county=g.county,
            township=g.township,
            **kw,
        )
        ng.design.append(design)
        groups.append(ng)
        return len(groups) - 1

    n0 = len(groups)
    # duplicates: the same work in two groups of one unit, nearly the same members
    rv = [i for i in range(n0) if groups[i].name.endswith("乡村振兴工作群")]
    links = [i for i in range(n0) if groups[i].kind == "organ_link"]
    n_dup = max(2, int(round(6 * f * len(county.counties))))
    dup_src = list(rng.choice(rv, size=min(len(rv), (n_dup + 1) // 2), replace=False)) + list(
        rng.choice(links, size=min(len(links), n_dup // 2), replace=False)
    )
    for i in dup_src:
        g = groups[i]
        nm = (
            g.name.replace("乡村振兴工作群", "乡村振兴工作推进群")
            if "乡村振兴" in g.name
            else units[g.unit].short + rng.choice(["乡镇工作联络群", "业务对接群（新）", "工作交流群"])
        )
        j = clone(int(i), str(nm), 0.95, g.kind, "duplicate", g.weight * 0.6)
        groups[j].duplicate_of = int(i)
    # off-topic: work groups turned into chat groups
    cand = [i for i in range(n0) if groups[i].kind in ("organ", "township_staff")]
    for i in rng.choice(
        cand, size=min(len(cand), max(1, int(round(2 * f * len(county.counties))))), replace=False
    ):
        groups[i].chat_share = 0.86
        groups[i].design.append("off_topic")
    for c in range(len(county.counties)):
        orgs = [ui for (cc, _s), ui in county.organs.items() if cc == c]
        ui = orgs[int(rng.integers(0, len(orgs)))]
        src = next(i for i in range(n0) if groups[i].unit == ui and groups[i].kind == "organ")
        j = clone(
            src,
            f"{units[ui].short}{rng.choice(['干部交流群', '同事群', '老友群'])}",
            0.6,
            "chat",
            "off_topic",
            0.8,
            purpose="",
        )
        groups[j].chat_share = 0.93
        groups[j].in_inventory = False
        groups[j].design.append("unregistered")
    # empty groups: two or three members, nothing substantive
    n_empty = max(2, int(round(5 * f * len(county.counties))))
    cand = [i for i in range(n0) if groups[i].kind in ("organ", "township_staff", "organ_link")]
    for i in rng.choice(cand, size=min(len(cand), n_empty), replace=False):
        g = groups[i]
        nm = units[g.unit].short + str(rng.choice(["临时对接群", "材料报送群", "工作小组", "专项协调群"]))
        j = clone(int(i), nm, 0.0, "empty", "empty", 0.0)
        groups[j].members = groups[j].members[: int(rng.integers(1, 3)) + 1]
        groups[j].purpose = str(rng.choice(["", g.purpose]))

    fixed = [
        i
        for i, g in enumerate(groups)
        if g.gtype == "固定"
        and not g.design
        and g.kind
        in ("village_leaders", "village_grid", "township_other", "organ_link", "township_party", "organ")
    ]
    rng.shuffle(fixed)
    n_z = max(3, int(round(22 * f * len(county.counties))))
    n_in = max(2, int(round(9 * f * len(county.counties))))
    zombies, inactive = fixed[:n_z], fixed[n_z : n_z + n_in]
    for i in zombies:
        groups[i].cut = _date_between(rng, dt.date(2026, 5, 8), dt.date(2026, 7, 25))
        groups[i].design.append("zombie")
    for i in inactive:
        groups[i].cut = _date_between(
            rng, (AS_OF - dt.timedelta(days=84)).date(), (AS_OF - dt.timedelta(days=36)).date()
        )
        groups[i].design.append("inactive")
    # temporary groups
    temps = [i for i, g in enumerate(groups) if g.gtype == "临时"]
    rng.shuffle(temps)
    nt = len(temps)
    for k, i in enumerate(temps):
        g = groups[i]
        r = k / max(nt, 1)
        if r < 0.3:  # ended and dissolved on time
            g.end_date = _date_between(rng, dt.date(2026, 5, 20), dt.date(2026, 9, 30))
            g.dissolved = g.end_date + dt.timedelta(days=int(rng.integers(0, 6)))
            g.design.append("temp_dissolved")
        elif r < 0.6:  # past its end date, still active
            g.end_date = _date_between(rng, dt.date(2026, 6, 1), dt.date(2026, 9, 20))
            g.design.append("expired_active")
        elif r < 0.75:  # past its end date, silent, not dissolved
            g.end_date = _date_between(rng, dt.date(2026, 6, 1), dt.date(2026, 8, 31))
            g.cut = g.end_date
            g.design.append("expired_silent")
        else:  # still running
            g.end_date = _date_between(rng, dt.date(2026, 11, 15), dt.date(2027, 3, 31))
            g.design.append("temp_running")
        g.created = min(g.created, g.end_date - dt.timedelta(days=30))
    # registration problems
    plain = [i for i, g in enumerate(groups) if not g.design and g.kind not in ("county", "county_emergency")]
    rng.shuffle(plain)
    n_u = max(2, int(round(9 * f * len(county.counties))))
    for i in plain[:n_u]:
        groups[i].in_inventory = False
        groups[i].design.append("unregistered")
    for i in plain[n_u : n_u + n_u]:
        groups[i].registered = False
        groups[i].design.append("not_registered")
    for i in plain[2 * n_u : 2 * n_u + max(1, n_u // 2)]:
        groups[i].purpose = ""
        groups[i].design.append("no_purpose")
    one_temp = [i for i in temps if "expired_active" in groups[i].design][:1]
    for i in one_temp:
        groups[i].in_inventory = False
        groups[i].design.append("unregistered")

    # the campaign: dissolve or merge 30% of the groups that exist on the campaign date
    exist = [
        i
        for i, g in enumerate(groups)
        if g.created < CAMPAIGN and (g.dissolved is None or g.dissolved >= CAMPAIGN)
    ]
    target = int(round(0.30 * len(exist)))
    already = sum(1 for i in exist if groups[i].dissolved is not None)
    protected = {
        "inactive",
        "overlap",
        "duplicate",
        "off_topic",
        "expired_active",
        "expired_silent",
        "empty",
        "unregistered",
        "not_registered",
        "no_purpose",
        "temp_running",
        "temp_dissolved",
    }
    survivors: set[int] = set()
    for g in groups:
        if g.overlap_of is not None:
            survivors.add(g.overlap_of)
        if g.duplicate_of is not None:
            survivors.add(g.duplicate_of)
    plan: list[tuple[int, dt.date, int | None]] = []
    z_alive = set(zombies[: max(2, len(zombies) // 2)])
    cands = [i for i in zombies if i not in z_alive]
    for kinds in (
        ("village_grid", "village_leaders", "township_other"),
        ("township_party", "organ", "township_grid"),
    ):
        cands += [
            i
            for i in exist
            if groups[i].kind in kinds
            and i not in survivors
            and not (set(groups[i].design) & protected)
            and "zombie" not in groups[i].design
        ]
    need = max(0, target - already)
    for i in cands[:need]:
        g = groups[i]
        day = CAMPAIGN + dt.timedelta(days=int(rng.integers(2, 46)))
        into = None
        if "zombie" not in g.design:
            ok = [
                j
                for j, h in enumerate(groups)
                if h.cut is None
                and h.dissolved is None
                and not (set(h.design) & {"zombie", "inactive", "empty", "off_topic", "duplicate", "overlap"})
            ]
            main = [
                j
                for j in ok
                if groups[j].unit == g.unit and groups[j].kind in ("village_core", "township_staff")
            ]
            main = main or [j for j in ok if groups[j].unit == g.unit and groups[j].kind == "organ_link"]
            main = main or [
                j
                for j in ok
                if g.township is not None
                and groups[j].township == g.township
                and groups[j].kind == "township_villages"
            ]
            into = main[0] if main else None
        g.dissolved = day
        g.merged_into = into
        g.design.append("campaign_merged" if into is not None else "campaign_dissolved")
        if into is not None:
            survivors.add(into)
        plan.append((i, day, into))
    return {"dissolved": plan, "groups_at_campaign": len(exist), "target": target}
