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

# ── signals / dedup (analysis/signals.py, analysis/dedup.py) ──
NOTICE_COPIES = pa.schema(
    [
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("cluster_id", pa.string(), nullable=False),
        pa.field("copies", pa.int64()),  # copies of the notice the person received
        pa.field("groups", pa.int64()),  # through this many groups
    ]
)

REPLY_STORMS = pa.schema(
    [
        pa.field("demand_id", pa.string(), nullable=False),  # the roll-call demand's message id
        pa.field("group_id", pa.string(), nullable=False),
        pa.field("sender_id", pa.string()),
        pa.field("local_ts", pa.timestamp("us")),
        pa.field("replies", pa.int64()),
        pa.field("people", pa.int64()),
        pa.field("span_minutes", pa.int64()),
        pa.field("members", pa.int64()),
        pa.field("attention_cost", pa.int64()),  # replies x members
    ]
)

SOLITAIRE_ROUNDS = pa.schema(
    [
        pa.field("round_id", pa.string(), nullable=False),  # first entry's message id
        pa.field("group_id", pa.string(), nullable=False),
        pa.field("start_local", pa.timestamp("us")),
        pa.field("end_local", pa.timestamp("us")),
        pa.field("entries", pa.int64()),
        pa.field("people", pa.int64()),
    ]
)

DEMAND_DEADLINES = pa.schema(
    [
        pa.field("message_id", pa.string(), nullable=False),
        pa.field("group_id", pa.string()),
        pa.field("local_ts", pa.timestamp("us")),
        pa.field("pattern_id", pa.string()),
        pa.field("span", pa.string()),
        pa.field("deadline_local", pa.timestamp("us")),
        pa.field("minutes_left", pa.int64()),
        pa.field("working_minutes_left", pa.int64()),
    ]
)

#: Pairs of groups whose members overlap or whose names / purposes are similar (analysis/overlap.py);
#: only pairs above the report thresholds, so the dataset stays small.
GROUP_OVERLAP = pa.schema(
    [
        pa.field("group_a", pa.string(), nullable=False),
        pa.field("group_b", pa.string(), nullable=False),
        pa.field("shared_members", pa.int64()),
        pa.field("members_a", pa.int64()),
        pa.field("members_b", pa.int64()),
        pa.field("jaccard", pa.float64()),
        pa.field("containment_a", pa.float64()),  # share of A's members that are also in B
        pa.field("containment_b", pa.float64()),
        pa.field("name_similarity", pa.float64()),
        pa.field("purpose_similarity", pa.float64()),
        pa.field("same_unit", pa.bool_()),
    ]
)

#: The merge plan of the screening (analysis/recommend.py): one row per object in a plan.
MERGE_PLAN = pa.schema(
    [
        pa.field("plan_id", pa.string(), nullable=False),  # component id: the target group's id
        pa.field("object_type", pa.string(), nullable=False),
        pa.field("object_id", pa.string(), nullable=False),
        pa.field("target_id", pa.string(), nullable=False),
        pa.field("action", pa.string(), nullable=False),  # merge | review (merged group would be too busy)
        pa.field("daily_messages", pa.float64()),  # this object's substantive messages per day
        pa.field("projected_daily_messages", pa.float64()),  # the merged group's, duplicates removed
        pa.field("members_before", pa.int64()),
        pa.field("members_after", pa.int64()),  # distinct members of the merged group
    ]
)

#: Per-message markers of the rule pack (analysis/classify.py ``flags``): one row per message.
MESSAGE_FLAGS = pa.schema(
    [
        pa.field("message_id", pa.string(), nullable=False),
        pa.field("urgent", pa.bool_(), nullable=False),  # 紧急 / 应急 / 安保 … (rules/packs/90_markers.yaml)
    ]
)

#: Every dataset the lake knows, by name. Datasets written by later analyses register here.
SCHEMAS: dict[str, pa.Schema] = {
    "messages": MESSAGES,
    "memberships": MEMBERSHIPS,
    "message_labels": MESSAGE_LABELS,
    "message_flags": MESSAGE_FLAGS,
    "notice_clusters": NOTICE_CLUSTERS,
    "indicators": INDICATORS,
    "group_overlap": GROUP_OVERLAP,
    "merge_plan": MERGE_PLAN,
    "notice_copies": NOTICE_COPIES,
    "reply_storms": REPLY_STORMS,
    "solitaire_rounds": SOLITAIRE_ROUNDS,
    "demand_deadlines": DEMAND_DEADLINES,
}

#: Datasets that imports append to (one sub-folder per import batch); the others are
#: derived by analysis and replaced whole on each run.
APPEND_ONLY = ("messages", "memberships")


#: Parquet dictionary encoding per dataset, only for the columns whose values repeat: on the unique
#: message_id and the timestamps the writer builds a dictionary per page and throws it away (1M messages,
#: bench/ingest.py: 0.83 -> 0.46 CPU-s for the write, 22 -> 15 MB on disk; same schema, same values).
#: Datasets not listed use pyarrow's default (dictionary for every column).
DICTIONARY_COLUMNS: dict[str, list[str]] = {
    "messages": [
        "source",
        "group_id",
        "sender_id",
        "sender_name",
        "kind",
        "text",
        "reply_to",
        "mentions",
        "batch_id",
    ],
}

#: Parquet writer options of an import batch beyond the dictionary columns, per dataset
#: (``Lake.stage_batch``). messages: min/max statistics only on the columns a query filters on (a
#: row group's min and max of the texts, the random hex ids or the names prune nothing, and computing
#: them costs the writer); the timestamps delta-encoded (consecutive messages are seconds apart); the
#: ids, all 24 characters, with their lengths delta-encoded (DELTA_LENGTH_BYTE_ARRAY: the lengths
#: vanish, and the writer spends less than on PLAIN's interleaved lengths). 1M messages
#: (bench/ingest.py's PyWxDump file): the write 0.29 -> 0.23 s, 26 -> 18 MB on disk; the same values,
#: read by DuckDB, pyarrow and Spark (tests/test_spark_parity.py).
WRITER_OPTIONS: dict[str, dict] = {
    "messages": {
        "write_statistics": [
            "source",
            "group_id",
            "sender_id",
            "ts",
            "local_ts",
            "kind",
            "at_all",
            "forwarded",
            "batch_id",
        ],
        "column_encoding": {
            "ts": "DELTA_BINARY_PACKED",
            "local_ts": "DELTA_BINARY_PACKED",
            "message_id": "DELTA_LENGTH_BYTE_ARRAY",
        },
    },
}
