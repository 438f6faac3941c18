"""The clue channel's storage and workflow, independent of the web layer.

Reporter side: :func:`submit` (→ receipt, shown once), :func:`find` (receipt → clue),
:func:`reporter_view`, :func:`add_reporter_message`.
Office side (减负办): :func:`office_list`, :func:`office_detail`, :func:`reply`, :func:`triage` (into
a :class:`Finding` with the clue as evidence), :func:`close` (with a reason the reporter sees),
:func:`link` (same matter), :func:`purge_expired` (retention).

What is stored: the report's fields, the day it arrived (``received_on``; no time), re-encoded
images. What is never stored: IP address, user agent, time of day, original file names, the receipt
in clear. Submissions and reporter messages are deliberately not written to the audit log (its
entries carry exact timestamps); office actions are.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from zhijian.clues import receipts
from zhijian.clues.images import sanitize
from zhijian.errors import ZhijianError
from zhijian.storable import storable_text
from zhijian.store import audit
from zhijian.store.models import Account, App, Clue, ClueAttachment, ClueMessage, Finding, Group, Unit

OBJECT_TYPES = {"group": "工作群组", "app": "政务应用程序", "account": "政务公众账号", "other": "其他"}
STATUS_ZH = {"received": "已收到，待处理", "triaged": "已受理，转为问题线索办理", "closed": "已办结"}
OFFICE_ROLES = ("admin", "supervisor")
CLUE_RULE_ID = "clue.report"
_MODELS = {"group": Group, "app": App, "account": Account}


class ClueError(ZhijianError):
    """A clue submission or office action with bad input."""


@dataclass
class NewClue:
    category: str
    object_type: str
    object_name: str
    unit: str
    description: str
    contact: str | None = None


def today() -> dt.date:
    return dt.date.today()


def _clean(v: str | None, limit: int) -> str:
    v = storable_text(v).strip()
    return v[:limit]


def _category_ids() -> set[str]:
    from zhijian.rules.taxonomy import categories

    return {c.id for c in categories()}


def category_name(cid: str) -> str:
    from zhijian.web import taxonomy

    return taxonomy.name(cid)


def validate(c: NewClue) -> NewClue:
    lim = receipts.policy()["limits"]
    if c.category not in _category_ids():
        raise ClueError("请选择问题类别", f"unknown category {c.category!r}")
    if c.object_type not in OBJECT_TYPES:
        raise ClueError(
            "请选择对象类型（工作群组、政务应用程序、政务公众账号或其他）",
            f"bad object_type {c.object_type!r}",
        )
    desc = _clean(c.description, lim["description_chars"] + 1)
    if len(desc) < 5:
        raise ClueError("请描述具体情况（至少 5 个字）", "description too short")
    if len(desc) > lim["description_chars"]:
        raise ClueError(f"情况描述不能超过 {lim['description_chars']} 字", "description too long")
    return NewClue(
        category=c.category,
        object_type=c.object_type,
        object_name=_clean(c.object_name, 200),
        unit=_clean(c.unit, 200),
        description=desc,
        contact=_clean(c.contact, 200) or None,
    )


# ── same-matter linking ───────────────────────────────────────────────────────────────────────
_PUNCT = re.compile(r"[\s\-_·.,，。、:：;；()（）\[\]【】“”\"'‘’!！?？/\\|]+")


def _norm_name(s: str | None) -> str:
    return _PUNCT.sub("", (s or "").lower())


@functools.lru_cache(maxsize=65536)
def _bigrams(name: str | None) -> tuple[str, frozenset[str]]:
    """The normalised name and its character bigrams (cached: linking compares every new clue with
    every known object name of its category)."""
    a = _norm_name(name)
    return a, frozenset(a[i : i + 2] for i in range(max(1, len(a) - 1)))


def name_similarity(a: str | None, b: str | None) -> float:
    (a, ga), (b, gb) = _bigrams(a), _bigrams(b)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return len(ga & gb) / len(ga | gb)


class _Matters:
    """Same-matter linking for one write transaction: the earlier, not yet closed clues about the same
    object (same category) — read once per category, then kept up to date as clues are added — so a
    batch of submissions costs one query per category instead of one per clue."""

    def __init__(self, s: Session):
        self.s = s
        self.pol = receipts.policy()["linking"]
        self._by_cat: dict[str, dict[tuple[str | None, str | None], str]] = {}

    def preload(self, categories: set[str]) -> None:
        """Read the known objects of these categories in one query (Core, no ORM objects)."""
        todo = sorted(c for c in categories if c not in self._by_cat)
        if not todo:
            return
        # one row per distinct (category, object id, object name), with the smallest of its matter ids
        q = select(Clue.category, func.min(Clue.matter_id), Clue.object_id, Clue.object_name).where(
            Clue.category.in_(todo), Clue.matter_id.isnot(None)
        )
        if self.pol["open_only"]:
            q = q.where(Clue.status != "closed")
        q = q.group_by(Clue.category, Clue.object_id, Clue.object_name)
        for c in todo:
            self._by_cat[c] = {}
        for cat, mid, oid, oname in self.s.connection().execute(q):
            self._by_cat[cat][(oid, oname)] = mid

    def _known(self, category: str) -> dict[tuple[str | None, str | None], str]:
        self.preload({category})
        return self._by_cat[category]

    def assign(self, clue: Clue) -> str:
        """The matter of ``clue`` (an earlier clue's, or its own id), remembered for later clues."""
        known = self._known(clue.category)
        mid = None
        if clue.object_id:
            mid = next((m for (oid, _n), m in known.items() if oid == clue.object_id), None)
        if mid is None:
            best, best_sim = None, 0.0
            for (_oid, oname), m in known.items():
                sim = name_similarity(clue.object_name, oname)
                if sim >= self.pol["name_similarity"] and sim > best_sim:
                    best, best_sim = m, sim
            mid = best or clue.id
        key = (clue.object_id, clue.object_name)
        known[key] = min(known.get(key, mid), mid)
        return mid


def _resolve_many(
    s: Session, keys: list[tuple[str, str, str]]
) -> dict[tuple[str, str, str], tuple[str | None, str | None]]:
    """(object type, object name, unit name) -> (object id, unit id): a name counts only when exactly
    one object (unit) has it; the unit named by the reporter wins over the object's unit. One query per
    object type and one for the units, whatever the number of names."""
    conn = s.connection()
    objs: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
    for otype, model in _MODELS.items():
        names = sorted({n for t, n, _u in keys if t == otype and n})
        for i in range(0, len(names), 500):
            q = select(model.name, model.id, model.unit_id).where(model.name.in_(names[i : i + 500]))
            for name, oid, uid in conn.execute(q):
                objs.setdefault((otype, name), []).append((oid, uid))
    units: dict[str, list[str]] = {}
    unames = sorted({u for _t, _n, u in keys if u})
    for i in range(0, len(unames), 500):
        for name, uid in conn.execute(select(Unit.name, Unit.id).where(Unit.name.in_(unames[i : i + 500]))):
            units.setdefault(name, []).append(uid)
    out = {}
    for key in keys:
        otype, name, unit = key
        oid = uid = None
        hit = objs.get((otype, name)) if name else None
        if hit is not None and len(hit) == 1:
            oid, uid = hit[0]
        u = units.get(unit) if unit else None
        if u is not None and len(u) == 1:
            uid = u[0]
        out[key] = (oid, uid)
    return out


# ── reporter side ─────────────────────────────────────────────────────────────────────────────
def prepare_images(images: list[bytes]) -> list[tuple[bytes, str, str]]:
    """Re-encode every image (raises before anything is stored)."""
    lim = receipts.policy()["limits"]
    if len(images) > lim["max_images"]:
        raise ClueError(f"最多上传 {lim['max_images']} 张截图", "too many images")
    return [sanitize(b) for b in images if b]


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def submit(
    s: Session,
    ws_root: Path,
    attachments_root: Path,
    c: NewClue,
    images: list[tuple[bytes, str, str]] | None = None,
    *,
    receipt_hash: tuple[str, str, str] | None = None,
) -> tuple[str, str]:
    """Store a validated clue; returns (clue id, receipt). ``receipt_hash`` = a precomputed
    (receipt, argon2 hash, lookup prefix) so the slow hash can run outside the write lock."""
    if receipt_hash is None:
        receipt_hash = make_receipt(ws_root)
    return submit_many(s, attachments_root, [(c, images or [], receipt_hash)])[0]


def submit_many(
    s: Session,
    attachments_root: Path,
    items: list[tuple[NewClue, list[tuple[bytes, str, str]], tuple[str, str, str]]],
) -> list[tuple[str, str]]:
    """Store validated clues in one transaction (the group commit of clues/batcher.py): each item is
    (clue, re-encoded images, (receipt, argon2 hash, lookup prefix)); returns (clue id, receipt) each.
    Object and unit names are resolved once per distinct name; linking sees the earlier clues of the
    same batch exactly as if they had been stored one by one."""
    matters = _Matters(s)
    matters.preload({c.category for c, _i, _r in items})
    resolved = _resolve_many(s, [(c.object_type, c.object_name, c.unit) for c, _i, _r in items])
    out: list[tuple[str, str]] = []
    clues: list[Clue] = []
    written: list[Path] = []
    try:
        for c, images, (receipt, h, prefix) in items:
            oid, uid = resolved[(c.object_type, c.object_name, c.unit)]
            clue = Clue(
                id=secrets.token_hex(8),
                receipt_hash=h,
                receipt_lookup=prefix,
                category=c.category,
                object_type=c.object_type,
                object_name=c.object_name or None,
                object_id=oid,
                unit_text=c.unit or None,
                unit_id=uid,
                description=c.description,
                contact=c.contact,
                received_on=today(),
                status="received",
            )
            clue.matter_id = matters.assign(clue)
            clues.append(clue)
            for data, media, ext in images or []:
                aid = secrets.token_hex(8)
                rel = f"clues/{clue.id}/{aid}.{ext}"
                _write_file(attachments_root / rel, data)
                written.append(attachments_root / rel)
                s.add(ClueAttachment(id=aid, clue_id=clue.id, media_type=media, path=rel, size=len(data)))
            out.append((clue.id, receipt))
        s.add_all(clues)
        s.flush()
    except Exception:
        for p in written:
            _shred(p)
        raise
    return out


def make_receipt(ws_root: Path, digits: int | None = None) -> tuple[str, str, str]:
    """A new receipt (``digits`` = ``policy.clues.receipt_digits``, default from policy.yaml) with its
    Argon2 hash and lookup prefix (the slow part of a submission)."""
    r = receipts.new_receipt(digits)
    return r, receipts.hash_receipt(r), receipts.lookup_prefix(receipts.system_key(ws_root), r)


def find(s: Session, ws_root: Path, receipt: str) -> Clue | None:
    r = receipts.normalise(receipt)
    if r is None:
        return None
    prefix = receipts.lookup_prefix(receipts.system_key(ws_root), r)
    for clue in s.execute(select(Clue).where(Clue.receipt_lookup == prefix)).scalars():
        if receipts.verify(clue.receipt_hash, r):
            return clue
    return None


def _messages(s: Session, clue_id: str) -> list[dict]:
    rows = s.execute(
        select(ClueMessage).where(ClueMessage.clue_id == clue_id).order_by(ClueMessage.id)
    ).scalars()
    return [{"on": m.on.isoformat(), "from_office": m.from_office, "body": m.body} for m in rows]


def reporter_view(s: Session, clue: Clue) -> dict:
    n_att = s.execute(select(func.count()).where(ClueAttachment.clue_id == clue.id)).scalar_one()
    return {
        "status": clue.status,
        "status_zh": STATUS_ZH.get(clue.status, clue.status),
        "category": clue.category,
        "category_zh": category_name(clue.category),
        "object_type": clue.object_type,
        "object_name": clue.object_name,
        "unit": clue.unit_text,
        "description": clue.description,
        "received_on": clue.received_on.isoformat(),
        "close_reason": clue.close_reason,
        "closed_on": clue.closed_on.isoformat() if clue.closed_on else None,
        "attachments": n_att,
        "messages": _messages(s, clue.id),
    }


def add_reporter_message(s: Session, clue: Clue, body: str) -> None:
    lim = receipts.policy()["limits"]["message_chars"]
    body = _clean(body, lim + 1)
    if not body:
        raise ClueError("请填写补充内容", "empty message")
    if len(body) > lim:
        raise ClueError(f"补充内容不能超过 {lim} 字", "message too long")
    if clue.status == "closed":
        raise ClueError("该线索已办结，不能再补充；如有新情况请重新提交", "clue is closed")
    s.add(ClueMessage(clue_id=clue.id, on=today(), from_office=False, body=body))
    s.flush()


# ── office side ───────────────────────────────────────────────────────────────────────────────
def _office_row(
    c: Clue, matter_sizes: dict[str, int], n_att: dict[str, int], unit_names: dict[str, str]
) -> dict:
    return {
        "id": c.id,
        "category": c.category,
        "category_zh": category_name(c.category),
        "object_type": c.object_type,
        "object_type_zh": OBJECT_TYPES.get(c.object_type or "", c.object_type),
        "object_name": c.object_name,
        "object_id": c.object_id,
        "unit_text": c.unit_text,
        "unit_id": c.unit_id,
        "unit_name": unit_names.get(c.unit_id or ""),
        "received_on": c.received_on.isoformat(),  # a day: the office never sees a time
        "status": c.status,
        "status_zh": STATUS_ZH.get(c.status, c.status),
        "matter_id": c.matter_id,
        "matter_size": matter_sizes.get(c.matter_id or "", 1),
        "attachments": n_att.get(c.id, 0),
        "finding_id": c.finding_id,
    }


def office_list(s: Session, status: str | None = None, category: str | None = None) -> list[dict]:
    q = select(Clue)
    if status:
        q = q.where(Clue.status == status)
    if category:
        q = q.where(Clue.category == category)
    clues = (
        s.execute(q.order_by(Clue.received_on.desc(), Clue.matter_id, Clue.id).limit(2000)).scalars().all()
    )
    sizes = dict(s.execute(select(Clue.matter_id, func.count()).group_by(Clue.matter_id)).all())
    att = dict(s.execute(select(ClueAttachment.clue_id, func.count()).group_by(ClueAttachment.clue_id)).all())
    names = dict(s.execute(select(Unit.id, Unit.name)).all()) if clues else {}
    return [_office_row(c, sizes, att, names) for c in clues]


def office_detail(s: Session, clue_id: str) -> dict | None:
    c = s.get(Clue, clue_id)
    if c is None:
        return None
    sizes = {c.matter_id: s.execute(select(func.count()).where(Clue.matter_id == c.matter_id)).scalar_one()}
    atts = s.execute(select(ClueAttachment).where(ClueAttachment.clue_id == c.id)).scalars().all()
    names = dict(s.execute(select(Unit.id, Unit.name)).all())
    d = _office_row(c, sizes, {c.id: len(atts)}, names)
    d.update(
        description=c.description,
        contact=c.contact,
        close_reason=c.close_reason,
        closed_on=c.closed_on.isoformat() if c.closed_on else None,
        messages=_messages(s, c.id),
        attachment_list=[{"id": a.id, "media_type": a.media_type, "size": a.size} for a in atts],
        related=[
            {
                "id": o.id,
                "received_on": o.received_on.isoformat(),
                "status_zh": STATUS_ZH.get(o.status, o.status),
                "object_name": o.object_name,
            }
            for o in s.execute(
                select(Clue).where(Clue.matter_id == c.matter_id, Clue.id != c.id).order_by(Clue.received_on)
            ).scalars()
        ],
    )
    return d


def _get(s: Session, clue_id: str) -> Clue:
    c = s.get(Clue, clue_id)
    if c is None:
        raise ClueError("线索不存在", f"no clue {clue_id}")
    return c


def reply(s: Session, actor: str, clue_id: str, body: str) -> None:
    c = _get(s, clue_id)
    lim = receipts.policy()["limits"]["message_chars"]
    body = _clean(body, lim + 1)
    if not body or len(body) > lim:
        raise ClueError(f"回复内容不能为空、不超过 {lim} 字", "bad reply length")
    s.add(ClueMessage(clue_id=c.id, on=today(), from_office=True, body=body))
    s.flush()
    audit.record(s, actor, "clue.reply", "clue", c.id, None, {"chars": len(body)})


def triage(
    s: Session,
    actor: str,
    clue_id: str,
    title: str,
    summary: str = "",
    unit_id: str | None = None,
    severity: str = "medium",
) -> str:
    """Open (or extend) a finding for the clue's matter; every clue of the matter becomes evidence."""
    from zhijian.analysis.findings import finding_id

    c = _get(s, clue_id)
    if c.status == "closed":
        raise ClueError("已办结的线索不能再转为问题线索", "clue closed")
    title = _clean(title, 500)
    if not title:
        raise ClueError("请填写问题标题", "title required")
    if severity not in ("low", "medium", "high"):
        raise ClueError("严重程度只能是 低/中/高", f"bad severity {severity!r}")
    matter = (
        s.execute(select(Clue).where(Clue.matter_id == c.matter_id, Clue.status != "closed")).scalars().all()
    )
    known = next((m for m in [c, *matter] if m.object_id and m.object_type in _MODELS), None)
    unit_id = unit_id or c.unit_id or next((m.unit_id for m in matter if m.unit_id), None)
    if unit_id and s.get(Unit, unit_id) is None:
        raise ClueError("单位不存在", f"unknown unit {unit_id!r}")
    otype = known.object_type if known else "unit"
    oid = known.object_id if known else (unit_id or f"clue-{c.matter_id}")
    fid = finding_id(CLUE_RULE_ID, otype, oid, f"matter:{c.matter_id}")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    f = s.get(Finding, fid)
    if f is None:
        f = Finding(
            id=fid,
            category=c.category,
            rule_id=CLUE_RULE_ID,
            object_type=otype,
            object_id=oid,
            unit_id=unit_id,
            period=f"matter:{c.matter_id}",
            severity=severity,
            title=title,
            summary=_clean(summary, 5000),
            evidence={"clue_ids": [], "message_ids": [], "message_count": 0, "metrics": {}},
            policy={"source": "线索征集（匿名举报）"},
            status="open",
            first_seen_at=now,
            last_seen_at=now,
            active=True,
            updated_at=now,
        )
        s.add(f)
    ev = dict(f.evidence or {})
    ids = list(dict.fromkeys([*(ev.get("clue_ids") or []), *(m.id for m in matter)]))
    ev["clue_ids"] = ids
    ev["metrics"] = {**(ev.get("metrics") or {}), "clues": len(ids)}
    f.evidence = ev
    f.last_seen_at = now
    f.updated_at = now
    for m in matter:
        m.status = "triaged"
        m.finding_id = fid
    s.flush()
    audit.record(s, actor, "clue.triage", "clue", c.id, None, {"finding_id": fid, "clues": ids})
    return fid


def close(s: Session, actor: str, clue_id: str, reason: str) -> None:
    c = _get(s, clue_id)
    reason = _clean(reason, 2000)
    if not reason:
        raise ClueError("办结时请填写向举报人说明的理由", "close reason required")
    before = {"status": c.status}
    c.status = "closed"
    c.close_reason = reason
    c.closed_on = today()
    s.flush()
    audit.record(s, actor, "clue.close", "clue", c.id, before, {"status": "closed", "reason": reason})


def link(s: Session, actor: str, clue_id: str, other_id: str) -> str:
    c = _get(s, clue_id)
    o = _get(s, other_id)
    if c.id == o.id:
        raise ClueError("不能与自身关联", "self link")
    before = {"matter_id": c.matter_id}
    old = c.matter_id
    for m in s.execute(select(Clue).where(Clue.matter_id == old)).scalars():
        m.matter_id = o.matter_id
    s.flush()
    audit.record(s, actor, "clue.link", "clue", c.id, before, {"matter_id": o.matter_id})
    return o.matter_id


def attachment_path(s: Session, attachments_root: Path, clue_id: str, att_id: str) -> tuple[Path, str] | None:
    a = s.get(ClueAttachment, att_id)
    if a is None or a.clue_id != clue_id:
        return None
    p = (attachments_root / a.path).resolve()
    if not p.is_relative_to(attachments_root.resolve()) or not p.exists():
        return None
    return p, a.media_type


# ── retention ─────────────────────────────────────────────────────────────────────────────────
def _shred(path: Path) -> None:
    """Overwrite a file with random bytes before unlinking it (best effort on journaling filesystems)."""
    try:
        n = path.stat().st_size
        with path.open("r+b") as f:
            f.write(os.urandom(n))
            f.flush()
            os.fsync(f.fileno())
        path.unlink()
    except FileNotFoundError:
        pass


def purge_expired(
    s: Session, attachments_root: Path, retention_days: int, on: dt.date | None = None
) -> dict[str, Any]:
    """Delete clues closed more than ``retention_days`` ago, with their messages and attachments."""
    on = on or today()
    cutoff = on - dt.timedelta(days=retention_days)
    if s.get_bind().dialect.name == "sqlite":
        from sqlalchemy import text

        s.execute(text("PRAGMA secure_delete=ON"))
    ids = s.execute(select(Clue.id).where(Clue.status == "closed", Clue.closed_on <= cutoff)).scalars().all()
    files = 0
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        for a in s.execute(select(ClueAttachment).where(ClueAttachment.clue_id.in_(part))).scalars():
            _shred(attachments_root / a.path)
            files += 1
        for cid in part:
            d = attachments_root / "clues" / cid
            if d.is_dir():
                for p in d.iterdir():
                    _shred(p)
                d.rmdir()
        s.execute(delete(ClueAttachment).where(ClueAttachment.clue_id.in_(part)))
        s.execute(delete(ClueMessage).where(ClueMessage.clue_id.in_(part)))
        s.execute(delete(Clue).where(Clue.id.in_(part)))
    if ids:
        audit.record(
            s, "retention", "clue.purge", "clue", "*", None, {"count": len(ids), "cutoff": cutoff.isoformat()}
        )
    return {"clues": len(ids), "files": files, "cutoff": cutoff.isoformat()}
