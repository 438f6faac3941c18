"""Compile a rule pack into Ibis expressions over a messages table.

Everything here builds engine expressions; nothing loops over messages in Python. The same
expressions run on DuckDB and on PySpark (tests/test_rules_engines.py compares them).

Cost control (research/engines.md): DuckDB's ``translate`` costs O(size of the mapping) per row,
so it only runs on rows that contain a character to map (a cheap character-class guard), and the
traditional→simplified mapping is restricted to characters the rules use. For every label, one
alternation of all its rules' patterns is searched first; the ordered ``CASE`` that picks the
first firing rule, and the span extraction, only run on rows that pass that prefilter.
"""

from __future__ import annotations

from typing import Any

from zhijian.rules.factors import gate_regex
from zhijian.rules.pack import Pack, Rule, fullwidth_map


def _class_of(chars: str) -> str:
    """A regex character class holding exactly ``chars`` (escaped for the portable subset)."""
    out = []
    for ch in sorted(set(chars)):
        out.append("\\" + ch if ch in "\\]^-[" else ch)
    return "[" + "".join(out) + "]"


def base_text(t, pack: Pack):
    """The normalised text: traditional → simplified, full-width letters/digits → ASCII, lower case."""
    import ibis

    text = t.text.fill_null("") if "text" in t.columns else ibis.literal("")
    frm, to = pack.trad_map
    if pack.fullwidth_alnum:
        f2, t2 = fullwidth_map()
        frm, to = frm + f2, to + t2
    if frm:
        text = ibis.ifelse(text.re_search(_class_of(frm)), text.translate(frm, to), text)
    # Trailing white space removed: Java's and Python's ``$`` also match before a final newline,
    # RE2's does not; without one the three agree.
    return text.lower().re_replace("[ \t\n]+$", "")


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
    pats = [r.compiled for r in rules]
    pats += [m.compiled for m in pack.masks if m.view == name and m.replace not in ("。", "", " ")]
    g = gate_regex(pats)
    return None if g is None else base.re_search(g)


def view_table(t, pack: Pack, keep: list[str]):
    """``t`` reduced to ``keep`` plus one column ``_v_<view>`` per view the pack uses.

    A masked view
    is the empty string on rows where its gate (``view_gate``) is false: no rule on that view can
    fire there, and searching an empty string costs nothing.
    """
    import ibis

    base = base_text(t, pack)
    names = [n for n in pack.views() if n != "base"]
    cur = t.select(*[t[c] for c in keep], _v_base=base)
    gates = {}
    for name in names:
        g = view_gate(name, cur._v_base, pack)
        gates[name] = g
        cur = cur.mutate(**{f"_v_{name}": cur._v_base if g is None else ibis.ifelse(g, cur._v_base, ibis.literal(""))})
    # Each mask references its input once: DuckDB may inline the projections, and an expression
    # that used its input twice would grow exponentially with the number of masks.
    for name in names:
        v = cur[f"_v_{name}"]
        for m in pack.masks:
            if m.view == name:
                v = v.re_replace(m.compiled, m.replace)
        cur = cur.mutate(**{f"_v_{name}": v})
    return cur


def _alternation(patterns: list[str]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


def rule_condition(r: Rule, view, t, skip_kinds: tuple[str, ...]):
    """Boolean expression: does rule ``r`` fire on the row?"""
    cond = view.re_search(r.compiled)
    for u in r.compiled_unless:
        cond = cond & ~view.re_search(u)
    if "kind" in t.columns:
        if r.kinds is not None:
            cond = cond & t.kind.isin(list(r.kinds))
        elif skip_kinds:
            cond = cond & ~t.kind.fill_null("text").isin(list(skip_kinds))
    if r.at_all is not None and "at_all" in t.columns:
        cond = cond & (t.at_all.fill_null(False) == r.at_all)
    if r.max_len is not None:
        cond = cond & (view.length() <= r.max_len)
    return cond


def label_columns(t, pack: Pack, labels: list[str], vw: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """For each label: (rule_id expr, span expr), both NULL when no rule of the label fires."""
    import ibis

    out: dict[str, tuple[Any, Any]] = {}
    for label in labels:
        rules = pack.label_rules(label)
        if not rules:
            null = ibis.null().cast("string")
            out[label] = (null, null)
            continue
        by_view: dict[str, list[str]] = {}
        for r in rules:
            by_view.setdefault(r.view, []).append(r.compiled)
        pre = None
        for vname, pats in by_view.items():
            g = gate_regex(pats)
            c = vw[vname].re_search(g) if g is not None else ibis.literal(True)
            pre = c if pre is None else (pre | c)
        branches = [(rule_condition(r, vw[r.view], t, pack.skip_kinds), ibis.literal(r.id)) for r in rules]
        rid = ibis.ifelse(pre, ibis.cases(*branches, else_=ibis.null().cast("string")), ibis.null().cast("string"))
        out[label] = (rid, None)
    return out


def span_expr(rid, rules: list[Rule], vw: dict[str, Any]):
    import ibis

    branches = [(rid == r.id, vw[r.view].re_extract(r.compiled, 0)) for r in rules]
    if not branches:
        return ibis.null().cast("string")
    return ibis.cases(*branches, else_=ibis.null().cast("string"))
