"""One repair for text no store can hold (NUL, lone UTF-16 surrogates): what a form stores is what an
import of the same text stores, U+FFFD for half an emoji, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

import web_support
from zhijian.clues import service
from zhijian.storable import storable_text, without_lone_surrogates
from zhijian.store.models import Clue


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("群里每晚要求回复收到", "群里每晚要求回复收到"),
        ("half \ud83d emoji", "half \ufffd emoji"),
        ("\udc00lead and tail\ud83d", "\ufffdlead and tail\ufffd"),
        ("pair \ud83d\ude00 as two code points", "pair \U0001f600 as two code points"),
        ("nul\x00gone", "nulgone"),
        ("", ""),
        (None, ""),
    ],
)
def test_storable_text(raw, stored):
    assert storable_text(raw) == stored
    storable_text(raw).encode("utf-8")  # raises UnicodeEncodeError on a lone surrogate
    if raw:
        assert storable_text(raw) == without_lone_surrogates(raw.replace("\x00", ""))


@pytest.mark.parametrize("backend", web_support.BACKENDS)
def test_a_clue_with_half_an_emoji_is_stored_like_an_import(tmp_path, backend):
    county = web_support.make_county(backend, tmp_path / "ws")
    try:
        ws = county.ws
        nc = service.validate(
            service.NewClue(
                category="GROUP_ROLLCALL_INSTANT",
                object_type="group",
                object_name="东关镇工作群\ud83d",
                unit="东关镇",
                description="群里每晚要求回复收到\ud83d\x00",
            )
        )
        with ws.store.session() as s:
            cid, _ = service.submit(s, ws.root, ws.attachments, nc, [])
        with ws.store.session() as s:
            c = s.get(Clue, cid)
            assert c.description == "群里每晚要求回复收到\ufffd"
            assert c.object_name == "东关镇工作群\ufffd"
    finally:
        county.ws.close()
        if county.pg_schema:
            web_support.drop_pg_schema(county.pg_schema)
