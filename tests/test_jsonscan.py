"""The byte walker (zhijian.ingest.jsonscan) against Python's JSON parser: the end of every container
found by the vectorised scan (in tiny chunks, so runs of backslashes and strings cross chunk
borders) and by the indentation search, on random documents full of quotes, backslashes and
brackets inside strings; the outer members and items; and NotWalkable for what is not JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhijian.ingest.jsonscan import ByteDoc, NotWalkable

_TEXT = st.text(alphabet=st.sampled_from(list('ab"\\[]{},: \n\t\u4e2d\U0001f44d')), max_size=12)
_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=25,
)


def _structural(text: str) -> set[int]:
    """Offsets of the brackets outside strings (a plain state machine)."""
    pos, in_str, esc = set(), False, False
    for i, ch in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            pos.add(i)
    return pos


@settings(max_examples=300, deadline=None)
@given(
    value=st.lists(_VALUES, max_size=6) | st.dictionaries(_TEXT, _VALUES, max_size=6),
    indent=st.sampled_from([None, 0, 1, 4]),
    chunk=st.integers(1, 9),
)
def test_close_and_pretty_close_match_the_parser(value, indent, chunk):
    text = json.dumps(value, indent=indent)  # ASCII: character offsets are byte offsets
    buf = text.encode()
    doc = ByteDoc(buf, chunk=chunk)
    dec = json.JSONDecoder()
    for i in sorted(_structural(text)):
        end = dec.raw_decode(text, i)[1]
        assert doc.close(i) == end
        guess = doc.pretty_close(i)
        if indent is not None and indent > 0 and text[i + 1 : i + 2] == "\n":
            assert guess == end
        elif indent is None:
            assert guess is None


def test_pretty_close_guess_is_rejected_by_a_parser_when_the_layout_lies():
    text = '{"a": [\n  {"b": 1}\n]}\n]'  # the second "]" starts a line indented as the opener's
    buf = text.encode()
    doc = ByteDoc(buf)
    p = text.index("[")
    assert doc.close(p) == text.index("]") + 1
    # the indentation search finds the first "]" that starts an unindented line: here it is right
    assert doc.pretty_close(p) == doc.close(p)
    lie = '{"a": [\n{"b": [\n]}, 2\n]}'  # an inner array closed at the outer one's indentation
    d2 = ByteDoc(lie.encode())
    p2 = lie.index("[")
    guess = d2.pretty_close(p2)
    assert guess != d2.close(p2)
    with pytest.raises(ValueError):
        json.loads(lie[p2:guess])


def test_members_items_and_values():
    text = json.dumps({"name": 'x"y', "n": [1, {"a": "]"}], "z": None, "m": [3, 4]}, indent=1)
    doc = ByteDoc(text.encode(), chunk=3)
    got = {}
    it = doc.members(0)
    for key, v in it:
        if key == "m":
            items = doc.items(v)
            vals = []
            for v2 in items:
                x, items.end = doc.value(v2)
                vals.append(x)
            got[key] = vals
            it.end = items.end
        else:
            got[key], it.end = doc.value(v)
    assert got == json.loads(text)
    assert doc.ws(it.end) == len(text)


@pytest.mark.parametrize(
    "text", ['{"a" 1}', '{"a": 1 "b": 2}', '{"a": [1, 2}', '{"a": tru}', '{"a": "x', "[1, 2", '{"a": "\\x"}']
)
def test_not_json_is_not_walkable(text):
    doc = ByteDoc(text.encode(), chunk=2)
    with pytest.raises(NotWalkable):
        if text.startswith("["):
            doc.close(0)
        else:
            it = doc.members(0)
            for _key, v in it:
                it.end = doc.skip(v)
