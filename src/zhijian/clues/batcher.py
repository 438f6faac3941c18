"""Group commit for clue submissions.

Every submission needs a write transaction, and SQLite commits one at a time (each commit waits for
the disk). Under load the web workers hand their already-validated, already-hashed clues to one
writer thread, which stores whatever is waiting in a single transaction and then releases every
waiting request. A request returns only after its clue is committed, so an accepted receipt always
resolves. If a batch fails, its clues are retried one by one so one bad clue cannot sink the others.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any

from zhijian.clues import service


class SubmitBatcher:
    def __init__(self, ctx: Any, max_batch: int = 64):
        self.ctx = ctx  # web.common.WebContext: ws + write()
        self.max_batch = max_batch
        self._q: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(
        self, nc: service.NewClue, images: list, receipt_hash: tuple[str, str, str], timeout: float = 120
    ) -> str:
        self._ensure()
        fut: Future = Future()
        self._q.put((nc, images, receipt_hash, fut))
        return fut.result(timeout=timeout)

    def _ensure(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._start_lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._loop, name="clue-writer", daemon=True)
                    self._thread.start()

    def _store(self, batch: list) -> list[str]:
        ws = self.ctx.ws
        with self.ctx.write() as s:
            return [
                cid
                for cid, _r in service.submit_many(
                    s, ws.attachments, [(nc, imgs, rh) for nc, imgs, rh, _f in batch]
                )
            ]

    def _loop(self) -> None:
        while True:
            batch = [self._q.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._q.get_nowait())
                except queue.Empty:
                    break
            try:
                ids = self._store(batch)
            except Exception:  # noqa: BLE001 - isolate the failing clue below
                for item in batch:
                    try:
                        item[3].set_result(self._store([item])[0])
                    except Exception as e:  # noqa: BLE001 - handed to the waiting request
                        item[3].set_exception(e)
                continue
            for item, cid in zip(batch, ids, strict=True):
                item[3].set_result(cid)
