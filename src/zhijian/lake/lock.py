"""The lake's import lock: one import at a time per workspace.

An import renames its staged batches into the lake and then commits the store; the next import first
removes batch folders that have no finished store row (:func:`zhijian.ingest.run.reconcile`, for a
process killed between those two steps). Two imports running at once would break that: the second
one's reconcile could remove the first one's batch in the moment between its rename and its commit,
and the first would then commit a store row for data that is gone. So an import holds this lock for
its whole run, reconcile included, and a second import waits for it. A backup holds it too, so that
its store dump and its copy of the lake show the same imports.

The lock is an advisory lock on ``lake/.import.lock`` (``flock`` on POSIX, ``msvcrt.locking`` on
Windows). The operating system releases it when the holding process ends, also on ``kill -9``, so a
crashed import never leaves the workspace locked.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".import.lock"


@contextmanager
def import_lock(lake_root: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the workspace's import lock for the block; ``on_wait()`` is called once when another
    process holds it (the call then blocks until that process releases it)."""
    root = Path(lake_root)
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            if on_wait is not None:
                on_wait()
            _lock(fd)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _lock(fd: int) -> None:
        while not _try_lock(fd):
            time.sleep(0.2)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
