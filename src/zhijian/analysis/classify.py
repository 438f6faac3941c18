"""Message labels and per-message markers, computed in the engine from a rule pack.

``classify(messages, pack)`` returns one row per (message, label) — the first rule of the label
that fired, and the matched text (in the normalised view: simplified characters, ASCII letters and
digits, lower case); a message with no other label gets one ``normal`` row. ``flags(messages,
pack)`` returns one row per message with the ``urgent`` marker. Both are Ibis expressions: nothing
is executed until the caller asks (``lake.replace`` / ``to_pyarrow``), and the same expression runs
on DuckDB and on PySpark.

The messages table needs ``message_id`` and ``text``; ``kind`` and ``at_all`` are used when present.
"""

from __future__ import annotations

from pathlib import Path

from zhijian.rules.compiler import label_columns, rule_condition, span_expr, view_table
from zhijian.rules.pack import Pack, builtin_pack
from zhijian.rules.pack import load_pack as _load_pack

__all__ = ["classify", "flags", "load_pack", "NORMAL_RULE_ID"]

#: rule_id recorded for the ``normal`` label (no rule fired).
NORMAL_RULE_ID = "normal"


def load_pack(workspace_root: Path | str | None = None) -> Pack:
    """The built-in rule pack merged with ``<workspace_root>/rules/*.yaml`` (if any)."""
    return _load_pack(workspace_root)


#: The columns a message's labels and markers depend on (besides the rule pack).
_INPUTS = ("text", "kind", "at_all")


def _prepare(messages, pack: Pack, views: list[str] | None = None, carry: tuple[str, ...] = ("message_id",)):
    """The messages with one column per view (each computed once, see ``compiler.view_table``);
    ``views`` limits the masked views to those named (``base`` is always there); the ``carry``
    columns, ``kind`` and ``at_all`` are kept."""
    keep = list(dict.fromkeys(c for c in (*carry, "kind", "at_all") if c in messages.columns))
    t = view_table(messages, pack, keep, views)
    names = ["base"] + [n for n in pack.views() if n != "base" and (views is None or n in views)]
    return t, {k: t[f"_v_{k}"] for k in names}


def _per_text(messages, compute):
    """Run ``compute(table, carry)`` once per distinct (text, kind, at_all) and give each message
    the result of its text.

    Labels and markers are a function of those columns only, and chat is repetitive (stickers,
    "[图片]", "收到", "好的", forwarded notices): the demo county has 49k distinct texts in 1M
    messages. Grouping and joining back cost two hash passes over short strings, far less than the
    regex searches they spare. The join uses null-safe equality (``IS NOT DISTINCT FROM`` on
    DuckDB, ``<=>`` on Spark) so that NULL texts and kinds find their row."""
    keys = tuple(c for c in _INPUTS if c in messages.columns)
    if "text" not in keys:
        return compute(messages, ("message_id",))
    res = compute(messages.select(*keys).distinct(), keys)
    res = res.rename({f"_key_{k}": k for k in keys})
    m = messages.select("message_id", *keys)
    j = m.join(res, [m[k].identical_to(res[f"_key_{k}"]) for k in keys])
    return j.select("message_id", *[c for c in res.columns if not c.startswith("_key_")])


def _label_rows(t, pack: Pack, include_normal: bool, carry: tuple[str, ...]):
    """``carry`` + (label, rule_id, span): one row per label that fired, or ``normal``."""
    import ibis
    import pyarrow as pa

    labels = pack.labels
    v, vw = _prepare(t, pack, sorted({r.view for r in pack.rules if r.label in labels}), carry)
    step = v.mutate(**{f"_r_{lab}": rid for lab, (rid, _s) in label_columns(v, pack, labels, vw).items()})
    vw2 = {k: step[f"_v_{k}"] for k in vw}
    null = ibis.null().cast("string")
    out = {c: step[c] for c in carry}
    for lab in labels:
        rid = step[f"_r_{lab}"]
        out[f"_r_{lab}"] = rid
        # The span CASE compares the rule id with every rule of the label; skip it where none fired.
        out[f"_s_{lab}"] = ibis.ifelse(rid.notnull(), span_expr(rid, pack.label_rules(lab), vw2), null)
    names = list(labels)
    if include_normal:
        none = ibis.literal(True)
        for lab in labels:
            none = none & step[f"_r_{lab}"].isnull()
        out["_r_normal"] = ibis.ifelse(none, ibis.literal(NORMAL_RULE_ID), null)
        names.append("normal")
    w = step.select(**out)
    # One row per fired label: a cross join with the (small) table of labels and a filter. The
    # engines stream it (DuckDB: a blockwise nested-loop join with the filter as its condition),
    # whereas an array of structs + unnest made DuckDB build the arrays, hash them in a delim join
    # and unnest them — about half of the stage's time (EXPLAIN ANALYZE).
    keys = ibis.memtable(
        pa.table({"_label": pa.array(names, pa.string()), "_k": pa.array(range(len(names)), pa.int32())})
    )
    j = w.cross_join(keys)
    rule_id = ibis.cases(*[(j._k == i, j[f"_r_{lab}"]) for i, lab in enumerate(names)], else_=null)
    span = ibis.cases(*[(j._k == i, j[f"_s_{lab}"]) for i, lab in enumerate(labels)], else_=null)
    u = j.select(*[j[c] for c in carry], label=j._label, rule_id=rule_id, span=span)
    return u.filter(u.rule_id.notnull())


def classify(messages, pack: Pack | None = None, *, include_normal: bool = True):
    """Labels of each message as an Ibis table with the columns of ``lake.schema.MESSAGE_LABELS``."""
    pack = pack or builtin_pack()
    return _per_text(messages, lambda t, carry: _label_rows(t, pack, include_normal, carry))


def _urgent(t, pack: Pack, carry: tuple[str, ...]):
    import ibis

    rules = [r for r in pack.rules if r.label == "urgent"]
    v, vw = _prepare(t, pack, sorted({r.view for r in rules}), carry)
    cond = ibis.literal(False)
    for r in rules:
        # A rule cannot fire on an empty view (no pattern matches the empty string, pack.py
        # checks); the guard spares the regex calls on the rows whose view the gate emptied.
        cond = cond | ibis.ifelse(vw[r.view] != "", rule_condition(r, vw[r.view], v, ()), ibis.literal(False))
    return v.select(*[v[c] for c in carry], urgent=cond.fill_null(False))


def flags(messages, pack: Pack | None = None):
    """Per-message markers: ``(message_id, urgent)``, one row per message."""
    pack = pack or builtin_pack()
    return _per_text(messages, lambda t, carry: _urgent(t, pack, carry))
