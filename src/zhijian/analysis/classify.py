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


def _prepare(messages, pack: Pack):
    """The messages with one column per view (each computed once, see ``compiler.view_table``)."""
    keep = [c for c in ("message_id", "kind", "at_all") if c in messages.columns]
    t = view_table(messages, pack, keep)
    names = ["base"] + [n for n in pack.views() if n != "base"]
    return t, {k: t[f"_v_{k}"] for k in names}


def classify(messages, pack: Pack | None = None, *, include_normal: bool = True):
    """Labels of each message as an Ibis table with the columns of ``lake.schema.MESSAGE_LABELS``."""
    import ibis

    pack = pack or builtin_pack()
    labels = pack.labels
    t, vw = _prepare(messages, pack)
    cols = label_columns(t, pack, labels, vw)
    step = t.mutate(**{f"_r_{lab}": rid for lab, (rid, _s) in cols.items()})
    vw2 = {k: step[f"_v_{k}"] for k in vw}
    spans = {lab: span_expr(step[f"_r_{lab}"], pack.label_rules(lab), vw2) for lab in labels}
    null = ibis.null().cast("string")
    items = [
        ibis.struct({"label": ibis.literal(lab), "rule_id": step[f"_r_{lab}"], "span": spans[lab]})
        for lab in labels
    ]
    if include_normal:
        none = None
        for lab in labels:
            c = step[f"_r_{lab}"].isnull()
            none = c if none is None else (none & c)
        items.append(
            ibis.struct(
                {
                    "label": ibis.literal("normal"),
                    "rule_id": ibis.ifelse(none, ibis.literal(NORMAL_RULE_ID), null),
                    "span": null,
                }
            )
        )
    arr = step.select(message_id=step.message_id, _l=ibis.array(items))
    u = arr.unnest("_l")
    u = u.select(message_id=u.message_id, label=u._l["label"], rule_id=u._l["rule_id"], span=u._l["span"])
    return u.filter(u.rule_id.notnull())


def flags(messages, pack: Pack | None = None):
    """Per-message markers: ``(message_id, urgent)``, one row per message."""
    import ibis

    pack = pack or builtin_pack()
    t, vw = _prepare(messages, pack)
    rules = [r for r in pack.rules if r.label == "urgent"]
    cond = ibis.literal(False)
    for r in rules:
        cond = cond | rule_condition(r, vw[r.view], t, ())
    return t.select(message_id=t.message_id, urgent=cond.fill_null(False))
