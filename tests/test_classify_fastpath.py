"""The shortcuts of the compiled rule pack change nothing: gates, the per-text evaluation and the
cross-join unpivot in ``analysis/classify.py`` must give exactly what evaluating every rule on every
row of every (ungated) view gives."""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from zhijian.analysis.classify import NORMAL_RULE_ID, classify, flags
from zhijian.rules.compiler import _needs_normalising, base_text, rule_condition
from zhijian.rules.pack import builtin_pack, fullwidth_map

DATA = Path(__file__).parent / "data"


def _texts() -> list[str]:
    out = []
    for f in sorted(DATA.glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("text"), str):
                out.append(obj["text"])
    # what the shortcuts key on: case, full-width forms, trailing white space, quotes, 回覆, repeats
    extra = []
    for x in out[:400]:
        extra += [
            x.upper(),
            x + " \n",
            "Ａ" + x,
            x.replace("回复", "回覆"),
            f"「张三：{x}」\n- - - - -\n收到",
            x,
        ]
    return out + extra + ["", "ΣΊΣΥΦΟΣ 收到", "İ", "收到\u3000", "1️⃣", "ＯＫ"]


def _table() -> pa.Table:
    texts = _texts()
    n = len(texts)
    kinds = ["text", "solitaire", "system", "image", None]
    return pa.table(
        {
            "message_id": [f"m{i:05d}" for i in range(n)],
            "text": [None if i % 211 == 7 else t for i, t in enumerate(texts)],
            "kind": [kinds[i % 5] for i in range(n)],
            "at_all": [(None, True, False)[i % 3] for i in range(n)],
        }
    )


def _naive(messages, pack):
    """Every rule of every label on its fully masked view, no gates (the definition in pack.py)."""
    null = ibis.null().cast("string")
    t = messages.mutate(_v_base=base_text(messages, pack))
    masked = {}
    for name in pack.views()[1:]:
        v = t._v_base
        for m in pack.masks:
            if m.view == name:
                v = v.re_replace(m.compiled, m.replace)
        masked[f"_v_{name}"] = v
    t = t.mutate(**masked)
    rids = {}
    for lab in pack.labels:
        rules = pack.label_rules(lab)
        branches = [
            (rule_condition(r, t[f"_v_{r.view}"], t, pack.skip_kinds), ibis.literal(r.id)) for r in rules
        ]
        rids[lab] = ibis.cases(*branches, else_=null) if branches else null
    urgent = ibis.literal(False)
    for r in pack.rules:
        if r.label == "urgent":
            urgent = urgent | rule_condition(r, t[f"_v_{r.view}"], t, ())
    t = t.mutate(__urgent=urgent.fill_null(False), **rids)
    spans = {}
    for lab in pack.labels:
        br = [(t[lab] == r.id, t[f"_v_{r.view}"].re_extract(r.compiled, 0)) for r in pack.label_rules(lab)]
        spans[f"{lab}__span"] = ibis.cases(*br, else_=null) if br else null
    return t.select("message_id", "__urgent", *pack.labels, **spans)


def test_classify_and_flags_equal_the_ungated_definition():
    pack = builtin_pack()
    data = _table()
    con = ibis.duckdb.connect()
    wide = con.to_pyarrow(_naive(ibis.memtable(data), pack)).to_pylist()
    want = set()
    for r in wide:
        fired = [lab for lab in pack.labels if r[lab] is not None]
        for lab in fired:
            want.add((r["message_id"], lab, r[lab], r[f"{lab}__span"]))
        if not fired:
            want.add((r["message_id"], "normal", NORMAL_RULE_ID, None))
    got = con.to_pyarrow(classify(ibis.memtable(data), pack)).to_pylist()
    got_set = {(r["message_id"], r["label"], r["rule_id"], r["span"]) for r in got}
    assert len(got) == len(got_set)
    assert got_set == want
    assert len({x[1] for x in want}) == len(pack.labels) + 1  # the data exercises every label
    fl = con.to_pyarrow(flags(ibis.memtable(data), pack)).to_pylist()
    assert {(r["message_id"], r["urgent"]) for r in fl} == {(r["message_id"], r["__urgent"]) for r in wide}
    assert any(r["urgent"] for r in fl)


def test_normalisation_guard_finds_every_character_duckdb_lowercases():
    """Rows the guard skips keep their text as is; that is only right if every character whose lower
    case differs in the engine is in the guard's class (checked over all of Unicode on DuckDB)."""
    import duckdb

    pack = builtin_pack()
    frm = pack.trad_map[0] + fullwidth_map()[0]
    rx = _needs_normalising(frm)
    chars = pa.table({"c": [chr(i) for i in range(1, 0x110000) if not 0xD800 <= i <= 0xDFFF]})
    con = duckdb.connect()
    con.register("chars", chars)
    missed = con.execute(
        "SELECT count(*), min(unicode(c)) FROM chars WHERE lower(c) <> c AND NOT regexp_matches(c, ?)", [rx]
    ).fetchone()
    assert missed[0] == 0, f"first missed code point: U+{missed[1]:04X}"


@pytest.mark.parametrize("text", ["收到 ", "收到\n", "收到\t", "ABC收到", "收到"])
def test_normalisation_guard_on_trailing_space_and_case(text):
    pack = builtin_pack()
    t = ibis.memtable(pa.table({"text": [text]}))
    got = ibis.duckdb.connect().to_pyarrow(t.select(b=base_text(t, pack)))["b"][0].as_py()
    assert got == text.lower().rstrip(" \t\n")


def test_mask_segments_cover_every_mask_in_order():
    from zhijian.rules.compiler import SEGMENT_CHARS, mask_segments

    pack = builtin_pack()
    for view in pack.views()[1:]:
        masks = [m for m in pack.masks if m.view == view]
        segs = mask_segments(masks)
        assert [m.id for s in segs for m in s] == [m.id for m in masks]
        for s in segs:
            assert len(s) == 1 or sum(len(m.compiled) for m in s) <= SEGMENT_CHARS
    assert any(len(s) > 1 for s in mask_segments([m for m in pack.masks if m.view == "demand"]))


@pytest.mark.parametrize("chars", [1, 10**9])
def test_mask_segmentation_does_not_change_labels(monkeypatch, chars):
    """Every cut of the masks into segments gives the same views: one mask per segment, and all
    masks of a view in one segment (its first mask rewrites text that later ones search, e.g.
    回覆 → 回复), label exactly as the default cut."""
    import zhijian.rules.compiler as compiler

    pack = builtin_pack()
    data = _table()
    con = ibis.duckdb.connect()
    want = con.to_pyarrow(classify(ibis.memtable(data), pack)).to_pylist()
    monkeypatch.setattr(compiler, "SEGMENT_CHARS", chars)
    got = con.to_pyarrow(classify(ibis.memtable(data), pack)).to_pylist()
    key = lambda r: (r["message_id"], r["label"], r["rule_id"], r["span"] or "")  # noqa: E731
    assert sorted(got, key=key) == sorted(want, key=key)
