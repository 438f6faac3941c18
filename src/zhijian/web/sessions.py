"""Server-side sessions kept in the store (table ``web_sessions``), so that every process of
``zhijian serve --workers N`` sees the same sessions, and a restart does not sign everyone out.

Same contract as the former in-memory store: the cookie holds a random 256-bit value, the store
only its SHA-256; idle timeout and absolute lifetime; the id is rotated at login; deactivating a
user or resetting their password deletes their sessions (in every process at once, since each
request reads its row). ``last_seen`` is written at most every ``touch_seconds`` (a minute, or a
quarter of the idle timeout when that is shorter), so reading a page does not mean a write.

Per-process extras (the short-lived principal cache in ``WebSession.data``) stay in memory.
Anonymous sessions (the login form's CSRF token) are capped at ``max_anonymous``; the oldest go.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict

from sqlalchemy import delete, func, select, update

from zhijian.store.models import WebSession as Row
from zhijian.web.auth import WebSession


class StoreSessions:
    def __init__(
        self,
        store,
        idle_seconds: float = 1800,
        max_age_seconds: float = 12 * 3600,
        max_anonymous: int = 5000,
    ):
        self.store = store
        self.idle = idle_seconds
        self.max_age = max_age_seconds
        self.max_anonymous = max_anonymous
        self.touch = min(60.0, idle_seconds / 4)
        self._data: OrderedDict[str, dict] = OrderedDict()  # per-process extras per session
        self._lock = threading.Lock()
        self._creates = 0

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def _extras(self, key: str) -> dict:
        with self._lock:
            d = self._data.get(key)
            if d is None:
                d = self._data[key] = {}
                while len(self._data) > 20_000:
                    self._data.popitem(last=False)
            else:
                self._data.move_to_end(key)
            return d

    def _forget(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._data.pop(k, None)

    def create(self, user_id: int | None) -> tuple[str, WebSession]:
        token = secrets.token_urlsafe(32)
        now = time.time()
        csrf = secrets.token_urlsafe(32)
        key = self._key(token)
        with self.store.session() as s:
            s.add(Row(id=key, user_id=user_id, csrf=csrf, created=now, last_seen=now))
        self._creates += 1
        if self._creates % 100 == 0:
            self._prune(now)
        return token, WebSession(
            user_id=user_id, csrf=csrf, created=now, last_seen=now, data=self._extras(key)
        )

    def get(self, token: str | None) -> WebSession | None:
        if not token or len(token) > 100:
            return None
        now = time.time()
        key = self._key(token)
        with self.store.session() as s:
            r = s.execute(
                select(Row.user_id, Row.csrf, Row.created, Row.last_seen).where(Row.id == key)
            ).first()
            if r is None:
                self._forget(key)
                return None
            user_id, csrf, created, last_seen = r
            if now - last_seen > self.idle or now - created > self.max_age:
                s.execute(delete(Row).where(Row.id == key))
                self._forget(key)
                return None
            if now - last_seen >= self.touch:
                s.execute(update(Row).where(Row.id == key).values(last_seen=now))
                last_seen = now
        return WebSession(
            user_id=user_id, csrf=csrf, created=created, last_seen=last_seen, data=self._extras(key)
        )

    def delete(self, token: str | None) -> None:
        if token and len(token) <= 100:
            key = self._key(token)
            with self.store.session() as s:
                s.execute(delete(Row).where(Row.id == key))
            self._forget(key)

    def drop_user(self, user_id: int) -> None:
        with self.store.session() as s:
            keys = s.execute(select(Row.id).where(Row.user_id == user_id)).scalars().all()
            s.execute(delete(Row).where(Row.user_id == user_id))
        self._forget(*keys)

    def _prune(self, now: float) -> None:
        """Expired sessions, and the oldest anonymous ones beyond ``max_anonymous``."""
        with self.store.session() as s:
            s.execute(
                delete(Row).where((Row.last_seen < now - self.idle) | (Row.created < now - self.max_age))
            )
            n_anon = s.execute(select(func.count()).where(Row.user_id.is_(None))).scalar_one()
            if n_anon > self.max_anonymous:
                old = (
                    select(Row.id)
                    .where(Row.user_id.is_(None))
                    .order_by(Row.last_seen)
                    .limit(n_anon - self.max_anonymous)
                )
                s.execute(delete(Row).where(Row.id.in_(old)))

    def __len__(self) -> int:
        with self.store.session() as s:
            return s.execute(select(func.count()).select_from(Row)).scalar_one()
