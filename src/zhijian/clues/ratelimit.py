"""In-memory rate limits of the clue channel.

Clients are keyed by HMAC-SHA256 of their address under a key that lives only in this process's
memory, so not even the process memory holds a list of raw addresses; nothing is written to disk
or logs, and a restart forgets everything. Under ``zhijian serve --workers N`` each process keeps its
own counters (nothing about clients is shared or stored), so a client may get up to N times the
per-client allowance; the per-system limit likewise applies per process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque


class ClueLimiter:
    def __init__(self, limits: dict[str, tuple[int, float]] | None = None):
        """``limits``: name -> (max events, window seconds); a name missing or with max ≤ 0 is unlimited."""
        self.limits = dict(limits or {})
        self._key = secrets.token_bytes(32)
        self._ev: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_policy(cls) -> ClueLimiter:
        from zhijian.clues.receipts import policy

        r = policy()["rate"]
        return cls(
            {
                "submit": (r["submit_per_client_hour"], 3600.0),
                "submit_global": (r["submit_global_hour"], 3600.0),
                "lookup_fail": (r["lookup_failures_per_client_hour"], 3600.0),
                "message": (r["messages_per_client_hour"], 3600.0),
            }
        )

    def client(self, host: str | None) -> str:
        return hmac.new(self._key, (host or "-").encode(), hashlib.sha256).hexdigest()[:24]

    def _q(self, name: str, key: str, now: float) -> deque[float] | None:
        lim = self.limits.get(name)
        if not lim or lim[0] <= 0:
            return None
        q = self._ev.setdefault((name, key), deque())
        while q and now - q[0] > lim[1]:
            q.popleft()
        return q

    def allowed(self, name: str, key: str = "*") -> bool:
        now = time.monotonic()
        with self._lock:
            q = self._q(name, key, now)
            return q is None or len(q) < self.limits[name][0]

    def hit(self, name: str, key: str = "*") -> bool:
        """Count one event; False (and not counted) when the limit is reached."""
        now = time.monotonic()
        with self._lock:
            if len(self._ev) > 200_000:
                self._ev.clear()
            q = self._q(name, key, now)
            if q is None:
                return True
            if len(q) >= self.limits[name][0]:
                return False
            q.append(now)
            return True
