"""Compile a rule pack into Ibis expressions over a messages table.

Everything here builds engine expressions; nothing loops over messages in Python. The same
expressions run on DuckDB and on PySpark (tests/test_rules_engines.py compares them).

Cost control (research/engines.md; profile in bench/detect_labels.py): a regex search costs one
pass over the text whatever the pattern, so the work per row is counted in passes, and every
shortcut below gives exactly the value of the full computation (tests/test_classify_fastpath.py
compares with the ungated definition):

- normalisation (``translate``, ``lower``, trailing white space) only runs on texts that contain a
  character it can change — one character-class search (``_needs_normalising``);
- a masked view is computed only where its gate (``view_gate``) lets a rule fire, and its masks only
  where a literal that one of them needs occurs; they run in segments (``mask_segments``), each
  searched as one alternation first, so a text that no mask changes costs one search per segment
  instead of one regex call per mask (``view_table``);
- for every label, one alternation of the literals its rules need (``factors.gate_regex``) is
  searched first, and only on non-empty views; the ordered ``CASE`` that picks the first firing
  rule, and the span extraction, only run on rows that pass it; a rule's cheap context conditions
  are tested before its patterns, and a rule whose matches all contain one of a few literals
  (``rule_literals``) tests them with ``contains`` before its regex search.

DuckDB's ``translate`` costs O(size of the mapping) per row, so the traditional→simplified mapping
is also restricted to characters the rules use.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from zhijian.rules.factors import gate_regex as _gate_regex
from zhijian.rules.factors import minimal, required_factors
from zhijian.rules.pack import Pack, Rule, fullwidth_map


@lru_cache(maxsize=4096)
def _gate_cached(patterns: tuple[str, ...]) -> str | None:
    return _gate_regex(list(patterns))


def gate_regex(patterns: list[str]) -> str | None:
    """``factors.gate_regex``, memoised: parsing the patterns took most of the time of building the
    expressions (what a one-line ``zhijian check`` waits for)."""
    return _gate_cached(tuple(patterns))


#: a rule whose matches all contain one of at most this many literals is first tested with ``contains``
_RULE_LITERALS_MAX = 4


@lru_cache(maxsize=4096)
def rule_literals(pattern: str) -> tuple[str, ...] | None:
    """Literals one of which occurs in every match of ``pattern`` (at most ``_RULE_LITERALS_MAX``), or None.

    A substring test per literal costs a fraction of a regex search; on a row without any of them the
    search cannot match, so testing them first gives the same value (the label prefilter does the same
    for all the rules of a label at once, with one alternation)."""
    try:
        f = required_factors(pattern)
    except Exception:  # noqa: BLE001 - an unparsable pattern simply gets no shortcut
        return None
    if not f or "" in f:
        return None
    f = minimal(f)
    return tuple(sorted(f)) if len(f) <= _RULE_LITERALS_MAX else None


def _class_of(chars: str) -> str:
    """A regex character class holding exactly ``chars`` (escaped for the portable subset)."""
    out = []
    for ch in sorted(set(chars)):
        out.append("\\" + ch if ch in "\\]^-[" else ch)
    return "[" + "".join(out) + "]"


@lru_cache(maxsize=1)
def _cased_ranges() -> str:
    """Character-class body (ranges of literal characters) covering every character whose lower
    case differs from it, with gaps of up to 64 code points closed so that a newer Unicode table in
    an engine (DuckDB's utf8proc, Java) still falls inside; a superset is harmless (it only routes a
    row through the full normalisation). tests/test_classify_fastpath.py checks it against DuckDB."""
    # Cased letters all lie in planes 0 and 1 (planes 2+ hold CJK ideographs and private use);
    # the test scans all of Unicode.
    cps = [c for c in range(0x20000) if not 0xD800 <= c <= 0xDFFF and chr(c).lower() != chr(c)]
    ranges: list[list[int]] = []
    for c in cps:
        if ranges and c - ranges[-1][1] <= 64:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges)


def _needs_normalising(frm: str) -> str:
    """Regex that finds every text the normalisation can change: a character to translate, a
    character with a lower case, or trailing white space. Texts without one (most chat messages)
    are their own normalised form, which spares ``translate``, ``lower`` and the trailing-space
    ``re_replace`` — three full passes over the text — on those rows."""
    body = _class_of(frm)[1:-1] if frm else ""
    return f"[{body}{_cased_ranges()}]|[ \t\n]$"


def base_text(t, pack: Pack):
    """The normalised text: traditional → simplified, full-width letters/digits → ASCII, lower case."""
    import ibis

    text = t.text.fill_null("") if "text" in t.columns else ibis.literal("")
    frm, to = pack.trad_map
    if pack.fullwidth_alnum:
        f2, t2 = fullwidth_map()
        frm, to = frm + f2, to + t2
    norm = text
    if frm:
        norm = ibis.ifelse(norm.re_search(_class_of(frm)), norm.translate(frm, to), norm)
    # Trailing white space removed: Java's and Python's ``$`` also match before a final newline,
    # RE2's does not; without one the three agree.
    norm = norm.lower().re_replace("[ \t\n]+$", "")
    # Exactly the same value on every row: rows the guard skips are unchanged by all three steps.
    return ibis.ifelse(text.re_search(_needs_normalising(frm)), norm, text)


#: A view whose rules all carry ``max_len`` (short replies) is only computed for messages whose
#: normalised text is at most this many characters (its masks may strip long quotes first).
SHORT_VIEW_GATE = 400


def view_gate(name: str, base, pack: Pack):
    """Boolean expression: can any rule on view ``name`` fire on this row?

    Masks only blank or rewrite text, so a rule can match a masked view only if a literal its
    pattern requires (``factors.required_factors``) — or one a rewriting mask requires — already
    occurs in the normalised text. One literal alternation searched per row spares every mask and
    rule on the rows that cannot match (most chat messages). Views whose rules all have ``max_len``
    are gated on the text length instead (their masks delete text, e.g. quoted messages).
    """
    rules = [r for r in pack.rules if r.view == name]
    if not rules:
        return None
    if all(r.max_len is not None for r in rules):
        return base.length() <= max(SHORT_VIEW_GATE, max(r.max_len for r in rules))
    if any(m.view == name and m.replace == "" for m in pack.masks):
        # a deleting mask can join two pieces of text into a literal a rule needs ("收X到" -> "收到"),
        # so no literal of the unmasked text decides whether a rule can fire (the built-in demand view
        # has none; a workspace pack may)
        return None
    pats = [r.compiled for r in rules]
    pats += [m.compiled for m in pack.masks if m.view == name and m.replace not in ("。", " ")]
    g = gate_regex(pats)
    return None if g is None else base.re_search(g)


#: The masks of a view are searched for in consecutive segments of at most this many pattern
#: characters (a longer mask is a segment of its own); see ``mask_segments``.
SEGMENT_CHARS = 1200


def mask_segments(masks) -> list[list[Any]]:
    """The masks of a view (in pack order) cut into consecutive segments, each searched as one
    alternation of its patterns before any of its masks runs (``view_table``).

    The cut is a cost heuristic only (every cut gives exactly the same view): one search over the
    union of a few short patterns costs about as much as one of them on chat-length text (RE2's DFA),
    whereas a union with a very long pattern (``ctx.criticism``, over a thousand characters) made
    the DFA thrash on the demo county's notices (measured: 2.7 s vs 0.6 s for the separate searches
    on 49k texts). Segments are kept under ``SEGMENT_CHARS`` characters of pattern."""
    segs: list[list[Any]] = []
    size = 0
    for m in masks:
        n = len(m.compiled)
        if segs and size + n <= SEGMENT_CHARS:
            segs[-1].append(m)
            size += n
        else:
            segs.append([m])
            size = n
    return segs


def view_table(t, pack: Pack, keep: list[str], views: list[str] | None = None):
    """``t`` reduced to ``keep`` plus one column ``_v_<view>`` per view the pack uses (or per view
    in ``views``; ``base`` always).

    A masked view is the empty string on rows where its gate (``view_gate``) is false: no rule on
    that view can fire there. The masks run where that gate holds, segment by segment
    (``mask_segments``), and a segment's masks only on the rows where one alternation of the
    segment's patterns matches its input text. That is exact: if no pattern of the segment matches
    the text, its first mask leaves the text as it is, and so the next one, and so on. Most chat
    messages match no mask at all: one search per segment replaces one regex call per mask (a call
    costs about as much on a text it cannot change as on one it does).

    Each segment is one ``CASE`` in its own projection, so that the masked text is referenced by
    name: an expression that used its input more than once would grow exponentially with the number
    of segments when inlined (the engines keep apart projections whose columns are used twice).
    Within a segment each mask references its input once.
    """
    import ibis

    base = base_text(t, pack)
    names = [n for n in pack.views() if n != "base" and (views is None or n in views)]
    cur = t.select(*[t[c] for c in keep], _v_base=base)
    if not names:
        return cur
    # 1. the gates of each view, on the normalised text
    cols: dict[str, Any] = {}
    for k, name in enumerate(names):
        b = cur._v_base
        masks = [m for m in pack.masks if m.view == name]
        g = view_gate(name, b, pack)
        on = ibis.literal(True) if g is None else g
        mg = gate_regex([m.compiled for m in masks]) if masks else None
        if mg is not None:
            # No literal that some mask needs occurs in the text: no mask can change it.
            on = on & b.re_search(mg)
        cols[f"_g{k}"] = ibis.literal(True) if g is None else g
        cols[f"_a{k}"] = on
        cols[f"_w{k}"] = b
    cur = cur.mutate(**cols)
    # 2. the masks, one projection per segment
    for k, name in enumerate(names):
        for seg in mask_segments([m for m in pack.masks if m.view == name]):
            w = cur[f"_w{k}"]
            v = w
            for m in seg:
                v = v.re_replace(m.compiled, m.replace)
            cond = cur[f"_a{k}"]
            if len(seg) > 1:
                cond = cond & w.re_search(_alternation([m.compiled for m in seg]))
            cur = cur.mutate(**{f"_w{k}": ibis.ifelse(cond, v, w)})
    out = {
        f"_v_{name}": ibis.ifelse(cur[f"_g{k}"], cur[f"_w{k}"], ibis.literal(""))
        for k, name in enumerate(names)
    }
    return cur.select(*[cur[c] for c in keep], _v_base=cur._v_base, **out)


def _alternation(patterns: list[str]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


def rule_condition(r: Rule, view, t, skip_kinds: tuple[str, ...]):
    """Boolean expression: does rule ``r`` fire on the row?

    The cheap context conditions come first: AND is commutative (also with NULLs), and the
    engines skip the regex searches on the rows an earlier conjunct already rejected."""
    conds = []
    if "kind" in t.columns:
        if r.kinds is not None:
            conds.append(t.kind.isin(list(r.kinds)))
        elif skip_kinds:
            conds.append(~t.kind.fill_null("text").isin(list(skip_kinds)))
    if r.at_all is not None and "at_all" in t.columns:
        conds.append(t.at_all.fill_null(False) == r.at_all)
    if r.max_len is not None:
        conds.append(view.length() <= r.max_len)
    lits = rule_literals(r.compiled)
    if lits:
        has = view.contains(lits[0])
        for lit in lits[1:]:
            has = has | view.contains(lit)
        conds.append(has)
    conds.append(view.re_search(r.compiled))
    conds += [~view.re_search(u) for u in r.compiled_unless]
    cond = conds[0]
    for c in conds[1:]:
        cond = cond & c
    return cond


def label_prefilter(rules: list[Rule], vw: dict[str, Any]):
    """Boolean expression true on every row where one of ``rules`` may fire (per view: the view is
    not empty — no pattern matches the empty string, pack.py checks — and one literal each match
    needs occurs in it)."""
    by_view: dict[str, list[str]] = {}
    for r in rules:
        by_view.setdefault(r.view, []).append(r.compiled)
    pre = None
    for vname, pats in by_view.items():
        g = gate_regex(pats)
        c = vw[vname] != ""
        if g is not None:
            c = c & vw[vname].re_search(g)
        pre = c if pre is None else (pre | c)
    return pre


def label_columns(t, pack: Pack, labels: list[str], vw: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """For each label: (rule_id expression, NULL when no rule of the label fires; None) — the span
    is ``span_expr`` of that rule id."""
    import ibis

    null = ibis.null().cast("string")
    out: dict[str, tuple[Any, Any]] = {}
    for label in labels:
        rules = pack.label_rules(label)
        if not rules:
            out[label] = (null, null)
            continue
        branches = [(rule_condition(r, vw[r.view], t, pack.skip_kinds), ibis.literal(r.id)) for r in rules]
        rid = ibis.ifelse(label_prefilter(rules, vw), ibis.cases(*branches, else_=null), null)
        out[label] = (rid, None)
    return out


def span_expr(rid, rules: list[Rule], vw: dict[str, Any]):
    """The matched text of the rule ``rid`` names (in that rule's view), NULL if none."""
    import ibis

    branches = [(rid == r.id, vw[r.view].re_extract(r.compiled, 0)) for r in rules]
    if not branches:
        return ibis.null().cast("string")
    return ibis.cases(*branches, else_=ibis.null().cast("string"))
