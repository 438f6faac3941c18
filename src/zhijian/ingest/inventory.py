"""Units (单位), roster (花名册), the 摸底表 inventories of groups, apps and public accounts, and group
membership lists. Headers are mapped through ``headers.yaml``; unknown headers are reported in the
summary. Every import upserts by id, so importing the same spreadsheet again changes nothing."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from zhijian.errors import DataError, ImportFormatError
from zhijian.ingest.common import parse_local, person_id_for, stable_hash
from zhijian.ingest.tabular import Sheet, norm_header
from zhijian.store.models import UNIT_LEVELS, Account, App, Group, Person, Unit

INVENTORY_KINDS = ("units", "roster", "groups", "apps", "accounts", "memberships")


@cache
def table() -> dict[str, Any]:
    return yaml.safe_load((Path(__file__).parent / "headers.yaml").read_text(encoding="utf-8"))


@cache
def _synonyms(kind: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for fieldname, names in table()["kinds"][kind]["fields"].items():
        for n in names:
            out.setdefault(norm_header(n), fieldname)
    return out


def map_headers(kind: str, header: list[str]) -> tuple[dict[str, str], list[str]]:
    """({header: field}, unknown headers) for a kind."""
    syn = _synonyms(kind)
    ignored = {norm_header(h) for h in table().get("ignored", [])}
    mapped: dict[str, str] = {}
    unknown: list[str] = []
    taken: set[str] = set()
    for h in header:
        if not h or h in ignored:
            continue
        f = syn.get(h)
        if f and f not in taken:
            mapped[h] = f
            taken.add(f)
        else:
            unknown.append(h)
    return mapped, unknown


def classify(header: list[str]) -> str | None:
    """Which inventory kind a header row belongs to, or None."""
    for kind, spec in table()["kinds"].items():
        mapped, _ = map_headers(kind, header)
        fields = set(mapped.values())
        if set(spec["required"]) <= fields and not (set(spec.get("forbidden", [])) & fields):
            if kind == "roster" and not ({"unit", "wechat", "wecom", "phone", "id", "title"} & fields):
                continue
            return kind
    return None


def _value(name: str, text: str) -> str | None:
    return table()["values"][name].get(text.strip())


def _truthy(text: str) -> bool:
    return text.strip() in table()["values"]["truthy"]


def _list(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,，、;；/|\n]+", text or "") if p.strip()]


def _date(text: str, *, path: Path, where: str, label: str) -> date | None:
    if not text.strip():
        return None
    d = parse_local(text)
    if d is None:
        # Excel serial day numbers (1900 date system)
        try:
            n = float(text)
            if 20000 < n < 80000:
                return (datetime(1899, 12, 30) + __import__("datetime").timedelta(days=int(n))).date()
        except ValueError:
            pass
        raise ImportFormatError(
            f"{label}“{text}”不是日期（应为 2026-05-06 或 2026/5/6）",
            f"{label} {text!r} is not a date (expected YYYY-MM-DD or YYYY/M/D)",
            path=str(path),
            where=where,
        )
    return d.date()


def _int(text: str, *, path: Path, where: str, label: str) -> int | None:
    t = text.strip().replace(",", "").replace("，", "")
    if not t:
        return None
    try:
        return int(float(t))
    except ValueError:
        raise ImportFormatError(
            f"{label}“{text}”不是数字", f"{label} {text!r} is not a number", path=str(path), where=where
        ) from None


def _existing(session, model, ids) -> dict[str, Any]:
    ids = list(ids)
    out: dict[str, Any] = {}
    for i in range(0, len(ids), 500):
        for obj in session.scalars(select(model).where(model.id.in_(ids[i : i + 500]))):
            out[obj.id] = obj
    return out


def _upsert(session, model, rows: list[dict[str, Any]], *, keep: tuple[str, ...] = ()) -> int:
    """Insert or update rows by id; ``keep`` fields are only set on insert (workflow state)."""
    have = _existing(session, model, [r["id"] for r in rows])
    for r in rows:
        obj = have.get(r["id"])
        if obj is None:
            obj = model(**r)
            session.add(obj)
            have[r["id"]] = obj
        else:
            for k, v in r.items():
                if k not in keep and getattr(obj, k) != v:
                    setattr(obj, k, v)
    session.flush()
    return len(rows)


def import_sheet(run, path: Path, kind: str, sheet: Sheet) -> int:
    mapped, unknown = map_headers(kind, sheet.header)
    if unknown:
        run.summary.unknown_headers[str(path)] = [sheet.raw_header[sheet.header.index(h)] for h in unknown]
    required = table()["kinds"][kind]["required"]
    missing = [f for f in required if f not in mapped.values()]
    if missing:
        raise ImportFormatError(
            f"缺少必需的列：{', '.join(missing)}",
            f"missing required columns: {', '.join(missing)}",
            path=str(path),
            where="第 1 行（表头）",
        )

    def rows():
        for line, row in sheet.rows():
            yield line, {f: row.get(h, "") for h, f in mapped.items()}

    fn = {
        "units": _units,
        "roster": _roster,
        "groups": _groups,
        "apps": _apps,
        "accounts": _accounts,
        "memberships": _memberships,
    }[kind]
    return fn(run, path, rows())


# ── units ─────────────────────────────────────────────────────────────────────────────────────────
def _units(run, path: Path, rows) -> int:
    s = run.session
    items: dict[str, dict[str, Any]] = {}
    lines: dict[str, int] = {}
    for line, r in rows:
        code, name = r.get("code", "").strip(), r.get("name", "").strip()
        where = f"第 {line} 行"
        if not code or not name:
            raise ImportFormatError(
                "单位编码和单位名称不能为空", "unit code and name are required", path=str(path), where=where
            )
        lvl_text = r.get("level", "").strip()
        level = _value("unit_level", lvl_text) if lvl_text else None
        if lvl_text and level is None:
            if lvl_text in UNIT_LEVELS:
                level = lvl_text
            else:
                raise ImportFormatError(
                    f"层级“{lvl_text}”无法识别（应为 省/市/县/乡镇/村）",
                    f"unknown level {lvl_text!r}: expected 省/市/县/乡镇/村",
                    path=str(path),
                    where=where,
                )
        items[code] = {
            "id": code,
            "name": name[:200],
            "parent_ref": r.get("parent", "").strip() or None,
            "level": level,
            "kind": (r.get("kind", "").strip() or None),
        }
        lines[code] = line
    existing = {u.id: u for u in s.scalars(select(Unit))}
    by_name: dict[str, list[str]] = {}
    for u in existing.values():
        by_name.setdefault(u.name, []).append(u.id)
    for it in items.values():
        by_name.setdefault(it["name"], [])
        if it["id"] not in by_name[it["name"]]:
            by_name[it["name"]].append(it["id"])

    def parent_id(code: str) -> str | None:
        ref = items[code]["parent_ref"]
        if ref is None:
            return None
        if ref in items or ref in existing:
            return ref
        cands = by_name.get(ref, [])
        if len(cands) == 1:
            return cands[0]
        raise DataError(
            f"上级单位“{ref}”不存在（既不在本文件中，也不在已导入的单位里）",
            f"parent unit {ref!r} is unknown (not in this file nor in the store)",
            path=str(path),
            where=f"第 {lines[code]} 行",
        )

    parents = {c: parent_id(c) for c in items}
    paths: dict[str, str] = {}

    def path_of(code: str, seen: tuple[str, ...] = ()) -> str:
        if code in paths:
            return paths[code]
        if code in seen:
            raise DataError(
                f"单位上下级关系成环：{' → '.join((*seen, code))}",
                f"unit hierarchy has a cycle at {code}",
                path=str(path),
                where=f"第 {lines.get(code, 0)} 行",
            )
        if code in items:
            p = parents[code]
        else:
            p = existing[code].parent_id
        if p is None:
            res = f"/{code}/"
        elif p in items:
            res = path_of(p, (*seen, code)) + f"{code}/"
        else:
            res = existing[p].path + f"{code}/"
        paths[code] = res
        return res

    rows_out = []
    depth_level = {1: "province", 2: "city", 3: "county", 4: "township", 5: "village"}
    for code, it in items.items():
        p = path_of(code)
        level = it["level"] or depth_level.get(p.count("/") - 1, "village")
        rows_out.append(
            {
                "id": code,
                "name": it["name"],
                "parent_id": parents[code],
                "level": level,
                "kind": (it["kind"] or None) and it["kind"][:32],
                "path": p,
            }
        )
    # parents before children so foreign keys hold at every flush
    rows_out.sort(key=lambda r: r["path"].count("/"))
    n = _upsert(s, Unit, rows_out)
    run.resolver.invalidate()
    run.summary.units += n
    return n


# ── roster ────────────────────────────────────────────────────────────────────────────────────────
def _roster(run, path: Path, rows) -> int:
    out: dict[str, dict[str, Any]] = {}
    for line, r in rows:
        where = f"第 {line} 行"
        name = r.get("name", "").strip()
        if not name:
            run.skip(path, where, "姓名为空")
            continue
        unit_ref = r.get("unit", "").strip()
        unit_id = run.resolver.unit(unit_ref, path=str(path), where=where) if unit_ref else None
        aliases = [r.get(k, "").strip() for k in ("wechat", "wecom", "phone")]
        aliases = list(dict.fromkeys(a for a in aliases if a))
        pid = r.get("id", "").strip() or person_id_for(name, unit_id or "", *aliases[:1])
        out[pid] = {
            "id": pid[:64],
            "name": name[:100],
            "unit_id": unit_id,
            "title": (r.get("title", "").strip() or None),
            "aliases": aliases,
        }
    n = _upsert(run.session, Person, list(out.values()))
    run.resolver.invalidate()
    run.summary.people += n
    return n


# ── lifecycle columns (状态, 实际解散时间) shared by groups, apps and accounts ──────────────────────────
def _lifecycle(r: dict[str, str], *, path: Path, where: str) -> dict[str, Any]:
    """The ``status`` / ``dissolved_on`` fields a row sets, or {} when the sheet has neither: then a
    re-import keeps what the store has (a group dissolved through the web stays dissolved)."""
    out: dict[str, Any] = {}
    st_text = r.get("status", "").strip()
    if st_text:
        st = _value("object_status", st_text)
        if st is None:
            raise ImportFormatError(
                f"状态“{st_text}”无法识别（应为 在用/已解散/已合并/已关停/已注销 等）",
                f"unknown status {st_text!r}: expected 在用/已解散/已合并/已关停/已注销",
                path=str(path),
                where=where,
            )
        out["status"] = st
    gone = _date(r.get("dissolved_on", ""), path=path, where=where, label="实际解散（关停）时间")
    if gone is not None:
        if out.get("status") == "active":
            raise ImportFormatError(
                f"状态为“{st_text}”却填写了实际解散（关停）时间 {gone}：二者矛盾",
                f"status {st_text!r} contradicts the dissolution date {gone}",
                path=str(path),
                where=where,
            )
        out.setdefault("status", "dissolved")
        out["dissolved_on"] = gone
    elif out.get("status") == "active":
        out["dissolved_on"] = None
    return out


# ── groups ────────────────────────────────────────────────────────────────────────────────────────
def _platform(kind: str, text: str, default: str) -> str:
    t = text.strip()
    if not t:
        return default
    v = _value(kind, t)
    if v:
        return v
    low = t.lower()
    for k, val in table()["values"][kind].items():
        if k.lower() == low:
            return val
    return low[:32]


def _groups(run, path: Path, rows) -> int:
    out: dict[str, dict[str, Any]] = {}
    r_ = run.resolver
    for line, r in rows:
        where = f"第 {line} 行"
        name = r.get("name", "").strip()
        if not name:
            run.skip(path, where, "群名称为空")
            continue
        platform = _platform("group_platform", r.get("platform", ""), "wechat")
        gid = r.get("id", "").strip() or "G-" + stable_hash(platform, name, n=12)
        unit_ref = r.get("unit", "").strip()
        unit_id = r_.unit(unit_ref, path=str(path), where=where) if unit_ref else None
        owner_ref = r.get("owner", "").strip()
        owner_id = r_.person(owner_ref, owner_ref) if owner_ref else None
        if owner_ref and owner_id is None:
            run.warn(f"{path.name}：群主“{owner_ref}”不在花名册中（或重名），群主暂不关联")
        gt_text = r.get("group_type", "").strip()
        gtype = _value("group_type", gt_text) or ("temporary" if "临时" in gt_text else "fixed")
        end_text = r.get("end_date", "").strip()
        end_date, end_cond = None, None
        if end_text:
            d = parse_local(end_text)
            if d is not None:
                end_date = d.date()
            else:
                end_cond = end_text
        reg = _truthy(r.get("registered", "")) if r.get("registered", "").strip() else False
        created = _date(r.get("created_on", ""), path=path, where=where, label="建群时间")
        out[gid] = {
            "id": gid[:64],
            "name": name[:200],
            "platform": platform,
            "unit_id": unit_id,
            "owner_id": owner_id,
            "purpose": r.get("purpose", "").strip() or None,
            "group_type": gtype,
            "created_on": created,
            "end_date": end_date,
            "end_condition": end_cond,
            "member_count": _int(r.get("member_count", ""), path=path, where=where, label="成员数"),
            "registered": reg,
            "registered_on": created if reg else None,
            "tags": _list(r.get("tags", "")),
            "source": run.batch_id,
            **_lifecycle(r, path=path, where=where),
        }
    n = _upsert(run.session, Group, list(out.values()), keep=("source", "registered_on"))
    run.summary.inventory_groups += n
    return n


# ── apps / accounts ───────────────────────────────────────────────────────────────────────────────
def _apps(run, path: Path, rows) -> int:
    out: dict[str, dict[str, Any]] = {}
    for line, r in rows:
        where = f"第 {line} 行"
        name = r.get("name", "").strip()
        if not name:
            run.skip(path, where, "应用名称为空")
            continue
        platform = _platform("app_platform", r.get("platform", ""), "app")
        unit_ref = r.get("unit", "").strip()
        unit_id = run.resolver.unit(unit_ref, path=str(path), where=where) if unit_ref else None
        feats: list[str] = []
        for f in _list(r.get("features", "")):
            v = _value("app_feature", f)
            if v is None:
                raise ImportFormatError(
                    f"强制功能“{f}”无法识别（应为 打卡/积分/在线时长/排名）",
                    f"unknown forced feature {f!r}: expected 打卡/积分/在线时长/排名",
                    path=str(path),
                    where=where,
                )
            feats.append(v)
        for col, feat in (
            ("has_checkin", "checkin"),
            ("has_points", "points"),
            ("has_online_time", "online_time"),
            ("has_ranking", "ranking"),
        ):
            if _truthy(r.get(col, "")):
                feats.append(feat)
        aid = "A-" + stable_hash(platform, name, n=12)
        out[aid] = {
            "id": aid,
            "name": name[:200],
            "platform": platform,
            "unit_id": unit_id,
            "purpose": r.get("purpose", "").strip() or None,
            "functions": _list(r.get("functions", "")),
            "features": list(dict.fromkeys(feats)),
            "launched_on": _date(r.get("launched_on", ""), path=path, where=where, label="上线时间"),
            "last_active_on": _date(
                r.get("last_active_on", ""), path=path, where=where, label="最近活跃时间"
            ),
            "users": _int(r.get("users", ""), path=path, where=where, label="用户数"),
            "registered": _truthy(r.get("registered", "")),
            "tags": _list(r.get("tags", "")),
            "source": run.batch_id,
            **_lifecycle(r, path=path, where=where),
        }
    n = _upsert(run.session, App, list(out.values()), keep=("source",))
    run.summary.apps += n
    return n


def _accounts(run, path: Path, rows) -> int:
    out: dict[str, dict[str, Any]] = {}
    for line, r in rows:
        where = f"第 {line} 行"
        name = r.get("name", "").strip()
        if not name:
            run.skip(path, where, "账号名称为空")
            continue
        platform = _platform("account_platform", r.get("platform", ""), "wechat_oa")
        unit_ref = r.get("unit", "").strip()
        unit_id = run.resolver.unit(unit_ref, path=str(path), where=where) if unit_ref else None
        acid = "AC-" + stable_hash(platform, name, n=12)
        out[acid] = {
            "id": acid,
            "name": name[:200],
            "platform": platform,
            "unit_id": unit_id,
            "purpose": r.get("purpose", "").strip() or None,
            "functions": _list(r.get("functions", "")),
            "created_on": _date(r.get("created_on", ""), path=path, where=where, label="开设时间"),
            "last_post_on": _date(r.get("last_post_on", ""), path=path, where=where, label="最近更新时间"),
            "followers": _int(r.get("followers", ""), path=path, where=where, label="粉丝数"),
            "registered": _truthy(r.get("registered", "")),
            "tags": _list(r.get("tags", "")),
            "source": run.batch_id,
            **_lifecycle(r, path=path, where=where),
        }
    n = _upsert(run.session, Account, list(out.values()), keep=("source",))
    run.summary.accounts += n
    return n


# ── memberships ───────────────────────────────────────────────────────────────────────────────────
def _memberships(run, path: Path, rows) -> int:
    groups = {g.id: g.id for g in run.session.scalars(select(Group))}
    n = 0
    for line, r in rows:
        where = f"第 {line} 行"
        gid, key = r.get("group_id", "").strip(), r.get("person_key", "").strip()
        if not gid or not key:
            run.skip(path, where, "群ID或成员为空")
            continue
        if gid not in groups:
            raise DataError(
                f"群ID“{gid}”不在工作群摸底表中：请先导入工作群摸底表",
                f"unknown group id {gid!r}",
                path=str(path),
                where=where,
            )
        role_text = r.get("role", "").strip()
        role = _value("member_role", role_text) if role_text else "member"
        if role is None:
            raise ImportFormatError(
                f"角色“{role_text}”无法识别（应为 群主/管理员/成员）",
                f"unknown role {role_text!r}: expected 群主/管理员/成员",
                path=str(path),
                where=where,
            )
        joined = r.get("joined_at", "").strip()
        left = r.get("left_at", "").strip()
        j, lft = parse_local(joined) if joined else None, parse_local(left) if left else None
        if (joined and j is None) or (left and lft is None):
            raise ImportFormatError(
                "入群/退群时间不是日期时间", "join/leave time is not a date-time", path=str(path), where=where
            )
        run.membership_rows.append(
            {"group_id": gid, "person_key": key, "role": role, "joined_at": j, "left_at": lft}
        )
        n += 1
    return n
