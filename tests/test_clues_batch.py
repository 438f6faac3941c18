"""Group commit of clue submissions: many concurrent submitters, every receipt committed and
resolvable when submit() returns; a failing clue does not sink the others in its batch."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from zhijian.clues import service
from zhijian.clues.batcher import SubmitBatcher
from zhijian.store.models import Clue
from zhijian.web.common import WebContext


class _Ctx:
    def __init__(self, ws):
        self.ws = ws
        self.write_lock = threading.Lock()

    write = WebContext.write


def _nc(i):
    return service.validate(
        service.NewClue(
            category="ZOMBIE",
            object_type="group",
            object_name=f"群{i % 7}",
            unit="",
            description=f"第 {i} 条：三个月没人说话",
        )
    )


def test_concurrent_submissions_all_committed(workspace):
    b = SubmitBatcher(_Ctx(workspace), max_batch=16)
    receipts, errors = [], []
    lock = threading.Lock()

    def worker(k):
        for j in range(6):
            i = k * 6 + j
            rh = service.make_receipt(workspace.root)
            try:
                b.submit(_nc(i), [], rh)
            except Exception as e:  # noqa: BLE001
                errors.append(e)
                continue
            with workspace.store.session() as s:  # committed before submit() returned
                assert service.find(s, workspace.root, rh[0]) is not None
            with lock:
                receipts.append(rh[0])

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(20)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == [] and len(set(receipts)) == 120
    with workspace.store.session() as s:
        assert s.execute(select(func.count()).select_from(Clue)).scalar_one() == 120
        # linking still works inside batches: 7 object names -> 7 matters
        assert s.execute(select(func.count(func.distinct(Clue.matter_id)))).scalar_one() == 7


def test_bad_clue_isolated(workspace):
    b = SubmitBatcher(_Ctx(workspace))
    good = service.make_receipt(workspace.root)
    bad = service.make_receipt(workspace.root)
    b.submit(_nc(1), [], good)
    with pytest.raises(Exception):  # noqa: B017 - any storage error is handed back to the caller
        b.submit(
            service.NewClue(
                category="ZOMBIE", object_type="group", object_name="x", unit="", description=None
            ),
            [],
            bad,
        )  # NOT NULL violated
    with workspace.store.session() as s:
        assert service.find(s, workspace.root, good[0]) is not None
