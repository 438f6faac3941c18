"""Per-process caches of page data, keyed by everything the data depends on.

Most page data is invariant between writes: the dashboard KPIs, the lists, a finding's detail only
change when something is committed to the store or when an import / ``zhijian analyze`` replaces
lake files. So every cached value is stored under a key that contains

- the **store version** (:meth:`Versions.store`): on SQLite ``PRAGMA data_version`` read on a
  dedicated connection that never writes — SQLite changes it whenever *any* other connection, in
  this or another process (another uvicorn worker, the CLI), commits (https://sqlite.org/pragma.html#pragma_data_version);
  elsewhere (PostgreSQL) this process's own write counter plus a time bucket of ``STORE_TTL``
  seconds, so writes by other processes show up within that time;
- the **lake version** of the datasets read (:meth:`Versions.lake`): (inode, mtime) of each dataset
  folder — ``Lake.replace`` swaps the folder (new inode) and an import adds a batch folder (new
  mtime); a remote lake falls back to the list of its files;
- the principal's **scope** (:func:`scope_key`) and the day (overdue flags depend on it).

A stale entry is therefore never hit again; entries are evicted least-recently-used. Concurrent
requests for the same missing key compute it once (the others wait for the result).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

STORE_TTL = 5.0  # seconds; only where the store cannot tell us about other processes' commits
MAX_ENTRIES = 4096


def scope_key(p: Any) -> tuple:
    """What a principal's view depends on: admin and supervisor share the whole tree."""
    if p.whole_tree:
        return ("*",)
    return (p.role, p.unit_id, p.unit_path, p.person_id)


class Versions:
    def __init__(self, ws: Any):
        self.ws = ws
        self.gen = 0  # this process's committed writes (WebContext.write)
        self._lock = threading.Lock()
        self._con: sqlite3.Connection | None = None
        url = ws.store.engine.url
        self._sqlite_path = (
            url.database
            if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
            else None
        )

    def bump(self) -> None:
        with self._lock:
            self.gen += 1

    def store(self) -> tuple:
        if self._sqlite_path is None:
            return (self.gen, int(time.monotonic() // STORE_TTL))
        with self._lock:
            try:
                if self._con is None:
                    self._con = sqlite3.connect(self._sqlite_path, check_same_thread=False, timeout=30)
                v = self._con.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error:
                self._con = None
                return (self.gen, time.monotonic())  # never a hit
            return (self.gen, v)

    def lake(self, *names: str) -> tuple:
        root = self.ws.lake_root
        if "://" in str(root):
            lake = self.ws.lake()
            return tuple(tuple(str(f) for f in lake.files(n)) for n in names)
        out = []
        for n in names:
            try:
                st = os.stat(os.path.join(root, n))
                out.append((st.st_ino, st.st_mtime_ns))
            except FileNotFoundError:
                out.append(None)
        return tuple(out)

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None


class ResultCache:
    """A bounded LRU of computed values with single-flight computation per key."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._d: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                self.hits += 1
                return self._d[key]
            flight = self._inflight.setdefault(key, threading.Lock())
        with flight:
            with self._lock:
                if key in self._d:
                    self.hits += 1
                    return self._d[key]
            try:
                val = compute()
            except BaseException:
                with self._lock:
                    self._inflight.pop(key, None)
                raise
            with self._lock:
                self.misses += 1
                self._d[key] = val
                while len(self._d) > self.max_entries:
                    self._d.popitem(last=False)
                self._inflight.pop(key, None)
            return val

    def clear(self) -> None:
        with self._lock:
            self._d.clear()

    def __len__(self) -> int:
        return len(self._d)


def today_key() -> str:
    return dt.date.today().isoformat()
