"""The audit log: append-only and hash-chained, so that tampering is detectable.

Each entry stores ``prev_hash`` (the hash of the entry before it, 64 zeros for the first) and
``hash = sha256(prev_hash + canonical JSON of the entry)``. Changing, deleting or inserting an
entry anywhere but at the end breaks the chain; :func:`verify` names the first broken entry.

Writers are serialised so that the chain never forks: a PostgreSQL transaction-level advisory
lock, and on SQLite a no-op write that takes the database write lock before the tail is read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from zhijian.store.models import AuditLog

GENESIS = "0" * 64
#: Arbitrary key of the PostgreSQL advisory lock guarding the chain tail.
_PG_LOCK_KEY = 7_240_312_025
#: Serialises writers of this process (SQLite's lock is per connection, not per thread).
_LOCAL_LOCK = threading.RLock()


def _jsonable(v: Any) -> Any:
    """What the value looks like after a JSON round trip through the database."""
    if v is None:
        return None
    return json.loads(json.dumps(v, ensure_ascii=False, default=_default))


def _default(o: Any) -> Any:
    if isinstance(o, dt.datetime | dt.date):
        return o.isoformat()
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, set | frozenset | tuple):
        return list(o)
    return str(o)


def _ts(at: dt.datetime) -> str:
    return at.replace(tzinfo=None).isoformat(timespec="microseconds")


def entry_hash(
    prev_hash: str,
    at: dt.datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: Any,
    after: Any,
) -> str:
    body = {
        "at": _ts(at),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "before": before,
        "after": after,
    }
    canon = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_default)
    return hashlib.sha256((prev_hash + canon).encode("utf-8")).hexdigest()


def _lock_tail(session: Session) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    elif dialect == "sqlite":
        # A write statement (even one touching no row) takes SQLite's write lock for the rest of the
        # transaction, so no other process can append between our read of the tail and our insert.
        session.execute(update(AuditLog).where(AuditLog.id == -1).values(actor=AuditLog.actor))


def record(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one entry in the caller's transaction (it is committed with the change it records)."""
    with _LOCAL_LOCK:
        _lock_tail(session)
        session.flush()
        prev = session.execute(select(AuditLog.hash).order_by(AuditLog.id.desc()).limit(1)).scalar()
        prev = prev or GENESIS
        at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        b, a = _jsonable(before), _jsonable(after)
        h = entry_hash(prev, at, actor, action, object_type, str(object_id), b, a)
        row = AuditLog(
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=b,
            after=a,
            prev_hash=prev,
            hash=h,
        )
        session.add(row)
        session.flush()
        return row


def verify(session: Session) -> tuple[bool, int | None]:
    """Walk the chain in id order. ``(True, None)`` when intact, else ``(False, first bad id)``."""
    prev = GENESIS
    q = select(AuditLog).order_by(AuditLog.id).execution_options(yield_per=2000)
    for (row,) in session.execute(q):
        expect = entry_hash(
            prev, row.at, row.actor, row.action, row.object_type, row.object_id, row.before, row.after
        )
        if row.prev_hash != prev or row.hash != expect:
            return False, row.id
        prev = row.hash
    return True, None


def count(session: Session) -> int:
    from sqlalchemy import func

    return session.execute(select(func.count()).select_from(AuditLog)).scalar_one()
