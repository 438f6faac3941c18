"""Write the demo county to files: inventory spreadsheets, roster, memberships, monthly message CSVs
and the ground truth. See the package docstring for the layout and the ground-truth schema."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from zhijian.demo import texts as tx
from zhijian.demo.county import AS_OF, CAMPAIGN, DATA_END, DATA_START, build_county, plan_lifecycle
from zhijian.demo.messages import CAT_NAMES, DAY, EPOCH, T_CAMPAIGN, T_END, T_START, Generator, iso

TRUTH_DIR = ".ground_truth"
FIXED_TIME = dt.datetime(2026, 11, 1, 9, 0, 0)  # document timestamp in the spreadsheets (reproducible bytes)
BG_KINDS = ("text", "text", "image", "voice", "video", "file", "link", "other", "recall")


@dataclass
class GenerationSummary:
    out_dir: Path
    truth_dir: Path
    seed: int
    messages: int
    units: int
    people: int
    groups: int
    apps: int
    accounts: int
    planted_messages: int
    storms: int
    notice_clusters: int
    multi_reporting_cases: int
    files: dict[str, int] = field(default_factory=dict)  # relative path (truth files: "<truth>/…") -> bytes
    seconds: float = 0.0

    @property
    def total_bytes(self) -> int:
        return sum(self.files.values())


def _xlsx(path: Path, headers: list[str], rows: list[list], date_cols: tuple[int, ...] = ()) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": FIXED_TIME, "author": "青山县整治办", "title": path.stem})
    ws = wb.add_worksheet("Sheet1")
    bold = wb.add_format({"bold": True})
    datef = wb.add_format({"num_format": "yyyy-mm-dd"})
    for j, h in enumerate(headers):
        ws.write_string(0, j, h, bold)
    for i, row in enumerate(rows, start=1):
        for j, v in enumerate(row):
            if v is None or v == "":
                continue
            if isinstance(v, dt.date):
                ws.write_datetime(i, j, dt.datetime.combine(v, dt.time()), datef)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                ws.write_number(i, j, v)
            else:
                ws.write_string(i, j, str(v))
    ws.set_column(0, len(headers) - 1, 16)
    wb.close()


def _write_csv(path: Path, table: pa.Table) -> None:
    pacsv.write_csv(table, str(path), pacsv.WriteOptions(include_header=True, quoting_style="needed"))


def _write_sorted_csv(path: Path, table: pa.Table, order: np.ndarray, chunk: int = 262_144) -> None:
    """Write ``table`` in the row order ``order``, a chunk at a time (no sorted copy of the month)."""
    opts = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    with pacsv.CSVWriter(str(path), table.schema, write_options=opts) as w:
        for i in range(0, len(order), chunk):
            w.write_table(table.take(pa.array(order[i : i + chunk])))


def generate(
    out_dir: Path,
    *,
    messages: int = 500_000,
    seed: int = 7,
    progress: Callable[[str, int, int], None] | None = None,
    truth_dir: Path | None = None,
) -> GenerationSummary:
    """Generate the demo county into ``out_dir`` (created; existing demo files are overwritten).

    The ground truth goes to ``truth_dir`` (default ``out_dir/.ground_truth``: dot-prefixed, so that
    ``zhijian import out_dir`` skips it).

    ``progress(step, done, total)`` is called as months are written (step names: "inventory", "messages",
    "ground_truth")."""
    t0 = time.perf_counter()
    from zhijian.errors import ZhijianError

    if messages < 1_000 or messages > 100_000_000:
        raise ZhijianError(
            f"演示数据的消息条数应在 1000 到 1 亿之间（收到 {messages}）",
            f"the demo needs between 1,000 and 100,000,000 messages (got {messages})",
        )
    if seed < 0:
        raise ZhijianError(
            f"随机种子应为非负整数（收到 {seed}）", f"the seed must be a non-negative integer (got {seed})"
        )
    out = Path(out_dir)
    truth = Path(truth_dir) if truth_dir is not None else out / TRUTH_DIR
    (out / "messages").mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    for old in (out / "messages").glob("*.csv"):
        old.unlink()
    ss = np.random.SeedSequence(seed)
    s_county, s_plan, s_msgs = ss.spawn(3)
    county = build_county(messages, np.random.default_rng(s_county))
    f = messages / 500_000
    f_eff = max(f, 0.06) if f <= 1.5 else f / round(f)
    plan = plan_lifecycle(county, np.random.default_rng(s_plan), f_eff)
    if progress:
        progress("inventory", 0, 1)
    gen = Generator(county, plan, messages, int(s_msgs.generate_state(1)[0]))
    gen.prepare()
    _write_inventory(out, county, gen)
    if progress:
        progress("inventory", 1, 1)

    # ── messages, month by month ──
    months = []
    d = DATA_START
    while d <= DATA_END:
        nxt = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        months.append((d, min(nxt - dt.timedelta(days=1), DATA_END)))
        d = nxt
    share = np.array(
        [gen.bg_cell[:, (a - DATA_START).days : (b - DATA_START).days + 1].sum() for a, b in months]
    )
    targets = np.floor(messages * share / share.sum()).astype(np.int64)
    targets[-1] = messages - targets[:-1].sum()
    lab_f = (truth / "message_labels.jsonl").open("w", encoding="utf-8")
    g_ids = pa.array([g.gid for g in county.groups])
    g_names = pa.array([g.name for g in county.groups])
    p_wx = pa.array([p.wxid for p in county.people])
    p_disp = pa.array([p.display for p in county.people])
    written = 0
    gids = [g.gid for g in county.groups]
    lab_json: dict[int, str] = {}
    stats = {"planted": 0}
    ah_demands, ah_urgent, ah_exempt_group = [], [], []
    label_counts = {"before": {}, "after": {}}
    for mi, (a, b) in enumerate(months):
        first, last = (a - DATA_START).days, (b - DATA_START).days
        buf, _info = gen.month(first, last)
        n_pl = len(buf)
        want = int(targets[mi]) if mi < len(months) - 1 else messages - written - n_pl
        n_bg = max(0, want - n_pl) if mi < len(months) - 1 else max(0, want)
        over = int(n_bg * 1.01) + 20
        bts, bg, bsender, bkind = gen.background(over, first, last)
        if len(bts) > n_bg:
            sel = np.sort(gen.rng.permutation(len(bts))[:n_bg])
            bts, bg, bsender, bkind = bts[sel], bg[sel], bsender[sel], bkind[sel]
        nb = len(bts)
        # planted arrays
        pts = np.array(buf.ts, np.int64)
        pg = np.array(buf.g, np.int64)
        psender = np.array(buf.sender, np.int64)
        puid = np.array(buf.uid, np.int64)
        ts = np.concatenate([pts, bts])
        order = np.lexsort((np.arange(len(ts)), ts))
        nums = np.empty(len(ts), np.int64)
        nums[order] = np.arange(written, written + len(ts)) + 1
        for u, n in zip(puid.tolist(), nums[:n_pl].tolist(), strict=True):
            gen.p_num[u] = n
        # columns
        gi = np.concatenate([pg, bg])
        si = np.concatenate([psender, bsender.astype(np.int64)])
        has_sender = si >= 0
        si_safe = np.where(has_sender, si, 0)
        mask_null = pa.array(~has_sender)
        sender_id = pc.if_else(mask_null, pa.scalar(None, pa.string()), p_wx.take(pa.array(si_safe)))
        sender_name = pc.if_else(mask_null, pa.scalar(None, pa.string()), p_disp.take(pa.array(si_safe)))
        # texts
        r = gen.rng
        btext = _bg_texts(gen, bkind, r, p_disp, bsender, bg)
        text = pa.concat_arrays([pa.array(buf.text, pa.string()), btext])
        kinds = pa.concat_arrays(
            [pa.array(buf.kind, pa.string()), pa.array(np.array(BG_KINDS, dtype=object)[bkind], pa.string())]
        )
        at_all = np.concatenate([np.array(buf.at_all, bool), np.zeros(nb, bool)])
        mentions = pa.concat_arrays([pa.array(buf.mentions, pa.string()), pa.array(["[]"] * nb, pa.string())])
        rt = []
        for x in buf.reply_to:
            rt.append(None if x < 0 else f"m{gen.p_num[x]:08d}")
        reply_to = pa.concat_arrays([pa.array(rt, pa.string()), pa.nulls(nb, pa.string())])
        fwd = np.concatenate([np.array(buf.fwd, bool), np.zeros(nb, bool)])
        ts_str = _iso_strings(ts)
        mid = pc.binary_join_element_wise("m", pc.utf8_lpad(pc.cast(pa.array(nums), pa.string()), 8, "0"), "")
        table = pa.table(
            {
                "message_id": mid,
                "group_id": g_ids.take(pa.array(gi)),
                "group_name": g_names.take(pa.array(gi)),
                "sender_id": sender_id,
                "sender_name": sender_name,
                "ts": ts_str,
                "kind": kinds,
                "text": text,
                "at_all": pa.array(at_all),
                "mentions": mentions,
                "reply_to": reply_to,
                "forwarded": pa.array(fwd),
            }
        )
        _write_sorted_csv(out / "messages" / f"{a:%Y-%m}.csv", table, order)
        del table, text, btext, kinds, mentions, reply_to, mid, ts_str, sender_id, sender_name
        # activity bookkeeping for the life-cycle ground truth
        pmask = np.array([gen.p_mask[u] for u in buf.uid], np.int64)
        pkind = np.array(buf.kind, dtype=object)
        p_sub = ~((pmask == tx.RR) | (pkind == "system") | (pkind == "recall"))
        b_sub = bkind != 8
        sub_ts = np.concatenate([pts[p_sub], bts[b_sub]])
        sub_g = np.concatenate([pg[p_sub], bg[b_sub]])
        if len(sub_ts):
            np.maximum.at(gen.sub_last, sub_g, sub_ts)
        np.add.at(gen.mix[:, 0], bg[bkind == 0], 1)
        np.add.at(gen.mix[:, 1], bg[bkind == 1], 1)
        np.add.at(gen.mix[:, 2], bg[(bkind >= 2) & (bkind <= 7)], 1)
        np.add.at(gen.mix[:, 3], pg[(pmask & tx.DEMAND_MASK) > 0], 1)
        np.add.at(gen.mix[:, 4], pg[pmask == tx.RR], 1)
        np.add.at(gen.mix[:, 5], pg[(pkind == "system") | (pkind == "recall")], 1)
        notice_like = (pmask & tx.DEMAND_MASK == 0) & (pmask != tx.RR) & (pkind == "text")
        np.add.at(gen.mix[:, 0], pg[notice_like], 1)
        # planted ground truth lines
        for j in range(n_pl):
            u = buf.uid[j]
            cat = CAT_NAMES[gen.p_cat[u]]
            if cat == "system":
                continue
            m = gen.p_mask[u]
            t = buf.ts[j]
            txt = buf.text[j]
            g = buf.g[j]
            urgent = any(k in txt for k in tx.URGENT_MARKERS)
            ah = _after_hours(gen, t)
            mid_s = f"m{gen.p_num[u]:08d}"
            labs = lab_json.get(m)
            if labs is None:
                labs = lab_json[m] = json.dumps(tx.labels_of(m))
            line = (
                f'{{"message_id": "{mid_s}", "group_id": "{gids[g]}", "labels": {labs}, "category": "{cat}", '
                f'"urgent": {"true" if urgent else "false"}, "after_hours": {"true" if ah else "false"}'
            )
            ex = gen.p_extra.get(u)
            if ex:
                if "deadline" in ex:
                    line += f', "deadline": "{ex["deadline"].strftime("%Y-%m-%dT%H:%M:%S+08:00")}"'
                if ex.get("hard_negative"):
                    line += ', "hard_negative": true'
                if "multi_case" in ex:
                    line += f', "multi_case": "{ex["multi_case"]}"'
            lab_f.write(line + "}\n")
            side = "before" if t < T_CAMPAIGN else "after"
            cnt = label_counts[side]
            cnt[m] = cnt.get(m, 0) + 1
            if m & tx.DEMAND_MASK and ah:
                if urgent:
                    ah_urgent.append(mid_s)
                elif gen.exempt[g]:
                    ah_exempt_group.append(mid_s)
                else:
                    ah_demands.append((mid_s, side))
        stats["planted"] += n_pl
        written += len(ts)
        if progress:
            progress("messages", mi + 1, len(months))
    lab_f.close()
    if progress:
        progress("ground_truth", 0, 1)
    _write_ground_truth(
        truth,
        county,
        plan,
        gen,
        label_counts,
        ah_demands,
        ah_urgent,
        ah_exempt_group,
        messages,
        seed,
        written,
    )
    if progress:
        progress("ground_truth", 1, 1)
    files = {
        str(p.relative_to(out)): p.stat().st_size
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.relative_to(out).parts[0].startswith(".")
    }
    files |= {
        "<truth>/" + str(p.relative_to(truth)): p.stat().st_size
        for p in sorted(truth.rglob("*"))
        if p.is_file()
    }
    return GenerationSummary(
        out,
        truth,
        seed,
        written,
        len(county.units),
        len(county.people),
        len(county.groups),
        len(county.apps),
        len(county.accounts),
        stats["planted"],
        len(gen.storms),
        sum(1 for c in gen.clusters if len(c["members"]) > 1),
        len(gen.multi),
        files,
        time.perf_counter() - t0,
    )


_HMS = None


def _iso_strings(ts: np.ndarray) -> pa.Array:
    """ISO 8601 local times (+08:00) for int64 local seconds since EPOCH, by table lookup."""
    global _HMS
    if _HMS is None:
        sod = np.arange(DAY)
        _HMS = pa.array(
            [
                f"{h:02d}:{m:02d}:{x:02d}+08:00"
                for h, m, x in zip(sod // 3600, sod // 60 % 60, sod % 60, strict=True)
            ]
        )
    day = ts // DAY
    lo = int(day.min()) if len(day) else 0
    days = pa.array(
        [(EPOCH + dt.timedelta(days=int(d))).strftime("%Y-%m-%dT") for d in range(lo, int(day.max()) + 1)]
        if len(day)
        else [],
        pa.string(),
    )
    return pc.binary_join_element_wise(days.take(pa.array(day - lo)), _HMS.take(pa.array(ts % DAY)), "")


def _after_hours(gen: Generator, t: int) -> bool:
    day = (t - T_START) // DAY
    if day < 0 or day >= len(gen.workday):
        return True
    if not gen.workday[day]:
        return True
    m = (t - int(gen.day_t[day])) // 60
    return not (510 <= m < 720 or 840 <= m < 1050)


def _bg_texts(gen: Generator, kind: np.ndarray, rng: np.random.Generator, p_disp, sender, groups) -> pa.Array:
    n = len(kind)
    grass = gen.g_grass[groups]
    pools = {
        0: gen.pool_work,
        10: gen.pool_work_grass,
        1: gen.pool_chat,
        5: gen.pool_files,
        6: gen.pool_links,
    }
    chunks = []
    positions = []
    kk = np.where((kind == 0) & grass, 10, kind)
    for k, pool in pools.items():
        sel = np.nonzero(kk == k)[0]
        if len(sel):
            chunks.append(pool.take(pa.array(rng.integers(0, len(pool), len(sel)))))
            positions.append(sel)
    for k, lit in ((2, "[图片]"), (3, "[语音]"), (4, "[视频]"), (7, "[动画表情]")):
        sel = np.nonzero(kind == k)[0]
        if len(sel):
            chunks.append(pa.array([lit] * len(sel), pa.string()))
            positions.append(sel)
    sel = np.nonzero(kind == 8)[0]
    if len(sel):
        names = p_disp.take(pa.array(sender[sel].astype(np.int64)))
        chunks.append(pc.binary_join_element_wise("“", names, "”撤回了一条消息", ""))
        positions.append(sel)
    if not chunks:
        return pa.array([], pa.string())
    allv = pa.concat_arrays(chunks)
    pos = np.concatenate(positions)
    inv = np.empty(n, np.int64)
    inv[pos] = np.arange(n)
    return allv.take(pa.array(inv))


def _group_status(g) -> str:
    if g.dissolved is None:
        return "在用"
    return "已合并" if g.merged_into is not None else "已解散"


def _write_inventory(out: Path, county, gen: Generator) -> None:
    units, people, groups = county.units, county.people, county.groups
    code = [u.code for u in units]
    uname = [u.name for u in units]
    _write_csv(
        out / "单位.csv",
        pa.table(
            {
                "单位编码": code,
                "单位名称": uname,
                "上级单位编码": [None if u.parent is None else code[u.parent] for u in units],
                "层级": [u.level for u in units],
                "类别": [u.category for u in units],
            }
        ),
    )
    _xlsx(
        out / "花名册.xlsx",
        ["人员编号", "姓名", "单位", "职务", "微信号", "企业微信ID", "手机号"],
        [[p.pid, p.name, uname[p.unit], p.title, p.wxid, p.qyid, p.phone] for p in people],
    )
    rows = []
    for g in groups:
        if not g.in_inventory:
            continue
        rows.append(
            [
                g.gid,
                g.name,
                g.platform,
                people[g.owner].pid,
                uname[g.unit],
                g.purpose,
                g.gtype,
                g.created,
                g.end_date if g.gtype == "临时" else None,
                len(g.members),
                "是" if g.registered else "否",
                ",".join(g.tags),
                _group_status(g),
                g.dissolved,
            ]
        )
    # the 摸底表 as the units hand it in after the campaign: dissolved / merged groups are still listed,
    # with their 状态 and 实际解散时间 (精简率 counts them from that date)
    _xlsx(
        out / "工作群摸底表.xlsx",
        [
            "群ID",
            "群名称",
            "平台",
            "群主",
            "所属单位",
            "建群目的",
            "群类型",
            "建群时间",
            "预计解散时间",
            "成员数",
            "是否备案",
            "标签",
            "状态",
            "实际解散时间",
        ],
        rows,
    )
    _xlsx(
        out / "政务应用摸底表.xlsx",
        [
            "应用名称",
            "平台",
            "主办单位",
            "功能",
            "强制功能",
            "上线时间",
            "最近活跃时间",
            "用户数",
            "是否备案",
            "标签",
            "状态",
            "关停时间",
        ],
        [
            [
                a.name,
                a.platform,
                uname[a.unit],
                "、".join(a.functions),
                ",".join(a.features),
                a.launched,
                a.last_active,
                a.users,
                "是" if a.registered else "否",
                ",".join(a.tags),
                "已关停" if a.closed else "在用",
                a.closed,
            ]
            for a in county.apps
        ],
    )
    _xlsx(
        out / "政务公众号摸底表.xlsx",
        [
            "账号名称",
            "平台",
            "主办单位",
            "开设时间",
            "最近更新时间",
            "粉丝数",
            "是否备案",
            "功能",
            "状态",
            "注销时间",
        ],
        [
            [
                a.name,
                a.platform,
                uname[a.unit],
                a.created,
                a.last_post,
                a.followers,
                "是" if a.registered else "否",
                "、".join(a.functions),
                "已注销" if a.closed else "在用",
                a.closed,
            ]
            for a in county.accounts
        ],
    )
    # memberships
    gid, wx, role, jt, lt = [], [], [], [], []
    for i, g in enumerate(groups):
        if not g.in_inventory:
            continue  # member lists come with the inventory; unregistered groups show up only in the exports
        o, e = gen.m_off[i], gen.m_off[i + 1]
        admins = {int(p) for p in g.members[1:4] if people[p].leader}
        for k in range(o, e):
            p = int(gen.m_flat[k])
            gid.append(g.gid)
            wx.append(people[p].wxid)
            role.append("群主" if p == g.owner else ("管理员" if p in admins else "成员"))
            jt.append(local_str(int(gen.m_join[k])))
            left = int(gen.m_left[k])
            lt.append(local_str(left) if left < T_END else None)
        for p, t in gen.extra_by_group.get(i, []):
            gid.append(g.gid)
            wx.append(people[p].wxid)
            role.append("成员")
            jt.append(local_str(t))
            lt.append(None if gen.g_end[i] >= T_END else local_str(int(gen.g_end[i])))
    _write_csv(
        out / "群成员.csv",
        pa.table(
            {"群ID": gid, "微信号": wx, "角色": role, "入群时间": jt, "退群时间": pa.array(lt, pa.string())}
        ),
    )


def local_str(t: int) -> str:
    return (EPOCH + dt.timedelta(seconds=int(t))).strftime("%Y-%m-%d %H:%M:%S")


def _final_members(gen: Generator, i: int) -> set[int]:
    if gen.g_end[i] < T_END:
        return set()
    o, e = gen.m_off[i], gen.m_off[i + 1]
    keep = gen.m_left[o:e] >= T_END
    s = {int(p) for p in gen.m_flat[o:e][keep]}
    s |= {p for p, _t in gen.extra_by_group.get(i, [])}
    return s


def _write_ground_truth(
    gt: Path,
    county,
    plan,
    gen: Generator,
    label_counts,
    ah_demands,
    ah_urgent,
    ah_exempt_group,
    messages,
    seed,
    written,
) -> None:
    import scipy.sparse as sp

    groups = county.groups
    G = len(groups)
    alive = gen.g_end >= T_END
    end = T_END
    zombie, inactive, empty, expired, offt = [], [], [], [], []
    for i, g in enumerate(groups):
        if not alive[i]:
            continue
        last = int(gen.sub_last[i])
        exist_from = max(int(gen.g_start[i]), T_START)
        gap_days = (end - (last if last >= 0 else exist_from)) / DAY
        rec = {
            "group_id": g.gid,
            "name": g.name,
            "last_substantive": iso(last) if last >= 0 else None,
            "days_silent": round(gap_days, 1),
        }
        if gap_days > 90:
            zombie.append(rec)
        elif gap_days > 30:
            inactive.append(rec)
        fm = _final_members(gen, i)
        if len(fm) < 3 or last < 0:
            empty.append(
                {"group_id": g.gid, "name": g.name, "members": len(fm), "substantive_messages": last >= 0}
            )
        if (
            g.gtype == "临时"
            and g.in_inventory
            and g.end_date
            and g.end_date + dt.timedelta(days=7) < DATA_END
        ):
            after_end = (
                last >= int((dt.datetime.combine(g.end_date, dt.time()) - EPOCH).total_seconds()) + DAY
            )
            expired.append(
                {
                    "group_id": g.gid,
                    "name": g.name,
                    "end_date": g.end_date.isoformat(),
                    "still_active": bool(after_end),
                }
            )
        mix = gen.mix[i]
        textual = mix[0] + mix[1] + mix[3]
        share = float(mix[1] / textual) if textual else 0.0
        if "off_topic" in g.design and share >= 0.6:
            offt.append({"group_id": g.gid, "name": g.name, "chat_share": round(share, 3)})
    # overlaps among groups alive at the end: containment ≥ 0.9 from the final memberships
    rows, cols = [], []
    sizes = np.zeros(G)
    for i in range(G):
        if not alive[i] or not groups[i].in_inventory:
            continue
        fm = _final_members(gen, i)
        sizes[i] = len(fm)
        rows += [i] * len(fm)
        cols += list(fm)
    M = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(G, len(county.people)))
    inter = (M @ M.T).tocoo()
    overlaps = []
    for i, j, v in zip(inter.row, inter.col, inter.data, strict=True):
        if i == j or sizes[i] < 3 or sizes[i] > sizes[j]:
            continue
        if sizes[i] == sizes[j] and i > j:
            continue
        cont = v / sizes[i]
        if cont >= 0.9:
            jac = v / (sizes[i] + sizes[j] - v)
            gi, gj = groups[i], groups[j]
            planted = gi.overlap_of == j or gi.duplicate_of == j or gj.duplicate_of == i or gj.overlap_of == i
            overlaps.append(
                {
                    "group_id": gi.gid,
                    "contained_in": gj.gid,
                    "containment": round(float(cont), 3),
                    "jaccard": round(float(jac), 3),
                    "same_unit": gi.unit == gj.unit,
                    "planted": bool(planted),
                }
            )
    overlaps.sort(key=lambda x: (x["group_id"], x["contained_in"]))
    dups = [
        {
            "group_id": g.gid,
            "duplicate_of": groups[g.duplicate_of].gid,
            "name": g.name,
            "other_name": groups[g.duplicate_of].name,
        }
        for g in groups
        if g.duplicate_of is not None
    ]
    planted_overlaps = [
        {
            "group_id": g.gid,
            "overlaps": groups[g.overlap_of].gid,
            "name": g.name,
            "other_name": groups[g.overlap_of].name,
        }
        for g in groups
        if g.overlap_of is not None
    ]
    dissolved = [
        {
            "group_id": groups[i].gid,
            "date": day.isoformat(),
            "merged_into": groups[into].gid if into is not None else None,
        }
        for i, day, into in plan["dissolved"]
    ]
    temp_dissolved = [
        {"group_id": g.gid, "date": g.dissolved.isoformat()} for g in groups if "temp_dissolved" in g.design
    ]
    groups_gt = {
        "as_of": AS_OF.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
        "definitions": {
            "substantive": "any message except system/recall messages and pure roll_call_reply messages",
            "zombie": "alive at as_of and no substantive message for more than 90 days",
            "inactive": "alive at as_of and no substantive message for more than 30 and at most 90 days",
            "expired_temp": "临时 group in the inventory, end date + 7 days before the end of the data, not dissolved",
            "empty": "alive at as_of with fewer than 3 members or no substantive message in the data",
            "overlaps": "pairs of groups alive at as_of where ≥90% of the smaller group's members are in the other "
            "(from 群成员.csv, which lists the groups of the 摸底表 only)",
        },
        "zombie": zombie,
        "inactive": inactive,
        "expired_temp": expired,
        "empty": empty,
        "off_topic": offt,
        "unregistered": [g.gid for g in groups if not g.in_inventory],
        "not_registered": [g.gid for g in groups if g.in_inventory and not g.registered],
        "no_purpose": [g.gid for g in groups if g.in_inventory and not g.purpose],
        "duplicates": dups,
        "planted_overlaps": planted_overlaps,
        "overlaps": overlaps,
        "dissolved_by_campaign": dissolved,
        "temp_dissolved_on_time": temp_dissolved,
        "exempt": [g.gid for i, g in enumerate(groups) if gen.exempt[i]],
        "design": {g.gid: g.design for g in groups if g.design},
    }
    _dump(gt / "groups.json", groups_gt)
    units = county.units
    apps = []
    for a in county.apps:
        forbidden = [x for x in a.features if x in ("打卡", "积分", "在线时长", "排名")]
        apps.append(
            {
                "name": a.name,
                "unit": units[a.unit].name,
                "forbidden_features": forbidden if not (set(a.tags) & {"应急", "安保"}) else [],
                "exempt": bool(set(a.tags) & {"应急", "安保"}) and bool(forbidden),
                "below_county": units[a.unit].kind in ("township", "village"),
                "duplicate_group": a.dup_key,
                "zombie": (DATA_END - a.last_active).days > 90,
                "registered": a.registered,
                "closed_on": a.closed.isoformat() if a.closed else None,
            }
        )
    dup_sets: dict[tuple[int, str], list[str]] = {}
    for a in county.apps:
        if a.dup_key:
            dup_sets.setdefault((units[a.unit].county, a.dup_key), []).append(a.name)
    _dump(gt / "apps.json", {"apps": apps, "duplicate_sets": [v for _k, v in sorted(dup_sets.items())]})
    accts = []
    acc_dups: dict[tuple[int, str], list[str]] = {}
    for a in county.accounts:
        days = (DATA_END - a.last_post).days
        accts.append(
            {
                "name": a.name,
                "platform": a.platform,
                "unit": units[a.unit].name,
                "days_since_post": days,
                "stale": days > 14,
                "zombie": days > 60,
                "cleanup": days > 90,
                "registered": a.registered,
                "closed_on": a.closed.isoformat() if a.closed else None,
            }
        )
        if a.dup_key:
            acc_dups.setdefault((units[a.unit].county, a.dup_key), []).append(f"{a.name}（{a.platform}）")
    _dump(
        gt / "accounts.json",
        {
            "as_of": DATA_END.isoformat(),
            "accounts": accts,
            "duplicate_sets": [v for _k, v in sorted(acc_dups.items())],
        },
    )

    def mid(u: int) -> str:
        return f"m{gen.p_num[u]:08d}"

    with (gt / "reply_storms.jsonl").open("w", encoding="utf-8") as f:
        for duid, rids, g in gen.storms:
            if not rids:
                continue
            f.write(
                json.dumps(
                    {
                        "demand_id": mid(duid),
                        "group_id": groups[g].gid,
                        "reply_ids": [mid(x) for x in rids],
                        "replies": len(rids),
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    siblings: dict[int, list[str]] = {}
    with (gt / "notice_clusters.jsonl").open("w", encoding="utf-8") as f:
        for k, c in enumerate(gen.clusters):
            cid = f"N{k + 1:06d}"
            if c["template"] is not None:
                siblings.setdefault(c["template"], []).append(cid)
            for u in c["members"]:
                _cl, hop, parent = gen.cluster_of[u]
                f.write(
                    json.dumps(
                        {
                            "message_id": mid(u),
                            "cluster_id": cid,
                            "hop": hop,
                            "parent_id": mid(parent) if parent >= 0 else None,
                            "template": c["template"],
                        }
                    )
                    + "\n"
                )
    _dump(
        gt / "template_siblings.json",
        [
            {"template": k, "title_pattern": tx.NOTICE_TEMPLATES[k][1], "clusters": v}
            for k, v in sorted(siblings.items())
            if len(v) > 1
        ],
    )
    _dump(
        gt / "multi_reporting.json",
        [
            {
                "case_id": c["id"],
                "item": c["item"],
                "requests": [
                    {"message_id": mid(u), "unit": units[ou].name, "group_id": groups[g].gid}
                    for u, ou, g in c["requests"]
                ],
            }
            for c in gen.multi
        ],
    )
    before = [m for m, s in ah_demands if s == "before"]
    after = [m for m, s in ah_demands if s == "after"]
    _dump(
        gt / "after_hours.json",
        {
            "definition": "a message with any demand label, outside Mon–Fri 08:30–12:00/14:00–17:30 (chinesecalendar "
            "holidays and 调休 workdays applied), text without 紧急/应急/安保 (a text that contains them, "
            "even in a unit name such as 应急管理局, is urgent_exempt), not in an 应急/安保 group",
            "demands": [m for m, _s in ah_demands],
            "urgent_exempt": ah_urgent,
            "exempt_group": ah_exempt_group,
        },
    )
    # campaign: planted design and realised effect
    exist_before = int(
        sum(1 for i, g in enumerate(groups) if g.created < CAMPAIGN and gen.g_end[i] >= T_CAMPAIGN)
    )
    exist_after = int(alive.sum())
    realised = {}
    for lab in tx.LABELS:
        bit = 1 << tx.LABELS.index(lab)
        b = sum(n for m, n in label_counts["before"].items() if m & bit)
        a = sum(n for m, n in label_counts["after"].items() if m & bit)
        realised[lab] = {"before": b, "after": a, "change": round(a / b - 1, 3) if b else None}
    realised["after_hours_demands"] = {
        "before": len(before),
        "after": len(after),
        "change": round(len(after) / len(before) - 1, 3) if before else None,
    }
    realised["groups"] = {
        "before": exist_before,
        "after": exist_after,
        "change": round(exist_after / exist_before - 1, 3) if exist_before else None,
    }
    from zhijian.demo import messages as mm

    camp = {
        "campaign_date": CAMPAIGN.isoformat(),
        "before": [DATA_START.isoformat(), (CAMPAIGN - dt.timedelta(days=1)).isoformat()],
        "after": [CAMPAIGN.isoformat(), DATA_END.isoformat()],
        "planted_rate_multipliers": {tx.LABELS[int(np.log2(k))]: v for k, v in mm.EFFECTS.items()},
        "planted_changes": {"roll_call_demand": -0.5, "after_hours_demands": -0.6, "groups": -0.3},
        "notes": "multipliers apply to the rate of each demand kind from the campaign date; roll_call_demand also "
        "counts 收到请回复 tails on other demands (tail probability halved). Realised counts are over "
        "92 days before and 92 days after.",
        "realised": realised,
    }
    _dump(gt / "campaign.json", camp)
    _dump(
        gt / "summary.json",
        {
            "seed": seed,
            "messages_requested": messages,
            "messages_written": written,
            "data_start": DATA_START.isoformat(),
            "data_end": DATA_END.isoformat(),
            "campaign_date": CAMPAIGN.isoformat(),
            "units": len(units),
            "people": len(county.people),
            "groups": G,
            "apps": len(county.apps),
            "accounts": len(county.accounts),
            "storms": len(gen.storms),
            "notice_clusters_multi": sum(1 for c in gen.clusters if len(c["members"]) > 1),
            "multi_reporting_cases": len(gen.multi),
            "counts": {
                "zombie": len(zombie),
                "inactive": len(inactive),
                "expired_temp": len(expired),
                "empty": len(empty),
                "off_topic": len(offt),
                "unregistered": len(groups_gt["unregistered"]),
                "overlaps": len(overlaps),
                "duplicates": len(dups),
                "after_hours_demands": len(ah_demands),
            },
        },
    )


def _dump(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
