"""Receipts: ≥ 53 bits from ``secrets``, shown once, stored only as an Argon2id hash plus a short
keyed lookup prefix; lookup reads only the rows with that prefix."""

from __future__ import annotations

import collections
import math

from sqlalchemy import inspect, select, text

from zhijian.clues import receipts, service
from zhijian.store.models import Clue


def _new(i=0):
    return service.NewClue(
        category="ZOMBIE",
        object_type="group",
        object_name=f"群{i}",
        unit="",
        description="这个群三个月没人说话了",
    )


def test_receipt_entropy_and_shape():
    assert receipts.policy()["receipt"]["digits"] >= 16
    assert receipts.entropy_bits() >= 53
    rs = [receipts.new_receipt() for _ in range(5000)]
    assert all(len(r) == 16 and r.isdigit() for r in rs)
    assert len(set(rs)) == len(rs)
    counts = collections.Counter("".join(rs))
    expected = len(rs) * 16 / 10
    chi2 = sum((counts[str(d)] - expected) ** 2 / expected for d in range(10))
    assert chi2 < 40  # 9 d.o.f.: p < 1e-5 beyond this; a biased generator fails
    assert any(r[0] == "0" for r in rs)  # leading zeros kept (zero-padded, not int-formatted)
    assert math.log2(10**16) > 53
    r20 = receipts.new_receipt(20)  # policy.clues.receipt_digits may ask for more digits
    assert len(r20) == 20 and receipts.normalise(r20) == r20 and receipts.entropy_bits(20) > 66
    assert receipts.normalise("1234 5678 9012 345") is None  # 15 digits: not a receipt


def test_receipt_not_stored_in_clear(workspace):
    ws = workspace
    with ws.store.session() as s:
        _cid, receipt = service.submit(s, ws.root, ws.attachments, service.validate(_new()))
    with ws.store.engine.connect() as con:
        dump = "\n".join(
            repr(tuple(r))
            for t in inspect(con).get_table_names()
            for r in con.execute(text(f'SELECT * FROM "{t}"'))
        )
    assert receipt not in dump
    assert receipts.formatted(receipt) not in dump
    raw = b"".join(p.read_bytes() for p in ws.root.rglob("*") if p.is_file())
    assert receipt.encode() not in raw
    with ws.store.session() as s:
        c = s.execute(select(Clue)).scalar_one()
        assert c.receipt_hash.startswith("$argon2id$")
        assert len(c.receipt_lookup) == receipts.policy()["receipt"]["lookup_hex_chars"]
        assert service.find(s, ws.root, receipt).id == c.id
        assert service.find(s, ws.root, receipts.formatted(receipt)).id == c.id  # "1234 5678 …" as typed
        wrong = str((int(receipt) + 1) % 10**16).zfill(16)
        assert service.find(s, ws.root, wrong) is None
        assert service.find(s, ws.root, "abc") is None
    key = ws.root / receipts.KEY_FILE
    assert key.exists() and (key.stat().st_mode & 0o077) == 0


def test_lookup_verifies_only_the_prefix_bucket(workspace, monkeypatch):
    ws = workspace
    made = []
    with ws.store.session() as s:
        for i in range(40):
            made.append(service.submit(s, ws.root, ws.attachments, service.validate(_new(i)))[1])
    calls = []
    real = receipts.verify

    def counting(h, r):
        calls.append(h)
        return real(h, r)

    monkeypatch.setattr(receipts, "verify", counting)
    with ws.store.session() as s:
        assert service.find(s, ws.root, made[17]) is not None
    assert 1 <= len(calls) <= 2  # 40 clues, 2^20 buckets: not a scan of all hashes
