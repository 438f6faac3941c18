"""Arrow schemas of the lake datasets (PRODUCT.md §3).

The lake keeps person ids, not names, wherever it can; ``sender_name`` is the display name
as it appears in the export, needed to resolve unmatched senders against the roster.

Time: ``ts`` is the UTC instant; ``local_ts`` is the naive wall-clock time in the workspace
zone, set at import. Every hour/day/weekday/holiday computation uses ``local_ts`` because
Ibis forces the engine session time zone to UTC (research/engines.md, pitfall 4).
"""

from __future__ import annotations

import pyarrow as pa

MESSAGE_KINDS = (
    "text",
    "image",
    "video",
    "voice",
    "file",
    "link",
    "forward",
    "system",
    "recall",
    "solitaire",
    "other",
)

MESSAGES = pa.schema(
    [
        pa.field("message_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("group_id", pa.string(), nullable=False),
        pa.field("sender_id", pa.string()),
        pa.field("sender_name", pa.string()),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("local_ts", pa.timestamp("us"), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("text", pa.string()),
        pa.field("reply_to", pa.string()),
        pa.field("mentions", pa.list_(pa.string())),
        pa.field("at_all", pa.bool_(), nullable=False),
        pa.field("forwarded", pa.bool_(), nullable=False),
        pa.field("batch_id", pa.string(), nullable=False),
    ]
)

MEMBERSHIPS = pa.schema(
    [
        pa.field("group_id", pa.string(), nullable=False),
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("role", pa.string()),  # owner | admin | member
        pa.field("joined_at", pa.timestamp("us")),  # local wall-clock time
        pa.field("left_at", pa.timestamp("us")),
        pa.field("batch_id", pa.string()),
    ]
)

MESSAGE_LABELS = pa.schema(
    [
        pa.field("message_id", pa.string(), nullable=False),
        pa.field("label", pa.string(), nullable=False),
        pa.field("rule_id", pa.string(), nullable=False),
        pa.field("span", pa.string()),
    ]
)

NOTICE_CLUSTERS = pa.schema(
    [
        pa.field("cluster_id", pa.string(), nullable=False),
        pa.field("message_id", pa.string(), nullable=False),
        pa.field("group_id", pa.string()),
        pa.field("sender_id", pa.string()),
        pa.field("ts", pa.timestamp("us", tz="UTC")),
        pa.field("hop", pa.int32()),  # 0 = first copy of the notice
    ]
)

INDICATORS = pa.schema(
    [
        pa.field("scope", pa.string(), nullable=False),  # person | group | unit | county
        pa.field("scope_id", pa.string(), nullable=False),
        pa.field("period", pa.string(), nullable=False),  # ISO week start 'YYYY-MM-DD' (local)
        pa.field("metric", pa.string(), nullable=False),
        pa.field("value", pa.float64()),
    ]
)

#: Every dataset the lake knows, by name. Datasets written by later analyses register here.
SCHEMAS: dict[str, pa.Schema] = {
    "messages": MESSAGES,
    "memberships": MEMBERSHIPS,
    "message_labels": MESSAGE_LABELS,
    "notice_clusters": NOTICE_CLUSTERS,
    "indicators": INDICATORS,
}

#: Datasets that imports append to (one sub-folder per import batch); the others are
#: derived by analysis and replaced whole on each run.
APPEND_ONLY = ("messages", "memberships")
