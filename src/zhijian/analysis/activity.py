"""Shared message measures for screening and burden: what counts as activity, as a demand, as work.

Definitions (used by lifecycle, overlap, recommend, burden, whatif; all computed in the engine):

- **substantive message**: any message whose ``kind`` is not ``system`` or ``recall`` and that does
  not carry the label ``roll_call_reply`` (收到 / 好的 / 1 / 已阅 / a 接龙 entry). A roll-call storm is
  not activity (research/anchors.md §1.1: "do not treat 'someone posted' as activity").
- **demand**: a message carrying any of :data:`DEMAND_LABELS` (PRODUCT.md §2).
- **after-hours demand**: a demand sent outside working hours (``ctx.messages().after_hours``,
  local wall-clock time + the Chinese calendar) that is not flagged ``urgent`` in ``message_flags``
  (PRODUCT.md §4: "not marked urgent / 应急 / 安保"; exemption switchable by
  ``policy.after_hours.urgent_exempt``).
- **work message** (for off-topic screening): a substantive message that carries a demand label, or
  belongs to a notice cluster (``notice_clusters``), or is a file / 接龙 (``solitaire``), or whose text
  contains a term of the work lexicon in ``screening.yaml``. Everything else is chat.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import yaml

DEMAND_LABELS = (
    "roll_call_demand",
    "checkin_demand",
    "proof_demand",
    "instant_response_demand",
    "data_request",
    "forward_like_demand",
    "app_usage_demand",
)
NON_ACTIVITY_KINDS = ("system", "recall")
SCREENING_YAML = Path(__file__).with_name("screening.yaml")


@functools.cache
def screening_params() -> dict[str, Any]:
    """Thresholds and lexicons of the screening (``screening.yaml``), each entry with a ``source``."""
    data = yaml.safe_load(SCREENING_YAML.read_text(encoding="utf-8"))
    return {k: v["value"] for k, v in data.items()}


def urgent_ids(ctx):
    """``message_id`` of messages flagged urgent (empty when ``message_flags`` is absent)."""
    import ibis
    import pyarrow as pa

    if ctx.lake.exists("message_flags"):
        f = ctx.lake.table("message_flags")
        if "urgent" in f.columns:
            return f.filter(f.urgent.cast("boolean").fill_null(False)).select("message_id").distinct()
    return ibis.memtable(pa.table({"message_id": pa.array([], pa.string())}))


def notice_copies(ctx):
    """Notice-cluster membership per message: ``message_id``, ``cluster_id``, ``hop`` (None-safe:
    an empty table when another step has not written ``notice_clusters``)."""
    nc = ctx.lake.table("notice_clusters")
    return nc.select("message_id", "cluster_id", hop=nc.hop.cast("int64"))


def message_side(ctx):
    """One row per message that carries a label, a notice cluster or an urgent flag (``s_id``): an
    int8 0/1 column ``l_<label>`` per label of interest (``roll_call_reply``, each demand label),
    ``is_demand``, ``urgent_flag``, and the notice ``cluster_id`` / ``hop`` (the smallest, should a
    message be listed twice). The three per-message sources are stacked and aggregated once, so the
    messages are joined once (instead of once per source)."""
    import ibis

    names = (*DEMAND_LABELS, "roll_call_reply")
    zero = ibis.literal(0).cast("int8")
    no_cluster = {"cluster_id": ibis.null("string"), "hop": ibis.null("int64")}
    lab = ctx.lake.table("message_labels")
    labs = lab.select(
        s_id=lab.message_id.cast("string"),
        **{f"l_{n}": ibis.ifelse(lab.label == n, 1, 0).cast("int8") for n in names},
        is_demand=ibis.ifelse(lab.label.isin(DEMAND_LABELS), 1, 0).cast("int8"),
        urgent_flag=zero,
        **no_cluster,
    )
    nc = notice_copies(ctx)
    ncs = nc.select(
        s_id=nc.message_id.cast("string"),
        **{f"l_{n}": zero for n in names},
        is_demand=zero,
        urgent_flag=zero,
        cluster_id=nc.cluster_id.cast("string"),
        hop=nc.hop,
    )
    urg = urgent_ids(ctx)
    urs = urg.select(
        s_id=urg.message_id.cast("string"),
        **{f"l_{n}": zero for n in names},
        is_demand=zero,
        urgent_flag=ibis.literal(1).cast("int8"),
        **no_cluster,
    )
    u = labs.union(ncs).union(urs)
    return u.group_by("s_id").aggregate(
        **{f"l_{n}": u[f"l_{n}"].max() for n in names},
        is_demand=u.is_demand.max(),
        urgent_flag=u.urgent_flag.max(),
        cluster_id=u.cluster_id.min(),
        hop=u.hop.min(),
    )


#: columns of :func:`enriched_messages` taken from the messages table (the rest is derived). The
#: message text is not carried (the widest column): its one use, the work lexicon, is the derived
#: ``work`` column; burden's app names read ``app_text``, the text of check-in / app-usage demands
#: only (null elsewhere).
ENRICHED_BASE = ("message_id", "group_id", "sender_id", "local_ts", "after_hours")
#: int64 0/1 columns of :func:`enriched_messages`
ENRICHED_FLAGS = (
    *(f"l_{n}" for n in (*DEMAND_LABELS, "roll_call_reply")),
    "demand",
    "counted",
    "substantive",
    "ah_demand",
    "ah_message",
    "dup_copy",
)


def enriched_messages(ctx, *, before=None):
    """``ctx.messages()`` (the columns :data:`ENRICHED_BASE`, with ``after_hours``) plus int64 0/1
    label columns, ``demand``, ``counted`` (not a system / recall message), ``substantive``,
    ``ah_demand`` (after-hours non-urgent demand), ``ah_message``, ``dup_copy`` (a copy of a notice
    seen earlier, hop > 0); ``urgent`` and ``work`` (bool, :func:`work_message_expr`),
    ``cluster_id`` and ``app_text`` (the text of check-in / app-usage demands, else null).
    ``before``: keep messages with ``local_ts`` before this naive datetime.

    Materialised once per run (lifecycle, recommend, burden and what-if read it): the 0/1 columns and
    the booleans are written packed in one int32 ``flags`` column and spread back into int64 / bool
    columns when read (:func:`_unpack`); the other message columns are not carried."""
    import ibis

    key = ("_enriched", before)
    if key in ctx.shared:
        return ctx.shared[key]
    if before is not None:
        m = enriched_messages(ctx)
        m = m.filter(m.local_ts < before)
        ctx.shared[key] = m
        return m
    m = ctx.messages().select(*ENRICHED_BASE, "kind", "text")
    side = message_side(ctx)
    m = m.left_join(side, m.message_id == side.s_id)
    names = (*DEMAND_LABELS, "roll_call_reply")
    urgent = (
        (m.urgent_flag.fill_null(0) == 1) if ctx.policy.after_hours.urgent_exempt else ibis.literal(False)
    )
    m = m.mutate(
        **{f"l_{n}": m[f"l_{n}"].fill_null(0).cast("int8") for n in names},
        demand=m.is_demand.fill_null(0).cast("int8"),
        urgent=urgent,
    )
    counted = ~m.kind.isin(NON_ACTIVITY_KINDS)
    one, nil = ibis.literal(1).cast("int8"), ibis.literal(0).cast("int8")
    m = m.mutate(
        counted=ibis.ifelse(counted, one, nil),
        substantive=ibis.ifelse(counted & (m.l_roll_call_reply == 0), one, nil),
        ah_demand=ibis.ifelse((m.demand == 1) & m.after_hours & ~m.urgent, one, nil),
        ah_message=ibis.ifelse(counted & m.after_hours & ~m.urgent, one, nil),
        dup_copy=ibis.ifelse(m.hop.fill_null(0) > 0, one, nil),
        work=work_message_expr(m),
        app_text=ibis.ifelse(
            (m.l_checkin_demand == 1) | (m.l_app_usage_demand == 1), m.text, ibis.null("string")
        ),
    )
    # the 0/1 columns and the booleans travel packed in one int32 (one column to write and read
    # instead of seventeen); :func:`_unpack` restores them as int64 / bool columns on read
    packed = _PACKED_INT + _PACKED_BOOL
    flags = ibis.literal(0).cast("int32")
    for i, c in enumerate(packed):
        flags = flags + ibis.ifelse(m[c].cast("int32") == 1, 1 << i, 0).cast("int32")
    m = m.select("message_id", "group_id", "sender_id", "local_ts", "cluster_id", "app_text", flags=flags)
    # computed once per analysis run: lifecycle, recommend and burden all read it
    m = _unpack(materialize(ctx, m, "enriched"))
    ctx.shared[key] = m
    return m


#: packed bit order of the enriched flags (:func:`enriched_messages`)
_PACKED_INT = ENRICHED_FLAGS
_PACKED_BOOL = ("after_hours", "urgent", "work")


def _unpack(t):
    """The materialised enriched messages with the packed ``flags`` spread back into columns."""
    import ibis

    cols = {}
    for i, c in enumerate(_PACKED_INT + _PACKED_BOOL):
        bit = (t.flags & (1 << i)) != 0
        cols[c] = ibis.ifelse(bit, 1, 0).cast("int64") if c in _PACKED_INT else bit
    return t.select("message_id", "group_id", "sender_id", "local_ts", "cluster_id", "app_text", **cols)


def work_message_expr(m):
    """Boolean expression on a messages table with ``text``, ``kind``, ``demand`` and ``cluster_id``
    (as built inside :func:`enriched_messages`, whose ``work`` column holds it): the message is work
    content."""
    terms = screening_params()["work_lexicon"]
    pattern = "|".join(terms)
    import ibis

    text = m.text.fill_null("")
    structural = (m.demand == 1) | m.cluster_id.notnull() | m.kind.isin(("file", "solitaire"))
    # the regex only runs where the cheap part is not already true (same values as a plain OR)
    return ibis.ifelse(structural.fill_null(False), True, structural | text.re_search(pattern))


def index_drafts(ctx, drafts) -> None:
    """Remember which finding ids concern which object (for the recommendations' evidence)."""
    idx = ctx.shared.setdefault("findings_by_object", {})
    for d in drafts:
        for oid in [d.object_id, *d.object_ids[:1]]:
            idx.setdefault((d.object_type, oid), [])
            if d.id not in idx[(d.object_type, oid)]:
                idx[(d.object_type, oid)].append(d.id)


def inventory(ctx, name: str):
    """The inventory snapshot ``name`` (units, people, groups, apps, accounts) as an engine table.

    Read from a scratch Parquet file rather than an in-memory table: on PySpark, Ibis turns an
    in-memory Arrow table into a Spark DataFrame through pandas, which loses every value of an
    integer column that has a null (``member_count``, ``users``) and turns null strings into
    'NaN'. Parquet keeps the types on both engines."""
    key = ("_inv", name)
    if key in ctx.shared:
        return ctx.shared[key]
    if ctx.ws is None:  # a bare context (tests): what the pipeline registered
        t = ctx.inventory(name)
    else:
        import pyarrow.parquet as pq

        from zhijian.store.snapshot import snapshot

        path = _scratch_dir(ctx) / f"inv_{name}.parquet"
        pq.write_table(snapshot(ctx.ws.store, name), path)
        t = ctx.lake.con.read_parquet(str(path))
    ctx.shared[key] = t
    return t


def group_state(ctx):
    """Per inventory group: ``id``, ``gone`` (bool), ``gone_on`` (date or null) and ``gone_by``
    ('inventory' | 'members' | null), in the engine.

    A group is gone on ``ctx.as_of`` when the inventory says so (status dissolved / merged / removed,
    date ``dissolved_on``) or when its membership list shows that nobody is left in it: it has
    membership rows and every one of them has a ``left_at`` on or before ``as_of`` (the day the last
    member left). Exports record a dissolution (every member leaves, "群主已解散该群聊") even when the
    摸底表 has not been updated yet; a dissolved group is neither a zombie nor an expired temporary
    group, and it left the inventory for 精简率 (:mod:`zhijian.analysis.campaign`)."""
    import ibis

    key = ("_inv", "_group_state")
    if key in ctx.shared:
        return ctx.shared[key]
    inv = inventory(ctx, "groups")
    mem = ctx.lake.table("memberships")
    as_of = dt.datetime.combine(ctx.as_of, dt.time())
    still = mem.left_at.isnull() | (mem.left_at > as_of)
    ms = (
        mem.group_by("group_id")
        .aggregate(
            n_rows=mem.count(),
            n_open=ibis.ifelse(still, 1, 0).cast("int64").sum(),
            last_left=mem.left_at.max(),
        )
        .rename(ms_gid="group_id")
    )
    # the store snapshot may not carry ``dissolved_on``; then the date of an inventory dissolution is unknown
    d_on = inv.dissolved_on if "dissolved_on" in inv.columns else ibis.null("date")
    st = inv.select("id", "status", dissolved_on=d_on)
    st = st.left_join(ms, st.id == ms.ms_gid)
    by_inv = st.status.fill_null("active") != "active"
    by_mem = (st.n_rows.fill_null(0) > 0) & (st.n_open.fill_null(0) == 0)
    st = st.select(
        "id",
        gone=by_inv | by_mem,
        gone_on=ibis.cases((by_inv, st.dissolved_on), (by_mem, st.last_left.date()), else_=ibis.null("date")),
        gone_by=ibis.cases((by_inv, "inventory"), (by_mem, "members"), else_=ibis.null("string")),
    )
    ctx.shared[key] = st
    return st


def live_groups(ctx):
    """The inventory groups that are not gone on ``ctx.as_of`` (:func:`group_state`)."""
    key = ("_inv", "_live_groups")
    if key in ctx.shared:
        return ctx.shared[key]
    inv = inventory(ctx, "groups")
    gone = group_state(ctx)
    gone = gone.filter(gone.gone).select(gone_id="id")
    t = inv.anti_join(gone, inv.id == gone.gone_id)
    ctx.shared[key] = t
    return t


def _scratch_dir(ctx):
    import atexit
    import shutil
    import uuid

    d = ctx.shared.get("_scratch_dir")
    if d is None:
        d = ctx.lake.root / "_tmp" / f"scratch-{uuid.uuid4().hex[:12]}"
        d.mkdir(parents=True, exist_ok=True)
        ctx.shared["_scratch_dir"] = d
        atexit.register(shutil.rmtree, d, True)
    return d


def materialize(ctx, expr, name: str):
    """Compute ``expr`` once into a scratch Parquet file and return it as a table. Both engines write
    and read Parquet; unlike ``Table.cache`` this spills to disk and behaves the same on DuckDB and
    PySpark. Scratch files live under the lake's ``_tmp`` (never visible as datasets; removed by
    :func:`drop_scratch`, at exit, or by ``Lake.clean_tmp``)."""
    import uuid

    path = _scratch_dir(ctx) / f"{name}-{uuid.uuid4().hex[:8]}.parquet"
    ctx.lake.con.to_parquet(expr, str(path))
    return ctx.lake.con.read_parquet(str(path))


def drop_scratch(ctx) -> None:
    """Remove the run's scratch files and forget what was computed from them."""
    import shutil

    d = ctx.shared.pop("_scratch_dir", None)
    for k in [k for k in ctx.shared if isinstance(k, tuple) and k and k[0] in ("_enriched", "_inv")]:
        del ctx.shared[k]
    if d is not None:
        shutil.rmtree(d, ignore_errors=True)
